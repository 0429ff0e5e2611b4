"""Train one network (or a plain/residual pair) and report its curve and final metrics."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from resviz.cli_args import BATCH_SIZE, DEPTH, DEVICE, GATE_BIAS, LR, NOISE, SAMPLES, SEED, STEPS, WIDTH
from resviz.data import DATASETS, load
from resviz.device import resolve_device
from resviz.models import build
from resviz.spec import (
    ACTIVATIONS,
    FAMILIES,
    MAX_BATCH,
    MAX_DEPTH,
    MAX_SAMPLES,
    MAX_STEPS,
    MAX_WIDTH,
    MIN_SAMPLES,
    OPTIMIZERS,
    ORDERINGS,
    NetworkSpec,
    TrainSpec,
)
from resviz.train import Trainer

COMMAND = "train"


def add_network_arguments(p: argparse.ArgumentParser, depth: int = 20) -> None:
    """Flags shared by every command that builds a network."""
    p.add_argument("--family", choices=FAMILIES, default="residual")
    p.add_argument("--ordering", choices=ORDERINGS, default="original")
    p.add_argument("--depth", type=DEPTH, default=depth, help=f"blocks (1..{MAX_DEPTH})")
    p.add_argument("--width", type=WIDTH, default=32, help=f"features per layer (1..{MAX_WIDTH})")
    p.add_argument("--no-norm", action="store_true", help="no batch normalisation")
    p.add_argument("--activation", choices=ACTIVATIONS, default="relu")
    p.add_argument("--gate-bias", type=GATE_BIAS, default=-2.0, help="-10..10")


def add_training_arguments(p: argparse.ArgumentParser, steps: int = 300) -> None:
    p.add_argument("--dataset", choices=DATASETS, default="spirals")
    p.add_argument("--samples", type=SAMPLES, default=1000,
                   help=f"data set size ({MIN_SAMPLES}..{MAX_SAMPLES})")
    p.add_argument("--noise", type=NOISE, default=0.1, help="toy data noise (0..10)")
    p.add_argument("--steps", type=STEPS, default=steps, help=f"0..{MAX_STEPS}")
    p.add_argument("--lr", type=LR, default=0.01, help="learning rate (0, 1e6]")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    p.add_argument("--batch-size", type=BATCH_SIZE, default=128,
                   help=f"1..{MAX_BATCH} (at least 2 with batch normalisation)")
    p.add_argument("--seed", type=SEED, default=0, help="0 <= seed < 2**63")
    p.add_argument("--device", type=DEVICE, default=None, help="cpu, cuda or auto (env RESVIZ_DEVICE)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_network_arguments(p)
    add_training_arguments(p)
    p.add_argument("--save", type=writable_file, default=None,
                   help="write the trained weights (.safetensors); its folder must exist")


def writable_file(text: str) -> str:
    """An argparse type: a file path whose folder exists and is writable, checked before training
    (a run is not lost to a typo in --save)."""
    path = Path(text)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name")
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"folder {folder} is not writable")
    return text


def specs_from_args(args: argparse.Namespace) -> tuple[NetworkSpec, TrainSpec]:
    tspec = TrainSpec(dataset=args.dataset, n_samples=args.samples, noise=args.noise,
                      steps=args.steps, lr=args.lr, optimizer=args.optimizer,
                      batch_size=args.batch_size, seed=args.seed)
    data = load(tspec.dataset, tspec.n_samples, tspec.noise, tspec.data_seed)
    spec = NetworkSpec(family=args.family, ordering=args.ordering, depth=args.depth,
                       width=args.width, norm=not args.no_norm, activation=args.activation,
                       gate_bias=args.gate_bias, seed=args.seed, input_shape=data.input_shape,
                       n_classes=data.n_classes)
    return spec, tspec


def main(args: argparse.Namespace) -> dict:
    spec, tspec = specs_from_args(args)
    data = load(tspec.dataset, tspec.n_samples, tspec.noise, tspec.data_seed)
    model = build(spec)
    trainer = Trainer({"model": model}, data, tspec, resolve_device(args.device))
    t0 = time.perf_counter()
    for _ in trainer.run():
        pass
    wall = time.perf_counter() - t0
    if args.save:
        from resviz.weights import save

        save(model, spec, args.save)
    recs = trainer.history("model")
    return {
        "spec": spec.to_dict(), "train": tspec.to_dict(), **trainer.final("model"),
        "steps_done": trainer.step_count, "seconds": wall,
        "loss_curve": [r.loss for r in recs],
        "grad_norms_last": recs[-1].grad_norms if recs else [],
    }
