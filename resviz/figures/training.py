"""Figures of a training run: curves, decision boundaries, per-block gradient bars.

They draw from compact data (the live engine's Snapshot: thinned curves, a boundary grid the
worker computed), so a redraw costs the same at step 10 and at step 10,000.
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from resviz.data import Dataset, grid
from resviz.figures.style import base_layout, color, layout_of, rgb
from resviz.i18n import _
from resviz.train import Record

CLASS_COLORS = ["#b2182b", "#2166ac", "#1b7837", "#762a83", "#e08214", "#4d4d4d", "#c51b7d",
                "#35978f", "#8c510a", "#01665e"]  # class 0 = red end of RdBu, class 1 = blue end


def compact(recs: Sequence[Record]) -> dict[str, list]:
    """Records as the engine's compact curves: every step's loss, every evaluation's accuracy."""
    ev = [r for r in recs if r.test_acc is not None]
    return {"step": [r.step for r in recs], "loss": [r.loss for r in recs],
            "eval_step": [r.step for r in ev], "train_acc": [r.train_acc for r in ev],
            "test_acc": [r.test_acc for r in ev], "test_loss": [r.test_loss for r in ev]}


def _as_curves(h: Sequence[Record] | Mapping[str, list]) -> Mapping[str, list]:
    return h if isinstance(h, Mapping) else compact(h)


def curves(histories: Mapping[str, Sequence[Record] | Mapping[str, list]],
           labels: Mapping[str, str], height: int = 320, stacked: bool = False) -> go.Figure:
    """Training loss (thinned steps) and test accuracy (every evaluation), per model;
    side by side, or one above the other (`stacked`, for a narrow column).

    Takes the engine's compact curves ({"step", "loss", "eval_step", "test_acc", ...}) or
    lists of Records (converted with `compact`).
    """
    return go.Figure(curves_spec(histories, labels, height, stacked))


def curves_spec(histories: Mapping[str, Sequence[Record] | Mapping[str, list]],
                labels: Mapping[str, str], height: int = 320, stacked: bool = False,
                steps: int | None = None, loss_range: Sequence[float] | None = None) -> dict:
    """`curves` as a plain figure dict: what a live page redraws (no plotly validation).

    `steps` (the run's step limit) fixes the frame: the step axis spans [0, steps] and the
    loss axis whole decades around the losses, at least LOSS_DECADES of them below the
    highest loss (`log_decades`), so while a run trains the curves grow inside axes that
    stay put, and the browser moves only the lines (ui.livechart). A live page passes a
    `loss_range` (log10 units) that only widens (`log_decades` with the one drawn last)."""
    lay = layout_of(_curves_layout, stacked, height, _("Training loss"), _("Test accuracy"),
                    _("step"))
    second = ("x2", "y2")
    data, empty = [], True
    if steps is not None:
        rng = loss_range or log_decades(loss_values(histories)) or [-LOSS_DECADES, 0]
        lay = {**lay, "yaxis": {**lay.get("yaxis", {}), "range": list(rng)}}
        for ax in ("xaxis", "xaxis2"):
            lay[ax] = {**lay.get(ax, {}), "range": [0, max(1, steps)]}
    for i, (name, h) in enumerate(histories.items()):
        c, cv = color(name, i), _as_curves(h)
        empty = empty and not cv["step"]
        data.append({"type": "scatter", "x": list(cv["step"]), "y": list(cv["loss"]),
                     "mode": _mode(cv["step"]), "name": labels.get(name, name),
                     "line": {"color": c}, "legendgroup": name, "xaxis": "x", "yaxis": "y"})
        data.append({"type": "scatter", "x": list(cv["eval_step"]), "y": list(cv["test_acc"]),
                     "mode": _mode(cv["eval_step"]), "showlegend": False, "line": {"color": c},
                     "legendgroup": name, "xaxis": second[0], "yaxis": second[1]})
    if empty:
        lay.setdefault("annotations", []).append(
            {"text": _("Press Start to train"), "x": 0.5, "y": 0.85 if stacked else 0.5,
             "xref": "paper", "yref": "paper", "showarrow": False,
             "font": {"size": 16, "color": "#6b7280"}})
    return {"data": data, "layout": lay}


LOSS_DECADES = 3  # decades the live loss axis spans at least, below the highest loss


