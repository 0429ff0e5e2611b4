"""Figures of a training run: curves, decision boundaries, per-block gradient bars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from resviz.data import Dataset, grid
from resviz.figures.style import base_layout, color
from resviz.i18n import _
from resviz.train import Record


def curves(histories: Mapping[str, Sequence[Record]], labels: Mapping[str, str]) -> go.Figure:
    """Training loss (every step) and test accuracy (every evaluation), per model."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(_("Training loss"), _("Test accuracy")))
    for i, (name, recs) in enumerate(histories.items()):
        c = color(name, i)
        steps = [r.step for r in recs]
        fig.add_scatter(x=steps, y=[r.loss for r in recs], name=labels.get(name, name),
                        line=dict(color=c), legendgroup=name, row=1, col=1)
        ev = [r for r in recs if r.test_acc is not None]
        fig.add_scatter(x=[r.step for r in ev], y=[r.test_acc for r in ev], showlegend=False,
                        line=dict(color=c), legendgroup=name, row=1, col=2)
    if not any(histories.values()):
        fig.add_annotation(text=_("Press Start to train"), x=0.5, y=0.5, xref="paper",
                           yref="paper", showarrow=False, font=dict(size=18, color="#6b7280"))
    fig.update_yaxes(type="log", dtick=1, row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], row=1, col=2)
    fig.update_xaxes(title_text=_("step"))
    return base_layout(fig, "", height=320)


@torch.no_grad()
def boundary(model: torch.nn.Module, data: Dataset, title: str, n: int = 70) -> go.Figure:
    """Class-probability heatmap over the plane with the test points on top."""
    ax, pts = grid(n)
    was = model.training
    model.eval()
    dev = next(model.parameters()).device
    probs = torch.softmax(model(pts.to(dev)), 1).cpu().numpy()
    model.train(was)
    z = probs[:, 1] if data.n_classes == 2 else probs.argmax(1) / max(1, data.n_classes - 1)
    fig = go.Figure(go.Heatmap(x=ax, y=ax, z=z.reshape(n, n), colorscale="RdBu", zmin=0,
                               zmax=1, showscale=False, opacity=0.8, hoverinfo="skip"))
    x, y = data.x_test.numpy(), data.y_test.numpy()
    fig.add_scatter(x=x[:, 0], y=x[:, 1], mode="markers", showlegend=False,
                    marker=dict(color=y, colorscale="RdBu", size=6,
                                line=dict(color="black", width=0.7)))
    fig.update_xaxes(range=[ax[0], ax[-1]], showticklabels=False)
    fig.update_yaxes(range=[ax[0], ax[-1]], showticklabels=False, scaleanchor="x")
    return base_layout(fig, title, height=340, margin=dict(l=10, r=10, t=40, b=10))


def grad_bars(norms: Mapping[str, Sequence[float]], labels: Mapping[str, str],
              skips: Mapping[str, Sequence[bool]] | None = None) -> go.Figure:
    """Per-block gradient norm, block 1 = nearest the input, log scale.

    Blocks whose skip is off are drawn hatched, so a toggle is visible in the gradients.
    """
    fig = go.Figure()
    for i, (name, g) in enumerate(norms.items()):
        g = np.maximum(np.asarray(g, dtype=float), 1e-30)
        pattern = None
        if skips is not None and name in skips:
            pattern = dict(shape=["" if s else "/" for s in skips[name]])
        fig.add_bar(x=np.arange(1, len(g) + 1), y=g, name=labels.get(name, name),
                    marker=dict(color=color(name, i), pattern=pattern))
    fig.update_yaxes(type="log", dtick=1, exponentformat="power", title_text=_("gradient norm"))
    fig.update_xaxes(title_text=_("block (1 = nearest the input)"))
    return base_layout(fig, _("Per-block gradient norm (log scale)"), height=320,
                       barmode="group")
