"""Figures of the degradation sweep: training error against depth and over steps, with seed bands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from resviz.figures.style import base_layout, color
from resviz.i18n import _

FAMILIES = ("plain", "residual")


def _rgba(hex_colour: str, alpha: float) -> str:
    if hex_colour.startswith("rgb("):
        return hex_colour.replace("rgb(", "rgba(").replace(")", f", {alpha})")
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def band(fig: go.Figure, x: Sequence, lo: Sequence, hi: Sequence, colour: str, group: str,
          **where: int) -> None:
    """A filled min-max band (drawn as one closed polygon, so it needs one trace)."""
    xs = list(x) + list(x)[::-1]
    ys = list(hi) + list(lo)[::-1]
    fig.add_scatter(x=xs, y=ys, fill="toself", fillcolor=_rgba(colour, 0.18), mode="lines",
                    line=dict(width=0, color="rgba(0, 0, 0, 0)"), hoverinfo="skip", showlegend=False,
                    legendgroup=group,
                    **where)


def versus_depth(rows: Sequence[Mapping], summary: Sequence[Mapping]) -> go.Figure:
    """Final training error and test error (%) against depth: median line, min-max band over
    seeds, every seed as a dot (He et al. 2015 Fig. 1 at the last step, for every depth)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(_("final training error (%)"),
                                                        _("final test error (%)")))
    for fam in FAMILIES:
        c = color(fam)
        s = [r for r in summary if r["family"] == fam]
        pts = [r for r in rows if r["family"] == fam and r["train_acc"] is not None]
        depths = [r["depth"] for r in s]
        for col, key, acc in ((1, "train_error", "train_acc"), (2, "test_error", "test_acc")):
            band(fig, depths, [r[f"{key}_min"] for r in s], [r[f"{key}_max"] for r in s], c, fam,
                  row=1, col=col)
            fig.add_scatter(x=depths, y=[r[f"{key}_median"] for r in s], mode="lines+markers",
                            name=_("{f}: median over seeds").format(f=_(fam)), legendgroup=fam,
                            showlegend=col == 1, line=dict(color=c, width=3), row=1, col=col)
            fig.add_scatter(x=[r["depth"] for r in pts], y=[100 * (1 - r[acc]) for r in pts],
                            mode="markers", marker=dict(color=c, size=6, opacity=0.45),
                            name=_("{f}: one seed").format(f=_(fam)), legendgroup=fam,
                            showlegend=col == 1, row=1, col=col)
    depths = sorted({r["depth"] for r in summary})
    fig.update_xaxes(title_text=_("depth (blocks)"), tickvals=depths)
    fig.update_yaxes(rangemode="tozero")
    return base_layout(fig, _("Degradation: deeper plain nets train worse; residual nets do not"),
                       height=420, margin=dict(l=50, r=20, t=80, b=40))


def depth_colours(depths: Sequence[int]) -> dict[int, str]:
    """Shallow = light, deep = dark, the same in both families' panels."""
    ds = sorted(depths)
    pos = [0.15 + 0.85 * i / max(1, len(ds) - 1) for i in range(len(ds))]
    return dict(zip(ds, sample_colorscale("Viridis_r", pos)))


def error_curves(bands: Mapping[int, Mapping[str, Mapping[str, list]]], depths: Sequence[int],
                 show_test: bool = False) -> go.Figure:
    """Training error over steps, plain (left) and residual (right), one line per depth with
    the min-max band over seeds: He et al. 2015 Fig. 4 (plain-18/34 beside ResNet-18/34).
    Test error, when shown, is dashed and named so in the legend."""
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True,
                        subplot_titles=(_("plain"), _("residual")))
    colours = depth_colours(depths)
    for col, fam in ((1, "plain"), (2, "residual")):
        for d in depths:
            b = bands.get(d, {}).get(fam)
            if not b:
                continue
            c, x = colours[d], b["eval_step"]
            band(fig, x, b["train_error_min"], b["train_error_max"], c, str(d), row=1, col=col)
            fig.add_scatter(x=x, y=b["train_error_median"], mode="lines", line=dict(color=c, width=2.5),
                            name=_("{d} blocks: training error").format(d=d), legendgroup=str(d),
                            showlegend=col == 1, row=1, col=col)
            if show_test:
                fig.add_scatter(x=x, y=b["test_error_median"], mode="lines",
                                line=dict(color=c, width=1.5, dash="dash"),
                                name=_("{d} blocks: test error").format(d=d), legendgroup=str(d),
                                showlegend=col == 1, row=1, col=col)
    fig.update_xaxes(title_text=_("step"))
    fig.update_yaxes(title_text=_("error (%)"), rangemode="tozero", row=1, col=1)
    return base_layout(fig, _("Error during training: median over seeds, band = min to max"),
                       height=420, margin=dict(l=50, r=20, t=80, b=40))
