"""The degradation miniature: deep plain nets train worse; residual nets of that depth do not."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest

from resviz.__main__ import main as cli
from resviz.experiments import degradation as deg
from resviz.spec import SpecError, TrainSpec

SMALL = deg.SweepSpec(depths=(2, 24), seeds=1, width=32,
                      train=TrainSpec(steps=150, eval_every=25, n_samples=600))


@pytest.fixture(scope="module")
def result():
    seen = []
    r = deg.sweep(SMALL, progress=lambda g, n, s, t: seen.append((g, n, s, t)))
    return r, seen


def _loss(r, family, depth):
    return next(x["train_loss"] for x in r["rows"] if x["family"] == family and x["depth"] == depth)


def test_deep_plain_degrades_deep_residual_does_not(result):
    r, _ = result
    assert _loss(r, "residual", 24) < 0.5 * _loss(r, "plain", 24)
    assert _loss(r, "plain", 24) > 2 * _loss(r, "plain", 2)  # deeper plain: worse training
    assert _loss(r, "residual", 24) < _loss(r, "plain", 2) + 0.1


def test_progress_reports_every_group_to_the_end(result):
    _, seen = result
    assert (0, 2, 1, 150) in seen and (1, 2, 150, 150) == seen[-1]


def test_curves_and_summary(result):
    r, _ = result
    c = r["curves_deepest"]["plain"]
    assert len(c["loss"]) == 150 and c["eval_step"][-1] == 149
    s = {(x["family"], x["depth"]): x for x in r["summary"]}
    assert s[("plain", 24)]["train_loss_mean"] == pytest.approx(_loss(r, "plain", 24))


def test_finished_groups_come_from_the_store(result, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("retrained a stored group")

    monkeypatch.setattr(deg, "run_group", boom)
    again = deg.sweep(SMALL)
    assert again["rows"] == result[0]["rows"]


def test_csv_and_json_round_trip(result):
    r, _ = result
    rows = list(csv.DictReader(io.StringIO(deg.to_csv(r["rows"]))))
    assert len(rows) == 4 and set(rows[0]) == set(deg.COLUMNS)
    assert math.isclose(float(rows[0]["train_loss"]), r["rows"][0]["train_loss"], rel_tol=1e-6)
    assert json.loads(deg.to_json(r))["rows"][0]["family"] == "plain"


def test_bad_sweeps_are_refused(capsys):
    with pytest.raises(SpecError):
        deg.SweepSpec(depths=(0, 2))
    with pytest.raises(SpecError):
        deg.parse_depths("2,x")
    assert cli(["degradation", "--depths", "2,500"]) != 0
    assert capsys.readouterr().err.startswith("error:")


def test_cli_degradation_json(capsys):
    assert cli(["degradation", "--depths", "2,3", "--seeds", "1", "--steps", "5",
                "--width", "8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["rows"]) == 4 and {r["depth"] for r in out["rows"]} == {2, 3}
