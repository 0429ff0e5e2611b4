"""The live-run engine's truths, through real worker processes (resviz.engine.local).

Small nets and few steps: what is tested is the engine's bookkeeping (exact step counts,
commands between steps, the final picture, faults), not learning.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from resviz.engine import RunConfig
from resviz.engine.core import RunCore
from resviz.engine.local import LOST_IDLE, LOST_ROOM, LOST_WORKER, LocalExecutor
from resviz.models import build
from resviz.spec import NetworkSpec, TrainSpec
from resviz.train import Trainer

ROOT = Path(__file__).resolve().parents[1]
BASE = NetworkSpec(depth=3, width=8)
TSPEC = TrainSpec(n_samples=200, steps=40, batch_size=32, eval_every=5)


def pair(stacked: bool | None = None, steps: int = 40, **kw) -> RunConfig:
    return RunConfig("classify", (("A", BASE), ("B", BASE.replace(family="plain"))),
                     TSPEC.replace(steps=steps), boundary=16, stacked=stacked, **kw)


@pytest.fixture(scope="module")
def ex():
    e = LocalExecutor(workers=2, ttl=60)
    assert e.warm(120), "no worker came up"
    yield e
    e.shutdown()


def wait(h, cond, timeout=60.0):
    s = h.wait(cond, timeout)
    assert s is not None, f"timed out; last snapshot {h.snapshot()}"
    return s


def test_paused_run_does_not_advance_and_step_is_exact(ex):
    h = ex.open(pair())
    s = wait(h, lambda s: s.state == "ready")
    assert s.step == 0
    h.step(1)
    s = wait(h, lambda s: s.state == "paused")
    assert s.step == 1
    h.step(10)
    s = wait(h, lambda s: s.state == "paused" and s.step > 1)
    assert s.step == 11
    assert s.boundary is not None and len(s.boundary["A"]["p"]) == 16  # kept across snapshots
    time.sleep(0.5)  # paused: nothing moves
    assert h.snapshot().step == 11
    h.start()
    wait(h, lambda s: s.state == "running" or s.step > 11)
    h.pause()
    s = wait(h, lambda s: s.state in ("paused", "finished"))
    frozen = s.step
    time.sleep(0.4)
    assert h.snapshot().step == frozen
    h.close()


def test_finished_snapshot_equals_final_records_and_in_process_trainer(ex):
    """Same config in a worker and in this process: the same numbers, to the bit; the
    final snapshot's curves, last records and metrics are the trainer's final records."""
    cfg = pair(stacked=False)
    h = ex.open(cfg)
    h.start()
    s = wait(h, lambda s: s.state == "finished")
    ref = Trainer({k: build(v.replace(input_shape=(2,), n_classes=2)) for k, v in cfg.specs},
                  __import__("resviz.data", fromlist=["load"]).load("spirals", 200, 0.1, 0),
                  cfg.train)
    for _ in ref.run():
        pass
    assert s.step == s.max_steps == 40
    for name in ("A", "B"):
        hist = ref.history(name)
        assert s.curves[name]["loss"] == [r.loss for r in hist]
        assert s.curves[name]["step"] == list(range(40))
        evals = [r for r in hist if r.test_acc is not None]
        assert s.curves[name]["eval_step"] == [r.step for r in evals] and evals[-1].step == 39
        assert s.curves[name]["test_acc"] == [r.test_acc for r in evals]
        assert s.last[name] == hist[-1].to_dict() | {"wall": s.last[name]["wall"]}
        assert s.metrics[name] == ref.final(name)
        assert s.block_stats[name]["grad"] == hist[-1].grad_norms
    h.close()


def test_stacked_run_in_worker_equals_in_process_core(ex):
    cfg = pair()  # auto: the A/B pair stacks
    h = ex.open(cfg)
    h.step(15)
    s = wait(h, lambda s: s.state == "paused")
    core = RunCore(cfg)
    core.command("step", 15)
    while core.work(1.0):
        pass
    ref = core.snapshot()
    assert s.stacked and ref.stacked
    assert s.curves["A"]["loss"] == ref.curves["A"]["loss"]
    assert s.metrics == ref.metrics
    h.close()


def test_toggle_mid_run_is_seen_by_next_step_and_snapshot(ex):
    """A skip toggle sent while training: the snapshot shows it (skips, accuracy), and the
    numbers equal an in-process replay that toggles between the same two steps."""
    cfg = pair(steps=400)
    h = ex.open(cfg)
    h.start()
    wait(h, lambda s: s.step >= 3)
    mask = [False, True, False]
    h.set_skips("A", mask)
    s = wait(h, lambda s: s.skips.get("A") == mask)
    h.pause()
    s = wait(h, lambda s: s.state in ("paused", "finished"))
    at = [k for k, name in s.commands if name == "set_skips"]
    assert len(at) == 1 and s.skips["A"] == mask
    core = RunCore(cfg)
    core.command("step", at[0])
    while core.work(1.0):
        pass
    core.command("set_skips", "A", mask)
    core.command("step", s.step - at[0])
    while core.work(1.0):
        pass
    ref = core.snapshot()
    assert ref.step == s.step
    assert s.last["A"]["loss"] == ref.last["A"]["loss"]
    assert s.metrics["A"] == ref.metrics["A"]
    models = h.models()
    assert models["A"].skips == mask
    from resviz.train import evaluate
    xte, yte = core.trainer.test_set
    assert evaluate(models["A"], xte, yte)[1] == pytest.approx(s.metrics["A"]["test_acc"])
    h.close()


def test_fifty_rapid_commands_leave_a_consistent_run(ex):
    h = ex.open(pair(steps=30))
    cmds = [h.start, h.pause, lambda: h.step(1), lambda: h.step(10)]
    for i in range(50):
        cmds[(i * 7) % 4]()
    h.pause()
    s = wait(h, lambda s: s.state in ("paused", "finished") and s.commands[-1][1] == "pause")
    assert s.error is None
    assert 0 <= s.step <= s.max_steps
    h.step(10)
    s2 = wait(h, lambda t: t.state in ("paused", "finished") and t.commands[-1][1] == "step")
    assert s2.step == s.step + 10 and s2.max_steps == max(30, s2.step)
    assert all(len(c["loss"]) == s2.step for c in s2.curves.values())
    assert s2.curves["A"]["step"] == list(range(s2.step))
    h.close()


@pytest.mark.slow
def test_killed_worker_gives_lost_state_and_the_pool_recovers(ex):
    victim, other = ex.open(pair(steps=10_000)), ex.open(pair(steps=20))
    victim.start()
    wait(victim, lambda s: s.step > 0)
    pid = ex.kill_worker_of(victim)
    if ex.kill_worker_of(other) == pid:
        pytest.skip("both runs landed on one worker")
    os.kill(pid, signal.SIGKILL)
    s = wait(victim, lambda s: s.state == "lost", 10)
    assert s.state == "lost" and victim.lost == LOST_WORKER and s.error == LOST_WORKER
    assert s.step > 0  # the last picture stays
    assert victim.models() == {}
    other.start()
    assert wait(other, lambda s: s.state == "finished").step == 20
    fresh = ex.open(pair(steps=5))
    fresh.start()
    assert wait(fresh, lambda s: s.state == "finished", 120).step == 5
    assert ex.stats()["workers"] <= ex.bound
    for h in (victim, other, fresh):
        h.close()


@pytest.mark.slow
def test_unpolled_runs_expire_and_workers_stay_bounded():
    """At most bound x runs_per_worker runs: the least recently polled makes room; runs
    nobody polls for ttl seconds are closed; the worker count never passes the bound."""
    e = LocalExecutor(workers=2, ttl=1.0, runs_per_worker=2)
    try:
        hs = [e.open(pair(steps=5)) for _ in range(5)]
        assert e.stats()["workers"] <= 2 and e.stats()["runs_open"] == 4
        assert hs[0].lost == LOST_ROOM and hs[0].snapshot().state == "lost"
        for h in hs[1:]:
            assert h.wait(timeout=120) is not None
        time.sleep(1.6)
        e.expire()
        assert e.stats()["runs_open"] == 0
        assert all(h.lost == LOST_IDLE and h.snapshot().state == "lost" for h in hs[1:])
        assert e.stats()["workers"] <= 2
    finally:
        e.shutdown()


def test_bad_commands_are_reported_not_raised():
    core = RunCore(pair())
    core.command("set_skips", "A", [True])
    assert "3 blocks" in core.snapshot().error
    core.command("set_skips", "nobody", [True] * 3)
    assert core.snapshot().error
    core.command("step", 2)
    assert core.snapshot().error is None


def test_lesion_on_a_stacked_run_continues_exactly_unstacked():
    """set_active needs ResVizNet switches: the stacked run turns into a Trainer carrying
    the optimiser moments and batch stream, and goes on as if it had never been stacked
    (to rounding)."""
    base = NetworkSpec(depth=3, width=8, norm=False)  # batch norm parts stacked/unstacked
    specs = (("A", base), ("B", base.replace(family="plain")))  # under Adam: test_batched
    stacked = RunCore(RunConfig("classify", specs, TSPEC, boundary=0))
    plain = RunCore(RunConfig("classify", specs, TSPEC, boundary=0, stacked=False))
    assert stacked.stacked and not plain.stacked
    for core in (stacked, plain):
        core.command("step", 8)
        while core.work(1.0):
            pass
        core.command("set_active", "A", [True, False, True])
        core.command("step", 8)
        while core.work(1.0):
            pass
    a, b = stacked.snapshot(), plain.snapshot()
    assert not stacked.stacked and a.active["A"] == [True, False, True]
    assert a.curves["A"]["loss"] == pytest.approx(b.curves["A"]["loss"], rel=1e-4)
    assert a.curves["B"]["loss"] == pytest.approx(b.curves["B"]["loss"], rel=1e-4)
    assert a.metrics["B"]["train_loss"] == pytest.approx(b.metrics["B"]["train_loss"], rel=1e-3)


def test_thinned_curves_keep_the_last_point():
    from resviz.engine.core import Curve

    c = Curve(("step", "v"), cap=10)
    for i in range(1000):
        c.add((i, float(i)))
    cols = c.columns()
    assert len(cols["step"]) <= 11 and cols["step"][-1] == 999 and cols["step"][0] == 0
    gaps = {b - a for a, b in zip(cols["step"][:-2], cols["step"][1:-1])}
    assert len(gaps) == 1  # evenly spaced


torch.set_num_threads(1)


@pytest.mark.slow
def test_without_ray_address_nothing_of_ray_is_imported():
    import subprocess
    import sys

    code = ("import sys, resviz.engine as e; ex = e.executor(); "
            "print(type(ex).__name__, 'ray' in sys.modules); e.reset_executor()")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, cwd=str(__import__("pathlib").Path(__file__).parents[1]))
    assert out.stdout.split() == ["LocalExecutor", "False"], out.stderr


def run_to_pause(core: RunCore, n: int) -> None:
    core.command("step", n)
    while core.work(1.0):
        pass


def test_sequence_run_equals_the_lockstep_trainer_and_probes_measure_it():
    from resviz import sequence as seq

    specs = seq.trio(5, hidden=8)
    tspec = TrainSpec(n_samples=200, steps=6, batch_size=32, eval_every=3)
    core = RunCore(RunConfig("sequence", tuple(specs.items()), tspec,
                             probes=("state_grads", "lstm_memory")))
    core.command("start")
    while core.work(1.0):
        pass
    s = core.snapshot()
    ref = seq.make_trainer(specs, tspec)
    for _ in ref.run():
        pass
    assert s.state == "finished" and s.boundary is None and s.skips == {}
    for k in specs:
        assert s.curves[k]["loss"] == [r.loss for r in ref.history(k)]
        assert s.metrics[k] == ref.final(k)
    x, y = ref.test_set
    assert s.probes["state_grads"]["rnn"] == seq.state_grad_norms(ref.models["rnn"], x[:256], y[:256])
    assert len(s.probes["lstm_memory"]["lstm"]["forget_mean"]) == 5
    from resviz.engine.core import rebuild_models

    copies = rebuild_models(core.export_models())  # what RunHandle.models() gives a page
    for k, m in copies.items():
        assert type(m) is type(ref.models[k])
        for a, b in zip(m.state_dict().values(), ref.models[k].state_dict().values()):
            assert torch.equal(a, b)


def test_highway_probes_and_gate_commands():
    """The Highway page's probes computed by the engine equal resviz.probes.gates on the
    same weights; shutting a block's gate (set_gate) shows in the metrics and the probes."""
    from resviz.probes import gates

    hw = NetworkSpec(family="highway", depth=3, width=8)
    cfg = RunConfig("classify", (("highway", hw), ("residual", BASE)),
                    TSPEC.replace(steps=10), boundary=0,
                    probes=("gates", "gate_lesion", "act_grads", "openness_sweep"),
                    block_attrs=(("highway", "openness", 0.2),))
    core = RunCore(cfg)
    assert not core.stacked
    run_to_pause(core, 10)
    s = core.snapshot()
    model = core.models()["highway"]
    assert all(b.openness == 0.2 for b in model.blocks)
    x, y = core.trainer.test_set
    assert s.probes["gates"]["highway"] == gates.gate_maps(model, x)
    assert s.probes["gate_lesion"]["highway"] == gates.lesion_each(model, x, y)
    sweep = s.probes["openness_sweep"]["highway"]
    assert sweep["accuracy"] == gates.openness_sweep(model, x, y, sweep["openness"])
    assert "residual" not in s.probes["gates"] and len(s.probes["act_grads"]["residual"]) == 3
    from resviz.models import block_attrs
    from resviz.train import evaluate

    with block_attrs(model, "gate", [0.0] * 3):
        expected = evaluate(model, x, y)[1]
    core.command("set_gate", "highway", 0.0)
    shut = core.snapshot()
    assert all(b.gate == 0.0 for b in model.blocks)
    assert shut.metrics["highway"]["test_acc"] == pytest.approx(expected)
    assert shut.probes["gates"]["highway"]["mean_per_block"] == pytest.approx([0.2] * 3)
    core.command("set_gate", "residual", 0.0)
    assert "no gates" in core.snapshot().error



