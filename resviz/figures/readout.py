"""Figures of the block-by-block readout: accuracy, boundary maps and refinement after each block."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from resviz.figures.style import base_layout
from resviz.i18n import _

COLORS = {"residual": "#1f77b4", "plain": "#d62728"}


def accuracy(result: dict, labels: Mapping[str, str]) -> go.Figure:
    """Test accuracy of the head read off after each block (0 = the stem's output, no block yet)."""
    fig = go.Figure()
    for name, lab in labels.items():
        r = result[name]
        acc = r["readout"]
        fig.add_scatter(x=list(range(len(acc))), y=acc, name=lab, mode="lines+markers",
                        line=dict(color=COLORS.get(name)))
    fig.add_hline(y=result["chance"], line_dash="dot", line_color="gray", annotation_text=_("chance"),
                  annotation_position="bottom right")
    fig.update_xaxes(title_text=_("read after block (0 = before the first block)"),
                     dtick=max(1, result["depth"] // 12))
    fig.update_yaxes(title_text=_("test accuracy of the head"), range=[0, 1.02])
    return base_layout(fig, _("The trained head read after every block"))


def refinement(result: dict, labels: Mapping[str, str]) -> go.Figure:
    """cos(y_i − x_i, −∂L/∂x_i) per block: > 0 when the block steps its input downhill on the loss."""
    fig = go.Figure()
    for name, lab in labels.items():
        c = result[name]["refinement_cos"]
        fig.add_bar(x=list(range(1, len(c) + 1)), y=c, name=lab, marker_color=COLORS.get(name))
    fig.add_hline(y=0, line_color="black", line_width=1)
    fig.update_xaxes(title_text=_("block"))
    fig.update_yaxes(title_text="cos(y_i − x_i, −∂L/∂x_i)", range=[-1, 1])
    fig.update_layout(barmode="group")
    return base_layout(fig, _("Does each block step downhill on the loss? (Jastrzebski et al. 2018)"))


def strip_blocks(depth: int, columns: int = 7) -> list[int]:
    """Up to `columns` readout points spread from 0 (before any block) to depth (the output)."""
    return sorted({int(round(v)) for v in np.linspace(0, depth, min(columns, depth + 1))})


def boundary_strip(result: dict, labels: Mapping[str, str], blocks: Sequence[int] | None = None) -> go.Figure:
    """One row per net, one small decision map per readout point: P(class 1) after block i.

    The last column is the model's own output; test points are drawn on every map.
    """
    blocks = list(blocks) if blocks is not None else strip_blocks(result["depth"])
    names = list(labels)
    titles = [_("after block {i}").format(i=i) if i else _("before block 1") for i in blocks] * len(names)
    fig = make_subplots(rows=len(names), cols=len(blocks), subplot_titles=titles,
                        horizontal_spacing=0.01, vertical_spacing=0.08, row_titles=[labels[n] for n in names])
    pts = result.get("points")
    for r, name in enumerate(names, start=1):
        m = result[name]["maps"]
        for c, i in enumerate(blocks, start=1):
            fig.add_trace(go.Heatmap(x=m["x"], y=m["y"], z=m["maps"][i], zmin=0, zmax=1, colorscale="RdBu",
                                     showscale=(r == 1 and c == len(blocks)),
                                     colorbar=dict(title="P(1)", len=0.8),
                                     hovertemplate=_("P(class 1) = %{z:.2f}") + "<extra></extra>"),
                          row=r, col=c)
            if pts is not None:
                fig.add_trace(go.Scatter(x=[p[0] for p in pts["x"]], y=[p[1] for p in pts["x"]],
                                         mode="markers", hoverinfo="skip", showlegend=False,
                                         marker=dict(size=2.5, color=["#08306b" if v else "#67000d"
                                                                      for v in pts["y"]])), row=r, col=c)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return base_layout(fig, _("Decision boundary read after each block"), height=170 * len(names) + 90)
