"""One live run: build it from its RunConfig, apply commands between steps, make snapshots.

The same RunCore runs in a local worker process, in a Ray actor, or in-process (tests), so
every executor gives the same numbers for the same config. It never sleeps and owns no
thread: its host calls `command()`, `work(budget)` and `snapshot()` in turn, which is what
makes "every command is applied between two steps" true by construction.

Costs are kept off the step path: per-step work is only appending the new records to the
thinned curves; metrics are recomputed only when the weights or switches changed, and the
boundary grid, block ratios and probes at most every HEAVY_EVERY seconds (always for a
paused or finished picture). A host that trains several runs in turn sets `crowd`: each
run then trains 1/crowd of the time, so these cadences stretch by crowd and the host's
bookkeeping stays the same share of its time however many runs it holds.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from resviz.engine.config import RunConfig, Snapshot
from resviz.engine.kinds import Built, get_kind
from resviz.engine.probes import PROBES, ProbeView, check_probes
from resviz.train import Record

CURVE_POINTS = 400      # most points per curve in a snapshot
GRAD_POINTS = 120       # most steps of per-block gradient norms (the block x step heatmap)
# A live page redraws a training run once a second at most (ui.live.PACE) and its boundaries
# and curves once a second (CHART_EVERY): snapshots and metrics twice as often as that, the
# heavy parts as often, and no more (at 0.15 / 0.3 / 0.5 s they took 10% of a lone run's
# worker time for pictures nobody drew; now about 2%, measured on the default pair)
SNAP_EVERY = 0.3        # seconds between two snapshots of a running run
HEAVY_EVERY = 1.0       # seconds between two boundary / ratio / probe computations
METRICS_EVERY = 0.5     # seconds between two full-set evaluations while running
HEAVY_SHARE = 0.08      # most of a running worker's time the heavy parts may take
METRICS_SHARE = 0.04    # ... and the full-set metrics (the gaps widen on a slow machine)
BOUNDARY_BUDGET = 0.04  # seconds one boundary may take; the grid shrinks to stay under it
MIN_GRID = 20
RATE_WINDOW = 2.0       # seconds over which steps/s is measured
ENDING = 1.5            # a run this close to its last step (seconds, at its rate) is `ending`
RATIO_POINTS = 256      # test points for the per-block ||f(x)|| / ||x|| hover numbers
COMMANDS = ("start", "pause", "step", "extend", "reset", "set_skips", "set_active", "set_gate")


class Curve:
    """A curve that keeps at most `cap` points: every `stride`-th point it is offered; when
    full it drops every other kept point and doubles the stride (O(1) per point, no
    whole-history rebuild). `latest` is the newest point, shown even when not kept."""

    def __init__(self, keys: tuple[str, ...], cap: int = CURVE_POINTS) -> None:
        self.keys, self.cap = keys, cap
        self.rows: list[tuple] = []
        self.stride, self.seen = 1, 0
        self.latest: tuple | None = None

    def add(self, row: tuple) -> None:
        if self.seen % self.stride == 0:
            self.rows.append(row)
            if len(self.rows) > self.cap:
                self.rows = self.rows[::2]
                self.stride *= 2
        self.seen += 1
        self.latest = row

    def columns(self) -> dict[str, list]:
        rows = self.rows if not self.rows or self.rows[-1] is self.latest else \
            [*self.rows, self.latest]
        return {k: [r[i] for r in rows] for i, k in enumerate(self.keys)}


def _clean(v: float | None) -> float | None:
    return None if v is None else float(v)


class RunCore:
    """A run's trainer plus its state machine: ready -> running <-> paused -> finished."""

    def __init__(self, config: RunConfig) -> None:
        check_probes(config.probes)
        self.config = config
        self.kind = get_kind(config.kind)
        self.version = 0
        self.grid_n = config.boundary
        # running runs taking turns on this run's CPU (set by its host, e.g. a local worker):
        # snapshots, heavy parts and metrics come crowd times less often
        self.crowd = 1
        self._build()

    # ---- building -------------------------------------------------------------------------
    def _build(self) -> None:
        self.built: Built = self.kind.build(self.config)
        self.trainer = self.built.trainer
        self.names = self.trainer.names
        self.state = "ready"
        self.max_steps = self.config.train.steps
        self.trainer.limit = self.max_steps
        self.target: int | None = None
        self.loss = {n: Curve(("step", "loss")) for n in self.names}
        self.evals = {n: Curve(("eval_step", "train_acc", "test_acc", "test_loss"))
                      for n in self.names}
        self.grads = {n: Curve(("grad_step", "grad_norms"), GRAD_POINTS) for n in self.names}
        self.commands: deque[tuple[int, str]] = deque(maxlen=16)
        self.error: str | None = None
        self._rate: deque[tuple[float, int]] = deque()
        self.sps = 0.0
        self._mutation = 0          # bumps on every step and every switch change
        self._metrics: tuple[int, dict] | None = None
        self._metrics_at = -math.inf
        self._metrics_gap = METRICS_EVERY
        self._heavy_gap = HEAVY_EVERY
        self._heavy: dict[str, Any] = {"boundary": None, "ratio": {}, "probes": {}}
        self._heavy_mut = -1
        self._heavy_at = -math.inf
        self._probe_at: dict[str, float] = {}
        self._boundary_new = False
        self._models_cache: tuple[int, dict] | None = None
        self.snap_at = -math.inf
        self._prompt_from: int | None = None  # the step a Start, Step or Continue left off at
        if self.built.data.is_2d and self.config.boundary and self.kind.boundary:
            from resviz.data import grid

            self._grid_cache: dict[int, tuple[np.ndarray, torch.Tensor]] = {}
            self._grid = grid
        else:
            self._grid = None  # type: ignore[assignment]

    @property
    def step_count(self) -> int:
        return self.trainer.step_count

    @property
    def stacked(self) -> bool:
        return self.built.stacked

    def models(self) -> dict[str, torch.nn.Module]:
        """The current models (live modules for the Trainer, copies for a stacked run)."""
        if not self.stacked:
            return self.trainer.models
        if self._models_cache is None or self._models_cache[0] != self._mutation:
            self._models_cache = (self._mutation, self.trainer.model_views())  # type: ignore[attr-defined]
        return self._models_cache[1]

    def _unstack(self) -> None:
        """Switch a stacked run to the lockstep Trainer (same state, same optimiser moments):
        lesions and gates are switches of ResVizNet blocks that stacked weights do not have."""
        if self.stacked:
            self.trainer = self.trainer.to_trainer()  # type: ignore[attr-defined]
            self.built.trainer, self.built.stacked = self.trainer, False
            self.trainer.limit = self.max_steps
            self._models_cache = None

    # ---- commands -------------------------------------------------------------------------
    def command(self, name: str, *args: Any) -> None:
        """Apply one command now (between two steps). Bad arguments set `error`, never raise."""
        if name not in COMMANDS:
            self.error = f"unknown command {name!r}"
            return
        try:
            getattr(self, "_cmd_" + name)(*args)
            self.error = None
        except (ValueError, KeyError, IndexError, TypeError) as e:
            self.error = f"{name}: {e}"
            return
        self.commands.append((self.step_count, name))
        if name in ("start", "step", "extend") and self.state == "running":
            self._prompt_from = self.step_count  # its first step is shown at once (`urgent`)

    def _finished_now(self) -> bool:
        return self.step_count >= self.max_steps or self.trainer.all_diverged()

    def _cmd_start(self) -> None:
        self.target = None
        if not self._finished_now():
            self.state = "running"

    def _cmd_pause(self) -> None:
        self.target = None
        if self.state == "running":
            self.state = "paused"

    def _cmd_step(self, n: int = 1) -> None:
        n = int(n)
        if n < 1:
            raise ValueError("step count must be at least 1")
        if self.trainer.all_diverged():
            return
        base = self.target if (self.target is not None and self.state == "running") \
            else self.step_count
        self.target = base + n
        self.max_steps = max(self.max_steps, self.target)
        self.trainer.limit = self.max_steps
        self.state = "running"

    def _cmd_extend(self, steps: int) -> None:
        steps = int(steps)
        if steps < 1:
            raise ValueError("extend by at least 1 step")
        self.max_steps = max(self.max_steps, self.step_count) + steps
        self.trainer.limit = self.max_steps
        self.target = None
        if not self.trainer.all_diverged():
            self.state = "running"

    def _cmd_reset(self) -> None:
        version = self.version
        self._build()
        self.version = version

    def _mask(self, name: str, mask: Any) -> list[bool]:
        if name not in self.names:
            raise KeyError(f"no model named {name!r}")
        mask = [bool(m) for m in mask]
        depth = len(getattr(self.built.specs[name], "skip_mask", ()) or ())
        if not depth:
            raise ValueError(f"model {name!r} has no blocks to switch")
        if len(mask) != depth:
            raise ValueError(f"mask has {len(mask)} entries for {depth} blocks")
        return mask

    def _cmd_set_skips(self, name: str, mask: Any) -> None:
        mask = self._mask(name, mask)
        if self.stacked:
            self.trainer.set_skips(name, mask)  # type: ignore[attr-defined]
        else:
            self.trainer.models[name].set_skips(mask)  # type: ignore[operator]
        self._mutation += 1

    def _cmd_set_active(self, name: str, mask: Any) -> None:
        mask = self._mask(name, mask)
        self._unstack()
        self.trainer.models[name].set_active(mask)  # type: ignore[operator]
        self._mutation += 1

    def _cmd_set_gate(self, name: str, value: float | None, block: int | None = None) -> None:
        if name not in self.names:
            raise KeyError(f"no model named {name!r}")
        self._unstack()
        blocks = list(self.trainer.models[name].blocks)  # type: ignore[union-attr]
        if not all(hasattr(b, "gate") for b in blocks):
            raise ValueError(f"model {name!r} has no gates (highway or gated nets only)")
        chosen = blocks if block is None else [blocks[int(block)]]
        for b in chosen:
            b.gate = None if value is None else float(value)
        self._mutation += 1

    # ---- training -------------------------------------------------------------------------
    @property
    def wants_cpu(self) -> bool:
        return self.state == "running"

    def _stop_at(self) -> int:
        return self.target if self.target is not None else self.max_steps

    @property
    def urgent(self) -> bool:
        """Started (Start, Step, Continue) and not shown moving yet: a host trains such a run
        first, one step, and publishes it at once; the class is watching for it."""
        return self.state == "running" and self._prompt_from is not None

    @property
    def ending(self) -> bool:
        """Within ENDING seconds of its last step (the step limit or a Step target) at its
        own rate: its host stops yielding the CPU to the tabs for it (local.py `_Priority`).
        The class is watching for "Finished", and the tabs of runs that finished first redraw
        their pages meanwhile."""
        return (self.state == "running" and self.sps > 0
                and self._stop_at() - self.step_count < ENDING * self.sps)

    @property
    def gang_key(self) -> tuple | None:
        """Runs with one gang key train as one Gang when they share a host (`work_together`);
        None: this run trains alone (not running, not stacked, or just started)."""
        if not self.wants_cpu or self.urgent:
            return None
        from resviz.batched import gang_key

        return gang_key(self.trainer)

    def _gang(self) -> str:
        """The gang key as text for the executor's load model (LocalExecutor._rebalance)."""
        from resviz.batched import gang_key

        key = gang_key(self.trainer)
        return "" if key is None else repr(key)

    def work(self, budget: float, interrupt: Callable[[], bool] | None = None) -> int:
        """Train while running for about `budget` seconds (at least one step); returns the
        steps done. Stops exactly at a Step target or the step limit, after the first step
        since a Start (see `urgent`), and early when `interrupt()` says so."""
        return work_together([self], budget, interrupt)[0]

    def _can_step(self) -> bool:
        return (self.state == "running" and self.step_count < self._stop_at()
                and not self.trainer.all_diverged())

    def _settle(self, done: int) -> None:
        """After a turn of `done` steps: the steps/s, and the state a limit or target sets."""
        self._mutation += done
        now = time.perf_counter()
        self._rate.append((now, self.step_count))
        while len(self._rate) > 2 and now - self._rate[1][0] >= RATE_WINDOW:
            self._rate.popleft()
        t_first, s_first = self._rate[0]
        if now > t_first and self.step_count > s_first:
            self.sps = (self.step_count - s_first) / (now - t_first)
        if self.trainer.all_diverged() or self.step_count >= self.max_steps:
            self.state, self.target = "finished", None
        elif self.step_count >= self._stop_at():
            self.state, self.target = "paused", None
        if self.state != "running":
            self._rate.clear()

    def _feed(self, recs: dict[str, Record]) -> None:
        for name, r in recs.items():
            self.loss[name].add((r.step, _clean(r.loss)))
            self.grads[name].add((r.step, list(r.grad_norms)))
            if r.test_acc is not None:
                self.evals[name].add((r.step, r.train_acc, r.test_acc, r.test_loss))

    # ---- snapshots ------------------------------------------------------------------------
    def due(self, now: float) -> bool:
        """Time for a running run's next snapshot: every SNAP_EVERY * crowd seconds, and at once
        for the first step after a Start, Step or Continue (the run is seen to move at once)."""
        return self.state == "running" and (now - self.snap_at >= SNAP_EVERY * self.crowd
                                            or self._moved_since_prompt())

    def _moved_since_prompt(self) -> bool:
        return self._prompt_from is not None and self.step_count > self._prompt_from

    def _metrics_now(self) -> dict[str, dict]:
        """Full-set metrics of the current weights; while running at most every
        METRICS_EVERY seconds (each is a pass over the whole data set), else always exact."""
        now = time.perf_counter()
        if self._metrics is not None and (self._metrics[0] == self._mutation or (
                self.state == "running" and now - self._metrics_at < self._metrics_gap * self.crowd)):
            return self._metrics[1]
        self._metrics = (self._mutation, self.trainer.finals())
        self._metrics_at = time.perf_counter()
        self._metrics_gap = max(METRICS_EVERY, (self._metrics_at - now) / METRICS_SHARE)
        return self._metrics[1]

    def _switches(self) -> tuple[dict[str, list[bool]], dict[str, list[bool]]]:
        skips, active = {}, {}
        if self.stacked:
            for n in self.names:
                skips[n] = self.trainer.skips(n)  # type: ignore[attr-defined]
                active[n] = [True] * len(skips[n])
            return skips, active
        for n, m in self.trainer.models.items():
            blocks = getattr(m, "blocks", None)
            if blocks is not None:
                skips[n] = [b.skip_on for b in blocks]
                active[n] = [bool(b.active) for b in blocks]
        return skips, active

    @torch.no_grad()
    def _boundary(self) -> dict[str, dict]:
        """Class-1 probability (argmax class for more classes) of every model on the grid.
        The grid side shrinks when a boundary takes longer than BOUNDARY_BUDGET."""
        t0 = time.perf_counter()
        n = self.grid_n
        if n not in self._grid_cache:
            self._grid_cache[n] = self._grid(n)
        ax, pts = self._grid_cache[n]
        pts = pts.to(self.trainer.device)
        if self.stacked:
            net = self.trainer.net  # type: ignore[attr-defined]
            was = net.training
            probs = torch.softmax(net.train(False)(pts), 1).transpose(1, 2)  # (M, B, classes)
            net.train(was)
            per = dict(zip(self.names, probs))
        else:
            per = {}
            for name, m in self.trainer.models.items():
                was = m.training
                m.eval()
                per[name] = torch.softmax(m(pts), 1)
                m.train(was)
        axis = ax.tolist()
        out = {}
        for name, p in per.items():
            z = p[:, 1] if p.shape[1] == 2 else p.argmax(1).float()
            out[name] = {"x": axis, "y": axis, "p": z.reshape(n, n).cpu().tolist()}
        took = time.perf_counter() - t0
        if took > BOUNDARY_BUDGET and n > MIN_GRID:
            self.grid_n = max(MIN_GRID, int(n * 0.75))
        elif took < BOUNDARY_BUDGET / 4 and n < self.config.boundary:
            self.grid_n = min(self.config.boundary, int(n * 1.25) + 1)
        return out

    @torch.no_grad()
    def _ratios(self, models: dict[str, torch.nn.Module]) -> dict[str, list[float]]:
        """||f(x)|| / ||x|| per block on a few test points (eval mode), for diagram hovers."""
        from resviz.models import ResVizNet, recording

        x = self.trainer.test_set[0][:RATIO_POINTS]
        out = {}
        for name, m in models.items():
            if not isinstance(m, ResVizNet) or self.trainer.diverged(name) is not None:
                continue
            was = m.training
            m.eval()
            with recording(m):
                m(x)
                out[name] = [float(b.stats.get("branch_ratio", 0.0)) for b in m.blocks]
            m.train(was)
        return out

    def _refresh_heavy(self, force: bool) -> None:
        if self._heavy_mut == self._mutation:
            return  # nothing changed since the last computation
        now = time.perf_counter()
        if not force and now - self._heavy_at < self._heavy_gap * self.crowd:
            return
        self._heavy_at, self._heavy_mut = now, self._mutation
        if self._grid is not None:
            self._heavy["boundary"] = self._boundary()
            self._boundary_new = True
        models = self.models()
        self._heavy["ratio"] = self._ratios(models)
        if self.config.probes:
            xte, yte = self.trainer.test_set
            view = ProbeView(models, xte, yte, {n: self.trainer.diverged(n) for n in self.names})
            for name in self.config.probes:
                probe = PROBES[name]
                if force or now - self._probe_at.get(name, -math.inf) >= probe.every * self.crowd:
                    try:
                        self._heavy["probes"][name] = probe.fn(view)
                    except (ValueError, RuntimeError) as e:
                        self._heavy["probes"][name] = {"error": str(e)}
                    self._probe_at[name] = now
        self._heavy_gap = max(HEAVY_EVERY, (time.perf_counter() - now) / HEAVY_SHARE)

    def snapshot(self, force: bool | None = None) -> Snapshot:
        """The run now. Heavy parts are recomputed when due, or always when `force` (None:
        whenever the run is not running, so paused and finished pictures are exact).
        The boundary is included only when new since the last snapshot (None = unchanged)."""
        # The first snapshot after Start is light (no boundary, ratio or full-set pass: those
        # cost 0.1-0.4 s on a busy machine): the class sees the run move at once, and the
        # next snapshot, SNAP_EVERY later, brings the heavy parts.
        prompt = self.state == "running" and self._moved_since_prompt()
        if self._moved_since_prompt() or self.state != "running":
            self._prompt_from = None
        self.snap_at = time.perf_counter()
        if not prompt:
            self._refresh_heavy(self.state != "running" if force is None else force)
        self.version += 1
        skips, active = self._switches()
        last, grad = {}, {}
        for n in self.names:
            hist = self.trainer.history(n)
            if hist:
                last[n] = hist[-1].to_dict()
                grad[n] = list(hist[-1].grad_norms)
        curves = {}
        for n in self.names:
            c = self.loss[n].columns()
            c.update(self.evals[n].columns())
            c.update(self.grads[n].columns())
            curves[n] = c
        stats = {n: {"grad": grad.get(n, []), "ratio": self._heavy["ratio"].get(n, [])}
                 for n in self.names}
        boundary = self._heavy["boundary"] if self._boundary_new else None
        self._boundary_new = False
        running = self.state == "running"
        left = self._stop_at() - self.step_count
        return Snapshot(
            version=self.version, state=self.state, step=self.step_count,
            max_steps=self.max_steps, sps=self.sps,
            eta=left / self.sps if running and self.sps > 0 else None,
            names=list(self.names), curves=curves, last=last,
            metrics=self._metrics[1] if prompt and self._metrics else self._metrics_now(),
            boundary=boundary, skips=skips, active=active, block_stats=stats,
            probes=dict(self._heavy["probes"]), error=self.error,
            commands=list(self.commands), stacked=self.stacked, left=left if running else 0,
            gang=self._gang())

    def export_models(self) -> dict[str, Any]:
        """The current weights and block switches as plain tensors, for RunHandle.models()."""
        models = self.models()
        attrs = {}
        for n, m in models.items():
            blocks = getattr(m, "blocks", None)
            if blocks is not None:
                attrs[n] = [{k: getattr(b, k) for k in ("active", "gate", "openness", "survival")
                             if hasattr(b, k)} for b in blocks]
        return {"kind": self.config.kind, "specs": dict(self.built.specs),
                "states": {n: {k: v.detach().cpu().clone() for k, v in m.state_dict().items()}
                           for n, m in models.items()},
                "attrs": attrs}


