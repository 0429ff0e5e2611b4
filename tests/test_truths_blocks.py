"""Each residual ordering's documented formula (He et al. 2016), built by hand from the block's
weights, against the block's forward: with randomised BN running statistics and affine
parameters (a fresh BN is the identity in eval mode and hides where it sits), in eval mode and
in train mode (batch statistics), flat and conv, skip on and off.

    original         y = relu(x + BN2(W2 relu(BN1(W1 x))))
    bn_after_add     y = relu(BN2(x + W2 relu(BN1(W1 x))))
    relu_before_add  y = x + relu(BN2(W2 relu(BN1(W1 x))))
    relu_preact      y = x + BN2(W2 relu(BN1(W1 relu(x))))
    full_preact      y = x + W2 relu(BN2(W1 relu(BN1(x))))
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from resviz.blocks import ResidualBlock
from resviz.spec import ORDERINGS

EPS = 1e-5


def randomise(block: ResidualBlock, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for bn in (block.n1, block.n2):
            c = bn.num_features
            bn.running_mean.copy_(torch.randn(c, generator=g) * 2)
            bn.running_var.copy_(torch.rand(c, generator=g) * 4 + 0.25)
            bn.weight.copy_(torch.randn(c, generator=g))
            bn.bias.copy_(torch.randn(c, generator=g))


def bn(bn_module: nn.Module, h: torch.Tensor, train: bool) -> torch.Tensor:
    """Batch norm by hand: batch statistics (biased variance) in training, running ones in eval."""
    dims = [0] if h.dim() == 2 else [0, 2, 3]
    shape = (1, -1) if h.dim() == 2 else (1, -1, 1, 1)
    if train:
        mean, var = h.mean(dims), h.var(dims, unbiased=False)
    else:
        mean, var = bn_module.running_mean, bn_module.running_var
    g, b = bn_module.weight, bn_module.bias
    return (h - mean.view(shape)) / torch.sqrt(var.view(shape) + EPS) * g.view(shape) + b.view(shape)


def by_hand(block: ResidualBlock, x: torch.Tensor, train: bool, skip: float) -> torch.Tensor:
    relu, w1, w2 = torch.relu, block.w1, block.w2
    bn1 = lambda h: bn(block.n1, h, train)
    bn2 = lambda h: bn(block.n2, h, train)
    o, s = block.ordering, skip * x
    if o == "original":
        return relu(s + bn2(w2(relu(bn1(w1(x))))))
    if o == "bn_after_add":
        return relu(bn2(s + w2(relu(bn1(w1(x))))))
    if o == "relu_before_add":
        return s + relu(bn2(w2(relu(bn1(w1(x))))))
    if o == "relu_preact":
        return s + bn2(w2(relu(bn1(w1(relu(x))))))
    assert o == "full_preact"
    return s + w2(relu(bn2(w1(relu(bn1(x))))))


@pytest.mark.parametrize("conv", [False, True])
@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize("ordering", ORDERINGS)
def test_each_ordering_is_its_documented_formula(ordering: str, train: bool, conv: bool) -> None:
    torch.manual_seed(0)
    block = ResidualBlock(6, ordering, conv=conv)
    randomise(block, seed=ORDERINGS.index(ordering))
    block.train(train)
    x = torch.randn(*((12, 6) if not conv else (4, 6, 5, 5))) * 1.5 + 0.3
    for skip in (1.0, 0.0):
        block.set_skip(bool(skip))
        with torch.no_grad():
            expected = by_hand(block, x, train, skip)
            got = block(x)
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_the_formulas_really_differ() -> None:
    """The five orderings give five different outputs on the same weights: the test above can tell
    them apart (a formula test on a fresh BN would not see BN moved across the add)."""
    x = torch.randn(12, 6)
    outs = []
    for ordering in ORDERINGS:
        torch.manual_seed(0)
        block = ResidualBlock(6, ordering)
        randomise(block, seed=7)
        block.eval()
        outs.append(by_hand(block, x, False, 1.0))
    for i in range(len(outs)):
        for j in range(i + 1, len(outs)):
            assert not torch.allclose(outs[i], outs[j], atol=1e-3), (ORDERINGS[i], ORDERINGS[j])


def _randomise_bns(module: nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=g))
                m.running_var.copy_(torch.rand(c, generator=g) * 3 + 0.25)
                m.weight.copy_(torch.randn(c, generator=g))
                m.bias.copy_(torch.randn(c, generator=g))


def _lin(layer: nn.Module, h: torch.Tensor) -> torch.Tensor:
    """A weight layer by hand: x W^T + b, or a convolution with the layer's own weights."""
    if isinstance(layer, nn.Linear):
        return h @ layer.weight.T + layer.bias
    pad = layer.padding
    return nn.functional.conv2d(h, layer.weight, layer.bias, padding=pad)


