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
    c = r["curves"][24]["plain"]
    assert c["eval_step"][0] == 0 and c["eval_step"][-1] == 149 and c["seeds"] == 1
    assert c["train_error_min"] == c["train_error_median"] == c["train_error_max"]  # one seed
    s = {(x["family"], x["depth"]): x for x in r["summary"]}
    assert s[("plain", 24)]["train_loss_mean"] == pytest.approx(_loss(r, "plain", 24))
    row = next(x for x in r["rows"] if x["family"] == "plain" and x["depth"] == 24)
    assert s[("plain", 24)]["train_error_median"] == pytest.approx(100 * (1 - row["train_acc"]))
    assert c["train_error_median"][-1] == pytest.approx(100 * (1 - row["train_acc"]), abs=1e-6)


def test_summary_and_bands_give_the_seed_spread():
    rows = [{"family": "plain", "depth": 4, "seed": s, "train_loss": v, "train_acc": 1 - e,
             "test_acc": 0.5, "diverged_at": None}
            for s, (v, e) in enumerate([(0.1, 0.1), (0.3, 0.3), (0.2, 0.2)])]
    rows.append({"family": "plain", "depth": 4, "seed": 3, "train_loss": float("nan"),
                 "train_acc": None, "test_acc": None, "diverged_at": 7})
    s = deg.summary(rows)[0]
    assert (s["runs"], s["diverged"]) == (4, 1)
    assert s["train_error_median"] == pytest.approx(20) and s["train_error_min"] == pytest.approx(10)
    assert s["train_error_max"] == pytest.approx(30) and s["train_loss_mean"] == pytest.approx(0.2)
    curves = {f"plain-{i}": {"eval_step": [0, 5], "loss": [1, 1], "train_error": [50, e],
                             "test_error": [50, e]} for i, e in enumerate([4.0, 8.0, 6.0])}
    b = deg.curve_bands(curves)["plain"]
    assert b["train_error_median"] == [50, 6.0] and b["train_error_min"][1] == 4.0
    assert b["train_error_max"][1] == 8.0 and b["seeds"] == 3


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
    spread = {(s["family"], s["depth"]): s for s in out["summary"]}
    assert {"train_error_median", "train_error_min", "train_error_max"} <= set(spread[("plain", 2)])
    assert out["sweep"]["init"] == "he"


def test_page_sweep_is_the_cli_default():
    sw = deg.page_sweep()
    assert sw.depths == deg.DEPTHS == (2, 4, 8, 12, 16, 24, 32)
    assert sw.init == "he" and sw.norm and sw.seeds >= 3
    assert deg.page_sweep(max_depth=8).depths == (2, 4, 8)
    assert sw.train.optimizer == "sgd" and deg.page_sweep(optimizer="adam").train.optimizer == "adam"


@pytest.mark.slow
def test_page_default_degrades_graded_on_every_seed(monkeypatch, tmp_path):
    """He et al. 2015 Fig. 1/4 in miniature, on the page's own default specs: the plain net's
    final training error rises with depth, graded over several depths (not one cliff), on
    every seed; the residual net's stays at the bottom at every depth."""
    monkeypatch.setenv("RESVIZ_STORE", str(tmp_path))
    sw = deg.page_sweep()
    r = deg.sweep(sw)
    plain = dict(zip(sw.depths, deg.per_depth(r, "plain")))
    worst_res = max(deg.per_depth(r, "residual", "train_error_max"))
    best_plain = dict(zip(sw.depths, deg.per_depth(r, "plain", "train_error_min")))
    ds = sw.depths
    assert all(plain[b] >= plain[a] - 3.0 for a, b in zip(ds, ds[1:]))  # rises (3 points of noise)
    assert plain[ds[-1]] > plain[ds[0]] + 20
    graded = [d for d in ds if 3 < plain[d] < 40]
    assert len(graded) >= 1 and len([d for d in ds if plain[d] > 3]) >= 2
    assert best_plain[ds[-1]] > 10 * max(worst_res, 0.5)  # every deep plain seed is worse
    assert worst_res < 3  # every residual seed, at every depth, fits its training data
