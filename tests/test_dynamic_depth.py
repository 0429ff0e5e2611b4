"""Dynamic depth: ||f_i(x)|| / ||x_i|| per block, and the count of blocks that really act."""

from __future__ import annotations

import pytest
import torch

from resviz.data import load
from resviz.models import build
from resviz.probes import dynamic_depth as D
from resviz.spec import NetworkSpec, TrainSpec


def test_branch_ratios_match_the_branch_computed_by_hand():
    net = build(NetworkSpec(depth=4, width=8, ordering="full_preact", seed=2)).eval()
    x = torch.randn(32, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        hs = net.features(x)
        truth = [float(b.branch(h).norm() / h.norm()) for b, h in zip(net.blocks, hs)]
    assert D.branch_ratios(net, x) == pytest.approx(truth, rel=1e-5)


def test_a_block_that_adds_nothing_is_not_counted_active():
    net = build(NetworkSpec(depth=4, width=8, ordering="full_preact", seed=2)).eval()
    with torch.no_grad():
        net.blocks[1].w2.weight.zero_()
        net.blocks[1].w2.bias.zero_()
    net.blocks[3].active = False  # deleted: adds nothing either
    r = D.branch_ratios(net, torch.randn(32, 2))
    assert r[1] == 0.0 and r[3] == 0.0 and r[0] > 0 and r[2] > 0
    assert D.active_count(r, 1e-6) == 2


def test_trace_follows_training_and_stochastic_depth_scales_branches():
    """Every recorded step has one ratio per block; training changes them."""
    data = load("moons", 400, 0.1, 0)
    spec = NetworkSpec(depth=6, width=16, seed=0)
    ts = TrainSpec(dataset="moons", n_samples=400, steps=60)
    trace = D.train_traced(build(spec), data, ts, every=20)
    assert trace.steps == [0, 20, 40, 60]
    assert all(len(r) == 6 for r in trace.ratios)
    assert trace.ratios[0] != trace.ratios[-1]
    assert trace.ratios[0] == pytest.approx(D.branch_ratios(build(spec), data.x_test[:256]))
    assert trace.test_acc is not None and trace.test_acc > 0.8
    sd = D.train_traced(build(spec), data, ts.replace(stochastic_depth=0.5), every=60)
    # at test time stochastic depth scales branch i by p_i; block 1 sees the same input
    p1 = 1 - (1 / 6) * (1 - 0.5)
    assert sd.ratios[0][0] == pytest.approx(p1 * trace.ratios[0][0], rel=1e-4)
