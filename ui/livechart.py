"""A Plotly chart that updates in place: the live pages' charts while a run trains.

Streamlit 1.67 mounts a Plotly chart afresh whenever its figure changes (a new `Plotly.newPlot`
in the browser, about 0.1 s of a browser's CPU each, measured). A live page changes its
boundaries and curves every second, so a classroom of tabs on one machine spent as much CPU
drawing as the engine spent training. This chart is a Streamlit component (components v2:
no iframe) that keeps one plot per key and hands each new figure to `Plotly.react`, which
redraws only what changed; a figure that differs only in its one picture (a training
boundary) just gets the new picture.

plotly.js is the page's own when a Streamlit Plotly chart already loaded one (its bundle sets
`window.Plotly`), else the copy inside the `plotly` Python package, served by this Streamlit
server: nothing is downloaded from outside. The look follows the app's theme (fonts and colours are read from
the page), so a chart does not change when the run pauses and the page draws it again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import plotly
import streamlit as st
from plotly.io.json import to_json_plotly
from streamlit.components import v1 as components_v1

_PLOTLY_DIR = Path(plotly.__file__).parent / "package_data"  # holds plotly.min.js

# Loads plotly.js once per page unless the page has one (a <script> tag: the bundle sets
# window.Plotly), then keeps one plot div per mounted chart and updates it with Plotly.react.
_JS = """
function loadPlotly(src) {
  if (!window.__rvPlotly) {
    window.__rvPlotly = new Promise((resolve, reject) => {
      if (window.Plotly) { resolve(window.Plotly); return; }
      const s = document.createElement("script");
      s.src = src;
      s.onload = () => resolve(window.Plotly);
      s.onerror = () => { window.__rvPlotly = null; reject(new Error("plotly.js")); };
      document.head.appendChild(s);
    });
  }
  return window.__rvPlotly;
}

function themed(layout) {
  // The app's font and text colour, as Streamlit draws its own charts.
  const css = getComputedStyle(document.body);
  const font = Object.assign({family: css.fontFamily, color: css.color}, layout.font || {});
  return Object.assign({paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)"},
                       layout, {font: font});
}

// A training boundary changes only its picture (one layout image, a PNG data URL): put the new
// picture in place as Plotly itself would (the <image>'s xlink:href and the node's _imgSrc,
// and the source in the plot's layouts, so a later Plotly.react sees it as drawn) instead of a
// whole Plotly.react (about 7 ms of a tab's CPU per boundary and redraw: measured, 6 % of a
// training Playground tab's renderer time).
const PNG = /"data:image[^"]*"/g;  // as JSON writes it ("/" may be written as \\u002f)
function swapPicture(div, figure, fig) {
  const images = fig.layout.images || [];
  const nodes = div.querySelectorAll(".imagelayer image");
  if (!div.__rvDrawn || !div._fullLayout || images.length !== 1 || nodes.length !== 1 ||
      div.__rvDrawn.replace(PNG, "") !== figure.replace(PNG, "")) return false;
  const src = images[0].source;
  nodes[0].setAttributeNS("http://www.w3.org/1999/xlink", "xlink:href", src);
  nodes[0]._imgSrc = src;
  div.layout.images[0].source = src;
  div._fullLayout.images[0].source = src;
  return true;
}

// A figure whose axes all have fixed ranges and that differs from the drawn one only in its
// traces' x and y (a training run's curves or gradient bars in a fixed frame:
// resviz.figures.training's curves_spec with `steps`, grad_bars_spec with `y_range`) moves
// just its lines or bars: Plotly.animate without a redraw leaves the axes, titles and margins
// as drawn. A Plotly.react of the Playground's curves cost a tab about 75-95 ms of CPU per
// update, and of its gradient bars about 80 ms (Chromium profiles), mostly in laying out
// axes that had not changed.
function frameOf(fig) {
  const axes = Object.keys(fig.layout).filter((k) => /^[xy]axis[0-9]*$/.test(k));
  if (!axes.length || !axes.every((k) => Array.isArray(fig.layout[k].range))) return null;
  if (!fig.data.every((t) => ["scatter", "bar"].includes(t.type || "scatter"))) return null;
  return JSON.stringify([fig.layout, fig.data.map((t) => Object.assign({}, t, {x: 0, y: 0}))]);
}

function moveLines(div, fig, frame, Plotly) {
  if (frame === null || !div._fullLayout || div.__rvFrame !== frame) return false;
  if (!div.matches(":hover") && setPaths(div, fig)) {
    div.__rvStale = fig;  // its hover numbers are the last animated ones: see `fresh`
    return "paths";
  }
  animate(div, fig, Plotly);
  return "moves";
}