def test_submit_runs_jobs_in_worker_processes(ex):
    from resviz.train import survival_schedule

    futs = [ex.submit(survival_schedule, 4, 0.5) for _ in range(3)]
    assert all(f.result(120) == [0.875, 0.75, 0.625, 0.5] for f in futs)
    with pytest.raises(TypeError, match="cannot be interpreted"):  # raised in the worker
        ex.submit(survival_schedule, "x", 0.5).result(120)


@pytest.mark.parametrize("stacked", [True, False])
def test_divergence_is_reported_and_ends_the_run(stacked):
    base = NetworkSpec(depth=3, width=8, norm=False)
    cfg = RunConfig("classify", (("A", base), ("B", base.replace(family="plain"))),
                    TSPEC.replace(steps=200, lr=1e6, optimizer="sgd"), boundary=8,
                    stacked=stacked)
    core = RunCore(cfg)
    assert core.stacked == stacked
    core.command("start")
    while core.work(1.0):
        pass
    s = core.snapshot()
    assert s.state == "finished" and s.step < 200
    assert all(s.metrics[k]["diverged_at"] is not None for k in ("A", "B"))
    core.command("start")  # nothing left to train: stays finished, no error
    assert core.snapshot().state == "finished" and core.snapshot().error is None


@pytest.mark.parametrize("stacked", [True, False])
def test_boundary_is_each_models_class_probability_on_the_grid(stacked):
    from resviz.data import grid

    core = RunCore(pair(stacked=stacked))
    run_to_pause(core, 5)
    s = core.snapshot()
    ax, pts = grid(16)
    for name, model in core.models().items():
        model.eval()
        with torch.no_grad():
            p = torch.softmax(model(pts), 1)[:, 1].reshape(16, 16)
        model.train()
        assert s.boundary[name]["x"] == pytest.approx(ax.tolist())
        assert torch.tensor(s.boundary[name]["p"]) == pytest.approx(p, abs=1e-5)


