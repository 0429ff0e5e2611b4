"""The trainer: determinism, lockstep batches, divergence, and the degradation miniature."""

from __future__ import annotations

import math

import pytest

from resviz.data import load
from resviz.models import build
from resviz.spec import NetworkSpec, TrainSpec
from resviz.train import Trainer, survival_schedule

SPIRALS = load("spirals", 1000, 0.1, 0)


def run(specs: dict[str, NetworkSpec], tspec: TrainSpec) -> Trainer:
    tr = Trainer({k: build(s) for k, s in specs.items()}, SPIRALS, tspec)
    for _ in tr.run():
        pass
    return tr


def test_same_spec_same_numbers() -> None:
    spec, ts = NetworkSpec(depth=4, width=16), TrainSpec(steps=20)
    a, b = run({"m": spec}, ts), run({"m": spec}, ts)
    assert [r.loss for r in a.history("m")] == [r.loss for r in b.history("m")]
    assert a.history("m")[-1].grad_norms == b.history("m")[-1].grad_norms


def test_lockstep_models_see_the_same_batches() -> None:
    """Two copies of one model trained in lockstep stay identical: same batches, same order."""
    spec = NetworkSpec(depth=3, width=8)
    tr = run({"x": spec, "y": spec}, TrainSpec(steps=15))
    assert [r.loss for r in tr.history("x")] == [r.loss for r in tr.history("y")]


def test_records_have_one_grad_norm_per_block_and_eval_steps() -> None:
    tr = run({"m": NetworkSpec(depth=6, width=8)}, TrainSpec(steps=25, eval_every=10))
    recs = tr.history("m")
    assert len(recs) == 25 and all(len(r.grad_norms) == 6 for r in recs)
    assert [r.step for r in recs if r.test_acc is not None] == [0, 10, 20, 24]
    assert all(0 < r.wall < 60 and r.model == "m" for r in recs)


def test_divergence_is_reported_not_raised() -> None:
    tr = run({"m": NetworkSpec(depth=4, width=16, norm=False), "ok": NetworkSpec(depth=2, width=8)},
             TrainSpec(steps=40, lr=1e6, optimizer="sgd"))
    step = tr.diverged("m")
    assert step is not None and step < 40
    assert tr.final("m")["diverged_at"] == step
    assert tr.history("m")[-1].diverged


@pytest.mark.parametrize("lr", [1e6, 10.0])  # 1e6: non-finite at once; 10: a finite loss 1e6x the first
def test_a_diverged_model_is_marked_at_the_rules_step_and_frozen(lr: float) -> None:
    """The model is marked at the first step whose loss breaks `blew_up` against the *first*
    loss (or whose gradient is not finite); from the next step on its records say so (NaN loss,
    zero norms, no time) and its weights stay as they were."""
    import torch

    from resviz.train import blew_up

    models = {"m": build(NetworkSpec(depth=4, width=16, norm=False))}
    tr = Trainer(models, SPIRALS, TrainSpec(steps=40, lr=lr, optimizer="sgd"))
    while tr.diverged("m") is None and tr.steps < 40:
        tr.step()
    recs = tr.history("m")
    first = recs[0].loss
    want = next(i for i, r in enumerate(recs)
                if blew_up(r.loss, first) or not all(math.isfinite(g) for g in r.grad_norms))
    assert tr.diverged("m") == want and recs[want].diverged
    assert not any(r.diverged for r in recs[:want])
    frozen = [p.detach().clone() for p in models["m"].parameters()]
    for _ in range(3):
        tr.step()
    assert all(torch.equal(p, f) for p, f in zip(models["m"].parameters(), frozen))
    for i, r in enumerate(tr.history("m")[want + 1:], start=want + 1):
        assert (r.model, r.step, r.wall, r.diverged) == ("m", i, 0.0, True)
        assert math.isnan(r.loss) and r.grad_norms == [0.0] * 4
    fin = tr.final("m")
    assert math.isnan(fin.pop("train_loss"))
    assert fin == {"train_acc": None, "test_acc": None, "diverged_at": want}
    live = Trainer({"m": build(NetworkSpec(depth=2, width=8))}, SPIRALS, TrainSpec(steps=2))
    live.step()
    assert set(live.final("m")) == {"train_loss", "train_acc", "test_acc", "diverged_at"}