def log_decades(values: Sequence[float | None], span: int = LOSS_DECADES,
                within: Sequence[float] | None = None) -> list[float] | None:
    """A log axis's range in whole decades, [lo, hi] in log10 units, holding every positive
    finite value, at least `span` decades (down from the top) and the range `within` if
    given; None when there is no such value and no `within`.

    A live chart drawn in a fixed frame moves only its bars or lines (ui.livechart); each
    change of range costs a tab a whole redraw (about 80 ms). Whole decades with room below,
    and a page that passes the range it drew last as `within` (widened a decade more than
    the values need when they outgrow it), change it rarely: a loss falling from 1 to 1e-6
    redraws its chart twice."""
    logs = [math.log10(v) for v in values if v is not None and math.isfinite(v) and v > 0]
    if not logs:
        return None if within is None else list(within)
    lo, hi = math.floor(min(logs)), math.ceil(max(logs))
    if within is not None:  # outgrown: widen by a decade more than needed, to last longer
        lo = min(within[0], lo - 1 if lo < within[0] else lo)
        hi = max(within[1], hi + 1 if hi > within[1] else hi)
    return [min(lo, hi - max(1, span)), hi]


def loss_values(histories: Mapping[str, Sequence[Record] | Mapping[str, list]]) -> list:
    """Every model's training losses as `curves` draws them (thinned)."""
    return [v for h in histories.values() for v in _as_curves(h)["loss"]]


def _mode(xs: Sequence) -> str:
    """Plotly's own default mode for a scatter trace, written out: a live chart that only
    moves its lines (ui.livechart) keeps the mode it was drawn with."""
    return "lines+markers" if len(xs) < 20 else "lines"


def _curves_layout(stacked: bool, height: int, loss: str, acc: str, step: str) -> go.Figure:
    rows, cols = (2, 1) if stacked else (1, 2)
    fig = make_subplots(rows=rows, cols=cols, shared_xaxes=stacked, vertical_spacing=0.14,
                        horizontal_spacing=0.12, subplot_titles=(loss, acc))
    second = dict(row=2, col=1) if stacked else dict(row=1, col=2)
    fig.update_yaxes(type="log", dtick=1, exponentformat="power", row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", **second)
    fig.update_xaxes(title_text=step, **second)
    if not stacked:
        fig.update_xaxes(title_text=step, row=1, col=1)
    return base_layout(fig, "", height=height, margin=dict(l=45, r=10, t=30, b=40),
                       legend=dict(orientation="h", y=-0.16 if stacked else -0.25, x=0))


@torch.no_grad()
def boundary_grid(model: torch.nn.Module, data: Dataset, n: int = 60) -> dict[str, Any]:
    """The model's class-1 probability (argmax class for > 2 classes) on an n x n grid:
    the same compact data the live engine's worker sends ({"x", "y", "p"})."""
    ax, pts = grid(n)
    was = model.training
    model.eval()
    dev = next(model.parameters()).device
    probs = torch.softmax(model(pts.to(dev)), 1).cpu()
    model.train(was)
    z = probs[:, 1] if data.n_classes == 2 else probs.argmax(1).float()
    return {"x": ax.tolist(), "y": ax.tolist(), "p": z.reshape(n, n).tolist()}


def boundary(model_or_grid: torch.nn.Module | Mapping[str, Any], data: Dataset, title: str,
             n: int = 60, height: int = 300) -> go.Figure:
    """Decision boundary: the class probability over the plane, the test points on top,
    a legend of the classes and hover values on both."""
    return go.Figure(boundary_spec(model_or_grid, data, title, n, height))


def boundary_spec(model_or_grid: torch.nn.Module | Mapping[str, Any], data: Dataset,
                  title: str, n: int = 60, height: int = 300, live: bool = False) -> dict:
    """`boundary` as a plain figure dict (no plotly validation).

    `live=True` is for a run that is training: the map and the test points are one small PNG
    under the axes (a layout image), and the traces only carry the class legend. Streamlit
    mounts a chart afresh whenever its data change, and plotting every test point again was
    about a third of the browser's time per redraw (Chromium profile); a picture is cheap to
    mount. It has no hover values; a paused or finished run is drawn with them.
    """
    g = model_or_grid if isinstance(model_or_grid, Mapping) else boundary_grid(model_or_grid, data, n)
    k = data.n_classes
    if k == 2:
        scale = [[0, CLASS_COLORS[0]], [0.5, "#f7f7f7"], [1, CLASS_COLORS[1]]]
        hover = _("x %{x:.2f}, y %{y:.2f}: P(class 1) = %{z:.2f}") + "<extra></extra>"
        zmax = 1.0
    else:
        scale = [[i / (k - 1), CLASS_COLORS[i % len(CLASS_COLORS)]] for i in range(k)]
        hover = _("x %{x:.2f}, y %{y:.2f}: class %{z:.0f}") + "<extra></extra>"
        zmax = float(k - 1)
    lo, hi = float(g["x"][0]), float(g["x"][-1])
    lay = layout_of(_boundary_layout, lo, hi, title, height)
    if live:
        lay["images"] = [{"source": "data:image/png;base64," + base64.b64encode(
                              png(boundary_picture(g, data, scale, zmax))).decode(),
                          "xref": "x", "yref": "y", "x": lo, "y": hi, "sizex": hi - lo,
                          "sizey": hi - lo, "sizing": "stretch", "layer": "below"}]
        legend = [{**t, "x": [None], "y": [None], "hoverinfo": "skip"} for t in _test_points(data)]
        return {"data": legend, "layout": lay}
    traces = [{"type": "heatmap", "x": list(g["x"]), "y": list(g["y"]), "z": g["p"],
               "colorscale": scale, "zmin": 0, "zmax": zmax, "showscale": False,
               "opacity": MAP_OPACITY, "hovertemplate": hover}]
    return {"data": traces + _test_points(data), "layout": lay}


MAP_OPACITY = 0.55
PICTURE_PX = 200  # side of the live boundary picture (drawn at about 160-210 px)


def boundary_picture(g: Mapping[str, Any], data: Dataset, scale: list, zmax: float,
                     side: int = PICTURE_PX) -> np.ndarray:
    """The boundary as the chart draws it, as pixels [side, side, 3] (row 0 = top): the map
    over [x0, xN] x [y0, yN] at MAP_OPACITY on white, smoothly interpolated, and the test
    points as discs with a white rim."""
    z = torch.as_tensor(np.asarray(g["p"], dtype=np.float32) / zmax)[None, None]  # [1,1,ny,nx]
    z = torch.nn.functional.interpolate(z, size=(side, side), mode="bilinear",
                                        align_corners=True)[0, 0].flip(0).numpy()  # top row first
    stops = np.array([st[0] for st in scale])
    colours = np.array([rgb(st[1]) for st in scale], dtype=float)
    pix = np.stack([np.interp(z, stops, colours[:, c]) for c in range(3)], -1)
    pix = MAP_OPACITY * pix + (1 - MAP_OPACITY) * 255.0
    mask, colour = _point_stamps(data, float(g["x"][0]), float(g["x"][-1]), side)
    pix[mask] = colour[mask]
    return pix.round().clip(0, 255).astype(np.uint8)


_stamps: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}


