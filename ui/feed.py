"""Live updates without reruns: a training page's numbers and charts, polled by the tab.

A timed fragment rerun (ui.live) costs a browser about 0.3 s of CPU: Streamlit re-renders
the whole live part and the app around it. With every browser of a classroom on the same
two cores as the server (benchmarks/load.py), the tabs took as much CPU as the training.
So while a run trains, a page served by `make app` (ui.serve installs the route) does not
rerun: a small component in the page polls `/_rv/feed/<token>` and writes the new numbers
into the page's own texts and live charts (ui.livechart) in place. The server builds them
with the same code the page draws with (the page's scene), so the two cannot disagree.

When the run stops (paused, finished, lost), a model diverges or a switch changes, the
feed says `redraw` and the component reruns the fragment: Streamlit then draws the page's
final state itself.

While a split page's run is ready or paused (ui.live `_arm`), the component does not poll:
it takes the click on the page's Start button itself, starts the run through the route
(a POST with `?cmd=start`, once per token), writes the first step's status line into the page and only
then reruns the fragment, so the class sees the run move before Streamlit redraws anything.

Under a plain `streamlit run app.py` (no route) the page falls back to timed fragment reruns
and its Start button's own callback.

The endpoint answers only tokens the server handed out (unguessable, one per live run of a
session) and holds no reference a closed run needs: tokens of closed runs are dropped.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import streamlit as st

PATH = "_rv/feed"
MAX_FEEDS = 512  # tokens kept; the oldest is dropped first (a closed tab's run)

Producer = Callable[[int], dict]  # version the tab has -> {"v": newest, "texts", "charts", "redraw"}
Starter = Callable[[], dict]  # Start the run; -> what the tab writes at once (texts, redraw)

_FEEDS: OrderedDict[str, Producer] = OrderedDict()
_STARTERS: dict[str, Starter] = {}
_LOCK = threading.Lock()
_INSTALLED = False


def available() -> bool:
    """True when this server answers the feed route (it was started through ui.serve)."""
    return _INSTALLED


def install() -> None:
    """Add the feed route to the Streamlit server this process is about to start (ui.serve).

    Streamlit 1.67 serves through Starlette; its app takes its routes from
    `create_streamlit_routes`, which we wrap to put ours first (before the static catch-all).
    """
    global _INSTALLED
    from streamlit import config
    from streamlit.web.server.starlette import starlette_app

    original = starlette_app.create_streamlit_routes
    if getattr(original, "resviz_feed", False):
        _INSTALLED = True
        return

    def routes(runtime: Any) -> list:
        from starlette.routing import Route

        base = (config.get_option("server.baseUrlPath") or "").strip("/")
        path = "/" + "/".join(p for p in (base, PATH, "{token}") if p)
        return [Route(path, _endpoint, methods=["GET", "POST"]), *original(runtime)]

    routes.resviz_feed = True  # type: ignore[attr-defined]
    starlette_app.create_streamlit_routes = routes
    _INSTALLED = True


def register(producer: Producer, token: str | None = None, start: Starter | None = None) -> str:
    """Serve `producer` under `token` (a new unguessable one if None); returns the token.
    `start`: what a click on the page's Start button does through the feed (see `mount`)."""
    token = token or secrets.token_urlsafe(16)
    with _LOCK:
        _FEEDS[token] = producer
        _FEEDS.move_to_end(token)
        _STARTERS.pop(token, None)
        if start is not None:
            _STARTERS[token] = start
        while len(_FEEDS) > MAX_FEEDS:
            _STARTERS.pop(_FEEDS.popitem(last=False)[0], None)
    return token


def drop(token: str | None) -> None:
    """Stop serving `token` (its run was closed or replaced)."""
    if token:
        with _LOCK:
            _FEEDS.pop(token, None)
            _STARTERS.pop(token, None)


def answer(token: str, since: int, cmd: str | None = None) -> dict | None:
    """The producer's answer for `token` (None if the token is unknown): what the route
    sends, as a dict (tests call this directly). `cmd="start"` starts the run first, once
    (None, so the tab lets its click through to Streamlit, if the token has no Start)."""
    with _LOCK:
        producer = _FEEDS.get(token)
        starter = _STARTERS.pop(token, None) if cmd == "start" else None
    if producer is None or (cmd is not None and starter is None):
        return None
    try:
        out = starter() if starter is not None else producer(since)
    except Exception:  # noqa: BLE001 - a feed never errors to the tab: the page redraws itself
        return {"v": since, "redraw": True}
    if out.pop("gone", False):  # the producer's run is gone: forget its token
        drop(token)
    return out


async def _endpoint(request: Any) -> Any:
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response

    headers = {"Cache-Control": "no-store"}
    try:
        since = int(request.query_params.get("v", "-1"))
    except ValueError:
        since = -1
    cmd = request.query_params.get("cmd")
    if request.method == "POST":  # a command changes the run: never on a GET (a prefetch)
        cmd = cmd if cmd == "start" else "unknown"  # unknown: answered like an unknown token
    elif cmd is not None:
        cmd = "unknown"
    # the producer builds figures (a few ms) and a Start waits for the first step: off the
    # event loop, which serves every tab
    out = await run_in_threadpool(answer, request.path_params["token"], since, cmd)
    if out is None:
        return Response('{"gone": true}', status_code=404, media_type="application/json",
                        headers=headers)
    return Response(json.dumps(out, separators=(",", ":")), media_type="application/json",
                    headers=headers)


_BOLD = re.compile(r"\*\*(.+?)\*\*")


