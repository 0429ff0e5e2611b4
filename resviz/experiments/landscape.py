"""Loss landscape (Li et al. 2018) of a trained net: 2D grid, 1D lines, roughness."""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Callable, Mapping

import numpy as np
import torch
from torch import nn

from resviz import store
from resviz.cli_args import SEED, count, real
from resviz.data import load
from resviz.device import resolve_device
from resviz.experiments.train_cmd import add_network_arguments, add_training_arguments, specs_from_args
from resviz.models import build
from resviz.probes.landscape import (
    METHODS,
    HessianSpec,
    LandscapeSpec,
    directions,
    grid_losses,
    hessian_ratio_grid,
    interpolation,
    line_losses,
    roughness,
    slice_curvature_map,
    weights,
)
from resviz.spec import NetworkSpec, TrainSpec
from resviz.train import Trainer

COMMAND = "landscape"
NAMESPACE = "landscape"
HESSIAN_NAMESPACE = "landscape_hessian"
NONCONVEX_RATIO = 0.1  # Li et al.'s map: a point counts as non-convex above this |min/max|
LINE_RANGE = (0.0, 1.0)  # init to trained; beyond them BatchNorm variances could turn negative
# progress(fraction done, stage, model name); stage is "train", "grid", "lines" or "hessian"
Progress = Callable[[float, str, str], None]


def fingerprint(model: nn.Module, *tensors: torch.Tensor) -> str:
    """A hash of the model's weights and buffers (skip switches included) and the data."""
    h = hashlib.sha256()
    for k, v in model.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    for t in tensors:
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:32]


def landscape(model: nn.Module, init: nn.Module, x: torch.Tensor, y: torch.Tensor,
              lspec: LandscapeSpec, *, device: str | torch.device | None = None,
              method: str = "auto", progress: Callable[[float, str], None] | None = None) -> dict:
    """Grid of losses, its roughness, and the two 1D lines, as plain data (numpy arrays)."""
    axis = lspec.axis
    d1, d2 = directions(model, lspec.seed)
    n_grid, n_line = lspec.grid**2, 2 * lspec.line_points
    total = n_grid + n_line

    def step(offset: int, stage: str) -> Callable[[int, int], None]:
        return lambda done, _n: progress((offset + done) / total, stage) if progress else None

    kw = dict(device=device, method=method)
    z = grid_losses(model, x, y, d1, d2, axis, progress=step(0, "grid"), **kw)
    t_dir = np.linspace(-lspec.span, lspec.span, lspec.line_points)
    dir_loss = line_losses(model, x, y, weights(model), d1, t_dir,
                           progress=step(n_grid, "lines"), **kw)
    origin, delta = interpolation(init, model)
    t_line = np.linspace(*LINE_RANGE, lspec.line_points)
    line_loss = line_losses(model, x, y, origin, delta, t_line,
                            progress=step(n_grid + lspec.line_points, "lines"), **kw)
    c = lspec.grid // 2
    return {"axis": axis, "loss": z, "centre_loss": float(z[c, c]) if lspec.grid % 2 else None,
            "roughness": roughness(z, axis), "slice_curvature": slice_curvature_map(z, axis),
            "direction": {"t": t_dir, "loss": dir_loss},
            "interpolation": {"t": t_line, "loss": line_loss}}


LINE_SHAPE = {"t": np.ndarray, "loss": np.ndarray}
LANDSCAPE_SHAPE = {"axis": np.ndarray, "loss": np.ndarray, "centre_loss": store.Maybe(float),
                   "roughness": {"nonconvex_share": float, "mean_ratio": float, "basin_share": float,
                                 "minima": int},
                   "slice_curvature": np.ndarray, "direction": LINE_SHAPE, "interpolation": LINE_SHAPE}
