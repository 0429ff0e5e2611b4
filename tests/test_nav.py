"""The app's page list and URL keys: every page exists, and no two pages share a URL key.

Widget keys double as URL query keys (ui/params.py); two pages using one key with different
ranges would restore one page's value into the other's widget.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from ui.nav import PAGES

ROOT = Path(__file__).resolve().parents[1]
KEY = re.compile(r'params\.\w+\(\s*f?"([a-z0-9_]+)')


def test_every_page_file_exists_and_urls_are_unique() -> None:
    assert all((ROOT / p.path).exists() for p in PAGES)
    assert len({p.url for p in PAGES}) == len(PAGES)


def test_no_url_key_is_used_by_two_pages() -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for path in list((ROOT / "pages").rglob("*.py")) + list((ROOT / "ui").glob("*.py")):
        for key in KEY.findall(path.read_text()):
            owners[key].add(path.name)
    shared = {k: v for k, v in owners.items() if len(v) > 1}
    assert not shared, shared
    assert "pg_data" in owners and "lang" in owners  # the pattern really finds keys
