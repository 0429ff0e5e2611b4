"""The app's page list and URL keys: every page exists, and no two pages share a URL key.

Widget keys double as URL query keys (ui/params.py); two pages using one key with different
ranges would restore one page's value into the other's widget.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from ui.nav import PAGES

ROOT = Path(__file__).resolve().parents[1]
KEY = re.compile(r'params\.\w+\(\s*f?"([a-z0-9_]+)')


def test_every_page_file_exists_and_urls_are_unique() -> None:
    assert all((ROOT / p.path).exists() for p in PAGES)
    assert len({p.url for p in PAGES}) == len(PAGES)


def test_no_url_key_is_used_by_two_pages() -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for path in list((ROOT / "views").rglob("*.py")) + list((ROOT / "ui").glob("*.py")):
        for key in KEY.findall(path.read_text()):
            owners[key].add(path.name)
    shared = {k: v for k, v in owners.items() if len(v) > 1}
    assert not shared, shared
    assert "pg_data" in owners and "lang" in owners  # the pattern really finds keys


# --- lesson links (ui/params: hide=) and presenter sizes, through AppTest ------------------------


def test_a_lesson_link_hides_a_control_and_its_value_still_applies() -> None:
    from tests.apptest_utils import no_exception, open_page

    at = open_page("views/architecture.py",
                   {"hide": "ar_group,settings,no-such!key", "ar_group": "gates"})
    no_exception(at)
    assert "ar_group" not in [r.key for r in at.radio]  # hidden: not drawn
    assert not [s for s in at.selectbox if s.key in ("lang", "device")]  # the settings group
    assert "ar_view" not in [r.key for r in at.radio]  # lazy tabs: the gallery tab only
    captions = " ".join(c.value for c in at.caption)
    assert "Highway and gated blocks are not part" in captions  # the hidden value applies
    assert "hides some controls" in captions
    assert at.query_params["ar_group"] in ("gates", ["gates"])
    # the maker offers this page's controls and the groups, hidden ones preselected
    maker = next(m for m in at.multiselect if m.key.startswith("_lesson_hide"))
    assert {"Blocks", "Width"} <= set(maker.options)  # shown by their labels
    assert any(o.startswith("group: settings") for o in maker.options)
    assert set(maker.value) == {"ar_group", "settings"}
    maker.set_value(["ar_group", "ar_width"]).run()
    link = at.code[-1].value
    assert "hide=ar_group,ar_width" in link and "ar_group=gates" in link


def test_without_a_lesson_link_every_control_is_drawn() -> None:
    from tests.apptest_utils import no_exception, open_page

    at = open_page("views/architecture.py")
    no_exception(at)
    assert "ar_group" in [r.key for r in at.radio]
    assert any(s.key == "lang" for s in at.selectbox)
    assert not any("hides some controls" in c.value for c in at.caption)


@pytest.mark.slow
def test_presenter_mode_scales_every_chart() -> None:
    """Read from the figure JSON: ticks >= 18 px, titles >= 22 px, legends >= 18 px, lines
    thicker in proportion (the bold/thin distinction survives)."""
    from tests.apptest_utils import figures, no_exception, open_page

    at = open_page("views/gradient_flow.py", {"presenter": "1"}, timeout=300)
    no_exception(at)
    figs = figures(at)
    assert figs
    for fig in figs:
        lay = fig["layout"]
        axes = [v for k, v in lay.items() if re.fullmatch(r"[xy]axis\d*", k)]
        assert axes and all(a["tickfont"]["size"] >= 18 for a in axes)
        assert all(a["title"]["font"]["size"] >= 20 for a in axes)
        assert lay["title"]["font"]["size"] >= 22 and lay["legend"]["font"]["size"] >= 18
        assert all(a["font"]["size"] >= 22 for a in lay.get("annotations", [])
                   if a.get("yanchor") == "bottom" and a.get("yref") == "paper")
    init = next(f for f in figs if any(t.get("name") == "plain" for t in f["data"]))
    widths = {t["name"]: t["line"]["width"] for t in init["data"]}
    assert widths["plain"] == pytest.approx(3 * 1.8)
    assert min(widths.values()) == pytest.approx(1.5 * 1.8)  # thin stays thinner
