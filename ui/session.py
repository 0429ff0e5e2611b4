"""Per-user state shared between pages: the Playground's models and trainer.

Everything mutable lives in st.session_state (never in st.cache_resource, which all
users share). Other pages read the Playground run, or offer to train one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from resviz.data import Dataset, load
from resviz.i18n import _
from resviz.models import ResVizNet, build
from resviz.spec import NetworkSpec, TrainSpec
from resviz.train import Trainer

KEY = "playground_run"


@dataclass
class PlaygroundRun:
    """Models A and B, their trainer and data; the skip toggles live on the models."""

    specs: dict[str, NetworkSpec]
    tspec: TrainSpec
    data: Dataset
    trainer: Trainer
    running: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def models(self) -> dict[str, ResVizNet]:
        return self.trainer.models  # type: ignore[return-value]

    @property
    def steps(self) -> int:
        return self.trainer.step_count


def new_run(specs: dict[str, NetworkSpec], tspec: TrainSpec, device: str = "cpu") -> PlaygroundRun:
    data = load(tspec.dataset, tspec.n_samples, tspec.noise, tspec.data_seed)
    models = {k: build(s) for k, s in specs.items()}
    return PlaygroundRun(specs, tspec, data, Trainer(models, data, tspec, device))


def playground() -> PlaygroundRun | None:
    return st.session_state.get(KEY)


def set_playground(run: PlaygroundRun | None) -> None:
    st.session_state[KEY] = run


def default_run(steps: int = 200) -> PlaygroundRun:
    """The Playground's default pair (20 blocks, with and without skips) on two-spirals."""
    base = NetworkSpec(family="residual", depth=20, width=32)
    specs = {"A": base, "B": base.replace(family="plain")}
    return new_run(specs, TrainSpec(steps=steps))


def require_trained(page_key: str, min_steps: int = 1) -> PlaygroundRun | None:
    """Return the Playground run, or say what to do and offer to train the default one."""
    run = playground()
    if run is not None and run.steps >= min_steps:
        return run
    st.info(_("No model has been trained on the Playground yet. Train one there, or train "
              "the default pair (20 blocks, with and without skips, on two spirals) here."))
    c1, c2 = st.columns(2)
    if c1.button(_("Train the default pair now"), key=f"{page_key}_train_default"):
        run = default_run()
        bar = st.progress(0.0, text=_("Training..."))
        for i, _rec in enumerate(run.trainer.run()):
            if i % 10 == 0:
                bar.progress((i + 1) / run.tspec.steps, text=_("Training..."))
        bar.empty()
        set_playground(run)
        st.rerun()
    c2.page_link("pages/views/playground.py", label=_("Open the Playground"), icon=":material/tune:")
    return None
