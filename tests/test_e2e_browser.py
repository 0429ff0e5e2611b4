"""The real app in a real browser: every page opens cleanly, the Playground trains live.

Playwright drives Debian's Chromium (/usr/bin/chromium, never a downloaded browser) against
`streamlit run app.py` on a free local port. Screenshots land in artifacts/screenshots/
(git-ignored). Without Chromium the tests skip locally but FAIL in CI (env var CI set).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import browser_utils as bu
from ui.nav import PAGES

pytestmark = pytest.mark.browser
SHOTS = bu.ROOT / "artifacts" / "screenshots"
MAIN_CONTENT = "[data-testid=stMain] [data-testid=stElementContainer]"
PAGE_TIMEOUT = 90_000  # ms: a page may build data or a model on its first run


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    why = bu.chromium_missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {why}")
        pytest.skip(why)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with bu.streamlit_server(log=SHOTS.parent / "streamlit.log") as (base, _proc):
        yield base


@pytest.fixture(scope="session")
def browser(server: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = bu.launch(p)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    yield pg
    context.close()


@pytest.mark.parametrize("info", PAGES, ids=[p.url for p in PAGES])
def test_page_opens_without_exception(server: str, page: Any, info: Any) -> None:
    bu.open_page(page, f"{server}/{info.url}", timeout=PAGE_TIMEOUT)
    page.wait_for_selector(MAIN_CONTENT, timeout=PAGE_TIMEOUT)
    bu.wait_idle(page, PAGE_TIMEOUT)
    page.screenshot(path=str(SHOTS / f"{Path(info.path).stem}.png"), full_page=True)
    assert bu.exceptions(page) == []


def _accuracy(page: Any, index: int) -> float:
    return float(bu.metric(page, index).rstrip("%")) / 100


def test_playground_trains_live_and_skip_toggle_changes_accuracy(server: str, page: Any) -> None:
    bu.open_page(page, f"{server}/playground", timeout=PAGE_TIMEOUT)
    heatmap = bu.fresh(page, "pg_boundary_A").locator("image").first
    heatmap.wait_for(timeout=PAGE_TIMEOUT, state="attached")
    assert bu.step(page) == 0
    before = heatmap.get_attribute("href")

    page.locator(".st-key-pg_start button").click()
    bu.wait_for(lambda: (bu.step(page) or 0) > 0, timeout=60)
    bu.wait_for(lambda: _accuracy(page, 0) >= 0.8, timeout=120, every=0.5)
    assert heatmap.get_attribute("href") != before, "the decision boundary did not change while training"

    page.locator(".st-key-pg_pause button").click()
    bu.wait_for(lambda: page.get_by_text("training", exact=True).count() == 0, timeout=30)
    bu.wait_idle(page)
    paused_at = bu.step(page)
    page.wait_for_timeout(1500)
    assert bu.step(page) == paused_at, "training went on after Pause"

    trained = bu.metric(page, 0)
    page.locator(".st-key-pg_all_off_A button").click()
    bu.wait_for(lambda: bu.metric(page, 0) != trained, timeout=30)
    bu.wait_idle(page)
    assert _accuracy(page, 0) < float(trained.rstrip("%")) / 100 - 0.1
    page.screenshot(path=str(SHOTS / "playground_skips_off.png"), full_page=True)
    assert bu.exceptions(page) == []


def test_url_settings_apply_and_bad_values_get_a_notice(server: str, page: Any) -> None:
    xss = '<img src=x onerror="window.__xss=1">'
    page.goto(f"{server}/playground?a_depth=7&pg_noise=banana&pg_data={xss}")
    bu.wait_idle(page, PAGE_TIMEOUT)
    title = bu.fresh(page, "pg_boundary_A").locator(".gtitle")
    title.wait_for(timeout=PAGE_TIMEOUT)
    assert "7 blocks" in title.text_content()
    alerts = " ".join(page.locator("[data-testid=stAlert]").all_inner_texts())
    assert "pg_noise" in alerts and "pg_data" in alerts
    assert page.evaluate("window.__xss") is None, "a URL value was rendered as HTML"
    assert bu.exceptions(page) == []
