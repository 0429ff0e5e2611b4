"""Shattered gradients (Balduzzi et al. 2017): d output / d input along a 1D sweep of inputs.

A net with one input is evaluated at n points evenly spaced over [lo, hi]. In a deep plain
net the gradient at neighbouring points is nearly uncorrelated (white noise); with skip
connections it stays correlated (brown noise). The autocorrelation at lag k measures it.

Batch normalisation: its statistics are taken once from the whole sweep (as Balduzzi et
al. feed the sweep as one batch) and then frozen, so the net is one fixed function and the
gradient at each point is that function's own derivative. Computing gradients with live
batch statistics would mix in the derivative of the statistics through every other point.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from resviz.models import ResVizNet, build
from resviz.spec import NetworkSpec


def sweep_net(spec: NetworkSpec, x: torch.Tensor) -> ResVizNet:
    """Build a 1-input net and freeze its batch-norm statistics at those of the sweep."""
    model = build(spec.replace(input_shape=(1,), n_classes=2))
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average: after one batch, exactly its statistics
    model.train()
    with torch.no_grad():
        model(x)
    return model.eval()


def input_gradients(spec: NetworkSpec, n: int = 256, lo: float = -2.0,
                    hi: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, d logit_0 / d input) at n evenly spaced inputs."""
    x = torch.linspace(lo, hi, n).unsqueeze(1)
    model = sweep_net(spec, x)
    x.requires_grad_(True)
    (g,) = torch.autograd.grad(model(x)[:, 0].sum(), x)  # rows independent in eval mode
    return x.detach().squeeze(1).numpy(), g.squeeze(1).numpy()


def autocorrelation(g: np.ndarray, max_lag: int) -> np.ndarray:
    """Normalised autocorrelation at lags 0..max_lag (1 at lag 0; 0 for a constant)."""
    g = np.asarray(g, dtype=float) - np.mean(g)
    var = float(np.mean(g * g))
    if var == 0:
        return np.r_[1.0, np.zeros(max_lag)]
    return np.array([1.0] + [float(np.mean(g[:-k] * g[k:])) / var for k in range(1, max_lag + 1)])


def compare(depth: int, width: int = 128, ordering: str = "full_preact", seeds: int = 4,
            n: int = 256, max_lag: int = 20) -> dict:
    """Plain versus residual at one depth: seed-0 gradients, seed-mean autocorrelation."""
    out: dict = {"depth": depth, "width": width, "ordering": ordering, "seeds": seeds, "n": n}
    for family in ("plain", "residual"):
        acs, first = [], None
        for seed in range(seeds):
            spec = NetworkSpec(family=family, ordering=ordering, depth=depth, width=width,
                               seed=seed)
            xs, g = input_gradients(spec, n)
            first = (xs, g) if first is None else first
            acs.append(autocorrelation(g, max_lag))
        ac = np.mean(acs, axis=0)
        out[family] = {"x": first[0].tolist(), "grad": first[1].tolist(),
                       "autocorr": ac.tolist(), "lag1": float(ac[1]),
                       "lag1_per_seed": [float(a[1]) for a in acs]}
    return out
