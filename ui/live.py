"""Live training on a page, through the run engine (resviz.engine): written once, used by
every page that trains (Playground, Highway, LSTM).

The page keeps a `Live` (engine handle + its original config) in st.session_state under
its own key. Training runs outside the page's script, continuously; the page only sends
commands (Start, Pause, Step 1/10, Reset, Continue, Restart) and draws the newest
Snapshot in a fragment that reruns every PACE seconds *only while the run is running*.
A page that describes its live part as a scene (texts and live charts, built without
Streamlit) is updated in place by the tab instead, through ui.feed, with no rerun while it
trains. When the run stops (paused, finished, lost), the fragment reruns the whole page
once, so every section below it and the buttons show the final state.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from resviz.engine import RunConfig, Snapshot, executor
from resviz.i18n import _, language, set_language
from ui import charts, feed, keys, layout, livechart

__all__ = ["RunConfig", "Snapshot", "Live", "get", "controls", "status", "fragment"]

PACE = 1.0  # seconds between redraws while running, with a core per training run: each costs
# a browser about 0.1 s of CPU (Streamlit re-renders the live part; measured), and the charts
# change at most once a second anyway
MAX_PACE = 3.0  # the slowest pace on a crowded server
FIRST_WAIT = 3.0  # seconds the page waits for a new run's first snapshot before drawing
KEEPALIVE = 20.0  # a paused page still polls: the engine closes runs nobody polls for 60 s
SPLIT_REDRAW = 60.0  # a split page's drawing (see `fragment`) redraws itself this often: its
# head polls the run and the feed moves the charts, so this only refreshes what the scene
# leaves out (the diagrams' hover numbers). Each such redraw cost a tab about 0.4 s of CPU
# (React and Plotly; Chromium profile), every 20 s at KEEPALIVE.
FEED_EVERY = 0.5  # seconds between two polls of a tab fed in place (ui.feed): a poll with news
# costs a tab a few ms, not the ~0.3 s of a rerun
CHART_EVERY = 1.0  # seconds between two rebuilds of a training run's curves (and boundaries)
FEED_REDRAW = 10.0  # ... and a fed page still redraws itself this often, times crowding() (what
# its scene leaves out: the diagrams' hover numbers); the feed asks for it
WAIT = 5.0  # longest wait for the engine to confirm a command (a step of a huge net)


@dataclass
class Live:
    """One page's live run: the engine handle, its config, and the newest snapshot drawn."""

    config: RunConfig
    handle: Any
    steps: int  # the original step limit: Continue extends by this much
    setup: Callable[[Any], None] | None = None  # re-applied after open, Reset and Restart
    tag: Any = None  # page settings applied by `setup` (not in the config): a change reopens
    snap: Snapshot | None = None
    extra: dict = field(default_factory=dict)  # page-side caches, keyed by snapshot step
    key: str = "live"  # the page's session key: names its status line (`<key>_status`)

    def newest(self) -> Snapshot | None:
        """The newest snapshot (kept, so a poll with nothing new still has one to draw)."""
        if self.handle is None:
            return self.snap
        snap = self.handle.snapshot(self.snap.version if self.snap else -1)
        if snap is not None:
            self.snap = snap
        if self.lost and self.snap is not None:
            self.snap.state = "lost"
        return self.snap

    @property
    def lost(self) -> str | None:
        return getattr(self.handle, "lost", None)

    @property
    def state(self) -> str:
        """The snapshot's state; "starting" while no snapshot came yet (a worker starting)."""
        snap = self.snap
        return "lost" if self.lost else (snap.state if snap else "starting")

    def wait(self, done: Callable[[Snapshot], bool], timeout: float = WAIT) -> Snapshot | None:
        """Poll until a snapshot satisfies `done` (a command took effect), or time runs out."""
        end = time.monotonic() + timeout
        while True:
            snap = self.newest()
            if self.lost or (snap is not None and done(snap)) or time.monotonic() > end:
                return snap
            time.sleep(0.01)


def _open(config: RunConfig, setup: Callable[[Any], None] | None) -> Any:
    handle = executor().open(config)
    if setup is not None:
        setup(handle)
    return handle