store.declare(NAMESPACE, LANDSCAPE_SHAPE)
store.declare("landscape_pair", {"landscapes": store.DictOf(str, LANDSCAPE_SHAPE),
                                 "final": store.DictOf(str, {"train_loss": float,
                                                             "train_acc": store.Maybe(float),
                                                             "test_acc": store.Maybe(float),
                                                             "diverged_at": store.Maybe(int)})})


def cached_landscape(model: nn.Module, init: nn.Module, x: torch.Tensor, y: torch.Tensor,
                     lspec: LandscapeSpec, **kw: object) -> dict:
    """`landscape`, stored per model (weights hash), data and settings: a revisit is instant."""
    parts = (fingerprint(model, x, y), fingerprint(init), lspec)
    return store.get_or_compute(NAMESPACE, parts,
                                lambda: landscape(model, init, x, y, lspec, **kw))  # type: ignore[arg-type]


def hessian_map(model: nn.Module, x: torch.Tensor, y: torch.Tensor, lspec: LandscapeSpec,
                hspec: HessianSpec, *, device: str | torch.device | None = None,
                progress: Callable[[float, str], None] | None = None) -> dict:
    """Li et al. 2018 Fig. 7 on the loss grid's plane (same directions, same span, coarser):
    the full Hessian's extreme eigenvalues at every point, |lambda_min/lambda_max|, and the
    share of points above NONCONVEX_RATIO."""
    d1, d2 = directions(model, lspec.seed)

    def step(done: int, n: int) -> None:
        if progress is not None:
            progress(done / n, "hessian")

    out = hessian_ratio_grid(model, x, y, d1, d2, hspec.axis(lspec.span), iters=hspec.iters,
                             seed=lspec.seed, device=device, progress=step)
    r = out["ratio"][np.isfinite(out["ratio"])]
    c = hspec.grid // 2
    out.update(nonconvex_share=float(np.mean(r > NONCONVEX_RATIO)) if r.size else float("nan"),
               mean_ratio=float(np.mean(r)) if r.size else float("nan"),
               centre_ratio=float(out["ratio"][c, c]) if hspec.grid % 2 else None,
               iters=hspec.iters)
    return out


def cached_hessian_map(model: nn.Module, x: torch.Tensor, y: torch.Tensor, lspec: LandscapeSpec,
                       hspec: HessianSpec, **kw: object) -> dict:
    """`hessian_map`, stored per model (weights hash), data and settings."""
    parts = (fingerprint(model, x, y), lspec.span, lspec.seed, hspec)
    return store.get_or_compute(HESSIAN_NAMESPACE, parts,
                                lambda: hessian_map(model, x, y, lspec, hspec, **kw))  # type: ignore[arg-type]


HESSIAN_SHAPE = {"axis": np.ndarray, "lambda_min": np.ndarray, "lambda_max": np.ndarray,
                 "ratio": np.ndarray, "nonconvex_share": float, "mean_ratio": float,
                 "centre_ratio": store.Maybe(float), "iters": int}
store.declare(HESSIAN_NAMESPACE, HESSIAN_SHAPE)
store.declare("landscape_pair_hessian", {"maps": store.DictOf(str, HESSIAN_SHAPE),
                                         "final": store.DictOf(str, dict)})


def pair_specs(spec: NetworkSpec) -> dict[str, NetworkSpec]:
    """The same net with and without skips: same depth, width, seed, so the same directions."""
    return {"plain": spec.replace(family="plain", skips=None),
            "residual": spec.replace(family="residual", skips=None)}


def train_models(specs: Mapping[str, NetworkSpec], tspec: TrainSpec,
                 device: str | torch.device = "cpu",
                 progress: Progress | None = None) -> tuple[dict[str, nn.Module], dict]:
    """Train the models in lockstep; returns them and their final metrics."""
    data = load(tspec.dataset, tspec.n_samples, tspec.noise, tspec.data_seed)
    models = {k: build(s) for k, s in specs.items()}
    trainer = Trainer(models, data, tspec, device)
    for i, _rec in enumerate(trainer.run()):
        if progress is not None and (i % 5 == 0 or i + 1 == tspec.steps):
            progress((i + 1) / max(1, tspec.steps), "train", "")
    final = {k: trainer.final(k) for k in specs}
    return {k: m.cpu() for k, m in models.items()}, final


