"""The loss-landscape page under AppTest: nothing heavy on entry, a button computes (then the
store serves), its widgets change what is plotted, and Li's full-Hessian map is on a button."""

from __future__ import annotations

import numpy as np
import pytest
from apptest_utils import ROOT, figure, no_exception, open_page, set_skips, trained_playground
from streamlit.testing.v1 import AppTest

from resviz.spec import NetworkSpec, TrainSpec
from ui import session

PAGE = "views/landscape.py"
SMALL = {"ls_depth": "2", "ls_width": "8", "ls_n": "200", "ls_steps": "100"}


def contour_z(at) -> list[np.ndarray]:  # noqa: ANN001
    fig = figure(at, "ls_contour")
    return [np.asarray(t["z"], dtype=float) for t in fig["data"] if t["type"] == "contour"]


def compute(at):  # noqa: ANN001, ANN201
    """Click the page's compute button (shown only when the store has no result)."""
    assert not at.get("plotly_chart"), "nothing is computed before the click"
    at.button(key="ls_go").click().run()
    no_exception(at)
    return at


def test_page_draws_both_landscapes_and_depth_changes_them() -> None:
    at = open_page(PAGE, SMALL)
    no_exception(at)
    compute(at)
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
    compute(at)
    second = contour_z(at)
    assert not np.allclose(first[0], second[0])
    assert at.query_params["ls_depth"] == ["4"] or at.query_params["ls_depth"] == "4"
    # two depths computed: the roughness-against-depth figure appears, with both depths
    depths = figure(at, "ls_depths")
    assert sorted(depths["data"][0]["x"]) == [2, 4]

    at.select_slider(key="ls_grid").set_value(31).run()
    no_exception(at)
    compute(at)
    assert all(z.shape == (31, 31) for z in contour_z(at))

    at.select_slider(key="ls_depth").set_value(2)
    at.select_slider(key="ls_grid").set_value(21).run()
    no_exception(at)
    np.testing.assert_allclose(contour_z(at)[0], first[0])  # from the store: no button needed
    assert not [b for b in at.button if b.key == "ls_go"]


def test_span_changes_the_axis() -> None:
    at = open_page(PAGE, {**SMALL, "ls_span": "0.5"})
    no_exception(at)
    compute(at)
    x = figure(at, "ls_contour")["data"][0]["x"]
    assert min(x) == -0.5 and max(x) == 0.5


def test_playground_source_without_a_trained_run_explains() -> None:
    at = open_page(PAGE, {"ls_src": "playground"})
    no_exception(at)
    assert at.info, "the page should say how to get a trained model"
    assert not at.get("plotly_chart")


def test_playground_models_are_used_and_a_skip_toggle_shows() -> None:
    a = NetworkSpec(depth=3, width=8)
    run = trained_playground({"A": a, "B": a.replace(family="plain")},
                          TrainSpec(steps=10, n_samples=100))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[session.KEY] = run.live
    at.query_params["ls_src"] = "playground"
    at.switch_page(PAGE)
    at.run()
    no_exception(at)
    titles = [a["text"] for a in figure(at, "ls_contour")["layout"]["annotations"]]
    assert any(t.startswith("A:") for t in titles) and any(t.startswith("B:") for t in titles)
    before = contour_z(at)
    set_skips(run, "A", [False] * 3)  # the Playground's per-block switch, on the trained net
    at.run()
    no_exception(at)
    after = contour_z(at)
    assert not np.allclose(before[0], after[0]) and np.allclose(before[1], after[1])


@pytest.mark.slow
def test_page_warns_when_the_nets_sit_at_different_losses() -> None:
    at = open_page(PAGE, {**SMALL, "ls_steps": "100", "ls_depth": "8"})
    compute(at)
    losses = [float(m.value) for m in at.metric if m.label == "loss at θ"]
    assert len(losses) == 2
    similar = max(losses) < 0.05 or max(losses) <= 2 * min(losses)
    warned = any("did **not** train to similar losses" in w.value for w in at.warning)
    assert warned == (not similar)


@pytest.mark.slow
def test_full_hessian_map_on_a_button() -> None:
    at = open_page(PAGE, {**SMALL, "ls_hgrid": "5", "ls_seed": "5"})
    compute(at)
    with pytest.raises(KeyError):
        figure(at, "ls_hessian")
    at.button(key="ls_hessian_go").click().run()
    no_exception(at)
    fig = figure(at, "ls_hessian")
    maps = [t for t in fig["data"] if t["type"] == "heatmap"]
    assert len(maps) == 2 and all(np.asarray(t["z"]).shape == (5, 5) for t in maps)
    for t in maps:
        lo, hi = np.asarray(t["customdata"], dtype=float)[..., 0], \
            np.asarray(t["customdata"], dtype=float)[..., 1]
        np.testing.assert_allclose(np.asarray(t["z"], dtype=float), np.abs(lo) / hi, rtol=1e-6)
    at.run()  # stored now: drawn again with no click
    no_exception(at)
    assert figure(at, "ls_hessian")
