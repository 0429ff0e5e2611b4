"""build(spec): every family and ordering builds and trains; skips toggle after building."""

from __future__ import annotations

import pytest
import torch

from resviz.models import build
from resviz.spec import FAMILIES, ORDERINGS, NetworkSpec, SpecError

CASES = [(f, o) for f in FAMILIES for o in (ORDERINGS if f in ("plain", "residual") else ("original",))]


def check_gradient(model, x, param, eps: float = 1e-6) -> None:
    """d/dt sum(model(x)) along the gradient direction, by central differences in float64."""
    import copy

    m64 = copy.deepcopy(model).double()
    name = next(n for n, p in model.named_parameters() if p is param)
    p64 = dict(m64.named_parameters())[name]
    d = param.grad.double() / param.grad.double().norm()
    with torch.no_grad():
        base = p64.clone()
        p64.copy_(base + eps * d)
        up = m64(x.double()).sum()
        p64.copy_(base - eps * d)
        down = m64(x.double()).sum()
        p64.copy_(base)
    numeric = float((up - down) / (2 * eps))
    analytic = float((param.grad.double() * d).sum())
    assert numeric == pytest.approx(analytic, rel=1e-3, abs=1e-6)


@pytest.mark.parametrize("depth", [1, 50])
@pytest.mark.parametrize("family,ordering", CASES)
def test_every_family_and_ordering_builds_forward_backward(family: str, ordering: str, depth: int) -> None:
    model = build(NetworkSpec(family=family, ordering=ordering, depth=depth, width=8))
    x = torch.randn(16, 2)
    out = model(x)
    assert out.shape == (16, 2)
    out.sum().backward()
    # every weight of the first block gets a finite gradient, and the first layer's is not zero
    # (50 blocks deep it still reaches the input end: no vanishing to exactly 0, no NaN)
    grads = [p.grad for p in model.blocks[0].parameters()]
    assert all(g is not None and g.shape == p.shape and torch.isfinite(g).all()
               for g, p in zip(grads, model.blocks[0].parameters()))
    first = next(p for p in model.blocks[0].parameters() if p.dim() == 2)
    assert first.grad.abs().sum() > 0
    if depth == 1:  # and it is the true gradient: a finite difference along it agrees (float64 copy;
        check_gradient(model, x, first)  # 50 ReLU/BN layers deep, a finite difference crosses kinks)
    assert len(model.blocks) == depth


def test_conv_input_builds() -> None:
    model = build(NetworkSpec(depth=3, width=8, input_shape=(1, 8, 8), n_classes=10))
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)


def test_build_is_deterministic_and_leaves_global_rng_alone() -> None:
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = build(NetworkSpec(depth=4, width=8, seed=7))
    after = torch.rand(1)
    b = build(NetworkSpec(depth=4, width=8, seed=7))
    assert before.item() == after.item()
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb)


def test_plain_family_has_skips_off_and_toggles_change_output() -> None:
    plain = build(NetworkSpec(family="plain", depth=5, width=8)).eval()
    assert plain.skips == [False] * 5
    x = torch.randn(8, 2)
    y0 = plain(x)
    plain.set_skips([True, False, True, False, True])
    assert plain.skips == [True, False, True, False, True]
    assert not torch.allclose(plain(x), y0)
    plain.set_skips(False)
    torch.testing.assert_close(plain(x), y0)


def test_skip_mask_in_spec_and_state_dict() -> None:
    spec = NetworkSpec(depth=3, width=4, skips=(True, False, True))
    model = build(spec)
    assert model.skips == [True, False, True]
    assert "blocks.1.skip" in model.state_dict()


@pytest.mark.parametrize("bad", [dict(depth=0), dict(depth=101), dict(family="dense"),
                                 dict(ordering="x"), dict(width=0), dict(skips=(True,))])
def test_bad_specs_raise_clear_errors(bad: dict) -> None:
    with pytest.raises(SpecError):
        NetworkSpec(**bad)


def test_spec_round_trips_through_dict() -> None:
    spec = NetworkSpec(depth=3, skips=(True, False, True), input_shape=(1, 8, 8))
    assert NetworkSpec.from_dict(spec.to_dict()) == spec
