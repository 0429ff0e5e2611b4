"""Hostile values for every option of every CLI command: exit 0 or 2, one line on stderr, no traceback.

The options are read from the parser itself, so a new command or option is fuzzed without
editing this file. Two layers keep it fast:

1. every (command, option, hostile value) is parsed and budgeted with the command's `main`
   replaced by a stub: a refusal must come here, before any work;
2. the values that layer 1 accepted run for real, on a tiny base setting, in-process.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

import resviz.__main__ as cli
from resviz.models import build
from resviz.spec import NetworkSpec
from resviz.weights import save

HOSTILE = ["-1", "0", "1e30", "nan", "inf", "-inf", str(2 ** 64), "garbage", "/no/such/folder/x.st", ""]

TINY = {  # the smallest real run of each command
    "train": ["--depth", "2", "--width", "4", "--steps", "2", "--samples", "40"],
    "lesion": ["--depth", "2", "--width", "4", "--steps", "2", "--samples", "40", "--draws", "1",
               "--stochastic-depth", "-1"],
    "paths": ["--depth", "2", "--width", "4", "--steps", "2", "--points", "40", "--samples", "2",
              "--batch", "4"],
    "landscape": ["--depth", "2", "--width", "4", "--steps", "2", "--samples", "40", "--grid", "3",
                  "--line-points", "3"],
    "degradation": ["--depths", "2", "--seeds", "1", "--steps", "2", "--width", "4", "--samples", "40"],
    "orderings": ["--depth", "2", "--width", "4", "--samples", "40", "--steps", "2", "--seeds", "1"],
    "highway": ["--depth", "2", "--width", "4", "--steps", "2", "--samples", "40"],
    "sequence": ["--length", "4", "--hidden", "4", "--samples", "40", "--steps", "2"],
    "gradients": ["--depth", "2", "--width", "4", "--batch", "8"],
    "shattered": ["--depth", "2", "--width", "4", "--seeds", "1", "--points", "16", "--max-lag", "2"],
    "evaluate": ["--samples", "40"],
    "arch": ["net", "--depth", "2", "--width", "4"],
    "precompute": ["--dry-run", "--no-home", "--only", "none-such"],
    "identity": ["--depths", "2", "--seeds", "1", "--width", "4", "--steps", "2", "--batch-size", "8"],
    "readout": ["--depth", "2", "--width", "4", "--steps", "2", "--samples", "40", "--resolution", "4"],
}


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory) -> str:
    spec = NetworkSpec(depth=2, width=4)
    path = tmp_path_factory.mktemp("w") / "m.safetensors"
    save(build(spec), spec, path)
    return str(path)


def subparsers() -> dict[str, argparse.ArgumentParser]:
    top = cli.parser()
    (sub,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def value_options(p: argparse.ArgumentParser) -> list[str]:
    """Every option that takes a value (flags without one have nothing to fuzz)."""
    return [a.option_strings[-1] for a in p._actions if a.option_strings and a.nargs != 0]


def cases() -> list[tuple[str, str, str]]:
    return [(cmd, opt, v) for cmd, p in subparsers().items() for opt in value_options(p) for v in HOSTILE]


def base(cmd: str, weights: str) -> list[str]:
    return TINY[cmd] + (["--weights", weights] if cmd == "evaluate" else [])


def with_value(argv: list[str], opt: str, value: str) -> list[str]:
    """argv with `opt` set to `value` (replacing the base's own setting of it)."""
    out, skip = [], False
    for i, a in enumerate(argv):
        if skip:
            skip = False
            continue
        if a == opt and i + 1 < len(argv):
            skip = True
            continue
        out.append(a)
    return out + [f"{opt}={value}"]


def one_clean_line(err: str) -> bool:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    return len(lines) == 1 and "Traceback" not in err


def test_every_command_has_a_tiny_setting() -> None:
    assert set(subparsers()) == set(TINY), "add the new command's smallest run to TINY"


def test_every_value_option_has_a_bounded_or_checked_type() -> None:
    """No plain int/float left: each takes a type from resviz/cli_args.py, a choice list, or text
    checked by the command (paths, preset names, depth lists)."""
    texts = {"--weights", "--only"}
    for cmd, p in subparsers().items():
        for a in p._actions:
            if a.option_strings and a.nargs != 0 and a.option_strings[-1] not in texts:
                assert a.choices is not None or a.type not in (None, int, float, str), (cmd, a.dest)


TEXTS = {"--weights", "--save", "--only"}  # file and preset names: checked by the command


def parse_layer(monkeypatch, capsys, weights_file) -> list[tuple[str, str, str]]:
    """Layer 1: every hostile value with each command's main stubbed; returns the accepted ones."""
    accepted: list[tuple[str, str, str]] = []
    with monkeypatch.context() as m:
        for cmd, mod in cli.commands().items():
            m.setattr(mod, "main", lambda args, cmd=cmd: {"stub": cmd})
        for cmd, opt, value in cases():
            argv = [cmd, *with_value(base(cmd, weights_file), opt, value)]
            rc = cli.main(argv)
            cap = capsys.readouterr()
            assert rc in (0, 2), argv
            if rc == 2:
                assert one_clean_line(cap.err), (argv, cap.err)
            else:
                accepted.append((cmd, opt, value))
    return accepted


def test_hostile_values_are_refused_before_any_work(monkeypatch, capsys, weights_file) -> None:
    accepted = parse_layer(monkeypatch, capsys, weights_file)
    # what gets through a number's type is only the harmless: no NaN, inf, 2**64 or 1e30
    bad = [c for c in accepted if c[1] not in TEXTS and c[2] in ("nan", "inf", "-inf", str(2 ** 64), "1e30")]
    assert not bad, bad


@pytest.mark.slow
def test_accepted_hostile_values_run_tiny_and_end_cleanly(monkeypatch, capsys, weights_file,
                                                          tmp_path) -> None:
    """Layer 2: what layer 1 accepted (0 steps, seed 0, gate bias -1, a file named "nan"...) runs
    for real on the tiny setting: the first accepted value of each option, the others being
    in-range values of the same kind."""
    accepted = parse_layer(monkeypatch, capsys, weights_file)
    monkeypatch.chdir(tmp_path)  # --save nan writes ./nan here, not in the repository
    first = {(cmd, opt): value for cmd, opt, value in reversed(accepted)}
    for (cmd, opt), value in first.items():
        argv = [cmd, *with_value(base(cmd, weights_file), opt, value)]
        rc = cli.main(argv)
        cap = capsys.readouterr()
        assert rc in (0, 2), argv
        assert rc == 0 or one_clean_line(cap.err), (argv, cap.err)
        assert "Traceback" not in cap.err


@pytest.mark.parametrize("var,value", [
    ("RESVIZ_DEVICE", "bogus"), ("RESVIZ_DEVICE", "mps"), ("RESVIZ_DEVICE", "meta"),
    ("RESVIZ_THREADS", "abc"), ("RESVIZ_THREADS", "-1"), ("RESVIZ_THREADS", "0"),
    ("RESVIZ_THREADS", "3000"), ("RESVIZ_THREADS", str(2 ** 64)), ("RESVIZ_THREADS", "nan"),
])
def test_bad_environment_is_one_line_even_for_help(monkeypatch, capsys, var, value) -> None:
    monkeypatch.setenv(var, value)
    assert cli.main(["--help"]) == 2
    err = capsys.readouterr().err
    assert one_clean_line(err) and var in err


@pytest.mark.parametrize("device", ["mps", "meta", "foo", "cuda:x", "CPU!"])
def test_device_outside_cpu_cuda_auto_is_refused(capsys, device) -> None:
    assert cli.main(["train", "--device", device, "--steps", "1"]) == 2
    err = capsys.readouterr().err
    assert one_clean_line(err) and "must be one of cpu, cuda, auto" in err


def test_specific_messages_name_the_option(capsys, tmp_path) -> None:
    expect = {
        ("lesion", "--draws", "0"): "--draws: must be from 1 to 1000; got 0",
        ("paths", "--batch", "-1"): "--batch: must be from 1 to 4096; got -1",
        ("train", "--seed", str(2 ** 64)): "--seed: must be from 0 to 9223372036854775807",
        ("train", "--noise", "nan"): "--noise: must be a finite number",
        ("sequence", "--forget-bias", "inf"): "--forget-bias: must be a finite number",
        ("evaluate", "--samples", "1e8"): "--samples: must be from 4 to 200000; got 100000000",
        ("train", "--save", str(tmp_path / "missing" / "m.st")): "does not exist",
    }
    for (cmd, opt, value), text in expect.items():
        extra = ["--weights", "x"] if cmd == "evaluate" else []
        assert cli.main([cmd, *extra, opt, value]) == 2
        err = capsys.readouterr().err
        assert one_clean_line(err) and text in err, (cmd, opt, err)


def test_batch_of_one_with_batch_norm_is_a_clear_message(capsys) -> None:
    assert cli.main(["train", "--batch-size", "1", "--steps", "1", "--depth", "2"]) == 2
    assert "batch normalisation needs a batch of at least 2" in capsys.readouterr().err
    assert cli.main(["train", "--batch-size", "1", "--steps", "1", "--depth", "2", "--no-norm"]) == 0


def test_lesion_of_a_single_block_runs(capsys) -> None:
    assert cli.main(["lesion", *TINY["lesion"], "--depth", "1", "--json"]) == 0


def test_save_folder_is_checked_before_training(capsys, tmp_path, monkeypatch) -> None:
    import resviz.experiments.train_cmd as train_cmd

    monkeypatch.setattr(train_cmd, "Trainer", None)  # training would raise; it must not start
    assert cli.main(["train", "--save", str(tmp_path / "nope" / "m.safetensors")]) == 2
    assert cli.main(["train", "--save", str(tmp_path)]) == 2  # a folder, not a file
    err = capsys.readouterr().err
    assert "does not exist" in err and "is a folder" in err


def test_budget_refuses_big_requests_at_once(capsys, monkeypatch) -> None:
    """Each option in range, the product not: refused by the budget, with the reason, before work."""
    import resviz.experiments.paths as paths
    import resviz.experiments.train_cmd as train_cmd

    monkeypatch.setattr(train_cmd, "main", None)
    monkeypatch.setattr(paths, "main", None)
    big_train = ["train", "--depth", "100", "--width", "256", "--steps", "1000000", "--batch-size", "100000"]
    assert cli.main(big_train) == 2
    assert "multiply-adds" in capsys.readouterr().err
    big_paths = ["paths", "--depth", "100", "--width", "256", "--samples", "10000", "--batch", "4096",
                 "--points", "20000"]
    assert cli.main(big_paths) == 2
    err = capsys.readouterr().err
    assert one_clean_line(err) and "budget" in err


def test_module_entry_point_prints_one_line_and_exits_2() -> None:
    for argv in (["lesion", "--draws", "-1"],):
        out = subprocess.run([sys.executable, "-m", "resviz", *argv], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parents[1], timeout=120)
        assert out.returncode == 2 and one_clean_line(out.stderr), (argv, out.stderr)


def test_every_refusal_has_one_format(capsys) -> None:
    """argparse's refusals and the commands' own read alike: "error: ..." on one line."""
    for argv in (["lesion", "--draws", "-1"], ["train", "--batch-size", "1", "--steps", "1", "--depth", "2"],
                 ["bogus-command"], ["train", "--no-such-option"]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and one_clean_line(err), err
