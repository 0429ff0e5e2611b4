"""A step-wise trainer: several models in lockstep on the same batches, one record per step.

The trainer is an object, not a loop, so a page can run it in short chunks between
reruns (interruptible by the next click), the live-run engine (resviz.engine) can step
it between commands, and a notebook can iterate `run()` directly. A model whose loss
turns non-finite is marked diverged and frozen; nothing raises.

`TrainerLike` is the one public face that this Trainer and resviz.batched.BatchedTrainer
share (step, run, steps, history, final, diverged, models, test_set); `LockstepBase`
holds what both do the same way (the batch stream, the evaluation schedule, the step
limit, the divergence rule), written once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Protocol, runtime_checkable

import torch
from torch import nn

from resviz.blocks import install_stochastic_depth, survival_schedule  # noqa: F401 (re-export)
from resviz.data import Dataset
from resviz.models import ResVizNet
from resviz.spec import SpecError, TrainSpec

DIVERGE_FACTOR = 1e4  # loss this many times its first value counts as divergence


@dataclass
class Record:
    """One model at one step. Accuracies are filled on evaluation steps, else None."""

    model: str
    step: int
    loss: float
    grad_norms: list[float]
    wall: float
    train_acc: float | None = None
    test_acc: float | None = None
    test_loss: float | None = None
    diverged: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ModelState:
    model: nn.Module
    optimizer: torch.optim.Optimizer
    groups: list[list[nn.Parameter]]
    records: list[Record] = field(default_factory=list)
    diverged_at: int | None = None
    first_loss: float | None = None


def make_optimizer(model: nn.Module | list[torch.Tensor], spec: TrainSpec
                   ) -> torch.optim.Optimizer:
    """The optimiser of every trainer, over a model's parameters or a list of tensors.

    foreach=True: one fused update over all tensors (PyTorch loops per tensor on the CPU).
    Adam and SGD are elementwise, so stacked tensors (resviz.batched) get the same update.
    """
    params = list(model.parameters()) if isinstance(model, nn.Module) else list(model)
    if spec.optimizer == "sgd":
        return torch.optim.SGD(params, lr=spec.lr, momentum=0.9,
                               weight_decay=spec.weight_decay, foreach=True)
    return torch.optim.Adam(params, lr=spec.lr, weight_decay=spec.weight_decay, foreach=True)


def blew_up(loss: float, first: float) -> bool:
    """The divergence rule: a non-finite loss, or DIVERGE_FACTOR times the first loss."""
    return not math.isfinite(loss) or loss > DIVERGE_FACTOR * max(first, 1e-3)


def block_grad_norms(groups: list[list[nn.Parameter]]) -> list[float]:
    """L2 norm of each block's parameter gradient, one fused call per step."""
    flat = [p.grad for g in groups for p in g if p.grad is not None]
    if not flat:
        return [0.0] * len(groups)
    norms = torch._foreach_norm(flat)
    sq = torch.stack(norms).pow(2).tolist()
    out, i = [], 0
    for g in groups:
        n = sum(1 for p in g if p.grad is not None)
        out.append(math.sqrt(sum(sq[i:i + n])))
        i += n
    return out


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(loss, accuracy) in eval mode; restores the previous mode."""
    was = model.training
    model.eval()
    out = model(x)
    model.train(was)
    loss = nn.functional.cross_entropy(out, y).item()
    return loss, (out.argmax(1) == y).float().mean().item()


def check_batch(models: Mapping[str, nn.Module], spec: TrainSpec, n_train: int) -> None:
    """Batch norm in training mode needs two values per channel: refuse a batch of one up front
    (torch's own error names no option)."""
    if min(spec.batch_size, n_train) >= 2:
        return
    if any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for model in models.values()
           for m in model.modules()):
        raise SpecError("batch normalisation needs a batch of at least 2; use a batch size of 2 or "
                        "more, or turn batch normalisation off")



@runtime_checkable
class TrainerLike(Protocol):
    """What pages, probes and the engine may use of a trainer: nothing private.

    `steps` (= `step_count`) steps done so far; `limit` the step limit (spec.steps until the
    engine extends it); `test_set` / `train_set` the (x, y) tensors on the trainer's device.
    """

    spec: TrainSpec
    step_count: int
    limit: int

    @property
    def steps(self) -> int: ...

    @property
    def names(self) -> list[str]: ...

    @property
    def models(self) -> dict[str, nn.Module]: ...

    @property
    def test_set(self) -> tuple[torch.Tensor, torch.Tensor]: ...

    @property
    def train_set(self) -> tuple[torch.Tensor, torch.Tensor]: ...

    def step(self) -> dict[str, Record]: ...

    def run(self, steps: int | None = None) -> Iterator[dict[str, Record]]: ...

    def history(self, name: str) -> list[Record]: ...

    def diverged(self, name: str) -> int | None: ...

    def final(self, name: str) -> dict[str, float | int | None]: ...

    def finals(self) -> dict[str, dict[str, float | int | None]]: ...


