"""Shattered gradients: white noise in deep plain nets, correlated with skips (Balduzzi 2017)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from resviz.__main__ import main as cli
from resviz.probes.shattered import autocorrelation, compare, input_gradients, sweep_net
from resviz.spec import NetworkSpec


def test_autocorrelation_of_white_and_brown_noise():
    rng = np.random.default_rng(0)
    white = rng.normal(size=4000)
    brown = np.cumsum(white)
    assert abs(autocorrelation(white, 3)[1]) < 0.05
    assert autocorrelation(brown, 3)[1] > 0.9
    t = np.arange(4000)
    assert autocorrelation(np.cos(0.1 * t), 1)[1] == pytest.approx(np.cos(0.1), abs=0.01)
    assert list(autocorrelation(np.ones(10), 2)) == [1.0, 0.0, 0.0]


def test_gradient_is_the_derivative_of_one_fixed_function():
    """Frozen batch statistics: each point's gradient matches its own finite difference."""
    spec = NetworkSpec(depth=6, width=32, activation="tanh", ordering="full_preact")
    xs, g = input_gradients(spec, n=64)
    x = torch.as_tensor(xs).unsqueeze(1)
    model = sweep_net(spec, x)
    h = 1e-3
    with torch.no_grad():
        fd = (model(x + h)[:, 0] - model(x - h)[:, 0]) / (2 * h)
    assert np.allclose(g, fd.numpy(), rtol=0.05, atol=0.02 * np.abs(g).max())


def test_residual_gradients_stay_correlated_at_depth_24():
    r = compare(24, width=128, seeds=3)
    assert r["residual"]["lag1"] > r["plain"]["lag1"] + 0.1
    assert abs(r["plain"]["lag1"]) < 0.15  # white noise
    shallow = compare(1, width=128, seeds=1)
    assert shallow["plain"]["lag1"] > 0.8 and shallow["residual"]["lag1"] > 0.8


def test_cli_shattered(capsys):
    assert cli(["shattered", "--depth", "8", "--seeds", "1", "--width", "32", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["autocorr_plain"][0] == 1.0 and len(out["autocorr_residual"]) == 21
    assert cli(["shattered", "--depth", "0"]) != 0
    assert capsys.readouterr().err.startswith("error:")
