"""Browser timings of the Playground in Debian's Chromium (a measurement, not a test).

  open -> first chart  : from page.goto to the first Plotly chart drawn
  Start -> first update: from pressing Start to the step counter moving off 0
  600-step run         : from pressing Start to "Finished · 600 steps" (default pair); both
                         timed in the page, on the browser's clock, without polling its text
                         (browser_utils.WATCH)
  pair-steps/s         : 600 / that time (wall clock, as the user sees it)
  CPU ms per pair-step : server + engine worker CPU time during the run / 600, beside the
                         bare trainer's CPU per pair-step (same pair, same process count);
                         and the Streamlit server's own part of it (drawing the page)
  browser CPU          : Chromium's CPU time during the run (all its processes) / 600, and as
                         cores (CPU s / run s): what a tab on the same machine takes from training

Each run is a fresh browser context (a new Streamlit session) against one server; the first
run also pays the server's cold start (imports, first model build) and is shown apart.

  .venv/bin/python benchmarks/bench_browser.py --runs 4 [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import browser_utils as bu  # noqa: E402

proc_pid = 0


def bare_cpu_ms_per_pair_step(steps: int = 300) -> float:
    """The bare lockstep trainer on the default pair, one thread: CPU ms per pair-step."""
    import torch

    from resviz.data import load
    from resviz.models import build
    from resviz.spec import NetworkSpec, TrainSpec
    from resviz.train import Trainer

    torch.set_num_threads(1)
    data = load("spirals")
    base = NetworkSpec(depth=20, width=32)
    tr = Trainer({"A": build(base), "B": build(base.replace(family="plain"))}, data,
                 TrainSpec(steps=steps))
    t0 = time.process_time()
    for _ in tr.run():
        pass
    return 1000 * (time.process_time() - t0) / steps


def one_run(browser, base: str) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        t0 = time.perf_counter()
        page.goto(f"{base}/playground", timeout=120_000)
        bu.fresh(page, "pg_curves").locator(".main-svg").first.wait_for(timeout=120_000)
        chart = time.perf_counter() - t0
        bu.wait_idle(page, 120_000)
        bu.close_not_found(page)
        page.evaluate(bu.WATCH, 600)
        cpu0, browser0 = bu.cpu_seconds(proc_pid), bu.browser_cpu_seconds()
        server0 = bu.cpu_by_pid(proc_pid)[proc_pid]
        t1 = time.perf_counter()
        page.locator(".st-key-pg_start button:not([disabled])").click(timeout=120_000)
        page.wait_for_function(bu.FINISHED, polling=250, timeout=600_000)
        cpu = bu.cpu_seconds(proc_pid) - cpu0
        server = bu.cpu_by_pid(proc_pid)[proc_pid] - server0
        browser_cpu = bu.browser_cpu_seconds() - browser0
        wall = time.perf_counter() - t1  # CPU was read over this (the wait adds <= 0.25 s)
        update, run = page.evaluate(bu.SINCE_CLICK)
        bu.wait_for(lambda: bu.finished(page) == 600, timeout=30)
        assert bu.exceptions(page) == []
        return {"open_to_chart_s": chart, "start_to_update_s": update, "run_600_s": run,
                "pair_steps_per_s": 600 / run, "cpu_ms_per_pair_step": 1000 * cpu / 600,
                "server_cpu_ms_per_pair_step": 1000 * server / 600,
                "browser_cpu_ms_per_pair_step": 1000 * browser_cpu / 600,
                "browser_cores": browser_cpu / wall}
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

    global proc_pid
    bare = bare_cpu_ms_per_pair_step()
    with bu.streamlit_server(launcher=True) as (base, proc), sync_playwright() as p:
        proc_pid = proc.pid
        browser = bu.launch(p)
        runs = [one_run(browser, base) for _ in range(args.runs)]
        browser.close()
    table = summarise(runs)
    load = os.getloadavg()
    if args.json:
        print(json.dumps({"runs": runs, "summary": table, "bare_cpu_ms_per_pair_step": bare,
                          "loadavg": load}, indent=1))
        return
    print(f"bare trainer: {bare:.1f} CPU ms per pair-step; load average {load[0]:.1f}")
    print(f"{'timing (s)':<22}{'cold':>8}{'median':>9}{'min':>8}{'max':>8}   ({args.runs} runs)")
    for k, v in table.items():
        print(f"{k:<22}{v['cold']:>8.2f}{v['median_warm']:>9.2f}{v['min_warm']:>8.2f}{v['max_warm']:>8.2f}")


if __name__ == "__main__":
    main()
