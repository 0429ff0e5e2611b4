"""Figures of the lesion study: one block deleted, k blocks deleted, blocks reordered."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from resviz.figures.style import base_layout, color
from resviz.i18n import _

COLORS = {"residual": "#1f77b4", "plain": "#d62728", "sd": "#2ca02c", "A": "#1f77b4", "B": "#d62728"}


def _c(name: str, i: int) -> str:
    return COLORS.get(name, color(name, i))


def single_deletion(studies: Mapping[str, dict], labels: Mapping[str, str]) -> go.Figure:
    """Test accuracy with block i deleted, per block; dotted: the intact net."""
    fig = go.Figure()
    for i, (name, s) in enumerate(studies.items()):
        acc = s["delete_each"]
        c = _c(name, i)
        off = [j + 1 for j, on in enumerate(s["skips"]) if not on]
        fig.add_scatter(x=list(range(1, len(acc) + 1)), y=acc, name=labels.get(name, name),
                        mode="lines+markers", line=dict(color=c),
                        marker=dict(symbol=["x" if j + 1 in off else "circle" for j in range(len(acc))]))
        fig.add_hline(y=s["accuracy"], line_dash="dot", line_color=c)
    fig.update_xaxes(title_text=_("deleted block"))
    fig.update_yaxes(title_text=_("test accuracy"), range=[0, 1.02])
    return base_layout(fig, _("Delete one block (dotted: the intact net)"))


def k_deletion(studies: Mapping[str, dict], labels: Mapping[str, str]) -> go.Figure:
    """Accuracy against the number of deleted blocks: mean over draws, every draw as a dot."""
    fig = go.Figure()
    for i, (name, s) in enumerate(studies.items()):
        ks = sorted(int(k) for k in s["delete_k"])
        draws = [s["delete_k"][str(k)] for k in ks]
        c = _c(name, i)
        fig.add_scatter(x=[k for k, d in zip(ks, draws) for _v in d], y=[v for d in draws for v in d],
                        mode="markers", marker=dict(color=c, size=4, opacity=0.35), showlegend=False,
                        hoverinfo="skip", legendgroup=name)
        fig.add_scatter(x=ks, y=[float(np.mean(d)) for d in draws], name=labels.get(name, name),
                        line=dict(color=c), legendgroup=name)
    fig.update_xaxes(title_text=_("number of blocks deleted"))
    fig.update_yaxes(title_text=_("test accuracy"), range=[0, 1.02])
    return base_layout(fig, _("Delete k random blocks"))


def reorder(studies: Mapping[str, dict], labels: Mapping[str, str]) -> go.Figure:
    """Accuracy against Kendall's tau of the block order (1 = original order)."""
    fig = go.Figure()
    for i, (name, s) in enumerate(studies.items()):
        pts = s["reorder"]
        fig.add_scatter(x=[p["tau"] for p in pts], y=[p["accuracy"] for p in pts],
                        name=labels.get(name, name), mode="markers",
                        marker=dict(color=_c(name, i), size=7, opacity=0.7),
                        text=[_("{k} swaps").format(k=p["swaps"]) for p in pts],
                        hovertemplate="τ=%{x:.2f}, %{y:.2f} (%{text})<extra></extra>")
    fig.update_xaxes(title_text=_("Kendall's τ of the block order"), autorange="reversed")
    fig.update_yaxes(title_text=_("test accuracy"), range=[0, 1.02])
    return base_layout(fig, _("Swap random pairs of blocks"))
