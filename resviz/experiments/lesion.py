"""Lesion study: delete one block, k blocks, or shuffle blocks; residual vs plain vs stochastic depth.

A residual and a plain net of the same depth train in lockstep on the same batches
(and, optionally, the residual net again with stochastic depth). Each is then lesioned
on the test set. The default data set is two moons, where a plain net of moderate depth
still trains: a plain net at chance has nothing left to lose, which would hide the point.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch

from resviz import store
from resviz.cli_args import DRAWS, MAX_DRAWS, real
from resviz.data import load
from resviz.experiments.train_cmd import add_network_arguments, add_training_arguments, specs_from_args
from resviz.i18n import _
from resviz.models import ResVizNet, build
from resviz.probes.lesion import delete_each, delete_k, reorder
from resviz.spec import NetworkSpec, TrainSpec
from resviz.train import Trainer, evaluate

COMMAND = "lesion"
Progress = Callable[[float, str], None] | None


def swap_counts(n: int) -> list[int]:
    """Numbers of swapped pairs to try: 0, 1, 2, ... up to n, about a dozen values."""
    step = max(1, n // 10)
    return sorted({0, 1, 2, *range(step, n + 1, step)})


def study(model: ResVizNet, x: torch.Tensor, y: torch.Tensor, draws: int = 5, seed: int = 0) -> dict:
    """Every lesion of one trained model, as plain data."""
    n = len(model.blocks)
    k_acc = delete_k(model, x, y, range(n + 1), draws, seed)
    return {
        "accuracy": evaluate(model, x, y)[1],
        "skips": model.skips,
        "active": [b.active for b in model.blocks],
        "delete_each": delete_each(model, x, y),
        "delete_k": {str(k): v for k, v in k_acc.items()},
        "reorder": reorder(model, x, y, swap_counts(n), draws, seed),
    }


def run(spec: NetworkSpec, tspec: TrainSpec, draws: int = 5, stochastic_depth: float | None = 0.5,
        progress: Progress = None) -> dict:
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
        out[name] = study(model, data.x_test, data.y_test, draws, tspec.seed)
    return out


def cached_run(spec: NetworkSpec, tspec: TrainSpec, draws: int = 5,
               stochastic_depth: float | None = 0.5, progress: Progress = None) -> dict:
    return store.get_or_compute("lesion", (spec, tspec, draws, stochastic_depth),
                                lambda: run(spec, tspec, draws, stochastic_depth, progress))


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_network_arguments(p, depth=24)
    add_training_arguments(p, steps=400)
    p.set_defaults(dataset="moons")
    p.add_argument("--draws", type=DRAWS, default=5, help=f"random draws per k (1..{MAX_DRAWS})")
    p.add_argument("--stochastic-depth", type=real(0.0, 1.0, allow=(-1.0,)), default=0.5, metavar="P_L",
                   help="also train with stochastic depth (last survival probability 0..1); -1 = off")


def main(args: argparse.Namespace) -> dict:
    spec, tspec = specs_from_args(args)
    sd = None if args.stochastic_depth < 0 else args.stochastic_depth
    res = run(spec, tspec, args.draws, sd)
    for name in ("residual", "plain", "sd"):
        if name in res:
            d = res[name]["delete_each"]
            res[name]["mean_single_deletion"] = sum(d) / len(d)
    return res
