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
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

from resviz.data import Dataset
from resviz.flatparams import FlatParams
from resviz.models import ResVizNet, build
from resviz.registry import ACTIVATIONS
from resviz.spec import NetworkSpec, TrainSpec
from resviz.train import LockstepBase, Record, Trainer, blew_up, make_optimizer

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


def _compute_shape(key: str, v: torch.Tensor, names: Mapping[str, object]) -> tuple[int, ...]:
    """The shape StackedNet's forward uses a stacked tensor v (M, *shape) in: a batch norm's
    weight and bias (M*W,), as F.batch_norm takes them (see _bn); a linear bias (M, out, 1),
    to add to (M, out, B); a weight (M, out, in), as is."""
    if key.rsplit(".", 1)[0] + ".running_mean" in names:
        return (v.numel(),)
    if key.endswith(".bias"):
        return (*v.shape, 1)
    return tuple(v.shape)


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
        # t: every tensor as the M models' own, (M, *shape), for reading and writing one model;
        # leaf: the trained ones in the shape the forward uses them (see _compute_shape), so
        # a step builds no view or unsqueeze nodes. A trained t[k] is a view of leaf[k], and
        # every leaf lives in one flat buffer (resviz.flatparams): one optimiser call a step.
        self.t: dict[str, torch.Tensor] = {}
        self.leaf: dict[str, torch.Tensor] = {}
        for k in states[0]:
            v = torch.stack([st[k] for st in states]).to(device)
            self.t[k] = v
            if v.is_floating_point() and "running" not in k and not k.endswith(".skip"):
                shape = _compute_shape(k, v, states[0])
                self.leaf[k] = v.reshape(shape).clone().requires_grad_(True)
        self.keys = list(self.leaf)
        self.flat = FlatParams(
            self.parameters(),
            [self._group(k).expand(self.t[k].shape).reshape(self.leaf[k].shape) for k in self.keys],
            self.m * self.depth)
        for k in self.keys:
            self.t[k] = self.leaf[k].detach().view(self.t[k].shape)
        # the other float tensors (batch norms' running statistics, skip switches) laid end
        # to end in one buffer too, so a Gang moves them in and out in one call each
        self.buf_keys = [k for k, v in self.t.items() if v.is_floating_point() and k not in self.leaf]
        self.bufs = torch.cat([self.t[k].reshape(-1) for k in self.buf_keys]) if self.buf_keys \
            else torch.empty(0, device=device)
        for k, c in zip(self.buf_keys, self.bufs.split([self.t[k].numel() for k in self.buf_keys])):
            self.t[k] = c.view(self.t[k].shape)
        self._running = {k[:-len(".running_mean")]: (v.view(-1), self.t[k[:-4] + "var"].view(-1))
                         for k, v in self.t.items() if k.endswith(".running_mean")}
        self._skip = [self.t[f"blocks.{i}.skip"].view(-1, 1, 1) for i in range(self.depth)]
        self._counters = [v for k, v in self.t.items() if k.endswith("num_batches_tracked")]

    def _group(self, key: str) -> torch.Tensor:
        """Gradient-norm groups: (model i, block b) is i * depth + b, broadcast over a stacked
        block tensor (M, ...); the stem and head are in none (-1)."""
        if not key.startswith("blocks."):
            return torch.tensor(-1)
        b, ndim = int(key.split(".")[1]), self.t[key].dim()
        return (torch.arange(self.m) * self.depth + b).view(self.m, *[1] * (ndim - 1))

    def parameters(self) -> list[torch.Tensor]:
        """The trained leaves, in `keys` order; they live in `flat.flat` (resviz.flatparams)."""
        return [self.leaf[k] for k in self.keys]

    def model_shaped(self, buf: torch.Tensor) -> dict[str, torch.Tensor]:
        """A buffer laid out as the flat parameters (their gradient, an optimiser moment) as
        each key's (M, *shape) view."""
        return {k: v.view(self.t[k].shape) for k, v in zip(self.keys, self.flat.split(buf))}

    def skips(self, i: int) -> list[bool]:
        """Model i's skip mask (the `skip` buffers, 1.0 = on)."""
        return [bool(self.t[f"blocks.{b}.skip"][i] > 0.5) for b in range(self.depth)]

    @torch.no_grad()
    def set_skips(self, i: int, mask: Sequence[bool]) -> None:
        """Switch model i's skips, as ResVizNet.set_skips does on a lone model."""
        for b, on in zip(range(self.depth), mask):
            self.t[f"blocks.{b}.skip"][i] = float(on)

    def block_grad_norms(self) -> list[list[float]]:
        """Per model, the L2 norm of each block's parameter gradient (as resviz.train's
        block_grad_norms gives a lone model), from the flat gradient: one gather and one
        sum over every model and block."""
        return self.flat.group_norms().view(self.m, self.depth).tolist()

    def train(self, mode: bool = True) -> StackedNet:
        self.training = mode
        return self

    def _lin(self, h: torch.Tensor, name: str) -> torch.Tensor:
        """(M, in, B) -> (M, out, B): the weights (M, out, in) multiply from the left."""
        return torch.baddbmm(self.leaf[name + ".bias"], self.leaf[name + ".weight"], h)

    def _bn(self, h: torch.Tensor, name: str) -> torch.Tensor:
        """(M, W, B) viewed as (1, M*W, B): one batch_norm call, stats per (model, unit)."""
        if not self.norm:
            return h
        m, w, b = h.shape
        mean, var = self._running[name]
        # torch.batch_norm is what F.batch_norm calls, without its per-call Python checks
        out = torch.batch_norm(h.reshape(1, m * w, b), self.leaf[name + ".weight"],
                               self.leaf[name + ".bias"], mean, var, self.training, BN_MOMENTUM,
                               BN_EPS, torch.backends.cudnn.enabled)
        return out.view(m, w, b)

    def count_batch(self) -> None:
        """nn.BatchNorm counts batches seen; keep the count so unstacked models match."""
        if self.norm and self.training:
            torch._foreach_add_(self._counters, 1)

    def _block(self, x: torch.Tensor, i: int) -> torch.Tensor:
        """The five orderings of resviz.blocks.ResidualBlock, on stacked tensors."""
        p, a, o = f"blocks.{i}.", self.act, self.ordering
        skip = self._skip[i]  # (M, 1, 1): 1.0 = this model's skip is on, 0.0 = off

        def add(r: torch.Tensor) -> torch.Tensor:  # x * skip + r, one node (skip is 0 or 1: exact)
            return torch.addcmul(r, x, skip)

        w1, w2 = (lambda h: self._lin(h, p + "w1")), (lambda h: self._lin(h, p + "w2"))
        n1, n2 = (lambda h: self._bn(h, p + "n1")), (lambda h: self._bn(h, p + "n2"))
        if o == "original":
            return a(add(n2(w2(a(n1(w1(x)))))))
        if o == "bn_after_add":
            return a(n2(add(w2(a(n1(w1(x)))))))
        if o == "relu_before_add":
            return add(a(n2(w2(a(n1(w1(x)))))))
        if o == "relu_preact":
            return add(n2(w2(a(n1(w1(a(x)))))))
        return add(w2(a(n2(w1(a(n1(x)))))))  # full_preact

    def __call__(self, x: torch.Tensor | Sequence[tuple[torch.Tensor, int]]) -> torch.Tensor:
        """Inputs (B, in), one batch for every model, or [(batch (B, in), m), ...], a batch
        for each next m models (a Gang) -> logits (M, classes, B).

        Activations live as (models, units, batch): every layer is then one baddbmm and
        every batch norm one call on a free view, with no transposes or copies.
        """
        h = self._lin(as_inputs(x, self.m), "stem") if torch.is_tensor(x) else self._stems(x)
        for i in range(self.depth):
            h = self._block(h, i)
        self.count_batch()
        return self._lin(self.act(h), "head.2")

    def _stems(self, parts: Sequence[tuple[torch.Tensor, int]]) -> torch.Tensor:
        """The stem of each group of models on its own batch, as that group alone computes
        it: a batch broadcast to its m models (a stride-0 view, as in `__call__`). A stacked
        copy of the inputs would take another bmm kernel for the stem's weight gradient,
        with other rounding: a run's numbers would then depend on its gang."""
        w, b = self.leaf["stem.weight"], self.leaf["stem.bias"]
        out, i = [], 0
        for x, m in parts:
            out.append(torch.baddbmm(b[i:i + m], w[i:i + m], as_inputs(x, m)))
            i += m
        return torch.cat(out)

    def unstack(self) -> list[ResVizNet]:
        """Ordinary ResVizNets holding the current weights, for probes and figures."""
        out = []
        for i, spec in enumerate(self.specs):
            model = build(spec)
            model.load_state_dict({k: v[i].detach().cpu().clone() for k, v in self.t.items()})
            out.append(model.train(self.training))
        return out


