"""LocalExecutor: live runs in a bounded pool of warm worker processes (no extra service).

Why processes: training is Python- and launch-bound, so threads that share one interpreter
take turns; a process per core trains at full speed on every core, and the Streamlit
process only sends commands and reads snapshots (its CPU per step is tiny).

- Workers are fresh interpreters (`python -m resviz.engine.local FD`, talking over a socket
  pair), not forks (torch and Streamlit threads do not survive a fork) and not
  multiprocessing spawns (those re-run the parent's `__main__`, which under Streamlit is
  the page script). One torch thread each, at most `bound` of them (env RESVIZ_WORKERS, default the number
  of cores). The first is started when the executor is made, a spare as soon as it is
  ready, and one spare is kept warm while there is room, so neither a new tab's first
  snapshot nor Start -> first update waits for `import torch`.
- A run lives in one worker; commands go in over the worker's pipe, snapshots come back
  on it and a reader thread keeps the newest per run. A worker hosting several runs gives
  its running runs time slices in turn, the run with the fewest steps since it joined
  first, so they advance at the same steps/s; runs move between workers when that ends
  the training sooner (`LocalExecutor._rebalance`).
- Faults: a worker that dies (killed, out of memory) closes its pipe; its runs turn
  "lost" with a message, other runs go on, and the pool starts a replacement. A run whose
  handle is not polled for `ttl` seconds (tab closed) is closed and its slot freed; at
  most `bound * runs_per_worker` runs are open (the least recently polled one is closed
  to make room), so worker count and memory stay bounded.
"""

from __future__ import annotations

import math
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from resviz.engine import jobs
from resviz.engine.config import N_, RunConfig, Snapshot, carry_boundary, training
from resviz.engine.handle import RunHandle

SLICE = 0.05          # seconds one running run trains before the worker turns to the next
IDLE_POLL = 0.5       # seconds an idle worker waits for a command
REPLY_TIMEOUT = 30.0  # seconds to wait for a worker's answer (models())
DEFAULT_TTL = 60.0
RUNS_PER_WORKER = 8
GONE_KEPT = 10_000    # closed runs whose reason a late poll can still read
REBALANCE_GAIN = 0.85  # a run moves only if that ends its worker's training 15% sooner
REBALANCE_EVERY = 1.0  # seconds between two moves (snapshots lag; a move costs a pause)
# a run with less than this left (seconds at its rate) stays: a move pauses it about a second
# on a busy box (pack, send, unpack), and a class's last run was seen to end later for one
MOVE_MIN_S = 2.0
# a step of a Gang of n runs costs (1 + GANG_EXTRA (n - 1)) one run's step (measured on the
# default pair: two as one pass 1.6x one, four 2.8x; benchmarks/bench_engine.py)
GANG_EXTRA = 0.6


def time_to_end(runs: list[tuple[int, float, str]]) -> float:
    """A worker's training left, in units of one step of weight 1, for its running runs as
    (steps to go, RunConfig.weight, gang). Runs of one gang (not "") step together, the
    others in turn: a gang's n runs cost (1 + GANG_EXTRA (n - 1)) steps while all n train,
    then fewer as the nearest ends pass."""
    gangs: dict[str, list[tuple[int, float]]] = {}
    for i, (left, weight, gang) in enumerate(runs):
        gangs.setdefault(gang or f"alone {i}", []).append((left, weight))
    total = 0.0
    for members in gangs.values():
        lefts = sorted((left for left, _ in members), reverse=True) + [0]
        weight = max(w for _, w in members)
        for k in range(len(members)):  # k + 1 runs train for lefts[k] - lefts[k + 1] steps
            total += (lefts[k] - lefts[k + 1]) * weight * (1 + GANG_EXTRA * k)
    return total
WORKER_NICE = 5       # workers yield the CPU to the server (and browsers) when it is short
ROOT = Path(__file__).resolve().parents[2]

LOST_WORKER = N_("The worker training this run stopped (it was killed or ran out of memory). "
                 "Press Reset to start the run again.")
LOST_IDLE = N_("This run was closed because no page looked at it for a while (the tab was "
               "closed). Press Reset to start it again.")
LOST_ROOM = N_("This run was closed to make room for newer runs on a busy server. "
               "Press Reset to start it again.")
LOST_CLOSED = N_("This run was closed.")


