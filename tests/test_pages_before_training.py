"""Every page, opened first in a fresh session (nothing trained yet), works or says what to do.

Generic over ui/nav.py PAGES, so pages that are still placeholders are covered too. A page
that needs the Playground's model (it calls ui.session.require_trained) must say so and offer
to train the default pair; pressing that button trains it and the page then draws.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.apptest_utils import ROOT, no_exception, open_page
from ui.nav import PAGES
from ui.session import KEY, PlaygroundRun

NEEDS_MODEL = [p for p in PAGES if "require_trained(" in (ROOT / p.path).read_text()]
PLACEHOLDER = "under construction"
# URL settings that make a page use the Playground's model (pages may also train their own)
USE_PLAYGROUND = {"ensemble.py": {"en_src": "A"}, "landscape.py": {"ls_src": "playground"},
                  "lesion.py": {"le_src": "playground"}}


def offer(at) -> list:
    return [b for b in at.button if str(b.key or "").endswith("_train_default")]


def says_what_to_do(at) -> bool:
    """The Playground offer (ui.session.require_trained): an info naming it and a train button."""
    return any("Playground" in str(i.value) for i in at.info) and bool(offer(at))


def placeholder(info) -> bool:
    return PLACEHOLDER in (ROOT / info.path).read_text()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("info", PAGES, ids=[p.url for p in PAGES])
def test_page_opened_first_shows_no_exception(info) -> None:
    at = open_page(info.path, timeout=240)
    no_exception(at)
    assert KEY not in at.session_state or at.session_state[KEY] is None or info.path.endswith(
        "playground.py"), "opening a page must not train the Playground behind the user's back"
    shown = len(at.main.children)
    assert shown > 0, "the page drew nothing"
    if not at.get("plotly_chart") and not placeholder(info):
        assert at.info and at.button, "a page with nothing drawn yet must say what to do and offer it"
    if offer(at):
        assert says_what_to_do(at)


@pytest.mark.timeout(300)
def test_offer_to_train_trains_the_default_pair_and_the_page_draws() -> None:
    """The mechanism every model-needing page uses (ui.session.require_trained), end to end."""
    for page in NEEDS_MODEL:
        at = open_page(page.path, USE_PLAYGROUND.get(Path(page.path).name), timeout=240)
        if says_what_to_do(at):
            break
    else:
        pytest.skip("no page offers the default pair: " + ", ".join(p.path for p in NEEDS_MODEL))
    offer(at)[0].click().run()
    no_exception(at)
    run = PlaygroundRun(at.session_state[KEY])
    assert run.steps == run.tspec.steps > 0 and run.live.state == "finished"
    assert not says_what_to_do(at), "after training, the page must stop asking"
