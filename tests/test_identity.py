"""The identity test (He et al. 2015 §1): deep plain stacks fail to learn y = x, residual ones do not."""

from __future__ import annotations

import json

import pytest
import torch

from resviz.__main__ import main as cli
from resviz.experiments import identity
from resviz.spec import SpecError

TINY = identity.IdentitySpec(depths=(1, 2), seeds=1, width=8, steps=30)


def test_grid_lines_cover_the_square():
    g = identity.grid_lines(5, 11)
    assert g.shape == (10, 11, 2)
    assert torch.allclose(g[:5, :, 1], torch.linspace(-1, 1, 5)[:, None].expand(5, 11))  # horizontals
    assert torch.allclose(g[5:, :, 0], torch.linspace(-1, 1, 5)[:, None].expand(5, 11))  # verticals
    assert identity.grid_rms(g.tolist(), g.tolist()) == 0.0


def test_grid_rms_measures_displacement():
    g = identity.grid_lines(3, 5)
    assert identity.grid_rms(g.tolist(), (g + torch.tensor([0.3, 0.4])).tolist()) == pytest.approx(0.5)
    collapsed = torch.zeros_like(g)  # a net that answers the mean, 0, everywhere
    rms = float(g.norm(dim=-1).pow(2).mean().sqrt())
    assert identity.grid_rms(g.tolist(), collapsed.tolist()) == pytest.approx(rms)


def test_points_are_uniform_on_the_square_and_seeded():
    p = identity.points(4000, 3)
    assert p.min() >= -1 and p.max() <= 1
    assert float(p.var(0).mean()) == pytest.approx(identity.INPUT_VARIANCE, rel=0.05)
    assert torch.equal(p, identity.points(4000, 3))


def test_run_depth_is_deterministic_and_measures_mse():
    a = identity.run_depth(TINY, 2)
    b = identity.run_depth(TINY, 2)
    assert a["rows"] == b["rows"]
    assert {r["family"] for r in a["rows"]} == {"plain", "residual"}
    assert len(a["curves"]["plain-0"]) == 30
    assert len(a["grid"]["residual-0"]) == 2 * identity.GRID_LINES
    # the stored grid image is the net's output: its MSE against the input grid is an MSE
    g = torch.tensor(a["grid"]["plain-0"])
    assert g.shape == (2 * identity.GRID_LINES, identity.GRID_POINTS, 2)


def test_stored_depths_are_reused(monkeypatch, tmp_path):
    monkeypatch.setenv("RESVIZ_STORE", str(tmp_path))
    first = identity.run(TINY)
    assert identity.is_stored(TINY)

    def boom(*a, **k):
        raise AssertionError("retrained a stored depth")

    monkeypatch.setattr(identity, "run_depth", boom)
    assert identity.run(TINY)["rows"] == first["rows"]
    s = {(r["family"], r["depth"]): r for r in first["summary"]}
    assert s[("plain", 2)]["test_mse_min"] <= s[("plain", 2)]["test_mse_median"]


def test_bad_specs_are_refused(capsys):
    with pytest.raises(SpecError):
        identity.IdentitySpec(depths=(0,))
    with pytest.raises(SpecError):
        identity.IdentitySpec(ordering="sideways")
    assert cli(["identity", "--depths", "2,x"]) != 0
    assert capsys.readouterr().err.startswith("error:")


def test_cli_identity_json(capsys):
    assert cli(["identity", "--depths", "1,2", "--seeds", "1", "--steps", "5", "--width", "8",
                "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["rows"]) == 4 and {r["depth"] for r in out["rows"]} == {1, 2}
    assert set(out["grid_rms"]["2"]) == {"plain", "residual"}


@pytest.mark.slow
def test_default_shows_the_effect_on_every_seed(monkeypatch, tmp_path):
    """The default the page and the home story show: on every seed, the 32-block plain stack
    ends near the input's variance (it answers the mean) while every residual stack stays
    far below; the plain error grows with depth."""
    monkeypatch.setenv("RESVIZ_STORE", str(tmp_path))
    spec = identity.IdentitySpec()
    assert spec.seeds >= 3
    r = identity.run(spec)
    rows = r["rows"]

    def mse(fam, d):
        return [x["test_mse"] for x in rows if x["family"] == fam and x["depth"] == d]

    deep = max(spec.depths)
    assert min(mse("plain", deep)) > 0.5 * identity.INPUT_VARIANCE
    assert max(mse("residual", deep)) < 0.1 * min(mse("plain", deep))
    med = {x["depth"]: x["test_mse_median"] for x in r["summary"] if x["family"] == "plain"}
    ds = sorted(med)
    assert all(med[a] < med[b] for a, b in zip(ds, ds[1:]))  # graded, not a cliff at one depth
    for d in spec.depths:
        assert max(mse("residual", d)) < 0.1
