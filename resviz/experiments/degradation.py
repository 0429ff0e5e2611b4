"""Degradation sweep (He et al. 2015, Fig. 1 and Fig. 4 in miniature): training error against depth.

Plain and residual nets of each depth, several init seeds, same data, same batches, same
steps, He init and batch normalisation as in the paper. Training error is measured the
paper's way: the error on the whole training set (evaluation mode), over training and at
the end, with the spread over seeds. The models of one depth share a shape, so they train
together as one stacked model (resviz.batched); each depth's group is stored on disk once
finished, so a stopped sweep resumes where it stopped and a finished one reappears at once.
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
from resviz.init import INITIALISERS
from resviz.spec import INITS, MAX_DEPTH, OPTIMIZERS, NetworkSpec, SpecError, TrainSpec

COMMAND = "degradation"
FAMILIES = ("plain", "residual")
COLUMNS = ("family", "depth", "seed", "train_loss", "train_acc", "test_acc", "diverged_at")
DEPTHS = (2, 4, 8, 12, 16, 24, 32)  # He et al.'s plain-20 vs plain-56, graded in miniature
DEPTH_CHOICES = (2, 4, 8, 12, 16, 24, 32, 48, 64)  # what a page or link may ask for

# He et al. 2015, "Deep Residual Learning for Image Recognition" (numbers quoted from the paper).
PAPER = {
    "cifar10_fig1": "20-layer and 56-layer plain nets on CIFAR-10: the 56-layer net has higher "
                    "training error and higher test error throughout training (Fig. 1).",
    "imagenet_top1_10crop": {"plain-18": 27.94, "plain-34": 28.54,
                             "ResNet-18": 27.88, "ResNet-34": 25.03},  # Table 2, % error
    "cifar10_resnet_test_error": {"ResNet-20": 8.75, "ResNet-56": 6.97,
                                  "ResNet-110": 6.43},  # Table 6, %
}


def check_sweep(depths: tuple[int, ...], seeds: int) -> None:
    """The depths and seed count of a sweep over depth (this one and the identity test)."""
    if not depths:
        raise SpecError("give at least one depth")
    for d in depths:
        if not 1 <= d <= MAX_DEPTH:
            raise SpecError(f"depths must be between 1 and {MAX_DEPTH}; got {d}")
    if not 1 <= seeds <= 10:
        raise SpecError(f"seeds must be between 1 and 10; got {seeds}")


@dataclass(frozen=True)
class SweepSpec:
    """One sweep: which depths, how many init seeds, and the shared network/training."""

    depths: tuple[int, ...] = DEPTHS
    seeds: int = 3
    width: int = 32
    norm: bool = True
    ordering: str = "original"
    init: str = "he"
    train: TrainSpec = field(default_factory=lambda: TrainSpec(steps=300, eval_every=10))

    def __post_init__(self) -> None:
        check_sweep(self.depths, self.seeds)
        if self.init not in INITS:
            raise SpecError(f"init must be one of {', '.join(INITS)}; got {self.init!r}")

    def group(self, depth: int, n_classes: int, input_shape: tuple[int, ...]) -> dict[str, NetworkSpec]:
        """The networks of one depth, named family-seed (they share a shape: one stack)."""
        base = NetworkSpec(depth=depth, width=self.width, norm=self.norm, ordering=self.ordering,
                           input_shape=input_shape, n_classes=n_classes, init=self.init)
        return {f"{f}-{s}": base.replace(family=f, seed=s) for f in FAMILIES
                for s in range(self.seeds)}


def page_sweep(max_depth: int = 32, seeds: int = 3, steps: int = 300, dataset: str = "spirals",
               width: int = 32, norm: bool = True, lr: float = 0.05, optimizer: str = "sgd",
               init: str = "he") -> SweepSpec:
    """The sweep the Degradation page runs for its settings (the defaults are the page's).

    One place, so the page, `precompute` and the tests that hold the page's default to the
    paper's effect all build exactly the same specs. The default is the paper's recipe in
    miniature: SGD with momentum 0.9, batch normalisation, He init. Measured over 5 seeds
    (docs/lessons-degradation.md): the plain net's final training error rises with depth, graded
    (median 0.1% at 2 blocks, 10% at 12, 20% at 16, 33% at 24, 36% at 32, not chance),
    while the residual net's median stays at or below 0.4% at every depth. With Adam
    (lr 0.01) the plain 32-block net ends at chance instead.
    """
    steps = int(steps)
    return SweepSpec(depths=tuple(d for d in DEPTH_CHOICES if d <= max_depth), seeds=seeds,
                     width=width, norm=norm, init=init,
                     train=TrainSpec(dataset=dataset, n_samples=1000, steps=steps, lr=lr,
                                     optimizer=optimizer, eval_every=max(1, steps // 30)))


Progress = Callable[[int, int, int, int], None]  # (group index, groups, step, steps)


def run_group(sw: SweepSpec, depth: int, device: str = "cpu", batched: bool = True,
              progress: Callable[[int], None] | None = None) -> dict:
    """Train one depth's plain and residual nets; rows plus every seed's curves."""
    t = sw.train
    data = load(t.dataset, t.n_samples, t.noise, t.data_seed)
    specs = sw.group(depth, data.n_classes, data.input_shape)
    trainer = make_trainer(specs, data, t, device, batched=batched)
    t0 = time.perf_counter()
    for i, _rec in enumerate(trainer.run()):
        if progress is not None:
            progress(i + 1)
    rows = []
    for name, spec in specs.items():
        rows.append({"family": spec.family, "depth": depth, "seed": spec.seed,
                     **trainer.final(name)})
    curves = {name: _curve(trainer.history(name)) for name in specs}
    return {"rows": rows, "curves": curves, "seconds": time.perf_counter() - t0,
            "batched": type(trainer).__name__ == "BatchedTrainer"}


def _curve(recs: list) -> dict[str, list]:
    """Training error (%) on the whole training set and test error (%) at each evaluation."""
    ev = [r for r in recs if r.test_acc is not None]
    return {"eval_step": [r.step for r in ev], "loss": [r.loss for r in ev],
            "train_error": [100 * (1 - r.train_acc) for r in ev],
            "test_error": [100 * (1 - r.test_acc) for r in ev]}


FINAL_SHAPE = {"train_loss": float, "train_acc": store.Maybe(float), "test_acc": store.Maybe(float),
               "diverged_at": store.Maybe(int)}
CURVE_SHAPE = {"eval_step": [int], "loss": [float], "train_error": [float], "test_error": [float]}
store.declare("degradation-group", {
    "rows": [{"family": str, "depth": int, "seed": int, **FINAL_SHAPE}],
    "curves": store.DictOf(str, CURVE_SHAPE), "seconds": float, "batched": bool})


def cached_group(sw: SweepSpec, depth: int) -> dict | None:
    return store.get("degradation-group", sw, depth)


def group(sw: SweepSpec, depth: int, device: str = "cpu",
          on_step: Callable[[int], None] | None = None) -> dict:
    """One depth of a sweep, from the store or trained (and stored) now."""
    hit = cached_group(sw, depth)
    if hit is None:
        hit = run_group(sw, depth, device, True, on_step)
        store.put(hit, "degradation-group", sw, depth)
    return hit


def sweep(sw: SweepSpec, device: str = "cpu", batched: bool = True,
          progress: Progress | None = None, cache: bool = True, engine: bool = False) -> dict:
    """All depths; finished depths come from (and go to) the store.

    In order here, or with `engine=True` as one engine job per depth (resviz.engine.jobs):
    in job worker processes on every core, or as Ray tasks over a cluster's nodes. Each depth
    is stored as soon as it is done, so a stopped sweep keeps its finished depths.
    """
    n, steps = len(sw.depths), sw.train.steps
    groups, t0 = {}, time.perf_counter()
    todo = []
    for gi, depth in enumerate(sw.depths):
        hit = cached_group(sw, depth) if cache else None
        if hit is None:
            todo.append(gi)
            continue
        groups[depth] = hit
        if progress is not None:
            progress(gi, n, steps, steps)

    def done(gi: int, hit: dict) -> None:
        groups[sw.depths[gi]] = hit
        if cache:
            store.put(hit, "degradation-group", sw, sw.depths[gi])
        if progress is not None:
            progress(gi, n, steps, steps)

    if engine and todo:
        from resviz.engine import jobs

        def relay(j: int, values: tuple) -> None:
            if progress is not None:
                progress(todo[j], n, values[0], steps)

        calls = [((sw, sw.depths[gi], device, batched), {}) for gi in todo]
        for j, hit in jobs.fan_out(run_group, calls, relay):
            done(todo[j], hit)
    else:
        for gi in todo:
            def step(i: int, gi: int = gi) -> None:
                if progress is not None:
                    progress(gi, n, i, steps)
            done(gi, run_group(sw, sw.depths[gi], device, batched, step))
    return assemble(sw, groups, time.perf_counter() - t0)


def assemble(sw: SweepSpec, groups: dict[int, dict], seconds: float) -> dict:
    depths = [d for d in sw.depths if d in groups]
    rows = [r for d in depths for r in groups[d]["rows"]]
    return {"sweep": {**asdict(sw), "depths": list(sw.depths)}, "rows": rows,
            "summary": summary(rows), "curves": {d: curve_bands(groups[d]["curves"]) for d in depths},
            "seconds": seconds, "paper": PAPER}


def _spread(values: list[float]) -> tuple[float, float, float, float]:
    """(mean, median, min, max) of the finite values; NaNs when there are none."""
    v = sorted(x for x in values if _finite(x))
    if not v:
        return (math.nan,) * 4
    mid = len(v) // 2
    med = v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2
    return sum(v) / len(v), med, v[0], v[-1]


def summary(rows: list[dict]) -> list[dict]:
    """Per (family, depth), the seed spread (mean, median, min, max) of the final training
    error (%), training loss and test error (%); diverged runs are counted, not averaged."""
    out = []
    for f in FAMILIES:
        for d in sorted({r["depth"] for r in rows}):
            sel = [r for r in rows if r["family"] == f and r["depth"] == d]
            ok = [r for r in sel if r["train_acc"] is not None and _finite(r["train_loss"])]
            entry = {"family": f, "depth": d, "runs": len(sel), "diverged": len(sel) - len(ok)}
            for name, vals in (("train_error", [100 * (1 - r["train_acc"]) for r in ok]),
                               ("train_loss", [r["train_loss"] for r in ok]),
                               ("test_error", [100 * (1 - r["test_acc"]) for r in ok])):
                for stat, v in zip(("mean", "median", "min", "max"), _spread(vals)):
                    entry[f"{name}_{stat}"] = v
            out.append(entry)
    return out


def curve_bands(curves: dict[str, dict[str, list]]) -> dict[str, dict[str, list]]:
    """Per family, the median and min-max band over seeds of the error curves (He Fig. 1/4)."""
    out = {}
    for f in FAMILIES:
        mine = [c for name, c in curves.items() if name.split("-")[0] == f and c["eval_step"]]
        if not mine:
            continue
        n = min(len(c["eval_step"]) for c in mine)  # a diverged run stops evaluating
        band: dict[str, list] = {"eval_step": mine[0]["eval_step"][:n], "seeds": len(mine)}
        for key in ("train_error", "test_error"):
            cols = [[c[key][i] for c in mine] for i in range(n)]
            stats = [_spread(col) for col in cols]
            band[f"{key}_median"] = [s[1] for s in stats]
            band[f"{key}_min"] = [s[2] for s in stats]
            band[f"{key}_max"] = [s[3] for s in stats]
        out[f] = band
    return out


def per_depth(result: dict, family: str, key: str = "train_error_median") -> list[float]:
    """The family's per-depth statistic in depth order (for checks and captions)."""
    return [r[key] for r in result["summary"] if r["family"] == family]


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
    d = page_sweep()
    p.add_argument("--depths", type=depth_list, default=",".join(map(str, d.depths)),
                   help="comma-separated block counts (each 1..100, at most 20)")
    p.add_argument("--seeds", type=count(1, 10), default=d.seeds,
                   help="init seeds per family and depth (1..10)")
    p.add_argument("--steps", type=STEPS, default=d.train.steps)
    p.add_argument("--width", type=WIDTH, default=d.width)
    p.add_argument("--no-norm", action="store_true", help="no batch normalisation")
    p.add_argument("--init", choices=list(INITIALISERS), default=d.init,
                   help="weight init: " + "; ".join(f"{k}: {v[2]}" for k, v in INITIALISERS.items()))
    p.add_argument("--dataset", choices=DATASETS, default=d.train.dataset)
    p.add_argument("--samples", type=SAMPLES, default=d.train.n_samples)
    p.add_argument("--lr", type=LR, default=d.train.lr)
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=d.train.optimizer,
                   help="adam, or sgd (momentum 0.9, as in the paper)")
    p.add_argument("--batch-size", type=BATCH_SIZE, default=d.train.batch_size)
    p.add_argument("--sequential", action="store_true", help="one model after another")
    p.add_argument("--device", type=DEVICE, default=None, help="cpu, cuda or auto (env RESVIZ_DEVICE)")


def main(args: argparse.Namespace) -> dict:
    tspec = TrainSpec(dataset=args.dataset, n_samples=args.samples, steps=args.steps,
                      lr=args.lr, batch_size=args.batch_size, optimizer=args.optimizer,
                      eval_every=max(1, args.steps // 30))
    sw = SweepSpec(depths=parse_depths(args.depths), seeds=args.seeds, width=args.width,
                   norm=not args.no_norm, init=args.init, train=tspec)
    dev = str(resolve_device(args.device, batched=not args.sequential))
    from resviz.engine import on_cluster

    return sweep(sw, dev, batched=not args.sequential, cache=False, engine=on_cluster())
