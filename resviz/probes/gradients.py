"""Gradient flow: per-block gradient norms at init and over training, forward signal, update sizes.

Two measures, side by side:

- parameter gradient of block l: the L2 norm of dL/dtheta_l (the number resviz.train records
  every step), so a chart at initialisation and a heatmap over training use one measure;
- input gradient of block l: the L2 norm of dL/dx_l, the gradient reaching the block's
  *input* (He et al. 2016, eq. 4-5). With identity skips x_L = x_l + sum_i F(x_i), so
  dL/dx_l = dL/dx_L (1 + d/dx_l sum_i F): a term no weight layer can cancel.

Block 1 is nearest the input. Which one vanishes depends on the init and on normalisation
(He et al. 2015 §4.1: with BN and He init a plain net's gradients are healthy, and it still
degrades), so the profile takes the spec's init.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from resviz.data import Dataset
from resviz.models import ResVizNet, build
from resviz.spec import ORDERINGS, NetworkSpec, TrainSpec
from resviz.train import Trainer, block_grad_norms


def init_grad_norms(model: ResVizNet, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """One forward/backward in training mode (batch statistics), gradients per block."""
    was = model.training
    model.train()
    model.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(model(x), y).backward()
    norms = block_grad_norms([list(b.parameters()) for b in model.blocks])
    model.zero_grad(set_to_none=True)
    model.train(was)
    return norms


def input_grad_norms(model: ResVizNet, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """||dL/dx_l|| for the input x_l of every block l (training mode, batch statistics).

    x_1 is the stem's output; x_l is block l-1's output. The gradients are kept with
    retain_grad on the very tensors the forward pass passes from block to block.
    """
    was = model.training
    model.train()
    model.zero_grad(set_to_none=True)
    h = model.stem(x)
    inputs = []
    for block in model.blocks:
        h.retain_grad()
        inputs.append(h)
        h = block(h)
    nn.functional.cross_entropy(model.head(h), y).backward()
    norms = [float(t.grad.norm()) if t.grad is not None else 0.0 for t in inputs]
    model.zero_grad(set_to_none=True)
    model.train(was)
    return norms


def first_last_ratio(norms: Sequence[float]) -> float:
    """Gradient norm of block 1 (input end) over the last block's: <1 vanishing, >1 exploding."""
    last = norms[-1]
    if last == 0 or not math.isfinite(last):
        return math.nan
    return norms[0] / last


