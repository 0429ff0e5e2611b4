"""The live-run engine: training runs outside the page, in workers, driven by commands.

    from resviz.engine import RunConfig, executor
    handle = executor().open(RunConfig("classify", (("A", spec_a), ("B", spec_b)), tspec))
    handle.start(); snap = handle.snapshot()   # compact plain data for the charts

`executor()` is a process-wide singleton: a LocalExecutor (warm worker processes, no
extra service) by default, a RayExecutor when RAY_ADDRESS is set (live runs become Ray
actors, submit() jobs Ray tasks). Without RAY_ADDRESS nothing of Ray is imported.
The interface is described in docs/engine.md.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Protocol

from resviz.engine.config import RunConfig, Snapshot
from resviz.engine.handle import RunHandle
from resviz.engine.kinds import KINDS
from resviz.engine.probes import PROBES

__all__ = ["KINDS", "PROBES", "Executor", "RunConfig", "RunHandle", "Snapshot", "executor",
           "on_cluster", "reset_executor"]


class Executor(Protocol):
    def open(self, config: RunConfig) -> RunHandle: ...

    def submit(self, fn: Any, *args: Any, **kw: Any) -> Any: ...

    def submit_job(self, fn: Any, args: tuple, kw: dict, with_progress: bool = False) -> Any: ...

    def stats(self) -> dict[str, Any]: ...

    def running(self) -> int: ...

    def shutdown(self) -> None: ...


_lock = threading.Lock()
_executor: Executor | None = None


def on_cluster() -> bool:
    """Whether RAY_ADDRESS names a Ray cluster. The executor is then a RayExecutor, and the CLI
    sends its heavy parts there as tasks (a sweep's depths, the orderings, a landscape), as
    the pages do; without it a CLI command computes in its own process."""
    return bool(os.environ.get("RAY_ADDRESS"))


def executor() -> Executor:
    """The process-wide executor, made on first use (which also starts a warm worker)."""
    global _executor
    with _lock:
        if _executor is None:
            if on_cluster():
                from resviz.engine.ray_exec import RayExecutor

                _executor = RayExecutor(os.environ["RAY_ADDRESS"])
            else:
                from resviz.engine.local import LocalExecutor

                _executor = LocalExecutor()
        return _executor


def reset_executor() -> None:
    """Shut the singleton down (tests; a server that changes RESVIZ_WORKERS)."""
    global _executor
    with _lock:
        ex, _executor = _executor, None
    if ex is not None:
        ex.shutdown()
