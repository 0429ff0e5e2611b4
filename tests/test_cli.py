"""The CLI gives a notebook-free way to every experiment: `python -m resviz ...`."""

from __future__ import annotations

import json
import subprocess
import sys

from resviz.__main__ import main


def test_train_json_reports_fit_and_curve(capsys) -> None:
    assert main(["train", "--dataset", "moons", "--depth", "4", "--steps", "60", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["steps_done"] == 60 and len(out["loss_curve"]) == 60
    assert out["loss_curve"][-1] < out["loss_curve"][0]
    assert out["train_acc"] > 0.8 and len(out["grad_norms_last"]) == 4


def test_bad_spec_is_a_clear_error_not_a_traceback(capsys) -> None:
    assert main(["train", "--depth", "500", "--steps", "1"]) == 2
    err = capsys.readouterr().err
    assert "--depth: must be from 1 to 100; got 500" in err and len(err.strip().splitlines()) == 1


def test_divergence_is_reported_in_json(capsys) -> None:
    assert main(["train", "--depth", "4", "--steps", "30", "--lr", "1e6", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["diverged_at"] is not None


def test_saved_weights_load_back(tmp_path) -> None:
    from resviz.weights import load

    path = tmp_path / "m.safetensors"
    assert main(["train", "--depth", "3", "--steps", "5", "--save", str(path)]) == 0
    model, spec = load(path)
    assert spec.depth == 3 and len(model.blocks) == 3


def test_module_entry_point_runs() -> None:
    out = subprocess.run([sys.executable, "-m", "resviz", "--help"], capture_output=True, text=True,
                         check=True)
    assert "train" in out.stdout
