"""Gradient flow truths: vanishing without skips, a narrow band with them, exact update sizes."""

from __future__ import annotations

import json

import pytest
import torch

from resviz.__main__ import main as cli
from resviz.data import load
from resviz.models import build
from resviz.probes.gradients import GradientRun, first_last_ratio, forward_std, init_profile, variant_specs
from resviz.spec import NetworkSpec, TrainSpec


@pytest.fixture(scope="module")
def spirals():
    return load("spirals", 1000, 0.1, 0)


def test_plain_vanishes_residual_stays_in_band(spirals):
    plain = init_profile(NetworkSpec(family="plain", depth=50, norm=False), spirals)
    res = init_profile(NetworkSpec(family="residual", depth=50, norm=False), spirals)
    g = plain["grad_norms"]
    assert g[0] < 1e-6 * g[-1]  # orders of magnitude (it is ~1e-38)
    assert all(a < b for a, b in zip(g[:-1:5], g[5::5]))  # shrinking toward the input
    assert 0.1 < res["ratio"] < 10


def test_plain_with_batch_norm_explodes(spirals):
    r = init_profile(NetworkSpec(family="plain", depth=30, norm=True), spirals)
    assert r["ratio"] > 1e3


def test_ratio_handles_zero():
    assert first_last_ratio([1.0, 2.0, 4.0]) == 0.25
    assert first_last_ratio([1.0, 0.0]) != first_last_ratio([1.0, 0.0])  # NaN, not a crash


def test_variants_cover_every_family():
    names = variant_specs(4, True)
    assert {s.family for s in names.values()} == {"plain", "residual", "highway", "gated"}
    assert len({s.ordering for s in names.values() if s.family == "residual"}) == 5


def test_forward_signal_dies_in_plain_net(spirals):
    x = spirals.x_test[:128]
    plain = forward_std(build(NetworkSpec(family="plain", depth=30, norm=False)), x)
    res = forward_std(build(NetworkSpec(family="residual", depth=30, norm=False)), x)
    assert plain[-1] < 1e-3 * plain[0]
    assert res[-1] > 0.5 * res[0]


def test_gradient_run_update_ratio_is_exact_for_first_sgd_step(spirals):
    """First SGD step moves w by lr * grad, so update ratio = lr * ||g|| / ||w||."""
    spec = NetworkSpec(depth=3, width=8)
    tspec = TrainSpec(steps=4, lr=0.05, optimizer="sgd", batch_size=64)
    run = GradientRun.start({"m": spec}, spirals, tspec, probe_every=2)
    model = build(spec)  # same init as the run's model
    w = [torch.cat([p.detach().reshape(-1) for p in b.parameters()]).norm() for b in model.blocks]
    run.advance(10)
    assert run.steps == 4 and run.done
    g0 = run.grads["m"][0]
    for i in range(3):
        assert run.updates["m"][0][i] == pytest.approx(0.05 * g0[i] / float(w[i]), rel=1e-4)
    assert run.probe_steps == [0, 2, 4] and len(run.act_std["m"][0]) == 4
    assert run.grads["m"] == [r.grad_norms for r in run.trainer.history("m")]


def test_cli_gradients(capsys):
    assert cli(["gradients", "--family", "plain", "--depth", "50", "--norm", "none", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["grad_norms"]) == 50 and out["first_over_last"] < 1e-6
    assert cli(["gradients", "--depth", "0"]) != 0
    err = capsys.readouterr().err
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1