def test_the_first_steps_after_start_are_published_at_once():
    """Start -> first update: a snapshot taken at step 0 makes the next step due at once, not
    SNAP_EVERY later; after that the pace is SNAP_EVERY."""
    core = RunCore(pair())
    core.command("start")
    core.snapshot(True)  # what the worker publishes after the command: step 0
    t = time.perf_counter()
    assert not core.due(t)  # nothing trained yet
    core.work(0.0)  # one step
    assert core.step_count == 1 and core.due(time.perf_counter() - 0.0)
    core.snapshot()
    assert not core.due(time.perf_counter())  # now the regular pace


@pytest.mark.parametrize("resume", ["start", "extend", "step10"])
def test_a_run_started_again_trains_one_step_first_and_shows_it_at_once(resume):
    """Start (and Continue, and Step 10) after a pause at step k: the run is `urgent` until a
    snapshot shows step k + 1. Its host trains it first, one step however long its slice
    (RunCore.work), and publishes at once; then the slices and the pace are the usual ones."""
    core = RunCore(pair(steps=30))
    core.command("step", 5)
    while core.state == "running":
        core.work(10.0)
    core.snapshot()
    assert core.step_count == 5 and not core.urgent
    if resume == "extend":
        core.command("step", 25)
        while core.state == "running":
            core.work(10.0)
        assert core.state == "finished"
        core.snapshot()
    k = core.step_count
    core.command(*{"start": ("start",), "extend": ("extend", 10), "step10": ("step", 10)}[resume])
    core.snapshot(True)  # what a worker publishes after a command: still step k
    assert core.urgent and not core.due(time.perf_counter())
    assert core.work(10.0) == 1, "the first slice after a Start trained more than one step"
    assert core.step_count == k + 1 and core.due(time.perf_counter())
    core.snapshot()
    assert not core.urgent and not core.due(time.perf_counter())
    assert core.work(10.0) > 1  # the usual slices again (until the limit or the Step target)


