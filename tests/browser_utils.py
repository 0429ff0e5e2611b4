"""Drive the real app in Debian's Chromium: start `streamlit run`, open pages, wait for reruns.

Shared by tests/test_e2e_browser.py and the browser benchmarks (benchmarks/bench_browser.py,
benchmarks/load.py). Flags follow DESIGN.md; Playwright never downloads a browser here.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("RESVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-dev-shm-usage"]
SERVER_FLAGS = ["--server.headless", "true", "--server.address", "127.0.0.1",
                "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
STEP_RE = re.compile(r"step (\d+) of (\d+)")
FINISHED_RE = re.compile(r"Finished · (\d+) steps")
READY = "[data-testid=stApp][data-test-connection-state=CONNECTED]"
IDLE = "[data-test-script-state=notRunning]"
FRESH = "[data-testid=stElementContainer]:not([data-stale=true])"  # fragment reruns retain stale copies


# A run's milestones, noted in the page on the browser's clock (performance.now(), ms): the
# first pointer down (the Start click), the step counter first off 0, and "Finished · N
# steps". A MutationObserver notes them, so a benchmark waits on a flag instead of polling
# the page's text: Playwright's text lookups every 0.1 s cost a tab about as much CPU as its
# own redraws (measured: 0.49 vs 0.34 cores for one training tab), and a student runs none.
WATCH = """(steps) => {
  const w = window.__rv = {click: null, moved: null, finished: null};
  document.addEventListener("pointerdown", () => {
    if (w.click === null) w.click = performance.now(); }, true);
  const main = document.querySelector("[data-testid=stMain]");
  const done = "Finished · " + steps + " steps";
  new MutationObserver((_, obs) => {
    if (w.click === null) return;
    const text = main.textContent;
    if (w.moved === null && /step [1-9][0-9]* of/.test(text)) w.moved = performance.now();
    if (text.includes(done)) { w.finished = performance.now(); obs.disconnect(); }
  }).observe(main, {subtree: true, childList: true, characterData: true});
}"""
FINISHED = "() => window.__rv.finished !== null"
SINCE_CLICK = "() => [(window.__rv.moved - window.__rv.click) / 1000, " \
              "(window.__rv.finished - window.__rv.click) / 1000]"


def chromium_missing() -> str | None:
    """Why the browser cannot run here, or None when it can."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"{CHROMIUM} not found (install it with `make chromium`)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_health(port: int, proc: subprocess.Popen, timeout: float = 90) -> None:
    """Poll /_stcore/health until the server answers 'ok' (or died, or timed out)."""
    url = f"http://127.0.0.1:{port}/_stcore/health"
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"streamlit did not become healthy on port {port} in {timeout:.0f} s")


@contextmanager
def streamlit_server(port: int | None = None, env: dict[str, str] | None = None,
                     log: Path | None = None, launcher: bool = False
                     ) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run `streamlit run app.py` (or, with `launcher`, `python -m ui.serve` as `make app`
    does) on a free local port; yield (base URL, process); stop it after."""
    port = port or free_port()
    full_env = {**os.environ, "RESVIZ_THREADS": "1", "OMP_NUM_THREADS": "1", **(env or {})}
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115
    serve = ["ui.serve"] if launcher else ["streamlit", "run", "app.py"]
    cmd = [sys.executable, "-m", *serve, "--server.port", str(port), *SERVER_FLAGS]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        wait_health(port, proc)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        stop(proc)
        if log:
            out.close()


def stop(proc: subprocess.Popen) -> None:
    """Stop the server's own process group (and only it)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def wait_idle(page: Any, timeout: float = 60_000) -> None:
    """Wait until the app is connected and its script has finished this run."""
    page.wait_for_selector(READY, timeout=timeout)
    page.wait_for_selector(IDLE, timeout=timeout, state="attached")


def open_page(page: Any, url: str, timeout: float = 60_000) -> None:
    page.goto(url, timeout=timeout)
    wait_idle(page, timeout)


