"""Compute every preset's heavy results (and the home page's story) once, before class.

Results land in the results store (resviz.store: the disk store in $RESVIZ_STORE, bounded by
$RESVIZ_STORE_BYTES, or Redis at $RESVIZ_REDIS_URL for several replicas), keyed by spec and
library version, so they survive a restart and are
never served stale after an upgrade. Each job below builds exactly the specs its page builds
from the preset's URL settings (page defaults for the rest) and calls the same cached
function, so the page then opens with the result at once. A job whose experiment module is
missing, or whose page trains live (nothing to store), is skipped with a message. A job that
fails is reported and the others still run; the command then exits with status 1.
"""

from __future__ import annotations

import argparse
import functools
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
    """As views/degradation.py: deg.page_sweep of the URL settings, stored per depth."""
    from resviz.device import resolve_device

    deg = _module("degradation")
    d = deg.page_sweep()
    sw = deg.page_sweep(max_depth=_get(p, "dg_maxdepth", max(d.depths), int),
                        seeds=_get(p, "dg_seeds", d.seeds, int),
                        steps=_get(p, "dg_steps", d.train.steps, int),
                        dataset=_get(p, "dg_data", d.train.dataset), width=_get(p, "dg_width", d.width, int),
                        norm=_get(p, "dg_norm", d.norm, bool), lr=_get(p, "dg_lr", d.train.lr, float),
                        optimizer=_get(p, "dg_opt", d.train.optimizer), init=_get(p, "dg_init", d.init))
    return deg.sweep(sw, str(resolve_device(None, batched=True)))


def identity(p: Params) -> object:
    """The identity test the Degradation page and the home story show (its default spec)."""
    mod = _module("identity")
    return mod.run(mod.IdentitySpec())


def _sd(p: Params, prefix: str) -> float | None:
    return _get(p, f"{prefix}_pl", 0.5, float) if _get(p, f"{prefix}_sd", True, bool) else None


def lesion(p: Params) -> object:
    """As views/lesion.py (networks trained on the page)."""
    from resviz.spec import NetworkSpec, TrainSpec

    lx = _module("lesion")
    tspec = TrainSpec(dataset=_get(p, "le_data", "moons"), steps=_get(p, "le_steps", lx.STEPS, int),
                      eval_every=50)
    spec = NetworkSpec(depth=_get(p, "le_depth", lx.DEPTH, int), width=32)
    return lx.cached_run(spec, tspec, _get(p, "le_draws", lx.DRAWS, int), _sd(p, "le"),
                         spare_first=not _get(p, "le_first", False, bool))


def paths(p: Params) -> object:
    """As views/ensemble.py (network trained on the page, 64 test examples)."""
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
    """As views/landscape.py with a plain/residual pair trained on the page: the loss
    landscapes and Li et al.'s full-Hessian map (the page's slowest part, minutes on a CPU)."""
    from resviz.data import load
    from resviz.device import resolve_device
    from resviz.probes.landscape import HessianSpec, LandscapeSpec
    from resviz.spec import NetworkSpec, TrainSpec

    seed, n, dataset = _get(p, "ls_seed", 0, int), _get(p, "ls_n", 400, int), _get(p, "ls_data", "spirals")
    lspec = LandscapeSpec(grid=_get(p, "ls_grid", 21, int), span=_get(p, "ls_span", 1.0, float),
                          seed=_get(p, "ls_dseed", 0, int))
    tspec = TrainSpec(dataset=dataset, n_samples=n, steps=_get(p, "ls_steps", 200, int), seed=seed)
    data = load(dataset, n, tspec.noise, tspec.data_seed)
    spec = NetworkSpec(depth=_get(p, "ls_depth", 16, int), width=_get(p, "ls_width", 16, int), seed=seed,
                       input_shape=data.input_shape, n_classes=data.n_classes)
    mod, device = _module("landscape"), resolve_device(None, batched=True)
    hspec = HessianSpec(grid=_get(p, "ls_hgrid", HessianSpec.grid, int))
    return {"landscapes": mod.pair_landscapes(spec, tspec, lspec, device=device),
            "hessian": mod.pair_hessian(spec, tspec, lspec, hspec, device=device)}


def orderings(p: Params) -> object:
    """As the home page: the five orderings over the default seeds."""
    mod = _module("orderings")
    return mod.run(mod.DEFAULT_NET, mod.DEFAULT_TRAIN, mod.DEFAULT_SEEDS)


