"""Degradation page under AppTest: run a tiny sweep, change a setting, revisit from the store."""

from __future__ import annotations

from tests.apptest_utils import figure, no_exception, open_page

QUERY = {"dg_maxdepth": "4", "dg_steps": "50", "dg_seeds": "1", "dg_width": "8"}


def _losses(at) -> list[float]:
    fig = figure(at, "dg_depth")
    return [y for t in fig["data"][:2] if t.get("error_y") for y in t["y"]]


def test_sweep_runs_changes_and_is_cached():
    at = open_page("pages/views/degradation.py", QUERY)
    no_exception(at)
    assert not at.get("plotly_chart")  # nothing trained yet: a button, not a chart
    at.button(key="dg_run").click().run()
    no_exception(at)
    fig = figure(at, "dg_depth")
    assert sorted({x for t in fig["data"] for x in t["x"]}) == [2, 4]
    first = _losses(at)
    assert len(at.get("download_button")) == 2
    figure(at, "dg_curves")

    at.select_slider(key="dg_steps").set_value(100).run()
    no_exception(at)
    assert not at.get("plotly_chart")  # new settings: not stored yet
    at.button(key="dg_run").click().run()
    no_exception(at)
    assert _losses(at) != first

    at.select_slider(key="dg_steps").set_value(50).run()  # back: straight from the store
    no_exception(at)
    assert _losses(at) == first
