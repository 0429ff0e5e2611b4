"""Home page: the story in order, live figures that measure the truth, buttons that open pages."""

from __future__ import annotations

import math

import pytest
from apptest_utils import ROOT, figure, no_exception
from streamlit.testing.v1 import AppTest

from resviz import story
from ui.nav import PAGES

PAGE = "views/home.py"


def test_home_is_the_default_page() -> None:
    assert PAGES[0].path == PAGE


def open_home(query: dict[str, str] | None = None) -> AppTest:
    """Run app.py itself (home is its default page), so the sidebar and ?lang= apply.

    (AppTest.switch_page before a first run executes the page file alone, without app.py.)
    """
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


@pytest.fixture(scope="module")
def home():
    at = open_home()
    no_exception(at)
    return at


def test_story_steps_in_the_article_order(home) -> None:
    heads = [h.value for h in home.subheader]
    titles = [s.title for s in story.STEPS]
    assert [h for h in heads if h in titles] == titles
    keys = [s.key for s in story.STEPS]
    assert keys == ["degradation", "identity", "skip", "residual", "gradients", "orderings", "ensemble",
                    "lesion", "readout", "highway", "family"]


def test_gradient_figure_is_measured(home) -> None:
    """At init without BN, the plain net's gradient vanishes towards the input; the residual's does not."""
    fig = figure(home, "ho_fig_gradients")
    plain, res = (tr["y"] for tr in fig["data"])
    assert math.log10(plain[-1] / plain[0]) > 6  # many orders of magnitude
    assert abs(math.log10(res[-1] / res[0])) < 1


def test_identity_step_offers_to_train_then_shows_the_effect(monkeypatch) -> None:
    """Step 2 trains nothing on entry: it asks, then draws error against depth from the run."""
    from resviz.experiments import identity

    monkeypatch.setattr(story, "IDENTITY", identity.IdentitySpec(depths=(1, 2), seeds=1, width=8,
                                                                 steps=10))
    at = open_home()
    no_exception(at)
    assert not any("ho_fig_identity" in el.proto.id for el in at.get("plotly_chart"))
    at.button(key="ho_train_identity").click().run()
    no_exception(at)
    fig = figure(at, "ho_fig_identity")
    assert {x for t in fig["data"] for x in t.get("x", [])} >= {1, 2}


def test_skip_keeps_the_signal(home) -> None:
    plain, res = (tr["y"] for tr in figure(home, "ho_fig_skip")["data"])
    assert res[-1] > 0.3 > abs(plain[-1])


def test_family_counts_match_torchvision(home) -> None:
    fig = figure(home, "ho_fig_family")
    millions = fig["data"][0]["y"]
    assert [round(m * 1e6) for m in millions] == [11_689_512, 21_797_672, 25_557_032, 44_549_160,
                                                   60_192_808]


def test_path_count_slider_changes_the_bars(home) -> None:
    home.slider(key="ho_blocks").set_value(20).run()
    no_exception(home)
    ys = figure(home, "ho_fig_ensemble")["data"][0]["y"]
    assert ys == [math.comb(20, k) for k in range(21)] and sum(ys) == 2 ** 20
    assert home.query_params["ho_blocks"] == ["20"] or home.query_params["ho_blocks"] == "20"


def test_orderings_show_the_paper_ranking(home) -> None:
    fig = figure(home, "ho_fig_orderings")
    paper = fig["data"][0]
    assert dict(zip(paper["x"], paper["text"]))["full_preact"] == "#1"
    assert dict(zip(paper["x"], paper["text"]))["bn_after_add"] == "#5"


def test_step_button_opens_its_page_with_settings(home) -> None:
    home.button(key="ho_go_orderings").click().run()
    no_exception(home)
    assert home.session_state["a_ord"] == "full_preact"
    assert home.session_state["b_ord"] == "bn_after_add"
    assert home.session_state["b_fam"] == "residual"


def test_trained_story_figures_tell_the_truth() -> None:
    """Degradation: the deep plain net trains worse than the shallow one, the residual net does not.

    Lesion: deleting one block leaves the residual net's accuracy (nearly) intact, while deleting
    any layer of the trained shallow plain net drops it far below its full accuracy.
    """
    at = open_home()
    if any(b.key == "ho_train_lesion" for b in at.button):  # else: stored by an earlier run
        at.button(key="ho_train_lesion").click().run()
    no_exception(at)
    curves = {tr["name"]: tr["y"] for tr in figure(at, "ho_fig_degradation")["data"]}
    shallow, deep, res = (curves[n] for n in ("plain, 6 blocks", "plain, 16 blocks", "residual, 16 blocks"))
    assert deep[-1] > 3 * shallow[-1] and deep[-1] > 3 * res[-1]
    fig = figure(at, "ho_fig_lesion")
    acc = {tr["name"]: tr["y"] for tr in fig["data"]}
    plain, res = acc["plain, 6 blocks"], acc["residual, 16 blocks"]
    full = [shape["y0"] for shape in fig["layout"]["shapes"]]
    assert min(full) > 0.9
    assert sorted(res)[len(res) // 2] > 0.85
    assert sorted(plain)[len(plain) // 2] < 0.7 and sum(plain) / len(plain) < min(full) - 0.2


def test_chinese_home() -> None:
    at = open_home({"lang": "zh"})
    no_exception(at)
    assert at.title[0].value == "残差网络，一步一步"
    assert "梯度" in figure(at, "ho_fig_gradients")["layout"]["title"]["text"]


def test_bad_link_falls_back_with_a_notice() -> None:
    at = open_home({"ho_blocks": "999", "ho_preset": "nope"})
    no_exception(at)
    notices = " ".join(w.value for w in at.warning)
    assert "ho_blocks" in notices and "ho_preset" in notices
    assert len(figure(at, "ho_fig_ensemble")["data"][0]["y"]) == 11  # the default, 10 blocks


@pytest.mark.parametrize("step", [s for s in story.STEPS if s.params], ids=lambda s: s.key)
def test_story_buttons_use_keys_their_page_reads(step) -> None:
    """Each setting a story button sends is a URL key its target page creates a widget for."""
    from apptest_utils import open_page

    at = open_page(step.page, dict(step.params))
    no_exception(at)
    for key, value in step.params:
        assert key in at.session_state, (step.key, key)
        got = at.session_state[key]
        assert (str(int(got)) if isinstance(got, bool) else str(got)) == value, (step.key, key, got)


@pytest.mark.slow
def test_readout_step_shows_the_residual_answer_forming() -> None:
    """Step 8: the residual net's head read after each block climbs to its final accuracy;
    the trained shallow plain net's readouts before its last layer are far below its own."""
    at = open_home()
    if any(b.key == "ho_train_readout" for b in at.button):  # else: stored by an earlier run
        at.button(key="ho_train_readout").click().run()
    no_exception(at)
    acc = {tr["name"]: tr["y"] for tr in figure(at, "ho_fig_readout")["data"]}
    plain, res = acc["plain, 6 blocks"], acc["residual, 16 blocks"]
    assert res[-1] > 0.9 and plain[-1] > 0.9
    assert max(res[:3]) < res[-1] - 0.1 and min(res[-4:]) > res[-1] - 0.1
    assert sum(plain[1:-1]) / len(plain[1:-1]) < plain[-1] - 0.25
