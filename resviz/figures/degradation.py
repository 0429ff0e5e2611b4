"""Figures of the degradation sweep: final loss and accuracy against depth, deepest curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from resviz.figures.style import base_layout, color
from resviz.i18n import _

FAMILIES = ("plain", "residual")


def versus_depth(rows: Sequence[Mapping], summary: Sequence[Mapping]) -> go.Figure:
    """Final training loss (log) and test accuracy against depth: seeds as dots, mean as line."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(_("final training loss"),
                                                        _("test accuracy")))
    for fam in FAMILIES:
        c = color(fam)
        s = [r for r in summary if r["family"] == fam]
        pts = [r for r in rows if r["family"] == fam]
        fig.add_scatter(x=[r["depth"] for r in s], y=[r["train_loss_mean"] for r in s],
                        name=_(fam), line=dict(color=c, width=3), legendgroup=fam,
                        error_y=dict(type="data", symmetric=False,
                                     array=[r["train_loss_max"] - r["train_loss_mean"] for r in s],
                                     arrayminus=[r["train_loss_mean"] - r["train_loss_min"]
                                                 for r in s]), row=1, col=1)
        fig.add_scatter(x=[r["depth"] for r in pts], y=[r["train_loss"] for r in pts],
                        mode="markers", marker=dict(color=c, size=6, opacity=0.5),
                        showlegend=False, legendgroup=fam, row=1, col=1)
        fig.add_scatter(x=[r["depth"] for r in s], y=[r["test_acc_mean"] for r in s],
                        showlegend=False, line=dict(color=c, width=3), legendgroup=fam,
                        row=1, col=2)
        fig.add_scatter(x=[r["depth"] for r in pts], y=[r["test_acc"] for r in pts],
                        mode="markers", marker=dict(color=c, size=6, opacity=0.5),
                        showlegend=False, legendgroup=fam, row=1, col=2)
    fig.update_xaxes(type="log", title_text=_("depth (blocks)"), dtick=np.log10(2),
                     tickformat="d")
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], row=1, col=2)
    return base_layout(fig, _("Degradation: deeper plain nets train worse; residual nets do not"),
                       height=380)


def deepest_curves(curves: Mapping[str, Mapping[str, list]], depth: int) -> go.Figure:
    """Error (%) during training of the deepest pair: bold = training, thin = test."""
    fig = go.Figure()
    for fam in FAMILIES:
        c, cur = color(fam), curves[fam]
        steps = cur["eval_step"]
        tr = [None if a is None else 100 * (1 - a) for a in cur["train_acc"]]
        te = [None if a is None else 100 * (1 - a) for a in cur["test_acc"]]
        fig.add_scatter(x=steps, y=tr, line=dict(color=c, width=4),
                        name=_("{f}-{d}: training error").format(f=_(fam), d=depth))
        fig.add_scatter(x=steps, y=te, line=dict(color=c, width=1.5),
                        name=_("{f}-{d}: test error").format(f=_(fam), d=depth))
    fig.update_xaxes(title_text=_("step"))
    fig.update_yaxes(title_text=_("error (%)"), rangemode="tozero")
    return base_layout(fig, _("Training curves of the deepest pair ({d} blocks)").format(d=depth),
                       height=360)
