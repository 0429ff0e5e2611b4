"""Live training on a page: Start/Pause/Reset and short, interruptible training chunks.

A run is any object with a `trainer` (resviz.train.Trainer), a `running` flag and an
`extra` dict. One fragment run trains for CHUNK_SECONDS and redraws, so the next click
(which reruns the page) interrupts training within a fraction of a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import streamlit as st

from resviz.i18n import _
from resviz.train import Trainer

CHUNK_SECONDS = 0.25
REFRESH_SECONDS = 0.05


class LiveRun(Protocol):
    trainer: Trainer
    running: bool
    extra: dict


def controls(run: LiveRun, prefix: str, reset: Callable[[], LiveRun]) -> LiveRun:
    """Start / Pause / Reset buttons (keys `<prefix>_start` ...); returns the current run."""
    b1, b2, b3, _gap = st.columns([1, 1, 1, 4])
    if b1.button(_("Start"), key=f"{prefix}_start", type="primary", disabled=run.running,
                 icon=":material/play_arrow:"):
        run.running = True
        st.rerun()
    if b2.button(_("Pause"), key=f"{prefix}_pause", disabled=not run.running,
                 icon=":material/pause:"):
        run.running = False
        st.rerun()
    if b3.button(_("Reset"), key=f"{prefix}_reset", icon=":material/restart_alt:"):
        run = reset()
    return run


def train_chunk(run: LiveRun, max_steps: int) -> None:
    """Train for about CHUNK_SECONDS; stop at the step limit or when every model diverged."""
    tr = run.trainer
    t0, n0 = time.perf_counter(), tr.step_count
    for _rec in tr.run(max_steps - tr.step_count):
        if time.perf_counter() - t0 > CHUNK_SECONDS:
            break
    if tr.step_count > n0:
        run.extra["sps"] = (tr.step_count - n0) / (time.perf_counter() - t0)
    if tr.step_count >= max_steps or all(tr.diverged(k) is not None for k in tr.states):
        run.running = False


def status(run: LiveRun, max_steps: int) -> None:
    """'step 120 of 600 · 40 steps/s · training'."""
    parts = [_("step {step} of {max}").format(step=run.trainer.step_count, max=max_steps)]
    if "sps" in run.extra:
        parts.append(_("{sps:.0f} steps/s").format(sps=run.extra["sps"]))
    if run.running:
        parts.append("**" + _("training") + "**")
    st.markdown(" · ".join(parts))


def fragment(run: LiveRun, max_steps: int, draw: Callable[[], Any]) -> None:
    """Draw the live part; while running, train a chunk first and refresh on a timer."""

    def body() -> None:
        if run.running:
            train_chunk(run, max_steps)
        draw()

    st.fragment(body, run_every=REFRESH_SECONDS if run.running else None)()