def _point_stamps(data: Dataset, lo: float, hi: float, side: int) -> tuple[np.ndarray, np.ndarray]:
    """The test points drawn once per data set and grid: (where a point covers a pixel
    [side, side], its colour there [side, side, 3]). Discs with a white rim, 5 px on a ~160 px
    chart; later classes on top, as the chart's traces stack."""
    x, y = data.x_test.numpy(), data.y_test.numpy()
    key = (x.tobytes(), y.tobytes(), lo, hi, side)
    if key in _stamps:
        return _stamps[key]
    mask = np.zeros((side, side), dtype=bool)
    colour = np.zeros((side, side, 3))
    col = (x[:, 0] - lo) / (hi - lo) * (side - 1)
    row = (hi - x[:, 1]) / (hi - lo) * (side - 1)
    r = side / 64
    yy, xx = np.mgrid[0:side, 0:side]
    for c in range(data.n_classes):
        fill = np.array(rgb(CLASS_COLORS[c % len(CLASS_COLORS)]))
        for px, py in zip(col[y == c], row[y == c]):
            a, b = max(int(py - r - 2), 0), min(int(py + r + 3), side)
            e, f = max(int(px - r - 2), 0), min(int(px + r + 3), side)
            if a >= b or e >= f:
                continue
            d = np.hypot(xx[a:b, e:f] - px, yy[a:b, e:f] - py)
            rim, disc = d <= r + 1, d <= r
            mask[a:b, e:f] |= rim
            colour[a:b, e:f][rim] = 255.0
            colour[a:b, e:f][disc] = fill
    if len(_stamps) > 16:
        _stamps.clear()
    _stamps[key] = (mask, colour)
    return mask, colour


