"""Highway vs residual vs plain: train the three side by side and read the highway gates.

Srivastava et al. 2015: with the transform-gate bias initialised negative the highway net
starts close to the identity and trains at depths where the plain net cannot. After
training, the mean gate activity per block and a gate lesion show how much of the
depth the net actually uses.
"""

from __future__ import annotations

import argparse
import time

import torch

from resviz.cli_args import DEPTH, GATE_BIAS, WIDTH
from resviz.data import Dataset, load
from resviz.device import resolve_device
from resviz.experiments.train_cmd import add_training_arguments
from resviz.models import build
from resviz.probes import gates
from resviz.spec import NetworkSpec, TrainSpec
from resviz.train import Trainer

COMMAND = "highway"
FAMILIES = ("plain", "residual", "highway")


def specs(depth: int = 50, width: int = 32, gate_bias: float = -2.0, norm: bool = True,
          data: Dataset | None = None, seed: int = 0) -> dict[str, NetworkSpec]:
    """Plain, residual and highway nets of the same depth and width, same seed."""
    shape = dict(input_shape=data.input_shape, n_classes=data.n_classes) if data else {}
    base = NetworkSpec(family="plain", depth=depth, width=width, norm=norm,
                       gate_bias=gate_bias, seed=seed, **shape)
    return {f: base.replace(family=f) for f in FAMILIES}


def make_trainer(nspecs: dict[str, NetworkSpec], tspec: TrainSpec,
                 device: str | torch.device = "cpu") -> Trainer:
    data = load(tspec.dataset, tspec.n_samples, tspec.noise, tspec.data_seed)
    return Trainer({k: build(s) for k, s in nspecs.items()}, data, tspec, device)


def summary(trainer: Trainer) -> dict:
    """Final metrics of every model, and the highway net's gates and lesion on the test set."""
    x, y = trainer.test_set
    out: dict = {k: trainer.final(k) for k in trainer.states}
    hw = trainer.models.get("highway")
    if hw is not None and trainer.diverged("highway") is None:
        maps = gates.gate_maps(hw, x)
        lesion = gates.lesion_each(hw, x, y)
        out["highway"].update(mean_gate_per_block=maps["mean_per_block"],
                              mean_bias_per_block=[sum(b) / len(b) for b in maps["biases"]],
                              lesion_accuracy_per_block=lesion["per_block"],
                              idle_blocks=[i + 1 for i in lesion["idle"]],
                              all_gates_open_accuracy=gates.openness_sweep(hw, x, y, [1.0])[0])
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--depth", type=DEPTH, default=50)
    p.add_argument("--width", type=WIDTH, default=32)
    p.add_argument("--gate-bias", type=GATE_BIAS, default=-2.0,
                   help="transform-gate bias at init (0 to -4 on the page)")
    p.add_argument("--no-norm", action="store_true", help="no batch normalisation")
    add_training_arguments(p, steps=400)


def main(args: argparse.Namespace) -> dict:
    tspec = TrainSpec(dataset=args.dataset, n_samples=args.samples, noise=args.noise,
                      steps=args.steps, lr=args.lr, optimizer=args.optimizer,
                      batch_size=args.batch_size, seed=args.seed, eval_every=max(1, args.steps))
    data = load(tspec.dataset, tspec.n_samples, tspec.noise, tspec.data_seed)
    nspecs = specs(args.depth, args.width, args.gate_bias, not args.no_norm, data, args.seed)
    trainer = make_trainer(nspecs, tspec, resolve_device(args.device))
    t0 = time.perf_counter()
    for _ in trainer.run():
        pass
    return {"depth": args.depth, "width": args.width, "gate_bias": args.gate_bias,
            "dataset": tspec.dataset, "steps_done": trainer.step_count,
            "seconds": time.perf_counter() - t0, "models": summary(trainer)}
