"""Per-block gradient norms at initialisation: parameter gradients and dL/dx_l at block inputs."""

from __future__ import annotations

import argparse

from resviz.cli_args import DEPTH, GATE_BIAS, MAX_PROBE_BATCH, SEED, WIDTH, count
from resviz.data import DATASETS, load
from resviz.init import INITIALISERS
from resviz.probes.gradients import init_profile
from resviz.spec import ACTIVATIONS, FAMILIES, ORDERINGS, NetworkSpec

COMMAND = "gradients"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--family", choices=FAMILIES, default="residual")
    p.add_argument("--ordering", choices=ORDERINGS, default="original")
    p.add_argument("--depth", type=DEPTH, default=50)
    p.add_argument("--width", type=WIDTH, default=32)
    p.add_argument("--norm", choices=["batch", "none"], default="batch")
    p.add_argument("--init", choices=list(INITIALISERS), default=NetworkSpec().init,
                   help="weight init: " + "; ".join(f"{k}: {v[2]}" for k, v in INITIALISERS.items()))
    p.add_argument("--activation", choices=ACTIVATIONS, default="relu")
    p.add_argument("--gate-bias", type=GATE_BIAS, default=-2.0)
    p.add_argument("--dataset", choices=DATASETS, default="spirals")
    p.add_argument("--batch", type=count(2, MAX_PROBE_BATCH), default=256,
                   help="points in the measuring batch")
    p.add_argument("--seed", type=SEED, default=0)


def main(args: argparse.Namespace) -> dict:
    spec = NetworkSpec(family=args.family, ordering=args.ordering, depth=args.depth,
                       width=args.width, norm=args.norm == "batch", activation=args.activation,
                       gate_bias=args.gate_bias, seed=args.seed, init=args.init)
    if args.batch < 2:
        raise ValueError("the measuring batch needs at least 2 points")
    r = init_profile(spec, load(args.dataset), args.batch)
    return {"spec": r["spec"], "first_over_last": r["ratio"], "grad_norms": r["grad_norms"],
            "input_first_over_last": r["input_ratio"], "input_grad_norms": r["input_grads"]}
