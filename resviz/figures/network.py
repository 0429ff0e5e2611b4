"""The network as a drawn diagram: blocks as nodes on the main path, each skip an arc over
its block. The arc's handle (the dot on top) is what a click selects, so a page can toggle
that skip (Streamlit's Plotly selection events); hovering a block shows its last gradient
norm and ||f(x)||/||x||, the size of its update relative to what it carries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from resviz.figures.style import base_layout, layout_of
from resviz.i18n import _

HANDLE_TRACE = 4  # index of the clickable skip handles in the figure's data
ON, OFF = "#2ca02c", "#9ca3af"
ARC_HEIGHT = 0.62


def _fmt(v: float | None) -> str:
    if v is None or not math.isfinite(v):
        return "–"
    return f"{v:.2e}" if v and (abs(v) < 1e-2 or abs(v) >= 1e3) else f"{v:.3g}"


def _arcs(blocks: Sequence[int]) -> tuple[list, list]:
    """One half-ellipse from just before block i to just after it, per block; None-separated."""
    t = np.linspace(0, 1, 13)
    arc_x, arc_y = (0.84 * t - 0.42).tolist(), (ARC_HEIGHT * np.sin(np.pi * t)).tolist()
    xs, ys = [], []
    for i in blocks:
        xs += [i + v for v in arc_x] + [None]
        ys += arc_y + [None]
    return xs, ys


def diagram(skips: Sequence[bool], title: str, node_color: str,
            grads: Sequence[float] | None = None, ratios: Sequence[float] | None = None,
            active: Sequence[bool] | None = None, has_skips: bool = True,
            height: int = 170) -> go.Figure:
    """Input → block 1 … block n → output, with a clickable arc (skip) over every block.

    Trace HANDLE_TRACE holds one marker per block at the top of its arc, customdata = block
    number (1-based): a page reads a click on it as "toggle this skip".
    `has_skips=False` (a family without a skip to switch, e.g. highway) draws no handles.
    """
    return go.Figure(diagram_spec(skips, title, node_color, grads, ratios, active, has_skips,
                                  height))


def diagram_spec(skips: Sequence[bool], title: str, node_color: str,
                 grads: Sequence[float] | None = None, ratios: Sequence[float] | None = None,
                 active: Sequence[bool] | None = None, has_skips: bool = True,
                 height: int = 170) -> dict:
    """`diagram` as a plain figure dict: what a live page redraws (no plotly validation)."""
    n = len(skips)
    blocks = list(range(1, n + 1))
    active = list(active) if active is not None else [True] * n
    on = [b for b, s in zip(blocks, skips) if s]
    off = [b for b, s in zip(blocks, skips) if not s]
    g = (list(grads or []) + [None] * n)[:n]  # no gradient before the first step
    r = (list(ratios or []) + [None] * n)[:n]
    text = [_("block {b}<br>gradient norm {g}<br>‖f(x)‖/‖x‖ {r}<br>skip {s}").format(
        b=b, g=_fmt(gb), r=_fmt(rb), s=_("on") if s else _("off"))
        + ("" if a else "<br>" + _("deleted")) for b, gb, rb, s, a in zip(blocks, g, r, skips, active)]
    on_x, on_y = _arcs(on)
    off_x, off_y = _arcs(off)
    data = [
        # 0: the main path, input -> blocks -> output
        {"type": "scatter", "x": [0, n + 1], "y": [0, 0], "mode": "lines",
         "line": {"color": "#6b7280", "width": 2}, "hoverinfo": "skip", "showlegend": False},
        # 1, 2: arcs of skips that are on (solid) and off (dotted)
        {"type": "scatter", "x": on_x, "y": on_y, "mode": "lines",
         "line": {"color": ON, "width": 2.5}, "hoverinfo": "skip", "name": _("skip on"),
         "showlegend": has_skips},
        {"type": "scatter", "x": off_x, "y": off_y, "mode": "lines",
         "line": {"color": OFF, "width": 1.5, "dash": "dot"}, "hoverinfo": "skip",
         "name": _("skip off"), "showlegend": has_skips},
        # 3: the blocks
        {"type": "scatter", "x": blocks, "y": [0] * n, "mode": "markers", "showlegend": False,
         "hovertext": text, "hoverinfo": "text",
         "marker": {"symbol": ["square" if a else "square-open" for a in active],
                    "size": max(6, min(16, 420 // max(n, 1))), "color": node_color,
                    "line": {"color": "white", "width": 1}}},
        # 4: the handles a click toggles (one per block, on top of its arc)
        {"type": "scatter", "x": blocks if has_skips else [],
         "y": [ARC_HEIGHT] * (n if has_skips else 0), "mode": "markers", "showlegend": False,
         "customdata": blocks if has_skips else [],
         "hovertemplate": _("skip of block %{customdata}: click to toggle") + "<extra></extra>",
         "marker": {"size": max(7, min(14, 360 // max(n, 1))),
                    "color": [ON if s else "white" for s in skips],
                    "line": {"color": [ON if s else OFF for s in skips], "width": 2}},
         "selected": {"marker": {"opacity": 1}}, "unselected": {"marker": {"opacity": 1}}},
    ]
    lay = layout_of(_diagram_layout, n, title, height, _("input"), _("output"))
    return {"data": data, "layout": lay}


def _diagram_layout(n: int, title: str, height: int, input_: str, output: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(x=0, y=-0.45, text=input_, showarrow=False, font=dict(size=11))
    fig.add_annotation(x=n + 1, y=-0.45, text=output, showarrow=False, font=dict(size=11))
    fig.update_xaxes(visible=False, range=[-0.9, n + 1.9], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-0.7, ARC_HEIGHT + 0.35], fixedrange=True)
    return base_layout(fig, title, height=height, margin=dict(l=5, r=5, t=30, b=5),
                       legend=dict(orientation="h", x=1, xanchor="right", y=1.22,
                                   font=dict(size=11)),
                       clickmode="event+select", dragmode=False, hovermode="closest")


def clicked_blocks(selection: dict | None) -> list[int]:
    """Block numbers (1-based) of the skip handles in a Plotly selection event."""
    points = (selection or {}).get("points") or []
    out = []
    for p in points:
        if p.get("curve_number") != HANDLE_TRACE:
            continue
        cd = p.get("customdata")
        b = cd[0] if isinstance(cd, list) else cd
        if b is not None:
            out.append(int(b))
    return out
