"""Caches are bounded: every page-edge cache has max_entries or ttl, the disk store has a
size limit that it enforces, and fifty Playground reruns with new settings level off in memory.
"""

from __future__ import annotations

import ast
import gc
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from resviz import store
from tests.apptest_utils import no_exception, open_page

ROOT = Path(__file__).resolve().parents[1]
APP_FILES = [ROOT / "app.py", *sorted((ROOT / "views").rglob("*.py")), *sorted((ROOT / "ui").glob("*.py"))]
ST_CACHES = ("cache_data", "cache_resource")


def _is_cache(node: ast.AST) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    if not isinstance(target, ast.Attribute | ast.Name):
        return False
    name = ast.unparse(target)
    return name.split(".")[-1] in (*ST_CACHES, "cache", "lru_cache") and name.count(".") <= 1


def cache_uses(path: Path) -> list[tuple[int, str, ast.AST]]:
    """(line, name, node) for every st.cache_* / functools cache: decorators and explicit calls."""
    found: dict[int, ast.AST] = {}
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.update({id(d): d for d in node.decorator_list if _is_cache(d)})
        elif isinstance(node, ast.Call) and _is_cache(node):
            found[id(node)] = node
    return sorted(((n.lineno, ast.unparse(n.func if isinstance(n, ast.Call) else n), n)
                   for n in found.values()), key=lambda t: t[0])


def bounded(name: str, node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False  # bare @st.cache_data / @functools.cache: no bound
    kw = {k.arg: k.value for k in node.keywords}
    if name.endswith("lru_cache"):
        size = kw.get("maxsize", node.args[0] if node.args else None)
        return isinstance(size, ast.Constant) and isinstance(size.value, int)
    limits = [kw.get("max_entries"), kw.get("ttl")]
    return any(v is not None and not (isinstance(v, ast.Constant) and v.value is None) for v in limits)


def unbounded(path: Path) -> list[int]:
    return [line for line, name, node in cache_uses(path) if not bounded(name, node)]


def test_every_page_and_ui_cache_is_bounded() -> None:
    bad = [f"{p.relative_to(ROOT)}:{line}" for p in APP_FILES for line in unbounded(p)]
    assert bad == [], f"unbounded caches (give max_entries= or ttl=): {bad}"


def test_the_static_check_catches_an_unbounded_cache(tmp_path: Path) -> None:
    src = tmp_path / "page.py"
    src.write_text("import functools\nimport streamlit as st\ncache = {}\n@st.cache_data\ndef f(): ...\n"
                   "@st.cache_resource(show_spinner=False)\ndef g(): ...\n"
                   "@st.cache_data(max_entries=3)\ndef h(): ...\n"
                   "@functools.lru_cache(maxsize=None)\ndef i(): ...\n"
                   "j = st.cache_data(ttl=60)(len)\n")
    assert unbounded(src) == [4, 6, 10]


def test_disk_store_is_size_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RESVIZ_STORE_BYTES", raising=False)
    monkeypatch.delenv("RESVIZ_REDIS_URL", raising=False)
    assert 0 < store.size_limit() <= 4 * 2**30
    assert store.backend().size_limit == store.size_limit()

    limit = 2**20
    monkeypatch.setenv("RESVIZ_STORE_BYTES", str(limit))
    monkeypatch.setenv("RESVIZ_STORE", str(tmp_path / "small"))
    monkeypatch.delenv("RESVIZ_NO_STORE", raising=False)
    blob = np.zeros(64 * 1024, dtype=np.uint8)  # 64 KiB (about 87 KiB as an entry), 64 results
    for i in range(64):
        store.put(blob + i % 256, "bound-test", i)
    assert store.backend().volume() < 2 * limit, "the store grew past its size limit"
    assert store.get("bound-test", 63) is not None, "the newest result must survive eviction"
    assert store.get("bound-test", 0) is None, "the oldest result must have been evicted"


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@pytest.mark.timeout(300)
def test_fifty_playground_reruns_with_new_settings_level_off() -> None:
    """Each rerun rebuilds both models and the data; memory after 50 must stay near that after 10."""
    at = open_page("views/playground.py", {"a_depth": "3", "b_depth": "3", "pg_n": "200"})
    rss, py = [], []
    tracemalloc.start()
    try:
        for i in range(50):
            at.slider(key="pg_dseed").set_value(i % 100)
            at.selectbox(key="a_depth").set_value(2 + i % 5)
            at.run()
            no_exception(at)
            if i in (9, 49):
                gc.collect()
                rss.append(_rss())
                py.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    assert dict(at.session_state["pg_live"].config.specs)["A"].depth == 2 + 49 % 5
    grow_py, grow_rss = py[1] - py[0], rss[1] - rss[0]
    assert grow_py < 20 * 2**20, f"Python heap grew {grow_py / 2**20:.1f} MiB over 40 reruns"
    assert grow_rss < 150 * 2**20, f"RSS grew {grow_rss / 2**20:.1f} MiB over 40 reruns"
