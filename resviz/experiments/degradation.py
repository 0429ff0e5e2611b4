"""Degradation sweep (He et al. 2015, Fig. 1 in miniature): final loss against depth.

Plain and residual nets of each depth, several init seeds, same data, same batches, same
steps. The models of one depth share a shape, so they train together as one stacked
model (resviz.batched); each depth's group is stored on disk once finished, so a stopped
sweep resumes where it stopped and a finished one reappears instantly.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from resviz import jsonio, store
from resviz.batched import make_trainer
from resviz.cli_args import BATCH_SIZE, DEVICE, LR, SAMPLES, STEPS, WIDTH, count, depth_list
from resviz.data import DATASETS, load
from resviz.device import resolve_device
from resviz.spec import MAX_DEPTH, NetworkSpec, SpecError, TrainSpec

COMMAND = "degradation"
FAMILIES = ("plain", "residual")
COLUMNS = ("family", "depth", "seed", "train_loss", "train_acc", "test_acc", "diverged_at")

# He et al. 2015, "Deep Residual Learning for Image Recognition" (numbers quoted from the paper).
PAPER = {
    "cifar10_fig1": "20-layer and 56-layer plain nets on CIFAR-10: the 56-layer net has higher "
                    "training error and higher test error throughout training (Fig. 1).",
    "imagenet_top1_10crop": {"plain-18": 27.94, "plain-34": 28.54,
                             "ResNet-18": 27.88, "ResNet-34": 25.03},  # Table 2, % error
    "cifar10_resnet_test_error": {"ResNet-20": 8.75, "ResNet-56": 6.97,
                                  "ResNet-110": 6.43},  # Table 6, %
}


@dataclass(frozen=True)
class SweepSpec:
    """One sweep: which depths, how many init seeds, and the shared network/training."""

    depths: tuple[int, ...] = (2, 4, 8, 16, 32)
    seeds: int = 2
    width: int = 32
    norm: bool = True
    ordering: str = "original"
    train: TrainSpec = field(default_factory=lambda: TrainSpec(steps=300, eval_every=10))

    def __post_init__(self) -> None:
        if not self.depths:
            raise SpecError("give at least one depth")
        for d in self.depths:
            if not 1 <= d <= MAX_DEPTH:
                raise SpecError(f"depths must be between 1 and {MAX_DEPTH}; got {d}")
        if not 1 <= self.seeds <= 10:
            raise SpecError(f"seeds must be between 1 and 10; got {self.seeds}")

    def group(self, depth: int, n_classes: int, input_shape: tuple[int, ...]) -> dict[str, NetworkSpec]:
        """The networks of one depth, named family-seed (they share a shape: one stack)."""
        base = NetworkSpec(depth=depth, width=self.width, norm=self.norm, ordering=self.ordering,
                           input_shape=input_shape, n_classes=n_classes)
        return {f"{f}-{s}": base.replace(family=f, seed=s) for f in FAMILIES
                for s in range(self.seeds)}


Progress = Callable[[int, int, int, int], None]  # (group index, groups, step, steps)


def run_group(sw: SweepSpec, depth: int, device: str = "cpu", batched: bool = True,
              on_step: Callable[[int], None] | None = None) -> dict:
    """Train one depth's plain and residual nets; rows plus the seed-0 curves."""
    t = sw.train
    data = load(t.dataset, t.n_samples, t.noise, t.data_seed)
    specs = sw.group(depth, data.n_classes, data.input_shape)
    trainer = make_trainer(specs, data, t, device, batched=batched)
    t0 = time.perf_counter()
    for i, _rec in enumerate(trainer.run()):
        if on_step is not None:
            on_step(i + 1)
    rows = []
    for name, spec in specs.items():
        rows.append({"family": spec.family, "depth": depth, "seed": spec.seed,
                     **trainer.final(name)})
    curves = {f: _curve(trainer.history(f"{f}-0")) for f in FAMILIES}
    return {"rows": rows, "curves": curves, "seconds": time.perf_counter() - t0,
            "batched": type(trainer).__name__ == "BatchedTrainer"}


def _curve(recs: list) -> dict[str, list]:
    ev = [r for r in recs if r.test_acc is not None]
    return {"step": [r.step for r in recs], "loss": [r.loss for r in recs],
            "eval_step": [r.step for r in ev], "test_loss": [r.test_loss for r in ev],
            "train_acc": [r.train_acc for r in ev], "test_acc": [r.test_acc for r in ev]}


