"""Run every benchmark script in turn (`make bench`), each as `python benchmarks/<x>.py`.

Browser benchmarks (bench_browser.py, bench_cold.py, load.py) need Chromium and start their own server;
they are skipped, with the reason, when Chromium is missing. `--quick` gives each script
small arguments (a smoke run); without it every script runs with its own defaults.

    python benchmarks/run_all.py [--quick] [--only bench_engine,bench_trainer]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

QUICK = {
    "bench_trainer": ["--steps", "50", "--repeats", "2"],
    "bench_batched": ["--steps", "20", "--models", "4"],
    "bench_landscape": ["--grid", "7", "--repeats", "1", "--points", "200"],
    "bench_paths": ["--depth", "12", "--samples", "10", "--steps", "20"],
    "bench_engine": ["--steps", "100", "--concurrent", "1,2"],
    "bench_browser": ["--runs", "1"],
    "bench_cold": ["--repeats", "1"],
    "load": ["--users", "2", "--steps", "50"],
}
BROWSER = {"bench_browser", "bench_cold", "load"}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default="", help="comma-separated script names (no .py)")
    a = p.parse_args()
    names = sorted(f.stem for f in HERE.glob("*.py") if f.stem not in ("run_all", "__init__"))
    if a.only:
        names = [n for n in names if n in a.only.split(",")]
    failed = []
    for name in names:
        if name in BROWSER:
            from tests.browser_utils import chromium_missing

            why = chromium_missing()
            if why:
                print(f"== {name}: skipped ({why})\n", flush=True)
                continue
        cmd = [sys.executable, str(HERE / f"{name}.py"), *(QUICK.get(name, []) if a.quick else [])]
        print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call(cmd, cwd=ROOT)
        print(f"== {name}: {'ok' if rc == 0 else f'FAILED (exit {rc})'} in "
              f"{time.perf_counter() - t0:.0f} s\n", flush=True)
        if rc:
            failed.append(name)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
