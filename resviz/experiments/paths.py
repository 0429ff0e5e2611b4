"""Ensemble view: path lengths, gradient per path length (Veit's masked backward), dynamic depth.

One run trains a residual net (recording per block, as it learns, the real update
||y_i − x_i|| / ||x_i||, the refinement cosine cos(y_i − x_i, −∂L/∂x_i) and the accuracy cost of
deleting the block), optionally the same net with stochastic depth, and measures the gradient
per path length on the trained net(s) and on the same net at initialisation; `init_band` /
`trained_band` and `init_vs_trained` say where the band lies before and after training (with He
init it is in the binomial middle at initialisation and moves to short paths with training).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch

from resviz import store
from resviz.cli_args import MAX_PATH_SAMPLES, MAX_PROBE_BATCH, PATH_SAMPLES, PROBABILITY, PROBE_BATCH, SAMPLES
from resviz.data import load
from resviz.experiments.train_cmd import add_network_arguments, add_training_arguments, specs_from_args
from resviz.i18n import _
from resviz.models import ResVizNet, build
from resviz.probes.dynamic_depth import ACTIVE_COST, active_count, train_traced
from resviz.probes.paths import effective_band, path_counts, path_gradients
from resviz.spec import NetworkSpec, TrainSpec

COMMAND = "paths"
Progress = Callable[[float, str], None] | None
BAND_SHARE = 0.9


def analyse(model: ResVizNet, x: torch.Tensor, y: torch.Tensor, samples: int = 100,
            seed: int = 0, progress: Callable[[float], None] | None = None) -> dict:
    """Gradient per path length on (x, y) and the band that carries most of it."""
    g = path_gradients(model, x, y, samples=samples, seed=seed, progress=progress)
    band = effective_band(g.ks, g.contribution, BAND_SHARE)
    return {**g.to_dict(), "band": band.__dict__}


def describe_band(result: dict) -> str:
    """The band in words, e.g. '90% of the gradient comes from paths of 3-11 blocks ...'."""
    b = result["band"]
    return _("{share:.0%} of the gradient comes from paths of {lo}–{hi} blocks, in a net {n} blocks "
             "deep; those are {frac:.2%} of all 2^{n} paths.").format(
        share=b["share"], lo=b["lo"], hi=b["hi"], n=result["depth"], frac=b["path_fraction"])


def init_vs_trained(init: dict, trained: dict) -> str:
    """Where the band lies before and after training, in words, from the measurement itself.

    Measured with He init (24 blocks, width 32): at initialisation the branches are as large as
    the skips, the magnitude hardly falls with k, and the band sits in the binomial middle
    (e.g. 9-17 of 24); training moves it to shorter paths. With small branches (PyTorch's
    default init) the band is short already at init. The page says whichever was measured.
    """
    i, t, n = init["band"], trained["band"], init["depth"]
    if i["share"] <= 0:
        return _("At initialisation no gradient reached the input on any sampled path, so there is "
                 "no band to compare; after training: paths of {tlo}–{thi} blocks.").format(
            tlo=t["lo"], thi=t["hi"])
    if (i["lo"] + i["hi"]) / 2 <= n / 3:
        return _("The short-path band is already there at initialisation (paths of {ilo}–{ihi} blocks "
                 "before training, {tlo}–{thi} after): it comes from multiplying many small branch "
                 "Jacobians, not from anything the net learned.").format(
            ilo=i["lo"], ihi=i["hi"], tlo=t["lo"], thi=t["hi"])
    return _("At initialisation the band sits in the middle of the path lengths (paths of {ilo}–{ihi} "
             "blocks): with He init each branch is about as large as its skip, so long paths carry as "
             "much gradient as short ones. After training it is {tlo}–{thi} blocks: training made the "
             "useful paths shorter.").format(ilo=i["lo"], ihi=i["hi"], tlo=t["lo"], thi=t["hi"])


def _step(progress: Progress, lo: float, hi: float, text: str) -> Callable[[float], None] | None:
    if progress is None:
        return None
    return lambda f: progress(lo + (hi - lo) * f, text)


def run(spec: NetworkSpec, tspec: TrainSpec, samples: int = 100, batch: int = 64,
        stochastic_depth: float | None = None, every: int = 10, progress: Progress = None) -> dict:
    """Train, trace dynamic depth, and measure paths on the init / trained / SD-trained net."""
    data = load(tspec.dataset, tspec.n_samples, tspec.noise, tspec.data_seed)
    x, y = data.x_test[:batch], data.y_test[:batch]
    out: dict = {"spec": spec.to_dict(), "train": tspec.to_dict(), "counts": path_counts(spec.depth),
                 "samples": samples, "batch": int(len(y))}
    train_share = 0.7 if stochastic_depth is None else 0.45
    out["init"] = analyse(build(spec), x, y, samples, progress=_step(progress, 0, 0.05, _("init")))
    model = build(spec)
    trace = train_traced(model, data, tspec, every, progress=_step(progress, 0.05, train_share,
                                                                   _("training")))
    out["dynamic_depth"] = trace.to_dict()
    out["test_acc"] = trace.test_acc
    lo = train_share
    out["trained"] = analyse(model, x, y, samples, progress=_step(progress, lo, lo + 0.1, _("paths")))
    if stochastic_depth is not None:
        sd_model = build(spec)
        sd_spec = tspec.replace(stochastic_depth=stochastic_depth)
        sd_trace = train_traced(sd_model, data, sd_spec, every,
                                progress=_step(progress, lo + 0.1, 0.9, _("stochastic depth")))
        out["sd"] = analyse(sd_model, x, y, samples, progress=_step(progress, 0.9, 1.0, _("paths")))
        out["sd_dynamic_depth"] = sd_trace.to_dict()
        out["sd_test_acc"] = sd_trace.test_acc
        out["sd_p_last"] = stochastic_depth
    return out


# Part of the store key: results stored before dynamic depth measured y − x and deletion costs
# (format 1) are never read back as if they had them.
FORMAT = 2


def stored(spec: NetworkSpec, tspec: TrainSpec, samples: int = 100, batch: int = 64,
           stochastic_depth: float | None = None) -> dict | None:
    """The stored result of `cached_run` for these settings, or None (computes nothing)."""
    return store.get("paths", spec, tspec, samples, batch, stochastic_depth, FORMAT)


ANALYSIS_SHAPE = {"depth": int, "ks": [int], "counts": [int], "mean": [float], "std": [float],
                  "contribution": [float], "samples": int,
                  "band": {"lo": int, "hi": int, "share": float, "path_fraction": float}}
TRACE_SHAPE = {"steps": [int], "ratios": [[float]], "test_acc": store.Maybe(float)}
store.declare("paths", {"spec": dict, "train": dict, "counts": [int], "samples": int, "batch": int,
                        "init": ANALYSIS_SHAPE, "trained": ANALYSIS_SHAPE, "dynamic_depth": TRACE_SHAPE,
                        "test_acc": store.Maybe(float)})


def cached_run(spec: NetworkSpec, tspec: TrainSpec, samples: int = 100, batch: int = 64,
               stochastic_depth: float | None = None, progress: Progress = None) -> dict:
    """`run`, computed once per setting and kept in the bounded disk store."""
    return store.get_or_compute(
        "paths", (spec, tspec, samples, batch, stochastic_depth, FORMAT),
        lambda: run(spec, tspec, samples, batch, stochastic_depth, progress=progress))


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_network_arguments(p, depth=24)
    add_training_arguments(p, steps=400)
    # --samples here counts masked-backward samples per k (as in the issue); data size is --points
    for group in [p, *p._action_groups]:
        group.conflict_handler = "resolve"
    p.add_argument("--samples", type=PATH_SAMPLES, default=100,
                   help=f"masked-backward samples per path length (1..{MAX_PATH_SAMPLES})")
    p.add_argument("--points", type=SAMPLES, default=1000, help="data set size")
    p.add_argument("--batch", type=PROBE_BATCH, default=64,
                   help=f"test examples the gradient is averaged over (1..{MAX_PROBE_BATCH})")
    p.add_argument("--stochastic-depth", type=PROBABILITY, default=None, metavar="P_L",
                   help="also train with stochastic depth, last survival probability P_L (e.g. 0.5)")


def main(args: argparse.Namespace) -> dict:
    spec, tspec = specs_from_args(argparse.Namespace(**{**vars(args), "samples": args.points}))
    res = run(spec, tspec, args.samples, args.batch, args.stochastic_depth)
    trace = res["dynamic_depth"]
    res["active_threshold"] = ACTIVE_COST
    res["active_blocks"] = active_count(trace["costs"][-1], ACTIVE_COST)
    res["active_blocks_init"] = active_count(trace["costs"][0], ACTIVE_COST)
    res["init_band"], res["trained_band"] = res["init"]["band"], res["trained"]["band"]
    res["init_vs_trained"] = init_vs_trained(res["init"], res["trained"])
    for key in ("init", "trained", "sd"):
        if key in res:
            res[key]["statement"] = describe_band(res[key])
    return res
