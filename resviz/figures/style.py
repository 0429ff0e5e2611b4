"""The one chart style of the app: family colours, log ticks, legends, fonts, presenter sizes.

Figures are built anywhere in resviz.figures; `finish()` is applied once to every figure a page
shows (ui/charts.show), so a rule written here holds on every page:

- one colour per family (plain, residual, highway, gated, LSTM) on every page, landscape
  surfaces included (`colorscale(family)`), variants of one family share its hue and differ by
  shade, dash and marker (`variant()`);
- log axes carry decade ticks written 10^k and no minor-tick labels; a log axis spanning less
  than two decades gets explicit 1-2-5 ticks instead; numbers never get SI prefixes (1µ, 1n);
- the legend is horizontal, above the plot area and below the title, with room reserved for
  it (estimated with a narrow width, so it never reaches the axis titles, in English or Chinese);
- presenter mode: tick labels 18 px, titles 24 px, subplot titles 22 px, thicker lines (all in
  proportion, so "thick vs thin" stays true) and taller figures.
"""

from __future__ import annotations

import base64
import copy
import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from resviz.i18n import _

# One colour per family (the keys are the families' code names, never shown to a user).
FAMILY_COLORS = {"plain": "#d62728", "residual": "#1f77b4", "highway": "#2ca02c",
                 "gated": "#9467bd", "lstm": "#e67e00", "rnn": "#8c564b",
                 "A": "#1f77b4", "B": "#d62728"}
FAMILIES = ("plain", "residual", "highway", "gated", "lstm", "rnn")
# Colours for series that are not a family (e.g. gate biases, counted vs paper): none of them
# is a family colour, so no line can be mistaken for a family.
PALETTE = ["#4d4d4d", "#17becf", "#bcbd22", "#e377c2", "#7f7f7f", "#393b79", "#ad494a"]
DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]
SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "star", "cross"]


def family_of(name: str) -> str | None:
    """The family a series key belongs to: "residual (original)" -> "residual", "plain-32" -> "plain"."""
    head = re.split(r"[\s(:\-_/]", str(name).strip().lower(), maxsplit=1)[0]
    return head if head in FAMILIES else None


def color(name: str, i: int = 0) -> str:
    """The colour of a series: its family's, else a non-family colour picked by index."""
    if name in FAMILY_COLORS:
        return FAMILY_COLORS[name]
    fam = family_of(name)
    return FAMILY_COLORS[fam] if fam else PALETTE[i % len(PALETTE)]


def N_(text: str) -> str:
    """Mark a constant for the catalogue; translated where it is shown."""
    return text


# Display names of the residual unit orderings (He et al. 2016, Fig. 4), by code name.
ORDERING_NAMES = {"original": N_("Original (post-activation)"),
                  "bn_after_add": N_("BN after addition"),
                  "relu_before_add": N_("ReLU before addition"),
                  "relu_preact": N_("ReLU-only pre-activation"),
                  "full_preact": N_("Full pre-activation")}


def series_label(key: str) -> str:
    """The translated name of a series key: "plain" -> _("plain"), "residual (original)" ->
    "residual: Original (post-activation)" in the reader's language. Keys are code names and
    must never reach a legend as they are."""
    fam, _sep, rest = str(key).partition(" (")
    if rest:
        order = rest.rstrip(")")
        return _("{family}: {variant}").format(family=_(fam),
                                               variant=_(ORDERING_NAMES.get(order, order)))
    return _(fam)


def rgb(hex_colour: str) -> tuple[int, int, int]:
    """'#1f77b4' -> (31, 119, 180)."""
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def mix(hex_colour: str, other: str, t: float) -> str:
    """`hex_colour` moved a fraction t of the way to `other` (t = 0: unchanged)."""
    a, b = rgb(hex_colour), rgb(other)
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b))


@dataclass(frozen=True)
class Variant:
    """How the i-th variant of a family is drawn: the family hue, a shade, a dash and a marker."""

    color: str
    dash: str
    symbol: str


def variant(family: str, i: int) -> Variant:
    """Variant i of a family (e.g. the residual unit orderings): same hue, told apart by dash and
    marker first, shade second, so they stay distinguishable in print and for colour-blind eyes."""
    base = color(family)
    shades = [0.0, 0.35, -0.35, 0.55, -0.5]
    t = shades[i % len(shades)]
    c = mix(base, "#ffffff", t) if t > 0 else mix(base, "#000000", -t)
    return Variant(c, DASHES[i % len(DASHES)], SYMBOLS[i % len(SYMBOLS)])


