"""The Highway page (views/highway.py) through AppTest: the gate maps follow the widgets."""

from __future__ import annotations

import math
import time

import numpy as np
from apptest_utils import figure, no_exception
from live_apptest import open_live_page as open_page
from live_apptest import until_trained

PAGE = "views/highway.py"
SMALL = {"hw_depth": "6", "hw_width": "8", "hw_steps": "50"}


def panel(fig: dict, i: int) -> np.ndarray:
    """The z values of heatmap panel i of a gate-maps figure."""
    return np.asarray(fig["data"][i]["z"], dtype=float)


def test_gate_bias_slider_sets_the_biases_and_the_initial_gates() -> None:
    at = open_page(PAGE, SMALL)
    no_exception(at)
    maps = figure(at, "hw_gates")
    assert panel(maps, 0).shape == (8, 6) and np.allclose(panel(maps, 0), -2.0)
    assert abs(panel(maps, 1).mean() - 1 / (1 + math.exp(2))) < 0.03
    at.slider(key="hw_gb").set_value(-4.0).run()
    no_exception(at)
    maps = figure(at, "hw_gates")
    assert np.allclose(panel(maps, 0), -4.0)
    assert abs(panel(maps, 1).mean() - 1 / (1 + math.exp(4))) < 0.01
    init = figure(at, "hw_profile")["data"][1]["y"]
    assert max(init) < 0.05


def test_start_trains_all_three_live() -> None:
    at = open_page(PAGE, SMALL)
    at.button(key="hw_start").click().run()
    curves = until_trained(at, "hw_curves")
    assert len(curves[0]["y"]) > 1
    assert {c["name"] for c in curves if c.get("showlegend") is not False} == {
        "plain", "residual", "highway"}


def test_lesion_and_openness_act_on_the_highway_net() -> None:
    at = open_page(PAGE, SMALL)
    at.pills(key="hw_shut_6").set_value([1, 2, 3, 4, 5, 6]).run()
    no_exception(at)
    assert any(m.label == "With 6 blocks shut" for m in at.metric)
    colors = figure(at, "hw_lesion")["data"][0]["marker"]["color"]
    assert len(set(colors)) == 1 and colors[0] != "#2ca02c"  # all shut: all highlighted
    at.slider(key="hw_open").set_value(1.0).run()  # rebuilt: gates held open = residual
    no_exception(at)
    assert figure(at, "hw_open_curve")["data"][1]["x"] == [1.0]
    maps = figure(at, "hw_gates")
    assert np.allclose(panel(maps, 1), 1.0) and np.allclose(panel(maps, 2), 1.0)
    assert np.allclose(panel(maps, 0), -2.0)  # the learned gate is still there, just overridden
    curve = figure(at, "hw_open_curve")["data"][0]["y"]
    assert curve[-1] == figure(at, "hw_open_curve")["data"][1]["y"][0]


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_lower_sections_show_the_final_state_when_the_run_ends() -> None:
    """Lesion, openness and gate maps measure the finished net, and agree with the metric."""

    at = open_page(PAGE, SMALL)
    at.button(key="hw_start").click().run()
    end = time.monotonic() + 90
    while not any(str(s.value) == "Finished · 50 steps" for s in at.success):
        assert time.monotonic() < end
        time.sleep(0.3)
        at.run()
    no_exception(at)
    final = _metric(at, "Test accuracy, highway")
    assert _metric(at, "Intact highway net") == final
    assert _metric(at, "Highway net at openness 0.0") == final
    assert "at step 50" in figure(at, "hw_gates")["layout"]["title"]["text"]
    assert any("measured at step 50" in c.value for c in at.caption)
    assert {"hw_continue", "hw_reset"} <= {b.key for b in at.button}


def test_step_measures_the_lower_sections_at_the_new_step() -> None:
    at = open_page(PAGE, SMALL)
    at.button(key="hw_step10").click().run()
    no_exception(at)
    assert any("step 10 of 50" in m.value for m in at.markdown)
    assert "at step 10" in figure(at, "hw_gates")["layout"]["title"]["text"]
    assert _metric(at, "Intact highway net") == _metric(at, "Test accuracy, highway")
