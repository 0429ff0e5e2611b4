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


def until_trained(at: AppTest, chart: str, points: int = 2, timeout: float = 30) -> list[dict]:
    """After Start: rerun as the page's fragment does until the `chart`'s first curve has at
    least `points` points (the worker trains on its own clock); its traces."""
    from apptest_utils import figure, no_exception

    end = time.monotonic() + timeout
    while True:
        at.run()
        no_exception(at)
        curves = figure(at, chart)["data"]
        if len(curves[0]["y"]) >= points or time.monotonic() > end:
            return curves
        time.sleep(0.2)
