"""Figures of the lesion study: one block deleted, k blocks deleted, blocks reordered."""

from __future__ import annotations

from collections.abc import Mapping

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
    """Accuracy against the number of deleted blocks: mean over draws, 10-90% band shaded.

    Veit et al. Fig. 3's quantity. When the first block is spared from the draws its own
    deletion is drawn as a lone marker at k = 1 (it is not one of the random draws).
    """
    fig = go.Figure()
    for i, (name, s) in enumerate(studies.items()):
        ks = sorted(int(k) for k in s["delete_k"])
        bands = [s["delete_k_band"][str(k)] for k in ks]
        c = _c(name, i)
        fig.add_scatter(x=ks + ks[::-1], y=[b["hi"] for b in bands] + [b["lo"] for b in bands][::-1],
                        fill="toself", fillcolor=c, opacity=0.15, line=dict(width=0), hoverinfo="skip",
                        showlegend=False, legendgroup=name)
        fig.add_scatter(x=ks, y=[b["mean"] for b in bands], name=labels.get(name, name),
                        line=dict(color=c), mode="lines+markers", marker=dict(size=5), legendgroup=name,
                        customdata=[[b["lo"], b["hi"]] for b in bands],
                        hovertemplate=_("k = %{x}: mean %{y:.3f} (10–90%: %{customdata[0]:.3f}–"
                                        "%{customdata[1]:.3f})") + "<extra></extra>")
        if s.get("spare_first"):
            fig.add_scatter(x=[1], y=[s["first_block"]], mode="markers", legendgroup=name, showlegend=False,
                            marker=dict(color=c, symbol="star", size=12, line=dict(color="black", width=1)),
                            hovertemplate=_("the first block alone deleted: %{y:.3f}") + "<extra></extra>")
    if any("chance" in s for s in studies.values()):
        fig.add_hline(y=max(s.get("chance", 0) for s in studies.values()), line_dash="dot",
                      line_color="gray", annotation_text=_("chance"), annotation_position="bottom right")
    fig.update_xaxes(title_text=_("number of blocks deleted (first block spared; ★: it alone deleted)")
                     if any(s.get("spare_first") for s in studies.values())
                     else _("number of blocks deleted"))
    fig.update_yaxes(title_text=_("test accuracy"), range=[0, 1.02])
    return base_layout(fig, _("Delete k random blocks: mean of {d} draws, 10–90% band").format(
        d=max(int(s.get("draws", 0)) for s in studies.values())))


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
