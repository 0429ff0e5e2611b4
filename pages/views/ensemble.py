"""Ensemble of paths: a residual net as 2^n paths, which of them carry the gradient, dynamic depth."""

from __future__ import annotations

import copy

import streamlit as st

from resviz import store
from resviz.experiments import paths as px
from resviz.figures import paths as figs
from resviz.i18n import _
from resviz.models import build
from resviz.probes.dynamic_depth import branch_ratios
from resviz.probes.paths import path_counts, path_subsets
from ui import charts, layout, params, session, trained_nets

BATCH = 64

layout.header(_("Ensemble of paths"), _(
    "Unroll a residual net: every block either adds its branch or lets the signal pass on the "
    "skip, so n blocks make 2^n paths from input to output (Veit, Wilber and Belongie 2016). "
    "Most paths are of middle length, but the gradient that trains the net comes almost only from "
    "the short ones: a deep ResNet behaves like an ensemble of fairly shallow nets."))

# 1. How many paths of each length ------------------------------------------------------------
st.subheader(_("How many paths of each length"))
n = params.slider("en_n", _("Blocks n"), 1, 54, 24)
counts = path_counts(n)
charts.show(figs.distribution(counts), "en_dist")
mid = max(range(n + 1), key=lambda k: counts[k])
st.markdown(_("A net of {n} blocks has {total:,} paths. Their lengths follow Binomial(n, 1/2): "
              "the most common length is {mid}, and only one path (the identity) has length 0.")
            .format(n=n, total=2 ** n, mid=mid))

# 2. The unraveled view -----------------------------------------------------------------------
st.subheader(_("The unraveled view"))
small = params.slider("en_small", _("Blocks to unravel"), 2, 4, 3)
subsets = path_subsets(small)
chosen = params.select(f"en_path{small}", _("Highlight a path"), list(range(len(subsets))),
                       len(subsets) - 1, fmt=lambda i: figs.path_name(subsets[i]))
charts.show(figs.unraveled(small, subsets, chosen), "en_unraveled")
recursion, jacobian = figs.expansion_latex(small, subsets[chosen])
st.latex(recursion)
st.markdown(_("Each block's input-output Jacobian is I + J_i (skip plus branch). Multiplied out, "
              "the product has one term per path; the highlighted path is boxed:"))
st.latex(jacobian)

# 3. Measured: which paths carry the gradient -------------------------------------------------
st.subheader(_("Which paths carry the gradient"))
st.markdown(_(
    "Veit's measurement: one forward pass; in the backward pass k random blocks let the gradient "
    "through their branch only and the others through their skip only; the gradient's size at the "
    "input is one sample. Many samples per k give the magnitude per path length; times the number "
    "of paths it gives each length's total contribution."))

run = session.playground()
sources = ["train"] + ([k for k in run.models] if run is not None and run.steps else [])
source = params.radio("en_src", _("Network"), ["train", "A", "B"], "train", horizontal=True,
                      fmt=lambda s: _("train one here") if s == "train" else
                      _("Playground model {name}").format(name=s))
LABELS = {"init": _("at initialisation"), "trained": _("trained"), "sd": _("trained with stochastic depth")}


def show_measurement(results: dict) -> None:
    charts.show(figs.magnitude(results, LABELS), "en_magnitude")
    charts.show(figs.contribution(results, LABELS), "en_contribution")
    for name, r in results.items():
        st.markdown(f"**{LABELS[name]}** — {px.describe_band(r)}")


def from_playground(name: str) -> None:
    if run is None or not run.steps:
        session.require_trained("ensemble")
        return
    model = run.models[name]
    if not any(model.skips):
        st.warning(_("Model {name} has no skip connections: it is a single path of length {n}, "
                     "there is no ensemble to measure. Choose a model with skips.")
                   .format(name=name, n=len(model.blocks)))
        return
    off = [i + 1 for i, on in enumerate(model.skips) if not on]
    if off:
        st.info(_("Skips switched off on the Playground: blocks {blocks}. Paths through those "
                  "skips are cut, so their lengths are no longer binomial.")
                .format(blocks=", ".join(map(str, off))))
    x, y = run.data.x_test[:BATCH].cpu(), run.data.y_test[:BATCH].cpu()
    model = copy.deepcopy(model).cpu()  # the Playground's own copy stays where it trains
    with st.spinner(_("Measuring...")):
        res = {"init": px.analyse(build(run.specs[name]), x, y, samples),
               "trained": px.analyse(model, x, y, samples)}
    show_measurement(res)
    ratios = branch_ratios(model, run.data.x_test[:256].cpu())
    charts.show(figs.depth_heatmap([run.steps], [ratios], _("‖f(x)‖/‖x‖ per block now")), "en_depth_now")


c1, c2, c3 = st.columns(3)
samples = params.slider("en_samples", _("Samples per path length"), 10, 200, 100, 10, container=c1)
if source == "train":
    spec, tspec, sd = trained_nets.residual_run_controls("en", (c1, c2, c3), 24, "spirals")
    depth, steps = spec.depth, tspec.steps
    parts = (spec, tspec, samples, BATCH, sd)
    result = store.get("paths", *parts)
    go = st.button(_("Train and measure"), key="en_go", type="primary", disabled=result is not None)
    if result is None and go:
        bar = st.progress(0.0, text=_("Training..."))
        result = px.cached_run(spec, tspec, samples, BATCH, sd,
                               progress=lambda f, text: bar.progress(min(1.0, f), text=text))
        bar.empty()
    if result is None:
        st.info(_("Press **Train and measure**: a {n}-block residual net trains for {s} steps "
                  "(with a progress bar), then every path length is measured.").format(n=depth, s=steps))
    else:
        acc = _("Test accuracy: trained {a:.1%}").format(a=result["test_acc"] or 0)
        if "sd" in result:
            acc += " · " + _("with stochastic depth {a:.1%}").format(a=result["sd_test_acc"] or 0)
        st.caption(acc)
        show_measurement({k: result[k] for k in ("trained", "init", "sd") if k in result})

        st.subheader(_("Dynamic depth: the blocks a ResNet learns to skip"))
        st.markdown(_(
            "Per block, the size of what its branch adds relative to what it receives, "
            "‖f_i(x)‖/‖x_i‖, over training. A block that stays near 0 is close to the identity: "
            "the net has in effect removed it, and its depth in use is smaller than its nominal depth."))
        threshold = params.select_slider("en_thr", _("A block counts as active above"),
                                         [0.01, 0.02, 0.05, 0.1, 0.2, 0.5], 0.1)
        dd = result["dynamic_depth"]
        charts.show(figs.depth_heatmap(dd["steps"], dd["ratios"], _("‖f(x)‖/‖x‖ per block over training")),
                    "en_depth_map")
        traces = {"trained": dd} | ({"sd": result["sd_dynamic_depth"]} if "sd" in result else {})
        charts.show(figs.active_blocks(traces, LABELS, threshold, depth), "en_active")
elif source in sources:
    from_playground(source)
else:
    session.require_trained("ensemble")
