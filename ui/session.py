"""Per-user state shared between pages: the Playground's live run.

Everything mutable lives in st.session_state (never in st.cache_resource, which all users
share). The run itself trains in the engine (ui.live); other pages read it through
`PlaygroundRun`, whose models are local copies of the current weights (handle.models()),
or offer to train the default pair.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import streamlit as st
import torch

from resviz.data import Dataset, load
from resviz.i18n import _
from resviz.spec import NetworkSpec, TrainSpec
from resviz.train import Record
from ui import live

KEY = "pg_live"  # the Playground's ui.live.Live


@st.cache_resource(max_entries=16, show_spinner=False)
def dataset(name: str, n_samples: int, noise: float, seed: int) -> Dataset:
    """A data set, built once per server (read only: shared by every user is safe)."""
    return load(name, n_samples, noise, seed)


def data_of(tspec: TrainSpec) -> Dataset:
    return dataset(tspec.dataset, tspec.n_samples, tspec.noise, tspec.data_seed)


def config(specs: dict[str, NetworkSpec], tspec: TrainSpec, device: str = "cpu") -> live.RunConfig:
    """The Playground's run config: specs shaped for the data; a boundary grid for 2-D data."""
    data = data_of(tspec)
    shaped = tuple((k, s.replace(input_shape=data.input_shape, n_classes=data.n_classes))
                   for k, s in specs.items())
    return live.RunConfig(kind="classify", specs=shaped, train=tspec, device=device,
                          boundary=60 if data.is_2d else 0)


@dataclass
class PlaygroundRun:
    """The Playground's run as other pages see it: specs, data, steps and current models."""

    live: live.Live
    _models: dict = field(default_factory=dict)

    @property
    def specs(self) -> dict[str, NetworkSpec]:
        return dict(self.live.config.specs)

    @property
    def tspec(self) -> TrainSpec:
        return self.live.config.train

    @property
    def data(self) -> Dataset:
        return data_of(self.tspec)

    @property
    def snap(self) -> live.Snapshot | None:
        return self.live.newest()

    @property
    def steps(self) -> int:
        snap = self.snap
        return snap.step if snap is not None else 0

    @property
    def running(self) -> bool:
        return self.live.state == "running"

    @property
    def models(self) -> dict[str, torch.nn.Module]:
        """Local copies of the current weights and switches, rebuilt when the run moved on."""
        snap = self.snap
        version = snap.version if snap is not None else -1
        if self._models.get("version") != version:
            self._models = {"version": version, "models": self.live.handle.models()}
        return self._models["models"]

    def history(self, name: str) -> list[Record]:
        """The thinned curves of one model as Records (grad norms only on the last one)."""
        snap = self.snap
        if snap is None or name not in snap.curves:
            return []
        cv = snap.curves[name]
        ev = dict(zip(cv["eval_step"], zip(cv["train_acc"], cv["test_acc"], cv["test_loss"])))
        last = (snap.last.get(name) or {}).get("grad_norms") or []
        out = []
        for i, (s, loss) in enumerate(zip(cv["step"], cv["loss"])):
            tr, te, tl = ev.get(s, (None, None, None))
            out.append(Record(name, s, math.nan if loss is None else loss,
                              list(last) if i == len(cv["step"]) - 1 else [], 0.0, tr, te, tl))
        return out

    def grad_history(self, name: str) -> list[list[float]]:
        """Per-block parameter-gradient norms over training (one row per kept step, thinned to
        at most resviz.engine.core.GRAD_POINTS steps), for the block x step heatmap."""
        snap = self.snap
        if snap is None or name not in snap.curves:
            return []
        return [list(g) for g in snap.curves[name].get("grad_norms", [])]

    @property
    def trainer(self) -> PlaygroundRun:
        """Compatibility for pages written against the old in-process Trainer (.history)."""
        return self


def playground() -> PlaygroundRun | None:
    lv = st.session_state.get(KEY)
    return PlaygroundRun(lv) if lv is not None else None


def default_specs(steps: int = 200) -> tuple[dict[str, NetworkSpec], TrainSpec]:
    """The Playground's default pair (20 blocks, with and without skips) on two-spirals."""
    base = NetworkSpec(family="residual", depth=20, width=32)
    return {"A": base, "B": base.replace(family="plain")}, TrainSpec(steps=steps)


def require_trained(page_key: str, min_steps: int = 1) -> PlaygroundRun | None:
    """Return the Playground run, or say what to do and offer to train the default one."""
    run = playground()
    if run is not None and run.steps >= min_steps:
        return run
    st.info(_("No model has been trained on the Playground yet. Train one there, or train "
              "the default pair (20 blocks, with and without skips, on two spirals) here."))
    c1, c2 = st.columns(2)
    if c1.button(_("Train the default pair now"), key=f"{page_key}_train_default"):
        specs, tspec = default_specs()
        lv = live.get(KEY, config(specs, tspec))
        lv.handle.start()
        bar = st.progress(0.0, text=_("Training..."))
        while lv.state not in ("finished", "lost"):
            snap = lv.wait(lambda s: s.state in ("finished", "lost"), timeout=0.3)
            if snap is not None:
                bar.progress(min(1.0, snap.step / tspec.steps), text=_("Training..."))
            time.sleep(0.05)
        bar.empty()
        st.rerun()
    c2.page_link("views/playground.py", label=_("Open the Playground"), icon=":material/tune:")
    return None
