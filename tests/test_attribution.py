"""Captum attributions: completeness where promised, branches measured where they are."""

from __future__ import annotations

import pytest
import torch

from resviz.data import load
from resviz.models import build
from resviz.probes.attribution import block_attribution, branch_module, input_attribution, output_difference
from resviz.spec import ORDERINGS, NetworkSpec


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_branch_module_outputs_the_branch(ordering):
    block = build(NetworkSpec(depth=1, width=8, ordering=ordering)).blocks[0].eval()
    seen = []
    branch_module(block).register_forward_hook(lambda m, i, o: seen.append(o))
    x = torch.randn(5, 8)
    with torch.no_grad():
        block(x)
        assert torch.allclose(seen[0], block.branch(x))


def test_integrated_gradients_completeness_on_digits():
    data = load("digits", 300)
    model = build(NetworkSpec(depth=3, width=8, input_shape=data.input_shape, n_classes=10))
    x = data.x_test[:2]
    attr, delta = input_attribution(model, x, target=3, n_steps=128)
    assert attr.shape == x.shape
    with torch.no_grad():
        model.eval()
        diff = model(x)[:, 3] - model(torch.zeros_like(x))[:, 3]
    assert torch.allclose(attr.reshape(2, -1).sum(1), diff, atol=2e-2 * float(diff.abs().max()))
    assert delta < 2e-2 * float(diff.abs().max()) + 1e-4


def grad_x_branch_by_hand(model, x, target: int) -> list[float]:
    """Per block: sum over units of branch output x d f_target / d (branch output), mean over x;
    the branch output is cut out of the graph by a hook and differentiated directly (no Captum)."""
    out = []
    model.eval()
    for block in model.blocks:
        held = {}

        def hook(_m, _i, o, held=held):
            held["a"] = o.detach().requires_grad_(True)
            return held["a"]

        handle = branch_module(block).register_forward_hook(hook)
        try:
            f = model(x)[:, target].sum()
            (g,) = torch.autograd.grad(f, held["a"])
        finally:
            handle.remove()
        out.append(float((held["a"] * g).detach().reshape(len(x), -1).sum(1).mean()))
    return out


def test_plain_blocks_each_carry_everything_residual_share_it():
    """A plain block's branch is a full cut: its conductance is the whole f(x) - f(0)."""
    data = load("spirals", 200)
    x = data.x_test[:4]
    plain = build(NetworkSpec(family="plain", depth=4, width=16, norm=False))
    diff = output_difference(plain, x, 1)
    cond = block_attribution(plain, x, 1, n_steps=200)
    assert cond == pytest.approx([diff] * 4, rel=0.05, abs=1e-3)
    res = build(NetworkSpec(family="residual", depth=4, width=16, norm=False))
    rcond = block_attribution(res, x, 1, n_steps=64)
    assert max(rcond) - min(rcond) > 0.05 * abs(output_difference(res, x, 1)) + 1e-6
    gxa = block_attribution(res, x, 1, method="grad_x_activation")
    assert gxa == pytest.approx(grad_x_branch_by_hand(res, x, 1), rel=1e-4, abs=1e-7)
    assert max(abs(v) for v in gxa) > 1e-4  # not all zero: the comparison can fail
    with pytest.raises(ValueError):
        block_attribution(res, x, 1, method="nope")
