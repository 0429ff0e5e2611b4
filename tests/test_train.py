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
    assert all(r.wall > 0 for r in recs)


def test_divergence_is_reported_not_raised() -> None:
    tr = run({"m": NetworkSpec(depth=4, width=16, norm=False), "ok": NetworkSpec(depth=2, width=8)},
             TrainSpec(steps=40, lr=1e6, optimizer="sgd"))
    step = tr.diverged("m")
    assert step is not None and step < 40
    assert tr.final("m")["diverged_at"] == step
    assert tr.history("m")[-1].diverged


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
