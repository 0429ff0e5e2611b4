"""Gradient-flow page under AppTest: init chart, shattering, training heatmaps, attribution."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.apptest_utils import ROOT, figure, no_exception, trained_playground

PAGE = "views/gradient_flow.py"


def open_page(page: str, query: dict[str, str] | None = None) -> AppTest:
    """Run the page script itself: AppTest.switch_page picks a page by its file stem, and this
    page's URL path ("gradients") differs from its stem, so through app.py it opens Home."""
    at = AppTest.from_file(str(ROOT / page), default_timeout=300)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()

QUERY = {"gf_depth": "6", "gf_sdepth": "3", "gf_tdepth": "3", "gf_steps": "50"}


def _ys(fig: dict) -> list:
    return [y for t in fig["data"] for y in t.get("y", [])]


def test_init_chart_and_shattering_follow_the_widgets():
    at = open_page("views/gradient_flow.py", QUERY)
    no_exception(at)
    init = figure(at, "gf_init")
    # 8 networks, each in two panels: parameter gradients and dL/dx at the block inputs
    assert len(init["data"]) == 16 and all(len(t["y"]) == 6 for t in init["data"])
    at.slider(key="gf_depth").set_value(9).run()
    no_exception(at)
    assert all(len(t["y"]) == 9 for t in figure(at, "gf_init")["data"])
    at.toggle(key="gf_norm").set_value(True).run()
    assert _ys(figure(at, "gf_init")) != _ys(init)
    with_bn = _ys(figure(at, "gf_init"))
    at.selectbox(key="gf_scheme").set_value("pytorch").run()
    no_exception(at)
    assert _ys(figure(at, "gf_init")) != with_bn

    sh = figure(at, "gf_shattered")
    at.slider(key="gf_sdepth").set_value(12).run()
    no_exception(at)
    assert _ys(figure(at, "gf_shattered")) != _ys(sh)


def test_story_panel_measures_both_settings(monkeypatch):
    """The panel's words come from live measurements: vanishing only in the small-init setting;
    the training half trains the Degradation page's nets on a click."""
    from resviz.experiments import degradation as deg
    from resviz.spec import TrainSpec

    tiny = deg.SweepSpec(depths=(24,), seeds=1, width=8, train=TrainSpec(steps=20, eval_every=5))
    monkeypatch.setattr(deg, "page_sweep", lambda: tiny)
    at = open_page("views/gradient_flow.py", {**QUERY, "gf_story_depth": "24"})
    no_exception(at)
    text = " ".join(m.value for m in at.markdown)
    assert "vanishes toward the input" in text and "healthy size" in text
    at.button(key="gf_story_train").click().run()
    no_exception(at)
    loss = figure(at, "gf_story_loss")
    assert {t["name"].split("-")[0] for t in loss["data"] if t.get("name")} == {"plain", "residual"}
    assert "Measured, in plain words" in " ".join(m.value for m in at.markdown)


def test_train_here_then_attribute():
    at = open_page("views/gradient_flow.py", QUERY)
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
    at = open_page("views/gradient_flow.py", {**QUERY, "gf_data": "digits", "gf_tdepth": "2"})
    at.button(key="gf_train").click().run()
    no_exception(at)
    ig = figure(at, "gf_ig_residual")
    assert len(ig["data"][1]["z"]) == 8  # an 8x8 map beside the 8x8 digit


def test_playground_models_can_be_the_source():
    from ui.session import KEY, default_specs

    run = trained_playground(*default_specs(steps=6))
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=300)
    for k, v in {**QUERY, "gf_src": "playground"}.items():
        at.query_params[k] = v
    at.session_state[KEY] = run.live
    at.run()
    no_exception(at)
    heat = figure(at, "gf_heat_A")
    assert len(heat["data"][0]["z"]) == 20 and len(heat["data"][0]["z"][0]) == 6
    assert len([t for t in figure(at, "gf_attr")["data"] if t["type"] == "bar"]) == 2
