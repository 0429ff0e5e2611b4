"""Show plotly figures the same way everywhere: the app's chart style, a key, export buttons."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from resviz.figures.style import finish_dict
from ui import livechart
from ui.layout import presenter_on


class _Styled(go.Figure):
    """A figure already built (and so validated) by plotly, then styled as a plain dict.

    st.plotly_chart reads a figure through `to_dict()`; handing it the dict itself would make
    plotly validate every property again (about 40 ms a chart, on every live redraw).
    """

    def __init__(self, spec: dict) -> None:  # noqa: D107 - go.Figure's own set-up is skipped:
        # it builds a template (~3 ms) that nothing reads; st.plotly_chart only calls to_dict()
        object.__setattr__(self, "_spec", spec)

    def to_dict(self) -> dict:
        return self._spec


def styled(fig: go.Figure | dict, presenter: bool | None = None) -> go.Figure:
    """`fig` in the app's style for this session (presenter sizes when presenter mode is on;
    pass `presenter` where no session is at hand: the live feed's thread, ui.feed).

    A plain figure dict (resviz.figures' `*_spec` builders, for live redraws) is styled in
    place and never validated; a go.Figure is read through `to_dict()` first."""
    spec = fig if isinstance(fig, dict) else fig.to_dict()
    return _Styled(finish_dict(spec, presenter=presenter_on() if presenter is None else presenter))


def show(fig: go.Figure | dict, key: str, *, restyle: bool = True, live: bool = False,
         **kw: Any) -> Any:
    """Draw `fig` (a go.Figure, or a plain figure dict) in the app's style; the modebar's
    camera button downloads it (PNG or SVG).

    `restyle=False` is for drawings that are not charts (a clickable network diagram laid out
    to the pixel): they keep their own layout. Returns what st.plotly_chart returns (the
    selection state when `on_select` is given).

    `live=True` draws it as a chart that updates in place (ui.livechart): for charts that
    change every second while a run trains. It has no selection events.
    """
    fmt = st.session_state.get("export_format", "png")
    config = {"displaylogo": False,
              "toImageButtonOptions": {"format": fmt, "filename": key, "scale": 2}}
    if restyle:
        fig = styled(fig)
    elif isinstance(fig, dict):
        fig = _Styled(fig)
    if live:
        return livechart.show(fig.to_dict(), key, config)
    return st.plotly_chart(fig, key=key, config=config, **kw)