def colorscale(family: str, reverse: bool = False) -> list[list[float | str]]:
    """A sequential colour scale in one family's hue (light = low, dark = high), for surfaces and
    heatmaps that belong to a family (e.g. the plain and residual loss landscapes)."""
    base = color(family)
    stops = [[0.0, mix(base, "#ffffff", 0.92)], [0.35, mix(base, "#ffffff", 0.55)],
             [0.7, base], [1.0, mix(base, "#000000", 0.55)]]
    if reverse:
        stops = [[1.0 - p, c] for p, c in reversed(stops)]
    return stops


def base_layout(fig: go.Figure, title: str, height: int = 360, **kw: object) -> go.Figure:
    """Title, height and template; legend and margins are set by `finish` when the figure is shown."""
    layout = dict(title=dict(text=title), height=height, template="plotly_white")
    fig.update_layout(**{**layout, **kw})
    return fig


def layout_of(build: Callable[..., go.Figure], *key: object) -> dict:
    """The layout of `build(*key)` as a plain dict: built and validated by plotly once per key,
    then a fresh copy on every call (the shared template is not copied: nothing edits it).

    Figures that are redrawn live (the Playground's, twice a second) take their layout from here
    and write their traces as plain dicts, so a redraw costs no plotly validation (about 25 ms
    a chart). `key` must hold everything the layout depends on, translated strings included.
    """
    lay = _layout_once(build, key)
    return {k: v if k == "template" else _copy(v) for k, v in lay.items()}


def _copy(v: object) -> object:
    """A deep copy of plain JSON-like data (dicts, lists, scalars): 3x faster than deepcopy."""
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_copy(x) for x in v]
    return v


@functools.lru_cache(maxsize=256)
def _layout_once(build: Callable[..., go.Figure], key: tuple) -> dict:
    return build(*key).to_dict()["layout"]


def power_text(value: float) -> str:
    """A tick label: plain digits between 0.001 and 10,000, else m×10^k (HTML for plotly)."""
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:g}"
    k = int(math.floor(math.log10(abs(value)) + 1e-9))
    m = value / 10 ** k
    if abs(m - round(m)) < 1e-6 and round(m) == 1:
        return f"10<sup>{k}</sup>"
    return f"{m:g}×10<sup>{k}</sup>"