function animate(div, fig, Plotly) {
  div.__rvStale = null;
  Plotly.animate(div, {data: fig.data.map((t) => ({x: t.x, y: t.y})),
                       traces: fig.data.map((_, i) => i)},
                 {transition: {duration: 0}, frame: {duration: 0, redraw: false}});
}

// Even Plotly.animate re-runs Plotly's defaults, calcdata and axes for the whole figure:
// about 20 ms of a tab's CPU per chart update, most of a training tab's cost (Chromium
// profile), which on a machine shared by a class is training time lost. In a fixed frame
// (see frameOf) a line is just its points on two fixed axes, and a bar just a new top: set
// the SVG paths Plotly drew (one path per line trace, its markers by their transforms; one
// per bar, whose sides and base stay) to the new values directly, as Plotly draws them.
// Anything else (fills, a bar or a line Plotly did not draw, a value a log axis cannot
// show) returns false: Plotly.animate.
// The hover numbers (Plotly's calcdata) catch up when the pointer comes over the chart.
function pixel(ax, v, flip) {  // Plotly's l2p on a fixed linear or log range; null if none
  if (v === null || v === undefined || !Array.isArray(ax.range) || !(ax._length > 0)) return null;
  let l = Number(v);
  if (ax.type === "log") l = l > 0 ? Math.log10(l) : NaN;
  else if (ax.type !== "linear") return null;
  const [r0, r1] = ax.range;
  if (!isFinite(l) || r1 === r0) return null;
  const p = ((l - r0) / (r1 - r0)) * ax._length;
  return flip ? ax._length - p : p;
}

function axesOf(div, t) {
  const L = div._fullLayout;
  return [L["xaxis" + (t.xaxis || "x").slice(1)], L["yaxis" + (t.yaxis || "y").slice(1)]];
}

function linePath(xa, ya, xs, ys) {
  // "M x,y L x,y ...": a missing or unshowable point breaks the line, as Plotly's gaps do
  let d = "", pen = false;
  for (let i = 0; i < xs.length; i++) {
    const x = pixel(xa, xs[i], false), y = pixel(ya, ys[i], true);
    if (x === null || y === null) { pen = false; continue; }
    d += (pen ? "L" : "M") + x.toFixed(2) + "," + y.toFixed(2);
    pen = true;
  }
  return d;
}

const BAR = /^M([-\\d.e]+),([-\\d.e]+)V([-\\d.e]+)H([-\\d.e]+)V([-\\d.e]+)Z$/;

function markers(g, xa, ya, t, writes) {
  // A line's markers (a sparse curve, ui's `_mode`): each is a path.point that Plotly places
  // by transform="translate(x,y)"; a new point gets a copy of the last marker's node.
  const nodes = [...g.querySelectorAll(".points path.point")];
  const at = [];
  for (let i = 0; i < t.x.length; i++) {
    const x = pixel(xa, t.x[i], false), y = pixel(ya, t.y[i], true);
    if (x === null || y === null) return false;
    at.push(`translate(${x.toFixed(2)},${y.toFixed(2)})`);
  }
  if (!nodes.length || nodes.length > at.length) return false;
  const last = nodes[nodes.length - 1];
  while (nodes.length < at.length) {
    const copy = last.cloneNode(true);
    writes.push([null, () => last.parentNode.appendChild(copy)]);
    nodes.push(copy);
  }
  nodes.forEach((n, i) => writes.push([n, at[i], "transform"]));
  return true;
}