def test_a_slice_ends_early_when_its_host_has_a_command_waiting():
    core = RunCore(pair(steps=30))
    core.command("start")
    core.snapshot(True)
    core.work(10.0)  # the urgent first step
    core.snapshot()
    waiting = iter([False, False, True])
    assert core.work(10.0, interrupt=lambda: next(waiting)) == 3


def test_a_worker_trains_at_normal_priority_only_until_a_started_run_moves(monkeypatch):
    """local._Priority: the session's nice goes to 0 while a run is urgent, back after."""
    import resviz.engine.local as local

    calls = []
    monkeypatch.setattr(local, "_group_nice", lambda n: calls.append(n) or True)
    p = local._Priority(5)
    p.set(False)
    assert calls == []  # already at 5: no write
    p.set(True)
    p.set(True)
    p.set(False)
    assert calls == [0, 5]
    calls.clear()
    local._Priority(0).set(True)  # a worker not niced (RESVIZ_WORKER_NICE=0) is left alone
    assert calls == []


@pytest.mark.parametrize("crowd", [1, 4])
def test_a_crowded_run_keeps_its_books_as_much_less_often(monkeypatch, crowd):
    """A worker training `crowd` runs in turn gives each 1/crowd of its time: each run then
    publishes, draws its boundary and measures its full-set metrics crowd times less often
    per second, so the worker's bookkeeping stays the same share of its time (10 runs on 2
    workers: 17.1 -> 11.3 worker CPU ms per pair-step, bench_engine)."""
    import resviz.engine.core as core_mod

    clock = [1000.0]
    monkeypatch.setattr(core_mod, "time", SimpleNamespace(perf_counter=lambda: clock[0]))
    core = RunCore(pair(steps=10_000))
    core.command("start")
    core.snapshot(True)
    snaps, boundaries, metrics = 0, 0, set()
    seconds, turn = 6.0, 0.01 * crowd  # this run's turn comes every 0.01 * crowd seconds
    for _ in range(int(seconds / turn)):
        clock[0] += turn
        core.crowd = crowd
        core.work(0.0)
        if core.due(clock[0]):
            snap = core.snapshot()
            snaps += 1
            boundaries += snap.boundary is not None
            metrics.add(tuple(sorted((k, v["test_acc"]) for k, v in snap.metrics.items())))
    def near(n: int, every: float) -> bool:  # n events, one every `every` s (in whole turns)
        return abs(n - seconds / every) <= 0.1 * seconds / every + 2

    assert near(snaps, core_mod.SNAP_EVERY * crowd), snaps
    assert near(boundaries, core_mod.HEAVY_EVERY * crowd), boundaries
    assert len(metrics) <= seconds / (core_mod.METRICS_EVERY * crowd) + 2, len(metrics)


