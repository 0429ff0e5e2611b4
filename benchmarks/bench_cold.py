"""A class's first minute on a fresh server, in Debian's Chromium (a measurement, not a test).

The teacher starts the server and opens a deep link to the Playground. Timed from the moment
the server answers its health check:

  page drawn     : the page's first run has drawn the Playground's controls
  Start enabled  : the Playground's Start button can be pressed (the engine's first worker
                   has imported torch and warmed up)

for each way of starting the server ("streamlit run app.py", and `make app`, which runs
`python -m ui.serve`: the same app with its warm-up started as the server starts), with the
visitor arriving at once or `--delay` seconds later (a teacher reading the URL off the
terminal). Each case is a fresh server; page errors are reported.

  .venv/bin/python benchmarks/bench_cold.py [--repeats 2] [--delay 8] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import browser_utils as bu  # noqa: E402

WAYS = {"streamlit run app.py": False, "make app (python -m ui.serve)": True}
DRAWN = ".st-key-pg_start button"  # the page's first run has reached its controls
START = f"{DRAWN}:not([disabled])"


def one(pw, launcher: bool, delay: float) -> dict:
    with bu.streamlit_server(launcher=launcher) as (url, _proc):
        t0 = time.perf_counter()
        time.sleep(delay)
        browser = bu.launch(pw)
        try:
            page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
            arrive = time.perf_counter()
            page.goto(f"{url}/playground", timeout=120_000)
            page.wait_for_selector(DRAWN, timeout=120_000)
            drawn = time.perf_counter()
            page.wait_for_selector(START, timeout=120_000)
            enabled = time.perf_counter()
            errors = bu.exceptions(page)
        finally:
            browser.close()
    return {"delay_s": delay, "drawn_s": drawn - arrive, "start_enabled_s": enabled - arrive,
            "since_server_s": enabled - t0, "errors": errors}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--delay", type=float, default=8.0,
                   help="seconds between the server answering and the visitor arriving")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    from playwright.sync_api import sync_playwright

    out: dict[str, list[dict]] = {}
    with sync_playwright() as pw:
        for way, launcher in WAYS.items():
            for delay in (0.0, a.delay):
                out[f"{way}, visitor after {delay:.0f} s"] = [
                    one(pw, launcher, delay) for _ in range(a.repeats)]
    if a.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"{'case':48s} {'page drawn':>11s} {'Start enabled':>14s}  (seconds after the visitor "
          "opens /playground; median of runs)")
    for case, runs in out.items():
        med = {k: statistics.median(r[k] for r in runs) for k in ("drawn_s", "start_enabled_s")}
        errs = sum(len(r["errors"]) for r in runs)
        print(f"{case:48s} {med['drawn_s']:11.1f} {med['start_enabled_s']:14.1f}"
              + (f"  errors: {errs}" if errs else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