def text_pieces(markdown: str) -> list[str]:
    """The text nodes Streamlit's markdown makes of a one-line `markdown` that uses only
    **bold**: 'a **b** c' -> ['a ', 'b', ' c']. The tab writes these into the drawn nodes."""
    out, at = [], 0
    for m in _BOLD.finditer(markdown):
        out += [markdown[at:m.start()], m.group(1)]
        at = m.end()
    out.append(markdown[at:])
    return [p for p in out if p]


# The tab's side. One poller per slot (a page's live part); a new mount restarts it. Texts
# are written into the text nodes of `.st-key-<key>` markdown (or a metric's value), node by
# node (React keeps those nodes, and sets them again on its next render); charts go to ui.livechart's
# window.__rvCharts[key]. Any surprise (a node count that differs, the token gone, `redraw`)
# ends the poller and reruns the fragment, so Streamlit draws the page itself.
_JS = """
const FEEDS = window.__rvFeeds || (window.__rvFeeds = {});

function setTexts(key, pieces) {
  // a metric's value (its label is markdown too), else the container's markdown
  const el = document.querySelector(`.st-key-${key} [data-testid=stMetricValue]`) ||
             document.querySelector(`.st-key-${key} [data-testid=stMarkdownContainer]`);
  if (!el) return false;
  const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const nodes = [];
  for (let n = walk.nextNode(); n; n = walk.nextNode()) nodes.push(n);
  if (nodes.length < pieces.length) return false;
  // fewer pieces than nodes: the rest are emptied (a run's last line, "Finished", in the
  // place of "step 600 of 600 · ... · **training**")
  nodes.forEach((n, i) => { const v = pieces[i] || ""; if (n.nodeValue !== v) n.nodeValue = v; });
  return true;
}

function apply(msg) {
  // the new texts and charts of a poll; false when a text no longer fits the page's nodes
  let ok = true;
  for (const [k, p] of Object.entries(msg.texts || {})) ok = setTexts(k, p) && ok;
  for (const [k, f] of Object.entries(msg.charts || {})) {
    const draw = window.__rvCharts && window.__rvCharts[k];
    if (draw) draw(f);
  }
  return ok;
}

export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  const old = FEEDS[data.slot];
  if (old) { old.alive = false; old.disarm(); }
  if (!data.token) return;
  const feed = FEEDS[data.slot] = {alive: true, v: data.v, polls: 0, armed: !!data.start,
                                   disarm: () => {}};
  const url = feed.url = new URL(data.url, document.baseURI).href;
  const redraw = () => { feed.alive = false; setTriggerValue("redraw", Date.now()); };
  if (data.start) {
    // Armed (a run that is ready or paused): a click on its Start button (or Space, which
    // clicks it) starts the run through the feed, and the step it answers with is written
    // into the page at once; the fragment then reruns to show Pause. A Streamlit rerun
    // first cost a tab 0.3-0.4 s of CPU before the run was seen to move: a class pressing
    // Start together waited seconds for it (benchmarks/load.py).
    let busy = false;
    const onClick = (e) => {
      const button = e.target instanceof Element && e.target.closest(data.start);
      if (!button || !feed.alive || !parentElement.isConnected) return;
      e.preventDefault();
      e.stopImmediatePropagation();  // Streamlit's own handler would rerun the page
      if (busy) return;
      busy = true;
      fetch(`${url}?v=${feed.v}&cmd=start`, {method: "POST", cache: "no-store"})
        .then((r) => (r.ok ? r.json() : null)).catch(() => null)
        .then((msg) => {
          if (!feed.alive) return;
          if (!msg) { feed.disarm(); button.click(); return; }  // let Streamlit start it
          feed.v = msg.v;
          apply(msg);
          redraw();
        });
    };
    document.addEventListener("click", onClick, true);
    feed.disarm = () => document.removeEventListener("click", onClick, true);
    return () => { feed.alive = false; feed.disarm(); };
  }
  async function tick() {
    if (feed.alive && !parentElement.isConnected) feed.alive = false;  // the page dropped it
    if (!feed.alive) return;
    let msg = null;
    try {
      const r = await fetch(`${url}?v=${feed.v}`, {cache: "no-store"});
      if (r.status === 404) { if (feed.alive) redraw(); return; }
      msg = await r.json();
    } catch (e) {
      if (feed.alive) setTimeout(tick, 1000 * data.every);  // the server is busy: try again
      return;
    }
    if (!feed.alive) return;
    feed.polls += 1;
    feed.v = msg.v;
    const ok = apply(msg);
    if (msg.redraw || !ok) { redraw(); return; }
    // the run's last step is due sooner than the next poll: ask just after it, so the class
    // sees it finish when it does, not up to a poll period later
    const left = typeof msg.eta === "number" ? msg.eta + 0.05 : data.every;
    setTimeout(tick, 1000 * Math.max(0.1, Math.min(data.every, left)));
  }
  setTimeout(tick, 1000 * data.first);
  return () => { feed.alive = false; };
}
"""

_COMPONENT = st.components.v2.component("resviz_feed", js=_JS, isolate_styles=False)


def mount(slot: str, token: str | None, version: int, every: float, first: float,
          on_redraw: Callable[[], None] | None = None, start: str | None = None) -> Any:
    """The tab's poller for `token` (none when token is None), polling every `every` s after a
    first wait of `first` s; a redraw it asks for reruns the fragment it sits in.

    With `start` (a CSS selector of the page's Start button; `token` registered with a
    starter) it does not poll: it waits for a click on that button, starts the run through
    the feed, writes the texts it answers with and reruns the fragment."""
    return _COMPONENT(key=f"{slot}_feed", data={"slot": slot, "token": token, "v": version,
                                                "url": f"{PATH}/{token}", "every": every,
                                                "first": first, "start": start},
                      on_redraw_change=on_redraw or (lambda: None), height=0)
