"""Ensemble of paths: a residual net as 2^n paths, which of them carry the gradient, dynamic depth,
and the residual stream read block by block."""

from __future__ import annotations

import copy

import streamlit as st

from resviz.data import TOY_SETS
from resviz.experiments import paths as px
from resviz.experiments import readout as rx
from resviz.figures import paths as figs
from resviz.figures import readout as rfigs
from resviz.i18n import _
from resviz.models import build
from resviz.probes.dynamic_depth import ACTIVE_COST, update_ratios
from resviz.probes.paths import path_counts, path_subsets
from ui import charts, layout, params, session, trained_nets

BATCH = 64


layout.header(_("Ensemble of paths"), _(
    "Unroll a residual net: every block either adds its branch or lets the signal pass on the "
    "skip, so n blocks make 2^n paths from input to output (Veit, Wilber and Belongie 2016). "
    "Most paths are of middle length, but the gradient that trains the net comes almost only from "
    "the short ones: a deep ResNet behaves like an ensemble of fairly shallow nets."))

LABELS = {"init": _("at initialisation"), "trained": _("trained"), "sd": _("trained with stochastic depth")}


def look_for(text: str) -> None:
    st.caption("👀 " + text)


def counting() -> None:
    """How many paths of each length, and the unraveled view of a small net."""
    st.subheader(_("How many paths of each length"))
    n = params.slider("en_n", _("Blocks n"), 1, 54, 24)
    counts = path_counts(n)
    charts.show(figs.distribution(counts), "en_dist")
    look_for(_("What to look for: a bell curve; most paths are of middle length, and only one "
               "(the identity) has length 0."))
    mid = max(range(n + 1), key=lambda k: counts[k])
    st.markdown(_("A net of {n} blocks has {total:,} paths. Their lengths follow Binomial(n, 1/2): "
                  "the most common length is {mid}, and only one path (the identity) has length 0.")
                .format(n=n, total=2 ** n, mid=mid))

    st.subheader(_("The unraveled view"))
    small = params.slider("en_small", _("Blocks to unravel"), 2, 4, 3)
    subsets = path_subsets(small)
    chosen = params.select(f"en_path{small}", _("Highlight a path"), list(range(len(subsets))),
                           len(subsets) - 1, fmt=lambda i: figs.path_name(subsets[i]))
    charts.show(figs.unraveled(small, subsets, chosen), "en_unraveled")
    look_for(_("What to look for: each row is one path; it goes through the boxes of the blocks "
               "whose branch it takes and passes the others on the skip."))
    recursion, jacobian = figs.expansion_latex(small, subsets[chosen])
    st.latex(recursion)
    st.markdown(_("Each block's input-output Jacobian is I + J_i (skip plus branch). Multiplied out, "
                  "the product has one term per path; the highlighted path is boxed:"))
    st.latex(jacobian)


def show_measurement(results: dict) -> None:
    charts.show(figs.magnitude(results, LABELS), "en_magnitude")
    look_for(_("What to look for: in the trained net the gradient a path carries shrinks roughly "
               "exponentially with its length; compare the grey curve, measured at initialisation."))
    charts.show(figs.contribution(results, LABELS), "en_contribution")
    look_for(_("What to look for: in the trained net the shaded band, which carries 90% of the "
               "gradient, lies to the left of the most common path length."))
    for name, r in results.items():
        st.markdown(f"**{LABELS[name]}** — {px.describe_band(r)}")
    if "init" in results and "trained" in results:
        st.info(px.init_vs_trained(results["init"], results["trained"]))


def from_playground(name: str, samples: int) -> None:
    run = session.playground()
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
    ratios = update_ratios(model, run.data.x_test[:256].cpu())
    charts.show(figs.depth_heatmap([run.steps], [ratios], _("‖y−x‖/‖x‖ per block now")), "en_depth_now")
    look_for(_("What to look for: blocks near the input change their input most; later ones make "
               "small updates."))


def dynamic_depth(result: dict, depth: int) -> None:
    st.subheader(_("Dynamic depth: the blocks a ResNet learns to skip"))
    st.markdown(_(
        "Per block, the block's real update relative to what it receives, ‖y_i − x_i‖/‖x_i‖, over "
        "training. A block counts as **active** when deleting it alone costs at least {t:.0%} of "
        "test accuracy (measured on 256 test points at every recorded step): what the net really "
        "uses, not how big a change looks.").format(t=ACTIVE_COST))
    dd = result["dynamic_depth"]
    charts.show(figs.depth_heatmap(dd["steps"], dd["ratios"], _("‖y−x‖/‖x‖ per block over training")),
                "en_depth_map")
    look_for(_("What to look for: after training the updates shrink from the first blocks to the last; "
               "later blocks make small corrections."))
    threshold = params.select_slider("en_thr", _("A block counts as active when its deletion costs at least"),
                                     [0.005, 0.01, 0.02, 0.05, 0.1, 0.2], ACTIVE_COST,
                                     format_func=lambda t: f"{t:.1%}")
    traces = {"trained": dd} | ({"sd": result["sd_dynamic_depth"]} if "sd" in result else {})
    charts.show(figs.active_blocks(traces, LABELS, threshold, depth), "en_active")
    look_for(_("What to look for: the trained net uses far fewer blocks than it has; the rest can be "
               "deleted almost for free."))
    charts.show(figs.per_block(dd, threshold), "en_per_block")
    look_for(_("What to look for: only a few blocks near the input are costly to delete, and the "
               "others still step their input downhill on the loss (cosine > 0): iterative refinement "
               "(Jastrzebski et al. 2018)."))