def log10_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Colour-bar ticks for log10-valued heatmaps (plotly has no log colour scale): 10^k."""
    exps = list(range(int(np.floor(lo)), int(np.ceil(hi)) + 1))
    step = max(1, math.ceil(len(exps) / 8))
    exps = exps[::step]
    return [float(e) for e in exps], [f"10<sup>{e}</sup>" for e in exps]


def safe_log10(values: np.ndarray, floor: float = 1e-12) -> np.ndarray:
    return np.log10(np.maximum(np.asarray(values, dtype=float), floor))


# --- finishing a figure ------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """Font sizes (px) and the line/marker/height factors of one display mode."""

    base: int
    tick: int
    axis_title: int
    title: int
    subtitle: int
    legend: int
    line: float
    marker: float
    height: float


NORMAL = Sizes(base=13, tick=12, axis_title=14, title=16, subtitle=14, legend=12, line=1.0,
               marker=1.0, height=1.0)
PRESENTER = Sizes(base=18, tick=18, axis_title=20, title=24, subtitle=22, legend=18, line=1.8,
                  marker=1.4, height=1.3)
NARROW_PX = 460  # legends and titles are laid out as if the chart were this wide (a column at 1024)


def text_px(text: str, size: float) -> float:
    """Rough rendered width of a label: CJK characters are square, Latin ones about half as wide."""
    plain = re.sub(r"<[^>]+>", "", str(text))
    return sum(size if "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" else 0.56 * size
               for ch in plain)


def legend_rows(names: Sequence[str], size: float, width: float = NARROW_PX) -> int:
    """Rows a horizontal legend needs at `width` px (entries are packed left to right)."""
    rows, used = 1, 0.0
    for n in names:
        w = 40 + text_px(n, size)
        if used and used + w > width:
            rows, used = rows + 1, 0.0
        used += w
    return rows if names else 0


def wrap(text: str, size: float, width: float = NARROW_PX * 1.25) -> str:
    """Break a long title into lines (plotly never wraps a title; it clips it)."""
    if not text or "<br>" in text or text_px(text, size) <= width:
        return text
    words = re.split(r"(?<=[\s，、：；])", text) if " " in text or "，" in text else list(text)
    lines, cur = [], ""
    for w in words:
        if cur and text_px(cur + w, size) > width:
            lines.append(cur.rstrip())
            cur = w.lstrip()
        else:
            cur += w
    lines.append(cur)
    return "<br>".join(lines)


def _array(v: object) -> np.ndarray:
    """Values of a figure-dict field as floats (plotly's to_dict writes arrays as base64)."""
    if isinstance(v, dict) and "bdata" in v:
        arr = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return arr.astype(float).ravel()
    if v is None or isinstance(v, str):
        return np.zeros(0)
    try:
        flat = np.asarray(v, dtype=object).ravel()
        return np.asarray([x for x in flat if isinstance(x, (int, float, np.number))], dtype=float)
    except (TypeError, ValueError):
        return np.zeros(0)


def _attr(trace: dict, letter: str) -> str:
    """Which field of a trace holds its values on axis `letter` (bars may be horizontal)."""
    return letter if trace.get("orientation") != "h" else {"x": "y", "y": "x"}[letter]


def _positive(trace: dict, letter: str) -> np.ndarray:
    """The positive finite values a trace puts on its x or y axis."""
    arr = _array(trace.get(_attr(trace, letter)))
    return arr[np.isfinite(arr) & (arr > 0)]


def _ref(name: str) -> str:
    """'yaxis2' -> 'y2', 'xaxis' -> 'x'."""
    return name[0] + name[5:]


def log_ticks(lo: float, hi: float) -> dict:
    """Tick settings for a log axis showing [10^lo, 10^hi]: decades as 10^k when at least two
    decades are in view (every k-th decade beyond eight), else explicit 1-2-5 ticks."""
    first, last = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
    decades = last - first + 1
    if decades >= 2:
        step = next(n for n in (1, 2, 3, 5, 10, 20, 25, 50, 100, 200, 500, 1000)
                    if n >= decades / 8 or n == 1000)
        return dict(tickmode="linear", tick0=0, dtick=step, exponentformat="power",
                    showexponent="all")
    span = range(math.floor(lo) - 1, math.ceil(hi) + 1)
    inside = [v for v in (m * 10.0 ** k for k in span for m in (1, 2, 5))
              if lo - 1e-9 <= math.log10(v) <= hi + 1e-9]
    if len(inside) < 3:
        inside = [v for v in (m * 10.0 ** k for k in span for m in range(1, 10))
                  if lo - 1e-9 <= math.log10(v) <= hi + 1e-9]
        if len(inside) > 6:
            inside = inside[:: math.ceil(len(inside) / 6)]
    return dict(tickmode="array", tickvals=inside, ticktext=[power_text(v) for v in inside])


def _axis_names(spec: dict) -> list[str]:
    names = {k for k in spec["layout"] if re.fullmatch(r"[xy]axis\d*", k)}
    for t in spec["data"]:
        if t.get("type", "scatter") in CARTESIAN:
            names.add("xaxis" + (t.get("xaxis") or "x")[1:])
            names.add("yaxis" + (t.get("yaxis") or "y")[1:])
    return sorted(names)


CARTESIAN = {"scatter", "scattergl", "bar", "heatmap", "contour", "histogram", "box", "violin"}


def _style_axis(spec: dict, name: str, s: Sizes) -> None:
    ax = spec["layout"].setdefault(name, {})
    ax["tickfont"] = {**ax.get("tickfont", {}), "size": s.tick}
    title = ax.get("title")
    if isinstance(title, str):
        title = {"text": title}
    ax["title"] = {**(title or {}), "font": {**(title or {}).get("font", {}), "size": s.axis_title}}
    ax["automargin"] = True
    ref = _ref(name)
    mine = [t for t in spec["data"] if (t.get(name[0] + "axis") or name[0]) == ref]
    if ax.get("type") != "log":
        # plain digits for moderate numbers (-1000, not -1×10^3), powers of ten beyond
        vals = [np.abs(_array(t.get(_attr(t, name[0])))) for t in mine]
        vals = np.concatenate(vals) if vals else np.zeros(0)
        vals = vals[np.isfinite(vals) & (vals > 0)]
        big = len(vals) and (vals.max() >= 1e5 or vals.max() < 1e-3)
        ax.setdefault("exponentformat", "power" if big else "none")
        return
    if ax.get("tickmode") == "array" or ax.get("tickvals") is not None:
        return  # the figure chose its own ticks
    rng = ax.get("range")
    if rng is not None and None not in rng:
        lo, hi = sorted((float(rng[0]), float(rng[1])))
    else:
        vals = [_positive(t, name[0]) for t in mine]
        vals = np.concatenate(vals) if vals else np.zeros(0)
        if not len(vals):
            ax.update(exponentformat="power", showexponent="all", dtick=1)
            return
        lo, hi = float(np.log10(vals.min())), float(np.log10(vals.max()))
    for k in ("dtick", "tick0", "tickformat"):
        ax.pop(k, None)
    ax.update(minor={"ticks": "", "showgrid": False}, **log_ticks(lo, hi))


def _is_subplot_title(a: dict) -> bool:
    return (a.get("yref") == "paper" and a.get("yanchor") == "bottom"
            and not a.get("showarrow", True) and (a.get("y") or 0) >= 0.9)


def _legend_names(spec: dict) -> list[str]:
    lay = spec["layout"]
    if lay.get("showlegend") is False:
        return []
    names = [str(t.get("name") or "") for t in spec["data"]
             if t.get("showlegend") is not False
             and t.get("type", "scatter") not in ("heatmap", "contour", "surface")]
    if len(names) <= 1 and lay.get("showlegend") is not True:
        return []
    return names


def finish_dict(spec: dict, presenter: bool = False) -> dict:
    """Apply the app's chart style to a figure dict (`go.Figure.to_dict()`), in place; fast
    (plain dicts, no plotly validation), so live charts can be styled on every redraw."""
    s = PRESENTER if presenter else NORMAL
    lay = spec.setdefault("layout", {})
    height = int((lay.get("height") or 360) * s.height)
    title = lay.get("title") or {}
    title = {"text": title} if isinstance(title, str) else title
    text = wrap(str(title.get("text") or ""), s.title)
    lines = text.count("<br>") + 1 if text else 0
    title_px = 12 + lines * s.title * 1.3 if text else 6
    names_ax = _axis_names(spec)
    for name in names_ax:
        _style_axis(spec, name, s)
    subtitles = 0
    for a in lay.get("annotations", []):
        font = a.setdefault("font", {})
        if _is_subplot_title(a):
            subtitles += 1
            font["size"] = s.subtitle
        else:
            font["size"] = max(s.base, font.get("size") or 0)
    sub_px = s.subtitle * 1.5 if subtitles else 0
    names = _legend_names(spec)
    rows = legend_rows(names, s.legend)
    legend_px = rows * s.legend * 1.75 + (6 if rows else 0)
    right_axis = any(lay[n].get("side") == "right" for n in names_ax if n.startswith("yaxis"))
    m = lay.get("margin", {})
    lay.update(
        height=height, font={**lay.get("font", {}), "size": s.base}, showlegend=bool(names),
        legend={"orientation": "h", "xref": "paper", "x": 0, "xanchor": "left",
                "yref": "container", "y": 1 - title_px / height, "yanchor": "top",
                "font": {"size": s.legend}, "bgcolor": "rgba(255,255,255,0)"},
        title={**title, "text": text, "x": 0.01, "xref": "container", "xanchor": "left", "y": 1,
               "yref": "container", "yanchor": "top", "pad": {"t": 8},
               "font": {**title.get("font", {}), "size": s.title}},
        margin={"t": int(title_px + legend_px + sub_px + 8),
                "l": m.get("l", 60 if presenter else 50),
                "r": m.get("r", 70 if right_axis else 20),
                "b": m.get("b", 60 if presenter else 45)},
        hoverlabel={"font": {"size": s.base}})
    if s.line != 1.0 or s.marker != 1.0:
        _thicken(spec, s)
    return spec


def _thicken(spec: dict, s: Sizes) -> None:
    """Scale every line and marker by the same factor, so relative widths keep their meaning."""
    for t in spec["data"]:
        if t.get("type", "scatter") not in ("scatter", "scattergl"):
            continue
        line = t.setdefault("line", {})
        w = line.get("width", 2)
        if w > 0:
            line["width"] = w * s.line
        marker = t.setdefault("marker", {})
        size = marker.get("size")
        if isinstance(size, (int, float)):
            marker["size"] = size * s.marker
        elif isinstance(size, list):
            marker["size"] = [v * s.marker for v in size]
        elif size is None and "markers" in (t.get("mode") or ""):
            marker["size"] = 6 * s.marker
    for shape in spec["layout"].get("shapes", []):
        line = shape.setdefault("line", {})
        line["width"] = (line.get("width") or 2) * s.line


def finish(fig: go.Figure, presenter: bool = False) -> go.Figure:
    """`fig` in the app's style, as a new figure (the input is not changed)."""
    return go.Figure(finish_dict(copy.deepcopy(fig.to_dict()), presenter))
