"""TEMPORARY in-process stand-in for resviz.engine (branch `engine`), same interface.

A thread per run trains the Trainer and publishes compact snapshots, so the pages can be
built against /work/briefs/engine_api.md before the engine lands. ui/live.py uses
resviz.engine when it exists; this file goes once it does.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import torch

from resviz.train import Trainer, evaluate

THIN = 400


@dataclass(frozen=True)
class RunConfig:
    kind: str
    specs: tuple[tuple[str, Any], ...]
    train: Any
    device: str = "cpu"
    boundary: int = 60
    probes: tuple[str, ...] = ()
    stacked: bool | None = None


@dataclass
class Snapshot:
    version: int
    state: str
    step: int
    max_steps: int
    sps: float
    eta: float | None
    names: list[str]
    curves: dict
    last: dict
    metrics: dict
    boundary: dict | None
    skips: dict
    active: dict
    block_stats: dict
    probes: dict = field(default_factory=dict)
    error: str | None = None


def _thin(xs: list, n: int = THIN) -> list:
    if len(xs) <= n:
        return list(xs)
    k = math.ceil(len(xs) / n)
    out = xs[::k]
    return out if out[-1] is xs[-1] else [*out, xs[-1]]


class LocalRun:
    def __init__(self, config: RunConfig) -> None:
        self.config, self.run_id, self.lost = config, uuid.uuid4().hex[:8], None
        self._cv = threading.Condition()
        self._closed = False
        self._version = 0
        self._snap: Snapshot | None = None
        self._build()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    # -- model side ----------------------------------------------------------------------
    def _build(self) -> None:
        cfg = self.config
        specs = dict(cfg.specs)
        if cfg.kind == "sequence":
            from resviz import sequence as seq

            self._trainer = seq.make_trainer(specs, cfg.train)
        else:
            from resviz.data import load
            from resviz.models import build

            t = cfg.train
            data = load(t.dataset, t.n_samples, t.noise, t.data_seed)
            self._trainer = Trainer({k: build(s) for k, s in specs.items()}, data, t)
        self._limit = cfg.train.steps
        self._state, self._target = "ready", None
        self._times: deque = deque(maxlen=400)
        self._publish()

    def _publish(self) -> None:
        tr = self._trainer
        names = list(tr.states)
        curves, last, metrics, bstats, skips, active = {}, {}, {}, {}, {}, {}
        for k in names:
            recs = tr.history(k)
            th = _thin(recs)
            ev = [r for r in recs if r.test_acc is not None]
            curves[k] = {"step": [r.step for r in th], "loss": [r.loss for r in th],
                         "eval_step": [r.step for r in ev], "train_acc": [r.train_acc for r in ev],
                         "test_acc": [r.test_acc for r in ev], "test_loss": [r.test_loss for r in ev]}
            last[k] = recs[-1].to_dict() if recs else None
            model = tr.models[k]
            div = tr.diverged(k)
            if div is None:
                tl, ta = evaluate(model, tr._xtr, tr._ytr)
                _, te = evaluate(model, tr._xte, tr._yte)
            else:
                tl, ta, te = math.nan, None, None
            metrics[k] = {"test_acc": te, "train_acc": ta, "train_loss": tl, "diverged_at": div}
            if hasattr(model, "skips"):
                skips[k] = list(model.skips)
                active[k] = [bool(b.active) for b in model.blocks]
                from resviz.probes.dynamic_depth import branch_ratios

                ratio = branch_ratios(model, tr._xte[:256]) if div is None else [math.nan] * len(model.blocks)
                bstats[k] = {"grad": list(last[k]["grad_norms"]) if last[k] else [0.0] * len(model.blocks),
                             "ratio": list(ratio)}
        boundary = None
        data = tr.data
        if self.config.boundary and getattr(data, "is_2d", False):
            from resviz.data import grid

            n = self.config.boundary
            ax, pts = grid(n)
            boundary = {}
            for k in names:
                m = tr.models[k]
                was = m.training
                m.eval()
                with torch.no_grad():
                    p = torch.softmax(m(pts), 1)
                m.train(was)
                z = p[:, 1] if data.n_classes == 2 else p.argmax(1).float()
                boundary[k] = {"x": ax.tolist(), "y": ax.tolist(),
                               "p": z.reshape(n, n).tolist()}
        sps = 0.0
        if len(self._times) >= 2:
            t_now = time.perf_counter()
            recent = [t for t in self._times if t_now - t < 2.0] or [self._times[-1]]
            span = max(t_now - recent[0], 1e-6)
            sps = len(recent) / span if self._state == "running" else 0.0
        self._version += 1
        left = self._limit - tr.step_count
        self._snap = Snapshot(self._version, self._state, tr.step_count, self._limit, sps,
                              left / sps if sps > 0 else None, names, curves, last, metrics,
                              boundary, skips, active, bstats)

    def _loop(self) -> None:
        last_pub = 0.0
        while True:
            with self._cv:
                while not self._closed and not self._busy():
                    self._cv.wait(0.5)
                if self._closed:
                    return
                tr = self._trainer
                tr.step()
                self._times.append(time.perf_counter())
                done = tr.step_count >= self._limit or all(
                    tr.diverged(k) is not None for k in tr.states)
                if done:
                    self._state, self._target = "finished", None
                elif self._target is not None and tr.step_count >= self._target:
                    self._state, self._target = "paused", None
                now = time.perf_counter()
                if self._state != "running" or now - last_pub > 0.1:
                    self._publish()
                    last_pub = now
                    self._cv.notify_all()
            time.sleep(0)  # let the page's thread in

    def _busy(self) -> bool:
        return self._state == "running" or self._target is not None

    # -- handle side ---------------------------------------------------------------------
    def _command(self, fn) -> None:
        with self._cv:
            fn()
            self._publish()
            self._cv.notify_all()

    def start(self) -> None:
        def go():
            if self._trainer.step_count < self._limit:
                self._state, self._target = "running", None
        self._command(go)

    def pause(self) -> None:
        def go():
            if self._state == "running" or self._target is not None:
                self._state, self._target = "paused", None
        self._command(go)

    def step(self, n: int = 1) -> None:
        def go():
            if self._trainer.step_count < self._limit:
                self._target = min(self._limit, self._trainer.step_count + n)
                self._state = "paused" if self._state != "running" else "paused"
        self._command(go)

    def extend(self, steps: int) -> None:
        def go():
            self._limit += steps
            self._state = "running"
        self._command(go)

    def reset(self) -> None:
        self._command(self._build)

    def set_skips(self, name: str, mask: list[bool]) -> None:
        self._command(lambda: self._trainer.models[name].set_skips(list(mask)))

    def set_active(self, name: str, mask: list[bool]) -> None:
        self._command(lambda: self._trainer.models[name].set_active(list(mask)))

    def set_gate(self, name: str, value: float | None, block: int | None = None) -> None:
        def go():
            blocks = self._trainer.models[name].blocks
            for i, b in enumerate(blocks):
                if block is None or i == block:
                    b.openness = value
        self._command(go)

    def snapshot(self, after: int = -1) -> Snapshot | None:
        with self._cv:
            snap = self._snap
        return snap if snap is not None and snap.version > after else None

    def models(self) -> dict[str, torch.nn.Module]:
        import copy

        with self._cv:
            return {k: copy.deepcopy(m) for k, m in self._trainer.models.items()}

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()


class _Executor:
    def open(self, config: RunConfig) -> LocalRun:
        return LocalRun(config)


_EXEC = _Executor()


def executor() -> _Executor:
    return _EXEC
