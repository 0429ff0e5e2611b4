"""The residual stream read block by block: the trained head applied after every block."""

from __future__ import annotations

import pytest
import torch

from resviz.data import load
from resviz.experiments import readout as rx
from resviz.models import build
from resviz.probes import readout as R
from resviz.spec import NetworkSpec, TrainSpec
from resviz.train import Trainer, evaluate


@pytest.mark.parametrize("family", ["residual", "plain"])
def test_last_readout_is_the_models_own_output_and_first_is_the_bare_stem(family):
    net = build(NetworkSpec(family=family, depth=5, width=8, seed=1)).train()
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 2, generator=g), torch.randint(0, 2, (64,), generator=g)
    logits = R.readout_logits(net, x)
    assert len(logits) == 6 and net.training  # eval during the probe, mode restored
    net.eval()
    with torch.no_grad():
        assert torch.allclose(logits[-1], net(x), atol=1e-6)
        assert torch.allclose(logits[0], net.head(net.stem(x)), atol=1e-6)
    acc = R.readout_accuracy(net, x, y)
    assert acc[-1] == pytest.approx(evaluate(net, x, y)[1])


def test_maps_are_the_readout_on_a_grid():
    net = build(NetworkSpec(depth=3, width=8, seed=0)).eval()
    m = R.readout_maps(net, [-1, 1, -2, 2], resolution=5)
    assert m["x"][0] == -1 and m["y"][-1] == 2 and len(m["maps"]) == 4
    pt = torch.tensor([[m["x"][3], m["y"][1]]])  # row = y index, column = x index
    with torch.no_grad():
        p = torch.softmax(net(pt), 1)[0, 1].item()
    assert m["maps"][3][1][3] == pytest.approx(p, abs=1e-5)


def test_experiment_reads_both_nets_and_cli_json():
    spec, ts = rx.default_specs(depth=3, steps=20)
    res = rx.run(spec, ts, resolution=6)
    for name in rx.NETS:
        r = res[name]
        assert len(r["readout"]) == 4 and len(r["refinement_cos"]) == 3 and len(r["deletion_cost"]) == 3
        assert r["readout"][-1] == pytest.approx(r["accuracy"])
        assert len(r["maps"]["maps"]) == 4
    from resviz.__main__ import main

    assert main(["readout", "--depth", "2", "--steps", "5", "--json"]) == 0
    assert main(["readout", "--resolution", "1"]) == 2  # a clear message, not a traceback


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_residual_readout_rises_plain_readout_means_nothing(seed):
    """The page's default (12 blocks, spirals, 300 steps), every seed: the residual readout climbs to
    the final accuracy; the plain net's intermediate readouts sit far below its final accuracy."""
    data = load(rx.DATASET, 1000, 0.1, 0)
    spec = NetworkSpec(depth=rx.DEPTH, width=32, seed=seed)
    nets = {"residual": build(spec), "plain": build(spec.replace(family="plain"))}
    for _r in Trainer(nets, data, TrainSpec(dataset=rx.DATASET, steps=rx.STEPS, seed=seed)).run():
        pass
    x, y = data.x_test, data.y_test
    res, plain = (R.readout_accuracy(nets[k], x, y) for k in ("residual", "plain"))
    n = rx.DEPTH
    assert res[-1] > 0.95 and plain[-1] > 0.85  # both learned the task
    assert min(res[3 * n // 4:]) > res[-1] - 0.1  # the last quarter already has the answer ...
    assert res[1] < res[-1] - 0.2  # ... the first block does not
    mid_res, mid_plain = sum(res[1:n]) / (n - 1), sum(plain[1:n]) / (n - 1)
    assert mid_res > mid_plain + 0.15
    assert mid_plain < plain[-1] - 0.25
    assert abs(mid_plain - 0.5) < 0.2  # around chance (two balanced classes)
