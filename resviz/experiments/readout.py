"""The residual stream read block by block: the trained head applied after every block (logit lens).

A residual and a plain net of the same depth train in lockstep on the same batches; then, for
each, the head reads every block's output x_i: test accuracy after each block, the decision
boundary after each block (2-D data), and beside them what each block does (update ratio,
cos(y_i − x_i, −∂L/∂x_i), deletion cost). Default: two spirals, 12 blocks, 300 steps, where the
plain net learns the task too (0.91–0.93 test accuracy, seeds 0–1, measured), so its readouts
are those of a net that works.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from resviz import store
from resviz.cli_args import count
from resviz.data import load
from resviz.experiments.train_cmd import add_network_arguments, add_training_arguments, specs_from_args
from resviz.i18n import _
from resviz.models import ResVizNet, build
from resviz.probes.dynamic_depth import ACTIVE_COST, active_count, block_updates
from resviz.probes.lesion import deletion_cost
from resviz.probes.readout import bounds_of, readout_accuracy, readout_maps
from resviz.spec import NetworkSpec, TrainSpec
from resviz.train import Trainer, evaluate

COMMAND = "readout"
Progress = Callable[[float, str], None] | None
DEPTH, STEPS, DATASET = 12, 300, "spirals"
RESOLUTION = 40  # grid points per side of each small boundary map
NETS = ("residual", "plain")


def read(model: ResVizNet, x, y, bounds: list[float] | None, resolution: int = RESOLUTION) -> dict:
    """Everything the page shows about one trained net, as plain data."""
    costs = deletion_cost(model, x, y)
    out = {"accuracy": evaluate(model, x, y)[1], "readout": readout_accuracy(model, x, y),
           **block_updates(model, x, y), "deletion_cost": costs,
           "active_blocks": active_count(costs, ACTIVE_COST)}
    if bounds is not None:
        out["maps"] = readout_maps(model, bounds, resolution)
    return out


def run(spec: NetworkSpec, tspec: TrainSpec, resolution: int = RESOLUTION, progress: Progress = None) -> dict:
    """Train residual + plain in lockstep and read each block by block on the test set."""
    data = load(tspec.dataset, tspec.n_samples, tspec.noise, tspec.data_seed)
    spec = spec.replace(family="residual", skips=None, input_shape=data.input_shape, n_classes=data.n_classes)
    models = {"residual": build(spec), "plain": build(spec.replace(family="plain"))}
    trainer = Trainer(models, data, tspec)
    for i, _rec in enumerate(trainer.run()):
        if progress is not None and (i + 1) % 10 == 0:
            progress(0.9 * (i + 1) / max(1, tspec.steps), _("training residual and plain"))
    if progress is not None:
        progress(0.9, _("reading every block"))
    two_d = data.input_shape == (2,)
    bounds = bounds_of(data.x_train) if two_d else None
    out: dict = {"spec": spec.to_dict(), "train": tspec.to_dict(), "depth": spec.depth,
                 "chance": float(data.y_test.bincount().max() / len(data.y_test)),
                 "active_threshold": ACTIVE_COST, "bounds": bounds}
    if two_d:
        out["points"] = {"x": data.x_test[:300].tolist(), "y": data.y_test[:300].tolist()}
    for name, model in models.items():
        out[name] = read(model, data.x_test, data.y_test, bounds, resolution)
    return out


def stored(spec: NetworkSpec, tspec: TrainSpec, resolution: int = RESOLUTION) -> dict | None:
    """The stored result of `cached_run` for these settings, or None (computes nothing)."""
    return store.get("readout", spec, tspec, resolution)


def cached_run(spec: NetworkSpec, tspec: TrainSpec, resolution: int = RESOLUTION,
               progress: Progress = None) -> dict:
    """`run`, computed once per setting and kept in the bounded disk store."""
    return store.get_or_compute("readout", (spec, tspec, resolution),
                                lambda: run(spec, tspec, resolution, progress))


def default_specs(depth: int = DEPTH, steps: int = STEPS, dataset: str = DATASET,
                  seed: int = 0) -> tuple[NetworkSpec, TrainSpec]:
    """The page's default nets (also what `precompute` stores)."""
    return (NetworkSpec(depth=depth, width=32, seed=seed),
            TrainSpec(dataset=dataset, steps=steps, seed=seed, eval_every=50))


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_network_arguments(p, depth=DEPTH)
    add_training_arguments(p, steps=STEPS)
    p.set_defaults(dataset=DATASET)
    p.add_argument("--maps", action="store_true", help="include the boundary maps after every block")
    p.add_argument("--resolution", type=count(4, 200), default=RESOLUTION,
                   help="grid points per side of each map (4..200)")


def main(args: argparse.Namespace) -> dict:
    spec, tspec = specs_from_args(args)
    if not 4 <= args.resolution <= 200:
        raise ValueError("--resolution must be between 4 and 200")
    res = run(spec, tspec, args.resolution)
    if not args.maps:
        for name in NETS:
            res[name].pop("maps", None)
        res.pop("points", None)
    return res
