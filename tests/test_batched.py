"""Stacked-weight training is the same maths as training each model alone."""

from __future__ import annotations

import math

import pytest
import torch

from resviz.batched import BatchedTrainer, NotBatchable, StackedNet, make_trainer
from resviz.data import load
from resviz.models import build
from resviz.spec import NetworkSpec, TrainSpec
from resviz.train import Trainer


@pytest.fixture(scope="module")
def data():
    return load("spirals", 300, 0.1, 0)


@pytest.mark.parametrize("ordering,norm,optimizer", [
    ("original", True, "sgd"), ("bn_after_add", False, "adam"), ("relu_preact", False, "sgd")])
def test_batched_matches_sequential(data, ordering, norm, optimizer):
    """Same batches, same losses step by step, same weights and running stats at the end."""
    base = NetworkSpec(depth=3, width=8, ordering=ordering, norm=norm)
    specs = {"p0": base.replace(family="plain"), "r0": base, "r1": base.replace(seed=1)}
    tspec = TrainSpec(dataset="spirals", n_samples=300, steps=12, batch_size=32, eval_every=5,
                      optimizer=optimizer, lr=0.05 if optimizer == "sgd" else 0.01)
    seq = Trainer({k: build(s) for k, s in specs.items()}, data, tspec)
    bat = BatchedTrainer(specs, data, tspec)
    for a, b in zip(seq.run(), bat.run()):
        for k in specs:
            assert b[k].loss == pytest.approx(a[k].loss, rel=1e-4, abs=1e-6)
            if a[k].test_acc is not None:
                assert b[k].test_acc == pytest.approx(a[k].test_acc, abs=1e-6)
    for k, model in bat.models.items():
        for (n, t1), t2 in zip(seq.models[k].state_dict().items(), model.state_dict().values()):
            assert torch.allclose(t1.float(), t2.float(), rtol=1e-3, atol=1e-5), n
        assert bat.final(k)["train_loss"] == pytest.approx(seq.final(k)["train_loss"], rel=1e-3)


def test_stacked_gradients_equal_each_models_own(data):
    """Batch norm on, every ordering: each slice's gradient is its model's gradient.

    (With Adam and batch norm, trajectories still part after some steps: the bias just
    before a batch norm has a true gradient of 0, so its computed gradient is rounding
    noise, ~1e-8, which Adam rescales to a full step in either implementation.)
    """
    from resviz.batched import _losses

    x, y = data.x_train[:32], data.y_train[:32]
    for ordering in ("original", "bn_after_add", "relu_before_add", "relu_preact", "full_preact"):
        specs = [NetworkSpec(depth=3, width=8, ordering=ordering, family=f, seed=s)
                 for f, s in (("plain", 0), ("residual", 1))]
        net = StackedNet(specs)
        net.flat.zero_grad()
        _losses(net(x), y).sum().backward()
        grads = net.model_shaped(net.flat.grad)
        for i, spec in enumerate(specs):
            m = build(spec).train()
            torch.nn.functional.cross_entropy(m(x), y).backward()
            scale = max(float(p.grad.abs().max()) for p in m.parameters())
            for n, p in m.named_parameters():  # float32 rounding relative to the model's scale
                assert torch.allclose(grads[n][i], p.grad, rtol=0, atol=1e-5 * scale), (
                    ordering, n)


def test_stacked_forward_equals_each_model(data):
    specs = [NetworkSpec(depth=2, width=8, seed=s, activation="tanh") for s in range(3)]
    net = StackedNet(specs).train(False)
    with torch.no_grad():
        out = net(data.x_test)
        for i, s in enumerate(specs):
            assert torch.allclose(out[i].t(), build(s).eval()(data.x_test), atol=1e-5)


def test_divergence_is_per_model(data):
    """A model whose loss blows up is frozen; its neighbours in the stack train on."""
    specs = {"a": NetworkSpec(depth=2, width=8), "b": NetworkSpec(depth=2, width=8, seed=1)}
    bat = BatchedTrainer(specs, data, TrainSpec(steps=3, batch_size=32))
    with torch.no_grad():
        bat.net.t["head.2.weight"][0] = float("nan")  # model "a" is broken at once
    before = bat.net.t["stem.weight"][0].clone()
    list(bat.run())
    assert torch.equal(bat.net.t["stem.weight"][0], before)  # frozen, not NaN
    assert bat.diverged("a") == 0 and bat.diverged("b") is None
    assert math.isnan(bat.final("a")["train_loss"])
    assert math.isfinite(bat.final("b")["train_loss"])


def test_unstackable_shapes_fall_back():
    with pytest.raises(NotBatchable):
        StackedNet([NetworkSpec(depth=2), NetworkSpec(depth=3)])
    with pytest.raises(NotBatchable):
        StackedNet([NetworkSpec(family="highway", depth=2)])
    data = load("spirals", 100, 0.1, 0)
    tr = make_trainer({"h": NetworkSpec(family="highway", depth=2, width=8)}, data,
                      TrainSpec(steps=1))
    assert isinstance(tr, Trainer)


