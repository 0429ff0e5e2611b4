"""He 2016 Table 2 in miniature: ranking, rank correlation, determinism, store, CLI."""

from __future__ import annotations

import json

import pytest

from resviz.__main__ import main as cli
from resviz.experiments import orderings
from resviz.spec import ORDERINGS, NetworkSpec, TrainSpec

NET = NetworkSpec(family="residual", depth=2, width=8)
TRAIN = TrainSpec(dataset="spirals", n_samples=200, steps=12)


def test_paper_ranking() -> None:
    assert orderings.ranks(orderings.PAPER_ERROR) == [
        "full_preact", "original", "relu_preact", "relu_before_add", "bn_after_add"]


def test_spearman_known_values() -> None:
    a = ["a", "b", "c", "d"]
    assert orderings.spearman(a, a) == pytest.approx(1.0)
    assert orderings.spearman(a, a[::-1]) == pytest.approx(-1.0)
    assert orderings.spearman(["b", "a", "c", "d"], a) == pytest.approx(0.8)  # 1 - 6*2/(4*15)


def test_ties_broken_by_training_loss() -> None:
    assert orderings.ranks({"x": 1.0, "y": 1.0}, {"x": 0.5, "y": 0.1}) == ["y", "x"]


def test_five_orderings_are_different_nets_and_deterministic(monkeypatch) -> None:
    monkeypatch.setenv("RESVIZ_NO_STORE", "1")
    a = orderings.train_seed(NET, TRAIN)
    b = orderings.train_seed(NET, TRAIN)
    assert a == b
    losses = [a[o]["train_loss"] for o in ORDERINGS]
    assert len(set(losses)) == 5  # each ordering is a different function
    assert all(0 <= a[o]["test_error"] <= 100 for o in ORDERINGS)


def test_result_is_stored_and_reused(monkeypatch) -> None:
    first = orderings.run(NET, TRAIN, seeds=(3,))
    monkeypatch.setattr(orderings, "train_seed", lambda *a: pytest.fail("recomputed"))
    assert orderings.run(NET, TRAIN, seeds=(3,)) == first
    assert sorted(first["rank_ours"]) == sorted(ORDERINGS)
    assert first["test_error"] == {o: first["per_seed"][0][o]["test_error"] for o in ORDERINGS}


def test_cli_json(capsys) -> None:
    assert cli(["orderings", "--depth", "2", "--width", "8", "--samples", "200", "--steps", "12",
                "--seeds", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["paper_error"]["full_preact"] == 6.37 and out["best_paper"] == "full_preact"
    assert -1 <= out["spearman"] <= 1 and len(out["rank_ours"]) == 5