def close_not_found(page: Any, wait_ms: int = 1500) -> None:
    """Close Streamlit's "Page not found" dialog that a fresh server opened on a deep link may
    still show (issue #14, item 1; fixed on another branch): it makes the page inert."""
    dialog = page.get_by_role("dialog").filter(has_text="Page not found")
    try:
        dialog.wait_for(timeout=wait_ms)
    except Exception:  # noqa: BLE001 - no dialog: nothing to close
        return
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached", timeout=10_000)


def exceptions(page: Any) -> list[str]:
    """Texts of every exception box Streamlit shows on the page."""
    return page.locator("[data-testid=stException]").all_inner_texts()


def step(page: Any) -> int | None:
    """A live page's step counter ('step N of M', or 'Finished · N steps'), None when not shown."""
    for pattern in (STEP_RE, FINISHED_RE):
        loc = page.locator(FRESH).get_by_text(pattern).first
        try:
            if loc.count() == 0:
                continue
            m = pattern.search(loc.inner_text(timeout=2000))
        except Exception:  # noqa: BLE001 - replaced by a rerun between lookup and read
            return None
        if m:
            return int(m.group(1))
    return None


def finished(page: Any) -> int | None:
    """The step count of 'Finished · N steps' when a live page shows it, else None."""
    loc = page.locator(FRESH).get_by_text(FINISHED_RE).first
    try:
        m = FINISHED_RE.search(loc.inner_text(timeout=1000)) if loc.count() else None
    except Exception:  # noqa: BLE001
        return None
    return int(m.group(1)) if m else None


def running(page: Any) -> bool:
    return page.locator(FRESH).get_by_text("training", exact=True).count() > 0


def paused(page: Any) -> bool:
    """The status line says 'step N of M · paused' (a fragment rerun never shows that while
    the run goes on, unlike the mere absence of 'training')."""
    return page.locator(FRESH).get_by_text(re.compile(r"step \d+ of \d+ · paused")).count() > 0


def accuracy(page: Any, name: str) -> float | None:
    """The Playground's shown test accuracy of model `name` ('A: test accuracy 97.3%')."""
    loc = page.locator(f".st-key-pg_acc_{name} {FRESH}").first
    try:
        m = re.search(r"([\d.]+)%", loc.inner_text(timeout=2000))
    except Exception:  # noqa: BLE001
        return None
    return float(m.group(1)) / 100 if m else None


def click_button(page: Any, key: str) -> None:
    """Click the live page's button `key` (e.g. 'pg_start'), waiting for it to be enabled."""
    page.locator(f".st-key-{key} button:not([disabled])").first.click(timeout=60_000)


def wait_for(predicate: Any, timeout: float = 60, every: float = 0.1) -> Any:
    """Poll `predicate()` until it returns something truthy; return it, or raise on timeout."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise TimeoutError(f"condition not met in {timeout} s")
        time.sleep(every)


def metric(page: Any, index: int = 0) -> str:
    """The displayed value of the index-th st.metric on the page."""
    return page.locator(f"{FRESH} [data-testid=stMetricValue]").nth(index).inner_text().strip()


def fresh(page: Any, key: str) -> Any:
    """The current (not stale) element drawn with `key`."""
    return page.locator(f"{FRESH}.st-key-{key}").first


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and its children (psutil when present, else /proc)."""
    try:
        import psutil

        p = psutil.Process(pid)
        return sum(q.memory_info().rss for q in [p, *p.children(recursive=True)])
    except ImportError:
        pass
    total = 0
    for q in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{q}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def cpu_by_pid(pid: int, only: str | None = None) -> dict[int, float]:
    """CPU seconds used so far by `pid` and each of its children (for the server: its engine
    workers), from /proc; `only`: just the children whose command line holds that text."""
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid, *_children(pid)]
    if only:
        pids = [q for q in pids[1:] if only.encode() in _cmdline(q)]
    out = {}
    for q in pids:
        try:
            fields = Path(f"/proc/{q}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[q] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return out


def cpu_seconds(pid: int, only: str | None = None) -> float:
    """The sum of `cpu_by_pid`."""
    return sum(cpu_by_pid(pid, only).values())


def browser_cpu_seconds() -> float:
    """CPU seconds used so far by the Chromium processes this process launched (Playwright)."""
    return cpu_seconds(os.getpid(), only="chrom")


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for k in kids:
            out += [int(k), *_children(int(k))]
    return out
