"""Degradation page under AppTest: run a tiny sweep, change a setting, revisit from the store;
the identity test runs on a click and draws its grids."""

from __future__ import annotations

from tests.apptest_utils import figure, no_exception, open_page

QUERY = {"dg_maxdepth": "4", "dg_steps": "50", "dg_seeds": "1", "dg_width": "8"}


def _medians(at) -> list[float]:
    fig = figure(at, "dg_depth")
    return [y for t in fig["data"] if t.get("mode") == "lines+markers" for y in t["y"]]


def test_sweep_runs_changes_and_is_cached():
    at = open_page("views/degradation.py", QUERY)
    no_exception(at)
    assert not [k for k in ("dg_depth", "dg_curves") if any(k in el.proto.id for el in
                                                           at.get("plotly_chart"))]
    at.button(key="dg_run").click().run()
    no_exception(at)
    fig = figure(at, "dg_depth")
    assert sorted({x for t in fig["data"] for x in t["x"]}) == [2, 4]
    first = _medians(at)
    assert len(at.get("download_button")) == 2
    curves = figure(at, "dg_curves")
    names = [t["name"] for t in curves["data"] if t.get("showlegend") is not False]
    assert any("training error" in n for n in names)  # the legend says which line is which

    at.select_slider(key="dg_steps").set_value(100).run()
    no_exception(at)
    assert not any("dg_depth" in el.proto.id for el in at.get("plotly_chart"))  # not stored yet
    at.button(key="dg_run").click().run()
    no_exception(at)
    assert _medians(at) != first

    at.select_slider(key="dg_steps").set_value(50).run()  # back: straight from the store
    no_exception(at)
    assert _medians(at) == first


def test_identity_test_runs_on_a_click(monkeypatch):
    from resviz.experiments import identity

    tiny = identity.IdentitySpec(depths=(1, 3), seeds=1, width=8, steps=20)
    monkeypatch.setattr(identity, "IdentitySpec", lambda: tiny)
    at = open_page("views/degradation.py", QUERY)
    no_exception(at)
    assert not any("dg_id_error" in el.proto.id for el in at.get("plotly_chart"))
    at.button(key="dg_id_run").click().run()
    no_exception(at)
    err = figure(at, "dg_id_error")
    assert {x for t in err["data"] for x in t.get("x", [])} >= {1, 3}
    grid = figure(at, "dg_id_grid")
    # per family: the input grid (grey) and its image, one trace per line
    assert len(grid["data"]) == 2 * 2 * 2 * identity.GRID_LINES


def test_page_default_is_the_tested_sweep():
    """The page's default settings build exactly deg.page_sweep(), the sweep the slow test in
    test_degradation.py holds to the paper's effect (and that precompute stores)."""
    from resviz.experiments import degradation as deg

    at = open_page("views/degradation.py")
    no_exception(at)
    d = deg.page_sweep()
    state = {k: at.session_state[k] for k in ("dg_maxdepth", "dg_seeds", "dg_steps", "dg_data",
                                             "dg_width", "dg_norm", "dg_lr", "dg_opt", "dg_init")}
    assert deg.page_sweep(state["dg_maxdepth"], state["dg_seeds"], state["dg_steps"], state["dg_data"],
                          state["dg_width"], state["dg_norm"], state["dg_lr"], state["dg_opt"],
                          state["dg_init"]) == d
    assert any(", ".join(map(str, d.depths)) in c.value for c in at.caption)
