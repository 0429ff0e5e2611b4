"""Heavy jobs on the engine: degradation depths, orderings, landscapes, precompute.

A page (or `precompute`) hands the engine a module-level function and its arguments; the job
runs in a job worker process here (apart from the live runs' workers, at most one per core),
or as a Ray task on the cluster's nodes when RAY_ADDRESS is set. So the Streamlit process stays
free to draw, every core is used, and a cluster shares out a sweep's depths.

    for i, result in jobs.fan_out(deg.run_group, [((sw, 2), {}), ((sw, 4), {})], progress=show):
        ...                      # results in the order they finish; show(i, values) meanwhile

A job that takes a `progress` keyword gets a callable; the values it reports (plain, small)
are relayed to the caller's `progress`, called in the caller's thread (the page's script
thread, where Streamlit calls are allowed), at most every PROGRESS_EVERY seconds per job.
A job runs with the caller's results-store settings (`STORE_ENV`), so what it stores is found
by the page. Leaving the loop early (a Stop click) does not cancel jobs already started: they
finish and what they store is kept.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import Any

PROGRESS_EVERY = 0.2  # seconds between two progress messages of one job
POLL = 0.1            # seconds between two looks at the jobs' progress
STORE_ENV = ("RESVIZ_STORE", "RESVIZ_STORE_BYTES", "RESVIZ_STORE_TTL", "RESVIZ_REDIS_URL",
             "RESVIZ_NO_STORE")

Call = tuple[tuple, dict]  # (args, keyword args) of one job


@dataclass
class Job:
    """A submitted job: its future, and its newest progress values (None before any)."""

    future: Future
    latest: Callable[[], tuple | None]


class Throttled:
    """The `progress` a job is given: forwards at most every `every` seconds (the first call
    always), so a job reporting every step costs the channel nothing."""

    def __init__(self, send: Callable[[tuple], None], every: float = PROGRESS_EVERY) -> None:
        self.send, self.every, self.last = send, every, -float("inf")

    def __call__(self, *values: Any) -> None:
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self.send(values)


def store_env() -> dict[str, str | None]:
    """The caller's results-store settings (None = unset), to be applied where the job runs."""
    return {k: os.environ.get(k) for k in STORE_ENV}


def apply_store_env(env: dict[str, str | None]) -> None:
    for k, v in env.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def call(fn: Callable[..., Any], args: tuple, kw: dict, env: dict[str, str | None],
         progress: Callable[..., None] | None) -> Any:
    """Run one job where it landed: the caller's store settings, and `progress` if wanted."""
    apply_store_env(env)
    if progress is not None:
        kw = {**kw, "progress": progress}
    return fn(*args, **kw)


def fan_out(fn: Callable[..., Any], calls: Sequence[Call],
            progress: Callable[[int, tuple], None] | None = None,
            poll: float = POLL, return_errors: bool = False) -> Iterator[tuple[int, Any]]:
    """Submit `fn(*args, **kw)` for every call at once; yield (index, result) as each finishes.

    `progress(index, values)` is called (in this thread) whenever a job reported new values.
    A job's exception (its own, or a lost worker's RuntimeError) is raised here when its turn
    comes, or yielded as the result with `return_errors`.
    """
    from resviz.engine import executor

    ex = executor()
    jobs = [ex.submit_job(fn, args, kw, progress is not None) for args, kw in calls]
    left, seen = set(range(len(jobs))), {}
    while left:
        wait([jobs[i].future for i in left], timeout=poll, return_when=FIRST_COMPLETED)
        if progress is not None:
            for i in sorted(left):
                values = jobs[i].latest()
                if values is not None and values != seen.get(i):
                    seen[i] = values
                    progress(i, values)
        for i in sorted(left):
            future = jobs[i].future
            if future.done():
                left.discard(i)
                error = future.exception()
                if error is not None and not return_errors:
                    raise error
                yield i, error if error is not None else future.result()


def run(fn: Callable[..., Any], *args: Any, progress: Callable[..., None] | None = None,
        **kw: Any) -> Any:
    """One job: `fn(*args, **kw)` on the engine; its progress values go to `progress(*values)`."""
    relay = None if progress is None else (lambda _i, values: progress(*values))
    for _i, result in fan_out(fn, [(args, kw)], relay):
        return result
    raise RuntimeError("the job gave no result")  # unreachable: one call, one result
