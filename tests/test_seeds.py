"""Seeds that hold under many users: same spec and seed, same numbers in any thread.

Streamlit runs every session in its own thread. These tests train several different specs
at once (alongside a thread that keeps drawing from the global generator, as foreign code
might) and ask for exactly the numbers each spec gives alone; and they check that nothing
in build, training or the probes moves the global generators at all.
"""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest
import torch

from resviz import seeds
from resviz.blocks import install_stochastic_depth
from resviz.data import load
from resviz.experiments.arch import gallery, gallery_graph
from resviz.models import build, recording
from resviz.probes.attribution import block_attribution
from resviz.probes.gradients import init_profile
from resviz.probes.landscape import directions
from resviz.probes.lesion import delete_k, reorder
from resviz.probes.paths import path_gradients
from resviz.probes.shattered import input_gradients
from resviz.sequence import SeqSpec, build_seq
from resviz.sequence import make_trainer as seq_trainer
from resviz.spec import NetworkSpec, TrainSpec
from resviz.train import Trainer

DATA = load("spirals", 240, 0.1, 0)
STEPS = 25

# Four different specs; the last two train with stochastic depth (its coins are random draws).
JOBS = [
    (NetworkSpec(depth=4, width=12, seed=1), TrainSpec(steps=STEPS, batch_size=32, seed=1)),
    (NetworkSpec(family="plain", depth=4, width=12, seed=2),
     TrainSpec(steps=STEPS, batch_size=32, seed=2)),
    (NetworkSpec(ordering="full_preact", depth=6, width=12, seed=3),
     TrainSpec(steps=STEPS, batch_size=32, seed=3, stochastic_depth=0.5)),
    (NetworkSpec(family="gated", depth=5, width=12, seed=4),
     TrainSpec(steps=STEPS, batch_size=32, seed=4, stochastic_depth=0.3)),
]


def train(net: NetworkSpec, tspec: TrainSpec, start: threading.Barrier | None = None
          ) -> tuple[list[float], dict[str, torch.Tensor]]:
    """Build and train one spec; the losses of every step and the final weights."""
    if start is not None:
        start.wait()
    model = build(net)
    tr = Trainer({"m": model}, DATA, tspec)
    for _ in tr.run():
        pass
    return [r.loss for r in tr.history("m")], model.state_dict()


def run_threaded(jobs: list[tuple[NetworkSpec, TrainSpec]]) -> list:
    """Every job in its own thread, all started together, with a global-RNG consumer running."""
    results: list = [None] * len(jobs)
    errors: list[BaseException] = []
    start, stop = threading.Barrier(len(jobs) + 1), threading.Event()

    def work(i: int) -> None:
        try:
            results[i] = train(*jobs[i], start)
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            errors.append(e)

    def noise() -> None:  # foreign code drawing from the global generator meanwhile
        start.wait()
        while not stop.is_set():
            torch.rand(8)
            torch.manual_seed(random.randrange(2**31))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(jobs))]
    noisy = threading.Thread(target=noise)
    for t in [*threads, noisy]:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    noisy.join()
    assert not errors, errors
    return results


def assert_same(a: tuple[list[float], dict], b: tuple[list[float], dict]) -> None:
    assert a[0] == b[0]
    assert a[1].keys() == b[1].keys()
    for k in a[1]:
        assert torch.equal(a[1][k], b[1][k]), k


@pytest.mark.parametrize("jobs", [JOBS[:2] * 2, JOBS], ids=["without_sd", "with_sd"])
def test_four_threads_give_exactly_the_single_thread_results(jobs) -> None:
    # without_sd: four threads, two of them the same spec; with_sd: four different specs
    alone = [train(*job) for job in jobs]
    together = run_threaded(jobs)
    for a, b in zip(alone, together):
        assert_same(a, b)
    assert alone[2][0] != alone[3][0]  # different specs really train differently


