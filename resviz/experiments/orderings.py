"""He et al. 2016 Table 2 and Fig. 6 in miniature: the five residual unit orderings over seeds.

Each ordering trains on every seed at once (resviz.batched stacks the seeds' same-shape
nets), on the same batches; seed s gives every ordering the same initial draws, so the
comparison between two orderings is paired by seed. Reported per ordering: the mean test
error (%) with a 95% t interval over seeds, the training-loss curve (mean and spread over
seeds: He et al. 2016 Fig. 6 shows the orderings differ in how they optimise), and for each
ordering its paired difference to the paper's best (full pre-activation), with a 95% t
interval; a difference counts as *resolved* only when its interval excludes 0. The rank
correlation with the paper gets a bootstrap interval over seeds. The paper's numbers are
CIFAR-10 test error (%) of ResNet-110; ours are on a small data set, so compare rankings
and resolved differences, not values.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats
from scipy.stats import spearmanr

from resviz import store
from resviz.batched import make_trainer
from resviz.cli_args import DEPTH, LR, MAX_SEEDS, SAMPLES, SEEDS, STEPS, WIDTH
from resviz.data import DATASETS, load
from resviz.registry import ORDERINGS, PAPER_ORDERING_ERROR
from resviz.spec import NetworkSpec, TrainSpec

COMMAND = "orderings"
PAPER_ERROR = PAPER_ORDERING_ERROR  # He et al. 2016, Table 2, ResNet-110 (CIFAR-10 error %)
REFERENCE = "full_preact"  # the paper's best: every other ordering is compared with it
CONFIDENCE = 0.95
BOOTSTRAP = 2000
CURVE_POINTS = 30


def ranks(values: dict[str, float], tiebreak: dict[str, float] | None = None) -> list[str]:
    """Keys from best (lowest) to worst; ties broken by `tiebreak` (also lower is better)."""
    tb = tiebreak or {}
    return sorted(values, key=lambda k: (values[k], tb.get(k, 0.0), k))


def spearman(order_a: Sequence[str], order_b: Sequence[str]) -> float:
    """Rank correlation of two orderings of the same names (1 = same order, -1 = reversed)."""
    pos = {k: i for i, k in enumerate(order_b)}
    return float(spearmanr(range(len(order_a)), [pos[k] for k in order_a]).statistic)


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """(mean, low, high): Student-t interval of the mean; (m, m, m) for a single value."""
    v = np.asarray(values, dtype=float)
    m = float(v.mean())
    if len(v) < 2:
        return m, m, m
    half = float(stats.t.ppf(0.5 + confidence / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return m, m - half, m + half


def _curve(losses: list[float], points: int = CURVE_POINTS) -> tuple[list[int], list[float]]:
    """Per-step batch losses averaged over `points` equal windows: (window end step, mean)."""
    n = len(losses)
    if n == 0:
        return [], []
    edges = np.linspace(0, n, min(points, n) + 1).astype(int)
    return ([int(e) for e in edges[1:]],
            [float(np.mean(losses[a:b])) for a, b in zip(edges[:-1], edges[1:])])


def train_ordering(net: NetworkSpec, tspec: TrainSpec, seeds: Sequence[int],
                   device: str = "cpu") -> dict[str, list]:
    """One ordering on every seed at once: per seed, test error (%), final train loss and the
    training-loss curve."""
    data = load(tspec.dataset, tspec.n_samples, tspec.noise, tspec.data_seed)
    net = net.replace(input_shape=data.input_shape, n_classes=data.n_classes)
    trainer = make_trainer({str(s): net.replace(seed=s) for s in seeds}, data, tspec, device)
    for _ in trainer.run():
        pass
    err, loss, curves = [], [], []
    for s in seeds:
        f = trainer.final(str(s))
        err.append(100.0 if f["test_acc"] is None else 100 * (1 - float(f["test_acc"])))
        loss.append(float(f["train_loss"]))
        steps, c = _curve([r.loss for r in trainer.history(str(s))])
        curves.append(c)
    return {"test_error": err, "train_loss": loss, "curve_steps": steps, "curves": curves}


def summarise(per_ordering: dict[str, dict[str, list]], seeds: Sequence[int],
              n_test: int | None = None, rng_seed: int = 0) -> dict:
    """Means, intervals, paired differences, ranks and the rank correlation (with interval)."""
    names = list(per_ordering)
    err = {o: t_interval(per_ordering[o]["test_error"]) for o in names}
    mean_err = {o: err[o][0] for o in names}
    loss = {o: float(np.mean(per_ordering[o]["train_loss"])) for o in names}
    ours, paper = ranks(mean_err, loss), ranks(PAPER_ERROR)
    ref = np.asarray(per_ordering[REFERENCE]["test_error"])
    diffs = {}
    for o in names:
        if o == REFERENCE:
            continue
        m, lo, hi = t_interval(np.asarray(per_ordering[o]["test_error"]) - ref)
        diffs[o] = {"mean": m, "low": lo, "high": hi, "resolved": bool(lo > 0 or hi < 0)}
    # bootstrap over seeds: resample seeds, recompute the mean errors, rank, correlate
    e = np.asarray([per_ordering[o]["test_error"] for o in names])  # (orderings, seeds)
    rng = np.random.default_rng(rng_seed)
    rhos = []
    for _ in range(BOOTSTRAP if e.shape[1] > 1 else 0):
        pick = rng.integers(0, e.shape[1], e.shape[1])
        means = dict(zip(names, e[:, pick].mean(1)))
        rhos.append(spearman(ranks(means, loss), paper))
    rho = spearman(ours, paper)
    rho_lo, rho_hi = (np.quantile(rhos, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2]).tolist()
                      if rhos else (rho, rho))
    curve_steps = per_ordering[names[0]]["curve_steps"]
    curves = {o: {"mean": np.mean(per_ordering[o]["curves"], 0).tolist(),
                  "low": np.min(per_ordering[o]["curves"], 0).tolist(),
                  "high": np.max(per_ordering[o]["curves"], 0).tolist()} for o in names}
    return {"orderings": names, "seeds": list(seeds), "n_test": n_test, "paper_error": PAPER_ERROR,
            "test_error": mean_err, "test_error_low": {o: max(0.0, err[o][1]) for o in names},
            "test_error_high": {o: err[o][2] for o in names}, "train_loss": loss,
            "per_seed": {o: per_ordering[o]["test_error"] for o in names},
            "reference": REFERENCE, "diff_to_reference": diffs,
            "resolved": [o for o in names if o in diffs and diffs[o]["resolved"]],
            "rank_ours": ours, "rank_paper": paper, "spearman": rho,
            "spearman_low": float(rho_lo), "spearman_high": float(rho_hi),
            "best_ours": ours[0], "best_paper": paper[0],
            "curve_steps": curve_steps, "curves": curves, "confidence": CONFIDENCE}


def run(net: NetworkSpec, tspec: TrainSpec, seeds: Sequence[int] | None = None,
        progress: Callable[[float], None] | None = None, device: str = "cpu",
        engine: bool = False) -> dict:
    """The comparison, from the disk store when this exact setting was run before.

    `engine=True` trains the orderings as engine jobs side by side (resviz.engine.jobs: every
    core here, a Ray cluster's nodes with RAY_ADDRESS); the numbers are the same."""
    seeds = tuple(DEFAULT_SEEDS if seeds is None else seeds)

    def compute() -> dict:
        out = {}
        names = list(ORDERINGS)
        calls = [((net.replace(ordering=o), tspec, seeds, device), {}) for o in names]
        if engine:
            from resviz.engine import jobs

            finished = jobs.fan_out(train_ordering, calls)
        else:
            finished = ((i, train_ordering(*args)) for i, (args, _kw) in enumerate(calls))
        for n, (i, result) in enumerate(finished):
            out[names[i]] = result
            if progress:
                progress((n + 1) / len(names))
        out = {o: out[o] for o in names}
        n_test = len(load(tspec.dataset, tspec.n_samples, tspec.noise, tspec.data_seed).y_test)
        return summarise(out, seeds, n_test)

    return store.get_or_compute("orderings_v2", (net, tspec, seeds), compute)


_BAND = {"mean": [float], "low": [float], "high": [float]}
_DIFF = {"mean": float, "low": float, "high": float, "resolved": bool}
store.declare("orderings_v2", {
    "orderings": [str], "seeds": [int], "n_test": store.Maybe(int),
    "paper_error": store.DictOf(str, float), "test_error": store.DictOf(str, float),
    "test_error_low": store.DictOf(str, float), "test_error_high": store.DictOf(str, float),
    "train_loss": store.DictOf(str, float), "per_seed": store.DictOf(str, [float]),
    "reference": str, "diff_to_reference": store.DictOf(str, _DIFF), "resolved": [str],
    "rank_ours": [str], "rank_paper": [str], "spearman": float, "spearman_low": float,
    "spearman_high": float, "best_ours": str, "best_paper": str, "curve_steps": [int],
    "curves": store.DictOf(str, _BAND), "confidence": float})


def stored(net: NetworkSpec | None = None, tspec: TrainSpec | None = None,
           seeds: Sequence[int] | None = None) -> dict | None:
    """The stored result for these settings (the defaults if not given), else None."""
    return store.get("orderings_v2", net or DEFAULT_NET, tspec or DEFAULT_TRAIN,
                     tuple(DEFAULT_SEEDS if seeds is None else seeds))


def verdict(result: dict) -> list[str]:
    """Plain sentences (untranslated data for the CLI; pages phrase their own) of what the
    intervals resolve."""
    ref = result["reference"]
    out = []
    for o, d in result["diff_to_reference"].items():
        word = ("worse than" if d["mean"] > 0 else "better than") if d["resolved"] else \
            "not distinguishable from"
        out.append(f"{o} is {word} {ref}: {d['mean']:+.2f} points "
                   f"[{d['low']:+.2f}, {d['high']:+.2f}]")
    return out


DEFAULT_NET = NetworkSpec(family="residual", depth=16, width=16)
DEFAULT_TRAIN = TrainSpec(dataset="spirals", n_samples=2000, steps=150, eval_every=150)
DEFAULT_SEEDS = tuple(range(8))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--depth", type=DEPTH, default=DEFAULT_NET.depth)
    p.add_argument("--width", type=WIDTH, default=DEFAULT_NET.width)
    p.add_argument("--dataset", choices=DATASETS, default=DEFAULT_TRAIN.dataset)
    p.add_argument("--samples", type=SAMPLES, default=DEFAULT_TRAIN.n_samples)
    p.add_argument("--steps", type=STEPS, default=DEFAULT_TRAIN.steps)
    p.add_argument("--lr", type=LR, default=DEFAULT_TRAIN.lr)
    p.add_argument("--seeds", type=SEEDS, default=len(DEFAULT_SEEDS),
                   help=f"repeat over seeds 0..N-1 (intervals need at least 2; 5 or more advised; "
                        f"1..{MAX_SEEDS})")


def main(args: argparse.Namespace) -> dict:
    net = DEFAULT_NET.replace(depth=args.depth, width=args.width)
    tspec = DEFAULT_TRAIN.replace(dataset=args.dataset, n_samples=args.samples, steps=args.steps,
                                  lr=args.lr, eval_every=max(1, args.steps))
    from resviz.engine import on_cluster

    result = run(net, tspec, seeds=tuple(range(max(1, args.seeds))), engine=on_cluster())
    return {**result, "verdict": verdict(result)}
