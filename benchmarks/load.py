"""A classroom against one server: N browser sessions train on the Playground at once.

By default every session trains the default pair (20 blocks x 32, as the issue's class does),
each with a seed of its own (`?pg_seed=<i>`), so runs share a shape and a worker may train
them as one pass (resviz.batched.Gang). `--mix depth` gives each session a depth of its own
around the default 20 instead (`?a_depth=<d>&b_depth=<d>`): no two runs share a shape, the
harder case for the server. Each presses Start and trains to the step limit.
Checks: every session finishes, each sees only its own state (its seed on its Seed slider,
or its depth in model A's boundary title), its own step counter ending exactly at the limit,
no exception box.
Reports p50/p95 of open -> first chart and Start -> first live update (timed in the page:
browser_utils.WATCH, no polling of its text), the time to finish, the cores used by the
server + workers and by Chromium (in all, and while every session trains), and the server's
resident memory (sampled every 0.5 s; psutil if present, else /proc), and the crowd's
throughput against a bare PyTorch loop of the default pair measured just before the server
starts and just after it stops (this box's speed drifts by tens of percent within minutes).
A failed session leaves its screenshot, URL and console under artifacts/load/, beside the
server's log.

  .venv/bin/python benchmarks/load.py --users 10 [--steps 50] [--mix seed|depth]
      [--nice-browser] [--json]

--nice-browser sets every Chromium thread to the lowest CPU priority, a rough look at the
server without the tabs competing. It is only partly that: where Linux shares CPU between
sessions first (autogroup), a nice value counts only inside Chromium's own session (measured:
4 users 18.8 vs 15.7 pair-steps/s before the workers had sessions of their own).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_engine's bare loop

from tests import browser_utils as bu  # noqa: E402

TIMEOUT_MS = 1_800_000  # a crowd on two shared cores is slow; a stuck session still ends
LAUNCHER = os.environ.get("RESVIZ_LOAD_PLAIN") is None  # `make app` (ui.serve), as a class runs it
SHOTS = bu.ROOT / "artifacts" / "load"  # failed sessions' screenshots, URLs, consoles; server log
BARE_STEPS = 120  # steps of the bare loop measured before the server starts and after it stops
START_MS = 300_000  # a page not drawn, or its Start not enabled, within 5 min: that session fails


async def step_of(page) -> int | None:
    """The step counter now ('step N of M' or 'Finished · N steps'), or None while it is not
    drawn (a rerun may replace it any time)."""
    for pattern in (bu.STEP_RE, bu.FINISHED_RE):
        loc = page.locator(bu.FRESH).get_by_text(pattern).first
        try:
            if not await loc.count():
                continue
            m = pattern.search(await loc.inner_text(timeout=2000))
        except Exception:  # noqa: BLE001 - gone between lookup and read: ask again next poll
            return None
        if m:
            return int(m.group(1))
    return None


class User:
    """Session i of a crowd: its link and what only it should see."""

    def __init__(self, i: int, users: int, mix: str) -> None:
        self.seed, self.depth = (i % 100, 20) if mix == "seed" else (0, depth_of(i, users))
        self.label = f"seed{self.seed}" if mix == "seed" else f"depth{self.depth}"
        self.query = (f"pg_seed={self.seed}" if mix == "seed"
                      else f"a_depth={self.depth}&b_depth={self.depth}")

    async def sees_own_state(self, page, title) -> bool:
        if f"A: residual, {self.depth} blocks" not in (
                await title.text_content(timeout=TIMEOUT_MS) or ""):
            return False
        thumb = page.locator(".st-key-pg_seed [data-testid=stSliderThumbValue]").first
        return (await thumb.text_content(timeout=TIMEOUT_MS) or "").strip() == str(self.seed)


async def session(browser, base: str, user: User, steps: int, budget: float,
                  together: asyncio.Barrier) -> dict:
    """One user: open their link, Start, train to the limit, check they saw only their own run.
    Every session presses Start once all have opened their page (a class told "now press
    Start"), so the runs train at the same time however slowly the pages opened."""
    ctx = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await ctx.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{time.perf_counter():.1f} {m.type}: {m.text}"[:300]))
    out: dict = {"user": user.label, "ok": False}
    met = False  # this session reached the barrier (a failed one still releases the others)
    try:
        t0 = time.perf_counter()
        await page.goto(f"{base}/playground?{user.query}&pg_steps={steps}",
                        timeout=TIMEOUT_MS)
        title = page.locator(f"{bu.FRESH}[class*='st-key-pg_net_A_'] .gtitle").first
        out["phase"] = "opening"
        await title.wait_for(timeout=START_MS)
        out["chart_s"] = time.perf_counter() - t0
        await page.wait_for_selector(bu.IDLE, state="attached", timeout=TIMEOUT_MS)
        try:  # issue #14 item 1: a fresh server opened on a deep link shows a dialog
            await page.get_by_role("dialog").filter(has_text="Page not found").wait_for(timeout=1500)
            await page.keyboard.press("Escape")
        except Exception:  # noqa: BLE001 - no dialog
            pass
        start = page.locator(".st-key-pg_start button:not([disabled])")
        out["phase"] = "waiting for Start to be enabled"
        await start.wait_for(timeout=START_MS)
        out["phase"] = "waiting for the others"
        await together.wait()
        met = True
        await page.evaluate(bu.WATCH, steps)
        t1 = time.perf_counter()
        await start.click(timeout=TIMEOUT_MS)
        out["phase"] = "training"
        left = budget - (time.perf_counter() - t0)  # a slow crowd may have spent it opening
        await page.wait_for_function(bu.FINISHED, polling=500, timeout=1000 * max(1.0, left))
        out["update_s"], out["finish_s"] = await page.evaluate(bu.SINCE_CLICK)
        out["start_at"], out["end_at"] = t1, t1 + out["finish_s"]
        out["phase"] = "finished"
        # "Finished" is written in place before the page redraws its finished state, and a
        # crowded tab starts that redraw a second or more later: wait for its Continue
        await page.locator(f"{bu.FRESH}.st-key-pg_continue button").first.wait_for(
            timeout=TIMEOUT_MS)
        await page.wait_for_selector(bu.IDLE, state="attached", timeout=TIMEOUT_MS)
        own = await user.sees_own_state(page, title)
        errors = await page.locator("[data-testid=stException]").count()
        out.update(own_state=own, exceptions=errors, final_step=await step_of(page))
        out["ok"] = own and errors == 0 and out["final_step"] == steps
        if not out["ok"]:
            await leave_trace(page, user.label, console)
    except Exception as e:  # noqa: BLE001 - a load run reports failures, it does not stop
        out["error"] = f"{type(e).__name__} ({out.get('phase', 'opening')}): {str(e)[:200]}"
        try:
            out["last_step"] = await step_of(page)
            out["reconnecting"] = await page.locator(bu.READY).count() == 0
            await leave_trace(page, user.label, console)
        except Exception:  # noqa: BLE001
            pass
    finally:
        if not met:
            await together.wait()
        await ctx.close()
    return out


async def leave_trace(page, label: str, console: list[str]) -> None:
    """What a failed session's user saw: a screenshot, and its URL, the page's lines that
    mention a step, and its console, under artifacts/load/."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"failed_{label}.png"))
    texts = await page.locator("[data-testid=stMarkdownContainer]").all_inner_texts()
    (SHOTS / f"failed_{label}.txt").write_text("\n".join(
        [page.url, *(t for t in texts if "step" in t.lower()), *console]))


def depth_of(i: int, users: int) -> int:
    """User i's depth: all different, centred on the default 20 (10 users: 15..24), so the
    crowd trains as much as as many default pairs would."""
    return 1 + (19 - users // 2 + i) % 100


async def crowd(base: str, users: int, steps: int, budget: float, mix: str) -> list[dict]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=bu.CHROMIUM, args=bu.CHROMIUM_ARGS)
        together = asyncio.Barrier(users)
        results = await asyncio.gather(*[session(browser, base, User(i, users, mix), steps,
                                                 budget, together) for i in range(users)])
        await browser.close()
    return list(results)


def bare_rate(steps: int = BARE_STEPS) -> float:
    """The default pair's pair-steps/s in a bare PyTorch loop in this process (one thread),
    with nothing else running: this box's speed now. The box drifts (a one-user run minutes
    after another took 50% longer, the same CPU per step), so the crowd's and one user's
    throughputs are each read beside the bare loop measured around them."""
    import torch
    from bench_engine import bare_pair, pair

    from resviz.data import load
    from resviz.spec import TrainSpec

    torch.set_num_threads(1)
    return bare_pair(pair(20, 32), TrainSpec(steps=steps), load("spirals", 1000, 0.1, 0))[
        "pair_steps_per_s"]


def pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--steps", type=int, default=600, help="each session's step limit (50..3000)")
    ap.add_argument("--budget", type=float, default=1500, help="seconds a session may take in all")
    ap.add_argument("--nice-browser", action="store_true",
                    help="set every Chromium thread to the lowest CPU priority (under Linux "
                         "autogroup this only ranks Chromium's threads among themselves)")
    ap.add_argument("--mix", choices=("seed", "depth"), default="seed",
                    help="what tells the sessions apart: a seed each on the default pair (runs "
                         "of one shape), or a depth each (no two runs of one shape)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if why := bu.chromium_missing():
        sys.exit(why)
    samples: list[int] = []
    # (time, server + workers CPU s, Chromium CPU s, the Streamlit process's own CPU s)
    trace: list[tuple[float, float, float, float]] = []
    # CPU seconds per process, the last value seen (a tab's renderer exits when it closes):
    # the server with its engine workers, and the Chromium that Playwright launched here
    cpu: dict[str, dict[int, float]] = {"server": {}, "browser": {}}
    stop = threading.Event()
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("failed_*"):  # only this run's failures are left to read
        old.unlink()
    bare = [bare_rate()]
    with bu.streamlit_server(log=SHOTS / "server.log", launcher=LAUNCHER) as (base, proc):
        def sample() -> None:
            while not stop.is_set():
                samples.append(bu.rss_bytes(proc.pid))
                cpu["server"].update(bu.cpu_by_pid(proc.pid))
                cpu["browser"].update(bu.cpu_by_pid(os.getpid(), only="chrom"))
                trace.append((time.perf_counter(), sum(cpu["server"].values()),
                              sum(cpu["browser"].values()), cpu["server"].get(proc.pid, 0.0)))
                if args.nice_browser:  # Chromium sets its own priorities (-8 as root): reset
                    for pid in cpu["browser"]:  # every thread (a nice value is per thread)
                        for task in Path(f"/proc/{pid}/task").glob("*"):
                            try:
                                os.setpriority(os.PRIO_PROCESS, int(task.name), 19)
                            except OSError:
                                pass  # gone
                stop.wait(0.5)

        idle = bu.rss_bytes(proc.pid)
        cpu0 = bu.cpu_seconds(proc.pid)
        threading.Thread(target=sample, daemon=True).start()
        t0 = time.perf_counter()
        results = asyncio.run(crowd(base, args.users, args.steps, args.budget, args.mix))
        wall = time.perf_counter() - t0
        time.sleep(3)
        after = bu.rss_bytes(proc.pid)
        stop.set()
    bare.append(bare_rate())
    used = {"server": sum(cpu["server"].values()) - cpu0, "browser": sum(cpu["browser"].values())}
    report = summary(results, args, wall, idle, max(samples, default=0), after, used)
    report["bare_pair_steps_per_s"] = bare  # before the server started, after it stopped
    report["window_vs_bare"] = report["window_steps_per_s"] / statistics.mean(bare)
    report.update(training_cores(results, trace))
    print(json.dumps({"summary": report, "sessions": results}, indent=1) if args.json else table(report))


def summary(results: list[dict], args, wall: float, idle: int, peak: int, after: int,
            cpu: dict[str, float]) -> dict:
    def col(k: str) -> list[float]:
        return [r[k] for r in results if k in r]

    mib = 2**20
    return {"users": args.users, "steps": args.steps, "mix": args.mix,
            "nice_browser": args.nice_browser,
            "finished_ok": sum(r["ok"] for r in results),
            "isolation_failures": sum(r.get("own_state") is False for r in results),
            "errors": [r["error"] for r in results if "error" in r][:5],
            "chart_p50_s": pct(col("chart_s"), .5), "chart_p95_s": pct(col("chart_s"), .95),
            "update_p50_s": pct(col("update_s"), .5), "update_p95_s": pct(col("update_s"), .95),
            "finish_p50_s": pct(col("finish_s"), .5), "finish_p95_s": pct(col("finish_s"), .95),
            "wall_s": wall, "rss_idle_mib": idle / mib, "rss_peak_mib": peak / mib,
            "rss_after_mib": after / mib,
            "steps_per_s_p50": statistics.median([args.steps / f for f in col("finish_s")] or [0]),
            # every session's own rate, summed (an overestimate when the Starts are spread out)
            "total_steps_per_s": sum(args.steps / f for f in col("finish_s")),
            # the crowd's throughput: all pair-steps over the first Start to the last finish,
            # and for how long every session trained at once
            "window_steps_per_s": (len(col("end_at")) * args.steps
                                   / (max(col("end_at")) - min(col("start_at")))
                                   if col("end_at") else 0),
            "all_at_once_s": (min(col("end_at")) - max(col("start_at"))) if col("end_at") else 0,
            # CPU over the whole crowd (opening pages included), per pair-step trained
            "server_cpu_ms_per_pair_step": 1000 * cpu["server"] / (args.users * args.steps),
            "browser_cpu_ms_per_pair_step": 1000 * cpu["browser"] / (args.users * args.steps),
            "server_cores": cpu["server"] / wall, "browser_cores": cpu["browser"] / wall}


def training_cores(results: list[dict], trace: list[tuple[float, ...]]) -> dict:
    """Cores used by the server (+ workers) and by Chromium while every session trained at
    once (last Start to first finish): the crowd's split of the machine, without the opening
    of the pages."""
    starts = [r["start_at"] for r in results if "end_at" in r]
    ends = [r["end_at"] for r in results if "end_at" in r]
    if not starts:
        return {}
    a, b = max(starts), min(ends)
    inside = [s for s in trace if a <= s[0] <= b]
    if len(inside) < 2:
        return {}
    (t0, s0, b0, m0), (t1, s1, b1, m1) = inside[0], inside[-1]
    return {"training_server_cores": (s1 - s0) / (t1 - t0),
            "training_streamlit_cores": (m1 - m0) / (t1 - t0),
            "training_browser_cores": (b1 - b0) / (t1 - t0)}


def table(r: dict) -> str:
    def f(x) -> str:
        return "-" if x is None else f"{x:.1f}"

    lines = [f"{r['users']} users x {r['steps']} steps, a {r['mix']} each"
             f"{' (Chromium at nice 19)' if r['nice_browser'] else ''}: "
             f"{r['finished_ok']}/{r['users']} finished "
             f"correctly, {r['isolation_failures']} saw another's state, wall {r['wall_s']:.0f} s",
             f"{'':<26}{'p50':>8}{'p95':>8}",
             f"{'open -> first chart (s)':<26}{f(r['chart_p50_s']):>8}{f(r['chart_p95_s']):>8}",
             f"{'Start -> first update (s)':<26}{f(r['update_p50_s']):>8}{f(r['update_p95_s']):>8}",
             f"{'Start -> finished (s)':<26}{f(r['finish_p50_s']):>8}{f(r['finish_p95_s']):>8}",
             f"pair-steps/s: one session p50 {r['steps_per_s_p50']:.1f}; the crowd "
             f"{r['window_steps_per_s']:.1f} (first Start to last finish; all trained at once "
             f"for {r['all_at_once_s']:.0f} s); sessions' rates summed {r['total_steps_per_s']:.1f}",
             f"the bare loop: {' / '.join(f'{b:.1f}' for b in r['bare_pair_steps_per_s'])} "
             f"pair-steps/s before / after; the crowd is {r['window_vs_bare']:.2f}x it",
             f"CPU ms per pair-step: server + engine workers {r['server_cpu_ms_per_pair_step']:.1f}"
             f" ({r['server_cores']:.2f} cores), Chromium {r['browser_cpu_ms_per_pair_step']:.1f}"
             f" ({r['browser_cores']:.2f} cores)",
             f"while all trained at once: server + workers "
             f"{r.get('training_server_cores', float('nan')):.2f} cores (the Streamlit "
             f"process {r.get('training_streamlit_cores', float('nan')):.2f}), Chromium "
             f"{r.get('training_browser_cores', float('nan')):.2f} cores",
             f"server RSS MiB: idle {r['rss_idle_mib']:.0f}, peak {r['rss_peak_mib']:.0f}, "
             f"after {r['rss_after_mib']:.0f}"]
    return "\n".join(lines + [f"error: {e}" for e in r["errors"]])


if __name__ == "__main__":
    main()
