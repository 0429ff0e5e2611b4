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
