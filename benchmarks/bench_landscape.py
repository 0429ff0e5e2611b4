"""Benchmark: a 31x31 loss landscape of a 20-block width-32 MLP on 1,000 points.

Compares, in the same run and on the same directions, the evaluators of
resviz.probes.landscape against a plain loop that sets every parameter per grid point:

  plain loop   for each point: p.copy_(theta + a d1 + b d2) for every parameter, forward
  flat loop    method="loop": moving weights are views of one flat buffer (2 ops per point)
  vmap         method="vmap": torch.func.functional_call + vmap over chunks of grid points

Timings are the best of --repeats (variants interleaved, so a busy machine hurts all alike);
CPU seconds are reported too because wall time on a shared box includes waiting.

    .venv/bin/python benchmarks/bench_landscape.py [--threads 1] [--device cpu|cuda] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, no install

from resviz.data import load  # noqa: E402
from resviz.models import build  # noqa: E402
from resviz.probes import landscape as ls  # noqa: E402
from resviz.spec import NetworkSpec  # noqa: E402


@torch.no_grad()
def plain_loop(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, d1: ls.Tensors,
               d2: ls.Tensors, axis: np.ndarray) -> np.ndarray:
    """The obvious baseline: rewrite every parameter, then one forward, per grid point."""
    model.eval()
    theta = {k: v.clone() for k, v in model.named_parameters()}
    out = np.empty((len(axis), len(axis)))
    for i, b in enumerate(axis):
        for j, a in enumerate(axis):
            for k, p in model.named_parameters():
                p.copy_(theta[k] + float(a) * d1[k] + float(b) * d2[k])
            out[i, j] = torch.nn.functional.cross_entropy(model(x), y).item()
    for k, p in model.named_parameters():
        p.copy_(theta[k])
    return out


def timed(fn: Callable[[], np.ndarray]) -> tuple[float, float, np.ndarray]:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    w, c = time.perf_counter(), time.process_time()
    z = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - w, time.process_time() - c, z


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--grid", type=int, default=31)
    p.add_argument("--depth", type=int, default=20)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--points", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--chunks", default="4,32", help="vmap chunk sizes to try (comma separated)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    data = load("spirals", args.points)
    x = torch.cat([data.x_train, data.x_test]).to(dev)
    y = torch.cat([data.y_train, data.y_test]).to(dev)
    model = build(NetworkSpec(depth=args.depth, width=args.width)).to(dev).eval()
    d1, d2 = ls.directions(model, seed=0)
    d1, d2 = {k: v.to(dev) for k, v in d1.items()}, {k: v.to(dev) for k, v in d2.items()}
    axis = np.linspace(-1, 1, args.grid)
    variants: dict[str, Callable[[], np.ndarray]] = {
        "plain loop": lambda: plain_loop(model, x, y, d1, d2, axis),
        "flat loop": lambda: ls.grid_losses(model, x, y, d1, d2, axis, method="loop"),
    }
    auto = ls.auto_chunk(model, x)
    for c in sorted({int(s) for s in args.chunks.split(",") if s} | {auto}):
        variants[f"vmap chunk {c}"] = (lambda c=c: ls.grid_losses(model, x, y, d1, d2, axis,
                                                                   method="vmap", chunk=c))
    for method in ("loop", "vmap"):  # first calls pay one-off set-up costs: not timed
        ls.grid_losses(model, x, y, d1, d2, axis[:2], method=method, chunk=2)
    best: dict[str, tuple[float, float]] = {}
    ref = None
    for _ in range(args.repeats):
        for name, fn in variants.items():
            wall, cpu, z = timed(fn)
            ref = z if ref is None else ref
            assert np.allclose(z, ref, rtol=1e-3), f"{name} disagrees with the plain loop"
            old = best.get(name, (np.inf, np.inf))
            best[name] = (min(old[0], wall), min(old[1], cpu))
    base = best["plain loop"][0]
    rows = {k: {"wall_s": w, "cpu_s": c, "speedup_vs_plain_loop": base / w}
            for k, (w, c) in best.items()}
    result = {"grid": f"{args.grid}x{args.grid}", "points": len(y), "depth": args.depth,
              "width": args.width, "threads": args.threads, "device": str(dev),
              "auto_method": ls.resolve_method("auto", dev), "auto_chunk": auto,
              "torch": torch.__version__, "results": rows}
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(f"{result['grid']} landscape, {args.depth} blocks x width {args.width}, {len(y)} points,"
          f" {args.threads} thread(s), {dev} (best of {args.repeats})")
    for k, r in rows.items():
        print(f"  {k:16s} {r['wall_s']:7.2f} s wall  {r['cpu_s']:7.2f} s CPU  "
              f"x{r['speedup_vs_plain_loop']:.2f} vs plain loop")


if __name__ == "__main__":
    main()
