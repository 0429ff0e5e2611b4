"""Dynamic depth: which blocks does a trained residual net actually use?

The article's claim: a ResNet learns to skip the layers it does not need. A block whose
branch adds little, ||f_i(x)|| / ||x_i|| near 0, is close to the identity: the net has
in effect removed it. Measured per block with `block.record` (blocks store the ratio
on every forward), on fixed inputs, in eval mode, while a Trainer runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from resviz.data import Dataset
from resviz.models import ResVizNet, recording
from resviz.spec import TrainSpec
from resviz.train import Trainer

ACTIVE_THRESHOLD = 0.1  # a block that changes its input by less than 10% counts as skipped


@torch.no_grad()
def branch_ratios(model: ResVizNet, x: torch.Tensor) -> list[float]:
    """||f_i(x_i)|| / ||x_i|| for every block on inputs x; 0 for a deleted block."""
    was = model.training
    model.eval()
    for b in model.blocks:
        b.stats = {}
    try:
        with recording(model):
            model(x)
    finally:
        model.train(was)
    return [float(b.stats.get("branch_ratio", 0.0)) for b in model.blocks]


def active_count(ratios: list[float] | np.ndarray, threshold: float = ACTIVE_THRESHOLD) -> int:
    """Blocks whose branch changes the signal by at least `threshold` of its size."""
    return int((np.asarray(ratios) >= threshold).sum())


@dataclass
class DepthTrace:
    """Branch ratios per block over training: ratios[t][i] at steps[t]."""

    steps: list[int] = field(default_factory=list)
    ratios: list[list[float]] = field(default_factory=list)
    test_acc: float | None = None

    def active(self, threshold: float = ACTIVE_THRESHOLD) -> list[int]:
        return [active_count(r, threshold) for r in self.ratios]

    def to_dict(self) -> dict:
        return asdict(self)


def train_traced(model: ResVizNet, data: Dataset, tspec: TrainSpec, every: int = 10,
                 probe_size: int = 256, progress: Callable[[float], None] | None = None,
                 device: str = "cpu") -> DepthTrace:
    """Train `model` with a Trainer and record its branch ratios every `every` steps.

    Ratios are taken on the first `probe_size` test points, the same ones every time.
    """
    trainer = Trainer({"model": model}, data, tspec, device)
    x = data.x_test[:probe_size].to(device)
    trace = DepthTrace()
    trace.steps.append(0)
    trace.ratios.append(branch_ratios(model, x))
    for recs in trainer.run():
        step = recs["model"].step + 1
        if step % every == 0 or step == tspec.steps:
            trace.steps.append(step)
            trace.ratios.append(branch_ratios(model, x))
            if progress is not None:
                progress(step / max(1, tspec.steps))
    trace.test_acc = trainer.final("model")["test_acc"]
    return trace
