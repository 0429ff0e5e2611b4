"""Extreme but allowed settings run, or are refused with a clear message; nothing hangs.

The Playground trains in the engine (ui.live); Step trains exactly the steps asked for.
Every test has a hard timeout: a hang fails instead of blocking.
"""

from __future__ import annotations

import math
import re
import time

import pytest
from live_apptest import open_live_page as open_page

from resviz.data import load
from resviz.models import build
from resviz.spec import NetworkSpec, SpecError, TrainSpec
from resviz.train import Trainer, evaluate
from tests.apptest_utils import figures, no_exception
from ui.session import KEY, PlaygroundRun

PAGE = "views/playground.py"


def run_of(at) -> PlaygroundRun:
    return PlaygroundRun(at.session_state[KEY])


def steps(at, n: int) -> PlaygroundRun:
    """Train exactly n steps with the Step buttons (10 at a time, then 1s)."""
    for _ in range(n // 10):
        at.button(key="pg_step10").click().run()
        no_exception(at)
    for _ in range(n % 10):
        at.button(key="pg_step").click().run()
        no_exception(at)
    return run_of(at)


@pytest.mark.timeout(240)
def test_depth_100_and_width_256_train() -> None:
    at = open_page(PAGE, {"a_depth": "100", "b_width": "256", "pg_steps": "50"}, timeout=180)
    no_exception(at)
    run = run_of(at)
    assert len(run.models["A"].blocks) == 100 and run.specs["B"].width == 256
    run = steps(at, 2)
    assert run.steps == 2
    for name in ("A", "B"):
        assert all(math.isfinite(r.loss) for r in run.history(name))
    assert len(figures(at)) >= 5


@pytest.mark.timeout(180)
def test_diverging_learning_rate_says_where_and_the_session_lives_on() -> None:
    at = open_page(PAGE, {"pg_lr": "1000000.0"})
    assert at.session_state["pg_lr"] == 1e6
    at.button(key="pg_start").click().run()
    run = run_of(at)
    for _ in range(100):
        if not run.running:
            break
        time.sleep(0.2)
        at.run()
    assert not run.running, "training must stop by itself once both models diverged"
    at.run()
    errors = " ".join(str(e.value) for e in at.error)
    shown = [int(s) for s in re.findall(r"diverged at step (\d+)", errors)]
    diverged = [run.snap.metrics[k]["diverged_at"] for k in run.specs]
    assert shown and shown == [d for d in diverged if d is not None]
    at.run()  # the session is alive: another rerun, then a reset
    no_exception(at)
    at.button(key="pg_reset").click().run()
    no_exception(at)
    assert run_of(at).steps == 0 and not at.error


@pytest.mark.timeout(180)
def test_zero_noise_and_few_points_train() -> None:
    at = open_page(PAGE, {"pg_noise": "0.0", "pg_n": "20", "pg_data": "blobs"})
    no_exception(at)
    assert not at.warning, [w.value for w in at.warning]
    run = steps(at, 3)
    assert run.tspec.noise == 0.0 and len(run.data.y_train) + len(run.data.y_test) == 20
    assert run.steps == 3 and all(math.isfinite(r.loss) for r in run.history("A"))


@pytest.mark.timeout(120)
def test_too_few_points_in_the_link_are_refused_with_a_notice() -> None:
    at = open_page(PAGE, {"pg_n": "2"})
    no_exception(at)
    assert any("'pg_n'" in str(w.value) for w in at.warning)
    assert run_of(at).tspec.n_samples == 1000


def test_one_sample_per_class_trains_in_the_library() -> None:
    with pytest.raises(SpecError, match="n_samples"):
        TrainSpec(n_samples=2)
    data = load("blobs", 4, 0.0, 0)  # four classes, one point each
    assert data.n_classes == 4 and sorted(data.y_train.tolist()) == [0, 1, 2, 3]
    spec = NetworkSpec(depth=3, width=8, n_classes=4)
    trainer = Trainer({"A": build(spec)}, data, TrainSpec(dataset="blobs", n_samples=4, steps=40))
    recs = [r["A"] for r in trainer.run()]
    assert len(recs) == 40 and all(math.isfinite(r.loss) for r in recs)
    assert recs[-1].loss < recs[0].loss
    _, acc = evaluate(trainer.models["A"], data.x_train, data.y_train)
    assert acc == 1.0, "four points, four classes: a 3-block net must memorise them"
