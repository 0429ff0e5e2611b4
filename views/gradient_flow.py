"""Gradient flow: why depth breaks plain nets and not residual ones, measured block by block."""

from __future__ import annotations

import math

import streamlit as st
import torch

from resviz.data import load
from resviz.experiments import degradation as deg
from resviz.figures import gradients as figs
from resviz.figures.style import series_label
from resviz.i18n import _
from resviz.init import INITIALISERS
from resviz.presets import N_
from resviz.probes import attribution, shattered
from resviz.probes.gradients import (
    GradientRun,
    first_last_ratio,
    forward_std,
    grad_matrix,
    init_profile,
    median,
    story_vs_measurement,
    variant_specs,
    verdict,
)
from resviz.spec import NetworkSpec, SpecError, TrainSpec
from ui import charts, layout, params, session

RUN_KEY = "gf_run"
CHUNK = 10  # steps per progress update: each update is a point where a click can stop us

layout.header(_("Gradient flow"), _(
    "Training moves each weight by its gradient, and the gradient of an early block is a "
    "product of the Jacobians of every block above it. Without skips that product can shrink "
    "(vanishing) or grow (exploding) exponentially with depth; an identity shortcut adds 1 to "
    "every factor (He et al. 2016, eq. 5). Which one happens depends on the initialisation and "
    "on batch normalisation — and, as the second tab shows, it is not what makes deep plain "
    "nets train worse."))


def fmt_ratio(r: float) -> str:
    return "—" if not math.isfinite(r) else f"{r:.2g}"


def look_for(text: str) -> None:
    """The one line beside a figure that says what to look for."""
    st.caption("👁 " + text)


@st.cache_data(max_entries=32, ttl=3600, show_spinner=False)
def init_norms(depth: int, norm: bool, init: str) -> dict[str, dict[str, list[float]]]:
    data = load("spirals", 1000, 0.1, 0)
    specs = variant_specs(depth, norm, init=init)
    profiles = {name: init_profile(spec, data) for name, spec in specs.items()}
    return {"params": {k: p["grad_norms"] for k, p in profiles.items()},
            "inputs": {k: p["input_grads"] for k, p in profiles.items()}}


VERDICTS = {"vanishes": N_("vanishes toward the input"), "grows": N_("grows toward the input"),
            "healthy": N_("reaches the input at a healthy size"), "broken": N_("cannot be measured")}


def at_init() -> None:
    c1, c2, c3 = st.columns(3)
    depth = params.slider("gf_depth", _("Depth (blocks)"), 2, 100, 30, container=c1)
    norm = params.toggle("gf_norm", _("Batch normalisation"), False, container=c2)
    init = params.select("gf_scheme", _("Initialisation"), list(INITIALISERS), NetworkSpec().init,
                         container=c3, fmt=lambda k: _(INITIALISERS[k][2]))
    with st.spinner(_("Measuring gradients...")):
        norms = init_norms(depth, norm, init)
    charts.show(figs.init_norms(norms["params"], norms["inputs"]), key="gf_init")
    look_for(_("Look at the right panel, the gradient that reaches each block's input: a line that "
               "falls toward block 1 is vanishing, one that rises is exploding. Switch the "
               "initialisation to PyTorch's default and batch normalisation off to see the "
               "textbook vanishing."))
    ratios = {k: first_last_ratio(v) for k, v in norms["inputs"].items()}
    cols = st.columns(4)
    for col, name in zip(cols, ("plain", "residual (original)", "highway", "gated")):
        col.metric(_("first / last block: {name}").format(name=series_label(name)),
                  fmt_ratio(ratios[name]))
    st.caption(_("Ratio of ‖∂L/∂x‖ at the first block's input to that at the last block's: 1 is "
                 "perfect flow, far below 1 vanishing, far above 1 exploding. Measured now: the "
                 "plain net's gradient {p}; the residual net's {r}.").format(
        p=_(VERDICTS[verdict(ratios["plain"])]), r=_(VERDICTS[verdict(ratios["residual (original)"])])))
    with st.expander(_("All variants")):
        st.dataframe([{_("network"): series_label(k), "first / last (∂L/∂x)": fmt_ratio(r),
                       "first / last (∂L/∂θ)": fmt_ratio(first_last_ratio(norms["params"][k]))}
                      for k, r in ratios.items()], hide_index=True)


