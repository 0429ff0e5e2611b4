"""Trainer overhead against a bare PyTorch loop, same model, same batches, same run.

The trainer records loss, per-block gradient norms and wall time every step and evaluates
every `eval_every` steps; this measures what that bookkeeping costs. Runs alternate
(bare, trainer, bare, ...) so machine noise hits both alike; the median ratio is reported.

    python benchmarks/bench_trainer.py [--depth 20] [--width 32] [--steps 200] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, no install

from resviz.data import load  # noqa: E402
from resviz.models import build  # noqa: E402
from resviz.spec import NetworkSpec, TrainSpec  # noqa: E402
from resviz.train import Trainer, make_optimizer  # noqa: E402


def bare_loop(spec: NetworkSpec, tspec: TrainSpec, data) -> float:
    model = build(spec).train()
    opt = make_optimizer(model, tspec)
    gen = torch.Generator().manual_seed(tspec.seed)
    x, y = data.x_train, data.y_train
    t0 = time.perf_counter()
    for _ in range(tspec.steps):
        idx = torch.randint(0, len(y), (tspec.batch_size,), generator=gen)
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def trainer_loop(spec: NetworkSpec, tspec: TrainSpec, data) -> float:
    tr = Trainer({"m": build(spec)}, data, tspec)
    t0 = time.perf_counter()
    for _ in tr.run():
        pass
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--depth", type=int, default=20)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    data = load("spirals", 1000, 0.1, 0)
    spec = NetworkSpec(depth=a.depth, width=a.width)
    tspec = TrainSpec(steps=a.steps)
    bare, ours = [], []
    trainer_loop(spec, tspec.replace(steps=10), data)  # warm-up
    for _ in range(a.repeats):
        bare.append(bare_loop(spec, tspec, data))
        ours.append(trainer_loop(spec, tspec, data))
    ratios = [o / b for o, b in zip(ours, bare)]
    print(f"model: {a.depth} blocks x width {a.width}, batch {tspec.batch_size}, "
          f"{a.steps} steps, {a.threads} thread(s)")
    print(f"bare loop : {a.steps / statistics.median(bare):7.1f} steps/s")
    print(f"trainer   : {a.steps / statistics.median(ours):7.1f} steps/s "
          f"(eval every {tspec.eval_every} steps)")
    print(f"overhead  : {100 * (statistics.median(ratios) - 1):+.1f}% (median of {a.repeats} paired runs)")


if __name__ == "__main__":
    main()
