"""Figures of gradient flow: init norms per block, heatmaps over training, shattering, attribution."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from resviz.figures.degradation import band
from resviz.figures.style import base_layout, color, log10_ticks, safe_log10, series_label, variant
from resviz.i18n import _

ORDERINGS = ("original", "bn_after_add", "relu_before_add", "relu_preact", "full_preact")


def _block_axis() -> str:
    return _("block (1 = nearest the input)")


def _variant_style(name: str, i: int) -> dict:
    """Families keep their app-wide colours; residual orderings share the residual blue and
    differ by dash and shade (style.variant)."""
    fam, _sep, rest = name.partition(" (")
    order = rest.rstrip(")")
    if fam == "residual" and order in ORDERINGS:
        v = variant(fam, ORDERINGS.index(order))
        return dict(color=v.color, dash=v.dash)
    return dict(color=color(fam, i))


def init_norms(norms: Mapping[str, Sequence[float]], inputs: Mapping[str, Sequence[float]] | None = None,
               labels: Mapping[str, str] | None = None) -> go.Figure:
    """Per-block gradient norms at initialisation, log scale: ||dL/dtheta_l|| on the left and,
    when given, ||dL/dx_l|| (the gradient reaching block l's input, He et al. 2016 eq. 5) on
    the right; one line per network, in the same colour in both panels."""
    panels = [(norms, _("parameter gradient ‖∂L/∂θ_l‖"))]
    if inputs is not None:
        panels.append((inputs, _("gradient at the block's input ‖∂L/∂x_l‖")))
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[t for _v, t in panels])
    for col, (values, _title) in enumerate(panels, start=1):
        for i, (name, g) in enumerate(values.items()):
            g = np.maximum(np.asarray(g, dtype=float), 1e-300)
            fig.add_scatter(x=np.arange(1, len(g) + 1), y=g, mode="lines+markers",
                            name=(labels or {}).get(name) or series_label(name), marker=dict(size=4),
                            legendgroup=name, showlegend=col == 1,
                            line=dict(**_variant_style(name, i),
                                      width=3 if name in ("plain", "residual (original)") else 1.5),
                            row=1, col=col)
        fig.update_yaxes(type="log", exponentformat="power", row=1, col=col)
        fig.update_xaxes(title_text=_block_axis(), row=1, col=col)
    fig.update_yaxes(title_text=_("gradient norm"), row=1, col=1)
    return base_layout(fig, _("Per-block gradient norms at initialisation (log scale)"), height=460,
                       margin=dict(l=50, r=20, t=80, b=40))


def story_losses(curves: Mapping[str, Mapping[str, list]], depth: int) -> go.Figure:
    """Training error of the plain and residual nets of one depth (median, min-max band)."""
    fig = go.Figure()
    for fam in ("plain", "residual"):
        b = curves.get(fam)
        if not b:
            continue
        band(fig, b["eval_step"], b["train_error_min"], b["train_error_max"], color(fam), fam)
        fig.add_scatter(x=b["eval_step"], y=b["train_error_median"], mode="lines", legendgroup=fam,
                        name=_("{f}-{d}: training error, median of {n} seeds").format(
                            f=_(fam), d=depth, n=b["seeds"]), line=dict(color=color(fam), width=3))
    fig.update_xaxes(title_text=_("step"))
    fig.update_yaxes(title_text=_("training error (%)"), rangemode="tozero")
    return base_layout(fig, _("With BN and He init: training error, plain vs residual"), height=340)


def grad_heatmap(matrix: np.ndarray, title: str, zrange: tuple[float, float] | None = None
                 ) -> go.Figure:
    """Block x step heatmap of log10 values (plotly has no log colour scale)."""
    z = safe_log10(np.asarray(matrix, dtype=float).T)  # blocks x steps
    lo, hi = zrange if zrange is not None else (float(np.min(z)), float(np.max(z)))
    vals, text = log10_ticks(lo, hi)
    fig = go.Figure(go.Heatmap(
        z=z, x=np.arange(z.shape[1]), y=np.arange(1, z.shape[0] + 1), zmin=lo, zmax=hi,
        colorscale="Viridis", colorbar=dict(tickvals=vals, ticktext=text, title=_("norm")),
        hovertemplate=_("step %{x}, block %{y}: 10^%{z:.2f}") + "<extra></extra>"))
    fig.update_xaxes(title_text=_("step"))
    fig.update_yaxes(title_text=_block_axis())
    return base_layout(fig, title, height=320)


def shared_range(*matrices: np.ndarray) -> tuple[float, float]:
    """One colour range for heatmaps that should be compared by eye."""
    z = np.concatenate([safe_log10(np.asarray(m, dtype=float)).ravel() for m in matrices if len(m)])
    return float(np.min(z)), float(np.max(z))


def forward_signal(act_std: Mapping[str, Sequence[Sequence[float]]], probe_steps: Sequence[int],
                   labels: Mapping[str, str]) -> go.Figure:
    """Std across inputs per block output: at step 0 (dotted) and now (solid)."""
    fig = go.Figure()
    for i, (name, rows) in enumerate(act_std.items()):
        if not rows:
            continue
        c = color(name, i)
        x = np.arange(len(rows[0]))
        fig.add_scatter(x=x, y=rows[0], name=_("{m}, step 0").format(m=labels.get(name, name)),
                        line=dict(color=c, dash="dot"))
        fig.add_scatter(x=x, y=rows[-1], line=dict(color=c, width=3), name=_(
            "{m}, step {s}").format(m=labels.get(name, name), s=probe_steps[-1]))
    fig.update_yaxes(type="log", title_text=_("activation std across inputs"))
    fig.update_xaxes(title_text=_("block output (0 = stem)"))
    return base_layout(fig, _("Forward signal per block"), height=340)


def update_ratio(updates: Mapping[str, Sequence[Sequence[float]]], labels: Mapping[str, str],
                 last: int = 20) -> go.Figure:
    """Mean ||dw|| / ||w|| per block over the last steps; ~1e-3 is the usual healthy size."""
    fig = go.Figure()
    for i, (name, rows) in enumerate(updates.items()):
        if not rows:
            continue
        r = np.asarray(rows[-last:], dtype=float).mean(0)
        fig.add_scatter(x=np.arange(1, len(r) + 1), y=np.maximum(r, 1e-30), mode="lines+markers",
                        name=labels.get(name, name), line=dict(color=color(name, i)))
    fig.update_yaxes(type="log", title_text=_("update / weight"), exponentformat="power")
    fig.update_xaxes(title_text=_block_axis())
    return base_layout(fig, _("Update-to-weight ratio per block (mean of the last {n} steps)").format(
        n=last), height=320)


def shattered(result: Mapping) -> go.Figure:
    """Input gradient along the sweep for plain and residual, and their autocorrelation."""
    fig = make_subplots(rows=1, cols=3, column_widths=[0.35, 0.35, 0.3], subplot_titles=(
        _("plain: d output / d input"), _("residual: d output / d input"),
        _("autocorrelation against lag")))
    for col, fam in ((1, "plain"), (2, "residual")):
        r = result[fam]
        fig.add_scatter(x=r["x"], y=r["grad"], mode="lines", showlegend=False,
                        line=dict(color=color(fam), width=1), row=1, col=col)
        fig.add_scatter(x=np.arange(len(r["autocorr"])), y=r["autocorr"], mode="lines+markers",
                        name=_(fam), line=dict(color=color(fam)), row=1, col=3)
    fig.update_xaxes(title_text=_("input x"), row=1, col=1)
    fig.update_xaxes(title_text=_("input x"), row=1, col=2)
    fig.update_xaxes(title_text=_("lag (points)"), row=1, col=3)
    fig.update_yaxes(range=[-0.3, 1.05], row=1, col=3)
    return base_layout(fig, _("Shattered gradients at {d} blocks").format(d=result["depth"]),
                       height=340)


def block_attribution(values: Mapping[str, Sequence[float]], labels: Mapping[str, str],
                      total: Mapping[str, float] | None = None) -> go.Figure:
    """Attribution to each block's residual branch; dashed line = f(x) - f(0) per model."""
    fig = go.Figure()
    for i, (name, v) in enumerate(values.items()):
        fig.add_bar(x=np.arange(1, len(v) + 1), y=list(v), name=labels.get(name, name),
                    marker_color=color(name, i))
        if total is not None and name in total:
            fig.add_hline(y=total[name], line=dict(color=color(name, i), dash="dash"))
    fig.update_yaxes(title_text=_("attribution (summed over units)"))
    fig.update_xaxes(title_text=_block_axis())
    return base_layout(fig, _("Which blocks' branches carry the decision"), height=340,
                       barmode="group")


def input_map(image: np.ndarray, attribution: np.ndarray, title: str) -> go.Figure:
    """The digit and its IntegratedGradients map side by side (red = for the class)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(_("input"), _("attribution")))
    fig.add_heatmap(z=np.asarray(image)[::-1], colorscale="Greys", showscale=False, row=1, col=1)
    a = np.asarray(attribution)[::-1]
    m = float(np.abs(a).max()) or 1.0
    fig.add_heatmap(z=a, colorscale="RdBu_r", zmin=-m, zmax=m, row=1, col=2)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False, scaleanchor="x")
    return base_layout(fig, title, height=300)
