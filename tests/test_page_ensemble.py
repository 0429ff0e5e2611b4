"""The Ensemble page under AppTest: counts, unraveled view, measurement, Playground models."""

from __future__ import annotations

import math

import pytest
from apptest_utils import ROOT, figure, no_exception, open_page, trained_playground
from streamlit.testing.v1 import AppTest

from resviz.spec import NetworkSpec, TrainSpec
from ui import session

SMALL = {"en_depth": "4", "en_steps": "20", "en_samples": "10", "en_n": "10"}


@pytest.fixture(scope="module")
def measured():
    at = open_page("views/ensemble.py", SMALL)
    no_exception(at)
    at.button(key="en_go").click().run()
    no_exception(at)
    return at


def test_counts_are_binomial_and_follow_the_slider():
    at = open_page("views/ensemble.py", {"en_n": "10"})
    no_exception(at)
    assert figure(at, "en_dist")["data"][0]["y"] == [math.comb(10, k) for k in range(11)]
    at.slider(key="en_n").set_value(6).run()
    assert figure(at, "en_dist")["data"][0]["y"] == [math.comb(6, k) for k in range(7)]


def test_unraveled_view_draws_every_path_and_highlights_the_chosen_one(measured):
    at = measured
    at.slider(key="en_small").set_value(2).run()
    no_exception(at)
    lines = [d for d in figure(at, "en_unraveled")["data"] if d["mode"] == "lines"]
    assert len(lines) == 4
    widths = [d["line"]["width"] for d in lines]
    assert widths.count(max(widths)) == 1
    at.selectbox(key="en_path2").set_value(1).run()
    lines2 = [d for d in figure(at, "en_unraveled")["data"] if d["mode"] == "lines"]
    assert [d["line"]["width"] for d in lines2] != widths
    jac = [el.value for el in at.get("latex") if "boxed" in el.value]
    assert len(jac) == 1 and "\\boxed{J_{1}}" in jac[0]  # path 1 of 4 goes through f1 only
    assert jac[0].split("=")[-1].count("+") == 3  # 2^2 terms


def test_measurement_shows_three_nets_band_and_dynamic_depth(measured):
    at = measured
    mag = figure(at, "en_magnitude")
    names = [d.get("name") for d in mag["data"] if d.get("name")]
    assert len(names) == 3  # trained, init, stochastic depth
    contrib = figure(at, "en_contribution")
    assert contrib["layout"]["shapes"]  # the effective band is shaded
    for d in contrib["data"]:
        assert sum(d["y"]) == pytest.approx(1.0)
    assert any("of the gradient comes from paths of" in m.value for m in at.markdown)
    heat = figure(at, "en_depth_map")["data"][0]
    assert len(heat["y"]) == 4 and heat["x"][0] == 0 and heat["x"][-1] == 20
    per_block = figure(at, "en_per_block")["data"]
    costs = per_block[0]["y"]  # deletion cost of each block of the trained net
    assert len(costs) == 4 and len(per_block[1]["y"]) == 4
    for thr in (0.005, 0.2):
        at.select_slider(key="en_thr").set_value(thr).run()
        counts = figure(at, "en_active")["data"][0]["y"]
        assert counts[-1] == sum(c >= thr for c in costs)  # active = costly to delete, not a norm
    assert any("initialisation" in i.value and "After training" in i.value or "already there" in i.value
               for i in at.info)  # where the band lies before training, as measured
    assert any("What to look for" in c.value for c in at.caption)


def test_readout_tab_reads_every_block_of_both_nets():
    at = open_page("views/ensemble.py", {"rd_depth": "3", "rd_steps": "20"})
    no_exception(at)
    assert not [k for k in ("rd_acc", "rd_strip") if any(getattr(c, "key", None) == k
                                                         for c in at.get("plotly_chart"))]
    at.button(key="rd_go").click().run()
    no_exception(at)
    acc = {d["name"]: d["y"] for d in figure(at, "rd_acc")["data"] if d.get("name")}
    assert len(acc) == 2 and all(len(v) == 4 for v in acc.values())
    heat = [d for d in figure(at, "rd_strip")["data"] if d["type"] == "heatmap"]
    assert len(heat) == 2 * 4  # two nets, readout before block 1 and after each of 3 blocks
    assert len(figure(at, "rd_cos")["data"]) == 2


def test_playground_models_can_be_measured():
    run = trained_playground({"A": NetworkSpec(depth=4, width=16),
                           "B": NetworkSpec(family="plain", depth=4, width=16)},
                          TrainSpec(steps=10))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[session.KEY] = run.live
    at.query_params["en_src"] = "A"
    at.query_params["en_samples"] = "10"
    at.run()
    at.switch_page("views/ensemble.py")
    at.run()
    no_exception(at)
    assert len([d for d in figure(at, "en_magnitude")["data"] if d.get("name")]) == 2
    at.radio(key="en_src").set_value("B").run()
    no_exception(at)
    assert any("no skip connections" in w.value for w in at.warning)
