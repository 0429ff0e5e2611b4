"""Train one network (or a plain/residual pair) and report its curve and final metrics."""

from __future__ import annotations

import argparse
import time

from resviz.data import DATASETS, load
from resviz.device import resolve_device
from resviz.models import build
from resviz.spec import ACTIVATIONS, FAMILIES, ORDERINGS, NetworkSpec, TrainSpec
from resviz.train import Trainer

COMMAND = "train"


def add_network_arguments(p: argparse.ArgumentParser, depth: int = 20) -> None:
    """Flags shared by every command that builds a network."""
    p.add_argument("--family", choices=FAMILIES, default="residual")
    p.add_argument("--ordering", choices=ORDERINGS, default="original")
    p.add_argument("--depth", type=int, default=depth)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--no-norm", action="store_true", help="no batch normalisation")
    p.add_argument("--activation", choices=ACTIVATIONS, default="relu")
    p.add_argument("--gate-bias", type=float, default=-2.0)


def add_training_arguments(p: argparse.ArgumentParser, steps: int = 300) -> None:
    p.add_argument("--dataset", choices=DATASETS, default="spirals")
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--noise", type=float, default=0.1)
    p.add_argument("--steps", type=int, default=steps)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cpu, cuda or auto (env RESVIZ_DEVICE)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_network_arguments(p)
    add_training_arguments(p)
    p.add_argument("--save", default=None, help="write the trained weights (.safetensors)")


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
