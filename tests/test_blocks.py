"""Truths about single blocks: zero branch = identity, skip off = plain, gates' limits."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from resviz.blocks import GatedBlock, HighwayBlock, ResidualBlock
from resviz.spec import ORDERINGS

torch.manual_seed(0)


def zero_last_layer(block: ResidualBlock) -> None:
    """Make the residual branch output exactly zero (as zero-init of the last weights does)."""
    with torch.no_grad():
        block.w2.weight.zero_()
        if block.w2.bias is not None:
            block.w2.bias.zero_()
        if block.ordering in ("original", "relu_preact", "relu_before_add"):
            block.n2.weight.zero_()
            block.n2.bias.zero_()


@pytest.mark.parametrize("ordering", ["relu_before_add", "relu_preact", "full_preact"])
def test_zeroed_branch_is_identity_for_clean_shortcuts(ordering: str) -> None:
    block = ResidualBlock(8, ordering).eval()
    zero_last_layer(block)
    x = torch.randn(16, 8)
    torch.testing.assert_close(block(x), x)


def test_zeroed_branch_original_is_relu_of_input() -> None:
    """Post-activation: y = relu(x + 0) — identity on the non-negative outputs of a previous block."""
    block = ResidualBlock(8, "original").eval()
    zero_last_layer(block)
    x = torch.randn(16, 8)
    torch.testing.assert_close(block(x), torch.relu(x))
    torch.testing.assert_close(block(x.relu()), x.relu())


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_skip_off_is_the_plain_block(ordering: str) -> None:
    """With the skip gate at 0 the output is exactly the branch (plus the ordering's post-ops)."""
    block = ResidualBlock(8, ordering).eval()
    x = torch.randn(16, 8)
    with_skip = block(x)
    block.set_skip(False)
    y = block(x)
    fx = block.branch(x)
    expected = {"original": torch.relu(fx), "bn_after_add": torch.relu(block.n2(fx))}.get(ordering, fx)
    torch.testing.assert_close(y, expected)
    assert not torch.allclose(y, with_skip)


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_conv_blocks_keep_shape(ordering: str) -> None:
    block = ResidualBlock(4, ordering, conv=True).eval()
    x = torch.randn(2, 4, 8, 8)
    assert block(x).shape == x.shape


def test_inactive_block_is_identity_even_post_activation() -> None:
    block = ResidualBlock(8, "original")
    block.active = False
    x = torch.randn(4, 8)
    assert block(x) is x


def test_routes_keep_forward_values_and_split_the_gradient() -> None:
    """Veit's masked backward: same forward value; gradient through one path only."""
    block = ResidualBlock(8, "full_preact").eval()
    x = torch.randn(4, 8, requires_grad=True)
    y_full = block(x)
    grads = {}
    for route in (None, "branch", "skip"):
        block.route = route
        y = block(x)
        torch.testing.assert_close(y, y_full)
        (g,) = torch.autograd.grad(y.sum(), x)
        grads[route] = g
    torch.testing.assert_close(grads["skip"], torch.ones_like(x))  # skip-only: d(x)/dx
    torch.testing.assert_close(grads["branch"] + grads["skip"], grads[None])


def test_highway_gate_limits() -> None:
    block = HighwayBlock(8).eval()
    x = torch.randn(4, 8)
    block.gate = 0.0
    torch.testing.assert_close(block(x), x)  # T = 0: carry only
    block.gate = 1.0
    torch.testing.assert_close(block(x), block.h(x))  # T = 1: the plain block
    block.gate, block.openness = None, 1.0
    torch.testing.assert_close(block(x), block.h(x) + x)  # both gates open: residual


def test_highway_gate_bias_sets_initial_activity() -> None:
    block = HighwayBlock(64, gate_bias=-2.0)
    with torch.no_grad():
        t = block.transform_gate(torch.randn(256, 64) * 0.1)
    assert abs(t.mean().item() - torch.sigmoid(torch.tensor(-2.0)).item()) < 0.05


def test_gated_block_open_gates_is_preact_residual() -> None:
    block = GatedBlock(8).eval()
    x = torch.randn(4, 8)
    block.gate = 1.0
    torch.testing.assert_close(block(x), x + block.h(x))


def test_stochastic_depth_scales_branch_at_test_time() -> None:
    block = ResidualBlock(8, "full_preact").eval()
    x = torch.randn(4, 8)
    full = block(x) - x
    block.survival = 0.5
    torch.testing.assert_close(block(x) - x, 0.5 * full)


def test_no_inplace_ops_for_captum() -> None:
    for block in (ResidualBlock(4), HighwayBlock(4), GatedBlock(4)):
        for m in block.modules():
            assert not getattr(m, "inplace", False), m
    assert isinstance(ResidualBlock(4).act1, nn.ReLU)
