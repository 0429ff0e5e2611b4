"""Gradient-flow page under AppTest: init chart, shattering, training heatmaps, attribution."""

from __future__ import annotations

from tests.apptest_utils import figure, no_exception, open_page

QUERY = {"gf_depth": "6", "gf_sdepth": "3", "gf_tdepth": "3", "gf_steps": "50"}


def _ys(fig: dict) -> list:
    return [y for t in fig["data"] for y in t.get("y", [])]


def test_init_chart_and_shattering_follow_the_widgets():
    at = open_page("pages/views/gradient_flow.py", QUERY)
    no_exception(at)
    init = figure(at, "gf_init")
    assert len(init["data"]) == 8 and all(len(t["y"]) == 6 for t in init["data"])
    at.slider(key="gf_depth").set_value(9).run()
    no_exception(at)
    assert all(len(t["y"]) == 9 for t in figure(at, "gf_init")["data"])
    at.toggle(key="gf_norm").set_value(True).run()
    assert _ys(figure(at, "gf_init")) != _ys(init)

    sh = figure(at, "gf_shattered")
    at.slider(key="gf_sdepth").set_value(12).run()
    no_exception(at)
    assert _ys(figure(at, "gf_shattered")) != _ys(sh)


def test_train_here_then_attribute():
    at = open_page("pages/views/gradient_flow.py", QUERY)
    at.button(key="gf_train").click().run()
    no_exception(at)
    heat = figure(at, "gf_heat_plain")
    assert len(heat["data"][0]["z"]) == 3 and len(heat["data"][0]["z"][0]) == 50  # blocks x steps
    figure(at, "gf_update")
    attr = figure(at, "gf_attr")
    assert [len(t["y"]) for t in attr["data"] if t["type"] == "bar"] == [3, 3]
    at.slider(key="gf_idx").set_value(5).run()
    no_exception(at)
    assert _ys(figure(at, "gf_attr")) != _ys(attr)


def test_digits_show_an_input_attribution_map():
    at = open_page("pages/views/gradient_flow.py", {**QUERY, "gf_data": "digits", "gf_tdepth": "2"})
    at.button(key="gf_train").click().run()
    no_exception(at)
    ig = figure(at, "gf_ig_residual")
    assert len(ig["data"][1]["z"]) == 8  # an 8x8 map beside the 8x8 digit


def test_playground_models_can_be_the_source():
    from streamlit.testing.v1 import AppTest

    from tests.apptest_utils import ROOT
    from ui.session import KEY, default_run

    run = default_run(steps=6)
    for _rec in run.trainer.run():
        pass
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for k, v in {**QUERY, "gf_src": "playground"}.items():
        at.query_params[k] = v
    at.session_state[KEY] = run
    at.switch_page("pages/views/gradient_flow.py")
    at.run()
    no_exception(at)
    heat = figure(at, "gf_heat_A")
    assert len(heat["data"][0]["z"]) == 20 and len(heat["data"][0]["z"][0]) == 6
    assert len([t for t in figure(at, "gf_attr")["data"] if t["type"] == "bar"]) == 2
