"""Shattered gradients: input-gradient autocorrelation of deep plain vs residual nets."""

from __future__ import annotations

import argparse

from resviz.cli_args import DEPTH, WIDTH, count
from resviz.probes.shattered import compare
from resviz.spec import MAX_DEPTH, ORDERINGS, SpecError

COMMAND = "shattered"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--depth", type=DEPTH, default=24, help="blocks")
    p.add_argument("--width", type=WIDTH, default=128)
    p.add_argument("--ordering", choices=ORDERINGS, default="full_preact")
    p.add_argument("--seeds", type=count(1, 50), default=4, help="nets averaged per family (1..50)")
    p.add_argument("--points", type=count(8, 10_000), default=256, help="inputs in [-2, 2] (8..10000)")
    p.add_argument("--max-lag", type=count(1, 5_000), default=20, help="below points/2")


def main(args: argparse.Namespace) -> dict:
    if not 1 <= args.seeds <= 50:
        raise SpecError(f"seeds must be between 1 and 50; got {args.seeds}")
    if not 8 <= args.points <= 10_000 or not 1 <= args.max_lag < args.points // 2:
        raise SpecError("need 8 to 10000 points and a max lag of at least 1, under points/2")
    if not 1 <= args.depth <= MAX_DEPTH:
        raise SpecError(f"depth must be between 1 and {MAX_DEPTH}; got {args.depth}")
    r = compare(args.depth, args.width, args.ordering, args.seeds, args.points, args.max_lag)
    return {"depth": r["depth"], "width": r["width"], "ordering": r["ordering"],
            "seeds": r["seeds"], "lag1_plain": r["plain"]["lag1"],
            "lag1_residual": r["residual"]["lag1"],
            "autocorr_plain": r["plain"]["autocorr"], "autocorr_residual": r["residual"]["autocorr"]}
