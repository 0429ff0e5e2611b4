"""Paths analysis and single-block lesion at n = 54: the fast methods against the naive ones.

    .venv/bin/python benchmarks/bench_paths.py [--depth 54] [--samples 100] [--naive-samples 100]

Paths: Veit's masked backward for every path length k = 0..n, `samples` random masks per k,
gradient averaged over `batch` test points. Fast = one forward pass and batched per-block VJPs
(resviz.probes.paths.path_gradients); naive = one full forward + backward per sample
(path_gradients_naive), on the same masks, so the numbers must agree.
Lesion: test accuracy with each block deleted. Fast = gated, all deletions in one batched pass
(delete_each); naive = deep-copy the net without the block and evaluate it (delete_each_naive).
One torch thread. Denormals are flushed for the naive run (long paths' gradients fall below
float32's normal range and would slow it further); the fast method rescales and needs no flush.
The flush also perturbs those naive values, so agreement is checked on a separate unflushed run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, no install

from resviz.data import load  # noqa: E402
from resviz.models import build  # noqa: E402
from resviz.probes import lesion, paths  # noqa: E402
from resviz.spec import NetworkSpec, TrainSpec  # noqa: E402
from resviz.train import Trainer  # noqa: E402

NORMAL_FLOOR = 1e-30  # compare only where the naive float32 gradient is far above underflow


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--depth", type=int, default=54)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--samples", type=int, default=100, help="masks per path length")
    p.add_argument("--naive-samples", type=int, default=None, help="default: same as --samples")
    p.add_argument("--batch", type=int, default=64, help="test points the gradient averages over")
    p.add_argument("--steps", type=int, default=100, help="training steps before measuring")
    args = p.parse_args()
    torch.set_num_threads(1)
    data = load("spirals", 1000, 0.1, 0)
    net = build(NetworkSpec(depth=args.depth, width=args.width))
    trainer = Trainer({"net": net}, data, TrainSpec(steps=args.steps))
    _, t_train = timed(lambda: [r for r in trainer.run()])
    x, y = data.x_test[:args.batch], data.y_test[:args.batch]
    ns = args.naive_samples or args.samples

    fast, t_fast = timed(lambda: paths.path_gradients(net, x, y, samples=args.samples, seed=0))
    torch.set_flush_denormal(True)
    naive, t_naive = timed(lambda: paths.path_gradients_naive(net, x, y, samples=ns, seed=0))
    torch.set_flush_denormal(False)
    # Agreement, checked without the flush (which itself perturbs long naive paths): a few
    # masks per k for every 6th k, same seed so the first masks are the same as the fast run's.
    ks = list(range(0, args.depth + 1, 6))
    check_fast = paths.path_gradients(net, x, y, samples=3, seed=0, ks=ks)
    check_naive = paths.path_gradients_naive(net, x, y, samples=3, seed=0, ks=ks)
    agree = max(abs(a - float(np.mean(b))) / float(np.mean(b))
                for a, b in zip(check_fast.mean, check_naive) if np.mean(b) > NORMAL_FLOOR)
    band = paths.effective_band(fast.ks, fast.contribution)

    xt, yt = data.x_test, data.y_test
    les_fast, t_les_fast = timed(lambda: lesion.delete_each(net, xt, yt))
    les_naive, t_les_naive = timed(lambda: lesion.delete_each_naive(net, xt, yt))

    n_fast = args.samples * (args.depth + 1)
    n_naive = ns * (args.depth + 1)
    print(json.dumps({
        "depth": args.depth, "width": args.width, "batch": args.batch, "train_seconds": t_train,
        "paths": {"samples_per_k": args.samples, "fast_seconds": t_fast,
                  "naive_samples_per_k": ns, "naive_seconds": t_naive,
                  "naive_seconds_per_sample": t_naive / n_naive,
                  "speedup_per_sample": (t_naive / n_naive) / (t_fast / n_fast),
                  "max_rel_diff_fast_vs_naive": agree,
                  "agreement_ks": ks,
                  "band": band.__dict__},
        "lesion": {"fast_seconds": t_les_fast, "naive_seconds": t_les_naive,
                   "speedup": t_les_naive / t_les_fast,
                   "same_accuracies": bool(np.allclose(les_fast, les_naive))},
        "threads": torch.get_num_threads(), "load_average": os.getloadavg(),
    }, indent=1))


if __name__ == "__main__":
    main()
