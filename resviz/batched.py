"""Train many same-shape networks as one: stacked weights, one batched op per layer.

A sweep trains a dozen tiny MLPs whose steps are launch-bound (Python and kernel-call
overhead, not arithmetic). Stacking the M models' weights into (M, out, in) tensors and
running each layer as a single `baddbmm` costs about as many calls as ONE model, so M
models train in little more than the time of one. The maths is exactly the per-model
maths: losses are summed, and each model's loss depends only on its own slice, so each
slice gets its own gradient; Adam and SGD are elementwise, so one optimiser over the
stacked tensors is M independent optimisers.

Batch normalisation: the stacked activations (M, W, B) are viewed as (1, M*W, B) and passed
to one `F.batch_norm` call whose running buffers are the M models' buffers laid end to
end. Each (model, channel) column gets its own batch statistics in training and its own
running statistics in evaluation, updated with the same momentum, exactly as if the
model were alone. (torch.func.vmap over nn.BatchNorm needs patched running stats and
departed from sequential training after a few steps in our measurements; this layout
is exact and faster.)

Supported: MLP nets of ResidualBlocks (plain and residual, all five orderings, norm on
or off, any activation). Other shapes raise NotBatchable; use resviz.train.Trainer.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping, Sequence

import torch
import torch.nn.functional as F

from resviz.data import Dataset
from resviz.models import ResVizNet, build
from resviz.registry import ACTIVATIONS
from resviz.spec import NetworkSpec, TrainSpec
from resviz.train import DIVERGE_FACTOR, Record, Trainer

BN_MOMENTUM, BN_EPS = 0.1, 1e-5


class NotBatchable(ValueError):
    """These networks cannot share stacked weights (different shapes or block kinds)."""


def shape_key(spec: NetworkSpec) -> NetworkSpec:
    """What must agree for two specs to stack: everything except family, seed and skips."""
    return spec.replace(family="residual", seed=0, skips=None)


def check_batchable(specs: Sequence[NetworkSpec]) -> None:
    if not specs:
        raise NotBatchable("no networks to train")
    for s in specs:
        if s.conv or s.family not in ("plain", "residual"):
            raise NotBatchable("only plain/residual MLP networks can be stacked")
    if len({shape_key(s) for s in specs}) > 1:
        raise NotBatchable("the networks differ in shape; stack only same-shape networks")


def batchable(specs: Sequence[NetworkSpec]) -> bool:
    try:
        check_batchable(specs)
    except NotBatchable:
        return False
    return True


class StackedNet:
    """M ResVizNets of one shape as stacked tensors; forward maps (B, in) to (M, classes, B)."""

    def __init__(self, specs: Sequence[NetworkSpec], device: str | torch.device = "cpu") -> None:
        check_batchable(specs)
        self.specs = list(specs)
        self.m = len(specs)
        s0 = specs[0]
        self.depth, self.ordering, self.norm = s0.depth, s0.ordering, s0.norm
        self.act = ACTIVATIONS[s0.activation].fn
        self.training = True
        states = [build(s).state_dict() for s in specs]
        self.t: dict[str, torch.Tensor] = {}
        for k in states[0]:
            v = torch.stack([st[k] for st in states]).to(device)
            if v.is_floating_point() and "running" not in k and not k.endswith(".skip"):
                v.requires_grad_(True)
            self.t[k] = v

    def parameters(self) -> list[torch.Tensor]:
        return [v for v in self.t.values() if v.requires_grad]

    def block_parameters(self) -> list[list[torch.Tensor]]:
        return [[v for k, v in self.t.items() if v.requires_grad and k.startswith(f"blocks.{i}.")]
                for i in range(self.depth)]

    def train(self, mode: bool = True) -> StackedNet:
        self.training = mode
        return self

    def _lin(self, h: torch.Tensor, name: str) -> torch.Tensor:
        """(M, in, B) -> (M, out, B): the weights (M, out, in) multiply from the left."""
        return torch.baddbmm(self.t[name + ".bias"].unsqueeze(2), self.t[name + ".weight"], h)

    def _bn(self, h: torch.Tensor, name: str) -> torch.Tensor:
        """(M, W, B) viewed as (1, M*W, B): one batch_norm call, stats per (model, unit)."""
        if not self.norm:
            return h
        m, w, b = h.shape
        t = self.t
        out = F.batch_norm(h.reshape(1, m * w, b), t[name + ".running_mean"].view(-1),
                           t[name + ".running_var"].view(-1), t[name + ".weight"].view(-1),
                           t[name + ".bias"].view(-1), self.training, BN_MOMENTUM, BN_EPS)
        return out.view(m, w, b)

    def count_batch(self) -> None:
        """nn.BatchNorm counts batches seen; keep the count so unstacked models match."""
        if self.norm and self.training:
            torch._foreach_add_(self._counters, 1)

    @property
    def _counters(self) -> list[torch.Tensor]:
        return [v for k, v in self.t.items() if k.endswith("num_batches_tracked")]

    def _block(self, x: torch.Tensor, i: int) -> torch.Tensor:
        """The five orderings of resviz.blocks.ResidualBlock, on stacked tensors."""
        p, a, o = f"blocks.{i}.", self.act, self.ordering
        skip = self.t[p + "skip"].view(-1, 1, 1)
        w1, w2 = (lambda h: self._lin(h, p + "w1")), (lambda h: self._lin(h, p + "w2"))
        n1, n2 = (lambda h: self._bn(h, p + "n1")), (lambda h: self._bn(h, p + "n2"))
        if o == "original":
            return a(x * skip + n2(w2(a(n1(w1(x))))))
        if o == "bn_after_add":
            return a(n2(x * skip + w2(a(n1(w1(x))))))
        if o == "relu_before_add":
            return x * skip + a(n2(w2(a(n1(w1(x))))))
        if o == "relu_preact":
            return x * skip + n2(w2(a(n1(w1(a(x))))))
        return x * skip + w2(a(n2(w1(a(n1(x))))))  # full_preact

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Inputs (B, in) -> logits (M, classes, B).

        Activations live as (models, units, batch): every layer is then one baddbmm and
        every batch norm one call on a free view, with no transposes or copies.
        """
        h = self._lin(x.t().unsqueeze(0).expand(self.m, -1, -1), "stem")
        for i in range(self.depth):
            h = self._block(h, i)
        self.count_batch()
        return self._lin(self.act(h), "head.2")

    def unstack(self) -> list[ResVizNet]:
        """Ordinary ResVizNets holding the current weights, for probes and figures."""
        out = []
        for i, spec in enumerate(self.specs):
            model = build(spec)
            model.load_state_dict({k: v[i].detach().cpu().clone() for k, v in self.t.items()})
            out.append(model.train(self.training))
        return out