def get(key: str, config: RunConfig, setup: Callable[[Any], None] | None = None,
        tag: Any = None) -> Live:
    """This page's run: reused while the config (and `tag`) is unchanged, else reopened.

    `setup(handle)` is applied to every fresh handle (e.g. the Highway net's gate openness,
    whose value is the `tag`).
    """
    live: Live | None = st.session_state.get(key)
    if live is None or live.config != config or live.tag != tag:
        if live is not None:
            if live.snap is not None and live.snap.step:
                st.toast(_("Settings changed: the models were rebuilt and start again."))
            _close(live)
        live = Live(config, _open(config, setup), config.train.steps, setup, tag, key=key)
        st.session_state[key] = live
    live.newest()
    if live.snap is None:  # a fresh worker imports torch first: wait a little, then poll
        with st.spinner(_("Starting the training process...")):
            live.wait(lambda s: True, timeout=FIRST_WAIT)
    return live


def _close(live: Live) -> None:
    feed.drop(live.extra.get("feed_token"))
    try:
        live.handle.close()
    except Exception:  # noqa: BLE001 - a dead worker has nothing left to close
        pass


# -- commands (button callbacks: they run before the page reruns) ------------------------

def _start(live: Live) -> None:
    """Start, and wait for the first step (a few ms): the page's rerun then already shows the
    run moving, instead of waiting a redraw period for it.

    That rerun keeps the charts as they are drawn (`restart_chart_clocks`): the status line
    says at once that the run moves, and each chart follows one of its periods later
    (curves and boundaries after CHART_EVERY, the gradient bars after theirs). Redrawing
    them at once cost a browser about 0.3-0.4 s of CPU more per Start (Plotly), which a
    class pressing Start together pays all at once, beside the other tabs' own first steps
    (benchmarks/load.py)."""
    step = live.snap.step if live.snap else 0
    live.handle.start()
    live.extra["started"] = time.perf_counter()
    live.wait(lambda s: s.state not in ("ready", "paused", "running") or s.step > step)
    restart_chart_clocks(live)


def restart_chart_clocks(live: Live) -> None:
    """Count every slow chart (see `slow_chart`) of this run as drawn just now: while the run
    trains, each is rebuilt one of its own periods from now (a run that stops is drawn as it
    ends either way)."""
    now = time.monotonic()
    cache = live.extra.setdefault("slow", {})
    for key, (what, _built, fig) in list(cache.items()):
        cache[key] = (what, now, fig)


def _pause(live: Live) -> None:
    live.handle.pause()
    live.wait(lambda s: s.state != "running")


def _step(live: Live, n: int) -> None:
    snap = live.newest()
    target = min((snap.step if snap else 0) + n, snap.max_steps if snap else n)
    live.handle.step(n)
    live.wait(lambda s: s.step >= target and s.state != "running")


def _reset(live: Live, on_reset: Callable[[], None] | None) -> None:
    if live.lost:  # a lost run cannot be reset in place: open it again
        _restart(live, on_reset)
        return
    live.handle.reset()
    if live.setup is not None:
        live.setup(live.handle)
    live.extra.clear()
    live.wait(lambda s: s.step == 0 and s.state == "ready")
    if on_reset is not None:
        on_reset()


def _continue(live: Live) -> None:
    live.handle.extend(live.steps)
    live.wait(lambda s: s.state != "finished")


def _restart(live: Live, on_reset: Callable[[], None] | None) -> None:
    _close(live)
    live.handle, live.snap = _open(live.config, live.setup), None
    live.extra.clear()
    live.wait(lambda s: True)
    if on_reset is not None:
        on_reset()


def after_change(live: Live) -> None:
    """After a switch (skip, lesion, gate): wait for the snapshot that includes it."""
    version = live.snap.version if live.snap else -1
    live.wait(lambda s: s.version > version, timeout=2.0)


