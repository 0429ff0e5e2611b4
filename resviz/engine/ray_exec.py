"""RayExecutor: live runs as Ray actors and heavy jobs as Ray tasks, spread over a cluster.

Imported only when RAY_ADDRESS is set (or a test builds one): without it nothing of Ray is
imported or started. An actor hosts one RunCore, the same run core as a local worker, so
the numbers are the same. Inside the actor a training thread runs `work(SLICE)` under a
lock while the run is running; commands take the same lock, so each is applied between
two steps. Commands carry a sequence number and are applied in order (a threaded actor
does not promise the order of calls). Snapshots are pulled: every poll of the handle
collects the answer to the previous request and sends the next one, so a poll never
waits on the network.

A run whose actor died (its node was removed, its process killed) turns "lost" with a
message; a run not polled for `ttl` seconds is closed and its actor killed.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ray

from resviz.engine import jobs
from resviz.engine.config import RunConfig, Snapshot, carry_boundary, training
from resviz.engine.handle import RunHandle
from resviz.engine.local import DEFAULT_TTL, GONE_KEPT, LOST_CLOSED, LOST_IDLE, LOST_WORKER, SLICE

ROOT = Path(__file__).resolve().parents[2]
REPLY_TIMEOUT = 30.0


@ray.remote(max_concurrency=4)
class RunActor:
    """One live run on a cluster node: a training thread plus command/snapshot calls."""

    def __init__(self, config: RunConfig) -> None:
        import torch

        torch.set_num_threads(1)
        from resviz.engine.core import RunCore

        self.core = RunCore(config)
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.next_seq = 0
        self.pending: dict[int, tuple[str, tuple]] = {}
        self.latest: Snapshot = self.core.snapshot()
        self.alive = True
        threading.Thread(target=self._train, daemon=True).start()

    def _train(self) -> None:
        while self.alive:
            if not self.core.wants_cpu:
                self.wake.wait(0.5)
                self.wake.clear()
                continue
            with self.lock:
                self.core.work(SLICE)
                if self.core.state != "running" or self.core.due(time.perf_counter()):
                    self.latest = carry_boundary(self.latest, self.core.snapshot())

    def command(self, seq: int, name: str, args: tuple) -> None:
        with self.lock:
            self.pending[seq] = (name, args)
            while self.next_seq in self.pending:
                cname, cargs = self.pending.pop(self.next_seq)
                self.core.command(cname, *cargs)
                self.next_seq += 1
            self.latest = carry_boundary(self.latest, self.core.snapshot(True))
        self.wake.set()

    def snapshot(self, after: int = -1) -> Snapshot | None:
        snap = self.latest
        return None if snap.version <= after else snap

    def export_models(self) -> dict[str, Any]:
        with self.lock:
            return self.core.export_models()

    def where(self) -> dict[str, Any]:
        return {"node_id": ray.get_runtime_context().get_node_id(), "pid": os.getpid()}

    def stop(self) -> None:
        self.alive = False


@ray.remote(num_cpus=0)
class ProgressSink:
    """Holds a Ray job's newest progress values, for the caller to read."""

    def __init__(self) -> None:
        self.values: tuple | None = None

    def put(self, values: tuple) -> None:
        self.values = values

    def get(self) -> tuple | None:
        return self.values


@ray.remote(num_cpus=1)
def _ray_job(fn: Any, args: tuple, kw: dict, env: dict, sink: Any) -> Any:
    import torch

    torch.set_num_threads(1)
    progress = None if sink is None else jobs.Throttled(lambda v: sink.put.remote(v))
    return jobs.call(fn, args, kw, env, progress)


