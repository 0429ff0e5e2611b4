"""The Chinese catalogue is complete, parses, keeps placeholders and the article's terms."""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from resviz import i18n

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "tools" / "i18n.py")
tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tool)

# English term -> the article's Chinese term (seed/000_*.txt); checked in every translation.
GLOSSARY = {
    r"skip connection": "跳跃连接",
    r"residual block": "残差块",
    r"degradation problem": "退化问题",
    r"pre-activation": "预激活",
    r"identity shortcut": "恒等快捷连接",
    r"gradient flow": "梯度流",
    r"batch normali[sz]ation": "批归一化",
}


@pytest.fixture(scope="module")
def catalog():
    with tool.PO.open("rb") as f:
        return read_po(f, locale="zh")


def test_catalogue_parses_as_chinese(catalog) -> None:
    assert str(catalog.locale) == "zh"
    assert len(catalog) > 50


def test_every_ui_string_has_a_translation(catalog) -> None:
    missing = tool.problems(catalog)["missing"]
    assert not missing, f"{len(missing)} lack Chinese (python tools/i18n.py check): {missing[:20]}"


def test_extractor_finds_known_strings() -> None:
    found = {m for m, _p, _l in tool.extract()}
    assert "Presenter mode (large type)" in found  # ui/layout.py
    assert "Playground" in found  # page title, reaches _() through a variable
    assert "full_preact" in found


def test_placeholders_are_preserved(catalog) -> None:
    for msg in catalog:
        if not msg.id or not msg.string:
            continue
        assert tool.fields(msg.id) == tool.fields(msg.string), msg.id
        names = {f.split(":")[0] for f in tool.fields(msg.id)}
        # "{customdata[0]:.3f}" (a Plotly hover template) indexes its value: give it a list
        dummy = {n.split("[")[0]: [1.0, 1.0] if "[" in n else 1.0 for n in names if n}
        msg.string.format(**dummy)  # formats without KeyError / ValueError


def test_translations_are_chinese_and_follow_the_article(catalog) -> None:
    han = re.compile(r"[\u4e00-\u9fff]")
    texts = [m for m in catalog if m.id and m.string]
    assert sum(bool(han.search(m.string)) for m in texts) > 0.9 * len(texts)
    for msg in texts:
        for en, zh in GLOSSARY.items():
            if re.search(en, msg.id, re.I):
                assert zh in msg.string, f"{msg.id!r} should use {zh}"


def test_runtime_switches_language() -> None:
    try:
        i18n.set_language("zh")
        assert i18n._("Presenter mode (large type)") == "演示模式（大字号）"
        assert i18n._("Model {name}").format(name="A") == "模型 A"
        assert i18n._("no such string xyz") == "no such string xyz"
        assert i18n.set_language("fr") == "en"
        assert i18n._("Model {name}") == "Model {name}"
    finally:
        i18n.set_language("en")


def test_update_keeps_existing_translations(tmp_path, monkeypatch) -> None:
    po = tmp_path / "resviz.po"
    shutil.copy(tool.PO, po)
    monkeypatch.setattr(tool, "PO", po)
    before = tool.known_translations(tool.load())
    monkeypatch.setattr(tool, "dynamic_msgids", lambda: ["A brand new string {n}"])
    tool.update()
    after = tool.load()
    assert "A brand new string {n}" in after and not after["A brand new string {n}"].string
    kept = tool.known_translations(after)
    assert all(kept.get(k) == v for k, v in before.items())  # active or obsolete, never lost


# --- the figures' labels: every page opened in Chinese ------------------------------------------

# Names of families, unit orderings and measurements that figure code writes into legends,
# titles and axes; none may reach a Chinese page untranslated. Family code names are lower case
# ("Highway 网络" and "LSTM" are proper names a translation keeps).
ENGLISH_LABEL = re.compile(
    r"\b(plain|residual|highway|gated|lstm|original|bn_after_add|relu_before_add|relu_preact|"
    r"full_preact|(?i:conductance|training|test|accuracy|loss|gradient|block|step|depth|paper|"
    r"counted|parameters|error))\b")


def figure_texts(fig: dict) -> list[str]:
    """Every string a reader sees in a figure: title, legend, axes, annotations, categories."""
    out: list[str] = []
    lay = fig.get("layout", {})

    def title(obj: object) -> None:
        if isinstance(obj, dict):
            obj = obj.get("text")
        if isinstance(obj, str):
            out.append(obj)

    title(lay.get("title"))
    for k, v in lay.items():
        if re.fullmatch(r"[xy]axis\d*", k) and isinstance(v, dict):
            title(v.get("title"))
            out += [str(t) for t in v.get("ticktext", []) or []]
        if k.startswith("coloraxis") and isinstance(v, dict):
            title(v.get("colorbar", {}).get("title"))
    out += [a.get("text", "") for a in lay.get("annotations", [])]
    for t in fig.get("data", []):
        if t.get("showlegend") is not False and t.get("name"):
            out.append(str(t["name"]))
        title(t.get("colorbar", {}).get("title"))
        for axis in ("x", "y"):
            vals = t.get(axis)
            if isinstance(vals, list):
                out += [v for v in vals if isinstance(v, str)]
    return out


def english_in_figures(figs: list[dict]) -> list[str]:
    return sorted({s for f in figs for s in figure_texts(f) if ENGLISH_LABEL.search(s)})


def test_the_label_check_finds_english() -> None:
    fig = {"layout": {"title": {"text": "梯度"}, "xaxis": {"title": {"text": "block"}}},
           "data": [{"name": "residual (original)"}, {"name": "残差", "x": ["plain", "残差"]}]}
    assert english_in_figures([fig]) == ["block", "plain", "residual (original)"]
    assert english_in_figures([{"layout": {"title": "ResNet-110 的误差"}, "data": []}]) == []


@pytest.mark.slow
@pytest.mark.parametrize("page", [p.path for p in __import__("ui.nav").nav.PAGES],
                         ids=lambda p: Path(p).stem)
def test_no_figure_label_is_left_in_english(page: str) -> None:
    """A Chinese class sees no English family, ordering or measurement name in any chart."""
    from apptest_utils import figures, no_exception, open_page

    i18n.set_language("zh")  # AppTest formats widget options in this thread too
    try:
        at = open_page(page, {"lang": "zh"}, timeout=300)
        no_exception(at)
        figs = figures(at)
        if page.endswith("architecture.py"):  # lazy tabs: visit every section
            for label in ("ResNet 家族", "CIFAR 系列"):
                at.session_state["ar_tab"] = label
                at.run()
                figs += figures(at)
    finally:
        i18n.set_language("en")
    # these pages compute only on a button (or from the store): nothing to draw on entry
    assert len(figs) > 0 or page.endswith(("degradation.py", "lesion.py", "landscape.py"))
    assert english_in_figures(figs) == []
