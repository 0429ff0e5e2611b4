"""Loss landscapes: filter normalisation, exact centre, analytic toy, roughness, cache, CLI."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import numpy as np
import pytest
import torch
from torch import nn

from resviz.__main__ import main as cli
from resviz.data import load
from resviz.experiments import landscape as exp
from resviz.models import build
from resviz.probes import landscape as ls
from resviz.spec import NetworkSpec, TrainSpec
from resviz.train import Trainer, evaluate


def trained(spec: NetworkSpec, steps: int = 20, n: int = 200) -> tuple[nn.Module, torch.Tensor,
                                                                       torch.Tensor]:
    data = load("spirals", n)
    model = build(spec)
    for _ in Trainer({"m": model}, data, TrainSpec(steps=steps, n_samples=n)).run():
        pass
    return model, data.x_train, data.y_train


@pytest.mark.parametrize("spec", [NetworkSpec(depth=3, width=8),
                                  NetworkSpec(depth=2, width=4, input_shape=(1, 6, 6),
                                              n_classes=3),
                                  NetworkSpec(family="highway", depth=2, width=8)])
def test_filter_normalised_directions(spec: NetworkSpec) -> None:
    model = build(spec)
    theta = ls.weights(model)
    d1, d2 = ls.directions(model, seed=3)
    moved = 0
    for k, w in theta.items():
        for d in (d1, d2):
            if w.dim() <= 1:  # biases and BatchNorm scale/shift stay put
                assert torch.count_nonzero(d[k]) == 0, k
            else:
                moved += 1
                assert torch.allclose(d[k].flatten(1).norm(dim=1), w.flatten(1).norm(dim=1),
                                      rtol=1e-5, atol=1e-7), k
    assert moved > 0
    assert not torch.allclose(d1[next(k for k in theta if theta[k].dim() > 1)],
                              d2[next(k for k in theta if theta[k].dim() > 1)])
    again, _ = ls.directions(model, seed=3)
    assert all(torch.equal(again[k], d1[k]) for k in d1)


def test_zero_filter_gets_zero_direction() -> None:
    w = {"w": torch.tensor([[0.0, 0.0], [3.0, 4.0]])}
    d = ls.filter_normalize({"w": torch.tensor([[1.0, 1.0], [0.0, 2.0]])}, w)["w"]
    assert torch.equal(d[0], torch.zeros(2))
    assert torch.allclose(d[1], torch.tensor([0.0, 5.0]))


def test_plain_and_residual_are_cut_the_same_way() -> None:
    spec = NetworkSpec(depth=4, width=8)
    pd, _ = ls.directions(build(spec.replace(family="plain")), seed=1)
    rd, _ = ls.directions(build(spec), seed=1)
    assert all(torch.equal(pd[k], rd[k]) for k in pd)


@pytest.mark.parametrize("method", ["loop", "vmap"])
def test_centre_is_the_models_own_loss(method: str) -> None:
    model, x, y = trained(NetworkSpec(depth=3, width=8))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    d1, d2 = ls.directions(model, seed=0)
    z = ls.grid_losses(model, x, y, d1, d2, np.linspace(-0.5, 0.5, 5), method=method, chunk=4)
    assert z[2, 2] == pytest.approx(evaluate(model, x, y)[0], rel=1e-5)
    assert np.ptp(z) > 1e-3  # the grid really moves away from the centre
    assert model.training and all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_vmap_and_loop_agree_on_grid_and_line() -> None:
    spec = NetworkSpec(depth=3, width=8)
    model, x, y = trained(spec)
    d1, d2 = ls.directions(model, seed=2)
    ax = np.linspace(-1, 1, 5)
    a = ls.grid_losses(model, x, y, d1, d2, ax, method="loop")
    b = ls.grid_losses(model, x, y, d1, d2, ax, method="vmap", chunk=3)
    np.testing.assert_allclose(a, b, rtol=1e-4)
    origin, delta = ls.interpolation(build(spec), model)
    ts = np.array([0.0, 0.5, 1.0])
    la = ls.line_losses(model, x, y, origin, delta, ts, method="loop")
    lb = ls.line_losses(model, x, y, origin, delta, ts, method="vmap")
    np.testing.assert_allclose(la, lb, rtol=1e-4)
    # both ends are the two real models' eval-mode losses (running statistics included)
    assert la[0] == pytest.approx(evaluate(build(spec), x, y)[0], rel=1e-5)
    assert la[2] == pytest.approx(evaluate(model, x, y)[0], rel=1e-5)


def test_quadratic_toy_gives_the_analytic_surface() -> None:
    """Least squares is quadratic in the weights: the grid must be the analytic paraboloid."""
    gen = torch.Generator().manual_seed(0)
    x, t = torch.randn(64, 3, generator=gen), torch.randn(64, generator=gen)
    model = nn.Linear(3, 1)

    def mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ((out.squeeze(-1) - y) ** 2).mean()

    d1, d2 = ls.directions(model, seed=5)
    assert torch.count_nonzero(d1["bias"]) == 0
    ax = np.linspace(-1, 1, 9)
    z = ls.grid_losses(model, x, t, d1, d2, ax, loss_fn=mse)
    with torch.no_grad():
        r = (model(x).squeeze(-1) - t).double()
        u, v = (x @ d1["weight"].T).squeeze(-1).double(), (x @ d2["weight"].T).squeeze(-1).double()
    aa, bb = np.meshgrid(ax, ax)
    want = ((r.numpy()[None, None] + aa[..., None] * u.numpy() + bb[..., None] * v.numpy()) ** 2
            ).mean(-1)
    np.testing.assert_allclose(z, want, rtol=1e-5)
    h = 2 * np.array([[float((u * u).mean()), float((u * v).mean())],
                      [float((u * v).mean()), float((v * v).mean())]])
    lo, hi = ls.curvatures(z, ax)
    np.testing.assert_allclose(lo, np.linalg.eigvalsh(h)[0], rtol=1e-3)
    np.testing.assert_allclose(hi, np.linalg.eigvalsh(h)[1], rtol=1e-3)
    assert ls.roughness(z, ax)["nonconvex_share"] == 0.0


def test_roughness_of_known_surfaces() -> None:
    ax = np.linspace(-1, 1, 21)
    a, b = np.meshgrid(ax, ax)
    bowl = ls.roughness(a**2 + 2 * b**2, ax)
    assert bowl == {"nonconvex_share": 0.0, "mean_ratio": 0.0, "basin_share": 0.0, "minima": 1}
    saddle = ls.roughness(a**2 - b**2, ax)
    assert saddle["nonconvex_share"] == 1.0 and saddle["mean_ratio"] == pytest.approx(1.0)
    crate = ls.roughness(np.sin(6 * a) * np.sin(6 * b) + 0.1 * (a**2 + b**2), ax)
    assert crate["minima"] >= 8 and crate["basin_share"] > 0.5


def test_deep_plain_landscape_is_rougher_than_residual() -> None:
    """Li et al.: without skips a deep net's landscape breaks up; with skips it stays a bowl."""
    out = exp.pair_landscapes(NetworkSpec(depth=16, width=16), TrainSpec(steps=150, n_samples=300),
                              ls.LandscapeSpec(grid=17, line_points=5))
    plain = out["landscapes"]["plain"]["roughness"]
    res = out["landscapes"]["residual"]["roughness"]
    assert plain["basin_share"] > res["basin_share"] + 0.25, (plain, res)
    assert plain["nonconvex_share"] > res["nonconvex_share"] + 0.1, (plain, res)
    assert plain["minima"] > res["minima"], (plain, res)