def cached_group(sw: SweepSpec, depth: int) -> dict | None:
    return store.get("degradation-group", sw, depth)


def sweep(sw: SweepSpec, device: str = "cpu", batched: bool = True,
          progress: Progress | None = None, cache: bool = True) -> dict:
    """All depths in order; finished depths come from (and go to) the store."""
    groups, t0 = {}, time.perf_counter()
    for gi, depth in enumerate(sw.depths):
        hit = cached_group(sw, depth) if cache else None
        if hit is None:
            def step(i: int, gi: int = gi) -> None:
                if progress is not None:
                    progress(gi, len(sw.depths), i, sw.train.steps)
            hit = run_group(sw, depth, device, batched, step)
            if cache:
                store.put(hit, "degradation-group", sw, depth)
        groups[depth] = hit
        if progress is not None:
            progress(gi, len(sw.depths), sw.train.steps, sw.train.steps)
    return assemble(sw, groups, time.perf_counter() - t0)


def assemble(sw: SweepSpec, groups: dict[int, dict], seconds: float) -> dict:
    rows = [r for d in sw.depths for r in groups[d]["rows"]]
    deepest = max(sw.depths)
    return {"sweep": {**asdict(sw), "depths": list(sw.depths)}, "rows": rows,
            "summary": summary(rows), "curves_deepest": groups[deepest]["curves"],
            "curves_shallowest": groups[min(sw.depths)]["curves"],
            "seconds": seconds, "paper": PAPER}


def summary(rows: list[dict]) -> list[dict]:
    """Mean, min and max final training loss and mean test accuracy per (family, depth)."""
    out = []
    for f in FAMILIES:
        for d in sorted({r["depth"] for r in rows}):
            sel = [r for r in rows if r["family"] == f and r["depth"] == d]
            loss = [r["train_loss"] for r in sel if _finite(r["train_loss"])]
            acc = [r["test_acc"] for r in sel if r["test_acc"] is not None]
            out.append({"family": f, "depth": d, "runs": len(sel), "diverged": len(sel) - len(loss),
                        "train_loss_mean": sum(loss) / len(loss) if loss else math.nan,
                        "train_loss_min": min(loss, default=math.nan),
                        "train_loss_max": max(loss, default=math.nan),
                        "test_acc_mean": sum(acc) / len(acc) if acc else math.nan})
    return out


def _finite(v: object) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def to_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def to_json(result: dict) -> str:
    return jsonio.dumps(result)


def parse_depths(text: str) -> tuple[int, ...]:
    try:
        depths = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise SpecError(f"depths must be comma-separated integers; got {text!r}") from None
    return tuple(sorted(set(depths)))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--depths", type=depth_list, default="2,4,8,16,32",
                   help="comma-separated block counts (each 1..100, at most 20)")
    p.add_argument("--seeds", type=count(1, 10), default=2, help="init seeds per family and depth (1..10)")
    p.add_argument("--steps", type=STEPS, default=300)
    p.add_argument("--width", type=WIDTH, default=32)
    p.add_argument("--no-norm", action="store_true", help="no batch normalisation")
    p.add_argument("--dataset", choices=DATASETS, default="spirals")
    p.add_argument("--samples", type=SAMPLES, default=1000)
    p.add_argument("--lr", type=LR, default=0.01)
    p.add_argument("--batch-size", type=BATCH_SIZE, default=128)
    p.add_argument("--sequential", action="store_true", help="one model after another")
    p.add_argument("--device", type=DEVICE, default=None, help="cpu, cuda or auto (env RESVIZ_DEVICE)")


def main(args: argparse.Namespace) -> dict:
    tspec = TrainSpec(dataset=args.dataset, n_samples=args.samples, steps=args.steps,
                      lr=args.lr, batch_size=args.batch_size, eval_every=10)
    sw = SweepSpec(depths=parse_depths(args.depths), seeds=args.seeds, width=args.width,
                   norm=not args.no_norm, train=tspec)
    dev = str(resolve_device(args.device, batched=not args.sequential))
    result = sweep(sw, dev, batched=not args.sequential, cache=False)
    result.pop("curves_shallowest")
    return result
