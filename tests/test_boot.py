"""The server's warm-up (ui.boot, ui.serve): what a fresh server does before its first visitor."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests import browser_utils as bu

ROOT = Path(__file__).resolve().parents[1]


def test_sessions_that_arrive_together_never_meet_a_half_imported_module():
    """Ten tabs on a fresh server: plotly reads pandas from sys.modules without the import
    lock, and met another session's half-imported pandas ("partially initialized module
    'pandas' has no attribute 'Series'"). Every session calls preload() first; one that
    arrives while another is in it waits, so when it returns, what plotly reads unlocked is
    whole. A fresh interpreter, so nothing is imported already; sessions arrive every 0.1 s
    for 6 s, so some come while the first one imports."""
    code = """
import os, sys, threading, time
from ui import boot
seen = []
N = 60
def session():
    boot.preload()
    for name in boot.UNLOCKED:
        mod = sys.modules.get(name)
        seen.append(mod is not None and not getattr(mod.__spec__, "_initializing", False))
threads = [threading.Thread(target=session) for _ in range(N)]
for t in threads:  # sessions keep arriving while the first one is in preload()
    t.start()
    time.sleep(0.1)
for t in threads: t.join()
assert seen == [True] * N * len(boot.UNLOCKED), seen
assert "pandas" in sys.modules and hasattr(sys.modules["pandas"], "Series")
from tests import browser_utils as bu
deadline = time.monotonic() + 120
while not bu.cpu_by_pid(os.getpid(), only="resviz.engine.local"):  # a worker process: started
    assert time.monotonic() < deadline, "preload() did not start the engine"
    time.sleep(0.2)
"""
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=240, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                         "RESVIZ_WORKERS": "1"})
    assert r.returncode == 0, r.stderr[-2000:]


def test_page_imports_are_read_from_the_pages():
    """warm_pages() imports what the pages import, found in their source: a page's own
    modules are in the list, from-imports of submodules included."""
    from ui import boot

    found = dict(boot.page_imports())
    assert "torch" in found and "ui" in found and "charts" in found["ui"]
    assert "resviz.engine" in found or "resviz.experiments.landscape" in found


def test_make_app_starts_the_engine_before_the_first_visitor():
    """`make app` runs ui.serve: the engine's workers start with the server, not when the
    first page is opened (under `streamlit run app.py` nothing of ours runs before it)."""
    with bu.streamlit_server(launcher=True, env={"RESVIZ_WORKERS": "2"}) as (_url, proc):
        deadline = time.monotonic() + 120
        while len(bu.cpu_by_pid(proc.pid, only="resviz.engine.local")) < 2:
            assert time.monotonic() < deadline, "no engine worker started before any visitor"
            time.sleep(0.5)
    with bu.streamlit_server(env={"RESVIZ_WORKERS": "2"}) as (_url, proc):
        time.sleep(5)
        assert not bu.cpu_by_pid(proc.pid, only="resviz.engine.local")  # the contrast
