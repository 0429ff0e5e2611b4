"""The single description of an experiment: what network, trained how, on what data.

Specs are frozen dataclasses so they hash: caches at the page edge and the disk store
key on them, and a spec round-trips through JSON and URL query parameters.
"""

from __future__ import annotations

import dataclasses
import json
import math
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
MAX_SEED = 2 ** 63 - 1  # seeds feed torch.Generator.manual_seed, a signed 64-bit integer
MAX_FEATURES = 4096  # input_shape (features,)
MAX_CHANNELS = 64  # input_shape (channels, h, w)
MAX_SIDE = 256
MAX_INPUT_ELEMENTS = 65_536  # one example's numbers, whatever the shape
MIN_SAMPLES, MAX_SAMPLES = 4, 200_000
MAX_STEPS = 1_000_000
MAX_BATCH = 100_000


class SpecError(ValueError):
    """A spec that cannot be built; the message is meant for the person who set it."""


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise SpecError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _check_range(name: str, value: float, lo: float, hi: float) -> None:
    if not lo <= value <= hi:  # NaN fails this too
        raise SpecError(f"{name} must be between {lo} and {hi}; got {value}")


def _check_seed(name: str, value: int) -> None:
    if not 0 <= value <= MAX_SEED:
        raise SpecError(f"{name} must be between 0 and 2**63 - 1; got {value}")


def _check_input_shape(shape: tuple[int, ...]) -> None:
    if len(shape) not in (1, 3):
        raise SpecError("input_shape must be (features,) or (channels, height, width)")
    his = (MAX_FEATURES,) if len(shape) == 1 else (MAX_CHANNELS, MAX_SIDE, MAX_SIDE)
    for name, v, hi in zip(("features",) if len(shape) == 1 else ("channels", "height", "width"),
                           shape, his):
        if not 1 <= v <= hi:
            raise SpecError(f"input_shape: {name} must be between 1 and {hi}; got {v}")
    if math.prod(shape) > MAX_INPUT_ELEMENTS:
        raise SpecError(f"input_shape {tuple(shape)} has {math.prod(shape)} numbers per example; "
                        f"at most {MAX_INPUT_ELEMENTS}")


# JSON types of every NetworkSpec field, for from_dict (a weights file or link is untrusted)
_INT, _NUM, _STR, _BOOL = "a whole number", "a number", "a string", "true or false"


def _json_type_ok(value: Any, kind: str) -> bool:
    if kind == _BOOL:
        return isinstance(value, bool)
    if isinstance(value, bool):  # True is an int in Python; not here
        return False
    if kind == _INT:
        return isinstance(value, int)
    if kind == _NUM:
        return isinstance(value, (int, float)) and math.isfinite(value)
    return isinstance(value, str)


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
        _check_seed("seed", self.seed)
        _check_input_shape(self.input_shape)
        if self.skips is not None and len(self.skips) != self.depth:
            raise SpecError(f"skip mask has {len(self.skips)} entries for {self.depth} blocks")

    @property
    def conv(self) -> bool:
        """Images get small conv blocks; points and 1D signals get MLP blocks."""
        return len(self.input_shape) == 3

    @property
    def step_cost(self) -> float:
        """A rough relative cost of one training step per example (blocks x width^2): how an
        engine spreads runs over its workers (resviz.engine.local)."""
        return float(self.depth * self.width * self.width)

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
        """A spec from JSON (a weights file, a link), type-checked field by field: "norm": "no"
        or "seed": 1.5 is refused, not coerced (bool("no") is True)."""
        if not isinstance(d, dict):
            raise SpecError(f"a network spec must be a JSON object; got {type(d).__name__}")
        kinds = {"family": _STR, "ordering": _STR, "depth": _INT, "width": _INT, "norm": _BOOL,
                 "activation": _STR, "n_classes": _INT, "gate_bias": _NUM, "seed": _INT, "init": _STR}
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - fields)
        if unknown:
            raise SpecError(f"unknown spec field(s): {', '.join(map(str, unknown))}")
        for name, kind in kinds.items():
            if name in d and not _json_type_ok(d[name], kind):
                raise SpecError(f"spec field {name} must be {kind}; got {d[name]!r}")
        d = dict(d)
        shape = d.get("input_shape", [2])
        if not isinstance(shape, (list, tuple)) or not all(_json_type_ok(v, _INT) for v in shape):
            raise SpecError(f"spec field input_shape must be a list of whole numbers; got {shape!r}")
        d["input_shape"] = tuple(shape)
        skips = d.get("skips")
        if skips is not None:
            if not isinstance(skips, (list, tuple)) or not all(isinstance(v, bool) for v in skips):
                raise SpecError(f"spec field skips must be a list of true/false or null; got {skips!r}")
            d["skips"] = tuple(skips)
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
    clip_norm: float | None = None  # largest gradient norm per model (Pascanu et al. 2013); None = off

    def __post_init__(self) -> None:
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_range("steps", self.steps, 0, MAX_STEPS)
        _check_range("batch_size", self.batch_size, 1, MAX_BATCH)
        _check_range("n_samples", self.n_samples, MIN_SAMPLES, MAX_SAMPLES)
        _check_range("noise", self.noise, 0.0, 10.0)
        _check_range("eval_every", self.eval_every, 1, 1_000_000)
        _check_seed("seed", self.seed)
        _check_seed("data_seed", self.data_seed)
        _check_range("weight_decay", self.weight_decay, 0.0, 1.0)
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise SpecError(f"learning rate must be a positive finite number; got {self.lr}")
        if self.stochastic_depth is not None:
            _check_range("stochastic_depth", self.stochastic_depth, 0.0, 1.0)
        if self.clip_norm is not None and not (self.clip_norm > 0 and math.isfinite(self.clip_norm)):
            raise SpecError(f"gradient clipping norm must be a positive finite number or off; "
                            f"got {self.clip_norm}")

    def replace(self, **changes: Any) -> TrainSpec:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def spec_key(*specs: Any) -> str:
    """A stable string key for caches: JSON of the specs' fields, sorted."""
    return json.dumps([dataclasses.asdict(s) if dataclasses.is_dataclass(s) else s for s in specs],
                      sort_keys=True, default=str)


