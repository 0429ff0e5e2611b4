"""Heavy jobs on the engine (resviz.engine.jobs): same numbers as in this process, progress
relayed from the job worker, the caller's store settings, and errors that say what failed."""

from __future__ import annotations

import pytest

from resviz import store
from resviz.engine import jobs
from resviz.experiments import degradation as deg
from resviz.train import survival_schedule

SMALL = deg.page_sweep(max_depth=4, seeds=1, steps=150, width=8)


def test_a_sweep_on_the_engine_equals_the_sweep_in_this_process():
    seen = []
    on_engine = deg.sweep(SMALL, cache=False, engine=True, progress=lambda *a: seen.append(a))
    here = deg.sweep(SMALL, cache=False)
    assert on_engine["rows"] == here["rows"]  # bit for bit: same seeds, another process
    assert on_engine["curves"] == here["curves"]
    n = len(SMALL.depths)
    assert {(gi, step) for gi, _n, step, _t in seen if step == SMALL.train.steps} == \
        {(gi, SMALL.train.steps) for gi in range(n)}  # every depth reported done
    assert any(step < SMALL.train.steps for _gi, _n, step, _t in seen), seen  # relayed mid-run


def test_a_job_runs_with_the_callers_store(monkeypatch, tmp_path):
    monkeypatch.setenv("RESVIZ_STORE", str(tmp_path))
    assert jobs.run(store.store_dir) == tmp_path
    monkeypatch.setenv("RESVIZ_NO_STORE", "1")
    assert jobs.run(store.backend) is None


def test_job_errors_are_raised_or_returned():
    with pytest.raises(TypeError, match="cannot be interpreted"):
        jobs.run(survival_schedule, "x", 0.5)
    out = dict(jobs.fan_out(survival_schedule, [((4, 0.5), {}), (("x", 0.5), {})],
                            return_errors=True))
    assert out[0] == [0.875, 0.75, 0.625, 0.5] and isinstance(out[1], TypeError)


def test_precompute_runs_its_jobs_side_by_side_and_reports_each(monkeypatch, tmp_path):
    """Two real jobs as engine jobs; one that cannot be sent (a local function) is a FAIL line,
    not a crash, and the others are still done."""
    from resviz.experiments import precompute
    from resviz.presets import Preset

    monkeypatch.setenv("RESVIZ_STORE", str(tmp_path))
    query = (("le_depth", "2"), ("le_steps", "20"), ("le_draws", "1"), ("le_sd", "0"))
    dg = (("dg_maxdepth", "2"), ("dg_seeds", "1"), ("dg_steps", "20"), ("dg_width", "4"))
    presets = (Preset("a", "A", "fig", "views/lesion.py", query, "note", ("lesion",)),
               Preset("b", "B", "fig", "views/degradation.py", dg, "note", ("degradation",)),
               Preset("c", "C", "fig", "views/home.py", (), "note", ("orderings",)))
    monkeypatch.setattr(precompute, "PRESETS", presets)
    monkeypatch.setitem(precompute.JOBS, "orderings", lambda _p: 1)  # not picklable
    args = type("Args", (), {"only": None, "no_home": True, "dry_run": False, "serial": False})()
    out = precompute.main(args)
    assert [d["job"] for d in out["done"]] == ["a/lesion", "b/degradation"]
    assert [f["job"] for f in out["failed"]] == ["c/orderings"]
    assert precompute.exit_code(out) == 1
    sw = deg.page_sweep(max_depth=2, seeds=1, steps=20, width=4)
    assert all(deg.cached_group(sw, d) is not None for d in sw.depths)  # stored by the job


def test_orderings_on_the_engine_equal_orderings_here(monkeypatch):
    from resviz.experiments import orderings
    from resviz.spec import NetworkSpec, TrainSpec

    monkeypatch.setenv("RESVIZ_NO_STORE", "1")
    net = NetworkSpec(family="residual", depth=2, width=8)
    train = TrainSpec(dataset="spirals", n_samples=200, steps=12, eval_every=12)
    done = []
    on_engine = orderings.run(net, train, seeds=(3, 4), engine=True, progress=done.append)
    assert on_engine == orderings.run(net, train, seeds=(3, 4))
    assert done[-1] == 1.0 and len(done) == len(on_engine["orderings"])
