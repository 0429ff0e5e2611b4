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
                     "slice_curvature": ls.slice_curvature_map(z, ax),
                     "direction": {"t": ax, "loss": z[2]},
                     "interpolation": {"t": ax, "loss": z[:, 2]}}
    res["plain"]["loss"] = res["plain"]["loss"].copy()
    res["plain"]["loss"][0, 0] = np.inf  # a diverged point is left blank, not plotted
    labels = {"plain": "P", "residual": "R"}
    surf = figs.surfaces(res, labels)
    p, r = surf.data
    np.testing.assert_allclose(np.asarray(r.z), np.log10(res["residual"]["loss"]))
    assert np.isnan(np.asarray(p.z, dtype=float)[0, 0])
    assert p.cmin == r.cmin == 0.0 and p.cmax == r.cmax == pytest.approx(np.log10(300))
    # each family in its own colour, and the z range holds the highest peak with room to spare
    from resviz.figures.style import FAMILY_COLORS
    assert p.colorscale[-1][1] == FAMILY_COLORS["plain"]
    assert r.colorscale[-1][1] == FAMILY_COLORS["residual"]
    zr = surf.layout.scene.zaxis.range
    assert zr[0] < 0.0 and zr[1] > np.log10(300)
    cont = [t for t in figs.contours(res, labels).data if t.type == "contour"]
    assert cont[0].contours.start == cont[1].contours.start
    assert cont[0].contours.size == cont[1].contours.size
    bars = figs.roughness_bars(res, labels)
    assert list(bars.data[1].y) == [res["residual"]["roughness"][k]
                                    for k in ("nonconvex_share", "basin_share")]


def explicit_hessian(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The full Hessian formed entry by entry (torch.autograd.functional.hessian): the truth."""
    from torch.func import functional_call

    names = [k for k, _ in model.named_parameters()]
    theta = [p.detach() for _, p in model.named_parameters()]
    fixed = {k: v for k, v in model.state_dict().items() if k not in names}

    def f(flat: torch.Tensor) -> torch.Tensor:
        ps = dict(zip(names, [t.view(p.shape) for t, p in
                              zip(flat.split([p.numel() for p in theta]), theta)]))
        return nn.functional.cross_entropy(functional_call(model, {**ps, **fixed}, (x,)), y)

    return torch.autograd.functional.hessian(f, torch.cat([p.reshape(-1) for p in theta]))


@pytest.mark.parametrize("family", ["plain", "residual"])
def test_lanczos_finds_the_full_hessians_extreme_eigenvalues(family: str) -> None:
    """Li et al.'s quantity against the truth: eigvalsh of the explicitly formed Hessian of a
    tiny trained net, at the trained weights and at an off-centre point of the plane."""
    model, x, y = trained(NetworkSpec(family=family, depth=2, width=4), steps=30, n=120)
    model = model.double().eval()
    x = x.double()
    d1, d2 = ls.directions(model, seed=1)
    for a, b in ((0.0, 0.0), (0.6, -0.4)):
        p = {k: v + a * d1[k] + b * d2[k] for k, v in ls.weights(model).items()}
        probe = build(NetworkSpec(family=family, depth=2, width=4)).double().eval()
        probe.load_state_dict({**model.state_dict(), **p})
        ev = torch.linalg.eigvalsh(explicit_hessian(probe, x, y))
        n = len(ev)
        lo, hi = ls.hessian_extremes(model, x, y, p, iters=n)  # full Krylov space: exact
        assert lo == pytest.approx(float(ev[0]), rel=1e-6, abs=1e-9)
        assert hi == pytest.approx(float(ev[-1]), rel=1e-6)
        lo20, hi20 = ls.hessian_extremes(model, x, y, p, iters=20)  # what the map uses
        assert hi20 == pytest.approx(float(ev[-1]), rel=1e-3)
        assert lo20 == pytest.approx(float(ev[0]), rel=0.05, abs=1e-3 * float(ev[-1]))
        assert float(ev[0]) < 0 < float(ev[-1])  # a net's Hessian is indefinite: a real test


def test_lanczos_on_a_known_matrix() -> None:
    gen = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(50, 50, generator=gen, dtype=torch.float64))
    lam = torch.linspace(-2, 7, 50, dtype=torch.float64)
    a = q @ torch.diag(lam) @ q.T
    assert ls.lanczos_extremes(lambda v: a @ v, 50, iters=50) == pytest.approx((-2.0, 7.0))
    lo, hi = ls.lanczos_extremes(lambda v: a @ v, 50, iters=25)
    assert -2.0 <= lo < -1.8 and 6.8 < hi <= 7.0  # Ritz values lie inside, close to the ends


def test_li_ratio_and_slice_disagree_where_the_slice_is_blind() -> None:
    """A surface convex in the plotted plane but curving down in a third direction: the 2-D
    slice curvature says 0 everywhere, Li's full-Hessian ratio says 1/2."""
    model = nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        model.weight.zero_()
    x = torch.eye(3)

    def loss(out: torch.Tensor, _y: torch.Tensor) -> torch.Tensor:  # w0^2 + w1^2 - w2^2 / 2
        o = out.squeeze(-1)
        return o[0] ** 2 + o[1] ** 2 - 0.5 * o[2] ** 2

    y = torch.zeros(3)
    d1 = {"weight": torch.tensor([[1.0, 0.0, 0.0]])}
    d2 = {"weight": torch.tensor([[0.0, 1.0, 0.0]])}
    ax = np.linspace(-1, 1, 5)
    z = ls.grid_losses(model, x, y, d1, d2, ax, loss_fn=loss)
    assert np.all(ls.slice_curvature_map(z, ax) == 0.0)
    m = ls.hessian_ratio_grid(model, x, y, d1, d2, ax[::2], iters=3, loss_fn=loss)
    np.testing.assert_allclose(m["lambda_min"], -1.0, atol=1e-5)
    np.testing.assert_allclose(m["lambda_max"], 2.0, atol=1e-5)
    np.testing.assert_allclose(m["ratio"], 0.5, atol=1e-5)


def test_hessian_map_is_stored_and_in_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = NetworkSpec(depth=2, width=4)
    model, x, y = trained(spec, steps=3, n=60)
    lspec, hspec = ls.LandscapeSpec(grid=3, line_points=3), ls.HessianSpec(grid=3, iters=5)
    first = exp.cached_hessian_map(model, x, y, lspec, hspec)
    assert first["ratio"].shape == (3, 3) and 0 <= first["nonconvex_share"] <= 1
    monkeypatch.setattr(exp, "hessian_map", lambda *a, **k: pytest.fail("recomputed"))
    again = exp.cached_hessian_map(model, x, y, lspec, hspec)
    np.testing.assert_array_equal(first["lambda_max"], again["lambda_max"])
    monkeypatch.undo()
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = cli(["landscape", "--depth", "2", "--width", "4", "--steps", "5", "--samples", "80",
                  "--grid", "3", "--line-points", "3", "--hessian", "--hessian-grid", "3",
                  "--lanczos-iters", "4", "--json"])
    assert rc == 0
    h = json.loads(buf.getvalue())["hessian"]
    assert np.asarray(h["ratio"]).shape == (3, 3) and h["lanczos_iters"] == 4
    lo, hi = np.asarray(h["lambda_min"]), np.asarray(h["lambda_max"])
    assert np.all(lo <= hi) and np.allclose(np.asarray(h["ratio"]), np.abs(lo) / hi)
