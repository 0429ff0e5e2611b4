"""Dynamic depth and iterative refinement: what each block of a trained net really does.

Three measurements per block i, all from the block's input x_i and output y_i = x_{i+1}
(`model.features`), so they hold for every block kind and ordering without looking inside:

- update ratio  ||y_i − x_i|| / ||x_i||: the block's real update (Greff et al. 2017). For the
  `original` ordering y = relu(x + f(x)), so this is not ||f(x)|| / ||x||: the final ReLU is
  part of what the block does to its input.
- refinement    cos(y_i − x_i, −∂L/∂x_i), averaged over examples (Jastrzebski et al. 2018):
  positive when the block moves its input downhill on the loss, as one step of iterative
  inference would.
- deletion cost accuracy lost when the block alone is deleted (Veit et al.'s lesion). A block
  counts as *active* when that cost is at least ACTIVE_COST: the behavioural definition, which
  a norm ratio is not (a block may change its input a lot and still be deletable).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from resviz.data import Dataset
from resviz.models import ResVizNet
from resviz.probes.lesion import deletion_cost
from resviz.spec import TrainSpec
from resviz.train import Trainer

ACTIVE_COST = 0.01  # a block whose deletion costs at least 1 point of test accuracy is active


def _flat(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1)


def block_updates(model: ResVizNet, x: torch.Tensor, y: torch.Tensor) -> dict[str, list[float]]:
    """Per block: update ratio ||y_i − x_i|| / ||x_i|| (over the batch) and cos(y_i − x_i, −∂L/∂x_i).

    Eval mode (batch norm per example). A deleted block has update 0 and cosine 0.
    """
    was = model.training
    model.eval()
    try:
        hs = [model.stem(x).detach().requires_grad_(True)]
        for block in model.blocks:
            hs.append(block(hs[-1]))
        loss = nn.functional.cross_entropy(model.head(hs[-1]), y)
        grads = torch.autograd.grad(loss, hs[:-1])  # ∂L/∂x_i, the gradient at each block's input
    finally:
        model.train(was)
    ratios, cosines = [], []
    with torch.no_grad():
        for xi, yi, g in zip(hs[:-1], hs[1:], grads):
            upd = _flat(yi - xi)
            ratios.append(float(upd.norm() / xi.norm().clamp_min(1e-12)))
            cos = nn.functional.cosine_similarity(upd, -_flat(g), dim=1, eps=1e-12)
            cosines.append(float(cos.mean()))
    return {"update_ratio": ratios, "refinement_cos": cosines}


def update_ratios(model: ResVizNet, x: torch.Tensor) -> list[float]:
    """||y_i − x_i|| / ||x_i|| for every block on inputs x; 0 for a deleted block."""
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            hs = model.features(x)
    finally:
        model.train(was)
    return [float(_flat(b - a).norm() / a.norm().clamp_min(1e-12)) for a, b in zip(hs, hs[1:])]


def active_count(costs: list[float] | np.ndarray, threshold: float = ACTIVE_COST) -> int:
    """Blocks whose deletion costs at least `threshold` of test accuracy."""
    return int((np.asarray(costs) >= threshold).sum())


@dataclass
class DepthTrace:
    """Per block over training, at steps[t]: update ratio, refinement cosine, deletion cost."""

    steps: list[int] = field(default_factory=list)
    ratios: list[list[float]] = field(default_factory=list)
    cosines: list[list[float]] = field(default_factory=list)
    costs: list[list[float]] = field(default_factory=list)
    test_acc: float | None = None

    def record(self, step: int, model: ResVizNet, x: torch.Tensor, y: torch.Tensor) -> None:
        u = block_updates(model, x, y)
        self.steps.append(step)
        self.ratios.append(u["update_ratio"])
        self.cosines.append(u["refinement_cos"])
        self.costs.append(deletion_cost(model, x, y))

    def active(self, threshold: float = ACTIVE_COST) -> list[int]:
        return [active_count(c, threshold) for c in self.costs]

    def to_dict(self) -> dict:
        return asdict(self)


def train_traced(model: ResVizNet, data: Dataset, tspec: TrainSpec, every: int = 10,
                 probe_size: int = 256, progress: Callable[[float], None] | None = None,
                 device: str = "cpu") -> DepthTrace:
    """Train `model` with a Trainer and record every block's update, refinement and deletion cost
    every `every` steps, on the first `probe_size` test points (the same ones every time)."""
    trainer = Trainer({"model": model}, data, tspec, device)
    x, y = data.x_test[:probe_size].to(device), data.y_test[:probe_size].to(device)
    trace = DepthTrace()
    trace.record(0, model, x, y)
    for recs in trainer.run():
        step = recs["model"].step + 1
        if step % every == 0 or step == tspec.steps:
            trace.record(step, model, x, y)
            if progress is not None:
                progress(step / max(1, tspec.steps))
    trace.test_acc = trainer.final("model")["test_acc"]
    return trace
