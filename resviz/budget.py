"""How much memory and time a request needs, estimated before any work, and the budget it must fit.

Each option alone is bounded (resviz/cli_args.py), but products are what cost: parameters x
batch x steps, masks x examples x blocks. The estimates below count multiply-adds and the
float32 numbers held at once, from the settings alone (nothing is built or loaded), and
`check` refuses a request over budget with one line saying which quantity is too large.

The budget: 4 GiB of memory and 2e13 multiply-adds, about half an hour at the ~10 GFLOP/s
two CPU cores reach on these small layers. Every default command is under 1% of it.
Estimates are deliberately rough (within a small factor); they exist to refuse the absurd
(`--samples 1e8`, `input_shape [10^7]`), not to predict run times.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MEMORY_BUDGET = 4 * 2 ** 30  # bytes
WORK_BUDGET = 2e13  # multiply-adds
FLOAT = 4  # bytes of one float32


class BudgetError(ValueError):
    """A request over the memory or time budget; the message says which and by how much."""


@dataclass(frozen=True)
class Cost:
    """Peak bytes held at once and multiply-adds done, for one request or a part of it."""

    bytes: float = 0.0
    work: float = 0.0

    def __add__(self, other: Cost) -> Cost:
        # parts run one after another: memory is the larger peak, work adds up
        return Cost(max(self.bytes, other.bytes), self.work + other.work)

    def times(self, n: float) -> Cost:
        """n runs one after another."""
        return Cost(self.bytes, self.work * n)


def check(cost: Cost, what: str = "this request") -> Cost:
    """Raise BudgetError if `cost` is over budget; returns it otherwise."""
    if cost.bytes > MEMORY_BUDGET:
        raise BudgetError(f"{what} would need about {_gib(cost.bytes)} of memory; the budget is "
                          f"{_gib(MEMORY_BUDGET)}. Use fewer samples, a smaller batch or a smaller net")
    if cost.work > WORK_BUDGET:
        raise BudgetError(f"{what} would need about {cost.work:.1e} multiply-adds (roughly "
                          f"{cost.work / 1e10 / 60:.0f} min on two cores); the budget is {WORK_BUDGET:.0e}. "
                          "Use fewer steps, samples or draws, or a smaller net")
    return cost


def _gib(b: float) -> str:
    return f"{b / 2 ** 30:.1f} GiB"


# ---------------------------------------------------------------- the network's own sizes
@dataclass(frozen=True)
class NetSize:
    """What the estimates need of a network: per-example multiply-adds and numbers."""

    params: float  # parameters
    macs: float  # forward multiply-adds per example
    acts: float  # numbers per example kept for the backward pass

    @classmethod
    def of(cls, depth: int, width: int, input_shape: tuple[int, ...] = (2,), n_classes: int = 2,
           family: str = "residual") -> NetSize:
        conv = len(input_shape) == 3
        spatial = input_shape[1] * input_shape[2] if conv else 1
        k = 9 if conv else 1
        layers = {"gated": 4, "highway": 2}.get(family, 2)  # weight layers (gates count) per block
        block = layers * width * width * k
        stem = (input_shape[0] * 9 if conv else input_shape[0]) * width
        params = depth * block + stem + width * n_classes
        macs = depth * block * spatial + stem * spatial + width * n_classes
        acts = (8 * depth * width + math.prod(input_shape)) * spatial  # ~8 tensors per block
        return cls(params, macs, acts)

    @classmethod
    def of_spec(cls, spec: Any) -> NetSize:
        return cls.of(spec.depth, spec.width, tuple(spec.input_shape), spec.n_classes, spec.family)


def input_shape_of(dataset: str) -> tuple[int, ...]:
    """A data set's input shape without building it (real sets: their fixed shape)."""
    return {"digits": (1, 8, 8), "mnist1d": (40,)}.get(dataset, (2,))


def data(samples: int, input_shape: tuple[int, ...]) -> Cost:
    """Holding and generating a data set."""
    n = samples * math.prod(input_shape)
    return Cost(3 * n * FLOAT, 10 * n)


