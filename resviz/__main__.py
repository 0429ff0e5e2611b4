"""CLI: `python -m resviz <experiment> ... [--json]`, one command per experiments module."""

from __future__ import annotations

import argparse
import functools
import importlib
import pkgutil
import sys
import warnings
from types import ModuleType
from typing import Any

import resviz.experiments as experiments
from resviz import budget
from resviz.cli_args import THREADS, OneLineParser
from resviz.device import check_environment, limit_threads, max_threads
from resviz.jsonio import dumps


@functools.lru_cache(maxsize=1)
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


def error(message: object) -> int:
    """One line on stderr, exit status 2: the CLI's answer to every bad request."""
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    return 2


@functools.lru_cache(maxsize=1)
def parser() -> argparse.ArgumentParser:
    """Every command's options; errors are one line (cli_args.OneLineParser), bounds from cli_args."""
    top = OneLineParser(prog="python -m resviz", description=__doc__)
    top.add_argument("--threads", type=THREADS, default=None,
                     help=f"torch threads, 1..{max_threads()} (default: env RESVIZ_THREADS, else 1)")
    sub = top.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    for name, mod in commands().items():
        p = sub.add_parser(name, help=(mod.__doc__ or "").strip().splitlines()[0])
        mod.add_arguments(p)
        p.add_argument("--json", action="store_true", help="print the result as JSON")
    return top


def main(argv: list[str] | None = None) -> int:
    try:
        check_environment()  # RESVIZ_DEVICE / RESVIZ_THREADS: a typo is one line, even for --help
    except ValueError as e:
        return error(e)
    try:
        args = parser().parse_args(argv)
    except SystemExit as e:  # --help (0) or a bad option (2, one line already printed)
        return int(e.code or 0)
    warnings.formatwarning = lambda message, *_a, **_k: f"warning: {message}\n"  # one line each
    try:
        limit_threads(args.threads)
        budget.check_command(args.command, args)  # before any work: refuse what cannot fit
        result = commands()[args.command].main(args)
    except ValueError as e:  # SpecError, BudgetError, DeviceError...: a clear message, not a traceback
        return error(e)
    if args.json:
        print(dumps(result))
    else:
        _print_human(result)
    exit_code = getattr(commands()[args.command], "exit_code", None)  # a command may report failure
    return exit_code(result) if exit_code is not None else 0


if __name__ == "__main__":
    sys.exit(main())
