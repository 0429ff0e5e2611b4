"""Run every preset's experiments (and the home page's story) once, so the app opens instantly.

Results land in the disk store (resviz.store: location $RESVIZ_STORE, size bound
$RESVIZ_STORE_BYTES), keyed by spec and library version, so they survive a restart and are
never served stale after an upgrade. A preset's experiment command that does not exist
(yet) is skipped with a message. An experiment module may define `precompute()` to say
exactly what its page needs; otherwise its CLI `main` runs with the preset's flags.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from resviz import store
from resviz.presets import PRESETS

COMMAND = "precompute"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--only", action="append", default=None, metavar="PRESET",
                   help="only this preset key (repeatable): " + ", ".join(x.key for x in PRESETS))
    p.add_argument("--no-home", action="store_true", help="skip the home page's story figures")
    p.add_argument("--dry-run", action="store_true", help="list what would run, run nothing")


def _home_jobs() -> list[tuple[str, Callable[[], object]]]:
    from resviz import story
    from resviz.experiments import orderings

    return [("story", story.story_run), ("resnet_family", story.resnet_family),
            ("orderings", lambda: orderings.run(orderings.DEFAULT_NET, orderings.DEFAULT_TRAIN))]


def _command_job(argv: tuple[str, ...], mods: dict) -> Callable[[], object] | str:
    """A callable that runs one experiment command, or the reason it cannot run."""
    name, flags = argv[0], list(argv[1:])
    mod = mods.get(name)
    if mod is None:
        return f"no experiment command {name!r} in resviz/experiments (not built yet?)"
    if hasattr(mod, "precompute") and not flags:
        return mod.precompute
    parser = argparse.ArgumentParser(prog=name)
    mod.add_arguments(parser)
    try:
        args = parser.parse_args(flags)
    except SystemExit:
        return f"{name} does not accept {' '.join(flags)}"
    args.json = True
    return lambda: mod.main(args)


def jobs(only: list[str] | None = None, home: bool = True) -> list[tuple[str, Callable | str]]:
    """(label, callable or reason to skip) for every preset run, de-duplicated, in order."""
    from resviz.__main__ import commands

    mods = {k: v for k, v in commands().items() if k != COMMAND}
    out: list[tuple[str, Callable | str]] = [(f"home/{n}", f) for n, f in _home_jobs()] if home else []
    seen: set[tuple[str, ...]] = set()
    for preset in PRESETS:
        if only and preset.key not in only:
            continue
        for argv in preset.runs:
            if argv not in seen:
                seen.add(argv)
                out.append((f"{preset.key}/{' '.join(argv)}", _command_job(argv, mods)))
    return out


def main(args: argparse.Namespace) -> dict:
    if args.only:
        unknown = set(args.only) - {p.key for p in PRESETS}
        if unknown:
            raise ValueError(f"unknown preset {', '.join(sorted(unknown))}")
    done, skipped = [], []
    for label, job in jobs(args.only, home=not args.no_home):
        if isinstance(job, str):
            skipped.append({"job": label, "reason": job})
            print(f"skip {label}: {job}", file=sys.stderr)
            continue
        if args.dry_run:
            done.append({"job": label, "seconds": 0.0})
            continue
        print(f"run  {label} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            job()
        except Exception as e:  # one broken experiment must not stop the rest of the class prep
            skipped.append({"job": label, "reason": f"failed: {type(e).__name__}: {e}"})
            print(f"fail {label}: {e}", file=sys.stderr)
            continue
        done.append({"job": label, "seconds": round(time.perf_counter() - t0, 2)})
    return {"store": str(store.store_dir()), "size_limit_bytes": store.SIZE_LIMIT,
            "done": done, "skipped": skipped}
