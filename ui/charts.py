"""Show plotly figures the same way everywhere: the app's chart style, a key, export buttons."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from resviz.figures.style import finish_dict
from ui.layout import presenter_on


class _Styled(go.Figure):
    """A figure already built (and so validated) by plotly, then styled as a plain dict.

    st.plotly_chart reads a figure through `to_dict()`; handing it the dict itself would make
    plotly validate every property again (about 40 ms a chart, on every live redraw).
    """

    def __init__(self, spec: dict) -> None:
        super().__init__()
        self._spec = spec

    def to_dict(self) -> dict:
        return self._spec


def styled(fig: go.Figure) -> go.Figure:
    """`fig` in the app's style for this session (presenter sizes when presenter mode is on)."""
    return _Styled(finish_dict(fig.to_dict(), presenter=presenter_on()))


def show(fig: go.Figure, key: str, *, restyle: bool = True, **kw: Any) -> Any:
    """Draw `fig` in the app's style; the modebar's camera button downloads it (PNG or SVG).

    `restyle=False` is for drawings that are not charts (a clickable network diagram laid out
    to the pixel): they keep their own layout. Returns what st.plotly_chart returns (the
    selection state when `on_select` is given).
    """
    fmt = st.session_state.get("export_format", "png")
    config = {"displaylogo": False,
              "toImageButtonOptions": {"format": fmt, "filename": key, "scale": 2}}
    return st.plotly_chart(styled(fig) if restyle else fig, key=key, config=config, **kw)
