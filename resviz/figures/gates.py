"""Highway gate figures after Srivastava et al. 2015, Figure 2, drawn from our own nets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from resviz.figures.style import base_layout, color
from resviz.i18n import _


def _blocks(n: int) -> np.ndarray:
    return np.arange(1, n + 1)


def gate_maps(maps: Mapping[str, list], title: str = "") -> go.Figure:
    """Four block x unit maps (2 x 2): transform-gate biases, mean gate activity over the test
    set, the gates of one example, and that example's block outputs (units on y, blocks on x)."""
    panels = [
        ("biases", _("Transform-gate biases"), "RdBu", None),
        ("mean_gate", _("Mean gate activity (test set)"), "Viridis", (0.0, 1.0)),
        ("example_gate", _("Gates for one example"), "Viridis", (0.0, 1.0)),
        ("example_output", _("Block outputs for one example"), "RdBu", None),
    ]
    fig = make_subplots(rows=2, cols=2, subplot_titles=[p[1] for p in panels],
                        horizontal_spacing=0.14, vertical_spacing=0.16)
    for i, (key, _title, scale, rng) in enumerate(panels):
        row, col = i // 2 + 1, i % 2 + 1
        z = np.asarray(maps[key], dtype=float).T  # [unit, block]
        if rng is None:
            m = float(np.abs(z).max()) or 1.0
            rng = (-m, m)
        xdom = fig.get_subplot(row, col).xaxis.domain
        ydom = fig.get_subplot(row, col).yaxis.domain
        fig.add_heatmap(z=z, x=_blocks(z.shape[1]), y=np.arange(1, z.shape[0] + 1),
                        colorscale=scale, zmin=rng[0], zmax=rng[1],
                        colorbar=dict(x=xdom[1] + 0.01, y=sum(ydom) / 2, len=ydom[1] - ydom[0],
                                      thickness=12),
                        hovertemplate=_("block %{x}, unit %{y}: %{z:.3f}") + "<extra></extra>",
                        row=row, col=col)
    fig.update_xaxes(title_text=_("block"), row=2)
    fig.update_yaxes(title_text=_("unit"), col=1)
    return base_layout(fig, title, height=600)


def gate_profile(profiles: Mapping[str, Sequence[float]], reference: float | None = None
                 ) -> go.Figure:
    """Mean transform-gate activity per block (one line per label), with sigmoid(b_T)."""
    fig = go.Figure()
    for i, (label, values) in enumerate(profiles.items()):
        fig.add_scatter(x=_blocks(len(values)), y=list(values), name=label, mode="lines+markers",
                        line=dict(color=color("highway") if i == 0 else color("", i + 3),
                                  dash="solid" if i == 0 else "dot"))
    if reference is not None:
        fig.add_hline(y=reference, line=dict(color="grey", dash="dash"),
                      annotation_text=_("sigmoid(initial bias) = {v:.2f}").format(v=reference))
    fig.update_yaxes(range=[0, 1], title_text=_("mean gate T(x)"))
    fig.update_xaxes(title_text=_("block (1 = nearest the input)"))
    return base_layout(fig, _("Mean transform-gate activity per block"), height=300)


def lesion_bars(per_block: Sequence[float], intact: float, chance: float,
                shut: Sequence[int] = ()) -> go.Figure:
    """Accuracy with one block's gates forced shut, per block; chosen blocks highlighted."""
    shut = set(shut)
    colors = [color("plain") if i in shut else color("highway") for i in range(len(per_block))]
    fig = go.Figure(go.Bar(x=_blocks(len(per_block)), y=list(per_block), marker_color=colors,
                           name=_("one block's gates shut")))
    fig.add_hline(y=intact, line=dict(color="black", dash="dash"),
                  annotation_text=_("intact {a:.1%}").format(a=intact))
    fig.add_hline(y=chance, line=dict(color="grey", dash="dot"),
                  annotation_text=_("chance"), annotation_position="bottom right")
    fig.update_yaxes(range=[0, 1.02], title_text=_("test accuracy"))
    fig.update_xaxes(title_text=_("block whose gates are shut"))
    return base_layout(fig, _("Lesion: force one block's transform gate shut (carry only)"),
                       height=300)


def openness_curve(values: Sequence[float], accs: Sequence[float], current: float,
                   current_acc: float) -> go.Figure:
    """Accuracy of the trained highway net with its gates set to another openness afterwards
    (1 = both held open, the residual computation), and its own openness marked."""
    fig = go.Figure(go.Scatter(x=list(values), y=list(accs), mode="lines+markers",
                               name=_("accuracy"), line=dict(color=color("highway"))))
    fig.add_scatter(x=[current], y=[current_acc], mode="markers", name=_("now"),
                    marker=dict(size=14, color=color("residual"), symbol="diamond"))
    fig.update_xaxes(range=[-0.02, 1.02],
                     title_text=_("gate openness (0 = learned gates, 1 = both held open)"))
    fig.update_yaxes(range=[0, 1.02], title_text=_("test accuracy"))
    return base_layout(fig, _("The trained net with its gates pushed open or shut afterwards"),
                       height=300)
