"""The single description of an experiment: what network, trained how, on what data.

Specs are frozen dataclasses so they hash: caches at the page edge and the disk store
key on them, and a spec round-trips through JSON and URL query parameters.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Literal, get_args

from resviz import registry

Family = Literal["plain", "residual", "highway", "gated"]
Ordering = str  # a key of resviz.registry.ORDERINGS
Activation = str  # a key of resviz.registry.ACTIVATIONS
Optimizer = Literal["adam", "sgd"]
Init = Literal["he", "pytorch", "orthogonal"]

FAMILIES: tuple[str, ...] = get_args(Family)
ORDERINGS: tuple[str, ...] = tuple(registry.ORDERINGS)  # the registry is the one list
ACTIVATIONS: tuple[str, ...] = tuple(registry.ACTIVATIONS)
OPTIMIZERS: tuple[str, ...] = get_args(Optimizer)
INITS: tuple[str, ...] = get_args(Init)  # resviz.init.INITIALISERS holds what each one does
MAX_DEPTH = 100
MAX_WIDTH = 256


class SpecError(ValueError):
    """A spec that cannot be built; the message is meant for the person who set it."""


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise SpecError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _check_range(name: str, value: float, lo: float, hi: float) -> None:
    if not lo <= value <= hi:
        raise SpecError(f"{name} must be between {lo} and {hi}; got {value}")


@dataclass(frozen=True)
class NetworkSpec:
    """A network: family, residual-unit ordering (He et al. 2016), depth in blocks, width.

    `skips` is the initial per-block skip mask (None = the family's default: on for
    residual/highway/gated, off for plain). Skips can also be toggled on a built model.
    `input_shape` is (features,) for MLP blocks or (channels, h, w) for conv blocks.
    """

    family: Family = "residual"
    ordering: Ordering = "original"
    depth: int = 20
    width: int = 32
    norm: bool = True
    activation: Activation = "relu"
    input_shape: tuple[int, ...] = (2,)
    n_classes: int = 2
    gate_bias: float = -2.0
    skips: tuple[bool, ...] | None = None
    seed: int = 0
    init: Init = "he"

    def __post_init__(self) -> None:
        _check_choice("family", self.family, FAMILIES)
        _check_choice("init", self.init, INITS)
        _check_choice("ordering", self.ordering, ORDERINGS)
        _check_choice("activation", self.activation, ACTIVATIONS)
        _check_range("depth", self.depth, 1, MAX_DEPTH)
        _check_range("width", self.width, 1, MAX_WIDTH)
        _check_range("n_classes", self.n_classes, 2, 1000)
        _check_range("gate_bias", self.gate_bias, -10, 10)
        if len(self.input_shape) not in (1, 3):
            raise SpecError("input_shape must be (features,) or (channels, height, width)")
        if self.skips is not None and len(self.skips) != self.depth:
            raise SpecError(f"skip mask has {len(self.skips)} entries for {self.depth} blocks")

    @property
    def conv(self) -> bool:
        """Images get small conv blocks; points and 1D signals get MLP blocks."""
        return len(self.input_shape) == 3

    @property
    def skip_mask(self) -> tuple[bool, ...]:
        if self.skips is not None:
            return tuple(self.skips)
        return (self.family != "plain",) * self.depth

    def replace(self, **changes: Any) -> NetworkSpec:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NetworkSpec:
        d = dict(d)
        d["input_shape"] = tuple(d.get("input_shape", (2,)))
        if d.get("skips") is not None:
            d["skips"] = tuple(bool(s) for s in d["skips"])
        return cls(**d)


@dataclass(frozen=True)
class TrainSpec:
    """How to train and on what data; the data set's own knobs live here too."""

    dataset: str = "spirals"
    n_samples: int = 1000
    noise: float = 0.1
    data_seed: int = 0
    steps: int = 300
    lr: float = 0.01
    optimizer: Optimizer = "adam"
    batch_size: int = 128
    weight_decay: float = 0.0
    seed: int = 0
    eval_every: int = 25
    stochastic_depth: float | None = None  # p_L of Huang et al. 2016; None = off

    def __post_init__(self) -> None:
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_range("steps", self.steps, 0, 1_000_000)
        _check_range("batch_size", self.batch_size, 1, 100_000)
        _check_range("n_samples", self.n_samples, 4, 200_000)
        _check_range("noise", self.noise, 0.0, 10.0)
        _check_range("eval_every", self.eval_every, 1, 1_000_000)
        if not self.lr > 0:
            raise SpecError(f"learning rate must be positive; got {self.lr}")
        if self.stochastic_depth is not None:
            _check_range("stochastic_depth", self.stochastic_depth, 0.0, 1.0)

    def replace(self, **changes: Any) -> TrainSpec:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def spec_key(*specs: Any) -> str:
    """A stable string key for caches: JSON of the specs' fields, sorted."""
    return json.dumps([dataclasses.asdict(s) if dataclasses.is_dataclass(s) else s for s in specs],
                      sort_keys=True, default=str)