def controls(live: Live, prefix: str, on_reset: Callable[[], None] | None = None,
             container: Any = None) -> None:
    """Start|Pause, Step, +10, Reset (Continue when finished, Restart when lost), shortcuts.

    Button keys are `<prefix>_start`, `_pause`, `_step`, `_step10`, `_reset`, `_continue`,
    `_restart`; ui.keys binds Space, → and R to them. Icons with short labels, and each
    button fills its column, so no label is cut at 1024 px.
    """
    box = container if container is not None else st.container()
    state = live.state
    live.extra["buttons"] = prefix  # a split page's feed takes Start clicks (`_head`)
    cols = box.columns([1.15, 1, 1, 1.1, 0.5], gap="small")
    if state == "lost":
        cols[0].button(_("Restart"), key=f"{prefix}_restart", type="primary",
                       icon=":material/refresh:", use_container_width=True,
                       on_click=_restart, args=(live, on_reset))
    elif state == "finished":
        cols[0].button(_("Continue"), key=f"{prefix}_continue", type="primary",
                       icon=":material/fast_forward:", use_container_width=True,
                       help=_("Train {n} more steps").format(n=live.steps),
                       on_click=_continue, args=(live,))
    elif state == "running":
        cols[0].button(_("Pause"), key=f"{prefix}_pause", icon=":material/pause:",
                       use_container_width=True, on_click=_pause, args=(live,))
    else:
        cols[0].button(_("Start"), key=f"{prefix}_start", type="primary",
                       icon=":material/play_arrow:", use_container_width=True,
                       disabled=state == "starting", on_click=_start, args=(live,))
    idle = state in ("ready", "paused")
    cols[1].button(_("Step"), key=f"{prefix}_step", icon=":material/skip_next:",
                   use_container_width=True, disabled=not idle, help=_("Train one step"),
                   on_click=_step, args=(live, 1))
    cols[2].button("10", key=f"{prefix}_step10", icon=":material/redo:",
                   use_container_width=True, disabled=not idle, help=_("Train ten steps"),
                   on_click=_step, args=(live, 10))
    cols[3].button(_("Reset"), key=f"{prefix}_reset", icon=":material/restart_alt:",
                   use_container_width=True, disabled=state == "starting",
                   on_click=_reset, args=(live, on_reset))
    with cols[4]:
        keys.help_popover()
    keys.install(prefix)


def summary(live: Live, snap: Snapshot, labels: dict[str, str]) -> None:
    """Divergence notices and one test-accuracy metric per model: the head of every live
    page's drawing (Highway, LSTM), below the status line."""
    for name in labels:
        div = snap.metrics.get(name, {}).get("diverged_at")
        if div is not None:
            st.error(_("The {name} net diverged at step {step}: lower the learning rate and "
                       "press Reset.").format(name=labels[name], step=div))
    cols = st.columns(len(labels))
    values = _accuracies(live, snap, labels)
    for col, name in zip(cols, labels):
        col.container(key=f"{live.key}_metric_{name}").metric(
            _("Test accuracy, {name}").format(name=labels[name]),
            values[f"{live.key}_metric_{name}"])


def _accuracies(live: Live, snap: Snapshot, labels: dict[str, str]) -> dict[str, str]:
    out = {}
    for name in labels:
        acc = snap.metrics.get(name, {}).get("test_acc")
        out[f"{live.key}_metric_{name}"] = "–" if acc is None else f"{acc:.1%}"
    return out


def summary_scene(live: Live, snap: Snapshot, labels: dict[str, str], curves_key: str,
                  curves: Callable[[Snapshot], dict], look: tuple) -> dict:
    """The scene (see `fragment`) of a page whose live part is `summary` and a curves chart
    (Highway, LSTM): the metrics' values and the curves, rebuilt every CHART_EVERY."""
    chart = slow_chart(live, snap, curves_key, (tuple(labels.items()),),
                       lambda: curves(snap), look, CHART_EVERY)
    return {"texts": _accuracies(live, snap, labels), "charts": {curves_key: chart}}