def test_stacked_pair_equals_the_two_models_trained_apart(data):
    """The Playground's A/B pair (residual and plain, same shape) trained stacked gives each
    model what it gets trained alone with the same seed: same batches, same losses, the
    same per-block gradient norms and final metrics (to float rounding)."""
    base = NetworkSpec(depth=4, width=8)
    pair = {"A": base, "B": base.replace(family="plain")}
    tspec = TrainSpec(dataset="spirals", n_samples=300, steps=15, batch_size=32, eval_every=5,
                      optimizer="sgd", lr=0.05)
    bat = BatchedTrainer(pair, data, tspec)
    for _ in bat.run():
        pass
    for name, spec in pair.items():
        alone = Trainer({name: build(spec)}, data, tspec)
        for _ in alone.run():
            pass
        for a, b in zip(alone.history(name), bat.history(name), strict=True):
            assert b.loss == pytest.approx(a.loss, rel=1e-4, abs=1e-6)
            assert b.grad_norms == pytest.approx(a.grad_norms, rel=1e-3, abs=1e-6)
            assert (a.test_acc is None) == (b.test_acc is None)
        assert bat.final(name)["test_acc"] == pytest.approx(alone.final(name)["test_acc"], abs=1e-6)


def test_both_trainers_have_the_one_public_face(data):
    from resviz.train import TrainerLike

    specs = {"A": NetworkSpec(depth=2, width=4), "B": NetworkSpec(depth=2, width=4, family="plain")}
    tspec = TrainSpec(n_samples=300, steps=3, batch_size=32)
    for tr in (Trainer({k: build(s) for k, s in specs.items()}, data, tspec),
               BatchedTrainer(specs, data, tspec)):
        assert isinstance(tr, TrainerLike)
        for _ in tr.run():
            pass
        assert tr.steps == 3 and tr.names == ["A", "B"]
        x, y = tr.test_set
        assert torch.equal(x, data.x_test) and torch.equal(y, data.y_test)
        assert set(tr.finals()) == {"A", "B"} and len(tr.history("A")[-1].grad_norms) == 2


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_to_trainer_continues_the_same_run(data, optimizer):
    """A stacked run handed to the lockstep Trainer mid-run (a lesion or gate on a live
    pair) continues as the stacked run would: weights, optimiser moments, batch stream."""
    specs = {f: NetworkSpec(depth=4, width=8, norm=False, family=f, seed=3)
             for f in ("plain", "residual")}
    tspec = TrainSpec(steps=40, eval_every=10**6, optimizer=optimizer, lr=0.01)
    kept, handed = BatchedTrainer(specs, data, tspec), BatchedTrainer(specs, data, tspec)
    for _ in range(20):
        kept.step(), handed.step()
    seq = handed.to_trainer()
    for _ in range(20):
        a, b = kept.step(), seq.step()
        for k in specs:
            assert b[k].loss == pytest.approx(a[k].loss, rel=1e-4, abs=1e-6), (k, b[k].step)


def _trail(tr) -> list[tuple]:
    """What a trainer's records say, NaN-safe (a frozen model's loss is NaN)."""
    return [(k, r.step, repr(r.loss), r.grad_norms, r.test_acc, r.diverged)
            for k in tr.names for r in tr.history(k)]


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_a_gang_gives_each_trainer_exactly_its_numbers_alone(data, optimizer, gangs_built):
    """Trainers stepped as one Gang end bit for bit where each ends alone: different seeds,
    learning rates, step counts and sizes (2, 3 and 1 models), a skip switched mid-run and
    a model that diverges and is frozen. A trainer that cannot join (another width, the
    sequential Trainer) steps alone in the same call."""
    from resviz import batched

    built = gangs_built
    base = NetworkSpec(depth=3, width=8)
    lr = 0.05 if optimizer == "sgd" else 0.01

    def make():
        ts = TrainSpec(dataset="spirals", n_samples=300, steps=40, batch_size=32, eval_every=5,
                       optimizer=optimizer, lr=lr)
        return [
            BatchedTrainer({"A": base, "B": base.replace(family="plain")}, data, ts),
            BatchedTrainer({f"m{i}": base.replace(seed=i + 1) for i in range(3)}, data,
                           ts.replace(seed=3, lr=lr / 2)),
            BatchedTrainer({"hot": base.replace(seed=7)}, data, ts.replace(seed=5, lr=1e4)),
            BatchedTrainer({"wide": base.replace(width=9)}, data, ts),
            Trainer({"seq": build(base.replace(seed=4))}, data, ts),
        ]

    alone, gang = make(), make()
    for tr in (alone[0], gang[0]):  # the first trainer is 4 steps ahead
        for _ in range(4):
            tr.step()
    for step in range(20):
        if step == 6:
            for tr in (alone[0], gang[0]):
                tr.set_skips("A", [True, False, True])
        for tr in alone:
            tr.step()
        batched.step_all(gang)
    assert built == [3]  # one Gang of the three same-shape stacked trainers, reused
    assert alone[2].diverged("hot") is not None  # the frozen-model path ran
    for a, g in zip(alone, gang):
        assert _trail(a) == _trail(g)
        assert a.step_count == g.step_count
        for (k, t1), t2 in zip(a.models.items(), g.models.values()):
            for (n, v1), v2 in zip(t1.state_dict().items(), t2.state_dict().values()):
                assert torch.equal(v1, v2), (k, n)


def test_a_gang_needs_stacked_trainers_of_one_shape(data):
    ts = TrainSpec(dataset="spirals", n_samples=300, steps=5, batch_size=32)
    a = BatchedTrainer({"a": NetworkSpec(depth=3, width=8)}, data, ts)
    b = BatchedTrainer({"b": NetworkSpec(depth=3, width=9)}, data, ts)
    c = BatchedTrainer({"c": NetworkSpec(depth=3, width=8)}, data, ts.replace(batch_size=16))
    from resviz.batched import Gang

    for pair in ([a], [a, b], [a, c]):
        with pytest.raises(NotBatchable):
            Gang(pair)
