"""RunHandle: what a page holds for one live run. Cheap to poll; never raises for a lost run.

The handle talks to its executor's backend (a local worker process or a Ray actor) through
five calls: send a command, read the newest snapshot, fetch the models, close, and mark
polled. Snapshots come in compact: a boundary is sent only when it changed, so the handle
keeps the last one and fills it in.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

import torch

from resviz.engine.config import RunConfig, Snapshot, carry_boundary, lost_snapshot


class Backend(Protocol):
    def send(self, run_id: str, command: str, args: tuple) -> None: ...

    def latest(self, run_id: str) -> Snapshot | None: ...

    def lost_reason(self, run_id: str) -> str | None: ...

    def fetch_models(self, run_id: str) -> dict[str, Any] | None: ...

    def close(self, run_id: str) -> None: ...


class RunHandle:
    """Commands go to the run's worker and are applied between two steps; snapshot() reads
    the newest picture. `lost` is a human message once the run is gone (worker died, run
    closed for lack of a viewer); the page offers a restart (reset() or a new handle)."""

    def __init__(self, run_id: str, config: RunConfig, backend: Backend) -> None:
        self.run_id, self.config = run_id, config
        self._backend = backend
        self._last: Snapshot | None = None
        self._lock = threading.Lock()
        self.polled = time.monotonic()
        self.closed = False

    # commands
    def _send(self, command: str, *args: Any) -> None:
        self.polled = time.monotonic()
        if self.lost is None and not self.closed:
            self._backend.send(self.run_id, command, args)

    def start(self) -> None:
        self._send("start")

    def pause(self) -> None:
        self._send("pause")

    def step(self, n: int = 1) -> None:
        self._send("step", int(n))

    def extend(self, steps: int) -> None:
        self._send("extend", int(steps))

    def reset(self) -> None:
        self._send("reset")

    def set_skips(self, name: str, mask: list[bool]) -> None:
        self._send("set_skips", name, [bool(m) for m in mask])

    def set_active(self, name: str, mask: list[bool]) -> None:
        self._send("set_active", name, [bool(m) for m in mask])

    def set_gate(self, name: str, value: float | None, block: int | None = None) -> None:
        self._send("set_gate", name, value, block)

    # reading
    @property
    def lost(self) -> str | None:
        return self._backend.lost_reason(self.run_id)

    def snapshot(self, after: int = -1) -> Snapshot | None:
        """The newest snapshot, or None if none is newer than version `after`."""
        self.polled = time.monotonic()
        snap = self._backend.latest(self.run_id)
        reason = self.lost
        with self._lock:
            if reason is not None:
                if self._last is None or self._last.state != "lost":
                    self._last = lost_snapshot(self.config.names, reason, self._last)
                snap = self._last
            elif snap is not None and (self._last is None or snap.version != self._last.version):
                carry_boundary(self._last, snap)
                self._last = snap
            snap = self._last
        if snap is None or snap.version <= after:
            return None
        return snap

    def wait(self, until: Any = None, timeout: float = 10.0, poll: float = 0.01) -> Snapshot | None:
        """Poll until `until(snapshot)` holds (default: any snapshot); None on timeout.
        For scripts and tests; a page polls snapshot() from its refresh fragment."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            s = self.snapshot()
            if s is not None and (until is None or until(s) or s.state == "lost"):
                return s
            time.sleep(poll)
        return None

    def models(self) -> dict[str, torch.nn.Module]:
        """Local copies of the models with the run's current weights and switches (for
        page-side probes on a paused or finished run). Empty when the run is lost."""
        from resviz.engine.core import rebuild_models

        self.polled = time.monotonic()
        if self.lost is not None or self.closed:
            return {}
        export = self._backend.fetch_models(self.run_id)
        return {} if export is None else rebuild_models(export)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._backend.close(self.run_id)

    def __repr__(self) -> str:
        return f"RunHandle({self.run_id!r}, kind={self.config.kind!r})"
