"""Figures of loss landscapes: 3D surfaces, contour maps, 1D lines, roughness; data in, figures out.

A landscape result is the plain dict of resviz.experiments.landscape.landscape: "axis",
"loss" (grid, rows = second direction), "roughness", "slice_curvature", "direction",
"interpolation". Surfaces and contours show log10 of the loss (plotly has no log colour scale)
on one shared range, so two nets side by side are read on the same scale; each surface is
drawn in its family's colour (resviz.figures.style), light at the bottom, full at the top.
A Hessian map is resviz.experiments.landscape.hessian_map's dict ("axis", "lambda_min",
"lambda_max", "ratio").
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from resviz.figures.style import base_layout, color, log10_ticks, safe_log10
from resviz.i18n import _

Results = Mapping[str, dict]


def _logz(r: dict) -> np.ndarray:
    """log10 loss with non-finite points (a diverged net) left blank."""
    z = safe_log10(np.nan_to_num(np.asarray(r["loss"], dtype=float), nan=np.nan, posinf=np.nan))
    return np.where(np.isfinite(z), z, np.nan)


def _log_range(results: Results) -> tuple[float, float]:
    logs = [_logz(r) for r in results.values()]
    finite = [v[np.isfinite(v)] for v in logs if np.isfinite(v).any()]
    if not finite:
        return 0.0, 1.0
    lo, hi = min(float(v.min()) for v in finite), max(float(v.max()) for v in finite)
    return lo, max(hi, lo + 1e-6)


def _pad(lo: float, hi: float, frac: float = 0.05) -> tuple[float, float]:
    """A range a little wider than the data, so no peak touches (or is cut by) the box."""
    d = (hi - lo) * frac
    return lo - d, hi + d


def family_scale(name: str, i: int = 0) -> list[list]:
    """A one-hue colour scale for a family: near white at the lowest loss, its colour at the top."""
    return [[0.0, "#f4f4f4"], [1.0, color(name, i)]]


def _colorbar(lo: float, hi: float) -> dict:
    vals, text = log10_ticks(lo, hi)
    return dict(title=dict(text=_("loss")), tickvals=vals, ticktext=text, len=0.8)


def _titles(results: Results, labels: Mapping[str, str]) -> list[str]:
    return [labels.get(k, k) for k in results]


def surfaces(results: Results, labels: Mapping[str, str]) -> go.Figure:
    """3D surfaces of log10 loss over the two directions, one per model, side by side."""
    n = len(results)
    fig = make_subplots(rows=1, cols=n, specs=[[{"type": "surface"}] * n],
                        subplot_titles=_titles(results, labels), horizontal_spacing=0.02)
    lo, hi = _log_range(results)
    for i, (name, r) in enumerate(results.items()):
        ax, z = np.asarray(r["axis"]), _logz(r)
        fig.add_trace(go.Surface(x=ax, y=ax, z=z, cmin=lo, cmax=hi,
                                 colorscale=family_scale(name, i), showscale=False, name=name,
                                 hovertemplate="a=%{x:.2f}<br>b=%{y:.2f}<br>log10 loss=%{z:.2f}"
                                 "<extra></extra>"), row=1, col=i + 1)
    zlo, zhi = _pad(lo, hi)
    vals, text = log10_ticks(lo, hi)
    scene = dict(xaxis_title=_("direction 1"), yaxis_title=_("direction 2"),
                 zaxis_title=_("loss"), aspectmode="cube",
                 zaxis=dict(range=[zlo, zhi], tickvals=vals, ticktext=text),
                 camera=dict(eye=dict(x=1.6, y=1.6, z=1.1)))
    fig.update_scenes(**scene)
    return base_layout(fig, _("Loss surface around the trained weights (log scale)"),
                       height=600, margin=dict(l=0, r=0, t=60, b=0))


def contours(results: Results, labels: Mapping[str, str]) -> go.Figure:
    """Contour maps of log10 loss with the same levels for every model; x marks the weights."""
    n = len(results)
    fig = make_subplots(rows=1, cols=n, subplot_titles=_titles(results, labels),
                        horizontal_spacing=0.08)
    lo, hi = _log_range(results)
    size = (hi - lo) / 24
    for i, r in enumerate(results.values()):
        ax, z = np.asarray(r["axis"]), _logz(r)
        fig.add_trace(go.Contour(x=ax, y=ax, z=z, zmin=lo, zmax=hi, colorscale="Viridis",
                                 contours=dict(start=lo, end=hi, size=size),
                                 showscale=i == n - 1, colorbar=_colorbar(lo, hi),
                                 line=dict(width=0.5)), row=1, col=i + 1)
        fig.add_scatter(x=[0], y=[0], mode="markers", marker=dict(symbol="x", color="white",
                        size=10, line=dict(color="black", width=1)), showlegend=False,
                        hoverinfo="skip", row=1, col=i + 1)
    fig.update_xaxes(title_text=_("direction 1"))
    fig.update_yaxes(title_text=_("direction 2"))
    return base_layout(fig, _("Contour map of the loss (log10; same levels for both)"),
                       height=420)


def lines(results: Results, labels: Mapping[str, str]) -> go.Figure:
    """1D views: from the initial to the trained weights, and along one random direction."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(
        _("From initial (t = 0) to trained (t = 1) weights"),
        _("Along one filter-normalised direction")))
    for i, (name, r) in enumerate(results.items()):
        c = color(name, i)
        for col, part in ((1, "interpolation"), (2, "direction")):
            fig.add_scatter(x=np.asarray(r[part]["t"]), y=np.asarray(r[part]["loss"]),
                            name=labels.get(name, name), legendgroup=name, showlegend=col == 1,
                            line=dict(color=c), row=1, col=col)
    fig.update_yaxes(type="log", dtick=1, title_text=_("loss"))
    fig.update_xaxes(title_text=_("t (0 = initial, 1 = trained)"), row=1, col=1)
    fig.update_xaxes(title_text=_("step along direction 1"), row=1, col=2)
    return base_layout(fig, "", height=340)


