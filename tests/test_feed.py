"""The live feed (ui.feed, ui.live.producer): what a tab fed in place is sent while a run trains.

Truths: a poll with nothing new sends nothing; a new snapshot sends its status line and the
scene's texts, and only the charts the scene rebuilt; anything the scene cannot show in place
(the run stops, a model diverges, a skip is switched, the run is lost) asks the page to redraw
itself; an unknown token is gone; a producer that fails never reaches the tab as an error.
"""

from __future__ import annotations

import json

import pytest

from resviz.engine import Snapshot
from resviz.i18n import language
from ui import feed, live


class _Handle:
    """A run handle whose snapshots the test sets."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap, self.lost = snap, None

    def snapshot(self, after: int = -1) -> Snapshot | None:
        return self.snap if self.snap.version > after else None


def _snap(version: int, step: int, state: str = "running", acc: float = 0.5,
          skips: tuple = (True, True), diverged: int | None = None) -> Snapshot:
    return Snapshot(version=version, state=state, step=step, max_steps=600, sps=80.0, eta=5.0,
                    names=["A"], metrics={"A": {"test_acc": acc, "diverged_at": diverged}},
                    skips={"A": list(skips)})


class _Scene:
    """A page's scene: the accuracy line, and a chart rebuilt only when the step is even."""

    def __init__(self) -> None:
        self.fig, self.built_at = None, None

    def __call__(self, snap: Snapshot) -> dict:
        if self.fig is None or snap.step % 2 == 0 and snap.step != self.built_at:
            self.fig, self.built_at = {"data": [{"y": [snap.step]}], "layout": {}}, snap.step
        return {"texts": {"acc_A": f"A: test accuracy **{snap.metrics['A']['test_acc']:.1%}**"},
                "charts": {"chart": self.fig}}


def _live(snap: Snapshot) -> live.Live:
    run = live.Live(config=None, handle=_Handle(snap), steps=600, key="pg")
    run.newest()
    return run


def test_text_pieces_are_the_text_nodes_of_bold_markdown():
    assert feed.text_pieces("a **b** c") == ["a ", "b", " c"]
    assert feed.text_pieces("step 3 of 600 · **training**") == ["step 3 of 600 · ", "training"]
    assert feed.text_pieces("A: test accuracy **99.5%**") == ["A: test accuracy ", "99.5%"]
    assert feed.text_pieces("plain") == ["plain"]


def test_a_poll_sends_what_changed_and_only_the_rebuilt_charts():
    run, scene = _live(_snap(1, 2)), _Scene()
    produce = live.producer(run, scene, run.snap, "en")
    assert produce(1) == {"v": 1, "eta": 5.0}  # nothing newer than what the page drew
    run.handle.snap = _snap(2, 3, acc=0.75)  # odd step: the scene keeps its chart
    out = produce(1)
    assert out["v"] == 2 and not out.get("redraw")
    assert out["texts"]["pg_status"] == ["step 3 of 600 · 80 steps/s · 5 s left · ", "training"]
    assert out["texts"]["acc_A"] == ["A: test accuracy ", "75.0%"]
    assert out["charts"] == {}  # the page already drew this chart
    run.handle.snap = _snap(3, 4)  # even step: a new chart, sent once, as the page would draw it
    out = produce(2)
    assert json.loads(out["charts"]["chart"])["data"][0]["y"] == [4]
    run.handle.snap = _snap(4, 5)
    assert produce(3)["charts"] == {}
    json.dumps(out)  # what the route sends


@pytest.mark.parametrize("after", [
    _snap(2, 3, state="paused"), _snap(2, 600, state="finished"),
    _snap(2, 3, skips=(True, False)), _snap(2, 3, diverged=2)])
def test_what_the_scene_cannot_show_redraws_the_page(after):
    run = _live(_snap(1, 2))
    produce = live.producer(run, _Scene(), run.snap, "en")
    run.handle.snap = after
    assert produce(1)["redraw"] is True


def test_a_finished_run_says_so_in_its_status_line_before_the_page_redraws():
    """The last step is shown at once: the poll that finds the run finished writes "Finished"
    into the status line's place (the page's own redraw, with Continue, takes a crowded tab a
    second or more), and each poll says when the run should end (`eta`), so the tab asks again
    then and not a whole poll period later. A run that stopped because its models diverged
    only redraws: the page explains that itself."""
    run = _live(_snap(1, 2))
    produce = live.producer(run, _Scene(), run.snap, "en")
    run.handle.snap = _snap(2, 599)
    assert produce(1)["eta"] == 5.0
    run.handle.snap = _snap(3, 600, state="finished")
    assert produce(2) == {"v": 2, "redraw": True,
                          "texts": {"pg_status": ["Finished · 600 steps"]}}
    zh = live.producer(run, _Scene(), _snap(2, 599), "zh")
    assert "Finished" not in zh(2)["texts"]["pg_status"][0]
    run = _live(_snap(1, 2))
    produce = live.producer(run, _Scene(), run.snap, "en")
    run.handle.snap = _snap(2, 40, state="finished", diverged=40)
    assert produce(1) == {"v": 1, "redraw": True}


