"""Gradient flow truths: vanishing without skips, a narrow band with them, exact update sizes."""

from __future__ import annotations

import json

import pytest
import torch

from resviz.__main__ import main as cli
from resviz.data import load
from resviz.models import build
from resviz.probes.gradients import (
    GradientRun,
    first_last_ratio,
    forward_std,
    init_profile,
    input_grad_norms,
    measuring_batch,
    median,
    story_vs_measurement,
    variant_specs,
    verdict,
)
from resviz.spec import ORDERINGS, NetworkSpec, TrainSpec


@pytest.fixture(scope="module")
def spirals():
    return load("spirals", 1000, 0.1, 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_small_init_without_bn_vanishes_residual_stays_in_band(spirals, seed):
    """PyTorch's default init, no BN: the textbook picture (measured 1e-39..1e-41 at 50 blocks)."""
    plain = init_profile(NetworkSpec(family="plain", depth=50, norm=False, init="pytorch", seed=seed),
                         spirals)
    res = init_profile(NetworkSpec(family="residual", depth=50, norm=False, init="pytorch", seed=seed),
                       spirals)
    for key in ("grad_norms", "input_grads"):
        g = plain[key]
        assert g[0] < 1e-20 * g[-1]  # tens of orders of magnitude
        assert all(a < b for a, b in zip(g[:-1:5], g[5::5]))  # shrinking toward the input
    assert 0.1 < res["input_ratio"] < 10 and 0.1 < res["ratio"] < 10


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_he_init_and_bn_do_not_vanish(spirals, seed):
    """He et al. 2015 §4.1's setting: with He init the plain net's input gradient does not
    vanish (measured 0.03-0.2 at 30 blocks without BN); with BN it grows toward the input."""
    he = init_profile(NetworkSpec(family="plain", depth=30, norm=False, seed=seed), spirals)
    assert verdict(he["input_ratio"]) != "vanishes" and he["input_ratio"] > 1e-2
    bn = init_profile(NetworkSpec(family="plain", depth=30, norm=True, seed=seed), spirals)
    assert verdict(bn["input_ratio"]) == "grows" and bn["ratio"] > 1e3


def test_input_gradients_are_equal_when_every_branch_is_zero(spirals):
    """y = x + F(x) with F = 0: every block passes dL/dx through unchanged (He 2016 eq. 5)."""
    model = build(NetworkSpec(depth=6, width=8, norm=False, ordering="full_preact").replace(
        input_shape=(2,), n_classes=2))
    with torch.no_grad():
        for b in model.blocks:
            b.w2.weight.zero_()
            b.w2.bias.zero_()
    x, y = measuring_batch(spirals, 64)
    g = input_grad_norms(model, x, y)
    assert len(g) == 6 and g[0] > 0
    assert max(g) == pytest.approx(min(g), rel=1e-6)


def test_input_gradient_of_block_one_matches_autograd(spirals):
    model = build(NetworkSpec(family="plain", depth=4, width=8, norm=False))
    x, y = measuring_batch(spirals, 64)
    h = model.stem(x)
    loss = torch.nn.functional.cross_entropy(model.head(torch.nn.Sequential(*model.blocks)(h)), y)
    (want,) = torch.autograd.grad(loss, h)
    assert input_grad_norms(model, x, y)[0] == pytest.approx(float(want.norm()), rel=1e-5)


def test_measuring_batch_takes_every_class(spirals):
    x, y = measuring_batch(spirals, 64)
    assert len(y) == 64 and set(y.tolist()) == {0, 1}
    assert abs(float(y.float().mean()) - 0.5) < 0.1


def test_story_panel_says_which_is_which(spirals):
    r = story_vs_measurement(24, spirals, seeds=3)
    assert verdict(median(r["story"]["plain"])) == "vanishes"
    assert verdict(median(r["story"]["residual"])) == "healthy"
    assert verdict(median(r["paper"]["plain"])) != "vanishes"
    assert [verdict(v) for v in (1e-4, 1.0, 1e4, float("nan"))] == [
        "vanishes", "healthy", "grows", "broken"]


def test_ratio_handles_zero():
    assert first_last_ratio([1.0, 2.0, 4.0]) == 0.25
    assert first_last_ratio([1.0, 0.0]) != first_last_ratio([1.0, 0.0])  # NaN, not a crash


def test_variants_cover_every_family():
    names = variant_specs(4, True, init="orthogonal")
    assert {s.family for s in names.values()} == {"plain", "residual", "highway", "gated"}
    assert {s.ordering for s in names.values() if s.family == "residual"} == set(ORDERINGS)
    assert {s.init for s in names.values()} == {"orthogonal"}


def test_forward_signal_dies_in_plain_net_with_small_init(spirals):
    x = measuring_batch(spirals, 128, test=True)[0]
    plain = forward_std(build(NetworkSpec(family="plain", depth=30, norm=False, init="pytorch")), x)
    res = forward_std(build(NetworkSpec(family="residual", depth=30, norm=False, init="pytorch")), x)
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
    assert cli(["gradients", "--family", "plain", "--depth", "50", "--norm", "none", "--init",
                "pytorch", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["grad_norms"]) == 50 and out["first_over_last"] < 1e-6
    assert len(out["input_grad_norms"]) == 50 and out["input_first_over_last"] < 1e-6
    assert cli(["gradients", "--family", "plain", "--depth", "30", "--norm", "none", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["input_first_over_last"] > 1e-2  # He init: no
    assert cli(["gradients", "--init", "zeros"]) == 2  # argparse names the valid choices
    assert "invalid choice" in capsys.readouterr().err
    assert cli(["gradients", "--depth", "0"]) != 0
    err = capsys.readouterr().err
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1
