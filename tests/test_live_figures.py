"""The live figures as plain dicts (issue #12): valid plotly, the same content as before, and
a live boundary picture that shows the map and the test points where they are."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import plotly.graph_objects as go
import pytest

from resviz.data import load
from resviz.figures import network as netfig
from resviz.figures import training as figs
from resviz.figures.style import layout_of

DATA = load("spirals", 400, 0.1, 0)


def _grid(n: int = 30) -> dict:
    ax = np.linspace(-1.2, 1.2, n)
    xx, _yy = np.meshgrid(ax, ax)
    return {"x": ax.tolist(), "y": ax.tolist(), "p": ((xx + 1.2) / 2.4).tolist()}  # 0 left, 1 right


def _unpng(data: bytes) -> np.ndarray:
    """Decode an 8-bit RGB, filter-0 PNG (what figs.png writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        n = struct.unpack(">I", data[pos:pos + 4])[0]
        tag, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        assert zlib.crc32(tag + body) & 0xFFFFFFFF == struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0]
        chunks[tag] = chunks.get(tag, b"") + body
        pos += 12 + n
    w, h = struct.unpack(">II", chunks[b"IHDR"][:8])
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(h, 1 + 3 * w)
    assert (raw[:, 0] == 0).all()
    return raw[:, 1:].reshape(h, w, 3)


def test_png_round_trip():
    img = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    assert (_unpng(figs.png(img)) == img).all()


def test_live_boundary_is_a_picture_of_the_map_with_the_points_on_top():
    g = _grid()
    spec = figs.boundary_spec(g, DATA, "", height=160, live=True)
    go.Figure(spec)  # valid plotly
    assert [t["name"] for t in spec["data"]] == ["class 0", "class 1"]
    assert all(t["x"] == [None] for t in spec["data"])  # legend only: the points are in the picture
    (image,) = spec["layout"]["images"]
    pic = figs.boundary_picture(g, DATA, [[0, "#b2182b"], [0.5, "#f7f7f7"], [1, "#2166ac"]], 1.0)
    assert (_unpng(__import__("base64").b64decode(image["source"].split(",", 1)[1])) == pic).all()
    side = pic.shape[0]
    lo, hi = g["x"][0], g["x"][-1]

    def pixel(x: float, y: float) -> np.ndarray:
        r, c = (hi - y) / (hi - lo) * (side - 1), (x - lo) / (hi - lo) * (side - 1)
        return pic[int(round(r)), int(round(c))]

    a = figs.MAP_OPACITY
    x_te, y_te = DATA.x_test.numpy(), DATA.y_test.numpy()
    far = [(x, y) for x, y in [(-1.15, 0.0), (1.15, 0.0), (0.0, 1.15)]
           if np.min(np.hypot(x_te[:, 0] - x, x_te[:, 1] - y)) > 0.1]
    assert far, "need a spot with no test point near it"
    for x, y in far:  # p = (x + 1.2) / 2.4 through the colour scale, at MAP_OPACITY on white
        p = (x + 1.2) / 2.4
        stops = np.array([[0xb2, 0x18, 0x2b], [0xf7, 0xf7, 0xf7], [0x21, 0x66, 0xac]], float)
        want = [np.interp(p, [0, 0.5, 1], stops[:, c]) * a + (1 - a) * 255 for c in range(3)]
        assert np.abs(pixel(x, y).astype(float) - want).max() <= 3, (x, y)
    checked = 0
    for (x, y), c in zip(x_te, y_te):  # a lone test point's centre has its class colour
        want = [0xb2, 0x18, 0x2b] if c == 0 else [0x21, 0x66, 0xac]
        inside = lo < x < hi and lo < y < hi
        if inside and np.sum(np.hypot(x_te[:, 0] - x, x_te[:, 1] - y) < 0.12) == 1:
            assert list(pixel(x, y)) == want
            checked += 1
    assert checked >= 5


def test_the_paused_boundary_keeps_its_hover_map():
    spec = figs.boundary_spec(_grid(), DATA, "", height=160)
    assert spec["data"][0]["type"] == "heatmap" and "P(class 1)" in spec["data"][0]["hovertemplate"]
    assert "images" not in spec["layout"]
    go.Figure(spec)


@pytest.mark.parametrize("build", [
    lambda: netfig.diagram_spec([True, False, True], "A", "#1f77b4", [1.0, 2.0, 3.0], [0.1] * 3,
                                [True, True, False]),
    lambda: figs.curves_spec({"A": {"step": [0, 1], "loss": [1.0, 0.5], "eval_step": [0],
                                    "test_acc": [0.5]}}, {"A": "A"}, stacked=True),
    lambda: figs.grad_bars_spec({"A": [1.0, None, float("nan")]}, {"A": "A"}, {"A": [True, False, True]}),
])
def test_dict_figures_are_valid_plotly_and_match_their_figure_versions(build):
    spec = build()
    fig = go.Figure(spec)  # validates every property
    assert len(fig.data) == len(spec["data"])


