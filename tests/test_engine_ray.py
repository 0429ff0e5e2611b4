"""The Ray path on a two-node local cluster (ray.cluster_utils.Cluster): a live run placed on
the second node trains, its snapshots reach the caller with the in-process numbers, heavy
jobs run as tasks, and a removed node turns its run "lost" instead of raising."""

from __future__ import annotations

import pytest

ray = pytest.importorskip("ray")

from ray.cluster_utils import Cluster  # noqa: E402

from resviz.engine import RunConfig  # noqa: E402
from resviz.engine.core import RunCore  # noqa: E402
from resviz.engine.local import LOST_WORKER  # noqa: E402
from resviz.spec import NetworkSpec, TrainSpec  # noqa: E402

pytestmark = pytest.mark.slow

BASE = NetworkSpec(depth=3, width=8)
CFG = RunConfig("classify", (("A", BASE), ("B", BASE.replace(family="plain"))),
                TrainSpec(n_samples=200, steps=30, batch_size=32, eval_every=5), boundary=16)


@pytest.fixture(scope="module")
def cluster():
    from resviz.engine.ray_exec import RayExecutor

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    second = c.add_node(num_cpus=2, resources={"second": 2})
    c.wait_for_nodes()
    ex = RayExecutor(c.address, ttl=120)
    yield c, second, ex
    ex.shutdown()
    ray.shutdown()
    c.shutdown()


def test_live_run_on_second_node_trains_and_reports(cluster):
    c, second, ex = cluster
    h = ex.open(CFG, resources={"second": 1})
    assert ex.where(h)["node_id"] == second.node_id != c.head_node.node_id
    h.step(10)
    s = h.wait(lambda s: s.state == "paused", timeout=60)
    assert s is not None and s.step == 10
    ref = RunCore(CFG)
    ref.command("step", 10)
    while ref.work(1.0):
        pass
    assert s.curves["A"]["loss"] == ref.snapshot().curves["A"]["loss"]
    h.start()
    s = h.wait(lambda s: s.state == "finished", timeout=60)
    assert s.step == 30 and s.boundary is not None and len(s.boundary["A"]["p"]) == 16
    assert set(h.models()) == {"A", "B"}
    from resviz.train import survival_schedule  # a library function, shipped by reference

    assert ex.submit(survival_schedule, 4, 0.5).result(60) == [0.875, 0.75, 0.625, 0.5]
    h.close()


def test_a_sweep_depth_runs_as_a_ray_task_with_its_progress_relayed(cluster):
    """A heavy job on the cluster: its progress reaches the caller through the sink actor, and
    its numbers are the in-process ones."""
    import time

    from resviz.experiments import degradation as deg

    _c, _second, ex = cluster
    sw = deg.page_sweep(max_depth=2, seeds=1, steps=400, width=8)
    job = ex.submit_job(deg.run_group, (sw, 2), {}, True)
    seen = []
    while not job.future.done():
        values = job.latest()
        if values is not None:
            seen.append(values[0])
        time.sleep(0.05)
    result = job.future.result(60)
    assert seen and min(seen) < sw.train.steps, seen  # progress arrived while it ran
    assert result["rows"] == deg.run_group(sw, 2)["rows"]


def test_removed_node_loses_its_run_without_raising(cluster):
    c, second, ex = cluster
    h = ex.open(CFG.__class__(**{**CFG.__dict__, "train": CFG.train.replace(steps=100_000)}),
                resources={"second": 1})
    h.start()
    assert h.wait(lambda s: s.step > 0, timeout=60) is not None
    c.remove_node(second)
    s = h.wait(lambda s: s.state == "lost", timeout=60)
    assert s is not None and s.state == "lost" and h.lost == LOST_WORKER


def test_the_cli_sends_its_heavy_parts_to_the_cluster(cluster, monkeypatch, capsys):
    """With RAY_ADDRESS set, `python -m resviz degradation`, `orderings` and `landscape` run
    their heavy parts as Ray tasks (one per depth, one per ordering, the landscape as one),
    with the numbers the same command gives in its own process. No results store, so nothing
    is read back instead."""
    import json

    import resviz.__main__ as cli
    import resviz.engine as engine
    from resviz.engine.ray_exec import RayExecutor

    c, _second, _ex = cluster
    monkeypatch.setenv("RESVIZ_NO_STORE", "1")
    commands = {
        "degradation": ["degradation", "--depths", "2,3", "--seeds", "1", "--steps", "5",
                        "--width", "4", "--samples", "40", "--json"],
        "orderings": ["orderings", "--depth", "2", "--width", "4", "--samples", "40", "--steps",
                      "2", "--seeds", "1", "--json"],
        "landscape": ["landscape", "--depth", "2", "--width", "4", "--steps", "3", "--samples",
                      "40", "--grid", "3", "--line-points", "3", "--json"],
    }

    def numbers(argv: list[str]) -> dict:
        assert cli.main(argv) == 0
        out = json.loads(capsys.readouterr().out)
        if argv[0] == "degradation":
            return {"rows": [{k: v for k, v in r.items() if "second" not in k}
                             for r in out["rows"]]}
        if argv[0] == "orderings":
            return {k: out[k] for k in ("test_error", "train_loss", "per_seed", "curves")}
        return {k: out[k] for k in ("landscape", "train_loss", "test_acc")}

    here = {name: numbers(argv) for name, argv in commands.items()}
    sent: list[str] = []
    submit = RayExecutor.submit_job

    def counting(self, fn, *args, **kw):
        sent.append(fn.__name__)
        return submit(self, fn, *args, **kw)

    monkeypatch.setattr(RayExecutor, "submit_job", counting)
    monkeypatch.setenv("RAY_ADDRESS", c.address)
    engine.reset_executor()  # the next executor() is a RayExecutor on this (connected) cluster
    try:
        there = {name: numbers(argv) for name, argv in commands.items()}
        assert isinstance(engine.executor(), RayExecutor)
    finally:
        engine.reset_executor()
    from resviz.spec import ORDERINGS

    assert sorted(sent) == sorted(["compute", "run_group", "run_group",
                                   *["train_ordering"] * len(ORDERINGS)])
    assert there == here