def summary_fragment(live: Live, labels: dict[str, str], curves_key: str,
                     curves: Callable[[Snapshot], dict], key: str) -> None:
    """The live part of a page that shows `summary` and one curves chart (Highway, LSTM),
    drawn and fed (see `fragment`) from the same scene."""
    seen = look()

    def scene(snap: Snapshot) -> dict:
        return summary_scene(live, snap, labels, curves_key, curves, seen)

    def draw(snap: Snapshot) -> None:
        summary(live, snap, labels)
        charts.show(scene(snap)["charts"][curves_key], curves_key, restyle=False, live=True)

    fragment(live, draw, key, scene=scene)


def look() -> tuple:
    """What a chart's look depends on besides its data: (presenter mode, language). Read it
    in the page's script: the live feed's thread has no session to read it from."""
    return layout.presenter_on(), language()


def slow_chart(live: Live, snap: Snapshot, key: str, what: tuple,
               build: Callable[[], dict], look: tuple, every: float) -> Any:
    """A styled chart that is rebuilt only when `what` or `look` changes, when the run is not
    training, or (while it trains) every `every` seconds times `crowding()`. An unchanged
    chart is the same object: it costs the server nothing, the browser no redraw, and the
    live feed does not send it again. A changed live chart (ui.livechart) is redrawn in place
    by Plotly.react (~40 ms of a browser's CPU)."""
    cache = live.extra.setdefault("slow", {})
    what = (*what, *look)
    kept = cache.get(key)
    now = time.monotonic()
    if kept and kept[0] == what and snap.running and now - kept[1] < every * crowding():
        return kept[2]
    fig = charts.styled(build(), presenter=look[0])
    cache[key] = (what, now, fig)
    return fig


def status(live: Live, snap: Snapshot | None = None) -> None:
    """'step 120 of 600 · 84 steps/s · 5 s left · training', or 'Finished · 600 steps'."""
    snap = snap or live.snap
    if live.state == "starting":
        st.info(_("Starting the training process..."), icon=":material/hourglass_top:")
        return
    if live.state == "lost" or snap is None:
        st.error(_("The training process stopped; press Restart.") +
                 (" (" + _(live.lost) + ")" if live.lost else ""))
        return
    if snap.state == "finished":
        st.success(_("Finished · {n} steps").format(n=snap.step), icon=":material/flag:")
        return
    st.container(key=f"{live.key}_status").markdown(status_text(snap))


def status_text(snap: Snapshot) -> str:
    """The status line of a run that is ready, running or paused (markdown, **bold** only)."""
    parts = [_("step {step} of {max}").format(step=snap.step, max=snap.max_steps)]
    if snap.state == "running":
        if snap.sps:
            parts.append(_("{sps:.0f} steps/s").format(sps=snap.sps))
        if snap.eta is not None:
            parts.append(_("{s:.0f} s left").format(s=snap.eta))
        parts.append("**" + _("training") + "**")
    elif snap.state == "paused":
        parts.append(_("paused"))
    return " · ".join(parts)


Scene = Callable[[Snapshot], dict]  # snapshot -> {"texts": {key: markdown}, "charts": {key: fig}}