def test_a_lost_run_redraws_the_page_and_frees_its_token():
    run = _live(_snap(1, 2))
    produce = live.producer(run, _Scene(), run.snap, "en")
    token = feed.register(produce)
    run.handle.lost = "the training process died"
    assert feed.answer(token, 1) == {"v": 1, "redraw": True}
    assert feed.answer(token, 1) is None  # its token is forgotten: the next poll gets a 404


def test_the_feed_speaks_the_page_language():
    run = _live(_snap(1, 2))
    produce = live.producer(run, _Scene(), run.snap, "zh")
    run.handle.snap = _snap(2, 3)
    assert "step" not in "".join(produce(1)["texts"]["pg_status"])
    assert language() == "en"  # the server thread's own language is left as it was


def test_tokens_answer_until_dropped_and_stay_bounded(monkeypatch):
    token = feed.register(lambda since: {"v": since + 1})
    assert len(token) >= 20 and feed.answer(token, 4) == {"v": 5}
    assert feed.register(lambda since: {"v": 0}, token) == token  # a page's run keeps its token
    assert feed.answer(token, 4) == {"v": 0}
    feed.drop(token)
    assert feed.answer(token, 4) is None
    monkeypatch.setattr(feed, "MAX_FEEDS", 3)
    tokens = [feed.register(lambda since: {"v": since}) for _ in range(5)]
    assert [feed.answer(t, 0) is None for t in tokens] == [True, True, False, False, False]


def test_a_start_through_the_feed_runs_once_and_only_where_armed(monkeypatch):
    """ui.feed `cmd=start`: the token's starter runs once (a second click's request, or one
    after the page re-registered the token without a starter, gets None: the tab then lets
    its click through to Streamlit); unknown commands and tokens get None too."""
    calls = []
    token = feed.register(lambda since: {"v": since}, start=lambda: calls.append(1) or {"v": 9})
    assert feed.answer(token, 3, "unknown") is None and calls == []
    assert feed.answer(token, 3, "start") == {"v": 9} and calls == [1]
    assert feed.answer(token, 3, "start") is None and calls == [1]
    assert feed.answer(token, 3) == {"v": 3}  # polls go on
    feed.register(lambda since: {"v": since}, token, start=lambda: {"v": 1})
    feed.register(lambda since: {"v": since}, token)  # running now: no Start through the feed
    assert feed.answer(token, 3, "start") is None
    assert feed.answer("not-a-token", 3, "start") is None
    monkeypatch.setattr(feed, "MAX_FEEDS", 1)
    old = feed.register(lambda since: {"v": since}, start=lambda: {"v": 1})
    feed.register(lambda since: {"v": since})
    assert old not in feed._STARTERS  # bounded with the feeds


def test_a_failing_producer_asks_for_a_redraw_not_an_error():
    def broken(since: int) -> dict:
        raise RuntimeError("boom")

    assert feed.answer(feed.register(broken), 7) == {"v": 7, "redraw": True}


def test_a_summary_scene_keeps_its_chart_while_training_and_rebuilds_it_when_stopped(monkeypatch):
    """Highway and LSTM: the metrics' values, and a curves chart that is the same object (not
    sent again) until CHART_EVERY has passed, or at once when the run is not training."""
    monkeypatch.setattr(live, "crowding", lambda: 1.0)
    run, built = _live(_snap(1, 2, acc=0.25)), []

    def curves(snap: Snapshot) -> dict:
        built.append(snap.step)
        return {"data": [{"y": [snap.step]}], "layout": {}}

    first = live.summary_scene(run, run.snap, {"A": "residual"}, "hw_curves", curves, (False, "en"))
    assert first["texts"] == {"pg_metric_A": "25.0%"}
    again = live.summary_scene(run, _snap(2, 3), {"A": "residual"}, "hw_curves", curves,
                               (False, "en"))
    assert again["charts"]["hw_curves"] is first["charts"]["hw_curves"] and built == [2]
    stopped = live.summary_scene(run, _snap(3, 4, state="paused"), {"A": "residual"},
                                 "hw_curves", curves, (False, "en"))
    assert stopped["charts"]["hw_curves"] is not first["charts"]["hw_curves"] and built == [2, 4]
    presenter = live.summary_scene(run, _snap(4, 5), {"A": "residual"}, "hw_curves", curves,
                                   (True, "en"))
    assert built == [2, 4, 5]  # a new look is a new chart
    assert presenter["charts"]["hw_curves"].to_dict()["layout"] != \
        stopped["charts"]["hw_curves"].to_dict()["layout"]


def test_the_feed_asks_for_a_timed_redraw_only_when_told(monkeypatch):
    """Highway and LSTM redraw every FEED_REDRAW (what the scene leaves out); the split
    Playground's head passes None and is never asked to."""
    clock = [100.0]
    monkeypatch.setattr(live.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(live, "crowding", lambda: 1.0)
    run = _live(_snap(1, 2))
    timed = live.producer(run, _Scene(), run.snap, "en", redraw_every=10.0)
    never = live.producer(run, _Scene(), run.snap, "en", redraw_every=None)
    run.handle.snap = _snap(2, 3)
    assert "redraw" not in timed(1) and "redraw" not in never(1)
    clock[0] += 11.0
    run.handle.snap = _snap(3, 4)
    assert timed(2) == {"v": 2, "redraw": True}
    assert "redraw" not in never(2) and never(2)["v"] == 3