def models_landscapes(models: Mapping[str, nn.Module], specs: Mapping[str, NetworkSpec],
                      tspec: TrainSpec, lspec: LandscapeSpec, *,
                      device: str | torch.device | None = None, method: str = "auto",
                      progress: Progress | None = None) -> dict[str, dict]:
    """Landscapes of trained models on their training set, each cached on its own."""
    data = load(tspec.dataset, tspec.n_samples, tspec.noise, tspec.data_seed)
    out = {}
    for i, (name, model) in enumerate(models.items()):
        def sub(frac: float, stage: str, i: int = i, name: str = name) -> None:
            if progress is not None:
                progress((i + frac) / len(models), stage, name)
        out[name] = cached_landscape(model, build(specs[name]), data.x_train, data.y_train,
                                     lspec, device=device, method=method, progress=sub)
    return out


def pair_parts(spec: NetworkSpec, tspec: TrainSpec, lspec: LandscapeSpec) -> tuple:
    specs = pair_specs(spec)
    return specs["plain"], specs["residual"], tspec, lspec


def stored_pair(spec: NetworkSpec, tspec: TrainSpec, lspec: LandscapeSpec) -> dict | None:
    """The stored result of `pair_landscapes` if it was computed before, else None."""
    return store.get("landscape_pair", *pair_parts(spec, tspec, lspec))


def pair_landscapes(spec: NetworkSpec, tspec: TrainSpec, lspec: LandscapeSpec, *,
                    device: str | torch.device | None = None,
                    train_device: str | torch.device = "cpu", method: str = "auto",
                    progress: Progress | None = None) -> dict:
    """Train a plain and a residual net of `spec`'s depth, then both landscapes; stored as a
    whole per settings, so a revisit needs neither training nor evaluation."""
    specs = pair_specs(spec)

    def compute() -> dict:
        def train_part(f: float, stage: str, name: str) -> None:
            if progress is not None:
                progress(0.3 * f, stage, name)

        def grid_part(f: float, stage: str, name: str) -> None:
            if progress is not None:
                progress(0.3 + 0.7 * f, stage, name)

        models, final = train_models(specs, tspec, train_device, train_part)
        lands = models_landscapes(models, specs, tspec, lspec, device=device, method=method,
                                  progress=grid_part)
        return {"landscapes": lands, "final": final}

    return store.get_or_compute("landscape_pair", pair_parts(spec, tspec, lspec), compute)


def stored_pair_hessian(spec: NetworkSpec, tspec: TrainSpec, lspec: LandscapeSpec,
                        hspec: HessianSpec) -> dict | None:
    """The stored result of `pair_hessian` if it was computed before, else None."""
    return store.get("landscape_pair_hessian", *pair_parts(spec, tspec, lspec), hspec)


