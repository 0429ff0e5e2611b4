"""Batched (stacked-weight) training versus one model after another, in the same process.

    .venv/bin/python benchmarks/bench_batched.py [--models 8] [--depth 16] [--steps 100]

Trains M same-shape nets (half plain, half residual, different seeds) on two-spirals for
the same steps twice: with resviz.train.Trainer one model at a time, and with
resviz.batched.BatchedTrainer all at once. Prints steps/s of both and the speed-up.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from resviz.batched import BatchedTrainer  # noqa: E402
from resviz.data import load  # noqa: E402
from resviz.device import resolve_device  # noqa: E402
from resviz.models import build  # noqa: E402
from resviz.spec import NetworkSpec, TrainSpec  # noqa: E402
from resviz.train import Trainer  # noqa: E402


def specs(m: int, depth: int, width: int) -> dict[str, NetworkSpec]:
    fams = ("plain", "residual")
    return {f"{fams[i % 2]}-{i // 2}": NetworkSpec(family=fams[i % 2], depth=depth,
                                                    width=width, seed=i // 2)
            for i in range(m)}


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--models", type=int, default=8)
    p.add_argument("--depth", type=int, default=16)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    dev = resolve_device(a.device, batched=True)
    data = load("spirals", 1000, 0.1, 0)
    tspec = TrainSpec(steps=a.steps, eval_every=10**6)
    sp = specs(a.models, a.depth, a.width)

    def sequential() -> None:
        for name, s in sp.items():
            for _ in Trainer({name: build(s)}, data, tspec, dev).run():
                pass

    def batched() -> None:
        for _ in BatchedTrainer(sp, data, tspec, dev).run():
            pass

    batched()  # warm-up (allocator, first-call overheads)
    t_seq, t_bat = timed(sequential), timed(batched)
    print(json.dumps({
        "device": str(dev), "models": a.models, "depth": a.depth, "width": a.width,
        "steps": a.steps, "sequential_s": round(t_seq, 2), "batched_s": round(t_bat, 2),
        "sequential_model_steps_per_s": round(a.models * a.steps / t_seq, 1),
        "batched_model_steps_per_s": round(a.models * a.steps / t_bat, 1),
        "speedup": round(t_seq / t_bat, 2)}, indent=1))


if __name__ == "__main__":
    main()
