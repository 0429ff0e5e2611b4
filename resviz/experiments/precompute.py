"""Compute every preset's heavy results (and the home page's story) once, before class.

Results land in the disk store (resviz.store: location $RESVIZ_STORE, size bound
$RESVIZ_STORE_BYTES), keyed by spec and library version, so they survive a restart and are
never served stale after an upgrade. Each job below builds exactly the specs its page builds
from the preset's URL settings (page defaults for the rest) and calls the same cached
function, so the page then opens with the result at once. A job whose experiment module is
missing, or whose page trains live (nothing to store), is skipped with a message.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import time
from collections.abc import Callable, Mapping

from resviz import store
from resviz.presets import PRESETS

COMMAND = "precompute"
Params = Mapping[str, str]


def _get(p: Params, key: str, default, kind: type = str):
    if key not in p:
        return default
    return p[key] in ("1", "true") if kind is bool else kind(p[key])


def _module(name: str):
    return importlib.import_module(f"resviz.experiments.{name}")


def degradation(p: Params) -> object:
    """As pages/views/degradation.py: depths up to dg_maxdepth, stacked per depth, stored per depth."""
    from resviz.device import resolve_device
    from resviz.spec import TrainSpec

    deg = _module("degradation")
    steps = _get(p, "dg_steps", 300, int)
    max_depth = _get(p, "dg_maxdepth", 32, int)
    sw = deg.SweepSpec(depths=tuple(d for d in (2, 4, 8, 16, 32, 64) if d <= max_depth),
                       seeds=_get(p, "dg_seeds", 2, int), width=_get(p, "dg_width", 32, int),
                       norm=_get(p, "dg_norm", True, bool),
                       train=TrainSpec(dataset=_get(p, "dg_data", "spirals"), n_samples=1000, steps=steps,
                                       lr=_get(p, "dg_lr", 0.01, float), eval_every=max(1, steps // 30)))
    return deg.sweep(sw, str(resolve_device(None, batched=True)))


def _sd(p: Params, prefix: str) -> float | None:
    return _get(p, f"{prefix}_pl", 0.5, float) if _get(p, f"{prefix}_sd", True, bool) else None


def lesion(p: Params) -> object:
    """As pages/views/lesion.py (networks trained on the page)."""
    from resviz.spec import NetworkSpec, TrainSpec

    lx = _module("lesion")
    tspec = TrainSpec(dataset=_get(p, "le_data", "moons"), steps=_get(p, "le_steps", lx.STEPS, int),
                      eval_every=50)
    spec = NetworkSpec(depth=_get(p, "le_depth", lx.DEPTH, int), width=32)
    return lx.cached_run(spec, tspec, _get(p, "le_draws", lx.DRAWS, int), _sd(p, "le"),
                         spare_first=not _get(p, "le_first", False, bool))


def paths(p: Params) -> object:
    """As pages/views/ensemble.py (network trained on the page, 64 test examples)."""
    from resviz.spec import NetworkSpec, TrainSpec

    tspec = TrainSpec(dataset=_get(p, "en_data", "spirals"), steps=_get(p, "en_steps", 300, int),
                      eval_every=50)
    spec = NetworkSpec(depth=_get(p, "en_depth", 24, int), width=32)
    return _module("paths").cached_run(spec, tspec, _get(p, "en_samples", 100, int), 64, _sd(p, "en"))


def readout(p: Params) -> object:
    """As the Ensemble page's "Read block by block" tab (residual and plain trained on the page)."""
    rx = _module("readout")
    spec, tspec = rx.default_specs(_get(p, "rd_depth", rx.DEPTH, int), _get(p, "rd_steps", rx.STEPS, int),
                                   _get(p, "rd_data", rx.DATASET))
    return rx.cached_run(spec, tspec)


