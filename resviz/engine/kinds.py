"""The run-kind registry: what a RunConfig's `kind` builds (data, models, trainer).

One entry per kind of live run, so the worker, the handle (rebuilding local copies of the
models) and the tests loop over the same table. A kind builds a resviz.train.TrainerLike;
everything after that (commands, snapshots, probes) is the same for every kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from resviz.data import Dataset
from resviz.engine.config import RunConfig
from resviz.train import TrainerLike

# Measured (docs/engine.md, benchmarks/bench_engine.py): the default Playground pair
# (20 blocks x 32, batch 128) trains about 1.9x faster stacked than in the lockstep Trainer
# on one CPU thread, so stacked=None stacks whatever can be stacked.
STACK_WHEN_POSSIBLE = True


@dataclass
class Built:
    """A built run: its trainer, its data, and its specs completed for that data."""

    trainer: TrainerLike
    data: Dataset
    specs: dict[str, Any]
    stacked: bool


@dataclass(frozen=True)
class RunKind:
    name: str
    build: Callable[[RunConfig], Built]
    make_model: Callable[[Any], nn.Module]  # completed spec -> fresh model (handle.models())
    boundary: bool  # can draw a decision boundary (2-D inputs)


def _choose_stacked(config: RunConfig, specs: dict[str, Any]) -> bool:
    from resviz.batched import batchable, stacks

    possible = (stacks(config.train) and not config.block_attrs
                and batchable(list(specs.values())))
    if config.stacked is None:
        return possible and STACK_WHEN_POSSIBLE and len(specs) > 1
    if config.stacked and not possible:
        return False  # asked for, but these nets cannot share stacked weights
    return bool(config.stacked)


def _build_classify(config: RunConfig) -> Built:
    from resviz.batched import BatchedTrainer
    from resviz.data import load
    from resviz.models import build
    from resviz.train import Trainer

    t = config.train
    data = load(t.dataset, t.n_samples, t.noise, t.data_seed)
    specs = {name: spec.replace(input_shape=data.input_shape, n_classes=data.n_classes)
             for name, spec in config.specs}
    stacked = _choose_stacked(config, specs)
    if stacked:
        return Built(BatchedTrainer(specs, data, t, config.device), data, specs, True)
    models = {k: build(s) for k, s in specs.items()}
    for name, attr, value in config.block_attrs:
        for block in models[name].blocks:
            setattr(block, attr, value)
    return Built(Trainer(models, data, t, config.device), data, specs, False)


def _make_classify(spec: Any) -> nn.Module:
    from resviz.models import build

    return build(spec)


def _build_sequence(config: RunConfig) -> Built:
    from resviz import sequence as seq
    from resviz.train import Trainer

    specs = dict(config.specs)
    first = next(iter(specs.values()))
    t = config.train
    data = seq.make_task(first.length, first.n_symbols, t.n_samples, t.data_seed)
    trainer = Trainer({k: seq.build_seq(s) for k, s in specs.items()}, data, t, config.device)
    return Built(trainer, data, specs, False)


def _make_sequence(spec: Any) -> nn.Module:
    from resviz.sequence import build_seq

    return build_seq(spec)


KINDS: dict[str, RunKind] = {
    "classify": RunKind("classify", _build_classify, _make_classify, boundary=True),
    "sequence": RunKind("sequence", _build_sequence, _make_sequence, boundary=False),
}


def warm_up() -> None:
    """Run every kind's first-use paths once (lazy imports, data, a built model, two steps,
    a snapshot with a boundary) on a tiny config, so a worker's first real run opens as fast
    as its second. Measured on the 2-core box: the first open of the default pair took 2.4 s
    in a fresh worker, later ones 0.3 s. A worker calls this before it says it is ready."""
    from resviz import sequence as seq
    from resviz.engine.core import RunCore
    from resviz.spec import NetworkSpec, TrainSpec

    tiny = NetworkSpec(depth=2, width=4)
    configs = [RunConfig("classify", (("A", tiny), ("B", tiny.replace(family="plain"))),
                         TrainSpec(steps=2, n_samples=100), boundary=20),
               RunConfig("sequence", (("lstm", seq.SeqSpec("lstm", length=3, hidden=4)),),
                         TrainSpec(steps=2, n_samples=100, batch_size=8))]
    for config in configs:
        core = RunCore(config)
        core.command("step", 2)
        while core.wants_cpu:
            core.work(0.5)
        core.snapshot(True)


def get_kind(name: str) -> RunKind:
    if name not in KINDS:
        raise ValueError(f"unknown run kind {name!r}; known: {', '.join(KINDS)}")
    return KINDS[name]
