"""The screen in a real browser: any page opened first is the whole app, nothing is fetched from
outside the machine, presenter mode keeps navigation and puts charts high on the first screen.

Each test that needs a *fresh* server starts its own (the deep-link bug lived in a class-wide
flag that only the first URL of a server's life could show). Without Chromium the tests skip
locally and fail in CI, like tests/test_e2e_browser.py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests import browser_utils as bu
from ui.nav import PAGES

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TIMEOUT = 120_000  # ms
LOCAL = re.compile(r"^(https?|wss?)://(127\.0\.0\.1|localhost)[:/]|^(data|blob|about):")
NAV_LINKS = "[data-testid=stSidebarNav] a, a[data-testid=stSidebarNavLink], [data-testid=stTopNavLink] a"


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    why = bu.chromium_missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {why}")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def _watch(page: Any) -> list[str]:
    """Collect every request the page makes to a host other than this machine."""
    outside: list[str] = []
    page.on("request", lambda r: None if LOCAL.match(r.url) else outside.append(r.url))
    return outside


def _nav_texts(page: Any) -> list[str]:
    """The visible label of every navigation link (the icon's ligature name is its first line)."""
    return [t.strip().split("\n")[-1].strip() for t in page.locator(NAV_LINKS).all_inner_texts()
            if t.strip()]


@pytest.mark.parametrize("first", ["playground", "gradients"])
def test_a_deep_link_opened_first_is_the_whole_app_and_stays_offline(playwright: Any,
                                                                    first: str) -> None:
    """A fresh server, a bookmark to a page that is not Home: page titles in the navigation
    (not file names), the shared sidebar with the language selector, and no outside request."""
    browser = bu.launch(playwright)
    try:
        with bu.streamlit_server() as (base, _proc):
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            outside = _watch(page)
            bu.open_page(page, f"{base}/{first}", timeout=TIMEOUT)
            nav = _nav_texts(page)
            assert "Playground" in nav and "Home: the story" in nav, nav
            assert not {"app", "playground", "gradient_flow", "home"} & set(nav), nav
            assert len(nav) == len(PAGES)
            assert page.get_by_text("Language / 语言").count() == 1
            assert page.locator("[data-testid=stSidebar] .st-key-presenter").count() == 1
            assert page.title() == "ResViz"
            icon = page.locator("link[rel='shortcut icon']").get_attribute("href") or ""
            assert icon.startswith(base) or icon.startswith("/"), icon  # served by the app
            assert bu.exceptions(page) == []
            page.wait_for_timeout(1000)  # late requests (favicon, fonts) have started by now
            assert outside == [], f"requests left the machine: {outside[:5]}"
    finally:
        browser.close()


def test_a_deep_link_opened_first_shows_no_page_not_found_dialog(playwright: Any) -> None:
    """Streamlit 1.67 runs a server in pages-directory mode while a top-level pages/ folder exists
    (the first deep link then got a 'Page not found' dialog, or ran the page file without the
    app shell); the page scripts live in views/ so the app is the same app from any URL."""
    browser = bu.launch(playwright)
    try:
        with bu.streamlit_server() as (base, _proc):
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            bu.open_page(page, f"{base}/architecture", timeout=TIMEOUT)
            assert page.get_by_text("Page not found").count() == 0
    finally:
        browser.close()


def test_presenter_mode_keeps_navigation_and_puts_charts_on_the_first_screen(playwright: Any
                                                                             ) -> None:
    browser = bu.launch(playwright)
    try:
        with bu.streamlit_server() as (base, _proc):
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            outside = _watch(page)
            bu.open_page(page, f"{base}/gradients?presenter=1&lang=zh", timeout=TIMEOUT)
            page.keyboard.press("Escape")  # the first deep link's spurious 'Page not found'
            chart = page.locator("[data-testid=stPlotlyChart]").first
            chart.wait_for(timeout=TIMEOUT)
            nav = page.locator("[data-testid=stTopNavLink]")
            assert nav.count() >= 3, "presenter mode must keep a page menu in view"
            title = page.locator("h1").first.bounding_box()
            assert title is not None and title["y"] < 110, title  # no empty band above the title
            box = chart.bounding_box()
            assert box is not None and box["y"] < 900 - 200, box  # the chart starts on screen one
            ticks = page.locator("[data-testid=stPlotlyChart] .ytick text").first
            size = float(ticks.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
            assert size >= 18, size
            assert bu.exceptions(page) == []
            assert outside == [], outside[:5]
    finally:
        browser.close()


def test_presenter_mode_shows_the_whole_title_of_every_page_below_the_menu(playwright: Any
                                                                           ) -> None:
    """At a projector's 1024x768 in presenter mode the page menu sits on top: no page's own
    CSS (the Playground moves its title up) may slide the title under it."""
    browser = bu.launch(playwright)
    try:
        with bu.streamlit_server() as (base, _proc):
            page = browser.new_page(viewport={"width": 1024, "height": 768})
            for path in ("playground", "gradients", "highway"):
                bu.open_page(page, f"{base}/{path}?presenter=1&lang=zh", timeout=TIMEOUT)
                bu.close_not_found(page)
                menu = page.locator("[data-testid=stTopNavLink]").first.bounding_box()
                title = page.locator("h1").first.bounding_box()
                assert menu is not None and title is not None
                assert title["y"] >= menu["y"] + menu["height"] - 2, (path, title, menu)
            assert bu.exceptions(page) == []
    finally:
        browser.close()


def test_a_chinese_page_stays_chinese_while_it_trains(playwright: Any) -> None:
    """The live part redraws in timed fragment reruns, which do not run the app's top: every
    label drawn there (status line, accuracy, charts) must still be in the page's language."""
    from resviz import i18n

    i18n.set_language("zh")
    try:
        step_zh = i18n._("step {step} of {max}").split("{")[0].strip()
        acc_zh = i18n._("{name}: test accuracy **{acc}**").format(name="A", acc="").strip("* ")
        loss_zh = i18n._("Training loss")
    finally:
        i18n.set_language("en")
    assert step_zh and step_zh != "step" and loss_zh != "Training loss"
    browser = bu.launch(playwright)
    try:
        with bu.streamlit_server() as (base, _proc):
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            bu.open_page(page, f"{base}/playground?lang=zh&pg_steps=3000", timeout=TIMEOUT)
            bu.close_not_found(page)
            bu.click_button(page, "pg_start")
            page.wait_for_timeout(4000)  # several timed redraws, and a 3-s chart refresh
            main = page.locator("[data-testid=stMain]").inner_text()
            assert step_zh in main and "step " not in main, main[:400]
            assert acc_zh in main and "test accuracy" not in main
            curves = bu.fresh(page, "pg_curves").inner_text()
            assert loss_zh in curves and "Training loss" not in curves
            assert bu.exceptions(page) == []
    finally:
        browser.close()
