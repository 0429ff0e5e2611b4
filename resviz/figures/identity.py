"""Figures of the identity test: error against depth with seed bands, and the grid each net draws."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from resviz.figures.degradation import band
from resviz.figures.style import base_layout, color
from resviz.i18n import _

FAMILIES = ("plain", "residual")


def error_vs_depth(summary: Sequence[Mapping], rows: Sequence[Mapping], input_variance: float,
                   height: int = 360) -> go.Figure:
    """Test MSE of y = x against depth (log scale): median, min-max band, one dot per seed.

    The dotted line is the variance of the input, the error of a net that ignores its input
    and answers the mean: a plain net that ends there has learned nothing.
    """
    fig = go.Figure()
    for fam in FAMILIES:
        c = color(fam)
        s = [r for r in summary if r["family"] == fam]
        depths = [r["depth"] for r in s]
        band(fig, depths, [r["test_mse_min"] for r in s], [r["test_mse_max"] for r in s], c, fam)
        fig.add_scatter(x=depths, y=[r["test_mse_median"] for r in s], mode="lines+markers",
                        name=_("{f}: median over seeds").format(f=_(fam)), legendgroup=fam,
                        line=dict(color=c, width=3))
        pts = [r for r in rows if r["family"] == fam]
        fig.add_scatter(x=[r["depth"] for r in pts], y=[r["test_mse"] for r in pts], mode="markers",
                        marker=dict(color=c, size=6, opacity=0.45), legendgroup=fam,
                        name=_("{f}: one seed").format(f=_(fam)))
    fig.add_hline(y=input_variance, line=dict(color="#7f7f7f", dash="dot"),
                  annotation_text=_("variance of the input (answering the mean)"),
                  annotation_position="bottom right")
    fig.update_xaxes(title_text=_("depth (blocks)"), tickvals=sorted({r["depth"] for r in summary}))
    fig.update_yaxes(type="log", title_text=_("test mean squared error"), exponentformat="power")
    return base_layout(fig, _("Learning y = x: error against depth"), height=height)


def grids(grid_in: Sequence, mapped: Mapping[str, Sequence], depth: int, height: int = 380
          ) -> go.Figure:
    """A square grid of lines (grey) and its image through each trained net (one panel each).

    A net that has learned the identity draws the grid back on top of itself; horizontal
    lines are drawn in one shade and vertical ones in another so a fold shows.
    """
    fams = [f for f in FAMILIES if f in mapped]
    fig = make_subplots(rows=1, cols=len(fams), subplot_titles=[
        _("{f}, {d} blocks").format(f=_(f), d=depth) for f in fams])
    for col, fam in enumerate(fams, start=1):
        lines = mapped[fam]
        half = len(lines) // 2
        for i, (line_in, line_out) in enumerate(zip(grid_in, lines)):
            fig.add_scatter(x=[p[0] for p in line_in], y=[p[1] for p in line_in], mode="lines",
                            line=dict(color="#d0d0d0", width=1), hoverinfo="skip",
                            showlegend=False, row=1, col=col)
            shade = color(fam) if i < half else "#ff7f0e"
            fig.add_scatter(x=[p[0] for p in line_out], y=[p[1] for p in line_out], mode="lines",
                            line=dict(color=shade, width=1.5), hoverinfo="skip",
                            showlegend=False, row=1, col=col)
        fig.update_xaxes(range=[-1.5, 1.5], row=1, col=col)
        fig.update_yaxes(range=[-1.5, 1.5], scaleanchor=f"x{'' if col == 1 else col}", row=1, col=col)
    return base_layout(fig, _("What each trained net does to a square grid (grey: the input)"),
                       height=height, margin=dict(l=40, r=20, t=80, b=40))
