"""Highway truths: the gates' limits, the gate probes, and the depth at which gates matter."""

from __future__ import annotations

import json
import math

import pytest
import torch

from resviz.__main__ import main as cli
from resviz.blocks import GatedBlock, HighwayBlock, ResidualBlock
from resviz.data import load
from resviz.experiments import highway as hwx
from resviz.models import build
from resviz.probes import gates
from resviz.spec import NetworkSpec, TrainSpec


def sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def _randomise(block: torch.nn.Module) -> torch.nn.Module:
    """Random weights everywhere (also BN statistics), eval mode: no trivial zeros."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in block.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
        for name, buf in block.named_buffers():
            if name.endswith("running_mean"):
                buf.copy_(torch.randn(buf.shape, generator=g) * 0.1)
            elif name.endswith("running_var"):
                buf.copy_(torch.rand(buf.shape, generator=g) + 0.5)
    return block.eval()


X = torch.randn(64, 8, generator=torch.Generator().manual_seed(0))


def test_highway_gate_zero_is_identity_and_one_is_plain_block():
    b = _randomise(HighwayBlock(8))
    b.gate = 0.0
    assert torch.equal(b(X), X)
    b.gate = 1.0
    assert torch.allclose(b(X), b.h(X), atol=1e-6)
    b.gate = None  # the learned gate is neither
    y = b(X)
    assert not torch.allclose(y, X, atol=1e-3) and not torch.allclose(y, b.h(X), atol=1e-3)


def test_highway_fully_open_is_residual_whatever_the_learned_gate():
    b = _randomise(HighwayBlock(8))
    b.openness = 1.0
    y = b(X)
    assert torch.allclose(y, b.h(X) + X, atol=1e-6)
    with torch.no_grad():
        b.t.weight.mul_(-3.0)  # a different learned gate changes nothing at openness 1
    assert torch.allclose(b(X), y, atol=1e-6)


def test_gated_with_gates_open_equals_full_preact_residual_block():
    gb = _randomise(GatedBlock(8))
    rb = ResidualBlock(8, ordering="full_preact").eval()
    with torch.no_grad():
        for dst, src in ((rb.n1, gb.h[0]), (rb.w1, gb.h[2]), (rb.n2, gb.h[3]), (rb.w2, gb.h[5])):
            dst.load_state_dict(src.state_dict())
    gb.gate = 1.0
    assert torch.allclose(gb(X), rb(X), atol=1e-5)
    gb.gate = None
    assert not torch.allclose(gb(X), rb(X), atol=1e-3)


@pytest.mark.parametrize("bias", [0.0, -2.0, -4.0])
def test_mean_gate_at_init_is_sigmoid_of_the_bias(bias):
    data = load("spirals", 400)
    net = build(NetworkSpec(family="highway", depth=8, width=16, gate_bias=bias))
    maps = gates.gate_maps(net, data.x_test)
    assert maps["biases"][0] == pytest.approx([bias] * 16)
    for m in maps["mean_per_block"]:
        assert m == pytest.approx(sigmoid(bias), abs=0.02)
    assert len(maps["example_gate"]) == 8 and len(maps["example_gate"][0]) == 16


def test_gate_maps_follow_openness_and_restore_the_switches():
    data = load("spirals", 400)
    net = build(NetworkSpec(family="highway", depth=4, width=8, gate_bias=-2.0))
    half = gates.gate_maps(net, data.x_test, openness=0.5)["mean_per_block"]
    assert half[0] == pytest.approx(0.5 + 0.5 * sigmoid(-2.0), abs=0.02)
    assert all(b.openness == 0.0 and not b.record for b in net.blocks)


def test_shutting_every_gate_is_deleting_every_block():
    data = load("spirals", 400)
    net = build(NetworkSpec(family="highway", depth=5, width=8))
    x, y = data.x_test, data.y_test
    shut = gates.lesion_accuracy(net, x, y, range(5))
    net.set_active([False] * 5)
    with torch.no_grad():
        net.eval()
        deleted = (net(x).argmax(1) == y).float().mean().item()
    net.set_active([True] * 5)
    assert shut == pytest.approx(deleted)
    assert all(b.gate is None for b in net.blocks)


def test_lesion_keeps_the_trained_openness_of_other_blocks():
    data = load("spirals", 400)
    net = build(NetworkSpec(family="highway", depth=4, width=8))
    x, y = data.x_test, data.y_test
    for b in net.blocks:
        b.openness = 1.0
    own = gates.openness_sweep(net, x, y, [1.0])[0]
    assert gates.lesion_accuracy(net, x, y) == pytest.approx(own)
    assert gates.gate_maps(net, x)["mean_per_block"] == pytest.approx([1.0] * 4)
    shut = gates.lesion_accuracy(net, x, y, range(4))
    net.set_active([False] * 4)
    assert shut == pytest.approx(gates.openness_sweep(net, x, y, [1.0])[0])
    assert all(b.openness == 1.0 and b.gate is None for b in net.blocks)


@pytest.fixture(scope="module")
def trained():
    """Depth 30, width 16 on two-spirals, 150 steps: highway vs plain."""
    tspec = TrainSpec(steps=150, eval_every=150)
    data = load(tspec.dataset, tspec.n_samples, tspec.noise, tspec.data_seed)
    nspecs = hwx.specs(depth=30, width=16, gate_bias=-2.0, data=data)
    trainer = hwx.make_trainer({k: nspecs[k] for k in ("plain", "highway")}, tspec)
    for _ in trainer.run():
        pass
    return trainer


def test_deep_highway_fits_spirals_where_plain_does_not(trained):
    assert trained.final("highway")["train_acc"] > 0.9
    assert trained.final("plain")["train_acc"] < 0.7


def test_trained_highway_has_idle_blocks(trained):
    """Srivastava et al.: shutting the gates of many single blocks costs almost nothing."""
    net = trained.models["highway"]
    x, y = trained.test_set
    lesion = gates.lesion_each(net, x, y)
    assert lesion["intact"] > 0.9
    assert len(lesion["idle"]) >= 10
    assert all(lesion["intact"] - lesion["per_block"][i] <= gates.IDLE_DROP for i in lesion["idle"])
    assert gates.openness_sweep(net, x, y, [0.0])[0] == pytest.approx(lesion["intact"])


def test_cli_untrained(capsys):
    assert cli(["highway", "--depth", "4", "--width", "8", "--gate-bias", "-3", "--steps", "0",
                "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    hw = out["models"]["highway"]
    assert out["steps_done"] == 0 and set(out["models"]) == {"plain", "residual", "highway"}
    assert len(hw["mean_gate_per_block"]) == 4
    assert all(abs(g - sigmoid(-3)) < 0.02 for g in hw["mean_gate_per_block"])
    assert 0 <= out["models"]["plain"]["test_acc"] <= 1