def fragment(live: Live, draw: Callable[[Snapshot], Any], key: str,
             scene: Scene | None = None, controls: Callable[[], None] | None = None) -> None:
    """The status line and `draw(snapshot)` of the newest snapshot; while running, redrawn
    every PACE seconds.

    With a `scene` (what of the drawing changes while training: the markdown under each
    `st-key-` container key, and each live chart's styled figure, built without Streamlit
    and cached as `draw` caches them) and a server that serves ui.feed, the tab updates those
    in place every FEED_EVERY seconds instead (times `crowding()`).

    `controls` draws the page's buttons into a container of the page made before this call.
    A page passes it when nothing else on it changes when a run starts (the Playground): on
    a server that feeds it, the buttons, the status line and the feed are then a small
    fragment of their own (`_head`), so a Start redraws just those and the live feed brings
    the rest. A click on Start by a whole class at once then costs each tab a small redraw
    instead of one of the whole live part (benchmarks/load.py).

    Otherwise, and whenever the run stops (finished, lost, paused, a Step, another tab's
    command), the whole page reruns once, so the buttons and every section show the new
    state, and this fragment's timer is set again (every `pace()` while it trains unfed).
    A run that is not running is polled every KEEPALIVE seconds (redrawn if it changed or was
    lost), so the engine keeps it while the tab is open; on a split page the head polls it,
    and the drawing redraws itself only every SPLIT_REDRAW seconds.
    """
    running = live.state in ("running", "starting")  # as this page run found it
    starting = live.state == "starting"  # no snapshot yet (a worker starting): poll it at pace
    can_feed = scene is not None and feed.available()
    split = controls is not None and can_feed
    lang = language()
    box = st.container() if split else None  # the head's status line, above the drawing

    def body() -> None:
        # A timed fragment rerun runs without app.py's top (and in a fresh thread): set the
        # page's language again, or every label drawn here falls back to English.
        set_language(lang)
        before = live.snap.version if live.snap is not None else None
        snap = live.newest()
        now = live.state in ("running", "starting")
        if (starting and live.state != "starting") or not split and (
                now != running or (not now and snap is not None and snap.version != before
                                   and snap.state != "ready")):
            st.rerun()  # started or stopped, or changed while idle: the page draws it all
        if not split:
            if controls is not None:
                controls()
            status(live, snap)
        if snap is None or live.state == "lost":
            live.extra["drawn"] = None  # nothing drawn: the head has no state to redraw from
            return
        if now and "started" in live.extra and snap.step > 0:
            live.extra.setdefault("first_update", time.perf_counter() - live.extra["started"])
        draw(snap)
        live.extra["drawn"] = (snap.running, snap.version, _epoch(snap))
        if now and can_feed and not split:
            _feed(live, scene, snap, lang, key)

    every = (pace() if starting or running and not can_feed else
             SPLIT_REDRAW * crowding() if split else KEEPALIVE)
    st.fragment(body, run_every=every, key=key)()
    if split:
        st.fragment(lambda: _head(live, controls, box, scene, lang, key), key=f"{key}_head",
                    run_every=pace() if starting else KEEPALIVE)()


def _head(live: Live, controls: Callable[[], None], box: Any, scene: Scene, lang: str,
          key: str) -> None:
    """The buttons, the status line and the live feed of a split `fragment`. A Start redraws
    only these (the drawing below stays as drawn, and the feed updates it); anything else
    that changed what the drawing shows reruns the whole page."""
    set_language(lang)
    snap = live.newest()
    drawn = live.extra.get("drawn")  # (running, version, epoch) the drawing below shows
    if snap is None or live.lost:
        if drawn is not None:
            st.rerun()
    elif snap.running:
        if drawn is not None and drawn[0] and drawn[2] != _epoch(snap):
            st.rerun()  # diverged or switched since the drawing: draw it all
    elif drawn is None or drawn[0] or drawn[1] != snap.version:
        st.rerun()  # stopped, stepped or reset: the drawing shows another state
    controls()
    with box:
        status(live, snap)
    if snap is not None and snap.running and not live.lost:
        # no timed redraw: the drawing's own timer (SPLIT_REDRAW) refreshes the diagrams' hover
        _feed(live, scene, snap, lang, key, redraw_every=None)
    elif snap is not None and snap.state in ("ready", "paused") and not live.lost:
        _arm(live, snap, lang, key)


def _arm(live: Live, snap: Snapshot, lang: str, key: str) -> None:
    """Let the tab start this ready or paused run through its feed (ui.feed.mount `start`):
    the click is answered with the first step's status line, written in place, before the
    head reruns to show Pause. The Start button's callback (`_start`) does the same when
    the feed cannot (a plain `streamlit run`, a token gone)."""

    def start() -> dict:
        was = language()
        set_language(lang)
        try:
            _start(live)
            now = live.snap
            if now is None or live.lost:
                return {"v": snap.version, "redraw": True}
            plain = status_text(now).replace("**", "")  # one text node, as the idle line
            return {"v": now.version, "redraw": True,
                    "texts": {f"{live.key}_status": feed.text_pieces(plain)}}
        finally:
            set_language(was)

    token = feed.register(lambda since: {"v": since, "redraw": True},
                          live.extra.get("feed_token"), start=start)
    live.extra["feed_token"] = token
    feed.mount(key, token, snap.version, FEED_EVERY, FEED_EVERY,
               start=f".st-key-{live.extra.get('buttons', '')}_start button")