def training(net: NetSize, batch: int, steps: int, models: int = 1, samples: int = 0,
             eval_every: int = 25, test_points: int = 0) -> Cost:
    """`models` nets trained in lockstep: forward + backward (~3x forward) per step, Adam state,
    and an evaluation on the train and test sets every `eval_every` steps."""
    step = 3 * net.macs * batch
    evals = (steps // max(1, eval_every) + 1) * net.macs * (samples + test_points)
    mem = models * (4 * net.params + batch * net.acts) * FLOAT
    return Cost(mem, models * (steps * step + evals))


def forward(net: NetSize, examples: int, passes: float = 1.0, chunk: int | None = None) -> Cost:
    """`passes` no-grad forward passes over `examples` (in chunks of `chunk` examples)."""
    held = min(examples, chunk or examples)
    return Cost((net.params + 4 * held * net.acts / max(1, 8)) * FLOAT, passes * examples * net.macs)


def lesion(net: NetSize, depth: int, test_points: int, draws: int) -> Cost:
    """delete_each (n masks), delete_k ((n + 1) x draws masks) and ~12 swap counts x draws orders."""
    masks = depth + (depth + 1) * draws + 12 * draws
    return forward(net, test_points, passes=masks, chunk=4096)


def paths(net: NetSize, depth: int, width: int, batch: int, samples: int, conv: bool) -> Cost:
    """Veit's masked backward: (n + 1) x samples masks walked back through n blocks; flat nets
    keep two per-example Jacobians per block (width x width)."""
    masks = (depth + 1) * samples
    per_block = batch * (width * width if not conv else net.macs / max(1, depth))
    jac = 0 if conv else 2 * depth * batch * width * width * FLOAT
    return Cost(jac + 2 ** 22 * FLOAT * 3, masks * depth * per_block + 2 * depth * width * per_block)


# ---------------------------------------------------------------- per CLI command
def _train_args(a: Any, models: int = 1, family: str = "residual", depth: int | None = None,
                samples: int | None = None) -> tuple[NetSize, Cost]:
    shape = input_shape_of(getattr(a, "dataset", "spirals"))
    n = samples if samples is not None else a.samples
    net = NetSize.of(a.depth if depth is None else depth, a.width, shape, 10, family)
    batch = min(getattr(a, "batch_size", 128), n)
    return net, data(n, shape) + training(net, batch, a.steps, models, n)


def _train(a: Any) -> Cost:
    return _train_args(a)[1]


def _lesion(a: Any) -> Cost:
    models = 2 if a.stochastic_depth < 0 else 3
    net, cost = _train_args(a, models=models)
    test = int(a.samples * 0.3) + 1
    return cost + lesion(net, a.depth, test, a.draws).times(models)


def _paths(a: Any) -> Cost:
    models = 1 if a.stochastic_depth is None else 2
    net, cost = _train_args(a, models=models, samples=a.points)
    shape = input_shape_of(a.dataset)
    batch = min(a.batch, int(a.points * 0.3) + 1)
    return cost + paths(net, a.depth, a.width, batch, a.samples, len(shape) == 3).times(models + 1)


def _evaluate(a: Any) -> Cost:
    # the spec is read from the file later (it is bounded by NetworkSpec); here: the data set
    shape = input_shape_of(a.dataset or "spirals")
    return data(a.samples, shape) + Cost(a.samples * 8 * 256 * FLOAT, 0)


def _landscape(a: Any) -> Cost:
    net, cost = _train_args(a)
    n_eval = a.samples  # each grid point evaluates the loss on the training set
    points = a.grid ** 2 + 2 * a.line_points
    if getattr(a, "hessian", False):  # each Hessian-vector product costs about 4 forward passes
        points += 4 * a.hessian_grid ** 2 * a.lanczos_iters
    return cost + forward(net, n_eval, passes=points)


def _degradation(a: Any) -> Cost:
    from resviz.experiments.degradation import parse_depths

    total = Cost()
    for d in parse_depths(a.depths):
        total = total + _train_args(a, models=2 * a.seeds, depth=d)[1]
    return total


def _orderings(a: Any) -> Cost:
    return _train_args(argparse_like(a, batch_size=128), models=5)[1].times(a.seeds)


def _highway(a: Any) -> Cost:
    return _train_args(a, models=3, family="gated")[1]


def _sequence(a: Any) -> Cost:
    h, t = a.hidden, a.length
    macs = 8 * h * (h + a.symbols + 1) * t  # an LSTM step: 4 gates x (h x (h + inputs))
    net = NetSize(4 * h * (h + a.symbols + 1), macs, 8 * h * t)
    return data(a.samples, (t, a.symbols + 1)) + training(net, min(a.batch_size, a.samples), a.steps, 3)


def _gradients(a: Any) -> Cost:
    net = NetSize.of(a.depth, a.width, input_shape_of(a.dataset))
    return Cost(a.batch * net.acts * FLOAT * 3, 3 * a.batch * net.macs)


def _shattered(a: Any) -> Cost:
    net = NetSize.of(a.depth, a.width, (1,))
    return Cost(a.points * net.acts * FLOAT * 3, 2 * a.seeds * 3 * a.points * net.macs)


def _identity(a: Any) -> Cost:
    from resviz.experiments.identity import parse_depths

    total = Cost()
    for d in parse_depths(a.depths):
        net = NetSize.of(d, a.width, (2,), 2)
        total = total + training(net, a.batch_size, a.steps, 2 * a.seeds, a.batch_size)
    return total


def _readout(a: Any) -> Cost:
    net, cost = _train_args(a, models=2)
    return cost + forward(net, int(a.samples * 0.3) + a.resolution ** 2, passes=2 * a.depth)


def argparse_like(a: Any, **defaults: Any) -> Any:
    """`a` with missing attributes filled in."""
    import argparse

    return argparse.Namespace(**{**defaults, **vars(a)})


ESTIMATES: dict[str, Callable[[Any], Cost]] = {
    "train": _train, "lesion": _lesion, "paths": _paths, "evaluate": _evaluate,
    "landscape": _landscape, "degradation": _degradation, "orderings": _orderings,
    "highway": _highway, "sequence": _sequence, "gradients": _gradients, "shattered": _shattered,
    "identity": _identity, "readout": _readout,
}


def check_command(command: str, args: Any) -> Cost | None:
    """Estimate a CLI command's cost from its parsed arguments and refuse it if over budget.

    Commands without an estimate here (arch, precompute) run fixed, small work.
    """
    estimate = ESTIMATES.get(command)
    if estimate is None:
        return None
    return check(estimate(args), f"`{command}` with these settings")
