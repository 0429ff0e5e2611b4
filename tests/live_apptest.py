"""AppTest helper for the pages that train live through the engine (ui.live)."""

from __future__ import annotations

import time

from apptest_utils import open_page
from streamlit.testing.v1 import AppTest


def open_live_page(page: str, query: dict[str, str] | None = None, timeout: float = 120) -> AppTest:
    """open_page, then rerun until the page's live run has its first snapshot (a fresh
    engine worker imports torch first), so its buttons are enabled."""
    at = open_page(page, query, timeout)
    end = time.monotonic() + timeout
    while any("Starting the training process" in str(i.value) for i in at.info):
        assert time.monotonic() < end, "the live run did not start"
        time.sleep(0.5)
        at.run()
    return at