function setPaths(div, fig) {
  const writes = [];
  const groups = div.querySelectorAll(".scatterlayer .trace, .barlayer .trace");
  if (groups.length !== fig.data.length) return false;
  for (const g of groups) {
    const cd = g.__data__, i = cd && cd[0] && cd[0].trace ? cd[0].trace.index : -1;
    const t = fig.data[i];
    if (!t || !Array.isArray(t.x) || !Array.isArray(t.y) || t.x.length !== t.y.length) return false;
    const [xa, ya] = axesOf(div, t);
    if (!xa || !ya) return false;
    if ((t.type || "scatter") === "scatter") {
      const line = g.querySelectorAll("path.js-line");
      if (!["lines", "lines+markers"].includes(t.mode) || (t.fill && t.fill !== "none") ||
          line.length !== 1 || g.querySelector("path.js-fill")) return false;
      const d = linePath(xa, ya, t.x, t.y);
      if (!d) return false;
      writes.push([line[0], d]);
      if (t.mode === "lines+markers" && !markers(g, xa, ya, t, writes)) return false;
    } else {
      const bars = g.querySelectorAll(".point path");
      if (bars.length !== t.y.length) return false;
      for (let k = 0; k < bars.length; k++) {
        const m = BAR.exec(bars[k].getAttribute("d") || "");
        const top = pixel(ya, t.y[k], true);
        if (!m || top === null) return false;
        writes.push([bars[k], `M${m[1]},${m[2]}V${top.toFixed(2)}H${m[4]}V${m[5]}Z`]);
      }
    }
  }
  for (const [node, v, attr] of writes) {
    if (node === null) v();  // a new marker's node
    else node.setAttribute(attr || "d", v);
  }
  fig.data.forEach((t, i) => { div.data[i].x = t.x; div.data[i].y = t.y; });
  return true;
}

function fresh(div) {
  // The pointer came over a chart moved by setPaths: bring Plotly's hover numbers up to date
  const fig = div.__rvStale;
  if (fig && div._fullLayout && window.Plotly) animate(div, fig, window.Plotly);
}

function drawn(div, figure, how) {
  div.__rvDrawn = figure;
  div.dataset.draws = String(Number(div.dataset.draws) + 1);
  div.dataset[how] = String(Number(div.dataset[how] || 0) + 1);
}

function render(div, figure, data) {
  // Draw `figure` (JSON) in `div`: the new picture only if that is all that changed, else
  // Plotly.react. The page's own rerun and the live feed (ui.feed) both draw through here.
  if (div.__rvFigure === figure) return;  // the same figure again (a page rerun)
  div.__rvFigure = figure;
  const fig = JSON.parse(figure);
  if (swapPicture(div, figure, fig)) { drawn(div, figure, "swaps"); return; }
  div.style.height = (fig.layout.height || 360) + "px";
  loadPlotly(new URL(data.src, document.baseURI).href).then((Plotly) => {
    if (div.__rvFigure !== figure) return;  // a newer figure came while plotly.js loaded
    const frame = frameOf(fig);  // before Plotly.react, which adds to the objects it is given
    const how = moveLines(div, fig, frame, Plotly);
    if (how) { drawn(div, figure, how); return; }
    div.__rvStale = null;
    Plotly.react(div, fig.data, themed(fig.layout), data.config);
    div.__rvFrame = frame;
    drawn(div, figure, "reacts");
  }).catch(() => { div.textContent = "This chart could not be drawn (plotly.js did not load)."; });
}

export default function (component) {
  const { data, parentElement } = component;
  let div = parentElement.querySelector("div.rv-livechart");
  if (!div) {
    div = document.createElement("div");
    div.className = "rv-livechart";
    div.style.width = "100%";
    div.dataset.draws = "0";
    div.addEventListener("mouseenter", () => fresh(div));
    parentElement.appendChild(div);
  }
  const charts = window.__rvCharts || (window.__rvCharts = {});
  charts[data.key] = (figure) => render(div, figure, data);  // for the live feed
  render(div, data.figure, data);
}
"""

NAME = "resviz_livechart"
_COMPONENT = st.components.v2.component(NAME, js=_JS, isolate_styles=False)


def _plotly_url() -> str:
    """The server path of plotly.min.js: the `plotly` package's own folder, registered as a
    component path so Streamlit serves its files (with their JavaScript content type)."""
    files = components_v1.declare_component("plotlyjs", path=str(_PLOTLY_DIR))
    return f"component/{files.name}/plotly.min.js"


def show(fig: dict, key: str, config: dict[str, Any]) -> None:
    """Draw the styled figure dict `fig` under `key`; later calls with the same key update the
    same plot in place (the browser skips a figure identical to the one it drew last)."""
    height = int((fig.get("layout") or {}).get("height") or 360)
    _COMPONENT(key=key, data={"figure": figure_json(fig), "src": _plotly_url(), "key": key,
                              "config": {**config, "responsive": True}},
               height=height)


def figure_json(fig: Any) -> str:
    """The JSON a live chart is handed for the styled figure `fig` (dict or go.Figure)."""
    return to_json_plotly(fig if isinstance(fig, dict) else fig.to_dict())


def figure_of(data_json: str) -> dict:
    """The figure dict a live chart element carries (its component data, as JSON): for tests."""
    return json.loads(json.loads(data_json)["figure"])
