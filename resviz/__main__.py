"""CLI: `python -m resviz <experiment> ... [--json]`, one command per experiments module."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import warnings
from types import ModuleType
from typing import Any

import resviz.experiments as experiments
from resviz.device import limit_threads
from resviz.jsonio import dumps


def commands() -> dict[str, ModuleType]:
    found = {}
    for info in pkgutil.iter_modules(experiments.__path__):
        mod = importlib.import_module(f"resviz.experiments.{info.name}")
        if hasattr(mod, "COMMAND"):
            found[mod.COMMAND] = mod
    return dict(sorted(found.items()))


def _print_human(result: Any, indent: int = 0) -> None:
    pad = "  " * indent
    if isinstance(result, dict):
        for k, v in result.items():
            if isinstance(v, (dict, list)) and len(str(v)) > 80:
                print(f"{pad}{k}:")
                _print_human(v, indent + 1)
            else:
                print(f"{pad}{k}: {v}")
    elif isinstance(result, list):
        for v in result[:50]:
            _print_human(v, indent)
        if len(result) > 50:
            print(f"{pad}... ({len(result)} items; use --json for all)")
    else:
        print(f"{pad}{result}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m resviz", description=__doc__)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default 1)")
    sub = parser.add_subparsers(dest="command", required=True)
    mods = commands()
    for name, mod in mods.items():
        p = sub.add_parser(name, help=(mod.__doc__ or "").strip().splitlines()[0])
        mod.add_arguments(p)
        p.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    warnings.formatwarning = lambda message, *_a, **_k: f"warning: {message}\n"  # one line each
    limit_threads(args.threads)
    try:
        result = mods[args.command].main(args)
    except ValueError as e:  # SpecError and friends: a clear message, not a traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(dumps(result))
    else:
        _print_human(result)
    exit_code = getattr(mods[args.command], "exit_code", None)  # a command may report failure
    return exit_code(result) if exit_code is not None else 0


if __name__ == "__main__":
    sys.exit(main())
