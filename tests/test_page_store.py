"""A damaged results store under the app: the pages say so once and go on working."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from apptest_utils import ROOT, figure, no_exception, open_page
from streamlit.testing.v1 import AppTest

from resviz import store


@pytest.fixture
def damaged_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store with results in it whose cache.db was then garbled (the header and first page)."""
    path = tmp_path / "store"
    monkeypatch.setenv("RESVIZ_STORE", str(path))
    for var in ("RESVIZ_NO_STORE", "RESVIZ_STORE_BYTES", "RESVIZ_REDIS_URL"):
        monkeypatch.delenv(var, raising=False)
    store.clear_notices()
    for i in range(100):
        store.put({"x": np.full(30, float(i))}, "filler", i)
    store.reset()
    with (path / "cache.db").open("r+b") as f:
        f.write(np.random.default_rng(0).bytes(4096))
    yield path
    store.reset()
    store.clear_notices()


def _notice(at: AppTest) -> list[str]:
    return [w.value for w in at.sidebar.warning if "was damaged" in w.value]


@pytest.mark.slow
def test_home_shows_the_notice_and_works(damaged_store: Path) -> None:
    with pytest.warns(store.StoreWarning, match="was damaged"):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    no_exception(at)
    assert len(_notice(at)) == 1
    assert len(at.subheader) >= 9  # every story step is drawn
    figure(at, "ho_fig_gradients")
    assert (damaged_store.parent / "store.corrupt").is_dir()


@pytest.mark.slow
def test_degradation_shows_the_notice_and_computes(damaged_store: Path) -> None:
    query = {"dg_maxdepth": "4", "dg_steps": "50", "dg_seeds": "1", "dg_width": "8"}
    with pytest.warns(store.StoreWarning, match="was damaged"):
        at = open_page("views/degradation.py", query)
    no_exception(at)
    assert len(_notice(at)) == 1
    at.button(key="dg_run").click().run()
    no_exception(at)
    assert sorted({x for t in figure(at, "dg_depth")["data"] for x in t["x"]}) == [2, 4]
    at.select_slider(key="dg_steps").set_value(100).run()
    at.select_slider(key="dg_steps").set_value(50).run()  # back: from the rebuilt store
    no_exception(at)
    figure(at, "dg_depth")
