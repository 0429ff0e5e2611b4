"""Figures for the LSTM analogy: gradient across time beside gradient across depth, and the
LSTM's forget gates and cell state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from resviz.figures import training
from resviz.figures.style import base_layout, color
from resviz.i18n import _
from resviz.train import Record

# Colours follow the depth analogue: vanilla RNN = plain, LSTM = gated, residual RNN = residual.
COLOR_OF = {"rnn": "plain", "lstm": "gated", "residual": "residual", "plain": "plain"}


def _line(fig: go.Figure, key: str, values: Sequence[float], name: str, col: int,
          dash: str = "solid", show: bool = True) -> None:
    y = [v if v > 0 else None for v in np.asarray(values, dtype=float).tolist()]  # 0: off the log axis
    fig.add_scatter(x=np.arange(1, len(y) + 1), y=y, name=name, mode="lines",
                    line=dict(color=color(COLOR_OF.get(key, key)), dash=dash),
                    legendgroup=f"{col}-{key}", showlegend=show, row=1, col=col)


def time_and_depth(time_norms: Mapping[str, Sequence[float]],
                   depth_norms: Mapping[str, Sequence[float]], labels: Mapping[str, str],
                   depth_labels: Mapping[str, str],
                   time_init: Mapping[str, Sequence[float]] | None = None) -> go.Figure:
    """Left: ||dL/dh_t|| per time step for each recurrent net (dotted: at init).
    Right: ||dL/dh_l|| per block of a plain and a residual deep net. Log scale on both."""
    fig = make_subplots(rows=1, cols=2, shared_yaxes=False, subplot_titles=(
        _("Across time: gradient reaching h_t"), _("Across depth: gradient reaching block l")))
    for key, values in time_norms.items():
        _line(fig, key, values, labels.get(key, key), 1)
    for key, values in (time_init or {}).items():
        _line(fig, key, values, _("{name} at init").format(name=labels.get(key, key)), 1,
              dash="dot", show=False)
    for key, values in depth_norms.items():
        _line(fig, key, values, depth_labels.get(key, key), 2, dash="dash")
    fig.update_yaxes(type="log", exponentformat="power", title_text=_("gradient norm (log)"),
                     row=1, col=1)
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=2)
    fig.update_xaxes(title_text=_("time step t (1 = first input)"), row=1, col=1)
    fig.update_xaxes(title_text=_("block l (two weight layers each; 1 = nearest the input)"),
                     row=1, col=2)
    return base_layout(fig, _("The same vanishing gradient across time and across depth"),
                       height=380)


def forget_gates(mem: Mapping[str, list]) -> go.Figure:
    """Mean forget-gate activity per step, and the forget gates of one sequence."""
    fig = make_subplots(rows=1, cols=2, column_widths=[0.4, 0.6], subplot_titles=(
        _("Mean forget gate f_t"), _("Forget gates of one sequence")))
    f_mean = mem["forget_mean"]
    fig.add_scatter(x=np.arange(1, len(f_mean) + 1), y=f_mean, mode="lines+markers",
                    line=dict(color=color("gated")), showlegend=False, row=1, col=1)
    z = np.asarray(mem["forget_example"], dtype=float).T  # [unit, time]
    fig.add_heatmap(z=z, x=np.arange(1, z.shape[1] + 1), y=np.arange(1, z.shape[0] + 1),
                    colorscale="Viridis", zmin=0, zmax=1, colorbar=dict(len=0.8),
                    hovertemplate=_("step %{x}, unit %{y}: %{z:.2f}") + "<extra></extra>",
                    row=1, col=2)
    fig.update_yaxes(range=[0, 1.02], title_text="f_t", row=1, col=1)
    fig.update_yaxes(title_text=_("unit"), row=1, col=2)
    fig.update_xaxes(title_text=_("time step t"))
    return base_layout(fig, _("LSTM forget gate: 1 = keep the memory, 0 = erase it"), height=330)


def cell_state(mem: Mapping[str, list]) -> go.Figure:
    """The cell state c_t of one sequence (unit x time): the carried memory."""
    z = np.asarray(mem["cell_example"], dtype=float).T
    m = float(np.abs(z).max()) or 1.0
    fig = go.Figure(go.Heatmap(z=z, x=np.arange(1, z.shape[1] + 1), y=np.arange(1, z.shape[0] + 1),
                               colorscale="RdBu", zmin=-m, zmax=m,
                               hovertemplate=_("step %{x}, unit %{y}: %{z:.2f}") + "<extra></extra>"))
    fig.update_xaxes(title_text=_("time step t"))
    fig.update_yaxes(title_text=_("unit"))
    return base_layout(fig, _("LSTM cell state c_t of one sequence: the memory carried along"),
                       height=330)


def curves(histories: Mapping[str, Sequence[Record]], labels: Mapping[str, str]) -> go.Figure:
    """Training curves of the three recurrent nets, coloured like their depth analogues."""
    return go.Figure(curves_spec(histories, labels))


def curves_spec(histories: Mapping[str, Sequence[Record]], labels: Mapping[str, str]) -> dict:
    """`curves` as a plain figure dict, for the live redraw."""
    return training.curves_spec({COLOR_OF.get(k, k): h for k, h in histories.items()},
                                {COLOR_OF.get(k, k): labels.get(k, k) for k in histories})
