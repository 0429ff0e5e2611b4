"""Show plotly figures the same way everywhere: a key, export buttons, presenter styling."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from ui.layout import presenter_on


def show(fig: go.Figure, key: str, **kw: Any) -> None:
    """Draw `fig`; the modebar's camera button downloads it (PNG, or SVG via the toggle)."""
    if presenter_on():
        fig.update_layout(font=dict(size=20))
        fig.update_traces(selector=dict(type="scatter"), line=dict(width=4))
    fmt = st.session_state.get("export_format", "png")
    config = {"displaylogo": False,
              "toImageButtonOptions": {"format": fmt, "filename": key, "scale": 2}}
    st.plotly_chart(fig, key=key, config=config, **kw)