def _losses(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-model mean cross-entropy of logits (M, classes, B)."""
    return F.cross_entropy(out, y.expand(out.shape[0], -1), reduction="none").mean(1)


class BatchedTrainer:
    """Trainer's interface (step, run, history, diverged, final) for stacked models.

    Same batches as resviz.train.Trainer with the same TrainSpec (same generator, same
    order), so a batched run and a sequential one give the same numbers up to rounding.
    """

    def __init__(self, specs: Mapping[str, NetworkSpec], data: Dataset, spec: TrainSpec,
                 device: str | torch.device = "cpu") -> None:
        if spec.stochastic_depth is not None:
            raise NotBatchable("stochastic depth is not supported by the batched trainer")
        self.spec, self.device = spec, torch.device(device)
        self.names = list(specs)
        self.net = StackedNet([specs[k] for k in self.names], self.device)
        self.optimizer = _optimizer(self.net.parameters(), spec)
        self.step_count = 0
        self._gen = torch.Generator().manual_seed(spec.seed)
        self._xtr, self._ytr = data.x_train.to(self.device), data.y_train.to(self.device)
        self._xte, self._yte = data.x_test.to(self.device), data.y_test.to(self.device)
        self.records: dict[str, list[Record]] = {k: [] for k in self.names}
        self.diverged_at: dict[str, int | None] = dict.fromkeys(self.names)
        self._first: list[float] | None = None
        self._frozen: dict[int, dict[str, torch.Tensor]] = {}

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(self._ytr)
        if self.spec.batch_size >= n:
            return self._xtr, self._ytr
        idx = torch.randint(0, n, (self.spec.batch_size,), generator=self._gen).to(self.device)
        return self._xtr[idx], self._ytr[idx]

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[list[float], list[float]]:
        """Per-model (losses, accuracies) in eval mode."""
        was = self.net.training
        out = self.net.train(False)(x)
        self.net.train(was)
        acc = (out.argmax(1) == y).float().mean(1)
        return _losses(out, y).tolist(), acc.tolist()

    def _freeze(self, i: int) -> None:
        self._frozen[i] = {k: v[i].detach().clone() for k, v in self.net.t.items()
                           if v.is_floating_point()}

    @torch.no_grad()
    def _restore_frozen(self) -> None:
        for i, saved in self._frozen.items():
            for k, v in saved.items():
                self.net.t[k][i] = v

    def step(self) -> dict[str, Record]:
        t0 = time.perf_counter()
        x, y = self._batch()
        self.optimizer.zero_grad(set_to_none=True)
        losses = _losses(self.net(x), y)
        losses.sum().backward()
        values = losses.tolist()
        self._first = values if self._first is None else self._first
        for i, (name, v) in enumerate(zip(self.names, values)):
            if self.diverged_at[name] is None and (
                    not math.isfinite(v) or v > DIVERGE_FACTOR * max(self._first[i], 1e-3)):
                self.diverged_at[name] = self.step_count
                self._freeze(i)
        self.optimizer.step()
        self._restore_frozen()
        wall = time.perf_counter() - t0
        out = {name: Record(name, self.step_count, v, [], wall,
                            diverged=self.diverged_at[name] is not None)
               for name, v in zip(self.names, values)}
        if self.step_count % self.spec.eval_every == 0 or self.step_count == self.spec.steps - 1:
            self._evaluate_into(out)
        for name, rec in out.items():
            self.records[name].append(rec)
        self.step_count += 1
        return out

    def _evaluate_into(self, recs: dict[str, Record]) -> None:
        _, tr_acc = self.evaluate(self._xtr, self._ytr)
        te_loss, te_acc = self.evaluate(self._xte, self._yte)
        for i, name in enumerate(self.names):
            if self.diverged_at[name] is None:
                recs[name].train_acc, recs[name].test_acc = tr_acc[i], te_acc[i]
                recs[name].test_loss = te_loss[i]

    def run(self, steps: int | None = None) -> Iterator[dict[str, Record]]:
        for _ in range(self.spec.steps if steps is None else steps):
            yield self.step()
            if all(v is not None for v in self.diverged_at.values()):
                return

    def history(self, name: str) -> list[Record]:
        return self.records[name]

    def diverged(self, name: str) -> int | None:
        return self.diverged_at[name]

    def finals(self) -> dict[str, dict[str, float | int | None]]:
        """Every model's full-set metrics at once (one batched evaluation)."""
        tl, ta = self.evaluate(self._xtr, self._ytr)
        _, te = self.evaluate(self._xte, self._yte)
        out: dict[str, dict[str, float | int | None]] = {}
        for i, name in enumerate(self.names):
            if self.diverged_at[name] is not None:
                out[name] = {"train_loss": math.nan, "train_acc": None, "test_acc": None,
                             "diverged_at": self.diverged_at[name]}
            else:
                out[name] = {"train_loss": tl[i], "train_acc": ta[i], "test_acc": te[i],
                             "diverged_at": None}
        return out

    def final(self, name: str) -> dict[str, float | int | None]:
        return self.finals()[name]

    @property
    def models(self) -> dict[str, ResVizNet]:
        return dict(zip(self.names, self.net.unstack()))


def _optimizer(params: list[torch.Tensor], spec: TrainSpec) -> torch.optim.Optimizer:
    """The same optimiser resviz.train builds; elementwise, so stacking changes nothing.

    foreach=True: on CPU PyTorch otherwise loops over the tensors in Python, which would
    cost more than the stacked forward and backward together.
    """
    if spec.optimizer == "sgd":
        return torch.optim.SGD(params, lr=spec.lr, momentum=0.9, weight_decay=spec.weight_decay,
                               foreach=True)
    return torch.optim.Adam(params, lr=spec.lr, weight_decay=spec.weight_decay, foreach=True)


def make_trainer(specs: Mapping[str, NetworkSpec], data: Dataset, spec: TrainSpec,
                 device: str | torch.device = "cpu",
                 batched: bool = True) -> BatchedTrainer | Trainer:
    """A BatchedTrainer when the specs stack, else the sequential lockstep Trainer."""
    if batched and spec.stochastic_depth is None and batchable(list(specs.values())):
        return BatchedTrainer(specs, data, spec, device)
    return Trainer({k: build(s) for k, s in specs.items()}, data, spec, device)