def measuring_batch(data: Dataset, n: int = 256, test: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """n points spread evenly over the (class-sorted) training or test set.

    The stored sets are split class by class, so their first n points can all be one class:
    a batch of one class gives a loss a net can drive to zero by its bias alone, and
    gradients that say nothing about depth. Evenly strided indices take every class.
    """
    x, y = (data.x_test, data.y_test) if test else (data.x_train, data.y_train)
    idx = torch.linspace(0, len(y) - 1, min(n, len(y))).round().long()
    return x[idx], y[idx]


def init_profile(spec: NetworkSpec, data: Dataset, n: int = 256) -> dict:
    """Per-block parameter- and input-gradient norms of a freshly built net, first n points.

    Float64, because a deep plain net's input-end gradients with PyTorch's default init
    (about 1e-19 at 50 blocks without BN) come close to float32's range, and a log chart
    cannot show zero.
    """
    spec = spec.replace(input_shape=data.input_shape, n_classes=data.n_classes)
    model = build(spec).double()
    x, y = measuring_batch(data, n)
    x = x.double()
    norms = init_grad_norms(model, x, y)
    inputs = input_grad_norms(model, x, y)
    return {"spec": spec.to_dict(), "grad_norms": norms, "ratio": first_last_ratio(norms),
            "input_grads": inputs, "input_ratio": first_last_ratio(inputs)}


def variant_specs(depth: int, norm: bool, width: int = 32, init: str = "he") -> dict[str, NetworkSpec]:
    """Plain, residual in each ordering, highway and gated: the init-chart line-up."""
    base = NetworkSpec(depth=depth, width=width, norm=norm, init=init)
    out = {"plain": base.replace(family="plain")}
    for o in ORDERINGS:
        out[f"residual ({o})"] = base.replace(ordering=o)
    out["highway"] = base.replace(family="highway")
    out["gated"] = base.replace(family="gated")
    return out


@torch.no_grad()
def forward_std(model: ResVizNet, x: torch.Tensor) -> list[float]:
    """Forward signal of the stem and of every block: std ACROSS INPUTS per unit, averaged.

    Across inputs, not over all numbers: a dying plain net still outputs its biases, which
    have a spread, but the same for every input; what vanishes is the input's imprint.
    """
    was = model.training
    model.eval()
    stds = [float(h.reshape(len(x), -1).std(0).mean()) for h in model.features(x)]
    model.train(was)
    return stds


def _block_vectors(model: ResVizNet) -> list[torch.Tensor]:
    return [torch.cat([p.detach().reshape(-1) for p in b.parameters()]) for b in model.blocks]


@dataclass
class GradientRun:
    """Train models in lockstep while recording, per step and block, what gradient flow needs.

    grads[name][t][i]   parameter-gradient norm of block i at step t
    updates[name][t][i] ||w_after - w_before|| / ||w_before|| of block i at step t
    act_std[name][k]    forward signal (std per block output) at step probe_steps[k]
    """

    trainer: Trainer
    probe_x: torch.Tensor
    probe_every: int = 10
    grads: dict[str, list[list[float]]] = field(default_factory=dict)
    updates: dict[str, list[list[float]]] = field(default_factory=dict)
    act_std: dict[str, list[list[float]]] = field(default_factory=dict)
    probe_steps: list[int] = field(default_factory=list)

    @classmethod
    def start(cls, specs: Mapping[str, NetworkSpec], data: Dataset, tspec: TrainSpec,
              device: str = "cpu", probe_every: int = 10) -> GradientRun:
        models = {k: build(s.replace(input_shape=data.input_shape, n_classes=data.n_classes))
                  for k, s in specs.items()}
        probe_x = measuring_batch(data, 256, test=True)[0].to(device)
        run = cls(Trainer(models, data, tspec, device), probe_x, probe_every)
        for k in models:
            run.grads[k], run.updates[k], run.act_std[k] = [], [], []
        return run

    @property
    def steps(self) -> int:
        return self.trainer.step_count

    @property
    def done(self) -> bool:
        return self.steps >= self.trainer.spec.steps or all(
            self.trainer.diverged(k) is not None for k in self.trainer.states)

    def _probe(self) -> None:
        self.probe_steps.append(self.steps)
        for k, m in self.trainer.models.items():
            self.act_std[k].append(forward_std(m, self.probe_x))  # type: ignore[arg-type]

    def advance(self, n: int) -> int:
        """Train up to n more steps (never past the spec's steps); returns steps done."""
        done = 0
        while done < n and not self.done:
            if self.steps % self.probe_every == 0:
                self._probe()
            before = {k: _block_vectors(m) for k, m in self.trainer.models.items()}
            recs = self.trainer.step()
            for k, m in self.trainer.models.items():
                after = _block_vectors(m)  # type: ignore[arg-type]
                self.updates[k].append([float((a - b).norm() / b.norm().clamp_min(1e-12))
                                        for a, b in zip(after, before[k])])
                self.grads[k].append(recs[k].grad_norms)
            done += 1
        if self.done and (not self.probe_steps or self.probe_steps[-1] != self.steps):
            self._probe()
        return done

    def summary(self) -> dict:
        """Plain data for figures, tables and the store."""
        return {"grads": self.grads, "updates": self.updates, "act_std": self.act_std,
                "probe_steps": self.probe_steps, "steps": self.steps,
                "final": {k: self.trainer.final(k) for k in self.trainer.states}}


def grad_matrix(rows: Sequence[Sequence[float]]) -> np.ndarray:
    """Steps x blocks array of gradient norms (from GradientRun or trainer records)."""
    return np.asarray([list(r) for r in rows], dtype=float)


# The two settings the story-vs-measurement panel compares (He et al. 2015 §4.1):
# the popular story's (no normalisation, PyTorch's small default init) and the paper's own.
STORY_SETTINGS: dict[str, dict[str, object]] = {
    "story": {"norm": False, "init": "pytorch"},
    "paper": {"norm": True, "init": "he"},
}
VANISH, EXPLODE = 1e-3, 1e3  # first/last input-gradient ratios beyond these are not healthy


def verdict(ratio: float) -> str:
    """'vanishes', 'grows' or 'healthy' for a first/last input-gradient ratio."""
    if not math.isfinite(ratio):
        return "broken"
    if ratio < VANISH:
        return "vanishes"
    return "grows" if ratio > EXPLODE else "healthy"


def story_vs_measurement(depth: int, data: Dataset, seeds: int = 3, width: int = 32) -> dict:
    """First/last ratios of ||dL/dx_l|| at init, plain and residual, in both settings, per seed.

    {setting: {family: [ratio per seed]}}; the verdict of the median is what a panel says.
    """
    out: dict[str, dict[str, list[float]]] = {}
    for case, kw in STORY_SETTINGS.items():
        out[case] = {}
        for fam in ("plain", "residual"):
            specs = [NetworkSpec(family=fam, depth=depth, width=width, seed=s, **kw)  # type: ignore[arg-type]
                     for s in range(seeds)]
            out[case][fam] = [init_profile(s, data)["input_ratio"] for s in specs]
    return out


def median(values: Sequence[float]) -> float:
    """The middle value (the lower middle for an even count: ratios span decades, so no mean)."""
    v = sorted(values)
    return v[(len(v) - 1) // 2] if v else math.nan