def metric_labels() -> dict[str, str]:
    return {"nonconvex_share": _("share of grid points that are non-convex"),
            "basin_share": _("share of the grid whose downhill walk misses the trained basin")}


def roughness_bars(results: Results, labels: Mapping[str, str]) -> go.Figure:
    """The measured roughness of each landscape (0 = smooth bowl, 1 = rough everywhere)."""
    names = metric_labels()
    fig = go.Figure()
    for i, (name, r) in enumerate(results.items()):
        rough = r["roughness"]
        keys = [k for k in names if k in rough]
        vals = [rough[k] for k in keys]
        fig.add_bar(x=[names[k] for k in keys], y=vals, name=labels.get(name, name),
                    marker_color=color(name, i), text=[f"{v:.0%}" for v in vals],
                    textposition="outside")
    fig.update_yaxes(range=[0, 1.1], tickformat=".0%")
    return base_layout(fig, _("How rough is each landscape? (measured)"), height=340,
                       barmode="group")


def roughness_by_depth(table: Mapping[str, Mapping[int, dict]], labels: Mapping[str, str],
                       metric: str = "nonconvex_share") -> go.Figure:
    """One roughness figure against depth, for every depth computed so far."""
    fig = go.Figure()
    for i, (name, by_depth) in enumerate(table.items()):
        depths = sorted(by_depth)
        fig.add_scatter(x=depths, y=[by_depth[d][metric] for d in depths], mode="lines+markers",
                        name=labels.get(name, name), line=dict(color=color(name, i)))
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%", title_text=metric_labels()[metric])
    fig.update_xaxes(title_text=_("depth (blocks)"))
    return base_layout(fig, _("Roughness against depth (depths computed so far)"), height=320)


def slice_curvature_maps(results: Results, labels: Mapping[str, str]) -> go.Figure:
    """Slice curvature (2-D): where each plotted slice bends down, -lambda_min / max |lambda|
    of the slice's 2x2 Hessian per grid point (0 = the slice is convex there). Not Li's map."""
    n = len(results)
    fig = make_subplots(rows=1, cols=n, subplot_titles=_titles(results, labels),
                        horizontal_spacing=0.08)
    for i, r in enumerate(results.values()):
        ax = np.asarray(r["axis"])
        fig.add_trace(go.Heatmap(x=ax, y=ax, z=np.asarray(r["slice_curvature"]), zmin=0, zmax=1,
                                 colorscale="Greys", showscale=i == n - 1,
                                 colorbar=dict(title=dict(text=_("slice curvature")))),
                      row=1, col=i + 1)
    fig.update_xaxes(title_text=_("direction 1"))
    fig.update_yaxes(title_text=_("direction 2"))
    return base_layout(fig, _("Slice curvature (2-D): how much the plotted slice bends down"),
                       height=380)


def hessian_maps(maps: Results, labels: Mapping[str, str], zmax: float = 1.0) -> go.Figure:
    """Li et al. 2018 Fig. 7: |lambda_min / lambda_max| of the full Hessian at every point of
    a coarse grid, one panel per net, one colour range (values above zmax saturate); each
    panel in its family's colour. Hover gives both eigenvalues."""
    n = len(maps)
    fig = make_subplots(rows=1, cols=n, subplot_titles=_titles(maps, labels),
                        horizontal_spacing=0.1)
    for i, (name, m) in enumerate(maps.items()):
        ax = np.asarray(m["axis"])
        ratio = np.asarray(m["ratio"], dtype=float)
        custom = np.stack([np.asarray(m["lambda_min"], float), np.asarray(m["lambda_max"], float)],
                          -1)
        fig.add_trace(go.Heatmap(
            x=ax, y=ax, z=ratio, zmin=0, zmax=zmax, colorscale=family_scale(name, i),
            customdata=custom, text=np.round(ratio, 2), texttemplate="%{text}",
            colorbar=dict(title=dict(text="|λmin/λmax|"), x=(i + 1) / n - 0.02, len=0.8),
            hovertemplate="a=%{x:.2f}, b=%{y:.2f}<br>|λmin/λmax| = %{z:.3f}<br>"
                          "λmin = %{customdata[0]:.3g}<br>λmax = %{customdata[1]:.3g}<extra></extra>"),
            row=1, col=i + 1)
    fig.update_xaxes(title_text=_("direction 1"))
    fig.update_yaxes(title_text=_("direction 2"))
    return base_layout(fig, _("Li et al. map: |λmin/λmax| of the full Hessian (0 = convex)"),
                       height=420)