def png(pixels: np.ndarray) -> bytes:
    """An 8-bit RGB image [height, width, 3] as PNG bytes (zlib only, no imaging library)."""
    h, w, _c = pixels.shape

    def chunk(tag: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + tag + body
                + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF))

    raw = b"".join(b"\x00" + row.tobytes() for row in np.ascontiguousarray(pixels, np.uint8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def _test_points(data: Dataset) -> list[dict]:
    """The test points, one trace per class (their own legend entry and hover text)."""
    x, y = data.x_test.numpy(), data.y_test.numpy()
    out = []
    for c in range(data.n_classes):
        sel = y == c
        out.append({"type": "scatter", "x": x[sel, 0].tolist(), "y": x[sel, 1].tolist(),
                    "mode": "markers", "name": _("class {c}").format(c=c),
                    "marker": {"color": CLASS_COLORS[c % len(CLASS_COLORS)], "size": 5,
                               "line": {"color": "white", "width": 0.6}},
                    "hovertemplate": _("test point of class {c}").format(c=c) + "<extra></extra>"})
    return out


def _boundary_layout(lo: float, hi: float, title: str, height: int) -> go.Figure:
    fig = go.Figure()
    fig.update_xaxes(range=[lo, hi], showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(range=[lo, hi], showticklabels=False, showgrid=False, zeroline=False,
                     scaleanchor="x")
    return base_layout(fig, title, height=height, margin=dict(l=5, r=5, t=34 if title else 5, b=5),
                       legend=dict(orientation="v", x=1.0, xanchor="left", y=0.5,
                                   yanchor="middle", font=dict(size=11)))


def grad_bars(norms: Mapping[str, Sequence[float]], labels: Mapping[str, str],
              skips: Mapping[str, Sequence[bool]] | None = None, height: int = 300) -> go.Figure:
    """Per-block parameter-gradient norm, block 1 = nearest the input, log scale.

    Blocks whose skip is off are drawn hatched, so a toggle is visible in the gradients.
    """
    return go.Figure(grad_bars_spec(norms, labels, skips, height))


def grad_bars_spec(norms: Mapping[str, Sequence[float]], labels: Mapping[str, str],
                   skips: Mapping[str, Sequence[bool]] | None = None, height: int = 300,
                   y_range: Sequence[float] | None = None) -> dict:
    """`grad_bars` as a plain figure dict: what a live page redraws (no plotly validation).

    `y_range` (log10 units, see `log_decades`) fixes the norm axis, so a live page's new
    bars only move (ui.livechart) instead of redrawing the chart."""
    data = []
    # before the first step there are no gradients: the chart is drawn empty, with a note, so
    # it is in place (and the page does not grow) when training starts
    empty = not any(v is not None and math.isfinite(v) for g in norms.values() for v in g)
    for i, (name, g) in enumerate(norms.items()):
        y = [None if empty else max(v, 1e-30) if v is not None and math.isfinite(v) else 1e-30
             for v in g]
        marker: dict[str, Any] = {"color": color(name, i)}
        if skips is not None and name in skips:
            marker["pattern"] = {"shape": ["" if s else "/" for s in skips[name]]}
        data.append({"type": "bar", "x": list(range(1, len(y) + 1)), "y": y,
                     "name": labels.get(name, name), "marker": marker,
                     "hovertemplate": _("block %{x}: %{y:.2e}") + "<extra></extra>"})
    lay = layout_of(_grad_bars_layout, height, _("parameter-gradient norm"),
                    _("block (1 = nearest the input)"), _("Per-block gradient norm (log scale)"))
    if y_range is not None and not empty:
        lay = {**lay, "yaxis": {**lay.get("yaxis", {}), "range": list(y_range)},
               "xaxis": {**lay.get("xaxis", {}),
                         "range": [0.5, max((len(g) for g in norms.values()), default=1) + 0.5]}}
    if empty:  # no bars: no made-up scale either
        lay = {**lay, "yaxis": {**lay.get("yaxis", {}), "showticklabels": False},
               "annotations": [*lay.get("annotations", []), {
            "text": _("Press Start or Step: the gradients of the last step appear here."),
            "x": 0.5, "y": 0.5,
            "xref": "paper", "yref": "paper", "showarrow": False,
            "font": {"size": 14, "color": "#6b7280"}}]}
    return {"data": data, "layout": lay}


def _grad_bars_layout(height: int, y_title: str, x_title: str, title: str) -> go.Figure:
    fig = go.Figure()
    fig.update_yaxes(type="log", dtick=1, exponentformat="power", title_text=y_title)
    fig.update_xaxes(title_text=x_title)
    return base_layout(fig, title, height=height, barmode="group",
                       legend=dict(orientation="h", y=1.12, x=0))
