"""Truths of the ensemble view: binomial path counts and Veit's masked backward."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn
from torch.func import vjp

from resviz.data import load
from resviz.models import build
from resviz.probes import paths as P
from resviz.spec import NetworkSpec, TrainSpec
from resviz.train import Trainer


def _net(depth: int = 5, ordering: str = "full_preact", family: str = "residual", seed: int = 0):
    net = build(NetworkSpec(family=family, ordering=ordering, depth=depth, width=8, seed=seed))
    net.eval()
    return net


def _xy(n: int = 16, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=g), torch.randint(0, 2, (n,), generator=g)


def _out_grad(net, x, y):
    """dL/dh_n (summed loss), where h_n is the last block's output."""
    with torch.no_grad():
        hs = net.features(x)
    hn = hs[-1].clone().requires_grad_(True)
    loss = nn.functional.cross_entropy(net.head(hn), y, reduction="sum")
    return hs, torch.autograd.grad(loss, hn)[0]


def _mean_norm(g):
    return float(g.detach().norm(dim=1).mean())


@pytest.mark.parametrize("n", [1, 2, 7, 24, 54])
def test_path_counts_are_binomial_and_sum_to_two_to_the_n(n):
    counts = P.path_counts(n)
    assert counts == [math.comb(n, k) for k in range(n + 1)]
    assert sum(counts) == 2 ** n
    if n <= 7:  # the explicit paths have exactly those lengths
        lengths = [len(s) for s in P.path_subsets(n)]
        assert [lengths.count(k) for k in range(n + 1)] == counts


def test_k0_is_the_identity_path_alone():
    """y = x + f(x) (full pre-activation): with every block skip-only, dL/dh_0 = dL/dh_n."""
    net, (x, y) = _net(), _xy()
    _hs, g_out = _out_grad(net, x, y)
    truth = _mean_norm(g_out)
    mask = torch.zeros(1, 5, dtype=torch.bool)
    assert P.masked_grads(net, x, y, mask)[0].item() == pytest.approx(truth, rel=1e-5)
    assert P.masked_grad_naive(net, x, y, [False] * 5) == pytest.approx(truth, rel=1e-5)


def test_all_on_is_the_single_all_branch_path():
    """With every block branch-only the gradient is J_fn^T ... J_f1^T dL/dh_n, each J at h_{i-1}."""
    net, (x, y) = _net(), _xy()
    hs, v = _out_grad(net, x, y)
    for block, h in zip(reversed(net.blocks), reversed(hs[:-1])):
        _o, fn = vjp(block.branch, h)
        (v,) = fn(v)
    truth = _mean_norm(v)
    mask = torch.ones(1, 5, dtype=torch.bool)
    assert P.masked_grads(net, x, y, mask)[0].item() == pytest.approx(truth, rel=1e-4)
    assert P.masked_grad_naive(net, x, y, [True] * 5) == pytest.approx(truth, rel=1e-4)


@pytest.mark.parametrize("ordering,family", [("original", "residual"), ("bn_after_add", "residual"),
                                             ("full_preact", "highway")])
def test_fast_masked_backward_equals_one_backward_per_sample(ordering, family):
    net, (x, y) = _net(6, ordering, family), _xy()
    gen = torch.Generator().manual_seed(1)
    masks = torch.cat([P.sample_masks(6, k, 3, gen) for k in range(7)])
    fast = P.masked_grads(net, x, y, masks)
    naive = torch.tensor([P.masked_grad_naive(net, x, y, m.tolist()) for m in masks], dtype=fast.dtype)
    assert torch.allclose(fast, naive, rtol=1e-4, atol=1e-12)
    assert fast.std() > 0  # different masks really do give different numbers


def test_sample_masks_choose_exactly_k_blocks():
    gen = torch.Generator().manual_seed(0)
    for k in (0, 3, 9):
        m = P.sample_masks(9, k, 20, gen)
        assert (m.sum(1) == k).all()


def test_long_paths_do_not_underflow():
    """Long paths stay positive and finite and fall with length. (Post-activation "original" under
    He init kills every unit of these 8 points at some block: its k = 0 path is exactly 0, so a
    clean-shortcut ordering is used. The underflow itself: tests/test_truths_paths.py, depth 100.)"""
    net, (x, y) = _net(40, "full_preact"), _xy(8)
    res = P.path_gradients(net, x, y, samples=2, ks=[0, 20, 40])
    assert all(m > 0 and math.isfinite(m) for m in res.mean)
    assert res.mean[0] > res.mean[1] > res.mean[2]


def test_effective_band_is_the_shortest_run_holding_the_share():
    band = P.effective_band(list(range(6)), [0, 1, 5, 90, 4, 0], 0.9)
    assert (band.lo, band.hi) == (3, 3) and band.share == pytest.approx(0.9)
    band = P.effective_band(list(range(6)), [0, 10, 40, 40, 10, 0], 0.9)
    assert (band.lo, band.hi) == (1, 3) or (band.lo, band.hi) == (2, 4)
    assert band.path_fraction == pytest.approx((math.comb(5, band.lo) + math.comb(5, band.lo + 1)
                                                + math.comb(5, band.hi)) / 32)


@pytest.fixture(scope="module")
def trained_residual():
    data = load("moons", 600, 0.1, 0)
    net = build(NetworkSpec(depth=24, width=16, seed=0))
    for _r in Trainer({"m": net}, data, TrainSpec(dataset="moons", n_samples=600, steps=100)).run():
        pass
    return net, data


def test_trained_net_gradient_falls_with_path_length_and_band_is_short(trained_residual):
    """Veit et al.: magnitude falls roughly exponentially with k; the useful paths are short."""
    net, data = trained_residual
    n = 24
    res = P.path_gradients(net, data.x_test[:64], data.y_test[:64], samples=20, seed=0)
    logm = np.log10(res.mean)
    assert stats.spearmanr(res.ks, logm).statistic < -0.95
    assert np.polyfit(res.ks, logm, 1)[0] < -0.2  # at least a factor 1.6 per extra block
    assert res.mean[0] > 100 * res.mean[n // 2] > 1e4 * res.mean[n]
    band = P.effective_band(res.ks, res.contribution, 0.9)
    assert band.share >= 0.9
    assert band.hi <= n / 2 and (band.lo + band.hi) / 2 < n / 3
    assert band.path_fraction < 0.5


def test_the_2_to_the_n_path_terms_sum_to_the_full_jacobian():
    """(I + J3)(I + J2)(I + J1) = sum over paths of their branch-Jacobian products (y = x + f(x))."""
    net = _net(3)
    x0 = torch.randn(1, 2, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        hs = net.features(x0)
    jac = [torch.func.jacrev(lambda h, b=b: b.branch(h[None])[0])(h[0]) for b, h in zip(net.blocks, hs)]
    total = torch.zeros(8, 8)
    for subset in P.path_subsets(3):
        term = torch.eye(8)
        for i in subset:  # increasing block order: later blocks multiply on the left
            term = jac[i] @ term
        total += term
    def through(h):
        for b in net.blocks:
            h = b(h)
        return h

    full = torch.func.jacrev(lambda h: through(h[None])[0])(hs[0][0])
    assert torch.allclose(total, full, atol=1e-5)
