"""Figures of the ensemble view: path lengths, gradient per length, the unraveled net, dynamic depth."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from resviz.figures.style import base_layout, color, log10_ticks, safe_log10
from resviz.i18n import _
from resviz.probes.paths import path_subsets

VARIANT_COLORS = {"trained": "#1f77b4", "init": "#7f7f7f", "sd": "#2ca02c"}


def distribution(counts: Sequence[int]) -> go.Figure:
    """How many paths have each length: C(n, k), Binomial(n, 1/2) times 2^n."""
    n = len(counts) - 1
    fig = go.Figure(go.Bar(x=list(range(n + 1)), y=list(counts), marker_color="#1f77b4",
                           hovertemplate=_("length %{x}: %{y:,} paths") + "<extra></extra>"))
    fig.update_xaxes(title_text=_("path length k (blocks whose branch the path goes through)"))
    fig.update_yaxes(title_text=_("number of paths"))
    return base_layout(fig, _("Path lengths in a {n}-block residual net: 2^{n} paths").format(n=n))


def magnitude(results: Mapping[str, dict], labels: Mapping[str, str]) -> go.Figure:
    """Mean gradient norm at the input per path length (log scale), 10–90% spread shaded."""
    fig = go.Figure()
    for name, r in results.items():
        c = VARIANT_COLORS.get(name, color(name))
        ks = r["ks"]
        fig.add_scatter(x=ks + ks[::-1], y=r["p90"] + r["p10"][::-1], fill="toself", line=dict(width=0),
                        fillcolor=c, opacity=0.15, hoverinfo="skip", showlegend=False, legendgroup=name)
        fig.add_scatter(x=ks, y=r["mean"], name=labels.get(name, name), line=dict(color=c),
                        legendgroup=name, mode="lines+markers", marker=dict(size=4))
    fig.update_yaxes(type="log", title_text=_("gradient norm at the input"))
    fig.update_xaxes(title_text=_("path length k"))
    return base_layout(fig, _("Gradient magnitude per path length (shaded: 10–90% of samples)"))


def contribution(results: Mapping[str, dict], labels: Mapping[str, str],
                 band_of: str = "trained") -> go.Figure:
    """Number of paths x magnitude: the total gradient each length carries; effective band shaded."""
    fig = go.Figure()
    for name, r in results.items():
        c = VARIANT_COLORS.get(name, color(name))
        total = sum(r["contribution"]) or 1.0
        fig.add_scatter(x=r["ks"], y=[v / total for v in r["contribution"]], name=labels.get(name, name),
                        line=dict(color=c), mode="lines+markers", marker=dict(size=4))
    if band_of in results:
        b = results[band_of]["band"]
        fig.add_vrect(x0=b["lo"] - 0.5, x1=b["hi"] + 0.5, fillcolor=VARIANT_COLORS.get(band_of, "#1f77b4"),
                      opacity=0.12, line_width=0,
                      annotation_text=_("{share:.0%} of the gradient").format(share=b["share"]),
                      annotation_position="top left")
    fig.update_xaxes(title_text=_("path length k"))
    fig.update_yaxes(title_text=_("share of the total gradient"))
    return base_layout(fig, _("Total contribution per path length (paths x magnitude)"))


def path_name(subset: Sequence[int]) -> str:
    """A path by the branches it takes, e.g. (0, 2) -> 'f3∘f1'; the empty path is the identity."""
    if not subset:
        return _("identity (all skips)")
    return "∘".join(f"f{i + 1}" for i in sorted(subset, reverse=True))


def unraveled(n: int, subsets: Sequence[Sequence[int]], selected: int) -> go.Figure:
    """All 2^n paths of an n-block net as rows from input to output; one highlighted.

    Column i is block i: a path either goes through its branch (a box f_i on the row) or
    passes it by on the skip (a plain line).
    """
    fig = go.Figure()
    rows = len(subsets)
    for r, s in enumerate(subsets):
        on = r == selected
        y = rows - 1 - r
        c = "#d62728" if on else "#9aa5b1"
        name = path_name(s)
        fig.add_scatter(x=[0, n + 1], y=[y, y], mode="lines", line=dict(color=c, width=5 if on else 1.5),
                        hovertemplate=name + "<extra></extra>", showlegend=False)
        fig.add_scatter(x=[i + 1 for i in s], y=[y] * len(s), mode="markers+text",
                        text=[f"f{i + 1}" for i in s],
                        textfont=dict(color="white", size=11), marker=dict(symbol="square", size=26, color=c),
                        hovertemplate=name + "<extra></extra>", showlegend=False)
        fig.add_annotation(x=n + 1.2, y=y, text=_("length {k}").format(k=len(s)), showarrow=False,
                           xanchor="left", font=dict(color=c))
    ticks = [0] + list(range(1, n + 1)) + [n + 1]
    labels = [_("input")] + [_("block {i}").format(i=i) for i in range(1, n + 1)] + [_("output")]
    fig.update_xaxes(tickvals=ticks, ticktext=labels, range=[-0.5, n + 2.2], showgrid=False, zeroline=False)
    fig.update_yaxes(visible=False, range=[-0.8, rows - 0.2])
    return base_layout(fig, _("The {n}-block net unraveled: {p} paths").format(n=n, p=rows),
                       height=max(240, 34 * rows + 90))


def expansion_latex(n: int, subset: Sequence[int]) -> tuple[str, str]:
    """The recursion written out, and the Jacobian product expanded into 2^n path terms.

    (I + J_n) ... (I + J_1) = sum over subsets S of prod_{i in S} J_i: one term per path;
    the selected path's term is boxed.
    """
    def x(i: int) -> str:
        return f"x_{{{i}}}"

    rec = [x(0)]
    for i in range(1, n + 1):
        prev = rec[-1]
        rec.append(f"{prev} + f_{{{i}}}\\left({prev}\\right)" if i > 1 else f"{x(0)} + f_{{1}}({x(0)})")
    recursion = f"{x(n)} = {x(n - 1)} + f_{{{n}}}({x(n - 1)}) = {rec[-1]}"
    terms = []
    for s in path_subsets(n):
        t = " ".join(f"J_{{{i + 1}}}" for i in sorted(s, reverse=True)) or "I"
        terms.append(f"\\boxed{{{t}}}" if tuple(sorted(s)) == tuple(sorted(subset)) else t)
    product = " ".join(f"(I + J_{{{i}}})" for i in range(n, 0, -1))
    jac = f"\\frac{{\\partial {x(n)}}}{{\\partial {x(0)}}} = {product} = " + " + ".join(terms)
    return recursion, jac


def depth_heatmap(steps: Sequence[int], ratios: Sequence[Sequence[float]], title: str) -> go.Figure:
    """||y_i − x_i|| / ||x_i|| per block (rows) and training step (columns), log colour scale."""
    z = safe_log10(np.asarray(ratios, dtype=float).T, 1e-4)
    tv, tt = log10_ticks(float(z.min()), float(z.max()))
    fig = go.Figure(go.Heatmap(
        x=list(steps), y=list(range(1, z.shape[0] + 1)), z=z, colorscale="Viridis",
        colorbar=dict(title=_("‖y−x‖/‖x‖"), tickvals=tv, ticktext=tt),
        hovertemplate=_("block %{y}, step %{x}: 10^%{z:.2f}") + "<extra></extra>"))
    fig.update_xaxes(title_text=_("training step"))
    fig.update_yaxes(title_text=_("block (1 = nearest the input)"))
    return base_layout(fig, title, height=380)


def active_blocks(traces: Mapping[str, dict], labels: Mapping[str, str], threshold: float,
                  depth: int) -> go.Figure:
    """How many blocks cost at least `threshold` of test accuracy to delete, against the nominal depth."""
    fig = go.Figure()
    for name, t in traces.items():
        counts = [int((np.asarray(c) >= threshold).sum()) for c in t["costs"]]
        fig.add_scatter(x=t["steps"], y=counts, name=labels.get(name, name),
                        line=dict(color=VARIANT_COLORS.get(name, color(name)), shape="hv"))
    fig.add_hline(y=depth, line_dash="dash", line_color="black",
                  annotation_text=_("nominal depth {n}").format(n=depth))
    fig.update_xaxes(title_text=_("training step"))
    fig.update_yaxes(title_text=_("active blocks"), range=[0, depth * 1.1 + 0.5])
    return base_layout(fig, _("Active blocks: deleting one costs ≥ {t:.0%} test accuracy")
                       .format(t=threshold))


def per_block(trace: dict, threshold: float) -> go.Figure:
    """The trained net, block by block: deletion cost (top) and cos(y_i − x_i, −∂L/∂x_i) (bottom)."""
    cost, cos = trace["costs"][-1], trace["cosines"][-1]
    x = list(range(1, len(cost) + 1))
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        subplot_titles=[_("accuracy lost when the block alone is deleted"),
                                        _("cos(y_i − x_i, −∂L/∂x_i): the block steps downhill when > 0")])
    fig.add_bar(x=x, y=cost, marker_color=["#1f77b4" if c >= threshold else "#c7c7c7" for c in cost],
                showlegend=False, row=1, col=1, hovertemplate=_("block %{x}: %{y:.3f}") + "<extra></extra>")
    fig.add_hline(y=threshold, line_dash="dot", line_color="black", row=1, col=1)
    fig.add_bar(x=x, y=cos, marker_color="#2ca02c", showlegend=False, row=2, col=1,
                hovertemplate=_("block %{x}: %{y:.2f}") + "<extra></extra>")
    fig.update_yaxes(range=[-1, 1], row=2, col=1)
    fig.update_xaxes(title_text=_("block"), row=2, col=1)
    return base_layout(fig, _("What each block of the trained net does"), height=440)
