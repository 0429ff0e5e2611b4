"""The LSTM analogy page (views/lstm.py) through AppTest: T and the forget bias reach the plots."""

from __future__ import annotations

import math

import numpy as np
from apptest_utils import figure, no_exception
from live_apptest import open_live_page as open_page
from live_apptest import until_trained

from resviz.sequence import DEFAULTS

PAGE = "views/lstm.py"
SMALL = {"sq_T": "12", "sq_hidden": "8", "sq_steps": "50"}


def traces(fig: dict) -> dict[str, list[float]]:
    return {t["name"]: t["y"] for t in fig["data"] if t.get("name")}


def test_length_slider_sets_time_and_depth_axes() -> None:
    at = open_page(PAGE, SMALL)
    no_exception(at)
    g = traces(figure(at, "sq_grads"))
    assert len(g["vanilla RNN"]) == 12 and len(g["plain deep net"]) == 6
    assert g["vanilla RNN"][0] < g["residual RNN"][0]
    at.slider(key="sq_T").set_value(40).run()
    no_exception(at)
    g = traces(figure(at, "sq_grads"))
    assert len(g["LSTM"]) == 40 and len(g["residual deep net"]) == 20
    assert g["vanilla RNN"][0] < 1e-3 * g["LSTM"][0]  # vanishing over 40 steps, at init
    assert np.asarray(figure(at, "sq_cell")["data"][0]["z"]).shape == (8, 40)


def test_forget_bias_slider_moves_the_forget_gates() -> None:
    at = open_page(PAGE, SMALL)
    mean = figure(at, "sq_forget")["data"][0]["y"]
    assert abs(np.mean(mean) - 1 / (1 + math.exp(-DEFAULTS.forget_bias))) < 0.06
    at.slider(key="sq_fb").set_value(0.0).run()
    no_exception(at)
    assert abs(np.mean(figure(at, "sq_forget")["data"][0]["y"]) - 0.5) < 0.06


def test_start_trains_the_three_nets() -> None:
    at = open_page(PAGE, SMALL)
    at.button(key="sq_start").click().run()
    curves = until_trained(at, "sq_curves")
    assert len(curves[0]["y"]) > 1
    status = [m.value for m in [*at.markdown, *at.success]
              if "of 50" in m.value or "Finished" in m.value]
    assert status and all("step 0 of" not in v for v in status)  # it moved (or already finished)


def test_step_ten_and_the_figures_say_their_step() -> None:
    at = open_page(PAGE, SMALL)
    at.button(key="sq_step10").click().run()
    no_exception(at)
    assert any("step 10 of 50" in m.value for m in at.markdown)
    assert any("at step 10" in c.value for c in at.caption)
    assert len(figure(at, "sq_curves")["data"][0]["y"]) == 10