def _threads() -> None:
    import torch

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work already ran in this process
        pass


def _send(conn: Connection, msg: tuple) -> None:
    """Plain pickle over the socket: Connection.send would use multiprocessing's pickler, to
    which torch adds shared-memory tensor passing that needs a common parent (authkey)."""
    conn.send_bytes(pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL))


def _recv(conn: Connection) -> tuple:
    return pickle.loads(conn.recv_bytes())


def _pack(core: Any) -> bytes:
    """A whole run (RunCore: models, optimiser, data order, curves) as bytes, for another
    worker to train on exactly as this one would have. torch.save, not pickle: it keeps
    tensors that share a buffer sharing it (a stacked pair's params are views into one)."""
    import io

    import torch

    buf = io.BytesIO()
    torch.save(core, buf)
    return buf.getvalue()


def _unpack(blob: bytes) -> Any:
    import io

    import torch

    return torch.load(io.BytesIO(blob), weights_only=False)  # our own worker's bytes


def _background(nice: int) -> None:
    """Lower this worker's CPU priority by `nice`: training takes whatever CPU is free, but a
    page rerun (Start, a click) and the tabs on the same machine go first when it is short.
    The worker is its own session, so where Linux shares CPU by session ("autogroup") the
    group's nice is what counts; os.nice is what counts where it does not."""
    if nice <= 0:
        return
    _group_nice(nice)
    try:
        os.nice(nice)
    except OSError:
        pass


def _group_nice(nice: int) -> bool:
    """Set this worker's session ("autogroup") nice; False where Linux has no autogroup. Any
    process may set its own group's nice back up to 0 (only below 0 needs privileges)."""
    try:
        Path("/proc/self/autogroup").write_text(str(nice))
    except OSError:
        return False  # not Linux, or autogroup off
    return True


class _Priority:
    """A worker's priority: WORKER_NICE while it trains, normal while a run it holds has been
    started and not yet shown moving (RunCore.urgent) or is about to end (RunCore.ending).
    What the class watches for then is a step or two away:
    - A class pressing Start at once, with their tabs on the same cores, waited up to 4.6 s
      for that first step at nice 5 (benchmarks/load.py, 10 users); the step takes 20-40 ms
      of CPU.
    - When four runs ended together, the pages of the first to finish redrew (about 0.8 s of
      a tab's CPU each) while the last trained its last steps: at nice 5 that worker got a
      fifth of a core, and the last run ended 2-3 s after the others (benchmarks/load.py,
      4 users). At normal priority it shares the core evenly with the redraws."""

    def __init__(self, nice: int) -> None:
        self.nice, self.now = nice, nice

    def set(self, urgent: bool) -> None:
        want = 0 if urgent else self.nice
        if want != self.now and self.nice > 0 and _group_nice(want):
            self.now = want


