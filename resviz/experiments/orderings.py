"""He et al. 2016 Table 2 in miniature: the five residual unit orderings, ranked beside the paper.

All five train in lockstep on the same batches, from the same seed, at one depth; repeated
over a few seeds because at this scale the differences are of the order of seed noise.
The paper's numbers are CIFAR-10 test error (%) of ResNet-110; ours are the mean test error
(%) and final training loss on a 2D toy, so compare rankings, not values.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from statistics import mean

from scipy.stats import spearmanr

from resviz import store
from resviz.cli_args import DEPTH, LR, MAX_SEEDS, SAMPLES, SEEDS, STEPS, WIDTH
from resviz.data import DATASETS, load
from resviz.models import build
from resviz.spec import ORDERINGS, NetworkSpec, TrainSpec
from resviz.train import Trainer

COMMAND = "orderings"
PAPER_ERROR = {"original": 6.61, "bn_after_add": 8.17, "relu_before_add": 7.84,
               "relu_preact": 6.71, "full_preact": 6.37}  # He et al. 2016, Table 2, ResNet-110


def ranks(values: dict[str, float], tiebreak: dict[str, float] | None = None) -> list[str]:
    """Keys from best (lowest) to worst; ties broken by `tiebreak` (also lower is better)."""
    tb = tiebreak or {}
    return sorted(values, key=lambda k: (values[k], tb.get(k, 0.0), k))


def spearman(order_a: Sequence[str], order_b: Sequence[str]) -> float:
    """Rank correlation of two orderings of the same names (1 = same order, -1 = reversed)."""
    pos = {k: i for i, k in enumerate(order_b)}
    return float(spearmanr(range(len(order_a)), [pos[k] for k in order_a]).statistic)


def train_seed(net: NetworkSpec, tspec: TrainSpec) -> dict[str, dict[str, float]]:
    """Train the five orderings in lockstep for one seed; test error (%) and final train loss."""
    data = load(tspec.dataset, tspec.n_samples, tspec.noise, tspec.data_seed)
    net = net.replace(input_shape=data.input_shape, n_classes=data.n_classes, seed=tspec.seed)
    trainer = Trainer({o: build(net.replace(ordering=o)) for o in ORDERINGS}, data, tspec)
    for _ in trainer.run():
        pass
    out = {}
    for o in ORDERINGS:
        f = trainer.final(o)
        err = 100.0 if f["test_acc"] is None else 100 * (1 - float(f["test_acc"]))
        out[o] = {"test_error": err, "train_loss": float(f["train_loss"])}
    return out


def summarise(per_seed: list[dict[str, dict[str, float]]]) -> dict:
    err = {o: mean(s[o]["test_error"] for s in per_seed) for o in ORDERINGS}
    loss = {o: mean(s[o]["train_loss"] for s in per_seed) for o in ORDERINGS}
    ours, paper = ranks(err, loss), ranks(PAPER_ERROR)
    return {"orderings": list(ORDERINGS), "paper_error": PAPER_ERROR, "test_error": err,
            "train_loss": loss, "per_seed": per_seed, "rank_ours": ours, "rank_paper": paper,
            "spearman": spearman(ours, paper), "best_ours": ours[0], "best_paper": paper[0]}


def run(net: NetworkSpec, tspec: TrainSpec, seeds: Sequence[int] = (0, 1),
        progress: Callable[[float], None] | None = None) -> dict:
    """The comparison, from the disk store when this exact setting was run before."""
    def compute() -> dict:
        per_seed = []
        for i, s in enumerate(seeds):
            per_seed.append(train_seed(net, tspec.replace(seed=s)))
            if progress:
                progress((i + 1) / len(seeds))
        return summarise(per_seed)

    return store.get_or_compute("orderings", (net, tspec, tuple(seeds)), compute)


DEFAULT_NET = NetworkSpec(family="residual", depth=16, width=16)
DEFAULT_TRAIN = TrainSpec(dataset="spirals", n_samples=600, steps=150)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--depth", type=DEPTH, default=DEFAULT_NET.depth)
    p.add_argument("--width", type=WIDTH, default=DEFAULT_NET.width)
    p.add_argument("--dataset", choices=DATASETS, default=DEFAULT_TRAIN.dataset)
    p.add_argument("--samples", type=SAMPLES, default=DEFAULT_TRAIN.n_samples)
    p.add_argument("--steps", type=STEPS, default=DEFAULT_TRAIN.steps)
    p.add_argument("--lr", type=LR, default=DEFAULT_TRAIN.lr)
    p.add_argument("--seeds", type=SEEDS, default=2,
                   help=f"repeat over seeds 0..N-1 and average (1..{MAX_SEEDS})")


def main(args: argparse.Namespace) -> dict:
    net = DEFAULT_NET.replace(depth=args.depth, width=args.width)
    tspec = DEFAULT_TRAIN.replace(dataset=args.dataset, n_samples=args.samples, steps=args.steps,
                                  lr=args.lr)
    return run(net, tspec, seeds=tuple(range(max(1, args.seeds))))