def landscape(p: Params) -> object:
    """As pages/views/landscape.py with a plain/residual pair trained on the page."""
    from resviz.data import load
    from resviz.device import resolve_device
    from resviz.probes.landscape import LandscapeSpec
    from resviz.spec import NetworkSpec, TrainSpec

    seed, n, dataset = _get(p, "ls_seed", 0, int), _get(p, "ls_n", 400, int), _get(p, "ls_data", "spirals")
    lspec = LandscapeSpec(grid=_get(p, "ls_grid", 21, int), span=_get(p, "ls_span", 1.0, float),
                          seed=_get(p, "ls_dseed", 0, int))
    tspec = TrainSpec(dataset=dataset, n_samples=n, steps=_get(p, "ls_steps", 200, int), seed=seed)
    data = load(dataset, n, tspec.noise, tspec.data_seed)
    spec = NetworkSpec(depth=_get(p, "ls_depth", 16, int), width=_get(p, "ls_width", 16, int), seed=seed,
                       input_shape=data.input_shape, n_classes=data.n_classes)
    return _module("landscape").pair_landscapes(spec, tspec, lspec, device=resolve_device(None, batched=True))


def orderings(p: Params) -> object:
    mod = _module("orderings")
    return mod.run(mod.DEFAULT_NET, mod.DEFAULT_TRAIN)


def highway(p: Params) -> str:
    return "the highway page trains live in the browser: nothing to store"


JOBS: dict[str, Callable[[Params], object]] = {
    "degradation": degradation, "lesion": lesion, "paths": paths, "readout": readout, "landscape": landscape,
    "orderings": orderings, "highway": highway}


def _home_jobs() -> list[tuple[str, Callable[[], object]]]:
    from resviz import story

    return [("home/story", story.story_run), ("home/resnet_family", story.resnet_family),
            ("home/orderings", lambda: orderings({}))]


def jobs(only: list[str] | None = None, home: bool = True) -> list[tuple[str, Callable[[], object] | str]]:
    """(label, callable or the reason to skip) for every preset job, in order."""
    out: list[tuple[str, Callable[[], object] | str]] = list(_home_jobs()) if home else []
    for preset in PRESETS:
        if only and preset.key not in only:
            continue
        for name in preset.jobs:
            job = JOBS.get(name)
            label = f"{preset.key}/{name}"
            if job is None:
                out.append((label, f"no precompute job {name!r}"))
            elif importlib.util.find_spec(f"resviz.experiments.{name}") is None:
                out.append((label, f"resviz/experiments/{name}.py does not exist (not built yet?)"))
            else:
                out.append((label, lambda job=job, q=preset.query: job(q)))
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--only", action="append", default=None, metavar="PRESET",
                   help="only this preset key (repeatable): " + ", ".join(x.key for x in PRESETS))
    p.add_argument("--no-home", action="store_true", help="skip the home page's story figures")
    p.add_argument("--dry-run", action="store_true", help="list what would run, run nothing")


def main(args: argparse.Namespace) -> dict:
    if args.only and set(args.only) - {p.key for p in PRESETS}:
        raise ValueError(f"unknown preset {', '.join(sorted(set(args.only) - {p.key for p in PRESETS}))}")
    done, skipped = [], []
    for label, job in jobs(args.only, home=not args.no_home):
        if isinstance(job, str) or args.dry_run:
            (skipped if isinstance(job, str) else done).append(
                {"job": label, **({"reason": job} if isinstance(job, str) else {"seconds": 0.0})})
            continue
        print(f"run  {label} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            value = job()
        except Exception as e:  # one broken experiment must not stop the rest of the class prep
            skipped.append({"job": label, "reason": f"failed: {type(e).__name__}: {e}"})
            continue
        if isinstance(value, str):  # the job says why there is nothing to store
            skipped.append({"job": label, "reason": value})
            continue
        done.append({"job": label, "seconds": round(time.perf_counter() - t0, 2)})
    for s in skipped:
        print(f"skip {s['job']}: {s['reason']}", file=sys.stderr)
    return {"store": str(store.store_dir()), "size_limit_bytes": store.SIZE_LIMIT,
            "done": done, "skipped": skipped}
