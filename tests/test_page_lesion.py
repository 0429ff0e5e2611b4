"""The Lesion page under AppTest: trained here, and the Playground's models with their toggles."""

from __future__ import annotations

import numpy as np
from apptest_utils import ROOT, figure, no_exception, open_page, set_skips, trained_playground
from streamlit.testing.v1 import AppTest

from resviz.spec import NetworkSpec, TrainSpec
from ui import session


def _named(fig: dict) -> dict[str, dict]:
    return {d["name"]: d for d in fig["data"] if d.get("name")}


def test_trained_here_residual_survives_deletion_plain_does_not():
    at = open_page("views/lesion.py", {"le_depth": "6", "le_steps": "60", "le_draws": "5"})
    no_exception(at)
    assert not at.get("plotly_chart")  # nothing is drawn before the button
    at.button(key="le_go").click().run()
    no_exception(at)
    single = list(_named(figure(at, "le_single")).values())
    assert len(single) == 3 and all(len(d["y"]) == 6 for d in single)
    residual, plain, _sd = (np.mean(d["y"][1:]) for d in single)
    assert residual > plain + 0.2
    k_fig = figure(at, "le_k")
    means = _named(k_fig)
    assert len(means) == 3 and all(d["x"] == [0, 1, 2, 3, 4, 5] for d in means.values())  # first spared
    bands = [d for d in k_fig["data"] if d.get("fill") == "toself"]
    assert len(bands) == 3
    for band, mean in zip(bands, means.values()):  # the band holds the mean at every k
        hi, lo = band["y"][:6], band["y"][6:][::-1]
        assert all(lo_ - 1e-9 <= m <= hi_ + 1e-9 for lo_, m, hi_ in zip(lo, mean["y"], hi))
    stars = [d for d in k_fig["data"] if d.get("marker", {}).get("symbol") == "star"]
    assert [s["y"][0] for s in stars] == [d["y"][0] for d in single]  # block 1 alone, reported apart
    assert any("What to look for" in c.value for c in at.caption)
    at.slider(key="le_draws").set_value(10).run()  # a new setting: nothing cached, asks again
    no_exception(at)
    assert not at.get("plotly_chart")
    at.slider(key="le_draws").set_value(5).run()  # back: the stored result shows at once
    assert len(_named(figure(at, "le_reorder"))) == 3
    at.toggle(key="le_first").set_value(True).run()  # first block in the draws: a new study
    assert not at.get("plotly_chart")


def test_playground_toggles_carry_over():
    run = trained_playground({"A": NetworkSpec(depth=5, width=16),
                           "B": NetworkSpec(family="plain", depth=5, width=16)},
                          TrainSpec(dataset="moons", steps=30))
    set_skips(run, "A", [True, False, True, True, True])
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[session.KEY] = run.live
    at.query_params["le_src"] = "playground"
    at.query_params["le_draws"] = "5"
    at.switch_page("views/lesion.py")
    at.run()
    no_exception(at)
    assert any("blocks 2." in w.value or "blocks 2 " in w.value for w in at.warning)
    assert any("no skip connections" in c.value for c in at.caption)
    single = _named(figure(at, "le_single"))
    assert len(single) == 2
    a = next(d for n, d in single.items() if "A" in n)
    assert a["marker"]["symbol"][1] == "x" and a["marker"]["symbol"][0] == "circle"
    assert run.live.newest().skips["A"] == [True, False, True, True, True]  # the Playground's net untouched