class LockstepBase:
    """The parts every lockstep trainer shares: data on the device, one seeded batch stream
    (so two trainers with one TrainSpec draw the same batches in the same order), the
    evaluation schedule, the step limit and `run()`."""

    def _setup(self, data: Dataset, spec: TrainSpec, device: str | torch.device) -> None:
        self.spec, self.data, self.device = spec, data, torch.device(device)
        self.step_count = 0
        self.limit = spec.steps
        self._gen = torch.Generator().manual_seed(spec.seed)
        self._xtr, self._ytr = data.x_train.to(self.device), data.y_train.to(self.device)
        self._xte, self._yte = data.x_test.to(self.device), data.y_test.to(self.device)

    @property
    def steps(self) -> int:
        return self.step_count

    @property
    def test_set(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self._xte, self._yte

    @property
    def train_set(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self._xtr, self._ytr

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(self._ytr)
        if self.spec.batch_size >= n:
            return self._xtr, self._ytr
        idx = torch.randint(0, n, (self.spec.batch_size,), generator=self._gen)
        idx = idx.to(self.device)
        return self._xtr[idx], self._ytr[idx]

    def adopt_progress(self, other: LockstepBase) -> None:
        """Continue another trainer's run: its step count, step limit and batch stream."""
        self.step_count, self.limit = other.step_count, other.limit
        self._gen.set_state(other._gen.get_state())

    def _eval_due(self, step: int) -> bool:
        """Evaluate every eval_every steps and on the last step before the limit."""
        return step % self.spec.eval_every == 0 or step == self.limit - 1

    def all_diverged(self) -> bool:
        return all(self.diverged(k) is not None for k in self.names)  # type: ignore[attr-defined]

    def finals(self) -> dict[str, dict[str, float | int | None]]:
        return {k: self.final(k) for k in self.names}  # type: ignore[attr-defined]

    def run(self, steps: int | None = None) -> Iterator[dict[str, Record]]:
        """Yield after every step; stop early if every model diverged."""
        for _ in range(self.spec.steps if steps is None else steps):
            yield self.step()  # type: ignore[attr-defined]
            if self.all_diverged():
                return


class Trainer(LockstepBase):
    """Train named models in lockstep: same batches, same order, same steps."""

    def __init__(self, models: Mapping[str, nn.Module], data: Dataset, spec: TrainSpec,
                 device: str | torch.device = "cpu") -> None:
        check_batch(models, spec, len(data.y_train))
        self._setup(data, spec, device)
        self.states: dict[str, ModelState] = {}
        for name, model in models.items():
            model.to(self.device).train()
            if spec.stochastic_depth is not None and isinstance(model, ResVizNet):
                install_stochastic_depth(model.blocks, spec.stochastic_depth, spec.seed)
            groups = [list(b.parameters()) for b in model.blocks] if isinstance(
                model, ResVizNet) else [list(model.parameters())]
            self.states[name] = ModelState(model, make_optimizer(model, spec), groups)

    @property
    def names(self) -> list[str]:
        return list(self.states)

    @property
    def models(self) -> dict[str, nn.Module]:
        return {k: s.model for k, s in self.states.items()}

    def history(self, name: str) -> list[Record]:
        return self.states[name].records

    def diverged(self, name: str) -> int | None:
        return self.states[name].diverged_at

    def _step_model(self, name: str, st: ModelState, x: torch.Tensor, y: torch.Tensor,
                    t0: float) -> Record:
        step = self.step_count
        if st.diverged_at is not None:
            rec = Record(name, step, math.nan, [0.0] * len(st.groups), 0.0, diverged=True)
            st.records.append(rec)
            return rec
        st.optimizer.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(st.model(x), y)
        loss.backward()
        grads = block_grad_norms(st.groups)
        value = loss.item()
        st.first_loss = value if st.first_loss is None else st.first_loss
        if blew_up(value, st.first_loss) or not all(math.isfinite(g) for g in grads):
            st.diverged_at = step
        else:
            if self.spec.clip_norm is not None:  # after the norms are recorded: they stay true
                nn.utils.clip_grad_norm_(st.model.parameters(), self.spec.clip_norm)
            st.optimizer.step()
        rec = Record(name, step, value, grads, time.perf_counter() - t0,
                     diverged=st.diverged_at is not None)
        if self._eval_due(step):
            self._evaluate(st, rec)
        st.records.append(rec)
        return rec

    def _evaluate(self, st: ModelState, rec: Record) -> None:
        if st.diverged_at is not None:
            return
        _, rec.train_acc = evaluate(st.model, self._xtr, self._ytr)
        rec.test_loss, rec.test_acc = evaluate(st.model, self._xte, self._yte)

    def step(self) -> dict[str, Record]:
        """One lockstep step of every model; returns each model's record."""
        x, y = self._batch()
        out = {}
        for name, st in self.states.items():
            out[name] = self._step_model(name, st, x, y, time.perf_counter())
        self.step_count += 1
        return out

    def final(self, name: str) -> dict[str, float | int | None]:
        """The model's current full-set metrics and divergence step, for summaries."""
        st = self.states[name]
        if st.diverged_at is not None:
            return {"train_loss": math.nan, "train_acc": None, "test_acc": None,
                    "diverged_at": st.diverged_at}
        tl, ta = evaluate(st.model, self._xtr, self._ytr)
        _, te = evaluate(st.model, self._xte, self._yte)
        return {"train_loss": tl, "train_acc": ta, "test_acc": te, "diverged_at": None}
