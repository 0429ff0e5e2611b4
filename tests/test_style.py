"""The app's one chart style (resviz/figures/style.py): ticks, legends, colours, presenter sizes."""

from __future__ import annotations

import re

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots

from resviz import i18n
from resviz.figures import style


def _log_figure(lo: float, hi: float, names: list[str], title: str = "A title") -> go.Figure:
    fig = go.Figure()
    for n in names:
        fig.add_scatter(x=[1, 2, 3], y=[lo, (lo * hi) ** 0.5, hi], name=n, line=dict(width=3))
    fig.update_yaxes(type="log", title_text="gradient norm")
    return style.base_layout(fig, title, height=360)


def test_log_axes_get_decades_as_powers_of_ten_and_no_minor_labels() -> None:
    d = style.finish(_log_figure(1e-9, 1.0, ["plain", "residual"])).to_dict()
    ax = d["layout"]["yaxis"]
    assert ax["tickmode"] == "linear" and ax["dtick"] == 2 and ax["tick0"] == 0
    assert ax["exponentformat"] == "power" and ax["minor"]["ticks"] == ""
    # 41 decades: a round step, so the labels read 10^-40, 10^-30, ... not 10^-39, 10^-78
    wide = style.finish(_log_figure(1e-40, 1.0, ["a", "b"])).to_dict()["layout"]["yaxis"]
    assert wide["dtick"] == 10


def test_a_narrow_log_axis_gets_explicit_1_2_5_ticks_without_si_prefixes() -> None:
    ticks = style.log_ticks(np.log10(0.3), np.log10(4))
    assert ticks["tickvals"] == [0.5, 1.0, 2.0] and ticks["ticktext"] == ["0.5", "1", "2"]
    tiny = style.log_ticks(np.log10(2e-7), np.log10(9e-7))
    assert all("×10<sup>-7</sup>" in t for t in tiny["ticktext"])
    text = re.sub(r"<[^>]+>", "", "".join(tiny["ticktext"]))
    assert not any(p in text for p in ("µ", "n", "p", "f", "e-"))
    assert style.power_text(1e-6) == "10<sup>-6</sup>" and style.power_text(2500) == "2500"
    assert style.power_text(2.5e6) == "2.5×10<sup>6</sup>"


def test_the_legend_sits_above_the_plot_below_the_title_with_room_in_either_language() -> None:
    names = ["residual: Full pre-activation", "residual: BN after addition", "plain", "highway",
             "gated", "residual: ReLU before addition"]
    en = style.finish(_log_figure(1e-3, 1, names)).to_dict()["layout"]
    assert en["legend"]["orientation"] == "h" and en["legend"]["yref"] == "container"
    assert en["legend"]["yanchor"] == "top" and en["legend"]["y"] < 1  # under the title
    rows = style.legend_rows(names, style.NORMAL.legend)
    assert rows >= 2
    title_px = (1 - en["legend"]["y"]) * en["height"]
    assert en["margin"]["t"] >= title_px + rows * style.NORMAL.legend * 1.5  # plot starts below
    zh = ["残差网络：完全预激活", "残差网络：加法后 BN", "普通网络（无跳跃连接）", "Highway",
          "门控（类 LSTM）", "残差网络：加法前 ReLU"]
    zh_t = style.finish(_log_figure(1e-3, 1, zh)).to_dict()["layout"]["margin"]["t"]
    assert style.text_px("残差", 12) == 24 and style.text_px("ab", 10) < 12
    assert zh_t >= en["margin"]["t"] - 1  # Chinese labels are wider: never less room


def test_subplot_titles_leave_room_for_the_legend() -> None:
    fig = make_subplots(rows=1, cols=2, subplot_titles=("left", "right"))
    fig.add_scatter(x=[1, 2], y=[1, 2], name="plain", row=1, col=1)
    fig.add_scatter(x=[1, 2], y=[2, 1], name="residual", row=1, col=2)
    lay = style.finish(style.base_layout(fig, "T")).to_dict()["layout"]
    legend_bottom_px = (1 - lay["legend"]["y"]) * lay["height"] + style.NORMAL.legend * 1.75
    subtitle_px = style.NORMAL.subtitle * 1.5
    assert lay["margin"]["t"] >= legend_bottom_px + subtitle_px


def test_presenter_sizes_and_proportional_lines() -> None:
    fig = _log_figure(1e-3, 1, ["bold", "thin"])
    fig.data[1].line.width = 1
    before = fig.to_dict()
    lay = style.finish(fig, presenter=True).to_dict()
    assert fig.to_dict() == before  # the shown copy is styled, the input figure is not
    assert lay["layout"]["yaxis"]["tickfont"]["size"] >= 18
    assert lay["layout"]["title"]["font"]["size"] >= 22
    assert lay["layout"]["legend"]["font"]["size"] >= 18
    widths = [t["line"]["width"] for t in lay["data"]]
    assert widths[0] / widths[1] == pytest.approx(3.0)  # "bold vs thin" still true
    assert widths[1] > 1


def test_one_colour_per_family_and_variants_share_the_hue() -> None:
    assert style.color("residual (original)") == style.color("residual") == "#1f77b4"
    assert style.color("plain-32") == style.color("plain")
    assert len({style.color(f) for f in style.FAMILIES}) == len(style.FAMILIES)
    assert not {style.color("", i) for i in range(7)} & {style.color(f) for f in style.FAMILIES}
    shades = [style.variant("residual", i) for i in range(5)]
    assert len({v.dash for v in shades}) == 5 and shades[0].color == style.color("residual")
    r, g, b = style.rgb(shades[1].color)
    assert b > r and b > g  # still blue
    scale = style.colorscale("plain")
    assert scale[0][0] == 0 and scale[-1][0] == 1 and scale[2][1] == style.color("plain")


def test_series_labels_are_translated() -> None:
    assert style.series_label("residual (full_preact)") == "residual: Full pre-activation"
    try:
        i18n.set_language("zh")
        assert style.series_label("plain") == i18n._("plain") != "plain"
        assert "预激活" in style.series_label("residual (full_preact)")
    finally:
        i18n.set_language("en")


def test_titles_wrap_instead_of_clipping() -> None:
    long = "Training loss (mean of 10 steps): shallow plain, deep plain, deep residual, again"
    assert "<br>" in style.wrap(long, 16) and style.wrap("short", 16) == "short"
