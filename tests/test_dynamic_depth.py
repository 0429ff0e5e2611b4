"""Dynamic depth: the real update ||y_i − x_i|| / ||x_i||, refinement cos(y_i − x_i, −∂L/∂x_i),
and "active" defined by the accuracy cost of deleting a block."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from resviz.data import load
from resviz.models import build
from resviz.probes import dynamic_depth as D
from resviz.probes.lesion import deletion_cost
from resviz.spec import NetworkSpec, TrainSpec


def _xy(n: int = 32, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=g), torch.randint(0, 2, (n,), generator=g)


def test_update_is_y_minus_x_including_the_final_relu_of_the_original_ordering():
    """For `original`, y = relu(x + f(x)): the real update is not f(x), and the probe sees that."""
    net = build(NetworkSpec(depth=4, width=8, ordering="original", seed=2)).eval()
    x, y = _xy()
    with torch.no_grad():
        hs = net.features(x)
        truth = [float((b - a).norm() / a.norm()) for a, b in zip(hs, hs[1:])]
        branch_only = [float(blk.branch(h).norm() / h.norm()) for blk, h in zip(net.blocks, hs)]
    got = D.block_updates(net, x, y)["update_ratio"]
    assert got == pytest.approx(truth, rel=1e-5)
    assert D.update_ratios(net, x) == pytest.approx(truth, rel=1e-5)
    assert got != pytest.approx(branch_only, rel=1e-2)


def test_refinement_cosine_matches_autograd_by_hand_and_a_zero_block_is_inert():
    net = build(NetworkSpec(depth=4, width=8, ordering="full_preact", seed=2)).eval()
    with torch.no_grad():
        net.blocks[1].w2.weight.zero_()
        net.blocks[1].w2.bias.zero_()
    x, y = _xy()
    h0 = net.stem(x).detach().requires_grad_(True)
    h1 = net.blocks[0](h0)
    h2 = net.blocks[1](h1)
    h3 = net.blocks[2](h2)
    h4 = net.blocks[3](h3)
    g = torch.autograd.grad(nn.functional.cross_entropy(net.head(h4), y), [h0, h1, h2, h3])
    truth = [float(nn.functional.cosine_similarity(b - a, -gi, dim=1).mean().detach())
             for a, b, gi in zip([h0, h1, h2, h3], [h1, h2, h3, h4], g)]
    u = D.block_updates(net, x, y)
    assert u["refinement_cos"][0] == pytest.approx(truth[0], abs=1e-5)
    assert u["refinement_cos"][2:] == pytest.approx(truth[2:], abs=1e-5)
    assert u["update_ratio"][1] == 0.0 and u["refinement_cos"][1] == 0.0  # adds nothing, moves nothing


def test_a_step_along_minus_the_gradient_has_cosine_one():
    """A block whose update is exactly −η ∂L/∂x (one gradient-descent step on its input) scores 1."""
    net = build(NetworkSpec(depth=1, width=8, ordering="full_preact", seed=0)).eval()
    x, y = _xy()
    h = net.stem(x).detach().requires_grad_(True)
    g = torch.autograd.grad(nn.functional.cross_entropy(net.head(h), y), h)[0]

    class Step(nn.Module):  # y = x − 0.1 g(x), with g the gradient at this block's input
        def forward(self, v):
            return v - 0.1 * g

    net.blocks[0] = Step()
    assert D.block_updates(net, x, y)["refinement_cos"][0] == pytest.approx(1.0, abs=1e-5)


def test_active_is_the_deletion_cost_not_the_norm():
    costs = [0.0, 0.009, 0.01, 0.3]
    assert D.active_count(costs) == 2
    assert D.active_count(costs, 0.005) == 3


def test_trace_follows_training():
    """Every recorded step has one value per block; costs are the lesion's; training changes them."""
    data = load("moons", 400, 0.1, 0)
    spec = NetworkSpec(depth=6, width=16, seed=0)
    ts = TrainSpec(dataset="moons", n_samples=400, steps=60)
    model = build(spec)
    trace = D.train_traced(model, data, ts, every=20)
    assert trace.steps == [0, 20, 40, 60]
    assert all(len(r) == 6 for r in trace.ratios + trace.cosines + trace.costs)
    assert trace.ratios[0] != trace.ratios[-1]
    x, y = data.x_test[:256], data.y_test[:256]
    assert trace.ratios[0] == pytest.approx(D.update_ratios(build(spec), x))
    assert trace.costs[-1] == pytest.approx(deletion_cost(model, x, y))
    assert trace.test_acc is not None and trace.test_acc > 0.8
    assert trace.active() == [D.active_count(c) for c in trace.costs]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_trained_residual_uses_few_blocks_and_refines_plain_uses_all(seed):
    """Measured (12 blocks, spirals, 300 steps): a residual net needs 2-4 of its 12 blocks (deletion
    costs >= 1 point), its blocks step downhill (mean cos > 0, negative at init); a plain net needs all."""
    data = load("spirals", 1000, 0.1, 0)
    spec = NetworkSpec(depth=12, width=32, seed=seed)
    x, y = data.x_test, data.y_test
    init = D.block_updates(build(spec), x, y)
    from resviz.train import Trainer

    nets = {"residual": build(spec), "plain": build(spec.replace(family="plain"))}
    for _r in Trainer(nets, data, TrainSpec(dataset="spirals", steps=300, seed=seed, eval_every=50)).run():
        pass
    res = D.block_updates(nets["residual"], x, y)
    assert D.active_count(deletion_cost(nets["residual"], x, y)) <= 6
    assert D.active_count(deletion_cost(nets["plain"], x, y)) >= 10
    assert sum(res["refinement_cos"]) / 12 > 0.05 > sum(init["refinement_cos"]) / 12
    r = res["update_ratio"]
    assert r[-1] < r[0] / 2  # later blocks make small updates
