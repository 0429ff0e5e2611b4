"""Figures of the unit-orderings comparison (He et al. 2016 Table 2 and Fig. 6): data in, figure out.

A result is resviz.experiments.orderings.run's dict. Our bars carry their 95% interval over
seeds, so a reader sees at once which gaps are bigger than the seed noise.
"""

from __future__ import annotations

from collections.abc import Mapping

import plotly.graph_objects as go

from resviz.figures.style import base_layout, color, variant
from resviz.i18n import _
from resviz.registry import ORDERINGS

H = 320


def ranking(result: Mapping) -> go.Figure:
    """Paper error beside ours (mean over seeds, 95% t interval), one group per ordering."""
    names = list(result["orderings"])
    paper_rank = {k: i + 1 for i, k in enumerate(result["rank_paper"])}
    ours_rank = {k: i + 1 for i, k in enumerate(result["rank_ours"])}
    labels = [_(n) for n in names]
    fig = go.Figure()
    fig.add_bar(x=labels, y=[result["paper_error"][n] for n in names],
                name=_("paper: CIFAR-10, ResNet-110"), marker_color=color("plain"),
                text=[f"#{paper_rank[n]}" for n in names], textposition="outside")
    if result.get("test_error"):
        mean = [result["test_error"][n] for n in names]
        err = None
        if result.get("test_error_high"):
            err = dict(type="data", symmetric=False,
                       array=[result["test_error_high"][n] - m for n, m in zip(names, mean)],
                       arrayminus=[m - result["test_error_low"][n] for n, m in zip(names, mean)])
        fig.add_bar(x=labels, y=mean, error_y=err, marker_color=color("residual"),
                    name=_("ours: mean over {n} seeds, 95% interval").format(
                        n=len(result.get("seeds") or [])),
                    text=[f"#{ours_rank[n]}" for n in names], textposition="outside")
    fig.update_yaxes(title_text=_("test error (%)"))
    return base_layout(fig, _("Unit orderings: test error and rank (#1 = best)"), height=H,
                       barmode="group", legend=dict(orientation="h", y=-0.3))


def curves(result: Mapping) -> go.Figure:
    """Training loss against step per ordering: mean over seeds, band = min to max seed."""
    fig = go.Figure()
    steps = list(result["curve_steps"])
    for name in result["orderings"]:
        c = result["curves"][name]
        col = variant("residual", list(ORDERINGS).index(name)).color if name in ORDERINGS else color(name)
        fig.add_scatter(x=steps + steps[::-1], y=list(c["high"]) + list(c["low"])[::-1],
                        fill="toself", fillcolor=col, opacity=0.15, line=dict(width=0),
                        hoverinfo="skip", showlegend=False, legendgroup=name)
        fig.add_scatter(x=steps, y=c["mean"], name=_(name), legendgroup=name,
                        line=dict(color=col, width=3 if name == "bn_after_add" else 2,
                                  dash="dash" if name == "bn_after_add" else "solid"))
    fig.update_yaxes(type="log", title_text=_("training loss"))
    fig.update_xaxes(title_text=_("step"))
    return base_layout(fig, _("How each ordering trains (He et al. 2016, Fig. 6)"), height=H,
                       legend=dict(orientation="h", y=-0.3))


def paper_only(paper_error: Mapping[str, float]) -> dict:
    """An orderings 'result' holding only the paper's numbers, for before our run exists."""
    order = sorted(paper_error, key=paper_error.get)
    return {"orderings": list(paper_error), "paper_error": dict(paper_error), "rank_paper": order,
            "rank_ours": order, "test_error": None}