def rebuild_models(export: dict[str, Any]) -> dict[str, torch.nn.Module]:
    """Local copies of a run's models from RunCore.export_models() (train mode)."""
    kind = get_kind(export["kind"])
    out = {}
    for name, spec in export["specs"].items():
        m = kind.make_model(spec)
        m.load_state_dict(export["states"][name])
        for b, attrs in zip(getattr(m, "blocks", []), export["attrs"].get(name, [])):
            for k, v in attrs.items():
                setattr(b, k, v)
        out[name] = m.train()
    return out


def work_together(cores: list[RunCore], budget: float,
                  interrupt: Callable[[], bool] | None = None) -> list[int]:
    """Train the running runs among `cores` for about `budget` seconds (at least one step
    each), each exactly as its own `work` would (the same stops); returns each one's steps.

    Runs of one `gang_key` step as one resviz.batched.Gang: one stacked pass for all of
    them, cheaper than their passes in turn, with the same numbers (each run keeps its own
    weights, optimiser and batches). A host holding several same-shape runs (a class on one
    page) trains them together so; they advance at one steps/s and end together.
    """
    from resviz.batched import step_all

    running = [c.state == "running" for c in cores]  # the others are left as they are
    t0 = time.perf_counter()
    done = [0] * len(cores)
    while True:
        live = [i for i, c in enumerate(cores) if c._can_step()]
        if not live:
            break
        for i, recs in zip(live, step_all([cores[i].trainer for i in live])):
            cores[i]._feed(recs)
            done[i] += 1
        if time.perf_counter() - t0 >= budget or any(
                cores[i]._prompt_from is not None for i in live):
            break  # out of time, or the first step after Start: show it at once
        if interrupt is not None and interrupt():
            break  # the host has a command waiting (another run's Start, say)
    for c, n, was in zip(cores, done, running):
        if was:
            c._settle(n)
    return done
