"""Bounded command-line values, written once: every count, size, seed and float the CLI takes.

Each option's range is stated here (and shown in its --help), checked by argparse before any
work, and refused with one line and exit status 2. A new option picks a type from this module:

    p.add_argument("--draws", type=count(1, 1000), default=5)      # an integer in [1, 1000]
    p.add_argument("--noise", type=real(0.0, 10.0), default=0.1)   # a finite float in [0, 10]
    p.add_argument("--seed", type=SEED, default=0)                 # 0 <= seed < 2**63
    p.add_argument("--device", type=DEVICE, default=None)          # cpu | cuda | auto

Integers may be written as 1e3 or 1_000 (people type both); NaN and inf are refused wherever
a float must be finite. The ranges that belong to a spec (depth, width, steps, ...) are the
spec's own constants, so the CLI and the library cannot disagree.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import NoReturn

from resviz.device import DEVICES, DeviceError, check_device, max_threads
from resviz.spec import (
    MAX_BATCH,
    MAX_DEPTH,
    MAX_SAMPLES,
    MAX_SEED,
    MAX_STEPS,
    MAX_WIDTH,
    MIN_SAMPLES,
)

# ranges of the probes' counts (the specs hold the network's and training's own)
MAX_DRAWS = 1000          # lesion: random draws per k
MAX_PATH_SAMPLES = 10_000  # paths: masked-backward samples per path length
MAX_PROBE_BATCH = 4096    # examples a probe averages over
MAX_SEEDS = 20            # repeats over seeds in one command


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line on stderr (no usage block) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        one_line = " ".join(str(message).split())  # like every other CLI error: "error: ..."
        self.exit(2, f"error: {one_line} (see {self.prog} --help)\n")


def _parse_int(text: str) -> int:
    """'12', '1_000', '1e3' -> int; '1.5', 'nan', 'abc' raise ValueError."""
    s = str(text).strip()
    try:
        return int(s, 10)
    except ValueError:
        pass
    x = float(s)  # ValueError for garbage
    if not math.isfinite(x) or x != int(x):
        raise ValueError(s)
    return int(x)


def count(lo: int, hi: int, what: str = "value") -> Callable[[str], int]:
    """An argparse type: an integer in [lo, hi]."""

    def parse(text: str) -> int:
        try:
            n = _parse_int(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(
                f"expected a whole number from {lo} to {hi}; got {text!r}") from None
        if not lo <= n <= hi:
            raise argparse.ArgumentTypeError(f"must be from {lo} to {hi}; got {n}")
        return n

    parse.__name__ = f"integer {lo}..{hi}"  # argparse names the type in some messages
    parse.lo, parse.hi = lo, hi  # type: ignore[attr-defined]  (the fuzz test reads the range)
    return parse


def real(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
         allow: tuple[float, ...] = ()) -> Callable[[str], float]:
    """An argparse type: a finite float in [lo, hi] ((lo, hi] with lo_open); `allow` lists
    sentinel values accepted besides the range (e.g. -1 = off)."""

    def parse(text: str) -> float:
        try:
            x = float(str(text).strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
        if x in allow:
            return x
        if not math.isfinite(x):
            raise argparse.ArgumentTypeError(f"must be a finite number; got {text!r}")
        below = lo is not None and (x <= lo if lo_open else x < lo)
        if below or (hi is not None and x > hi):
            left = "(" if lo_open else "["
            lo_s = "-inf" if lo is None else f"{lo:g}"
            hi_s = "inf" if hi is None else f"{hi:g}"
            extra = "".join(f" or {a:g}" for a in allow)
            raise argparse.ArgumentTypeError(f"must be in {left}{lo_s}, {hi_s}]{extra}; got {x:g}")
        return x

    parse.__name__ = "number"
    parse.lo, parse.hi = lo, hi  # type: ignore[attr-defined]
    return parse


def depth_list(text: str) -> str:
    """An argparse type: comma-separated depths, each in 1..MAX_DEPTH, at most 20 of them.
    Returns the text itself (the command parses it)."""
    parts = [t for t in str(text).split(",") if t.strip()]
    if not parts or len(parts) > 20:
        raise argparse.ArgumentTypeError(f"give 1 to 20 comma-separated depths; got {text!r}")
    for t in parts:
        DEPTH(t)
    return text


def _device(text: str) -> str:
    try:
        return check_device(text, "")
    except DeviceError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _threads(text: str) -> int:
    return count(1, max_threads())(text)


# the shared types
SEED = count(0, MAX_SEED)
DEPTH = count(1, MAX_DEPTH)
WIDTH = count(1, MAX_WIDTH)
STEPS = count(0, MAX_STEPS)
SAMPLES = count(MIN_SAMPLES, MAX_SAMPLES)
BATCH_SIZE = count(1, MAX_BATCH)
DRAWS = count(1, MAX_DRAWS)
PATH_SAMPLES = count(1, MAX_PATH_SAMPLES)
PROBE_BATCH = count(1, MAX_PROBE_BATCH)
SEEDS = count(1, MAX_SEEDS)
LR = real(0.0, 1e6, lo_open=True)
NOISE = real(0.0, 10.0)
GATE_BIAS = real(-10.0, 10.0)
PROBABILITY = real(0.0, 1.0)
DEVICE = _device
DEVICE.__name__ = f"one of {', '.join(DEVICES)}"
THREADS = _threads
THREADS.__name__ = "threads"


def fail(message: str) -> NoReturn:
    """One line on stderr and exit 2: for checks that need several options together."""
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    raise SystemExit(2)