def test_the_divergence_rule_at_its_edges() -> None:
    """Non-finite, or more than DIVERGE_FACTOR times the first loss (a first loss below 1e-3
    counts as 1e-3, so a near-perfect start is not flagged by rounding noise)."""
    from resviz.train import DIVERGE_FACTOR, blew_up

    assert blew_up(math.nan, 1.0) and blew_up(math.inf, 1.0)
    assert not blew_up(DIVERGE_FACTOR * 2.0, 2.0)  # at the line: not yet
    assert blew_up(DIVERGE_FACTOR * 2.0 * 1.01, 2.0)
    assert not blew_up(DIVERGE_FACTOR * 0.75, 2.0)
    assert blew_up(DIVERGE_FACTOR * 1e-3 * 1.5, 1e-9)  # the floor of 1e-3
    assert not blew_up(DIVERGE_FACTOR * 1e-3 * 0.5, 1e-9)


def test_run_takes_the_steps_it_is_given() -> None:
    tr = Trainer({"m": build(NetworkSpec(depth=2, width=8))}, SPIRALS, TrainSpec(steps=9))
    assert len(list(tr.run(4))) == 4 and tr.steps == 4
    assert len(list(tr.run())) == 9 and tr.steps == 13


def test_a_batch_as_large_as_the_data_is_the_data() -> None:
    """batch_size >= n: every step sees the whole training set, so the batch seed (TrainSpec's)
    changes nothing."""
    spec = NetworkSpec(depth=2, width=8)
    n = len(SPIRALS.y_train)
    a = run({"m": spec}, TrainSpec(steps=3, batch_size=n, seed=0))
    b = run({"m": spec}, TrainSpec(steps=3, batch_size=n, seed=1))
    assert [r.loss for r in a.history("m")] == [r.loss for r in b.history("m")]
    c = run({"m": spec}, TrainSpec(steps=3, batch_size=n - 1, seed=1))
    assert [r.loss for r in c.history("m")] != [r.loss for r in a.history("m")]


def test_batch_norm_refuses_a_batch_of_one_up_front() -> None:
    from resviz.spec import SpecError

    with pytest.raises(SpecError, match="batch normalisation needs a batch of at least 2"):
        Trainer({"m": build(NetworkSpec(depth=2, width=8))}, SPIRALS, TrainSpec(batch_size=1))
    Trainer({"m": build(NetworkSpec(depth=2, width=8))}, SPIRALS, TrainSpec(batch_size=2))
    Trainer({"m": build(NetworkSpec(depth=2, width=8, norm=False))}, SPIRALS,
            TrainSpec(batch_size=1))


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_weight_decay_pulls_weights_in_with_no_loss_gradient(optimizer: str) -> None:
    import torch

    from resviz.train import make_optimizer

    for wd, shrinks in ((0.1, True), (0.0, False)):
        w = torch.ones(5, requires_grad=True)
        opt = make_optimizer([w], TrainSpec(optimizer=optimizer, lr=0.01, weight_decay=wd))
        w.grad = torch.zeros(5)
        opt.step()
        assert bool((w < 1).all()) is shrinks, (optimizer, wd)


def test_stochastic_depth_drops_blocks_by_its_seed() -> None:
    """With stochastic depth the Trainer drops blocks (a dropped block gets no gradient: its
    recorded norm is 0), the same blocks for the same seed, none without it."""
    spec = NetworkSpec(depth=6, width=8)

    def zeros(tspec: TrainSpec) -> list[tuple[int, int]]:
        tr = run({"m": spec}, tspec)
        return [(r.step, b) for r in tr.history("m") for b, g in enumerate(r.grad_norms) if g == 0]

    ts = TrainSpec(steps=30, stochastic_depth=0.5)
    dropped = zeros(ts)
    assert dropped and dropped == zeros(ts)
    assert dropped != zeros(ts.replace(seed=1))
    assert zeros(ts.replace(stochastic_depth=None)) == []