def test_layout_of_hands_out_fresh_copies():
    first = layout_of(figs._grad_bars_layout, 200, "y", "x", "t")
    first["yaxis"]["title"]["text"] = "changed"
    first["margin"] = {"t": 1}
    again = layout_of(figs._grad_bars_layout, 200, "y", "x", "t")
    assert again["yaxis"]["title"]["text"] == "y" and again.get("margin") != {"t": 1}


def test_curves_in_a_fixed_frame_hold_every_loss_and_keep_plotlys_mode() -> None:
    """With the step limit, the curves' step axes span [0, limit] and the loss axis whole
    decades that contain every finite loss (what lets ui.livechart move only the lines)."""
    losses = [0.7, 0.31, 0.042, float("nan"), 0.0009]
    cv = {"step": list(range(5)), "loss": losses, "eval_step": [0], "test_acc": [0.5]}
    fig = figs.curves_spec({"A": cv}, {"A": "A"}, stacked=True, steps=600)
    lay = fig["layout"]
    assert lay["xaxis"]["range"] == [0, 600] and lay["xaxis2"]["range"] == [0, 600]
    lo, hi = lay["yaxis"]["range"]
    assert (lo, hi) == (-4, 0)  # 10^-4 <= 0.0009 and 0.7 <= 10^0
    assert all(10.0 ** lo <= v <= 10.0 ** hi for v in losses if v == v)
    assert [t["mode"] for t in fig["data"]] == ["lines+markers", "lines+markers"]
    long = {"step": list(range(30)), "loss": [0.5] * 30, "eval_step": [0], "test_acc": [0.5]}
    assert figs.curves_spec({"A": long}, {"A": "A"})["data"][0]["mode"] == "lines"
    assert "range" not in figs.curves_spec({"A": cv}, {"A": "A"})["layout"]["xaxis"]


def test_gradient_bars_before_the_first_step_are_empty_with_a_note() -> None:
    fig = figs.grad_bars_spec({"A": [None] * 3, "B": [None] * 3}, {"A": "A", "B": "B"})
    assert all(y is None for t in fig["data"] for y in t["y"])
    assert any("Press Start" in a["text"] for a in fig["layout"]["annotations"])
    some = figs.grad_bars_spec({"A": [1.0, None, 2.0]}, {"A": "A"})
    assert some["data"][0]["y"] == [1.0, 1e-30, 2.0] and not some["layout"].get("annotations")


def test_a_kept_log_range_holds_every_value_and_only_widens() -> None:
    """figs.log_decades: whole decades holding every positive finite value, at least `span`
    of them below the top; with the range drawn last it never narrows, and when outgrown it
    widens a decade more than needed (so a falling loss redraws its chart rarely)."""
    assert figs.log_decades([0.7, None, float("nan"), -1.0, 0.0]) == [-3, 0]
    assert figs.log_decades([0.7, 0.2], span=1) == [-1, 0]
    assert figs.log_decades([None, float("inf")]) is None
    kept = figs.log_decades([0.7, 0.05])
    assert kept == [-3, 0]
    assert figs.log_decades([0.3], within=kept) == [-3, 0]  # inside: unchanged, not narrowed
    wider = figs.log_decades([0.5, 2e-4], within=kept)
    assert wider == [-5, 0]  # 2e-4 needs -4; one decade more
    assert figs.log_decades([30.0], within=wider) == [-5, 3]  # 30 needs 2; one more
    assert figs.log_decades([], within=wider) == wider
    values = [3e-7, 0.4, 12.0]
    lo, hi = figs.log_decades(values)
    assert all(10.0 ** lo <= v <= 10.0 ** hi for v in values)


def test_gradient_bars_in_a_kept_range_have_fixed_axes() -> None:
    """With `y_range`, the bars' axes are fixed (ui.livechart then moves the bars in place);
    an empty chart keeps no made-up scale."""
    fig = figs.grad_bars_spec({"A": [0.3, 0.02], "B": [1.5, 0.4]}, {"A": "A", "B": "B"},
                              y_range=[-3, 1])
    assert fig["layout"]["yaxis"]["range"] == [-3, 1]
    assert fig["layout"]["xaxis"]["range"] == [0.5, 2.5]
    empty = figs.grad_bars_spec({"A": [None, None]}, {"A": "A"}, y_range=[-3, 1])
    assert "range" not in empty["layout"]["yaxis"]
    assert figs.curves_spec({"A": {"step": [0], "loss": [0.5], "eval_step": [], "test_acc": []}},
                            {"A": "A"}, steps=100, loss_range=[-6, 1])["layout"]["yaxis"][
        "range"] == [-6, 1]