def pair_hessian(spec: NetworkSpec, tspec: TrainSpec, lspec: LandscapeSpec, hspec: HessianSpec, *,
                 device: str | torch.device | None = None,
                 train_device: str | torch.device = "cpu",
                 progress: Progress | None = None) -> dict:
    """Li et al.'s full-Hessian map of the plain and the residual net of `pair_landscapes`
    (trained again, deterministically, from the same specs), stored per settings.

    Returns {"maps": {name: hessian_map}, "final": final metrics of training}.
    """
    specs = pair_specs(spec)

    def compute() -> dict:
        def train_part(f: float, stage: str, name: str) -> None:
            if progress is not None:
                progress(0.1 * f, stage, name)

        models, final = train_models(specs, tspec, train_device, train_part)
        data = load(tspec.dataset, tspec.n_samples, tspec.noise, tspec.data_seed)
        maps = {}
        for i, (name, model) in enumerate(models.items()):
            def sub(f: float, stage: str, i: int = i, name: str = name) -> None:
                if progress is not None:
                    progress(0.1 + 0.9 * (i + f) / len(models), stage, name)
            maps[name] = cached_hessian_map(model, data.x_train, data.y_train, lspec, hspec,
                                            device=device, progress=sub)
        return {"maps": maps, "final": final}

    return store.get_or_compute("landscape_pair_hessian", (*pair_parts(spec, tspec, lspec), hspec),
                                compute)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_network_arguments(p, depth=20)
    add_training_arguments(p, steps=300)
    p.add_argument("--grid", type=count(3, 101), default=31, help="grid points per axis (3..101)")
    p.add_argument("--span", type=real(0.0, 10.0, lo_open=True), default=1.0,
                   help="grid from -span to +span (0, 10]")
    p.add_argument("--direction-seed", type=SEED, default=0, help="seed of the two directions")
    p.add_argument("--line-points", type=count(3, 401), default=41, help="points of each 1D line (3..401)")
    p.add_argument("--method", choices=METHODS, default="auto",
                   help="vmap (batched grid points) or loop; auto = vmap on a GPU")
    p.add_argument("--hessian", action="store_true",
                   help="also Li et al.'s map: |lambda_min/lambda_max| of the full Hessian "
                        "(Lanczos on Hessian-vector products) on a coarse grid")
    p.add_argument("--hessian-grid", type=count(1, 21), default=HessianSpec.grid,
                   help="points per axis of the full-Hessian map (1..21)")
    p.add_argument("--lanczos-iters", type=count(2, 200), default=HessianSpec.iters,
                   help="Lanczos iterations (Hessian-vector products) per grid point (2..200)")


def to_plain(result: dict) -> dict:
    """numpy arrays -> lists, for JSON."""
    return {k: to_plain(v) if isinstance(v, dict) else
            v.tolist() if isinstance(v, np.ndarray) else v for k, v in result.items()}


def main(args: argparse.Namespace) -> dict:
    spec, tspec = specs_from_args(args)
    lspec = LandscapeSpec(grid=args.grid, span=args.span, seed=args.direction_seed,
                          line_points=args.line_points)
    hspec = HessianSpec(grid=args.hessian_grid, iters=args.lanczos_iters) if args.hessian else None
    job = (spec, tspec, lspec, hspec, args.device, args.method)
    from resviz.engine import on_cluster

    if on_cluster():  # a Ray task on the cluster, as the page's landscapes are
        from resviz.engine import jobs

        return jobs.run(compute, *job)
    return compute(*job)


def compute(spec: NetworkSpec, tspec: TrainSpec, lspec: LandscapeSpec,
            hspec: HessianSpec | None, device_name: str, method: str) -> dict:
    """Train the model, then its landscape (and Li et al.'s Hessian map with `hspec`), on the
    device resolved where this runs: the CLI's result, plain data."""
    device = resolve_device(device_name, batched=True)
    t0 = time.perf_counter()
    models, final = train_models({"model": spec}, tspec, resolve_device(device_name))
    t1 = time.perf_counter()
    result = models_landscapes(models, {"model": spec}, tspec, lspec, device=device,
                               method=method)["model"]
    out = {"spec": spec.to_dict(), "train": tspec.to_dict(), **final["model"],
           "landscape": {"grid": lspec.grid, "span": lspec.span, "direction_seed": lspec.seed,
                         **to_plain(result)},
           "device": str(device), "train_seconds": t1 - t0,
           "landscape_seconds": time.perf_counter() - t1}
    if hspec is not None:
        t2 = time.perf_counter()
        data = load(tspec.dataset, tspec.n_samples, tspec.noise, tspec.data_seed)
        hess = cached_hessian_map(models["model"], data.x_train, data.y_train, lspec, hspec,
                                  device=device)
        out["hessian"] = {"grid": hspec.grid, "lanczos_iters": hspec.iters, **to_plain(hess),
                          "seconds": time.perf_counter() - t2}
    return out