def measured() -> None:
    """Veit's measurement on a net trained here (on a button) or on a Playground model."""
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
    c1, c2, c3 = st.columns(3)
    samples = params.slider("en_samples", _("Samples per path length"), 10, 200, 100, 10, container=c1)
    if source != "train":
        if source in sources:
            from_playground(source, samples)
        else:
            session.require_trained("ensemble")
        return
    spec, tspec, sd = trained_nets.residual_run_controls("en", (c1, c2, c3), 24, "spirals")
    if spec is None:
        return
    result = px.stored(spec, tspec, samples, BATCH, sd)
    go = st.button(_("Train and measure"), key="en_go", type="primary", disabled=result is not None)
    if result is None and go:
        bar = st.progress(0.0, text=_("Training..."))
        result = px.cached_run(spec, tspec, samples, BATCH, sd,
                               progress=lambda f, text: bar.progress(min(1.0, f), text=text))
        bar.empty()
    if result is None:
        st.info(_("Press **Train and measure**: a {n}-block residual net trains for {s} steps "
                  "(with a progress bar), then every path length is measured.").format(
            n=spec.depth, s=tspec.steps))
        return
    acc = _("Test accuracy: trained {a:.1%}").format(a=result["test_acc"] or 0)
    if "sd" in result:
        acc += " · " + _("with stochastic depth {a:.1%}").format(a=result["sd_test_acc"] or 0)
    st.caption(acc)
    show_measurement({k: result[k] for k in ("trained", "init", "sd") if k in result})
    dynamic_depth(result, spec.depth)


def readout() -> None:
    """The trained head applied after every block of a residual and a plain net (on a button)."""
    st.markdown(_(
        "Apply the trained classifier head to every block's output x_i, not only to the last one. "
        "With identity skips, x_n = x_i + f_(i+1) + … + f_n: every x_i lives in the space the head "
        "reads, so the answer can be watched forming block by block. A plain net re-encodes its "
        "signal in every layer, and the head reads its intermediate layers as noise."))
    c1, c2, c3 = st.columns(3)
    depth = params.slider("rd_depth", _("Depth (blocks)"), 2, 32, rx.DEPTH, container=c1)
    dataset = params.select("rd_data", _("Data set"), list(TOY_SETS), rx.DATASET, fmt=_, container=c2)
    steps = params.slider("rd_steps", _("Training steps"), 20, 1000, rx.STEPS, 10, container=c3)
    spec, tspec = rx.default_specs(depth, steps, dataset)
    result = rx.stored(spec, tspec)
    if result is None and st.button(_("Train and read"), key="rd_go", type="primary"):
        bar = st.progress(0.0, text=_("Training..."))
        result = rx.cached_run(spec, tspec, progress=lambda f, text: bar.progress(min(1.0, f), text=text))
        bar.empty()
    if result is None:
        st.info(_("Press **Train and read**: a residual and a plain net of {n} blocks train on the same "
                  "batches for {s} steps (with a progress bar), then the head reads every block.")
                .format(n=depth, s=steps))
        return
    labels = {"residual": _("residual"), "plain": _("plain, same depth")}
    st.caption(_("Test accuracy: residual {r:.1%}, plain {p:.1%}.").format(
        r=result["residual"]["accuracy"], p=result["plain"]["accuracy"]))
    charts.show(rfigs.accuracy(result, labels), "rd_acc")
    look_for(_("What to look for: the residual readout climbs towards its final accuracy block by "
               "block; the plain net's intermediate readouts jump around chance and mean nothing "
               "until its last layer."))
    if "maps" in result["residual"]:
        charts.show(rfigs.boundary_strip(result, labels), "rd_strip")
        look_for(_("What to look for: in the residual row the boundary sharpens step by step into the "
                   "final one; the plain row changes arbitrarily from layer to layer."))
    charts.show(rfigs.refinement(result, labels), "rd_cos")
    look_for(_("What to look for: the residual blocks' updates point downhill on the loss (bars above 0); "
               "a plain layer's change y − x is not an update of the same representation, and its "
               "cosine is not."))


tab_paths, tab_measure, tab_read = st.tabs(
    [_("Counting paths"), _("Gradient per path length and dynamic depth"), _("Read block by block")])
with tab_paths:
    counting()
with tab_measure:
    measured()
with tab_read:
    readout()