@pytest.mark.parametrize("conv", [False, True])
@pytest.mark.parametrize("train", [False, True])
def test_highway_block_is_srivastavas_formula(conv: bool, train: bool) -> None:
    """y = H(x) T(x) + x (1 - T(x)), H = relu(BN(W x)), T = sigmoid(W_T x + b_T), b_T = gate bias;
    skip off leaves H T; openness a moves both gates to a + (1 - a) gate."""
    from resviz.blocks import HighwayBlock

    torch.manual_seed(1)
    block = HighwayBlock(6, conv=conv, gate_bias=-1.5)
    assert torch.all(block.t.bias == -1.5)
    assert isinstance(block.t, nn.Conv2d if conv else nn.Linear)
    _randomise_bns(block, 3)
    block.train(train)
    x = torch.randn(*((10, 6) if not conv else (3, 6, 4, 4)))
    lin, bnm = block.h[0], block.h[1]
    with torch.no_grad():
        H = torch.relu(bn(bnm, _lin(lin, x), train))
        T = torch.sigmoid(_lin(block.t, x))
        for skip, a in ((1.0, 0.0), (0.0, 0.0), (1.0, 0.3), (0.0, 1.0)):
            block.set_skip(bool(skip))
            block.openness = a
            t_eff, c_eff = (1 - a) * T + a, (1 - a) * (1 - T) + a
            torch.testing.assert_close(block(x), H * t_eff + skip * x * c_eff, rtol=1e-4, atol=1e-5)
        block.openness, block.record = 0.0, True
        block.set_skip(True)
        block(x)
        torch.testing.assert_close(block.last_gate, T)


@pytest.mark.parametrize("conv", [False, True])
@pytest.mark.parametrize("train", [False, True])
def test_gated_block_is_the_lstm_like_formula(conv: bool, train: bool) -> None:
    """y = c(x) x + i(x) H(x), H = W2 relu(BN2(W1 relu(BN1(x)))), c = sigmoid(W_c x + |b|),
    i = sigmoid(W_i x - |b|); skip off leaves i H."""
    from resviz.blocks import GatedBlock

    torch.manual_seed(2)
    block = GatedBlock(6, conv=conv, gate_bias=-1.5)
    assert torch.all(block.carry.bias == 1.5) and torch.all(block.inp.bias == -1.5)
    assert isinstance(block.carry, nn.Conv2d if conv else nn.Linear)
    _randomise_bns(block, 4)
    block.train(train)
    x = torch.randn(*((10, 6) if not conv else (3, 6, 4, 4)))
    n1, _a1, w1, n2, _a2, w2 = block.h
    with torch.no_grad():
        H = _lin(w2, torch.relu(bn(n2, _lin(w1, torch.relu(bn(n1, x, train))), train)))
        c, i = torch.sigmoid(_lin(block.carry, x)), torch.sigmoid(_lin(block.inp, x))
        for skip in (1.0, 0.0):
            block.set_skip(bool(skip))
            torch.testing.assert_close(block(x), skip * c * x + i * H, rtol=1e-4, atol=1e-5)
        block.set_skip(True)
        block.record = True
        block(x)
        torch.testing.assert_close(block.last_gate, i)
        block.gate = 1.0  # both gates held open: x + H(x)
        torch.testing.assert_close(block(x), x + H, rtol=1e-4, atol=1e-5)


def test_recorded_stats_are_branch_over_input_norm_and_output_std() -> None:
    torch.manual_seed(3)
    block = ResidualBlock(6, "full_preact")
    randomise(block, 5)
    block.eval()
    x = torch.randn(10, 6) * 0.05  # ||x|| < 1: the ratio divides by ||x||, not by a floor of 1
    assert float(x.norm()) < 1
    with torch.no_grad():
        block(x)
        assert block.stats == {}  # nothing recorded unless asked (record is off by default)
        block.record = True
        y = block(x)
        fx = block.branch(x)
    assert block.stats["branch_ratio"] == pytest.approx(float(fx.norm() / x.norm()), rel=1e-5)
    assert block.stats["out_std"] == pytest.approx(float(y.std()), rel=1e-5)


def test_conv_weight_layers_have_no_bias_flat_ones_do() -> None:
    """He et al.: a conv followed by BN carries no bias (BN's shift replaces it)."""
    conv, flat = ResidualBlock(4, conv=True), ResidualBlock(4)
    assert conv.w1.bias is None and conv.w2.bias is None
    assert flat.w1.bias is not None
    assert sum(p.numel() for p in conv.parameters()) == 2 * 4 * 4 * 9 + 2 * 2 * 4