def test_landscape_is_cached_per_model_and_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = NetworkSpec(depth=2, width=4)
    model, x, y = trained(spec, steps=3, n=60)
    lspec = ls.LandscapeSpec(grid=3, line_points=3)
    first = exp.cached_landscape(model, build(spec), x, y, lspec)
    monkeypatch.setattr(exp, "landscape", lambda *a, **k: pytest.fail("recomputed"))
    again = exp.cached_landscape(model, build(spec), x, y, lspec)
    np.testing.assert_array_equal(first["loss"], again["loss"])
    key = exp.fingerprint(model, x, y)
    model.set_skips(False)
    assert exp.fingerprint(model, x, y) != key  # a toggled skip is another model
    with pytest.raises(pytest.fail.Exception):
        exp.cached_landscape(model, build(spec), x, y, lspec)


def test_spec_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        ls.LandscapeSpec(grid=2)
    with pytest.raises(ValueError):
        ls.LandscapeSpec(span=0)
    with pytest.raises(ValueError):
        ls.resolve_method("magic", torch.device("cpu"))


def test_cli_json_centre_matches_train_loss() -> None:
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = cli(["landscape", "--family", "residual", "--depth", "2", "--width", "8",
                  "--steps", "5", "--samples", "80", "--grid", "5", "--line-points", "5",
                  "--json"])
    assert rc == 0
    out = json.loads(buf.getvalue())
    land = out["landscape"]
    assert np.asarray(land["loss"]).shape == (5, 5)
    assert land["centre_loss"] == pytest.approx(out["train_loss"], rel=1e-5)
    assert set(land["roughness"]) >= {"nonconvex_share", "basin_share", "minima"}
    assert land["interpolation"]["loss"][-1] > 0


def test_figures_plot_log10_loss_on_one_scale() -> None:
    from resviz.figures import landscape as figs

    ax = np.linspace(-1, 1, 5)
    a, b = np.meshgrid(ax, ax)
    res = {}
    for name, z in (("plain", 10 ** (a**2 + b**2)), ("residual", 100 * (1 + a**2 + b**2))):
        res[name] = {"axis": ax, "loss": z, "roughness": ls.roughness(z, ax),
                     "ratio": ls.ratio_map(z, ax), "direction": {"t": ax, "loss": z[2]},
                     "interpolation": {"t": ax, "loss": z[:, 2]}}
    res["plain"]["loss"] = res["plain"]["loss"].copy()
    res["plain"]["loss"][0, 0] = np.inf  # a diverged point is left blank, not plotted
    labels = {"plain": "P", "residual": "R"}
    surf = figs.surfaces(res, labels)
    p, r = surf.data
    np.testing.assert_allclose(np.asarray(r.z), np.log10(res["residual"]["loss"]))
    assert np.isnan(np.asarray(p.z, dtype=float)[0, 0])
    assert p.cmin == r.cmin == 0.0 and p.cmax == r.cmax == pytest.approx(np.log10(300))
    cont = [t for t in figs.contours(res, labels).data if t.type == "contour"]
    assert cont[0].contours.start == cont[1].contours.start
    assert cont[0].contours.size == cont[1].contours.size
    bars = figs.roughness_bars(res, labels)
    assert list(bars.data[1].y) == [res["residual"]["roughness"][k]
                                    for k in ("nonconvex_share", "basin_share")]
