"""Small figures for the home page's story: data from resviz.story in, go.Figure out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from resviz.figures.style import base_layout, color, variant
from resviz.i18n import _

H = 320  # every story figure is small


def _layout(fig: go.Figure, title: str, **kw: object) -> go.Figure:
    """Small figure, legend below the x-axis title."""
    return base_layout(fig, title, height=H, **{"legend": dict(orientation="h", y=-0.3), **kw})


def _family_label(fam: str) -> str:
    return _("plain") if fam == "plain" else _("residual")


def _label(name: str, labels: Mapping[str, str] | None) -> str:
    return (labels or {}).get(name) or _family_label(name)


def _colour(name: str) -> str:
    return "#7f7f7f" if name == "shallow" else color(name)


def smooth(values: Sequence[float], window: int = 10) -> list[float]:
    """Trailing running mean (minibatch losses are noisy); the first points average what exists."""
    v = np.asarray(values, dtype=float)
    c = np.cumsum(np.insert(v, 0, 0.0))
    n = np.minimum(np.arange(1, len(v) + 1), window)
    return ((c[1:] - c[np.arange(1, len(v) + 1) - n]) / n).tolist()


def loss_curves(steps: Sequence[int], loss: Mapping[str, Sequence[float]],
                labels: Mapping[str, str] | None = None, window: int = 10) -> go.Figure:
    fig = go.Figure()
    for fam, ys in loss.items():
        fig.add_scatter(x=list(steps), y=smooth(ys, window), name=_label(fam, labels),
                        line=dict(color=_colour(fam)))
    fig.update_yaxes(type="log", title_text=_("training loss"))
    fig.update_xaxes(title_text=_("step"))
    title = _("Training loss (mean of {n} steps): shallow plain, deep plain, deep residual").format(n=window)
    return _layout(fig, title)


def per_block(values: Mapping[str, Sequence[float]], title: str, ytitle: str, log: bool = False,
              start: int = 1, labels: Mapping[str, str] | None = None) -> go.Figure:
    """One line per family (or story net, named by `labels`) over block index (start = first index)."""
    fig = go.Figure()
    for fam, ys in values.items():
        fig.add_scatter(x=list(range(start, start + len(ys))), y=list(ys), name=_label(fam, labels),
                        mode="lines+markers", line=dict(color=_colour(fam)))
    fig.update_yaxes(title_text=ytitle, type="log" if log else "linear")
    fig.update_xaxes(title_text=_("block"))
    return _layout(fig, title)


def bars(x: Sequence, y: Sequence[float], title: str, xtitle: str, ytitle: str,
         name: str = "", log: bool = False, colour: str = "residual") -> go.Figure:
    fig = go.Figure(go.Bar(x=list(x), y=list(y), name=name, marker_color=color(colour)))
    fig.update_xaxes(title_text=xtitle)
    fig.update_yaxes(title_text=ytitle, type="log" if log else "linear")
    return _layout(fig, title)


def path_counts(counts: Sequence[int]) -> go.Figure:
    n = len(counts) - 1
    return bars(range(n + 1), counts,
                _("{n} blocks: {total} paths, lengths Binomial({n}, 1/2)").format(n=n, total=2 ** n),
                _("path length (blocks passed through)"), _("number of paths"))


def gates(by_bias: Mapping[float, Sequence[float]]) -> go.Figure:
    fig = go.Figure()
    for i, (b, ys) in enumerate(by_bias.items()):
        fig.add_scatter(x=list(range(1, len(ys) + 1)), y=list(ys), mode="lines+markers",
                        name=_("gate bias {b}").format(b=b),
                        line=dict(color=variant("highway", i).color, dash=variant("highway", i).dash))
    fig.update_yaxes(range=[0, 1], title_text=_("mean transform gate T(x)"))
    fig.update_xaxes(title_text=_("block"))
    return _layout(fig, _("Highway net at initialisation: gates start mostly closed"))


def lesion(acc: Mapping[str, Sequence[float]], full: Mapping[str, float],
           labels: Mapping[str, str] | None = None) -> go.Figure:
    fig = go.Figure()
    for fam, ys in acc.items():
        fig.add_bar(x=list(range(1, len(ys) + 1)), y=list(ys), name=_label(fam, labels),
                    marker_color=_colour(fam))
        fig.add_hline(y=full[fam], line=dict(color=_colour(fam), dash="dash"))
    fig.update_yaxes(range=[0, 1.02], title_text=_("test accuracy"))
    fig.update_xaxes(title_text=_("deleted block"))
    return _layout(fig, _("Delete one block (dashed: nothing deleted)"), barmode="group")


def _nice_ticks(top: float, n: int = 4) -> list[float]:
    """About n round tick values from 0 to at least `top` (1, 2, 2.5 or 5 times a power of ten)."""
    raw = top / n
    mag = 10 ** np.floor(np.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [float(step * k) for k in range(int(np.ceil(top / step)) + 1)]


def family(counts: Mapping[str, Mapping[str, float]]) -> go.Figure:
    """Parameters (counted, torchvision) and the paper's GFLOPs side by side: two panels with
    round ticks, the value written above each bar and nothing drawn across it."""
    from plotly.subplots import make_subplots

    names = [n.replace("resnet", "") for n in counts]
    params = [counts[n]["params"] / 1e6 for n in counts]
    flops = [counts[n]["gflops_paper"] for n in counts]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=(
        _("parameters (millions)"), _("GFLOPs (paper)")))
    for col, vals, fmt, colour in ((1, params, "{:.1f}M", color("residual")),
                                   (2, flops, "{:.1f}", color("", 0))):
        fig.add_bar(x=names, y=vals, marker_color=colour, showlegend=False,
                    text=[fmt.format(v) for v in vals], textposition="outside", cliponaxis=False,
                    row=1, col=col)
        ticks = _nice_ticks(max(vals) * 1.2)
        fig.update_yaxes(range=[0, ticks[-1]], tickvals=ticks, tickmode="array",
                         ticktext=[f"{t:g}" for t in ticks], row=1, col=col)
    fig.update_xaxes(title_text=_("ResNet depth (layers)"), type="category", tickangle=0)
    return _layout(fig, _("The ResNet family: size and cost"))


def log_ratio(values: Sequence[float]) -> float:
    """Orders of magnitude between the last and the first value (for captions)."""
    v = np.maximum(np.asarray(values, dtype=float), 1e-30)
    return float(np.log10(v[-1] / v[0]))
