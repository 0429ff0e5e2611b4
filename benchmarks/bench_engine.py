"""The live-run engine against a bare PyTorch loop, in the same run.

The default Playground pair (20 blocks x width 32, residual A and plain B, two spirals,
batch 128, 600 steps). Measures, with one torch thread everywhere:

- bare: both models trained by a bare PyTorch loop in this process (same batches):
  pair-steps/s and this process's CPU per pair-step;
- trainer vs stacked: the lockstep Trainer and the BatchedTrainer in this process (the
  measurement behind RunConfig.stacked=None);
- engine: the same pair through resviz.engine's LocalExecutor (warm workers): open -> first
  snapshot, Start -> first update, time of the 600-step run, pair-steps/s wall clock, this
  (calling) process's CPU per pair-step while polling snapshots every 0.1 s as a page does,
  and the workers' CPU per pair-step;
- concurrency: 1, 2, 4 runs started together: total pair-steps/s and the ratio to one run.

    python benchmarks/bench_engine.py [--steps 600] [--concurrent 1,2,4] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, no install

from resviz.batched import BatchedTrainer  # noqa: E402
from resviz.data import load  # noqa: E402
from resviz.engine import RunConfig  # noqa: E402
from resviz.engine.local import LocalExecutor  # noqa: E402
from resviz.models import build  # noqa: E402
from resviz.spec import NetworkSpec, TrainSpec  # noqa: E402
from resviz.train import Trainer, make_optimizer  # noqa: E402

POLL = 0.1  # a page's refresh interval


def pair(depth: int, width: int) -> dict[str, NetworkSpec]:
    base = NetworkSpec(depth=depth, width=width)
    return {"A": base, "B": base.replace(family="plain")}


def bare_pair(specs: dict[str, NetworkSpec], tspec: TrainSpec, data) -> dict[str, float]:
    models = {k: build(s).train() for k, s in specs.items()}
    opts = {k: make_optimizer(m, tspec) for k, m in models.items()}
    gen = torch.Generator().manual_seed(tspec.seed)
    x, y = data.x_train, data.y_train
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(tspec.steps):
        idx = torch.randint(0, len(y), (tspec.batch_size,), generator=gen)
        for k, m in models.items():
            opts[k].zero_grad(set_to_none=True)
            nn.functional.cross_entropy(m(x[idx]), y[idx]).backward()
            opts[k].step()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"pair_steps_per_s": tspec.steps / wall, "cpu_ms_per_pair_step": 1e3 * cpu / tspec.steps,
            "run_s": wall}


def in_process(trainer, steps: int) -> float:
    t0 = time.perf_counter()
    for _ in trainer.run(steps):
        pass
    return steps / (time.perf_counter() - t0)


def proc_cpu(pid: int) -> float:
    """utime + stime of a process in seconds (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def engine_run(ex: LocalExecutor, cfg: RunConfig, k: int) -> dict[str, float]:
    """Open k runs, wait for them to be built, Start them together, poll like pages."""
    handles = [ex.open(cfg) for _ in range(k)]
    t_open = time.perf_counter()
    for h in handles:
        assert h.wait(lambda s: s.state == "ready", 120) is not None
    opened = time.perf_counter() - t_open
    steps = cfg.train.steps
    pids = ex.stats()["pids"]
    w0 = sum(proc_cpu(p) for p in pids)
    c0, t0 = time.process_time(), time.perf_counter()
    for h in handles:
        h.start()
    first: dict[int, float] = {}
    versions = [-1] * k
    done = set()
    while len(done) < k:
        for i, h in enumerate(handles):
            s = h.snapshot(versions[i])
            if s is None:
                continue
            versions[i] = s.version
            if i not in first and s.step > 0:
                first[i] = time.perf_counter() - t0
            if s.state in ("finished", "lost"):
                done.add(i)
        time.sleep(POLL)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    workers = sum(proc_cpu(p) for p in pids) - w0
    finals = [h.snapshot() for h in handles]
    for h in handles:
        h.close()
    assert all(s.state == "finished" and s.step == steps for s in finals), finals[0].error
    return {"runs": k, "open_to_ready_s": opened, "first_update_s": max(first.values()),
            "run_s": wall, "pair_steps_per_s": k * steps / wall,
            "caller_cpu_ms_per_pair_step": 1e3 * cpu / (k * steps),
            "worker_cpu_ms_per_pair_step": 1e3 * workers / (k * steps),
            "stacked": finals[0].stacked}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--depth", type=int, default=20)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--concurrent", default="1,2,4")
    p.add_argument("--workers", type=int, default=None, help="default: RESVIZ_WORKERS or cores")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(1)
    specs = pair(a.depth, a.width)
    tspec = TrainSpec(steps=a.steps)
    data = load("spirals", 1000, 0.1, 0)
    out: dict = {"model": f"{a.depth} blocks x width {a.width}, batch {tspec.batch_size}",
                 "steps": a.steps, "cores": os.cpu_count()}
    ex = LocalExecutor(workers=a.workers)
    ex.warm(120)  # workers import torch while we measure the bare loop
    bare_pair(specs, tspec.replace(steps=20), data)  # warm-up
    out["bare"] = bare_pair(specs, tspec, data)
    n = min(200, a.steps)
    out["trainer_pair_steps_per_s"] = in_process(
        Trainer({k: build(s) for k, s in specs.items()}, data, tspec), n)
    out["stacked_pair_steps_per_s"] = in_process(BatchedTrainer(specs, data, tspec), n)
    cfg = RunConfig("classify", tuple(specs.items()), tspec, boundary=60)
    out["engine"] = []
    for k in [int(c) for c in a.concurrent.split(",")]:
        out["engine"].append(engine_run(ex, cfg, k))
    out["workers"] = ex.bound
    ex.shutdown()
    one = out["engine"][0]["pair_steps_per_s"]
    for r in out["engine"]:
        r["throughput_vs_one"] = r["pair_steps_per_s"] / one
    if a.json:
        print(json.dumps(out, indent=1))
        return
    b = out["bare"]
    print(f"model: {out['model']}, {a.steps} steps, {out['cores']} cores, {ex.bound} workers")
    print(f"bare loop (pair)      : {b['pair_steps_per_s']:6.1f} pair-steps/s, "
          f"{b['cpu_ms_per_pair_step']:.1f} ms CPU per pair-step, run {b['run_s']:.1f} s")
    print(f"Trainer / stacked     : {out['trainer_pair_steps_per_s']:6.1f} / "
          f"{out['stacked_pair_steps_per_s']:.1f} pair-steps/s in process")
    for r in out["engine"]:
        print(f"engine, {r['runs']} run(s)      : {r['pair_steps_per_s']:6.1f} pair-steps/s total "
              f"({r['throughput_vs_one']:.2f}x one), run {r['run_s']:.1f} s, Start->update "
              f"{r['first_update_s']:.2f} s, open->ready {r['open_to_ready_s']:.2f} s, caller CPU "
              f"{r['caller_cpu_ms_per_pair_step']:.2f} ms/pair-step "
              f"({r['caller_cpu_ms_per_pair_step'] / b['cpu_ms_per_pair_step']:.2f}x bare), "
              f"workers {r['worker_cpu_ms_per_pair_step']:.1f} ms/pair-step")


if __name__ == "__main__":
    main()
