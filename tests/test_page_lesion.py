"""The Lesion page under AppTest: trained here, and the Playground's models with their toggles."""

from __future__ import annotations

import numpy as np
from apptest_utils import ROOT, figure, no_exception, open_page
from streamlit.testing.v1 import AppTest

from resviz.spec import NetworkSpec, TrainSpec
from ui import session


def _named(fig: dict) -> dict[str, dict]:
    return {d["name"]: d for d in fig["data"] if d.get("name")}


def test_trained_here_residual_survives_deletion_plain_does_not():
    at = open_page("pages/views/lesion.py", {"le_depth": "6", "le_steps": "60", "le_draws": "2"})
    no_exception(at)
    assert not at.get("plotly_chart")  # nothing is drawn before the button
    at.button(key="le_go").click().run()
    no_exception(at)
    single = list(_named(figure(at, "le_single")).values())
    assert len(single) == 3 and all(len(d["y"]) == 6 for d in single)
    residual, plain, _sd = (np.mean(d["y"]) for d in single)
    assert residual > plain + 0.2
    k_points = sum(len(d["x"]) for d in figure(at, "le_k")["data"] if not d.get("name"))
    assert k_points == 3 * 7 * 2  # three nets, k = 0..6, two draws
    at.slider(key="le_draws").set_value(3).run()  # a new setting: nothing cached, asks again
    no_exception(at)
    assert not at.get("plotly_chart")
    at.slider(key="le_draws").set_value(2).run()  # back: the stored result shows at once
    assert len(_named(figure(at, "le_reorder"))) == 3


def test_playground_toggles_carry_over():
    run = session.new_run({"A": NetworkSpec(depth=5, width=16),
                           "B": NetworkSpec(family="plain", depth=5, width=16)},
                          TrainSpec(dataset="moons", steps=30))
    for _r in run.trainer.run():
        pass
    run.models["A"].set_skips([True, False, True, True, True])
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[session.KEY] = run
    at.query_params["le_src"] = "playground"
    at.query_params["le_draws"] = "2"
    at.switch_page("pages/views/lesion.py")
    at.run()
    no_exception(at)
    assert any("blocks 2." in w.value or "blocks 2 " in w.value for w in at.warning)
    assert any("no skip connections" in c.value for c in at.caption)
    single = _named(figure(at, "le_single"))
    assert len(single) == 2
    a = next(d for n, d in single.items() if "A" in n)
    assert a["marker"]["symbol"][1] == "x" and a["marker"]["symbol"][0] == "circle"
    assert run.models["A"].skips == [True, False, True, True, True]  # the Playground's net untouched