def test_the_first_snapshot_after_start_is_light_and_the_next_is_whole(monkeypatch):
    """The snapshot that shows the first step skips the boundary and the full-set metrics
    (0.1-0.4 s on a busy machine); the next one brings both, for the weights of its step."""
    import resviz.engine.core as core_mod

    for name in ("HEAVY_EVERY", "METRICS_EVERY"):  # heavy parts and metrics due at every snapshot
        monkeypatch.setattr(core_mod, name, 0.0)
    for name in ("HEAVY_SHARE", "METRICS_SHARE"):
        monkeypatch.setattr(core_mod, name, 1e9)
    core = RunCore(pair())
    ready = core.snapshot()
    assert ready.boundary is not None and ready.step == 0
    core.command("start")
    core.snapshot()  # step 0, running: what the worker publishes after the command
    core.work(0.0)
    first = core.snapshot()
    assert first.step == 1
    assert first.boundary is None, "the first step's snapshot computed a boundary"
    assert first.metrics == ready.metrics, "the first step's snapshot ran a full-set pass"
    core.work(0.0)
    second = core.snapshot()
    assert second.step == 2 and second.boundary is not None
    assert second.metrics != ready.metrics


def test_a_frozen_heap_leaves_the_collector_only_new_objects():
    """freeze_heap (run once by the app and by each engine worker) moves what lives now out of
    the collector's reach, once per process."""
    code = ("import gc, torch; from resviz.device import freeze_heap; "
            "assert gc.get_freeze_count() == 0; assert freeze_heap(); "
            "n = gc.get_freeze_count(); assert n > 10_000, n; assert not freeze_heap(); "
            "assert gc.get_freeze_count() == n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)


def test_workers_are_sessions_of_their_own_and_end_when_the_server_is_killed():
    """Each worker leads its own session (Linux shares CPU fairly between sessions where it
    groups by session: the workers do not share one group with the server), and none outlives
    a server killed with SIGKILL: they exit when their socket closes."""
    code = ("import os, sys, signal; from resviz.engine.local import LocalExecutor; "
            "e = LocalExecutor(workers=2, ttl=60); assert e.warm(120); "
            "print(' '.join(map(str, e.stats()['pids'])), flush=True); "
            "os.kill(os.getpid(), signal.SIGKILL)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=180)
    pids = [int(p) for p in out.stdout.split()]
    assert pids, out.stderr[-2000:]

    def alive(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    end = time.monotonic() + 15
    while any(alive(p) for p in pids) and time.monotonic() < end:
        time.sleep(0.1)
    assert not any(alive(p) for p in pids), "a worker outlived its server"


def test_each_worker_leads_its_own_session(ex):
    pids = ex.stats()["pids"]
    assert pids and all(os.getsid(p) == p for p in pids)
    assert os.getsid(0) not in pids


def test_running_counts_the_runs_that_train(ex):
    h = ex.open(pair(steps=100_000))
    wait(h, lambda s: s.state == "ready")
    before = ex.running()
    h.start()
    wait(h, lambda s: s.state == "running" and s.step > 0)
    assert ex.running() == before + 1
    h.pause()
    wait(h, lambda s: s.state == "paused")
    assert ex.running() == before
    h.close()


def test_second_tab_finds_a_warm_worker():
    """The executor warms a spare as soon as its first worker is ready: a second tab opened
    right after the first lands on a worker that has already imported torch, not on a spare
    started only when the first run opened (its first snapshot then waited 3 s)."""
    e = LocalExecutor(workers=3, ttl=60)
    try:
        deadline = time.monotonic() + 120
        while e.stats()["ready"] < 2:
            assert time.monotonic() < deadline, "no spare came up before the first run"
            time.sleep(0.1)
        assert e.stats()["workers"] == 2  # not all 3: memory grows with the bound
        first, second = e.open(pair()), e.open(pair())
        assert sorted(e.stats()["runs_per_worker"])[-2:] == [1, 1]  # one run each, both ready
        for h in (first, second):
            assert h.wait(timeout=60) is not None
            h.close()
        assert e.stats()["workers"] == 3  # the spare the third tab will take
    finally:
        e.shutdown()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="CPU priority as Linux has it")
def test_a_worker_yields_the_cpu_to_the_page():
    """A worker process lowers its own priority by RESVIZ_WORKER_NICE (its process nice, and
    its session's autogroup where Linux has one), so page reruns and tabs go first; 0 = off."""
    code = ("import os; from pathlib import Path; from resviz.engine.local import _background; "
            "os.setsid(); _background({n}); g = Path('/proc/self/autogroup'); "
            "print(os.getpriority(os.PRIO_PROCESS, 0), g.read_text().split()[-1] if g.exists() else '-')")
    root = Path(__file__).resolve().parents[1]

    def run(n: int) -> list[str]:
        out = subprocess.run([sys.executable, "-c", code.format(n=n)], cwd=root, check=True,
                             capture_output=True, text=True, start_new_session=False)
        return out.stdout.split()

    base = os.getpriority(os.PRIO_PROCESS, 0)
    nice, group = run(5)
    assert int(nice) == min(19, base + 5)
    assert group in ("-", "5")
    nice, group = run(0)
    assert int(nice) == base and group in ("-", "0")


@pytest.fixture
def fake_pool(monkeypatch):
    """A LocalExecutor whose two workers are stand-ins: it places and moves runs by its own
    rules, and what it would send a worker is recorded as (worker, message)."""
    from resviz.engine import local

    def spawn(self, jobs=False):
        w = local._Worker(SimpleNamespace(pid=0, poll=lambda: None), None, ready=True)
        self._workers.append(w)
        return w

    sent: list = []
    monkeypatch.setattr(LocalExecutor, "_spawn", spawn)
    monkeypatch.setattr(LocalExecutor, "_post", lambda self, w, msg: sent.append((w, msg)) or True)
    monkeypatch.setattr(LocalExecutor, "_ensure_spare", lambda self, extra=0: None)
    ex = LocalExecutor(workers=2, spare=0)
    yield ex, sent
    ex._closed = True  # its janitor stops: it would close the idle runs through pipes it lacks


def _training(left: int, sps: float = 50.0, gang: str = ""):
    from resviz.engine.config import Snapshot

    return Snapshot(version=1, state="running", step=600 - left, max_steps=600, sps=sps,
                    eta=left / sps if sps else None, names=["A"], left=left, gang=gang)


def test_runs_are_spread_over_workers_by_their_weight_not_their_count(fake_pool):
    """A run stays on the worker it was opened on, and a worker trains its runs in turn: a
    deep run opened first gets a worker to itself while three shallow ones share the other
    (placed by count, the deep one would share its worker and train at half speed)."""
    ex, _sent = fake_pool
    train = TrainSpec(steps=10)
    for depth in (60, 10, 10, 10):
        ex.open(RunConfig("classify", (("A", NetworkSpec(depth=depth)),), train))
    depths = sorted(sorted(ex._runs[r].config.specs[0][1].depth for r in w.runs)
                    for w in ex._workers)
    assert depths == [[10, 10, 10], [60]]
    assert RunConfig("classify", (("A", NetworkSpec(depth=40)),), train).weight == \
        2 * RunConfig("classify", (("A", NetworkSpec(depth=20)),), train).weight


@pytest.mark.parametrize("lefts, moved", [
    ((600, 600, 30), 0),      # one worker trains two runs, the other is nearly done
    ((300, 500, 200), 0),     # the smaller run: both workers then end after 500 steps' work
    ((500, 300, 200), 1),     # ... whichever it is
    ((600, 600, 600), None),  # 2 runs vs 1: any move leaves a worker with 2 runs' work
    ((600, 550, 500), None),  # moving either would end later than staying
])
def test_a_run_moves_when_that_ends_the_training_sooner(fake_pool, lefts, moved):
    """LocalExecutor._rebalance: a worker that trains several runs in turn is done when their
    remaining work is (steps to go x weight); one run moves to the least busy worker when
    that brings the later of the two ends at least REBALANCE_GAIN closer, and it is the run
    whose move brings it closest. Three runs of one weight: two share worker 0."""
    ex, sent = fake_pool
    cfg = RunConfig("classify", (("A", NetworkSpec(depth=4)),), TrainSpec(steps=600))
    rids = [ex.open(cfg).run_id for _ in range(3)]
    w0, w1 = ex._workers
    assert [ex._runs[r].worker for r in rids] == [w0, w1, w0]
    shared = [rids[0], rids[2]]
    for rid, left in zip([*shared, rids[1]], lefts):
        ex._runs[rid].snapshot = _training(left)
    sent.clear()
    with ex._lock:
        ex._rebalance()
    if moved is None:
        assert sent == []
    else:
        assert sent == [(w0, ("export", shared[moved]))]
        assert ex._runs[shared[moved]].moving_to is w1
        with ex._lock:
            ex._rebalance()  # one move at a time
        assert len(sent) == 1


def test_a_workers_time_to_end_counts_a_gang_at_its_cost():
    """Runs in turn add up; a gang of n costs (1 + GANG_EXTRA (n - 1)) steps while all n
    train, then less as the nearest ends pass."""
    from resviz.engine.local import GANG_EXTRA, time_to_end

    assert time_to_end([]) == 0
    assert time_to_end([(600, 1.0, ""), (600, 1.0, "")]) == 1200  # no gang: in turn
    assert time_to_end([(600, 1.0, "g"), (600, 1.0, "h")]) == 1200  # two gangs: in turn
    assert time_to_end([(600, 2.0, "g"), (600, 2.0, "g")]) == pytest.approx(
        600 * 2 * (1 + GANG_EXTRA))
    assert time_to_end([(600, 1.0, "g"), (200, 1.0, "g"), (100, 1.0, "")]) == pytest.approx(
        400 + 200 * (1 + GANG_EXTRA) + 100)


@pytest.mark.parametrize("gang, moved", [("", 0), ("g", None)])
def test_a_gang_is_not_split_for_less_than_its_gain(fake_pool, gang, moved):
    """Two runs left 600 steps on worker 0, a run of another shape 250 on worker 1. In turn,
    worker 0 ends after 1200 steps' work and a move makes it 850: the run moves. As a gang
    it ends after 960, and 850 is not REBALANCE_GAIN sooner: it stays."""
    ex, sent = fake_pool
    cfg = RunConfig("classify", (("A", NetworkSpec(depth=4)),), TrainSpec(steps=600))
    rids = [ex.open(cfg).run_id for _ in range(3)]
    for rid, snap in zip(rids, [_training(600, gang=gang), _training(250, gang="other"),
                                _training(600, gang=gang)]):
        ex._runs[rid].snapshot = snap
    sent.clear()
    with ex._lock:
        ex._rebalance()
    assert sent == ([] if moved is None else [(ex._workers[0], ("export", rids[moved]))])


def test_a_run_just_started_is_not_moved(fake_pool):
    """A run with no rate yet was just started: its first steps are what its tab waits for,
    so _rebalance moves another run or none."""
    ex, sent = fake_pool
    cfg = RunConfig("classify", (("A", NetworkSpec(depth=4)),), TrainSpec(steps=600))
    rids = [ex.open(cfg).run_id for _ in range(3)]
    ex._runs[rids[0]].snapshot = _training(600, sps=0.0)
    ex._runs[rids[2]].snapshot = _training(600, sps=0.0)
    sent.clear()
    with ex._lock:
        ex._rebalance()
    assert sent == []
    ex._runs[rids[2]].snapshot = _training(590)
    with ex._lock:
        ex._rebalance()
    assert [m for _w, m in sent] == [("export", rids[2])]


def test_a_run_about_to_end_is_not_moved(fake_pool):
    """A move pauses a run about a second: one with less than MOVE_MIN_S left at its rate
    stays, though a move would end its worker's training sooner on paper."""
    from resviz.engine.local import MOVE_MIN_S

    ex, sent = fake_pool
    cfg = RunConfig("classify", (("A", NetworkSpec(depth=4)),), TrainSpec(steps=600))
    rids = [ex.open(cfg).run_id for _ in range(3)]
    ex._runs[rids[1]].snapshot = _training(1)  # worker 1 is nearly done
    for left in (int(0.9 * MOVE_MIN_S * 50), int(1.2 * MOVE_MIN_S * 50)):
        for rid in (rids[0], rids[2]):
            ex._runs[rid].snapshot = _training(left, sps=50.0)
        sent.clear()
        with ex._lock:
            ex._rebalance()
        ex._moved_at = -1e9  # the next try is not held back by REBALANCE_EVERY
        assert len(sent) == (left >= MOVE_MIN_S * 50), left


def test_a_run_that_stopped_before_its_worker_could_send_it_stays_there():
    """A move is asked for from a running snapshot, and the worker sends the run between two
    steps; if it stopped meanwhile (finished, paused), the worker keeps it: a stopped run
    gains nothing from a move, and a snapshot from the new worker would redraw its finished
    page once more. What was sent to it meanwhile still reaches it."""
    e = LocalExecutor(workers=2, ttl=60)
    try:
        assert e.warm(120)
        h, other = e.open(pair(steps=3000)), e.open(pair(steps=3000))
        for x in (h, other):
            wait(x, lambda s: s.state == "ready")
        pid = e.kill_worker_of(h)
        assert e.kill_worker_of(other) != pid
        h.start()
        wait(h, lambda s: s.step > 0)
        h.pause()
        at = wait(h, lambda s: s.state == "paused").step
        with e._lock:  # what _rebalance does, as if it had read a running snapshot
            e._runs[h.run_id].moving_to = e._runs[other.run_id].worker
            e._post(e._runs[h.run_id].worker, ("export", h.run_id))
        h.step(5)  # held while the move is open, then sent where the run is
        s = wait(h, lambda s: s.state == "paused" and s.step == at + 5)
        assert s is not None, "the step sent during the move was lost"
        assert e.kill_worker_of(h) == pid
        assert e._runs[h.run_id].moving_to is None
    finally:
        e.shutdown()


def test_runs_sharing_a_worker_advance_at_the_same_steps_per_second():
    """One worker, a small and a large run: it trains the one with fewer steps since it
    joined next, so both advance alike. (In turns of equal time, the small one ran about
    ten times as many steps, and a class's runs on one worker ended seconds apart.)"""
    e = LocalExecutor(workers=1, ttl=60)
    try:
        assert e.warm(120)
        train = TSPEC.replace(steps=100_000)
        small = e.open(RunConfig("classify", (("A", NetworkSpec(depth=2, width=8)),), train,
                                 boundary=16))
        large = e.open(RunConfig("classify", (("A", NetworkSpec(depth=24, width=64)),), train,
                                 boundary=16))
        hs = [small, large]
        for h in hs:
            wait(h, lambda s: s.state == "ready")
        for h in hs:
            h.start()
        for h in hs:
            wait(h, lambda s: s.step > 0)
        wait(large, lambda s: s.step >= 100, timeout=120)
        for h in hs:
            h.pause()
        steps = [wait(h, lambda s: s.state == "paused").step for h in hs]
        assert min(steps) >= 0.7 * max(steps), steps
    finally:
        e.shutdown()


def test_a_run_near_its_end_is_ending_by_its_own_rate():
    """RunCore.ending (its worker then trains at normal priority): running, with fewer
    steps to go than ENDING seconds' worth at its rate, to the step limit or a Step target."""
    from resviz.engine.core import ENDING

    core = RunCore(pair(steps=400))
    assert not core.ending  # ready
    core.command("start")
    while core.step_count < 100:
        core.work(0.0)
    core.sps = 200.0 / ENDING  # 200 steps in ENDING seconds
    assert core.state == "running" and not core.ending  # 300 to go
    while core.step_count < 201:
        core.work(0.0)
    core.sps = 200.0 / ENDING
    assert core.ending  # 199 to go
    core.command("pause")
    assert not core.ending
    core.command("step", 10)
    core.sps = 200.0 / ENDING
    assert core.ending


def test_a_run_moves_to_an_idle_worker_and_trains_on_with_the_same_numbers():
    """Three runs on two workers: one trains alone, two share a worker in turn. When the
    lone one stops, one of the two moves to the idle worker (LocalExecutor._rebalance), whole
    and between two steps: it trains on, and its numbers are those of the same config
    trained in this process to the same step."""
    e = LocalExecutor(workers=2, ttl=60)
    try:
        assert e.warm(120)
        cfg = pair(steps=3000)
        hs = [e.open(cfg) for _ in range(3)]
        for h in hs:
            wait(h, lambda s: s.state == "ready")
        pids = [e.kill_worker_of(h) for h in hs]
        assert len(set(pids)) == 2, pids
        lone = next(h for h, p in zip(hs, pids) if pids.count(p) == 1)
        shared = [h for h in hs if h is not lone]
        for h in hs:
            h.start()
        for h in hs:
            wait(h, lambda s: s.step > 0)
        lone.pause()
        wait(lone, lambda s: s.state == "paused")
        deadline = time.monotonic() + 30
        while e.kill_worker_of(shared[0]) == e.kill_worker_of(shared[1]):
            assert time.monotonic() < deadline, "no run moved to the idle worker"
            time.sleep(0.05)
        moved = next(h for h in shared if e.kill_worker_of(h) != pids[hs.index(h)])
        at = moved.snapshot().step
        wait(moved, lambda s: s.step > at + 20)  # it trains on where it went
        moved.pause()
        s = wait(moved, lambda s: s.state == "paused")
        core = RunCore(cfg)
        core.command("step", s.step)
        while core.work(1.0):
            pass
        ref = core.snapshot()
        assert ref.step == s.step
        assert s.curves["A"]["loss"] == ref.curves["A"]["loss"]
        assert s.metrics == ref.metrics
    finally:
        e.shutdown()


def _seeded(seed: int, steps: int, lr_scale: float = 1.0) -> RunConfig:
    """The stacked A/B pair with its own seeds (nets and batches) and learning rate."""
    net = BASE.replace(seed=seed)
    return RunConfig("classify", (("A", net), ("B", net.replace(family="plain"))),
                     TSPEC.replace(steps=steps, seed=seed, lr=TSPEC.lr * lr_scale), boundary=16)


def _alone(cfg: RunConfig, steps: int):
    core = RunCore(cfg)
    core.command("step", steps)
    while core.work(1.0):
        pass
    return core.snapshot()


def _same_numbers(s, ref) -> None:
    assert s.step == ref.step
    for name in ref.curves:
        for col in ("loss", "test_acc", "grad_norms"):
            assert s.curves[name][col] == ref.curves[name][col], (name, col)
    assert s.metrics == ref.metrics


def test_runs_trained_together_have_the_numbers_they_have_alone(gangs_built):
    """work_together steps same-shape stacked runs as one Gang (counted here); each run's
    curves and metrics equal the same config trained alone. A run that stops first (its
    Step target) leaves the others training."""
    from resviz.engine.core import work_together

    built = gangs_built
    cfgs = [_seeded(0, 60), _seeded(3, 60), _seeded(2, 60, lr_scale=1 / 3)]
    targets = [25, 40, 40]
    cores = [RunCore(c) for c in cfgs]
    for c, n in zip(cores, targets):
        c.command("step", n)
        c.work(1.0)  # a Step's first step is trained alone and shown at once (urgent)
    while any(c.state == "running" for c in cores):
        work_together(cores, 0.05)
    assert built and max(built) == 3
    for c, cfg, n in zip(cores, cfgs, targets):
        _same_numbers(c.snapshot(), _alone(cfg, n))


def test_runs_sharing_a_worker_end_with_the_numbers_they_have_alone():
    """Two same-shape runs on one worker (trained as one Gang there) finish with the numbers
    each has trained alone in this process."""
    e = LocalExecutor(workers=1, ttl=60)
    try:
        assert e.warm(120)
        cfgs = [_seeded(0, 80), _seeded(5, 80)]
        hs = [e.open(c) for c in cfgs]
        for h in hs:
            wait(h, lambda s: s.state == "ready")
        for h in hs:
            h.start()
        finals = [wait(h, lambda s: s.state == "finished", timeout=120) for h in hs]
        for s, cfg in zip(finals, cfgs):
            _same_numbers(s, _alone(cfg, 80))
    finally:
        e.shutdown()
