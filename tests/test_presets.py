"""Presets: every preset button opens its page with exactly its settings, and the link round-trips."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptest_utils import ROOT, no_exception
from streamlit.testing.v1 import AppTest

from resviz.presets import PRESETS, Preset, by_key
from ui.nav import PAGES


def _text(value) -> str:
    """A widget value as ui.params writes it into the URL."""
    return str(int(value)) if isinstance(value, bool) else str(value)


def _placeholder(page: str) -> bool:
    return "under construction" in Path(ROOT / page).read_text(encoding="utf-8")


def _settings(at: AppTest, preset: Preset) -> dict[str, str]:
    return {k: _text(at.session_state[k]) for k in preset.query if k in at.session_state}


def _url(at: AppTest) -> dict[str, str]:
    return {k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items()}


def test_presets_are_well_formed() -> None:
    pages = {p.path for p in PAGES}
    keys = [p.key for p in PRESETS]
    assert len(set(keys)) == len(keys) == 6
    labels = [p.name for p in PRESETS]
    for needle in ("He 2015 Fig. 1", "He 2015 Fig. 4", "He 2016 Table 2", "Veit 2016 Fig. 3 and 6",
                   "Srivastava 2015 Fig. 2", "Li 2018"):
        assert any(label.startswith(needle) for label in labels)
    for p in PRESETS:
        assert p.page in pages and (ROOT / p.page).exists()
        assert p.jobs, p.key
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in p.params)


@pytest.mark.parametrize("key", [p.key for p in PRESETS])
def test_preset_button_opens_its_page_with_its_settings(key: str) -> None:
    """Click the preset on the home page; the target page reads every one of its settings."""
    preset = by_key(key)
    if _placeholder(preset.page):
        pytest.skip(f"{preset.page} is still a placeholder")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.selectbox(key="ho_preset").set_value(key).run()
    at.button(key="ho_preset_open").click().run()
    no_exception(at)
    assert not at.warning or all("not valid here" not in w.value for w in at.warning)
    # every key is read by the page (a widget of that key exists) and holds the preset's value
    assert _settings(at, preset) == preset.query
    url = _url(at)
    assert all(url.get(k, v) == v for k, v in preset.params)

    # round trip: the URL the page shows reopens to the same settings and the same URL
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    for k, v in url.items():
        again.query_params[k] = v
    again.switch_page(preset.page).run()
    no_exception(again)
    assert _settings(again, preset) == preset.query
    assert _url(again) == url


def test_preset_overrides_values_kept_from_an_earlier_visit() -> None:
    """A value changed on the page before must not survive opening the preset."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.session_state["_keep_a_ord"] = "relu_before_add"  # as left by an earlier Playground visit
    at.session_state["_keep_a_depth"] = 80  # not a preset setting: back to the page's default
    at.selectbox(key="ho_preset").set_value("he2016").run()
    at.button(key="ho_preset_open").click().run()
    no_exception(at)
    assert at.session_state["a_ord"] == "full_preact"
    assert at.session_state["a_depth"] == 20


def _precompute(monkeypatch, preset: Preset) -> dict:
    from resviz.experiments import precompute

    monkeypatch.setattr(precompute, "PRESETS", (preset,))
    args = type("Args", (), {"only": None, "no_home": True, "dry_run": False, "serial": False})()
    return precompute.main(args)


@pytest.mark.parametrize("page,query,prompt", [
    ("views/lesion.py", {"le_depth": "2", "le_steps": "20", "le_draws": "1", "le_sd": "0"},
     "Train and lesion"),
    ("views/degradation.py", {"dg_maxdepth": "4", "dg_seeds": "1", "dg_steps": "50", "dg_width": "8"},
     "Run the sweep"),
])
def test_precompute_fills_exactly_what_the_page_reads(monkeypatch, tmp_path, page, query, prompt) -> None:
    """Open the page with these settings: before precompute it asks to train; after, it shows results."""
    monkeypatch.setenv("RESVIZ_STORE", str(tmp_path))  # other tests may have stored these results
    job = Path(page).stem
    before = AppTest.from_file(str(ROOT / page), default_timeout=120)
    for k, v in query.items():
        before.query_params[k] = v
    before.run()
    assert any(prompt in i.value for i in before.info)
    out = _precompute(monkeypatch, Preset("x", "X", "fig", page, tuple(query.items()), "note", (job,)))
    assert [d["job"] for d in out["done"]] == [f"x/{job}"], out
    after = AppTest.from_file(str(ROOT / page), default_timeout=120)
    for k, v in query.items():
        after.query_params[k] = v
    after.run()
    no_exception(after)
    assert not any(prompt in i.value for i in after.info)
    assert after.get("plotly_chart")


def test_precompute_skips_what_it_cannot_compute(monkeypatch) -> None:
    fake = Preset("x", "X", "fig", "views/highway.py", (), "note", ("highway", "no_such_job"))
    out = _precompute(monkeypatch, fake)
    assert out["done"] == []
    assert [s["job"] for s in out["skipped"]] == ["x/highway", "x/no_such_job"]


def test_precompute_lists_every_preset_job() -> None:
    from resviz.experiments import precompute

    labels = [label for label, _job in precompute.jobs(home=True)]
    home = {"home/story", "home/identity", "home/resnet_family", "home/orderings"}
    assert home <= set(labels)
    assert [f"{p.key}/{j}" for p in PRESETS for j in p.jobs] == labels[len(home):]
    assert all(j in precompute.JOBS for p in PRESETS for j in p.jobs)


def test_chosen_preset_lives_in_the_url() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params["ho_preset"] = "li2018"
    at.run()
    no_exception(at)
    assert at.selectbox(key="ho_preset").value == "li2018"
    assert any("/landscape?" in c.value and "ls_depth=20" in c.value for c in at.code)
    at.selectbox(key="ho_preset").set_value("he2016").run()
    assert _url(at)["ho_preset"] == "he2016"