@st.cache_data(max_entries=8, ttl=3600, show_spinner=False)
def story_ratios(depth: int) -> dict:
    return story_vs_measurement(depth, load("spirals", 1000, 0.1, 0))


def story_panel() -> None:
    """The popular story (vanishing gradients) beside what the measurements say (He 2015 §4.1)."""
    st.markdown(_(
        "The popular story says deep plain nets train badly because their gradients vanish. He et "
        "al. (2015, §4.1) say their plain nets use batch normalisation and He initialisation, "
        "have healthy gradients, and still degrade. Both are measured here, on the nets of the "
        "Degradation page."))
    depth = params.select_slider("gf_story_depth", _("Depth (blocks)"), list(deg.DEPTHS), 24)
    with st.spinner(_("Measuring gradients...")):
        r = story_ratios(depth)
    story, paper = st.columns(2)
    for col, case, title in ((story, "story", _("No batch normalisation, PyTorch's default init")),
                             (paper, "paper", _("Batch normalisation and He init (the paper)"))):
        with col:
            st.markdown(f"**{title}**")
            for fam in ("plain", "residual"):
                m = median(r[case][fam])
                st.markdown(_("- {f}: first/last ‖∂L/∂x‖ = **{m}** (seeds: {all}) — the gradient "
                              "{v}.").format(f=_(fam), m=fmt_ratio(m), all=", ".join(
                                  fmt_ratio(x) for x in r[case][fam]), v=_(VERDICTS[verdict(m)])))
    sw = deg.page_sweep()
    hit = deg.cached_group(sw, depth)
    if hit is None:
        st.info(_("The training half of the panel needs the Degradation page's {d}-block nets "
                  "({n} of them, {t} steps; stored once trained).").format(
            d=depth, n=2 * sw.seeds, t=sw.train.steps))
        if not st.button(_("▶ Train them"), key="gf_story_train"):
            return
        bar = st.progress(0.0)
        hit = deg.group(sw, depth, str(layout.device(batched=True)), lambda i: bar.progress(
            i / sw.train.steps, text=_("step {s} of {t}").format(s=i, t=sw.train.steps)))
        bar.empty()
    bands = deg.curve_bands(hit["curves"])
    charts.show(figs.story_losses(bands, depth), key="gf_story_loss")
    look_for(_("Look at the gap between the red and the blue curve: how much worse the plain net "
               "fits its own training data; the lines above say whether its gradients vanish."))
    rows = {f: [x for x in hit["rows"] if x["family"] == f] for f in ("plain", "residual")}
    err = {f: median([100 * (1 - x["train_acc"]) for x in v if x["train_acc"] is not None])
           for f, v in rows.items()}
    plain_v = verdict(median(r["paper"]["plain"]))
    story_v = _(VERDICTS[verdict(median(r["story"]["plain"]))])
    worse = err["plain"] > err["residual"] + 1.0
    if worse and plain_v == "vanishes":
        st.markdown(_(
            "**Measured, in plain words.** At {d} blocks the plain net trains worse ({p:.1f}% "
            "training error against {q:.1f}%) and, in this setting, its gradient does vanish "
            "toward the input.").format(d=depth, p=err["plain"], q=err["residual"]))
    elif worse:
        st.markdown(_(
            "**Measured, in plain words.** With batch normalisation and He init the {d}-block "
            "plain net's gradient {v}, yet after {t} steps its training error is **{p:.1f}%** "
            "against the residual net's **{q:.1f}%**: it trains worse, so here degradation is "
            "not caused by vanishing gradients. Without batch normalisation and with PyTorch's "
            "small default init, the plain net's gradient {v2}: that is the setting the "
            "vanishing-gradient story describes.").format(
            d=depth, v=_(VERDICTS[plain_v]), t=sw.train.steps, p=err["plain"], q=err["residual"],
            v2=story_v))
    else:
        st.markdown(_(
            "**Measured, in plain words.** At {d} blocks, after {t} steps, the plain net's "
            "training error ({p:.1f}%) is not clearly above the residual net's ({q:.1f}%): pick "
            "a deeper net to see degradation. Its gradient at initialisation {v}; without batch "
            "normalisation and with PyTorch's small default init it {v2}.").format(
            d=depth, t=sw.train.steps, p=err["plain"], q=err["residual"], v=_(VERDICTS[plain_v]),
            v2=story_v))