def test_stochastic_depth_run_is_reproducible_and_its_coins_matter() -> None:
    net, tspec = JOBS[2]
    a, b = train(net, tspec), train(net, tspec)
    assert_same(a, b)
    # the coins are drawn from the run's seed: another run seed drops other blocks
    other_coins = train(net, tspec.replace(stochastic_depth=0.5, seed=tspec.seed + 1))
    assert other_coins[0] != a[0]
    # and they are drawn at all: with every block kept the run is different again
    assert train(net, tspec.replace(stochastic_depth=None))[0] != a[0]


def test_stochastic_depth_coins_follow_the_seed_not_the_global_generator() -> None:
    model = build(NetworkSpec(depth=8, width=8))
    install_stochastic_depth(model.blocks, 0.5, seed=7)
    x = torch.randn(16, 2, generator=torch.Generator().manual_seed(0))

    def kept() -> list[bool]:
        """Which branches survive three training forwards (a dropped branch adds exactly 0)."""
        out = []
        with recording(model):
            for _ in range(3):
                model(x)
                out += [b.stats["branch_ratio"] > 0 for b in model.blocks]
        return out

    torch.manual_seed(0)
    first = kept()
    assert 0 < sum(first) < len(first)  # some branches dropped, some kept
    install_stochastic_depth(model.blocks, 0.5, seed=7)
    torch.manual_seed(123)  # a different global state changes nothing
    assert kept() == first
    install_stochastic_depth(model.blocks, None, seed=7)
    assert all(b.survival == 1.0 for b in model.blocks)


def test_nothing_touches_the_global_generators() -> None:
    torch.manual_seed(2024)
    np.random.seed(2024)
    random.seed(2024)
    before = torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()

    model = build(NetworkSpec(depth=4, width=8, seed=5))
    tr = Trainer({"m": model}, DATA, TrainSpec(steps=5, batch_size=32, stochastic_depth=0.5))
    for _ in tr.run():
        pass
    x, y = DATA.x_test, DATA.y_test
    delete_k(model, x, y, [1, 2], draws=3, seed=1)
    reorder(model, x, y, [1], draws=2, seed=1)
    path_gradients(model, x[:16], y[:16], samples=3, seed=1)
    directions(model, 3)
    block_attribution(model, x[:8], 0, n_steps=4)
    init_profile(NetworkSpec(depth=3, width=8), DATA, n=32)
    input_gradients(NetworkSpec(depth=2, width=8), n=16)
    for kind in ("rnn", "lstm", "residual"):
        build_seq(SeqSpec(kind, length=5, hidden=4))
    st = seq_trainer({"lstm": SeqSpec("lstm", 5, 4)}, TrainSpec(steps=2, n_samples=64))
    for _ in st.run():
        pass
    for e in gallery():
        gallery_graph(e.key, width=4)
    load("moons", 100, 0.1, 3)

    assert torch.equal(torch.get_rng_state(), before[0])
    assert np.array_equal(np.random.get_state()[1], before[1])
    assert random.getstate() == before[2]


@pytest.mark.slow
def test_mnist1d_leaves_numpy_and_python_generators_alone() -> None:
    """mnist1d seeds numpy's and Python's global generators itself; ResViz puts them back."""
    from resviz import data

    data._mnist1d.cache_clear()
    np.random.seed(9)
    random.seed(9)
    before = np.random.get_state()[1].copy(), random.getstate()
    load("mnist1d", 200)
    assert np.array_equal(np.random.get_state()[1], before[0])
    assert random.getstate() == before[1]


def test_gallery_blocks_are_the_same_every_time() -> None:
    a, b = (gallery_graph("exclusive_gating", width=4) for _ in range(2))
    assert a.table() == b.table()
    from resviz.experiments.arch import entry

    block = entry("exclusive_gating").build(4)
    assert torch.all(block.g.bias == -6.0)  # the paper's gate bias survives the seeded build
    w1, w2 = entry("original").build(4).w1.weight, entry("original").build(4).w1.weight
    assert torch.equal(w1, w2)


def test_derived_seeds_are_fixed_and_independent() -> None:
    assert seeds.derive(3, "a") == seeds.derive(3, "a")
    assert len({seeds.derive(3, "a"), seeds.derive(3, "b"), seeds.derive(4, "a")}) == 3
    assert 0 <= seeds.derive(2**64, "x") <= seeds.MAX_SEED
