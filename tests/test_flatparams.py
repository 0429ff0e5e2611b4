"""One optimiser over a flat buffer is the per-tensor optimiser, number for number."""

from __future__ import annotations

import pytest
import torch

from resviz.flatparams import FlatParams
from resviz.spec import TrainSpec
from resviz.train import make_optimizer

SHAPES = [(3, 4), (4,), (2, 3, 5), (1,)]


def _tensors(seed: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=g).requires_grad_(True) for s in SHAPES]


def _loss(params: list[torch.Tensor], step: int) -> torch.Tensor:
    # a different, non-quadratic target each step, so the moments matter
    return sum(((p - 0.1 * step).sin() * (k + 1) * p).sum() for k, p in enumerate(params))


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_flat_update_equals_per_tensor_update(optimizer):
    spec = TrainSpec(optimizer=optimizer, lr=0.05, weight_decay=1e-3)
    apart, flat_ps = _tensors(0), _tensors(0)
    opt_apart = make_optimizer(apart, spec)
    flat = FlatParams(flat_ps, [torch.tensor(0)] * len(flat_ps), 1)
    opt_flat = make_optimizer([flat.flat], spec)
    for step in range(25):
        opt_apart.zero_grad(set_to_none=True)
        _loss(apart, step).backward()
        opt_apart.step()
        opt_flat.zero_grad(set_to_none=True)
        _loss(flat_ps, step).backward()
        flat.gather_grads()
        opt_flat.step()
    for a, b in zip(apart, flat_ps):
        assert torch.equal(a, b)  # elementwise maths: not one bit apart


def test_parameters_live_in_the_buffer():
    ps = _tensors(1)
    before = [p.detach().clone() for p in ps]
    flat = FlatParams(ps, [torch.tensor(0)] * len(ps), 1)
    assert all(torch.equal(p, b) for p, b in zip(ps, before))  # values kept
    with torch.no_grad():
        flat.flat.add_(1.0)
    assert all(torch.equal(p, b + 1) for p, b in zip(ps, before))
    assert all(p.is_leaf and p.requires_grad for p in ps)


def test_group_norms_are_each_groups_gradient_norm():
    ps = _tensors(2)
    # tensor 0 split by rows into groups 0, 1, 2; tensor 2 by its first index into 1, 2;
    # tensors 1 and 3 whole into group 3
    ids = [torch.arange(3).view(3, 1), torch.tensor(3), torch.tensor([1, 2]).view(2, 1, 1),
           torch.tensor(3)]
    flat = FlatParams(ps, ids, 4)
    _loss(ps, 0).backward()
    grads = [p.grad.clone() for p in ps]
    flat.gather_grads()
    assert all(p.grad is None for p in ps)  # moved, so the next backward starts from zero
    want = torch.stack([
        grads[0][0].norm(),
        torch.cat([grads[0][1], grads[2][0].reshape(-1)]).norm(),
        torch.cat([grads[0][2], grads[2][1].reshape(-1)]).norm(),
        torch.cat([grads[1], grads[3]]).norm()])
    assert torch.allclose(flat.group_norms(), want, rtol=1e-6)
