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
    assert len(set(keys)) == len(keys) == 5
    labels = [p.name for p in PRESETS]
    for needle in ("He 2015 Fig. 1", "He 2016 Table 2", "Veit 2016 Fig. 3 and 6", "Srivastava 2015 Fig. 2",
                   "Li 2018"):
        assert any(label.startswith(needle) for label in labels)
    for p in PRESETS:
        assert p.page in pages and (ROOT / p.page).exists()
        assert p.runs, p.key
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in p.params)


@pytest.mark.parametrize("key", [p.key for p in PRESETS])
def test_preset_button_opens_its_page_with_its_settings(key: str) -> None:
    """Click the preset on the home page; the target page reads every one of its settings."""
    preset = by_key(key)
    if _placeholder(preset.page):
        pytest.skip(f"{preset.page} is still a placeholder")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.selectbox(key="ho_presets_choice").set_value(key).run()
    at.button(key="ho_presets_open").click().run()
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
    at.selectbox(key="ho_presets_choice").set_value("he2016").run()
    at.button(key="ho_presets_open").click().run()
    no_exception(at)
    assert at.session_state["a_ord"] == "full_preact"


def test_precompute_runs_presets_and_skips_missing_commands(monkeypatch) -> None:
    from resviz.experiments import orderings, precompute

    tiny = ("orderings", "--depth", "2", "--width", "8", "--samples", "200", "--steps", "5", "--seeds", "1")
    fake = Preset("x", "X", "fig", "pages/playground.py", (), "note", (tiny, ("no_such_experiment",)))
    monkeypatch.setattr(precompute, "PRESETS", (fake,))
    args = type("A", (), {"only": None, "no_home": True, "dry_run": False})()
    out = precompute.main(args)
    assert [d["job"] for d in out["done"]] == ["x/" + " ".join(tiny)]
    assert out["skipped"][0]["job"] == "x/no_such_experiment"
    # the store now holds the result: the same run is not computed again
    monkeypatch.setattr(orderings, "train_seed", lambda *a: pytest.fail("recomputed"))
    net = orderings.DEFAULT_NET.replace(depth=2, width=8)
    orderings.run(net, orderings.DEFAULT_TRAIN.replace(n_samples=200, steps=5), seeds=(0,))


def test_precompute_lists_every_preset_run() -> None:
    from resviz.experiments import precompute

    labels = [label for label, _job in precompute.jobs(home=True)]
    assert {"home/story", "home/resnet_family", "home/orderings"} <= set(labels)
    for p in PRESETS:
        for argv in p.runs:
            assert any(label.endswith(" ".join(argv)) for label in labels)
