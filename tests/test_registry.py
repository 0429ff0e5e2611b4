"""One registry for activations and orderings; blocks that say where their branch and gate are."""

from __future__ import annotations

import argparse

import pytest
import torch

from resviz import registry
from resviz.blocks import GatedBlock, HighwayBlock, ResidualBlock
from resviz.experiments import gradients as grad_cmd
from resviz.experiments import train_cmd
from resviz.models import build
from resviz.shortcut_variants import VARIANTS, ShortcutVariantBlock
from resviz.spec import ACTIVATIONS, ORDERINGS, NetworkSpec, SpecError


def test_spec_choices_are_the_registry() -> None:
    assert ORDERINGS == tuple(registry.ORDERINGS) and ACTIVATIONS == tuple(registry.ACTIVATIONS)
    with pytest.raises(SpecError):
        NetworkSpec(activation="swish")
    with pytest.raises(SpecError):
        NetworkSpec(ordering="sideways")


@pytest.mark.parametrize("name", list(registry.ACTIVATIONS))
def test_activation_module_and_function_agree(name: str) -> None:
    a = registry.ACTIVATIONS[name]
    x = torch.linspace(-3, 3, 101)
    assert torch.allclose(a.module()(x), a.fn(x))
    net = build(NetworkSpec(depth=1, width=4, activation=name))
    assert isinstance(net.head[0], type(a.module()))


def test_every_registered_ordering_is_a_different_block() -> None:
    x = torch.randn(16, 6, generator=torch.Generator().manual_seed(0))
    outs = {}
    for o in registry.ORDERINGS:
        torch.manual_seed(0)
        b = ResidualBlock(6, o).eval()
        assert o in ResidualBlock.BRANCH_END  # the block knows how to compute every ordering
        with torch.no_grad():
            outs[o] = b(x)
    assert len({tuple(v.flatten().tolist()) for v in outs.values()}) == len(registry.ORDERINGS)


def test_cli_offers_the_registry() -> None:
    for mod in (train_cmd, grad_cmd):
        p = argparse.ArgumentParser()
        (mod.add_arguments if hasattr(mod, "add_arguments") else mod.add_network_arguments)(p)
        acts = next(a for a in p._actions if a.dest == "activation")
        assert list(acts.choices) == list(registry.ACTIVATIONS)


def _hooked_output(block, module, x):  # noqa: ANN001
    seen = []
    h = module.register_forward_hook(lambda m, i, o: seen.append(o))
    with torch.no_grad():
        block(x)
    h.remove()
    return seen[0]


@pytest.mark.parametrize("block", [
    *[ResidualBlock(8, o) for o in registry.ORDERINGS],
    HighwayBlock(8), GatedBlock(8), *[ShortcutVariantBlock(8, v) for v in VARIANTS]],
    ids=lambda b: b.label)
def test_blocks_describe_where_the_branch_ends(block) -> None:  # noqa: ANN001
    """`branch_output` emits exactly what the block adds (before gates); `describe()` names it."""
    block.eval()
    x = torch.randn(5, 8)
    out = _hooked_output(block, block.branch_output, x)
    want = block.h(x) if isinstance(block, (HighwayBlock, GatedBlock)) else block.branch(x)
    assert torch.allclose(out, want)
    d = block.describe()
    assert getattr(block, d["branch_output"]) is block.branch_output
    assert d["kind"] == block.kind and d["label"].startswith(block.kind)


def test_blocks_describe_their_gate() -> None:
    hw, gated, res = HighwayBlock(8, gate_bias=-3.0), GatedBlock(8, gate_bias=2.0), ResidualBlock(8)
    assert hw.describe()["gate"] == "t" and hw.openable
    assert torch.all(hw.gate_module.bias == -3.0)
    assert gated.describe()["gate"] == "inp" and not gated.openable
    assert torch.all(gated.gate_module.bias == -2.0)  # the input gate starts nearly shut
    assert res.gate_module is None and res.describe()["gate"] is None
    hw.record = True
    x = torch.randn(4, 8)
    hw(x)
    assert torch.allclose(hw.last_gate, torch.sigmoid(hw.gate_module(x)))
