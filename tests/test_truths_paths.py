"""Truths of Veit's path measurement that the shape tests let through: each length's contribution is
C(n, k) x its mean gradient (the mean checked against one plain backward per sample), the seed
decides the masks, and a length-100 path that underflows float32 is still measured right."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from resviz.models import build
from resviz.probes import paths as P
from resviz.spec import NetworkSpec


def _net(depth: int = 6, ordering: str = "original", seed: int = 0):
    return build(NetworkSpec(ordering=ordering, depth=depth, width=8, seed=seed)).eval()


def _xy(n: int = 12, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=g), torch.randint(0, 2, (n,), generator=g)


def _masks(n: int, ks, samples: int, seed: int) -> torch.Tensor:
    """The masks path_gradients(seed) must use: one generator seeded by `seed`, k by k."""
    gen = torch.Generator().manual_seed(seed)
    return torch.cat([P.sample_masks(n, k, samples, gen) for k in ks])


def test_contribution_is_binomial_count_times_the_naive_mean() -> None:
    net, (x, y) = _net(), _xy()
    ks, samples, seed = list(range(7)), 3, 5
    res = P.path_gradients(net, x, y, samples=samples, seed=seed)
    masks = _masks(6, ks, samples, seed)
    naive = np.array([P.masked_grad_naive(net, x, y, m.tolist()) for m in masks]).reshape(7, samples)
    np.testing.assert_allclose(res.mean, naive.mean(1), rtol=1e-4)
    np.testing.assert_allclose(res.std, naive.std(1), rtol=1e-3, atol=1e-9)
    expected = [math.comb(6, k) * naive[k].mean() for k in ks]
    np.testing.assert_allclose(res.contribution, expected, rtol=1e-4)
    assert res.counts == [math.comb(6, k) for k in ks]
    # not vacuous: the weighting changes the numbers (C(6, 3) = 20)
    assert res.contribution[3] == pytest.approx(20 * res.mean[3], rel=1e-9)
    assert res.contribution[3] > 5 * res.mean[3]


def test_path_gradients_naive_uses_the_same_masks() -> None:
    net, (x, y) = _net(), _xy()
    fast = P.path_gradients(net, x, y, samples=3, seed=2, ks=[1, 4])
    naive = P.path_gradients_naive(net, x, y, samples=3, seed=2, ks=[1, 4])
    np.testing.assert_allclose(fast.mean, [np.mean(r) for r in naive], rtol=1e-4)


def test_same_seed_same_masks_different_seed_different_masks() -> None:
    net, (x, y) = _net(), _xy()
    ks = [1, 2, 3, 4, 5]
    runs = {s: P.path_gradients(net, x, y, samples=6, seed=s, ks=ks) for s in (0, 0, 1, 2)}
    again = P.path_gradients(net, x, y, samples=6, seed=0, ks=ks)
    assert again.mean == runs[0].mean and again.p90 == runs[0].p90
    for s in (0, 1, 2):  # each run's numbers are those of its seed's masks
        want = P.masked_grads(net, x, y, _masks(6, ks, 6, s)).reshape(len(ks), 6).mean(1)
        np.testing.assert_allclose(runs[s].mean, want.numpy(), rtol=1e-6)
    assert runs[1].mean != runs[0].mean and runs[2].mean != runs[1].mean
    # and the masks themselves: same seed identical, different seeds different
    assert torch.equal(_masks(6, ks, 6, 0), _masks(6, ks, 6, 0))
    assert not torch.equal(_masks(6, ks, 6, 0), _masks(6, ks, 6, 1))


def _deep_full_preact():
    """Depth 100 full pre-activation whose BNs halve their input (running var 4): a path through
    k branches shrinks like ~0.15^k, so the length-100 path is ~1e-80, below float32's range."""
    net = _net(100, "full_preact")
    with torch.no_grad():
        for b in net.blocks:
            b.n1.running_var.fill_(4.0)
            b.n2.running_var.fill_(4.0)
    return net


def test_depth_100_long_paths_match_a_float64_backward() -> None:
    net, (x, y) = _deep_full_preact(), _xy(8)
    net64 = copy.deepcopy(net).double()
    masks = _masks(100, [0, 30, 60, 100], 2, seed=1)
    fast = P.masked_grads(net, x, y, masks)
    truth = torch.tensor([P.masked_grad_naive(net64, x.double(), y, m.tolist()) for m in masks],
                         dtype=torch.float64)
    assert truth[-1] < 1e-60  # the length-100 path is far below float32's smallest number...
    assert P.masked_grad_naive(net, x, y, [True] * 100) == 0.0  # ...so plain float32 loses it
    torch.testing.assert_close(fast, truth, rtol=1e-3, atol=0.0)


def test_depth_100_path_gradients_fall_with_length_and_stay_positive() -> None:
    net, (x, y) = _deep_full_preact(), _xy(8)
    res = P.path_gradients(net, x, y, samples=2, ks=[0, 50, 100])
    assert all(m > 0 and math.isfinite(m) for m in res.mean)
    assert res.mean[0] > 1e20 * res.mean[1] > 1e40 * res.mean[2]


def test_conv_net_fast_masked_backward_equals_one_backward_per_sample() -> None:
    """Images take the vmapped VJP path (no per-example Jacobian): same numbers as the naive way."""
    net = build(NetworkSpec(depth=3, width=4, input_shape=(1, 5, 5), n_classes=3, seed=1)).eval()
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(4, 1, 5, 5, generator=g), torch.randint(0, 3, (4,), generator=g)
    masks = _masks(3, [0, 1, 2, 3], 2, seed=3)
    fast = P.masked_grads(net, x, y, masks)
    naive = torch.tensor([P.masked_grad_naive(net, x, y, m.tolist()) for m in masks], dtype=fast.dtype)
    torch.testing.assert_close(fast, naive, rtol=1e-4, atol=1e-12)


def test_progress_reaches_one_and_percentiles_bracket_the_mean() -> None:
    net, (x, y) = _net(), _xy()
    seen: list[float] = []
    res = P.path_gradients(net, x, y, samples=5, seed=0, progress=seen.append)
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    masks = _masks(6, range(7), 5, seed=0)
    rows = P.masked_grads(net, x, y, masks).reshape(7, 5).numpy()
    np.testing.assert_allclose(res.p10, np.percentile(rows, 10, axis=1), rtol=1e-6)
    np.testing.assert_allclose(res.p90, np.percentile(rows, 90, axis=1), rtol=1e-6)
    assert res.samples == 5 and res.to_dict()["samples"] == 5
    band = P.effective_band(list(range(3)), [0.0, 0.0, 0.0])  # nothing flows: the whole range
    assert (band.lo, band.hi, band.share, band.path_fraction) == (0, 2, 0.0, 1.0)
