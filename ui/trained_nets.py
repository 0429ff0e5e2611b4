"""Settings for pages that train their own residual net (with optional stochastic depth)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from resviz.data import TOY_SETS
from resviz.i18n import _
from resviz.spec import NetworkSpec, SpecError, TrainSpec
from ui import params


def residual_run_controls(prefix: str, cols: Any, depth: int, dataset: str,
                          data_help: str | None = None
                          ) -> tuple[NetworkSpec | None, TrainSpec | None, float | None]:
    """Depth, data set, steps and stochastic depth in three columns; URL keys `<prefix>_depth` ...

    Returns the net's spec, the training spec, and p_L (None = no stochastic depth); on a
    setting that cannot be built, shows why and returns (None, None, None): the page's
    section then returns instead of stopping the script.
    """
    c1, c2, c3 = cols
    depth = params.slider(f"{prefix}_depth", _("Depth (blocks)"), 2, 54, depth, container=c1)
    dataset = params.select(f"{prefix}_data", _("Data set"), list(TOY_SETS), dataset, fmt=_,
                            container=c2, help=data_help)
    steps = params.slider(f"{prefix}_steps", _("Training steps"), 20, 1000, 300, 10, container=c2)
    use_sd = params.toggle(f"{prefix}_sd", _("Also train with stochastic depth"), True, container=c3)
    p_last = params.slider(f"{prefix}_pl", _("Survival of the last block p_L"), 0.1, 1.0, 0.5, 0.05,
                           container=c3, disabled=not use_sd)
    try:
        tspec = TrainSpec(dataset=dataset, steps=steps, eval_every=50)
        spec = NetworkSpec(depth=depth, width=32)
    except SpecError as e:
        st.error(str(e))
        return None, None, None
    return spec, tspec, p_last if use_sd else None