def worker_main(conn: Connection) -> None:
    """A worker process: build runs, apply commands between steps, train the running ones
    in turn, publish snapshots. Exits when the parent's end of the pipe closes."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    nice = int(os.environ.get("RESVIZ_WORKER_NICE", WORKER_NICE))
    _background(nice)
    priority = _Priority(nice)
    _threads()
    from resviz.device import freeze_heap
    from resviz.engine.core import RunCore, work_together
    from resviz.engine.kinds import warm_up

    warm_up()
    freeze_heap()  # a full collection took 0.2 s inside the first step of a worker's second run
    try:
        _send(conn, ("hello", os.getpid()))
    except OSError:
        return  # the parent went away while this worker was warming up
    runs: dict[str, RunCore] = {}
    # steps each training run has had since it (re)joined the turn: the run furthest behind
    # trains next, so runs on one worker advance at the same steps/s, whatever their size
    progress: dict[str, int] = {}

    def publish(run_id: str, core: RunCore, force: bool | None = None) -> None:
        _send(conn, ("snap", run_id, core.snapshot(force)))

    def handle(msg: tuple) -> None:
        op = msg[0]
        if op == "open":
            _, run_id, config = msg
            try:
                runs[run_id] = core = RunCore(config)
            except Exception as e:  # a bad config: say so on the page, do not kill the worker
                _send(conn, ("failed", run_id, f"{type(e).__name__}: {e}"))
                return
            publish(run_id, core)
        elif op == "cmd":
            _, run_id, name, args = msg
            core = runs.get(run_id)
            if core is not None:
                core.command(name, *args)
                publish(run_id, core, True)
        elif op == "models":
            _, run_id, req = msg
            core = runs.get(run_id)
            _send(conn, ("reply", req, None if core is None else core.export_models()))
        elif op == "close":
            runs.pop(msg[1], None)
        elif op == "export":  # the run moves to another worker (LocalExecutor._rebalance)
            core = runs.get(msg[1])
            if core is not None and not core.wants_cpu:
                # it stopped since it was asked for (finished, paused): a stopped run gains
                # nothing from a move, and the new worker's snapshot would redraw its page
                _send(conn, ("stay", msg[1]))
                return
            runs.pop(msg[1], None)
            _send(conn, ("moved", msg[1], None if core is None else _pack(core)))
        elif op == "adopt":
            _, run_id, blob = msg
            runs[run_id] = core = _unpack(blob)
            publish(run_id, core)
        elif op == "ping":
            _send(conn, ("reply", msg[1], {"pid": os.getpid(), "runs": len(runs)}))
        elif op == "job":
            _, req, fn, args, kw, with_progress, env = msg
            progress = jobs.Throttled(lambda v: _send(conn, ("progress", req, v))) \
                if with_progress else None
            try:
                _send(conn, ("reply", req, ("ok", jobs.call(fn, args, kw, env, progress))))
            except Exception as e:  # the caller's future raises it
                _send(conn, ("reply", req, ("err", e)))

    while True:
        busy = [rid for rid, c in runs.items() if c.wants_cpu]
        try:
            timeout = 0.0 if busy else IDLE_POLL
            while conn.poll(timeout):
                handle(_recv(conn))
                timeout = 0.0
        except (EOFError, OSError):
            return  # the parent is gone
        busy = [rid for rid, c in runs.items() if c.wants_cpu]
        urgent = [rid for rid in busy if runs[rid].urgent]
        priority.set(bool(urgent) or any(runs[r].ending for r in busy))
        if not busy:
            continue
        for gone in [r for r in progress if r not in busy]:
            del progress[gone]  # stopped, closed or moved away: it rejoins where the others are
        floor = min(progress.values(), default=0)
        for r in busy:
            progress.setdefault(r, floor)
        # a run just started goes first, for one step (RunCore.work), shown at once; else the
        # run furthest behind, with every run that can train as one pass with it (a Gang)
        rid = urgent[0] if urgent else min(busy, key=progress.__getitem__)
        key = runs[rid].gang_key
        team = [rid] + [r for r in busy if r != rid and key is not None
                        and runs[r].gang_key == key]
        for r in team:
            runs[r].crowd = len(busy)  # a share of the worker: snapshots etc. as rarely
        done = work_together([runs[r] for r in team], SLICE, interrupt=conn.poll)
        now = time.perf_counter()
        for r, n in zip(team, done):
            progress[r] += n
            if runs[r].state != "running" or runs[r].due(now):
                publish(r, runs[r])  # paused at a Step target, or finished: the exact picture


@dataclass
class _Worker:
    process: Any
    conn: Connection
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    runs: set[str] = field(default_factory=set)
    ready: bool = False
    alive: bool = True


@dataclass
class _Run:
    worker: _Worker
    config: RunConfig
    snapshot: Snapshot | None = None
    polled: float = field(default_factory=time.monotonic)
    lost: str | None = None
    moving_to: _Worker | None = None  # being moved there (`_rebalance`)
    held: list = field(default_factory=list)  # commands sent while it moves, in order


class LocalExecutor:
    """Live runs in local worker processes; `submit()` jobs in a separate process pool."""

    def __init__(self, workers: int | None = None, ttl: float | None = None,
                 runs_per_worker: int | None = None, spare: int = 1) -> None:
        env = os.environ.get("RESVIZ_WORKERS")
        self.bound = max(1, int(workers or (int(env) if env else 0) or os.cpu_count() or 1))
        self.ttl = float(ttl if ttl is not None else os.environ.get("RESVIZ_RUN_TTL", DEFAULT_TTL))
        self.runs_per_worker = int(runs_per_worker or RUNS_PER_WORKER)
        self.spare = spare
        self._lock = threading.RLock()
        self._workers: list[_Worker] = []
        self._runs: dict[str, _Run] = {}
        self._gone: OrderedDict[str, str] = OrderedDict()  # forgotten runs' reasons, bounded
        self._replies: dict[str, tuple[_Worker, Future]] = {}
        self._progress: dict[str, list] = {}  # job request -> [newest progress values]
        self._job_workers: list[_Worker] = []
        self._job_threads: ThreadPoolExecutor | None = None
        self._job_local = threading.local()
        self._closed = False
        self._moved_at = -math.inf  # when `_rebalance` last moved a run
        self._ensure_spare()  # the first run's worker; its spare starts when it is ready
        self._janitor = threading.Thread(target=self._janitor_loop, daemon=True,
                                         name="resviz-engine-janitor")
        self._janitor.start()

    # ---- workers --------------------------------------------------------------------------
    def _spawn(self, jobs: bool = False) -> _Worker:
        parent, child = socket.socketpair()
        env = dict(os.environ, OMP_NUM_THREADS="1",
                   PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                            os.environ.get("PYTHONPATH")])))
        # Its own session: where Linux groups CPU time by session ("autogroup", on by default
        # on desktops and this box), the server and all its workers otherwise share one
        # group's fair share, so four browser tabs on the same machine (one group) held the
        # workers to about one core between them (measured). A worker still ends with the
        # server: it exits when its end of the socket closes.
        proc = subprocess.Popen([sys.executable, "-m", "resviz.engine.local", str(child.fileno())],
                                pass_fds=[child.fileno()], env=env, cwd=str(ROOT),
                                stdin=subprocess.DEVNULL, start_new_session=True)
        child.close()  # so the parent sees EOF when the worker dies
        w = _Worker(proc, Connection(parent.detach()))
        (self._job_workers if jobs else self._workers).append(w)
        threading.Thread(target=self._reader, args=(w,), daemon=True,
                         name=f"resviz-reader-{proc.pid}").start()
        return w

    def _ensure_spare(self, extra: int = 0) -> None:
        """Keep `spare` (+ `extra`) idle workers warm while under the bound."""
        with self._lock:
            if self._closed:
                return
            idle = sum(1 for w in self._workers if w.alive and not w.runs)
            while idle < self.spare + extra and len(self._alive()) < self.bound:
                self._spawn()
                idle += 1

    def _alive(self) -> list[_Worker]:
        return [w for w in self._workers if w.alive]

    def _reader(self, w: _Worker) -> None:
        while True:
            try:
                msg = _recv(w.conn)
            except Exception:  # EOF, a closed handle, a torn message: the worker is gone
                break
            op = msg[0]
            if op == "hello":
                w.ready = True
                if not self._runs:
                    # the first worker is ready and no run has come yet: warm the spare the
                    # second run will take now, not when the first run opens (a spare started
                    # then was still importing torch when a second tab opened a second later:
                    # its first snapshot took 3 s, not 0.25 s). Not at once with the first: on
                    # a fresh server, two imports of torch beside the server's held back the
                    # first worker, and Start, by seconds (benchmarks/bench_cold.py).
                    self._ensure_spare(extra=1)
            elif op == "snap":
                with self._lock:
                    run = self._runs.get(msg[1])
                    if run is not None:
                        was = run.snapshot
                        run.snapshot = carry_boundary(run.snapshot, msg[2])
                        if msg[2].running or was is not None and was.running:
                            self._rebalance()  # the runs' remaining work changed
            elif op == "moved":
                self._moved(w, msg[1], msg[2])
            elif op == "stay":
                self._stayed(w, msg[1])
            elif op == "failed":
                with self._lock:
                    run = self._runs.get(msg[1])
                    if run is not None:
                        run.lost = msg[2]
            elif op == "progress":
                box = self._progress.get(msg[1])
                if box is not None:
                    box[0] = msg[2]
            elif op == "reply":
                self._progress.pop(msg[1], None)
                pending = self._replies.pop(msg[1], None)
                if pending is not None:
                    pending[1].set_result(msg[2])
        self._worker_died(w)

    def _worker_died(self, w: _Worker) -> None:
        with self._lock:
            if not w.alive:
                return
            w.alive = False
            for pool in (self._workers, self._job_workers):
                if w in pool:
                    pool.remove(w)
            for rid in w.runs:
                run = self._runs.get(rid)
                if run is not None and run.lost is None:
                    run.lost = LOST_WORKER
                if run is not None:
                    run.moving_to = None  # its bytes will not come
            w.runs.clear()
            for req, (owner, fut) in list(self._replies.items()):
                if owner is w:
                    del self._replies[req]
                    if not fut.done():
                        fut.set_result(None)
        try:
            w.conn.close()
        except OSError:
            pass
        try:
            w.process.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            pass
        self._ensure_spare()

    def _post(self, w: _Worker, msg: tuple) -> bool:
        try:
            with w.send_lock:
                _send(w.conn, msg)
            return True
        except (OSError, ValueError, BrokenPipeError):
            threading.Thread(target=self._worker_died, args=(w,), daemon=True).start()
            return False

    def _rebalance(self) -> None:
        """Move one training run to another worker when that ends the training sooner (call
        with the lock held).

        A worker trains its runs in turn, or same-shape runs as one Gang, so it is done when
        its runs' remaining work is done (`time_to_end`: steps to go x RunConfig.weight,
        summed, a gang's at its lower cost). A run stays on the worker it was opened on,
        so as a class's runs of different sizes end, one worker could train two runs at half
        speed each while the other core had little or nothing to do, and the class waited
        seconds for its last run (benchmarks/load.py: 4 users, the last run ended 2-3 s after
        the others). So when the busiest worker holds several runs, the run whose move
        brings the later of the two workers' ends closest moves to the least busy worker, if
        that ends it at least REBALANCE_GAIN sooner. The run moves whole, between two steps
        (`_pack`), and trains on with the same numbers; commands sent meanwhile follow it in
        order. One move at a time, at most one per REBALANCE_EVERY seconds."""
        if time.monotonic() - self._moved_at < REBALANCE_EVERY:
            return
        # per worker: (steps to go, weight, gang, run id, movable) of each training run; a run
        # with no rate yet was just started and is not moved (its first steps are on screen),
        # nor one about to end (MOVE_MIN_S)
        work: dict[int, list[tuple[int, float, str, str, bool]]] = {id(w): [] for w in self._workers}
        for rid, run in self._runs.items():
            if run.moving_to is not None:
                return  # one move at a time
            s = run.snapshot
            if run.lost is None and s is not None and s.running and id(run.worker) in work:
                work[id(run.worker)].append(
                    (max(s.left, 1), run.config.weight, s.gang, rid,
                     s.sps > 0 and s.left >= MOVE_MIN_S * s.sps))
        alive = [w for w in self._alive() if w.ready]
        if len(alive) < 2:
            return

        def end(runs: list[tuple[int, float, str, str, bool]]) -> float:
            return time_to_end([r[:3] for r in runs])

        total = {id(w): end(work[id(w)]) for w in alive}
        source = max(alive, key=lambda w: total[id(w)])
        target = min(alive, key=lambda w: total[id(w)])
        if len(work[id(source)]) < 2:
            return  # one run cannot be split between two workers
        here, there = work[id(source)], work[id(target)]
        # each settled run's move: the later of the two workers' ends after it
        options = [(max(end([r for r in here if r is not x]), end([*there, x])), x[3])
                   for x in here if x[4]]
        if not options:
            return
        later, rid = min(options, key=lambda o: o[0])
        if later > REBALANCE_GAIN * total[id(source)]:
            return
        self._runs[rid].moving_to = target
        self._moved_at = time.monotonic()
        if not self._post(source, ("export", rid)):
            self._runs[rid].moving_to = None

    def _moved(self, source: _Worker, run_id: str, blob: bytes | None) -> None:
        """A run's bytes from its old worker: hand them to its new one, then what was sent
        to the run meanwhile."""
        with self._lock:
            run = self._runs.get(run_id)
            target = run.moving_to if run is not None else None
            if run is None or target is None:
                return
            run.moving_to, held, run.held = None, run.held, []
            source.runs.discard(run_id)
            if blob is None or run.lost is not None:
                if run.lost is None:
                    run.lost = LOST_WORKER
                return
            if not target.alive:  # it died meanwhile: the least busy live worker
                target = min(self._alive(), key=lambda w: len(w.runs), default=None)
                if target is None:
                    run.lost = LOST_WORKER
                    return
            run.worker = target
            target.runs.add(run_id)
            # sent under the lock: a command sent now waits for these, so order is kept
            for msg in [("adopt", run_id, blob), *held]:
                if not self._post(target, msg):
                    break

    def _stayed(self, source: _Worker, run_id: str) -> None:
        """The run stopped before its worker could send it: it stays there, and what was sent
        to it meanwhile follows."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None or run.moving_to is None:
                return
            run.moving_to, held, run.held = None, run.held, []
            for msg in held:
                if not self._post(source, msg):
                    break

    def _place(self) -> _Worker:
        """The worker whose runs weigh least (RunConfig.weight; ready workers first); a new
        one while that worker already has a run and the pool is under its bound.

        By weight, not count: a run stays on its worker (until `_rebalance` moves it), and a
        worker trains its runs in turn, so a deep run placed by count shared a worker with
        small ones while another worker held only small ones. Runs of nearly equal weight
        arriving in an unlucky order can still end up unevenly paired (greedy placement)."""
        alive = self._alive()

        def load(w: _Worker) -> float:
            return sum(self._runs[r].config.weight for r in w.runs if r in self._runs)

        best = min(alive, key=lambda w: (load(w), not w.ready), default=None)
        if best is None or (best.runs and len(alive) < self.bound):
            best = self._spawn()
        return best

    # ---- runs -----------------------------------------------------------------------------
    def open(self, config: RunConfig) -> RunHandle:
        """Build the run in a worker; the handle's first snapshot (state "ready") follows."""
        run_id = uuid.uuid4().hex[:12]
        with self._lock:
            self._make_room()
            w = self._place()
            w.runs.add(run_id)
            self._runs[run_id] = _Run(w, config)
        self._post(w, ("open", run_id, config))
        self._ensure_spare()
        return RunHandle(run_id, config, self)

    def _make_room(self) -> None:
        cap = self.bound * self.runs_per_worker
        live = [(r.polled, rid) for rid, r in self._runs.items() if r.lost is None]
        while len(live) >= cap:
            live.sort()
            _, rid = live.pop(0)
            self._close_run(rid, LOST_ROOM)

    def _close_run(self, run_id: str, reason: str) -> None:
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                return
            if run.lost is None:
                run.lost = reason
            run.snapshot = None
            run.worker.runs.discard(run_id)
            w = run.worker
        if w.alive:
            self._post(w, ("close", run_id))

    # Backend protocol (used by RunHandle)
    def send(self, run_id: str, command: str, args: tuple) -> None:
        with self._lock:
            run = self._runs.get(run_id)
            if run is None or run.lost is not None:
                return
            run.polled = time.monotonic()
            if run.moving_to is not None:  # sent on after the run arrives (`_moved`)
                run.held.append(("cmd", run_id, command, args))
                return
            # posted under the lock: a move (`_rebalance`) cannot start between reading the
            # run's worker and sending to it
            self._post(run.worker, ("cmd", run_id, command, args))

    def latest(self, run_id: str) -> Snapshot | None:
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                return None
            run.polled = time.monotonic()
            return run.snapshot

    def _forget(self, run_id: str, reason: str) -> None:
        self._runs.pop(run_id, None)
        self._gone[run_id] = reason
        while len(self._gone) > GONE_KEPT:
            self._gone.popitem(last=False)

    def lost_reason(self, run_id: str) -> str | None:
        run = self._runs.get(run_id)
        return self._gone.get(run_id, LOST_CLOSED) if run is None else run.lost

    def fetch_models(self, run_id: str) -> dict[str, Any] | None:
        with self._lock:
            run = self._runs.get(run_id)
            if run is None or run.lost is not None:
                return None
            run.polled = time.monotonic()
            req = uuid.uuid4().hex
            fut: Future = Future()
            if run.moving_to is not None:  # asked of its new worker once it arrives
                self._replies[req] = (run.moving_to, fut)
                run.held.append(("models", run_id, req))
            else:
                self._replies[req] = (run.worker, fut)
                if not self._post(run.worker, ("models", run_id, req)):
                    return None
        try:
            return fut.result(REPLY_TIMEOUT)
        except TimeoutError:
            self._replies.pop(req, None)
            return None

    def close(self, run_id: str) -> None:
        self._close_run(run_id, LOST_CLOSED)
        with self._lock:
            self._forget(run_id, LOST_CLOSED)

    # ---- housekeeping ---------------------------------------------------------------------
    def _janitor_loop(self) -> None:
        while not self._closed:
            time.sleep(min(1.0, self.ttl / 4))
            self.expire()

    def expire(self) -> list[str]:
        """Close the runs nobody polled for `ttl` seconds; forget long-lost ones."""
        now = time.monotonic()
        gone = []
        with self._lock:
            for rid, run in list(self._runs.items()):
                if run.lost is None and now - run.polled > self.ttl:
                    gone.append(rid)
                elif run.lost is not None and now - run.polled > 10 * self.ttl:
                    self._forget(rid, run.lost)
        for rid in gone:
            self._close_run(rid, LOST_IDLE)
        self._ensure_spare()
        return gone

    def kill_worker_of(self, handle: RunHandle) -> int | None:
        """The pid of the process training this run (for fault tests and benchmarks)."""
        run = self._runs.get(handle.run_id)
        return None if run is None else run.worker.process.pid

    def running(self) -> int:
        """Runs of this process that are training now (by their newest snapshot): cheap, for
        a page that paces its redraws by how busy this server is."""
        with self._lock:
            return training(self._runs.values())

    def stats(self) -> dict[str, Any]:
        with self._lock:
            alive = self._alive()
            return {"kind": "local", "bound": self.bound, "workers": len(alive),
                    "ready": sum(w.ready for w in alive),
                    "runs_open": sum(1 for r in self._runs.values() if r.lost is None),
                    "runs_per_worker": [len(w.runs) for w in alive],
                    "pids": [w.process.pid for w in alive]}

    def warm(self, timeout: float = 60.0) -> bool:
        """Wait until at least one worker is ready (imports done); True if so."""
        self._ensure_spare()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(w.ready for w in self._alive()):
                return True
            time.sleep(0.02)
        return False

    # ---- jobs -----------------------------------------------------------------------------
    def submit(self, fn: Any, *args: Any, **kw: Any) -> Future:
        """Run a heavy job (sweep, landscape, precompute) in a worker process of its own
        (at most `bound` job workers, apart from the live runs' workers); returns a
        concurrent.futures.Future (.result(timeout), .done()). `fn` must be importable
        (a module-level function)."""
        return self.submit_job(fn, args, kw).future

    def submit_job(self, fn: Any, args: tuple, kw: dict, with_progress: bool = False) -> jobs.Job:
        """`submit`, plus the job's newest progress values (resviz.engine.jobs)."""
        with self._lock:
            if self._job_threads is None:
                self._job_threads = ThreadPoolExecutor(self.bound, thread_name_prefix="resviz-job")
            threads = self._job_threads
        req = uuid.uuid4().hex
        box: list = [None]
        if with_progress:
            self._progress[req] = box
        future = threads.submit(self._run_job, req, fn, args, kw, with_progress, jobs.store_env())
        return jobs.Job(future, lambda: box[0])

    def _run_job(self, req: str, fn: Any, args: tuple, kw: dict, with_progress: bool,
                 env: dict) -> Any:
        w = getattr(self._job_local, "worker", None)
        if w is None or not w.alive:
            with self._lock:
                w = self._job_local.worker = self._spawn(jobs=True)
        fut: Future = Future()
        self._replies[req] = (w, fut)
        try:
            if not self._post(w, ("job", req, fn, args, kw, with_progress, env)):
                raise RuntimeError(LOST_WORKER)
            answer = fut.result()
        finally:
            self._progress.pop(req, None)
        if answer is None:
            raise RuntimeError(LOST_WORKER)
        status, value = answer
        if status == "err":
            raise value
        return value

    def shutdown(self) -> None:
        """Stop every worker (tests, interpreter exit)."""
        with self._lock:
            self._closed = True
            workers = self._workers + self._job_workers
            threads, self._job_threads = self._job_threads, None
        for w in workers:
            try:
                w.conn.close()
            except OSError:
                pass
        for w in workers:
            try:
                w.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                w.process.kill()
                w.process.wait(timeout=2)
        if threads is not None:
            threads.shutdown(wait=False, cancel_futures=True)


if __name__ == "__main__":  # a worker: python -m resviz.engine.local FD
    worker_main(Connection(int(sys.argv[1])))
