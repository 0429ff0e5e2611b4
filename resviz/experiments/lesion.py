"""Lesion study: delete one block, k blocks, or shuffle blocks; residual vs plain vs stochastic depth.

A residual and a plain net of the same depth train in lockstep on the same batches
(and, optionally, the residual net again with stochastic depth). Each is then lesioned
on the test set. The default data set is two moons, where a plain net of moderate depth
still trains: a plain net at chance has nothing left to lose, which would hide the point.
The default depth (12 blocks, 300 steps) is one where the plain net reaches 100% test accuracy
on seeds 0-2 (measured), so its collapse after one deletion means something.

Random k-deletions spare the first block by default: it remaps the stem's features, the part
Veit et al.'s downsampling blocks play (which they leave out of random deletions), and its
deletion is reported apart. 30 draws per k give a mean and a 10-90% band.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch

from resviz import store
from resviz.cli_args import DRAWS as DRAWS_ARG
from resviz.cli_args import MAX_DRAWS, real
from resviz.data import load
from resviz.experiments.train_cmd import add_network_arguments, add_training_arguments, specs_from_args
from resviz.i18n import _
from resviz.models import ResVizNet, build
from resviz.probes.lesion import DRAWS, band, delete_each, delete_k, reorder
from resviz.spec import NetworkSpec, TrainSpec
from resviz.train import Trainer, evaluate

COMMAND = "lesion"
Progress = Callable[[float, str], None] | None
DEPTH, STEPS = 12, 300  # the page's and the CLI's default: the plain net learns moons here
LEARNED = 0.9  # below this test accuracy the plain baseline has not learned the task


def swap_counts(n: int) -> list[int]:
    """Numbers of swapped pairs to try: 0, 1, 2, ... up to n, about a dozen values."""
    step = max(1, n // 10)
    return sorted({0, 1, 2, *range(step, n + 1, step)})


def study(model: ResVizNet, x: torch.Tensor, y: torch.Tensor, draws: int = DRAWS, seed: int = 0,
          spare_first: bool = True) -> dict:
    """Every lesion of one trained model, as plain data.

    `delete_k[k]` holds every draw's accuracy, `delete_k_band[k]` their mean and 10-90% band;
    with `spare_first` k runs to n - 1 and block 1 is never drawn (its own deletion is
    `first_block`, and `delete_each[0]`), and block 1 also keeps its place when blocks are swapped.
    """
    n = len(model.blocks)
    spare = 1 if spare_first and n > 1 else 0
    k_acc = delete_k(model, x, y, range(n - spare + 1), draws, seed, spare)
    each = delete_each(model, x, y)
    rest = each[spare:] or each
    return {
        "accuracy": evaluate(model, x, y)[1],
        "chance": float(torch.bincount(y).max() / len(y)),
        "skips": model.skips,
        "active": [b.active for b in model.blocks],
        "spare_first": bool(spare),
        "draws": draws,
        "delete_each": each,
        "first_block": each[0],
        "mean_single_deletion": sum(rest) / len(rest),
        "delete_k": {str(k): v for k, v in k_acc.items()},
        "delete_k_band": {str(k): band(v) for k, v in k_acc.items()},
        "reorder": reorder(model, x, y, swap_counts(n), draws, seed, spare),
    }


def run(spec: NetworkSpec, tspec: TrainSpec, draws: int = DRAWS, stochastic_depth: float | None = 0.5,
        progress: Progress = None, spare_first: bool = True) -> dict:
    """Train residual + plain (+ residual with stochastic depth) and lesion each."""
    data = load(tspec.dataset, tspec.n_samples, tspec.noise, tspec.data_seed)
    spec = spec.replace(family="residual", skips=None)
    models = {"residual": build(spec), "plain": build(spec.replace(family="plain"))}
    jobs = [(Trainer(models, data, tspec), _("training residual and plain"))]
    if stochastic_depth is not None:
        models["sd"] = build(spec)
        jobs.append((Trainer({"sd": models["sd"]}, data, tspec.replace(stochastic_depth=stochastic_depth)),
                     _("training with stochastic depth")))
    total = tspec.steps * len(jobs)
    done = 0
    for trainer, text in jobs:
        for _rec in trainer.run():
            done += 1
            if progress is not None and done % 10 == 0:
                progress(0.9 * done / max(1, total), text)
    out: dict = {"spec": spec.to_dict(), "train": tspec.to_dict(), "sd_p_last": stochastic_depth}
    for i, (name, model) in enumerate(models.items()):
        if progress is not None:
            progress(0.9 + 0.1 * i / len(models), _("lesions"))
        out[name] = study(model, data.x_test, data.y_test, draws, tspec.seed, spare_first)
    out["plain_learned"] = out["plain"]["accuracy"] >= LEARNED
    return out


BAND_SHAPE = {"mean": float, "lo": float, "hi": float}
STUDY_SHAPE = {"accuracy": float, "chance": float, "skips": [bool], "active": [bool],
               "spare_first": bool, "draws": int, "delete_each": [float], "first_block": float,
               "mean_single_deletion": float, "delete_k": store.DictOf(str, [float]),
               "delete_k_band": store.DictOf(str, BAND_SHAPE),
               "reorder": [{"swaps": int, "tau": float, "accuracy": float}]}
store.declare("lesion", {"spec": dict, "train": dict, "sd_p_last": store.Maybe(float),
                         "residual": STUDY_SHAPE, "plain": STUDY_SHAPE, "plain_learned": bool})


def cached_run(spec: NetworkSpec, tspec: TrainSpec, draws: int = DRAWS,
               stochastic_depth: float | None = 0.5, progress: Progress = None,
               spare_first: bool = True) -> dict:
    return store.get_or_compute("lesion", (spec, tspec, draws, stochastic_depth, spare_first),
                                lambda: run(spec, tspec, draws, stochastic_depth, progress, spare_first))


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_network_arguments(p, depth=DEPTH)
    add_training_arguments(p, steps=STEPS)
    p.set_defaults(dataset="moons")
    p.add_argument("--draws", type=DRAWS_ARG, default=DRAWS,
                   help=f"random draws per k (mean and 10-90%% band; 1..{MAX_DRAWS})")
    p.add_argument("--include-first", action="store_true",
                   help="let random k-deletions draw the first block too (default: spared, "
                        "reported apart as first_block)")
    p.add_argument("--stochastic-depth", type=real(0.0, 1.0, allow=(-1.0,)), default=0.5, metavar="P_L",
                   help="also train with stochastic depth (last survival probability 0..1); -1 = off")


def main(args: argparse.Namespace) -> dict:
    spec, tspec = specs_from_args(args)
    if args.draws < 1:
        raise ValueError("--draws must be at least 1")
    sd = None if args.stochastic_depth < 0 else args.stochastic_depth
    return run(spec, tspec, args.draws, sd, spare_first=not args.include_first)