def _epoch(snap: Snapshot) -> tuple:
    """What a fed page cannot show in place: a change of any of these redraws it."""
    return (snap.state, tuple(n for n in snap.names if snap.metrics.get(n, {}).get("diverged_at")
                              is not None),
            tuple((k, tuple(v)) for k, v in snap.skips.items()),
            tuple((k, tuple(v)) for k, v in snap.active.items()),
            tuple(tuple(c) for c in snap.commands))


def producer(live: Live, scene: Scene, drawn: Snapshot, lang: str,
             redraw_every: float | None = FEED_REDRAW) -> feed.Producer:
    """What the tab's live feed asks for (ui.feed): given the version it shows, the newest
    snapshot's status line, the scene's texts, and the live charts the scene rebuilt since
    (the page drew `drawn` just now); `redraw` once the run stops or something outside the
    scene changes (a divergence, a switch), so the page draws itself again."""
    epoch, status_key = _epoch(drawn), f"{live.key}_status"
    sent = dict(scene(drawn).get("charts", {}))  # what the page drew (the scene's cache)
    redraw_at = time.monotonic() + (redraw_every or math.inf) * crowding()

    def produce(since: int) -> dict:
        was = language()
        set_language(lang)
        try:
            return _produce(since)
        finally:
            set_language(was)  # the server's thread goes back as it was

    def _produce(since: int) -> dict:
        snap = live.newest()
        if live.lost:  # closed or its worker died: the token has nothing more to serve
            return {"v": since, "redraw": True, "gone": True}
        if snap is not None and snap.state == "finished" and _epoch(snap)[1:] == epoch[1:]:
            # say so at once, in the status line's place: the page's redraw (its finished
            # state, Continue) takes a crowded tab a second or more
            return {"v": since, "redraw": True,
                    "texts": {status_key: [_("Finished · {n} steps").format(n=snap.step)]}}
        if (snap is None or snap.state != "running" or _epoch(snap) != epoch
                or time.monotonic() > redraw_at):
            return {"v": since, "redraw": True}
        if snap.version <= since:
            return {"v": since, "eta": snap.eta}
        now = scene(snap)
        texts = {status_key: status_text(snap), **now.get("texts", {})}
        charts = {}
        for k, fig in now.get("charts", {}).items():
            if sent.get(k) is not fig:  # the scene rebuilds a chart only when it changed
                sent[k] = fig
                charts[k] = livechart.figure_json(fig)
        return {"v": snap.version, "texts": {k: feed.text_pieces(t) for k, t in texts.items()},
                "charts": charts, "eta": snap.eta}

    return produce


def _feed(live: Live, scene: Scene, drawn: Snapshot, lang: str, key: str,
          redraw_every: float | None = FEED_REDRAW) -> None:
    """Serve this page's scene to the tab (ui.feed) from the snapshot just drawn on; the feed
    asks for a redraw every `redraw_every` seconds (times crowding), if given."""
    token = feed.register(producer(live, scene, drawn, lang, redraw_every),
                          live.extra.get("feed_token"))
    live.extra["feed_token"] = token
    every = FEED_EVERY * crowding()
    feed.mount(key, token, drawn.version, every, every)


def crowding() -> float:
    """How many times slower than PACE this server redraws now (1 with a core per training
    run): live charts and the live feed stretch their periods by as much."""
    return pace() / PACE


def pace() -> float:
    """Seconds between two redraws of a training run: PACE while this server trains at most
    one run per core, slower in proportion beyond that (each redraw costs the server, and a
    browser on the same machine, CPU that the training needs; measured in
    benchmarks/load.py), at most MAX_PACE."""
    try:
        busy = executor().running()
    except Exception:  # noqa: BLE001 - a pace is never worth an error on the page
        busy = 1
    return min(MAX_PACE, PACE * max(1.0, busy / (os.cpu_count() or 1)))