def highway(p: Params) -> str:
    return "the highway page trains live in the browser: nothing to store"


JOBS: dict[str, Callable[[Params], object]] = {
    "degradation": degradation, "identity": identity, "lesion": lesion, "paths": paths,
    "readout": readout, "landscape": landscape, "orderings": orderings, "highway": highway}


def _home_jobs() -> list[tuple[str, Callable[[], object]]]:
    from resviz import story

    return [("home/story", story.story_run), ("home/identity", functools.partial(identity, {})),
            ("home/resnet_family", story.resnet_family),
            ("home/orderings", functools.partial(orderings, {}))]


def jobs(only: list[str] | None = None, home: bool = True) -> list[tuple[str, Callable[[], object] | str]]:
    """(label, callable or the reason to skip) for every preset job, in order. The callables
    are picklable (module-level functions and partials), so they can run as engine jobs."""
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
                out.append((label, functools.partial(job, preset.query)))
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--only", action="append", default=None, metavar="PRESET",
                   help="only this preset key (repeatable): " + ", ".join(x.key for x in PRESETS))
    p.add_argument("--no-home", action="store_true", help="skip the home page's story figures")
    p.add_argument("--dry-run", action="store_true", help="list what would run, run nothing")
    p.add_argument("--serial", action="store_true",
                   help="run the jobs one after another in this process (default: as engine jobs "
                        "side by side, on every core here or over a Ray cluster with RAY_ADDRESS)")


def main(args: argparse.Namespace) -> dict:
    if args.only and set(args.only) - {p.key for p in PRESETS}:
        raise ValueError(f"unknown preset {', '.join(sorted(set(args.only) - {p.key for p in PRESETS}))}")
    where = store.describe()  # StoreConfigError (a ValueError: exit 2) before any work
    if where["store"] is None and not args.dry_run:
        raise ValueError("the results store is off ($RESVIZ_NO_STORE, or it cannot be opened): "
                         "precomputed results would not be kept")
    everything = jobs(args.only, home=not args.no_home)
    runnable = [i for i, (_label, job) in enumerate(everything)
                if not isinstance(job, str) and not args.dry_run]
    if getattr(args, "serial", False) or len(runnable) < 2:
        outcomes = ((j, invoke(everything[i][1])) for j, i in enumerate(runnable))
    else:
        from resviz.engine import jobs as engine_jobs

        outcomes = engine_jobs.fan_out(invoke, [((everything[i][1],), {}) for i in runnable],
                                       return_errors=True)
    for i in runnable:
        print(f"run  {everything[i][0]} ...", file=sys.stderr, flush=True)
    results = {runnable[j]: outcome for j, outcome in outcomes}
    done, skipped, failed = [], [], []
    for i, (label, job) in enumerate(everything):  # reported in the presets' order
        if isinstance(job, str):
            outcome: object = ("skipped", job)
        elif args.dry_run:
            outcome = ("done", 0.0)
        else:
            outcome = results[i]
        if isinstance(outcome, BaseException):  # could not be sent, or its worker died
            outcome = ("failed", f"{type(outcome).__name__}: {outcome}")
        status, detail = outcome  # type: ignore[misc]
        if status == "done":
            done.append({"job": label, "seconds": detail})
        else:
            (skipped if status == "skipped" else failed).append({"job": label, "reason": detail})
    for s in skipped:
        print(f"skip {s['job']}: {s['reason']}", file=sys.stderr)
    for s in failed:
        print(f"FAIL {s['job']}: {s['reason']}", file=sys.stderr)
    return {**where, "done": done, "skipped": skipped, "failed": failed}


def invoke(job: Callable[[], object]) -> tuple[str, object]:
    """Run one job: ("done", seconds), ("skipped", why) or ("failed", "Error: message").
    Never raises, so one broken experiment does not stop the rest of the class prep."""
    t0 = time.perf_counter()
    try:
        value = job()
    except Exception as e:  # noqa: BLE001 - reported, and the command exits 1
        return "failed", f"{type(e).__name__}: {e}"
    if isinstance(value, str):  # the job says why there is nothing to store
        return "skipped", value
    return "done", round(time.perf_counter() - t0, 2)


def exit_code(result: dict) -> int:
    """1 when any job failed, so a class-prep script (or CI) notices."""
    return 1 if isinstance(result, dict) and result.get("failed") else 0
