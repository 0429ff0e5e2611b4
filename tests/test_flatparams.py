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
        opt_flat.zero_grad(set_to_none=True)  # as a trainer's shared code might; harmless
        flat.zero_grad()
        _loss(flat_ps, step).backward()
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
    wide = [torch.full((3,), 0.1, dtype=torch.float64, requires_grad=True)]  # not a float32
    FlatParams(wide, [torch.tensor(0)], 1)
    assert wide[0].dtype == torch.float64 and wide[0][0].item() == 0.1  # kept exactly


def test_group_norms_are_each_groups_gradient_norm():
    ps = _tensors(2)
    # (3, 4): rows into groups 0, 1 and none; (2, 3, 5): its first index into 2 and 0;
    # (4,) into 1; (1,) into none. Each group holds 4 + 15 numbers... except as laid out:
    # group 0 = row 0 (4) + [0] (15), group 1 = row 1 (4) + (4,) ... so sizes must agree
    ids = [torch.tensor([0, 1, -1]).view(3, 1), torch.tensor(2), torch.tensor([2, 0]).view(2, 1, 1),
           torch.tensor(-1)]
    with pytest.raises(ValueError, match="equally many"):
        FlatParams(ps, ids, 3)
    ps = _tensors(2)
    ids = [torch.tensor([0, 1, -1]).view(3, 1), torch.tensor(-1), torch.tensor([1, 0]).view(2, 1, 1),
           torch.tensor(-1)]
    flat = FlatParams(ps, ids, 2)
    for step in range(2):  # the second backward starts from zero, not from the first's sum
        flat.zero_grad()
        _loss(ps, step).backward()
    grads = [p.grad.clone() for p in ps]
    want = torch.stack([torch.cat([grads[0][0], grads[2][1].reshape(-1)]).norm(),
                        torch.cat([grads[0][1], grads[2][0].reshape(-1)]).norm()])
    assert torch.allclose(flat.group_norms(), want, rtol=1e-6)
    fresh = _tensors(2)
    _loss(fresh, 1).backward()
    assert all(torch.equal(p.grad, f.grad) for p, f in zip(ps, fresh))