def as_inputs(x: torch.Tensor, m: int) -> torch.Tensor:
    """A batch (B, in) as the stacked forward's input for m models, (m, in, B) (a view)."""
    return x.t().unsqueeze(0).expand(m, -1, -1)


def _losses(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-model mean cross-entropy of logits (M, classes, B); labels (B,) or (M, B)."""
    return F.cross_entropy(out, y.expand(out.shape[0], -1), reduction="none").mean(1)


class BatchedTrainer(LockstepBase):
    """resviz.train.TrainerLike for stacked models (step, run, history, final, diverged,
    models, test_set).

    Same batches as resviz.train.Trainer with the same TrainSpec (same generator, same
    order: the shared LockstepBase), so a batched run and a sequential one give the same
    numbers up to rounding.
    """

    def __init__(self, specs: Mapping[str, NetworkSpec], data: Dataset, spec: TrainSpec,
                 device: str | torch.device = "cpu") -> None:
        if not stacks(spec):
            raise NotBatchable("stochastic depth and gradient clipping are per model: the "
                               "batched trainer supports neither")
        self._setup(data, spec, device)
        self._names = list(specs)
        self.net = StackedNet([specs[k] for k in self._names], self.device)
        self.optimizer = make_optimizer([self.net.flat.flat], spec)  # one buffer, one update
        self.records: dict[str, list[Record]] = {k: [] for k in self.names}
        self.diverged_at: dict[str, int | None] = dict.fromkeys(self.names)
        self._first: list[float] | None = None
        self._frozen: dict[int, dict[str, torch.Tensor]] = {}
        self._views: dict[str, ResVizNet] | None = None
        self._view_pairs: list[tuple[torch.Tensor, torch.Tensor]] = []

    @property
    def names(self) -> list[str]:
        return list(self._names)

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
        self.net.flat.zero_grad()
        losses = _losses(self.net(x), y)
        losses.sum().backward()
        return self._finish(losses.tolist(), t0)

    def _finish(self, values: list[float], t0: float) -> dict[str, Record]:
        """The rest of a step once the gradient of this step's batch is in `net.flat.grad`
        (from `step`, or from a Gang's shared pass): divergence, the update, the records."""
        self._first = values if self._first is None else self._first
        grads = self.net.block_grad_norms()
        for i, (name, v) in enumerate(zip(self._names, values)):
            if self.diverged_at[name] is None and (
                    blew_up(v, self._first[i]) or not all(math.isfinite(g) for g in grads[i])):
                self.diverged_at[name] = self.step_count
                self._freeze(i)
        self.optimizer.step()
        self._restore_frozen()
        wall = time.perf_counter() - t0
        out = {}
        for i, (name, v) in enumerate(zip(self._names, values)):
            gone = self.diverged_at[name] is not None and self.diverged_at[name] < self.step_count
            out[name] = Record(name, self.step_count, math.nan if gone else v,
                               [0.0] * self.net.depth if gone else grads[i], wall,
                               diverged=self.diverged_at[name] is not None)
        if self._eval_due(self.step_count):
            self._evaluate_into(out)
        for name, rec in out.items():
            self.records[name].append(rec)
        self.step_count += 1
        return out

    def _evaluate_into(self, recs: dict[str, Record]) -> None:
        _, tr_acc = self.evaluate(self._xtr, self._ytr)
        te_loss, te_acc = self.evaluate(self._xte, self._yte)
        for i, name in enumerate(self._names):
            if self.diverged_at[name] is None:
                recs[name].train_acc, recs[name].test_acc = tr_acc[i], te_acc[i]
                recs[name].test_loss = te_loss[i]

    def history(self, name: str) -> list[Record]:
        return self.records[name]

    def diverged(self, name: str) -> int | None:
        return self.diverged_at[name]

    def finals(self) -> dict[str, dict[str, float | int | None]]:
        """Every model's full-set metrics at once (one batched evaluation)."""
        tl, ta = self.evaluate(self._xtr, self._ytr)
        _, te = self.evaluate(self._xte, self._yte)
        out: dict[str, dict[str, float | int | None]] = {}
        for i, name in enumerate(self._names):
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
        """Ordinary ResVizNets holding copies of the current weights (read-only views of
        the run: switching a skip on one of them does not reach the stacked net; use
        set_skips)."""
        return dict(zip(self._names, self.net.unstack()))

    def to_trainer(self) -> Trainer:
        """The same run as a lockstep Trainer of ordinary ResVizNets: current weights and
        buffers, optimiser moments, records, divergence, step count and batch stream, so
        training continues where it stands (used when a switch that stacked weights lack,
        a lesion or a gate, is applied to a live run)."""
        models = self.models
        tr = Trainer(models, self.data, self.spec, self.device)
        tr.adopt_progress(self)
        # the optimiser's state of the flat buffer (empty before the first step): each moment
        # seen as every key's (M, *shape) slice; the step count is shared
        state = self.optimizer.state.get(self.net.flat.flat) or {}
        per_key = {k: self.net.model_shaped(v)
                   for k, v in state.items() if torch.is_tensor(v) and v.dim() > 0}
        for i, name in enumerate(self._names):
            st = tr.states[name]
            st.records = list(self.records[name])
            st.diverged_at = self.diverged_at[name]
            st.first_loss = None if self._first is None else self._first[i]
            for key, param in st.model.named_parameters() if state else ():
                st.optimizer.state[param] = {
                    k: per_key[k][key][i].clone() if k in per_key else
                    v.clone() if torch.is_tensor(v) else v for k, v in state.items()}
        return tr

    @torch.no_grad()
    def model_views(self) -> dict[str, ResVizNet]:
        """Read-only ResVizNets holding the current weights, built once and refreshed by one
        fused copy per call (probes and boundaries every half second would otherwise
        rebuild every model each time). Changing them does not reach the stacked net."""
        if self._views is None:
            self._views = dict(zip(self._names, self.net.unstack()))
            self._view_pairs = [(t, self.net.t[k][i])
                                for i, m in enumerate(self._views.values())
                                for k, t in m.state_dict(keep_vars=True).items()]
        dst = [d for d, _ in self._view_pairs]
        torch._foreach_copy_(dst, [src for _, src in self._view_pairs])
        return self._views

    def skips(self, name: str) -> list[bool]:
        return self.net.skips(self._names.index(name))

    def set_skips(self, name: str, mask: Sequence[bool]) -> None:
        self.net.set_skips(self._names.index(name), mask)


def gang_key(trainer: object) -> tuple | None:
    """What must agree for trainers to train as one Gang (None: this one cannot): stacked
    nets of one shape, in training mode, fed batches of one size on one device."""
    if not isinstance(trainer, BatchedTrainer) or not trainer.net.training:
        return None
    batch = min(trainer.spec.batch_size, len(trainer._ytr))  # see LockstepBase._batch
    return shape_key(trainer.net.specs[0]), batch, str(trainer.device)


def _merge_order(sizes: Sequence[int], counts: Sequence[int]) -> torch.Tensor:
    """Where each number of a merged key-major buffer comes from in the members' buffers
    laid end to end. Member r's buffer holds, key after key, counts[r] models x sizes[k]
    numbers; the merged one holds, key after key, every member's models in member order."""
    starts, off = [], 0
    for m in counts:
        starts.append(off)
        off += m * sum(sizes)
    parts, key_off = [], 0
    for n in sizes:
        for start, m in zip(starts, counts):
            parts.append(torch.arange(start + m * key_off, start + m * (key_off + n)))
        key_off += n
    return torch.cat(parts) if parts else torch.empty(0, dtype=torch.long)


class Gang:
    """Several BatchedTrainers' steps as one pass: the stacked forward and backward of all
    their models at once, each model on its own trainer's batch.

    A worker holding several live runs of one shape (a class on the default Playground)
    steps them together: the pass is largely launch-bound, so two default pairs as one pass
    cost about 1.6x one pair's step, 1.25x less than the two in turn (docs/engine.md). Each
    trainer keeps its own weights, optimiser, batch
    stream, records and divergence; the Gang copies weights and buffers in before the pass
    and gradients and buffers out after it (one call each), and every trainer finishes its
    own step (`BatchedTrainer._finish`). Each model's slice of every stacked op is computed
    alone, so a run's numbers are the same ganged or not (tests/test_batched.py).
    """

    def __init__(self, trainers: Sequence[BatchedTrainer]) -> None:
        keys = {gang_key(t) for t in trainers}
        if len(trainers) < 2 or None in keys or len(keys) > 1:
            raise NotBatchable("a gang needs two or more stacked trainers of one shape")
        self.trainers = list(trainers)
        nets = [t.net for t in trainers]
        self.net = StackedNet([s for n in nets for s in n.specs], trainers[0].device)
        counts = [n.m for n in nets]
        self._params = _merge_order([nets[0].t[k][0].numel() for k in nets[0].keys], counts)
        self._bufs = _merge_order([nets[0].t[k][0].numel() for k in nets[0].buf_keys], counts)
        self._params_back = torch.argsort(self._params)
        self._bufs_back = torch.argsort(self._bufs)
        self._sizes = [n.flat.flat.numel() for n in nets]
        self._buf_sizes = [n.bufs.numel() for n in nets]

    @torch.no_grad()
    def _load(self) -> None:
        nets = [t.net for t in self.trainers]
        torch.index_select(torch.cat([n.flat.flat for n in nets]), 0, self._params,
                           out=self.net.flat.flat)
        torch.index_select(torch.cat([n.bufs for n in nets]), 0, self._bufs, out=self.net.bufs)

    @torch.no_grad()
    def _store(self) -> None:
        nets = [t.net for t in self.trainers]
        grads = self.net.flat.grad.index_select(0, self._params_back).split(self._sizes)
        bufs = self.net.bufs.index_select(0, self._bufs_back).split(self._buf_sizes)
        for n, g, b in zip(nets, grads, bufs):
            n.flat.grad.copy_(g)
            n.flat.flat.grad = n.flat.grad
            n.bufs.copy_(b)
            n.count_batch()

    def step(self) -> list[dict[str, Record]]:
        """One step of every trainer (as each trainer's `step()` would do it)."""
        t0 = time.perf_counter()
        batches = [t._batch() for t in self.trainers]
        y = torch.cat([y.expand(t.net.m, -1) for t, (_, y) in zip(self.trainers, batches)])
        self._load()
        self.net.flat.zero_grad()
        losses = _losses(self.net([(x, t.net.m) for t, (x, _) in zip(self.trainers, batches)]), y)
        losses.sum().backward()
        self._store()
        values = losses.tolist()
        out, i = [], 0
        for t in self.trainers:
            out.append(t._finish(values[i:i + t.net.m], t0))
            i += t.net.m
        return out


_GANGS: dict[tuple[int, ...], Gang] = {}
GANGS_KEPT = 4  # a worker's gangs, built once and reused while their members stay


def step_all(trainers: Sequence[object]) -> list[dict[str, Record]]:
    """One step of each trainer, in order: those with one `gang_key` as one Gang (built once
    per set of trainers, reused), the others alone."""
    groups: dict[tuple, list[int]] = {}
    for i, t in enumerate(trainers):
        key = gang_key(t)
        groups.setdefault(("alone", i) if key is None else key, []).append(i)
    out: list[dict[str, Record]] = [{} for _ in trainers]
    for idx in groups.values():
        if len(idx) == 1:
            out[idx[0]] = trainers[idx[0]].step()  # type: ignore[attr-defined]
            continue
        members = [trainers[i] for i in idx]
        ids = tuple(id(t) for t in members)
        gang = _GANGS.pop(ids, None) or Gang(members)  # type: ignore[arg-type]
        _GANGS[ids] = gang  # newest last; the oldest go (they hold their trainers)
        while len(_GANGS) > GANGS_KEPT:
            del _GANGS[next(iter(_GANGS))]
        for i, recs in zip(idx, gang.step()):
            out[i] = recs
    return out


def stacks(spec: TrainSpec) -> bool:
    """Whether these training settings can run stacked (BatchedTrainer): stochastic depth and
    gradient clipping act on each model apart."""
    return spec.stochastic_depth is None and spec.clip_norm is None


def make_trainer(specs: Mapping[str, NetworkSpec], data: Dataset, spec: TrainSpec,
                 device: str | torch.device = "cpu",
                 batched: bool = True) -> BatchedTrainer | Trainer:
    """A BatchedTrainer when the specs stack, else the sequential lockstep Trainer."""
    if batched and stacks(spec) and batchable(list(specs.values())):
        return BatchedTrainer(specs, data, spec, device)
    return Trainer({k: build(s) for k, s in specs.items()}, data, spec, device)
