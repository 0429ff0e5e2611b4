"""The loss-landscape page under AppTest: it runs, and its widgets change what is plotted."""

from __future__ import annotations

import numpy as np
from apptest_utils import ROOT, figure, no_exception, open_page
from streamlit.testing.v1 import AppTest

from resviz.spec import NetworkSpec, TrainSpec
from ui import session

PAGE = "pages/views/landscape.py"
SMALL = {"ls_depth": "2", "ls_width": "8", "ls_n": "200", "ls_steps": "100"}


def contour_z(at) -> list[np.ndarray]:  # noqa: ANN001
    fig = figure(at, "ls_contour")
    return [np.asarray(t["z"], dtype=float) for t in fig["data"] if t["type"] == "contour"]


def test_page_draws_both_landscapes_and_depth_changes_them() -> None:
    at = open_page(PAGE, SMALL)
    no_exception(at)
    first = contour_z(at)
    assert len(first) == 2 and all(z.shape == (21, 21) for z in first)
    assert not np.allclose(first[0], first[1])  # plain and residual differ
    surf = figure(at, "ls_surface")
    assert sum(t["type"] == "surface" for t in surf["data"]) == 2
    lines = figure(at, "ls_lines")
    assert len(lines["data"]) == 4  # two models x (interpolation, direction)
    rough = figure(at, "ls_rough")
    assert all(0 <= v <= 1 for t in rough["data"] for v in t["y"])

    at.select_slider(key="ls_depth").set_value(4).run()
    no_exception(at)
    second = contour_z(at)
    assert not np.allclose(first[0], second[0])
    assert at.query_params["ls_depth"] == ["4"] or at.query_params["ls_depth"] == "4"
    # two depths computed: the roughness-against-depth figure appears, with both depths
    depths = figure(at, "ls_depths")
    assert sorted(depths["data"][0]["x"]) == [2, 4]

    at.select_slider(key="ls_grid").set_value(31).run()
    no_exception(at)
    assert all(z.shape == (31, 31) for z in contour_z(at))


def test_span_changes_the_axis() -> None:
    at = open_page(PAGE, {**SMALL, "ls_span": "0.5"})
    no_exception(at)
    x = figure(at, "ls_contour")["data"][0]["x"]
    assert min(x) == -0.5 and max(x) == 0.5


def test_playground_source_without_a_trained_run_explains() -> None:
    at = open_page(PAGE, {"ls_src": "playground"})
    no_exception(at)
    assert at.info, "the page should say how to get a trained model"
    assert not at.get("plotly_chart")


def test_playground_models_are_used_and_a_skip_toggle_shows() -> None:
    a = NetworkSpec(depth=3, width=8)
    run = session.new_run({"A": a, "B": a.replace(family="plain")},
                          TrainSpec(steps=10, n_samples=100))
    for _rec in run.trainer.run():
        pass
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[session.KEY] = run
    at.query_params["ls_src"] = "playground"
    at.switch_page(PAGE)
    at.run()
    no_exception(at)
    titles = [a["text"] for a in figure(at, "ls_contour")["layout"]["annotations"]]
    assert any(t.startswith("A:") for t in titles) and any(t.startswith("B:") for t in titles)
    before = contour_z(at)
    run.models["A"].set_skips(False)  # the Playground's per-block switch, on the trained net
    at.run()
    no_exception(at)
    after = contour_z(at)
    assert not np.allclose(before[0], after[0]) and np.allclose(before[1], after[1])