def test_a_model_without_blocks_is_one_group() -> None:
    """Any nn.Module trains; one that is not a ResVizNet records one gradient norm, its own."""
    import torch

    from resviz.train import block_grad_norms

    net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    tr = Trainer({"m": net}, SPIRALS, TrainSpec(steps=3))
    recs = list(tr.run())
    assert all(len(r["m"].grad_norms) == 1 and r["m"].grad_norms[0] > 0 for r in recs)
    fresh = [torch.zeros(3, requires_grad=True)]
    assert block_grad_norms([fresh, fresh]) == [0.0, 0.0]  # no gradient yet: zeros, one a group


def test_survival_schedule_is_linear_decay() -> None:
    s = survival_schedule(4, 0.5)
    assert s == pytest.approx([0.875, 0.75, 0.625, 0.5])


def test_plain_gradients_vanish_at_init_residual_do_not() -> None:
    """Deep plain tanh net without normalisation and with PyTorch's default init (a third of
    He's variance): the first block's gradient is orders below the last's."""
    tr = Trainer({"plain": build(NetworkSpec(family="plain", depth=32, width=32, norm=False,
                                             activation="tanh", init="pytorch")),
                  "res": build(NetworkSpec(family="residual", depth=32, width=32, norm=False,
                                           ordering="full_preact", activation="tanh",
                                           init="pytorch"))},
                 SPIRALS, TrainSpec(steps=1))
    rec = tr.step()
    p, r = rec["plain"].grad_norms, rec["res"].grad_norms
    assert p[0] / p[-1] < 1e-3
    assert 0.1 < r[0] / r[-1] < 10


@pytest.mark.slow
def test_degradation_miniature_plain_fails_residual_fits() -> None:
    """DESIGN.md: on two-spirals, a 32-block plain net stays near chance; residual > 95%."""
    base = NetworkSpec(depth=32, width=32)
    tr = run({"plain": base.replace(family="plain"), "res": base}, TrainSpec(steps=300))
    assert tr.final("res")["train_acc"] > 0.95
    assert tr.final("plain")["train_acc"] < 0.7
    assert math.isfinite(tr.final("plain")["train_loss"])


@pytest.mark.parametrize("clip", [0.05, 1e6])
def test_clipping_bounds_the_update_and_not_the_recorded_gradient(clip: float) -> None:
    """One plain-SGD step (lr 1, no momentum) moves the weights by exactly the clipped gradient:
    by `clip` when the gradient is longer, by the unclipped step when `clip` is above it. The
    recorded per-block norms are the gradient's own, before clipping."""
    import torch

    from resviz.spec import SpecError

    spec = NetworkSpec(depth=3, width=8)
    ts = TrainSpec(steps=1, lr=1.0, optimizer="sgd", eval_every=1)

    def one_step(tspec: TrainSpec) -> tuple[Trainer, float]:
        model = build(spec)
        before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
        tr = Trainer({"m": model}, SPIRALS, tspec)
        for _ in tr.run():
            pass
        after = torch.cat([p.detach().flatten() for p in model.parameters()])
        return tr, float((after - before).norm())

    clipped, moved = one_step(ts.replace(clip_norm=clip))
    free, free_moved = one_step(ts)
    assert clipped.history("m")[0].grad_norms == free.history("m")[0].grad_norms
    assert free_moved > 0.05  # so the small clip binds
    assert moved == pytest.approx(min(clip, free_moved), rel=1e-4)
    with pytest.raises(SpecError, match="clipping"):
        TrainSpec(clip_norm=0.0)
