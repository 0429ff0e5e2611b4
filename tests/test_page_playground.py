"""The Playground (views/playground.py) as a person uses it, through AppTest.

Training runs in the engine (ui.live); each `at.run()` draws its newest snapshot.
"""

from __future__ import annotations

import re
import time

import pytest
from apptest_utils import chart_ids, figure, no_exception
from live_apptest import open_live_page as open_page

from resviz.figures import network
from ui.session import KEY

PAGE = "views/playground.py"
SMALL = {"a_depth": "4", "b_depth": "4", "a_width": "8", "b_width": "8", "pg_steps": "50"}
STATUS = re.compile(r"step (\d+) of (\d+)")


def step(at) -> int | None:
    for m in at.markdown:
        hit = STATUS.search(m.value)
        if hit:
            return int(hit.group(1))
    return None


def accuracy(at, name: str) -> str:
    pat = re.compile(rf"^{name}: test accuracy \*\*(.+)\*\*$")
    return next(pat.match(m.value).group(1) for m in at.markdown if pat.match(m.value))


def finished(at) -> bool:
    return any(str(s.value).startswith("Finished") for s in at.success)


def run_until(at, done, timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while not done(at):
        assert time.monotonic() < end, "the run did not get there in time"
        time.sleep(0.3)
        at.run()
        no_exception(at)


def train_to_end(query: dict[str, str] | None = None):
    at = open_page(PAGE, {**SMALL, **(query or {})})
    at.button(key="pg_start").click().run()
    run_until(at, finished)
    return at


def test_opens_with_diagrams_boundaries_with_a_class_legend_and_curves() -> None:
    at = open_page(PAGE)
    no_exception(at)
    ids = chart_ids(at)
    for key in ("pg_net_A_", "pg_net_B_", "pg_curves", "pg_boundary_A", "pg_boundary_B"):
        assert key in ids
    assert step(at) == 0
    bound = figure(at, "pg_boundary_A")["data"]
    assert [t.get("name") for t in bound[1:]] == ["class 0", "class 1"]
    assert "P(class 1)" in bound[0]["hovertemplate"]
    net = figure(at, "pg_net_A_0")["data"]
    assert net[network.HANDLE_TRACE]["customdata"] == list(range(1, 21))
    blocks = net[3]["hovertext"]
    assert len(blocks) == 20 and "‖f(x)‖/‖x‖" in blocks[0] and "gradient norm" in blocks[0]


def test_step_advances_exactly_one_then_ten_and_the_curves_follow() -> None:
    at = open_page(PAGE, SMALL)
    at.button(key="pg_step").click().run()
    no_exception(at)
    assert step(at) == 1
    assert len(figure(at, "pg_curves")["data"][0]["y"]) == 1
    at.run()  # a paused run does not move
    assert step(at) == 1
    at.button(key="pg_step10").click().run()
    assert step(at) == 11
    assert figure(at, "pg_curves")["data"][0]["x"][-1] == 10  # steps 0..10
    assert at.button(key="pg_start").label == "Start"


def test_start_trains_then_pause_stops() -> None:
    at = open_page(PAGE, {**SMALL, "pg_steps": "3000"})
    at.button(key="pg_start").click().run()
    run_until(at, lambda a: (step(a) or 0) > 5)
    assert any("training" in m.value for m in at.markdown)
    at.button(key="pg_pause").click().run()
    no_exception(at)
    paused = step(at)
    time.sleep(1.0)
    at.run()
    assert step(at) == paused, "training went on after Pause"
    assert any("paused" in m.value for m in at.markdown)


def test_finished_run_says_so_offers_continue_and_shows_final_records() -> None:
    at = train_to_end()
    assert [s.value for s in at.success] == ["Finished · 50 steps"]
    keys = {b.key for b in at.button}
    assert "pg_continue" in keys and "pg_start" not in keys and "pg_pause" not in keys
    assert at.button(key="pg_step").disabled
    live = at.session_state[KEY]
    snap = live.snap
    curves = figure(at, "pg_curves")["data"]
    assert curves[0]["x"][-1] == 49 and curves[1]["x"][-1] == 49  # the last record is drawn
    assert curves[1]["y"][-1] == pytest.approx(snap.curves["A"]["test_acc"][-1])
    assert accuracy(at, "A") == f"{snap.metrics['A']['test_acc']:.1%}"
    at.button(key="pg_continue").click().run()
    no_exception(at)
    # the limit moved; whether the page still shows "training" here is a race (this small
    # run does its 50 more steps in under 0.1 s), so the proof is the new finish below
    assert live.snap.max_steps == 100
    run_until(at, lambda a: [s.value for s in a.success] == ["Finished · 100 steps"])
    assert [s.value for s in at.success] == ["Finished · 100 steps"]
    at.button(key="pg_reset").click().run()
    assert step(at) == 0 and at.button(key="pg_start").label == "Start"


def test_skip_toggles_change_the_shown_accuracy_and_the_diagram() -> None:
    at = train_to_end()
    before = accuracy(at, "A")
    grads_before = figure(at, "pg_grads")["data"][0]["marker"]["pattern"]["shape"]
    assert set(grads_before) == {""}
    at.button(key="pg_all_off_A").click().run()
    no_exception(at)
    assert accuracy(at, "A") != before
    assert set(figure(at, "pg_grads")["data"][0]["marker"]["pattern"]["shape"]) == {"/"}
    handles = figure(at, "pg_net_A_0")["data"][network.HANDLE_TRACE]["marker"]["color"]
    assert set(handles) == {"white"}  # every skip drawn off
    at.button(key="pg_all_on_A").click().run()
    assert accuracy(at, "A") == before


def test_a_click_on_a_skip_arc_is_read_as_that_block() -> None:
    sel = {"points": [{"curve_number": network.HANDLE_TRACE, "customdata": 7},
                      {"curve_number": 3, "customdata": None}]}
    assert network.clicked_blocks(sel) == [7]
    assert network.clicked_blocks({"points": []}) == [] and network.clicked_blocks(None) == []


def test_changing_depth_rebuilds_the_model() -> None:
    at = open_page(PAGE)
    at.selectbox(key="a_depth").set_value(5).run()
    no_exception(at)
    at.button(key="pg_step").click().run()
    assert len(figure(at, "pg_grads")["data"][0]["y"]) == 5
    assert len(figure(at, "pg_net_A_0")["data"][network.HANDLE_TRACE]["x"]) == 5


def test_digits_use_conv_blocks_without_boundary() -> None:
    at = open_page(PAGE, {"pg_data": "digits", "a_depth": "3", "b_depth": "3"})
    no_exception(at)
    assert "pg_boundary" not in chart_ids(at)
    assert accuracy(at, "A")


def test_divergent_learning_rate_shows_message_and_stops() -> None:
    at = open_page(PAGE, {**SMALL, "pg_lr": "1000000.0"})
    at.button(key="pg_start").click().run()
    run_until(at, lambda a: any("diverged at step" in e.value for e in a.error) and finished(a))
    no_exception(at)


def test_one_block_skip_toggle_in_a_later_row_reaches_the_model() -> None:
    at = open_page(PAGE, {"a_depth": "25"})
    assert [p.key for p in at.pills if p.key.startswith("pg_skips_A")] == [
        "pg_skips_A_0", "pg_skips_A_1", "pg_skips_A_2"]
    at.pills(key="pg_skips_A_2").set_value([21, 22, 24, 25]).run()  # block 23 off
    at.button(key="pg_step").click().run()
    shapes = figure(at, "pg_grads")["data"][0]["marker"]["pattern"]["shape"]
    assert [i + 1 for i, s in enumerate(shapes) if s == "/"] == [23]


class _Lost:
    """A handle whose worker died: what the engine reports then."""

    lost = "the worker process was killed"

    def __init__(self, snap) -> None:
        self._snap = snap

    def snapshot(self, after: int = -1):
        return None

    def close(self) -> None:
        pass


def test_a_lost_worker_gives_a_message_and_restart_works() -> None:
    at = open_page(PAGE, SMALL)
    at.button(key="pg_step").click().run()
    live = at.session_state[KEY]
    live.handle.close()
    live.handle = _Lost(live.snap)
    at.run()
    no_exception(at)
    assert any("The training process stopped; press Restart" in e.value for e in at.error)
    assert "pg_restart" in {b.key for b in at.button}
    at.button(key="pg_restart").click().run()
    no_exception(at)
    assert not at.error and step(at) == 0


def test_every_control_carries_its_value_as_its_default():
    """A browser that holds no state for a widget (it never mounted the element that carried
    the value, e.g. when a second run's elements replaced the first's on a crowded machine)
    starts it at the element's default. Each control's default is therefore its own value:
    left at Streamlit's (index 0, a slider's minimum), 10-tab load runs saw a session's
    controls drop to depth 1, width 4, 50 steps and lr 1e-4 after Start."""
    at = open_page(PAGE, {**SMALL, "a_depth": "6", "pg_lr": "0.003", "pg_noise": "0.2"})
    no_exception(at)
    assert at.selectbox(key="a_depth").value == 6
    for w in at.selectbox:
        assert w.proto.default == w.index, w.key
    for w in at.slider:
        assert list(w.proto.default) == [w.value], w.key
    for w in at.select_slider:
        assert w.options[int(w.proto.default[0])] == str(w.value), w.key
    for w in at.toggle:
        assert w.proto.default == w.value, w.key
    assert at.slider(key="pg_noise").proto.default == [0.2]
    at.selectbox(key="a_depth").set_value(9).run()  # a change moves the default with it
    assert at.selectbox(key="a_depth").options[at.selectbox(key="a_depth").proto.default] == "9"


def test_a_fed_playground_draws_its_buttons_and_status_from_its_head(monkeypatch) -> None:
    """Where the server feeds pages (make app), the Playground's buttons and status line are
    a fragment of their own; the page still starts, trains, finishes and pauses the same way
    (AppTest runs the script whole, so this checks the split page's drawing, not its reruns)."""
    from ui import feed

    monkeypatch.setattr(feed, "_INSTALLED", True)
    at = train_to_end()
    assert [s.value for s in at.success] == ["Finished · 50 steps"]
    assert "pg_continue" in {b.key for b in at.button}
    assert len([s for s in at.success if "Finished" in s.value]) == 1  # drawn once, by the head
    at.button(key="pg_reset").click().run()
    no_exception(at)
    assert step(at) == 0 and at.button(key="pg_start").label == "Start"
