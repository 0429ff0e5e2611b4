"""The server's warm-up, once per process: the engine's workers, and the imports pages need.

Why:
- Ten tabs opened at once on a fresh server imported pandas in several script threads. plotly
  reads numpy, pandas and PIL.Image straight from sys.modules, without the import lock, so
  one session's figure met another session's half-imported pandas: "partially initialized
  module 'pandas' has no attribute 'Series'" (benchmarks/load.py, 10 users). app.py calls
  `preload()` before anything else: the first session imports them, and a session that
  arrives meanwhile waits for it instead of racing it.
- On a fresh server a page's first run imports torch, plotly and the views' modules (about
  6 s on the 2-core box), and Start stays disabled until the engine's first worker has
  imported torch too (a deep link to the Playground: about 9 s, benchmarks/bench_cold.py).
  `make app` runs ui/serve.py, which calls `warm_pages()` as the server starts, so the
  class's first page finds that done. (app.py does not: under plain `streamlit run` the
  first visitor would wait for every page's imports, not only its own.)
"""

from __future__ import annotations

import ast
import importlib
import threading
from pathlib import Path

from ui.nav import PAGES

ROOT = Path(__file__).resolve().parents[1]
UNLOCKED = ("numpy", "pandas", "PIL.Image")  # what plotly looks up in sys.modules, unimported

_lock = threading.Lock()
_done = threading.Event()


def page_imports() -> list[tuple[str, tuple[str, ...]]]:
    """(module, names imported from it) for every import at the top of every page, read from
    the pages' source (not run)."""
    found: list[tuple[str, tuple[str, ...]]] = []
    for page in PAGES:
        for node in ast.parse((ROOT / page.path).read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                found += [(alias.name, ()) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.append((node.module, tuple(alias.name for alias in node.names)))
    return list(dict.fromkeys(found))


def _import(module: str, names: tuple[str, ...] = ()) -> None:
    """Import `module`, and each of `names` that is a submodule (`from ui import charts`)."""
    try:
        mod = importlib.import_module(module)
        for name in names:
            if not hasattr(mod, name):
                importlib.import_module(f"{module}.{name}")
    except ImportError:
        pass  # the page that needs it says so when it runs


def import_unlocked() -> None:
    """Import what plotly reads from sys.modules, in this thread, before any figure is made."""
    for module in UNLOCKED:
        _import(module)


def preload() -> None:
    """Start the engine (its workers warm up in their own processes) and import what plotly
    reads unlocked. Once per process; a caller that arrives while it runs waits for it."""
    if _done.is_set():
        return
    with _lock:
        if _done.is_set():
            return
        # here, not at the top: ui.serve imports this module before the server starts, and
        # these import torch (seconds)
        from resviz.device import DeviceError, limit_threads
        from resviz.engine import executor

        try:
            limit_threads()  # before any import computes with torch (as app.py does first)
        except DeviceError:
            pass  # app.py says so on the page
        threading.Thread(target=executor, daemon=True, name="resviz-prewarm").start()
        import_unlocked()
        _done.set()


def warm_pages() -> None:
    """preload(), then import every module the pages import (ui.serve: before the first
    visitor; a page's first run then finds them done)."""
    preload()
    for module, names in page_imports():
        _import(module, names)
