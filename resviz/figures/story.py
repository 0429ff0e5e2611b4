"""Small figures for the home page's story: data from resviz.story in, go.Figure out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from resviz.figures.style import base_layout, color
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
                        name=_("gate bias {b}").format(b=b), line=dict(color=color(str(b), i + 2)))
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


def family(counts: Mapping[str, Mapping[str, float]]) -> go.Figure:
    names = list(counts)
    fig = go.Figure(go.Bar(x=names, y=[counts[n]["params"] / 1e6 for n in names],
                           marker_color=color("residual"), name=_("parameters (millions)"),
                           text=[f"{counts[n]['params'] / 1e6:.1f}M" for n in names]))
    fig.add_scatter(x=names, y=[counts[n]["gflops_paper"] for n in names], yaxis="y2",
                    name=_("GFLOPs (paper)"), mode="lines+markers", line=dict(color=color("plain")))
    fig.update_layout(yaxis=dict(title_text=_("parameters (millions)")),
                      yaxis2=dict(title_text=_("GFLOPs (paper)"), overlaying="y", side="right"))
    return _layout(fig, _("The ResNet family: size and cost"))


def orderings(result: Mapping) -> go.Figure:
    """Paper error beside ours, one group per ordering, each ranked."""
    names = list(result["orderings"])
    paper_rank = {k: i + 1 for i, k in enumerate(result["rank_paper"])}
    ours_rank = {k: i + 1 for i, k in enumerate(result["rank_ours"])}
    labels = [_(n) for n in names]
    fig = go.Figure()
    fig.add_bar(x=labels, y=[result["paper_error"][n] for n in names], name=_("paper: CIFAR-10, ResNet-110"),
                marker_color=color("plain"), text=[f"#{paper_rank[n]}" for n in names],
                textposition="outside")
    if result.get("test_error"):
        fig.add_bar(x=labels, y=[result["test_error"][n] for n in names], name=_("ours: 2D toy"),
                    marker_color=color("residual"), text=[f"#{ours_rank[n]}" for n in names],
                    textposition="outside")
    fig.update_yaxes(title_text=_("test error (%)"))
    return _layout(fig, _("Unit orderings: test error and rank (#1 = best)"), barmode="group")


def paper_only(paper_error: Mapping[str, float]) -> dict:
    """An orderings 'result' holding only the paper's numbers, for before our run exists."""
    order = sorted(paper_error, key=paper_error.get)
    return {"orderings": list(paper_error), "paper_error": dict(paper_error), "rank_paper": order,
            "rank_ours": order, "test_error": None}


def log_ratio(values: Sequence[float]) -> float:
    """Orders of magnitude between the last and the first value (for captions)."""
    v = np.maximum(np.asarray(values, dtype=float), 1e-30)
    return float(np.log10(v[-1] / v[0]))
