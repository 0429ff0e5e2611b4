"""Browser timings of the Playground in Debian's Chromium (a measurement, not a test).

  open -> first chart : from page.goto to the first Plotly chart drawn
  Start -> first update: from clicking Start to the step counter moving off 0

Each run is a fresh browser context (a new Streamlit session) against one server; the first
run also pays the server's cold start (imports, first model build) and is shown apart.

  .venv/bin/python benchmarks/bench_browser.py --runs 4 [--json]
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


def one_run(browser, base: str) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        t0 = time.perf_counter()
        page.goto(f"{base}/playground", timeout=120_000)
        bu.fresh(page, "pg_curves").locator(".main-svg").first.wait_for(timeout=120_000)
        chart = time.perf_counter() - t0
        bu.wait_idle(page, 120_000)
        t1 = time.perf_counter()
        page.locator(".st-key-pg_start button").click()
        bu.wait_for(lambda: (bu.step(page) or 0) > 0, timeout=120, every=0.02)
        update = time.perf_counter() - t1
        assert bu.exceptions(page) == []
        return {"open_to_chart_s": chart, "start_to_update_s": update}
    finally:
        context.close()


def summarise(runs: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    warm = runs[1:] or runs
    return {k: {"cold": runs[0][k], "median_warm": statistics.median(r[k] for r in warm),
                "min_warm": min(r[k] for r in warm), "max_warm": max(r[k] for r in warm)}
            for k in runs[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    why = bu.chromium_missing()
    if why:
        sys.exit(why)
    from playwright.sync_api import sync_playwright

    with bu.streamlit_server() as (base, _proc), sync_playwright() as p:
        browser = bu.launch(p)
        runs = [one_run(browser, base) for _ in range(args.runs)]
        browser.close()
    table = summarise(runs)
    if args.json:
        print(json.dumps({"runs": runs, "summary": table}, indent=1))
        return
    print(f"{'timing (s)':<22}{'cold':>8}{'median':>9}{'min':>8}{'max':>8}   ({args.runs} runs)")
    for k, v in table.items():
        print(f"{k:<22}{v['cold']:>8.2f}{v['median_warm']:>9.2f}{v['min_warm']:>8.2f}{v['max_warm']:>8.2f}")


if __name__ == "__main__":
    main()
