"""LSTM-analogy truths: the task, the hand-written LSTM, and vanishing across time vs depth."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from resviz.__main__ import main as cli
from resviz.data import load
from resviz.models import build
from resviz.sequence import (
    SeqSpec,
    build_seq,
    deep_pair,
    depth_grad_norms,
    lstm_memory,
    make_task,
    state_grad_norms,
    trio,
)
from resviz.spec import SpecError


def test_task_label_is_the_flagged_first_symbol():
    d = make_task(12, n_symbols=5, n_samples=300, seed=3)
    assert d.x_train.shape[1:] == (12, 6) and d.n_classes == 5
    assert torch.equal(d.x_train[:, 0, :5].argmax(1), d.y_train)
    assert torch.all(d.x_train[:, 0, 5] == 1) and torch.all(d.x_train[:, 1:, 5] == 0)
    assert torch.all(d.x_train.sum(2)[:, 1:] == 1)  # one distractor symbol per later step
    assert torch.equal(make_task(12, 5, 300, 3).x_test, d.x_test)
    with pytest.raises(SpecError):
        make_task(1)


def test_lstm_written_out_matches_torch_lstmcell():
    net = build_seq(SeqSpec("lstm", length=7, hidden=10, forget_bias=1.5))
    x = make_task(7, 4, 40).x_train
    _, hs, extra = net.unroll(x, keep=True)
    h = c = torch.zeros(len(x), 10)
    for t in range(7):
        h, c = net.lstm(x[:, t], (h, c))
    assert torch.allclose(hs[-1], h, atol=1e-6) and torch.allclose(extra["cell"][-1], c, atol=1e-6)


def test_forget_gate_at_init_follows_its_bias():
    x = make_task(20, 4, 200).x_test
    for bias in (0.0, 2.0):
        mem = lstm_memory(build_seq(SeqSpec("lstm", 20, forget_bias=bias)), x)
        assert len(mem["forget_mean"]) == 20 and len(mem["cell_example"][0]) == 32
        assert sum(mem["forget_mean"]) / 20 == pytest.approx(1 / (1 + math.exp(-bias)), abs=0.05)


def test_last_state_gradient_is_the_readout_gradient():
    net = build_seq(SeqSpec("residual", 9, hidden=12))
    d = make_task(9, 4, 100)
    x, y = d.x_test, d.y_test
    logits = net(x)
    direct = (F.softmax(logits, 1) - F.one_hot(y, 4)) @ net.readout.weight / len(y)
    assert state_grad_norms(net, x, y)[-1] == pytest.approx(float(direct.detach().norm()), rel=1e-4)


def test_vanilla_rnn_gradient_vanishes_over_time_at_init():
    """T = 50: the gradient reaching h_1 is orders of magnitude smaller for the vanilla RNN."""
    d = make_task(50, 4, 600)
    x, y = d.x_test[:128], d.y_test[:128]
    g = {k: state_grad_norms(build_seq(s), x, y) for k, s in trio(50).items()}
    assert all(len(v) == 50 for v in g.values())
    assert g["rnn"][0] < 1e-3 * g["lstm"][0] and g["rnn"][0] < 1e-3 * g["residual"][0]
    last = [v[-1] for v in g.values()]
    assert max(last) < 10 * min(last)  # at the readout they are alike: the gap is time


def test_plain_deep_net_gradient_vanishes_over_depth_like_the_rnn():
    data = load("spirals", 300)
    g = {k: depth_grad_norms(build(s), data.x_train, data.y_train)
         for k, s in deep_pair(50).items()}
    assert len(g["plain"]) == 50
    assert g["plain"][0] < 1e-3 * g["residual"][0]
    assert g["plain"][0] < 1e-3 * g["plain"][-1]


def test_residual_rnn_learns_the_memory_task():
    from resviz.experiments.sequence import train_spec
    from resviz.sequence import make_trainer

    specs = {k: s for k, s in trio(12, hidden=16).items() if k in ("rnn", "residual")}
    trainer = make_trainer(specs, train_spec(120, lr=0.01, n_samples=800))
    for _ in trainer.run():
        pass
    assert trainer.final("residual")["test_acc"] > 0.9


def test_cli_untrained(capsys):
    assert cli(["sequence", "--length", "10", "--hidden", "8", "--steps", "0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["models"]) == {"rnn", "lstm", "residual"} and out["chance"] == 0.25
    for m in out["models"].values():
        assert len(m["grad_norms"]) == 10 and m["grad_norms"] == m["grad_norms_init"]
        assert 0 <= m["test_acc"] <= 1
    assert len(out["depth_grad_norms_init"]["plain"]) == 5  # 10 weight layers


def test_defaults_live_in_one_place(capsys):
    from resviz.experiments.sequence import train_spec
    from resviz.sequence import DEFAULTS

    assert SeqSpec().length == DEFAULTS.length and SeqSpec().forget_bias == DEFAULTS.forget_bias
    t = train_spec()
    assert (t.steps, t.lr, t.batch_size, t.n_samples, t.clip_norm) == (
        DEFAULTS.steps, DEFAULTS.lr, DEFAULTS.batch_size, DEFAULTS.n_samples, DEFAULTS.clip_norm)
    page = (Path(__file__).resolve().parents[1] / "views" / "lstm.py").read_text()
    for field in ("length", "hidden", "forget_bias", "lr", "steps"):
        assert f"seq.DEFAULTS.{field}" in page  # the page's defaults are these, not copies


def _train_default(seed, kinds):
    from resviz.experiments.sequence import train_spec
    from resviz.sequence import make_trainer

    specs = {k: s for k, s in trio(seed=seed).items() if k in kinds}
    trainer = make_trainer(specs, train_spec(seed=seed))
    for _ in trainer.run():
        pass
    return {k: trainer.final(k)["test_acc"] for k in kinds}


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_default_task_residual_rnn_learns_where_the_vanilla_rnn_cannot(seed):
    """The page's default, on every seed: the vanilla RNN stays near chance over T = 100
    steps, the residual RNN (the identity shortcut across time) learns the first symbol."""
    from resviz.sequence import DEFAULTS

    acc = _train_default(seed, ("rnn", "residual"))
    assert acc["rnn"] < 1 / DEFAULTS.n_symbols + 0.1, acc
    assert acc["residual"] > 0.9, acc


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_default_task_lstm_learns(seed):
    """The page's default, on every seed: the LSTM's cell state carries the first symbol over
    T = 100 steps (lr 1e-3, gradients clipped at norm 1), where the vanilla RNN cannot."""
    assert _train_default(seed, ("lstm",))["lstm"] > 0.9
