"""Depth is time: vanilla RNN, LSTM and residual RNN on a memory task over T steps.

Reports the gradient norm of the loss w.r.t. the hidden state at every time step (at
init and after training) and the final accuracy of each net, plus the per-block
hidden-state gradient norms of an untrained plain and residual deep net with T weight
layers (T/2 blocks):
the same vanishing across time as across depth.
"""

from __future__ import annotations

import argparse
import time

from resviz.cli_args import BATCH_SIZE, DEVICE, LR, SEED, STEPS, count, real
from resviz.device import resolve_device
from resviz.sequence import (
    DEFAULTS,
    KIND_LABELS,
    MAX_LENGTH,
    TASK,
    depth_profile,
    make_trainer,
    matching_depth,
    state_grad_norms,
    trio,
)
from resviz.spec import MAX_SAMPLES, TrainSpec

COMMAND = "sequence"
PROBE_BATCH = 256


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = DEFAULTS
    p.add_argument("--length", type=count(2, MAX_LENGTH), default=d.length,
                   help=f"sequence length T (2..{MAX_LENGTH})")
    p.add_argument("--hidden", type=count(1, 512), default=d.hidden, help="1..512")
    p.add_argument("--symbols", type=count(2, 64), default=d.n_symbols,
                   help="symbols to remember (chance = 1/n; 2..64)")
    p.add_argument("--forget-bias", type=real(-10.0, 10.0), default=d.forget_bias,
                   help="LSTM forget-gate bias at init (-10..10)")
    p.add_argument("--samples", type=count(10, MAX_SAMPLES), default=d.n_samples)
    p.add_argument("--steps", type=STEPS, default=d.steps)
    p.add_argument("--lr", type=LR, default=d.lr)
    p.add_argument("--clip-norm", type=real(0.0, 1e6, lo_open=True, allow=(0.0,)),
                   default=d.clip_norm, help="largest gradient norm per net (0 = no clipping)")
    p.add_argument("--batch-size", type=BATCH_SIZE, default=d.batch_size)
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--device", type=DEVICE, default=None, help="cpu, cuda or auto (env RESVIZ_DEVICE)")


def train_spec(steps: int = DEFAULTS.steps, lr: float = DEFAULTS.lr,
               batch_size: int = DEFAULTS.batch_size, n_samples: int = DEFAULTS.n_samples,
               seed: int = 0, clip_norm: float | None = DEFAULTS.clip_norm) -> TrainSpec:
    """The task's training settings; `clip_norm` 0 or None trains unclipped."""
    return TrainSpec(dataset=TASK, n_samples=n_samples, steps=steps, lr=lr,
                     batch_size=batch_size, seed=seed, data_seed=seed, eval_every=max(1, steps),
                     clip_norm=clip_norm or None)


def main(args: argparse.Namespace) -> dict:
    specs = trio(args.length, args.hidden, args.symbols, args.forget_bias, args.seed)
    tspec = train_spec(args.steps, args.lr, args.batch_size, args.samples, args.seed,
                       args.clip_norm)
    trainer = make_trainer(specs, tspec, resolve_device(args.device))
    xte, yte = trainer.test_set
    x = xte[:PROBE_BATCH]
    y = yte[:PROBE_BATCH]
    init = {k: state_grad_norms(m, x, y) for k, m in trainer.models.items()}
    t0 = time.perf_counter()
    for _ in trainer.run():
        pass
    models = {}
    for k, m in trainer.models.items():
        final = trainer.final(k)
        models[k] = {"label": KIND_LABELS[k], "test_acc": final["test_acc"],
                     "train_acc": final["train_acc"], "diverged_at": final["diverged_at"],
                     "grad_norms": state_grad_norms(m, x, y), "grad_norms_init": init[k]}
    return {"length": args.length, "hidden": args.hidden, "symbols": args.symbols,
            "chance": 1 / args.symbols, "steps_done": trainer.step_count,
            "seconds": time.perf_counter() - t0, "models": models,
            "depth_grad_norms_init": depth_profile(matching_depth(args.length), args.hidden, args.seed)}