@dataclass
class _Run:
    actor: Any
    config: RunConfig
    seq: int = 0
    snapshot: Snapshot | None = None
    pending: Any = None       # the ObjectRef of the snapshot request in flight
    polled: float = field(default_factory=time.monotonic)
    lost: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class RayExecutor:
    """Executor on a Ray cluster: open() -> an actor per run, submit() -> a Ray task."""

    def __init__(self, address: str | None = None, ttl: float | None = None,
                 actor_options: dict[str, Any] | None = None,
                 runtime_env: dict[str, Any] | None = None) -> None:
        if not ray.is_initialized():
            env = runtime_env if runtime_env is not None else {
                "env_vars": {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}}
            ray.init(address=address, runtime_env=env, log_to_driver=False,
                     namespace="resviz")
        self.ttl = float(ttl if ttl is not None else os.environ.get("RESVIZ_RUN_TTL", DEFAULT_TTL))
        self.actor_options = {"num_cpus": 1, **(actor_options or {})}
        self._runs: dict[str, _Run] = {}
        self._gone: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.RLock()
        self._closed = False
        threading.Thread(target=self._janitor_loop, daemon=True,
                         name="resviz-ray-janitor").start()

    # ---- runs -----------------------------------------------------------------------------
    def open(self, config: RunConfig, **actor_options: Any) -> RunHandle:
        """Start an actor for the run (placement: `actor_options`, e.g. resources=...)."""
        run_id = uuid.uuid4().hex[:12]
        actor = RunActor.options(**{**self.actor_options, **actor_options}).remote(config)
        with self._lock:
            self._runs[run_id] = _Run(actor, config)
        return RunHandle(run_id, config, self)

    def send(self, run_id: str, command: str, args: tuple) -> None:
        run = self._runs.get(run_id)
        if run is None or run.lost is not None:
            return
        with run.lock:
            run.polled = time.monotonic()
            seq, run.seq = run.seq, run.seq + 1
            run.actor.command.remote(seq, command, args)

    def latest(self, run_id: str) -> Snapshot | None:
        run = self._runs.get(run_id)
        if run is None:
            return None
        with run.lock:
            run.polled = time.monotonic()
            if run.lost is not None:
                return run.snapshot
            if run.pending is not None:
                ready, _ = ray.wait([run.pending], timeout=0)
                if ready:
                    try:
                        snap = ray.get(run.pending)
                    except (ray.exceptions.RayActorError, ray.exceptions.ActorDiedError,
                            ray.exceptions.ActorUnavailableError, ray.exceptions.RayTaskError):
                        run.lost, run.pending = LOST_WORKER, None
                        return run.snapshot
                    if snap is not None:
                        run.snapshot = snap
                    run.pending = None
            if run.pending is None:
                after = -1 if run.snapshot is None else run.snapshot.version
                run.pending = run.actor.snapshot.remote(after)
            return run.snapshot

    def lost_reason(self, run_id: str) -> str | None:
        run = self._runs.get(run_id)
        return self._gone.get(run_id, LOST_CLOSED) if run is None else run.lost

    def fetch_models(self, run_id: str) -> dict[str, Any] | None:
        run = self._runs.get(run_id)
        if run is None or run.lost is not None:
            return None
        try:
            return ray.get(run.actor.export_models.remote(), timeout=REPLY_TIMEOUT)
        except ray.exceptions.GetTimeoutError:
            return None
        except (ray.exceptions.RayActorError, ray.exceptions.RayTaskError):
            run.lost = LOST_WORKER
            return None

    def where(self, handle: RunHandle) -> dict[str, Any]:
        """Node id and pid of the actor training this run."""
        return ray.get(self._runs[handle.run_id].actor.where.remote(), timeout=REPLY_TIMEOUT)

    def close(self, run_id: str, reason: str = LOST_CLOSED) -> None:
        with self._lock:
            run = self._runs.pop(run_id, None)
            self._gone[run_id] = reason
            while len(self._gone) > GONE_KEPT:
                self._gone.popitem(last=False)
        if run is not None:
            try:
                ray.kill(run.actor)
            except Exception:  # already gone with its node
                pass

    def _janitor_loop(self) -> None:
        while not self._closed:
            time.sleep(min(1.0, self.ttl / 4))
            self.expire()

    def expire(self) -> list[str]:
        now = time.monotonic()
        with self._lock:
            gone = [rid for rid, r in self._runs.items() if now - r.polled > self.ttl]
        for rid in gone:
            self.close(rid, LOST_IDLE)
        return gone

    # ---- jobs -----------------------------------------------------------------------------
    def submit(self, fn: Any, *args: Any, **kw: Any) -> Any:
        """A Ray task; returns a concurrent.futures.Future (.result(timeout), .done())."""
        return self.submit_job(fn, args, kw).future

    def submit_job(self, fn: Any, args: tuple, kw: dict, with_progress: bool = False) -> jobs.Job:
        """A Ray task on any node, plus its newest progress values: the task reports them to a
        small ProgressSink actor, which `latest()` asks without ever waiting on the network."""
        sink = ProgressSink.remote() if with_progress else None
        ref = _ray_job.remote(fn, args, kw, jobs.store_env(), sink)
        if sink is None:
            return jobs.Job(ref.future(), lambda: None)
        state: dict[str, Any] = {"values": None, "pending": None}

        def latest() -> tuple | None:
            pending = state["pending"]
            if pending is not None and ray.wait([pending], timeout=0)[0]:
                try:
                    state["values"] = ray.get(pending)
                except ray.exceptions.RayError:  # the sink went with its node: keep the last
                    pass
                state["pending"] = pending = None
            if pending is None:
                state["pending"] = sink.get.remote()
            return state["values"]

        return jobs.Job(ref.future(), latest)

    def running(self) -> int:
        """Runs this process opened that are training now (by their newest snapshot)."""
        with self._lock:
            return training(self._runs.values())

    def stats(self) -> dict[str, Any]:
        res = ray.cluster_resources()
        return {"kind": "ray", "runs_open": len(self._runs), "bound": int(res.get("CPU", 0)),
                "workers": len(self._runs), "nodes": len([n for n in ray.nodes() if n["Alive"]])}

    def shutdown(self) -> None:
        self._closed = True
        for rid in list(self._runs):
            self.close(rid)