def training_controls() -> tuple[str, int, str, int, bool]:
    pg = session.playground()
    sources = ["here"] + (["playground"] if pg is not None and pg.steps > 0 else [])
    source = params.radio("gf_src", _("Models"), sources, "here", horizontal=True, fmt=lambda s: {
        "here": _("train a plain/residual pair here"), "playground": _("the Playground's models")}[s])
    t1, t2, t3, t4 = st.columns(4)
    tdepth = params.slider("gf_tdepth", _("Depth of the pair"), 2, 50, 16, container=t1)
    dataset = params.select("gf_data", _("Data set"), ["spirals", "digits"], "spirals", fmt=_,
                            container=t2)
    steps = params.select_slider("gf_steps", _("Training steps"), [50, 100, 200, 400], 200,
                                 container=t3)
    tnorm = params.toggle("gf_tnorm", _("Batch normalisation (pair)"), True, container=t4)
    return source, tdepth, dataset, steps, tnorm


def train_here(tdepth: int, dataset: str, steps: int, tnorm: bool) -> GradientRun | None:
    """The page's own run: created on a click, trained in chunks with progress, kept per user."""
    key = (tdepth, dataset, steps, tnorm)
    held = st.session_state.get(RUN_KEY)
    run = held[1] if held is not None and held[0] == key else None
    label = _("▶ Train the pair") if run is None else _("▶ Continue training")
    if (run is None or not run.done) and st.button(label, key="gf_train", type="primary"):
        if run is None:
            data = load(dataset, 1000, 0.1, 0)
            tspec = TrainSpec(dataset=dataset, steps=steps, eval_every=max(1, steps // 10))
            base = NetworkSpec(depth=tdepth, width=32 if dataset == "spirals" else 16, norm=tnorm)
            specs = {"plain": base.replace(family="plain"), "residual": base}
            run = GradientRun.start(specs, data, tspec, str(layout.device()), probe_every=5)
            st.session_state[RUN_KEY] = (key, run)
        bar = st.progress(0.0)
        while not run.done:
            run.advance(CHUNK)
            bar.progress(run.steps / steps, text=_("step {s} of {t}").format(s=run.steps, t=steps))
        bar.empty()
    if run is not None and not run.done:
        st.caption(_("Stopped at step {s}; continue when you like.").format(s=run.steps))
    return run if run is not None and run.steps > 0 else None


def show_training(grads: dict[str, list[list[float]]], labels: dict[str, str]) -> None:
    mats = {k: grad_matrix(v) for k, v in grads.items() if v}
    zr = figs.shared_range(*mats.values())
    cols = st.columns(len(mats))
    for col, (k, m) in zip(cols, mats.items()):
        with col:
            charts.show(figs.grad_heatmap(m, _("Gradient norm of {m}: block × step").format(
                m=labels[k]), zr), key=f"gf_heat_{k}")
    look_for(_("Look for bands: a colour that changes from the top block to block 1 means the "
               "blocks near the input get a different share of the gradient than those near the "
               "output; the same colour range is used in every panel."))


def over_training() -> tuple[dict[str, torch.nn.Module], object, dict[str, str]]:
    """Heatmaps, forward signal and update sizes; returns the models for attribution."""
    source, tdepth, dataset, steps, tnorm = training_controls()
    if source == "here":
        run = train_here(tdepth, dataset, steps, tnorm)
        if run is None:
            st.info(_("Press **Train the pair** to watch the gradients of a plain and a residual "
                      "net while they learn."))
            return {}, None, {}
        labels = {"plain": _("plain"), "residual": _("residual")}
        show_training(run.grads, labels)
        c1, c2 = st.columns(2)
        with c1:
            charts.show(figs.forward_signal(run.act_std, run.probe_steps, labels), key="gf_signal")
            look_for(_("Look at how far each solid line falls from block 0: the input's imprint "
                       "that survives to each block."))
        with c2:
            charts.show(figs.update_ratio(run.updates, labels), key="gf_update")
            look_for(_("Look at the level: around 1e-3 is the usual healthy step; far below, a "
                       "block barely learns."))
        return run.trainer.models, run.trainer.data, labels
    pg = session.playground()
    labels = {k: _("{name}: {family}, {depth} blocks").format(
        name=k, family=_(s.family), depth=s.depth) for k, s in pg.specs.items()}
    show_training({k: pg.grad_history(k) for k in pg.specs}, labels)
    x = pg.data.x_test[:256]
    now = {k: [forward_std(m, x)] for k, m in pg.models.items()}
    charts.show(figs.forward_signal(now, [pg.steps], labels), key="gf_signal")
    look_for(_("Look at how far each line falls from block 0: the input's imprint that survives "
               "to each block."))
    st.caption(_("The Playground records gradients every step but not weight snapshots, so the "
                 "update-to-weight ratio is shown for runs trained here."))
    return pg.models, pg.data, labels


@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def shatter(depth: int) -> dict:
    return shattered.compare(depth, width=128, seeds=4)


def shattered_section() -> None:
    st.markdown(_(
        "Balduzzi et al. (2017): sweep a single input over [-2, 2] and plot the gradient of the "
        "output with respect to it. In a deep plain net neighbouring inputs get unrelated gradients "
        "— **white noise**; with skip connections they stay related — **brown noise**. The "
        "autocorrelation at lag 1 says how related neighbours are."))
    sdepth = params.slider("gf_sdepth", _("Depth of the shattering nets (blocks)"), 1, 50, 24)
    with st.spinner(_("Sweeping inputs...")):
        sh = shatter(sdepth)
    charts.show(figs.shattered(sh), key="gf_shattered")
    look_for(_("Look at the plain panel: its gradient jumps from point to point like noise, while "
               "the residual one wanders smoothly; the autocorrelation says the same in one number."))
    m1, m2 = st.columns(2)
    m1.metric(_("lag-1 autocorrelation, plain"), f"{sh['plain']['lag1']:.2f}")
    m2.metric(_("lag-1 autocorrelation, residual"), f"{sh['residual']['lag1']:.2f}")


def attribution_section(models: dict[str, torch.nn.Module], data, labels: dict[str, str]) -> None:
    if not models or data is None:
        st.info(_("Train the pair (tab **Over training**, or on the Playground) to attribute its "
                  "decisions."))
        return
    a1, a2 = st.columns(2)
    n_test = min(50, len(data.y_test))
    idx = params.slider("gf_idx", _("Test example"), 0, n_test - 1, 0, container=a1)
    method = params.radio("gf_method", _("Method"), list(attribution.METHODS), "conductance",
                          horizontal=True, container=a2, fmt=lambda m: {
                              "conductance": _("layer conductance"),
                              "grad_x_activation": _("gradient × activation")}[m])
    x = data.x_test[idx:idx + 1]
    target = int(data.y_test[idx])
    try:
        attr = {k: attribution.block_attribution(m, x, target, method) for k, m in models.items()}
        totals = {k: attribution.output_difference(m, x, target) for k, m in models.items()}
    except (SpecError, RuntimeError, TypeError) as e:
        st.warning(_("Attribution is not available for these models: {e}").format(e=e))
        return
    charts.show(figs.block_attribution(attr, labels, totals), key="gf_attr")
    st.caption(_("Attribution to each block's residual branch for class {c} of test example {i}; the "
                 "dashed lines are each model's f(x) − f(0). In a plain net every branch is the whole "
                 "path, so every block carries all of it; in a residual net the branches share it.")
               .format(c=target, i=idx))
    look_for(_("Look at the bar heights: the plain net's bars each reach its dashed line, the "
               "residual net's share it out between blocks."))
    if data.input_shape == (1, 8, 8):
        cols = st.columns(len(models))
        for col, (k, m) in zip(cols, models.items()):
            amap, delta = attribution.input_attribution(m, x, target)
            with col:
                charts.show(figs.input_map(x[0, 0].numpy(), amap[0, 0].numpy(), _(
                    "Integrated gradients, {m} (completeness gap {d:.1e})").format(
                    m=labels[k], d=delta)), key=f"gf_ig_{k}")
        look_for(_("Look for red pixels on the strokes of the digit: what speaks for the class."))


tabs = st.tabs([_("At initialisation"), _("Story vs measurement"), _("Over training"),
                _("Shattered gradients"), _("Which blocks carry the decision (Captum)")])
with tabs[0]:
    at_init()
with tabs[1]:
    story_panel()
with tabs[2]:
    trained = over_training()
with tabs[3]:
    shattered_section()
with tabs[4]:
    attribution_section(*trained)
