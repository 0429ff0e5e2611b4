"""The engine's plain data: what to run (RunConfig) and what a run shows (Snapshot).

Both cross process boundaries (a local worker's pipe, a Ray actor call), so they hold only
picklable plain data: frozen specs in, lists / floats / dicts out. A page draws a Snapshot
as it is; it never needs the models to draw the live part.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

STATES = ("ready", "running", "paused", "finished", "lost")


def N_(text: str) -> str:
    """Mark a message for translation; the page shows it through `_()`."""
    return text


@dataclass(frozen=True)
class RunConfig:
    """Everything a run is rebuilt from: same config (and seeds inside the specs) -> same numbers.

    kind      name in resviz.engine.kinds.KINDS ("classify", "sequence")
    specs     (name, NetworkSpec or SeqSpec) in display order
    train     the TrainSpec (data set, steps, optimiser, seeds)
    boundary  decision-boundary grid side for 2-D data; 0 = none
    probes    names in resviz.engine.probes.PROBES, computed by the worker into Snapshot.probes
    stacked   None = auto (stack same-shape plain/residual models: measured faster), or force
    block_attrs  (model, block attribute, value) set on every block at build, e.g.
              ("highway", "openness", 0.5): switches that are not part of a NetworkSpec
    """

    kind: str
    specs: tuple[tuple[str, Any], ...]
    train: Any
    device: str = "cpu"
    boundary: int = 60
    probes: tuple[str, ...] = ()
    stacked: bool | None = None
    block_attrs: tuple[tuple[str, str, Any], ...] = ()

    @property
    def names(self) -> list[str]:
        return [n for n, _s in self.specs]

    @property
    def spec_map(self) -> dict[str, Any]:
        return dict(self.specs)

    @property
    def weight(self) -> float:
        """A rough relative cost of one step of this run (its models' `step_cost` x the
        batch): a host spreads runs over its workers by it, so a class's deeper and
        shallower runs share the cores evenly (each worker trains its runs in turn)."""
        batch = getattr(self.train, "batch_size", 1) or 1
        return batch * sum(getattr(s, "step_cost", 1.0) for _n, s in self.specs)


@dataclass
class Snapshot:
    """A run as a page draws it: compact plain data, curves thinned to <= CURVE_POINTS.

    state: "ready" (built, no step yet) | "running" | "paused" | "finished" (step limit reached,
    or every model diverged) | "lost" (the worker died or the run was closed; `error` says why).
    `commands` lists the last commands applied, as (step at which they took effect, name): a
    command is applied between two steps, so step k means steps k, k+1, ... saw it.
    """

    version: int
    state: str
    step: int
    max_steps: int
    sps: float
    eta: float | None
    names: list[str]
    curves: dict[str, dict[str, list]] = field(default_factory=dict)
    last: dict[str, dict] = field(default_factory=dict)
    metrics: dict[str, dict] = field(default_factory=dict)
    boundary: dict[str, dict] | None = None
    skips: dict[str, list[bool]] = field(default_factory=dict)
    active: dict[str, list[bool]] = field(default_factory=dict)
    block_stats: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    probes: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    commands: list[tuple[int, str]] = field(default_factory=list)
    stacked: bool = False
    left: int = 0  # steps to go while running (to the step limit or a Step target)
    gang: str = ""  # runs with one gang on one host train as one pass (core.work_together)

    @property
    def finished(self) -> bool:
        return self.state == "finished"

    @property
    def running(self) -> bool:
        return self.state == "running"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def lost_snapshot(names: list[str], message: str, last: Snapshot | None = None) -> Snapshot:
    """What a handle shows once its run is gone: the last picture, state "lost", the reason."""
    if last is None:
        return Snapshot(version=0, state="lost", step=0, max_steps=0, sps=0.0, eta=None,
                        names=list(names), error=message)
    d = dict(last.__dict__)
    d.update(version=last.version + 1, state="lost", sps=0.0, eta=None, error=message, left=0)
    return Snapshot(**d)


def training(runs: Any) -> int:
    """How many of an executor's run records (with `.lost` and `.snapshot`) are training now,
    by their newest snapshot: what a page paces its redraws by."""
    return sum(1 for r in runs
               if r.lost is None and r.snapshot is not None and r.snapshot.state == "running")


def carry_boundary(previous: Snapshot | None, new: Snapshot) -> Snapshot:
    """Snapshots carry a boundary only when it changed; give `new` the last one it lacks.
    Every holder of "the newest snapshot" (the executor's store, the actor, the handle) does
    this, so a boundary is never lost when several snapshots arrive between two polls."""
    if new.boundary is None and previous is not None and previous.boundary is not None:
        new.boundary = previous.boundary
    return new
