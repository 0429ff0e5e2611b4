"""Gradient flow: why depth breaks plain nets and not residual ones, measured block by block."""

from __future__ import annotations

import math

import streamlit as st
import torch

from resviz.data import load
from resviz.figures import gradients as figs
from resviz.figures.style import series_label
from resviz.i18n import _
from resviz.probes import attribution, shattered
from resviz.probes.gradients import (
    GradientRun,
    first_last_ratio,
    forward_std,
    grad_matrix,
    init_profile,
    variant_specs,
)
from resviz.spec import NetworkSpec, SpecError, TrainSpec
from ui import charts, layout, params, session

RUN_KEY = "gf_run"
CHUNK = 10  # steps per progress update: each update is a point where a click can stop us

layout.header(_("Gradient flow"), _(
    "Training moves each weight by its gradient, and the gradient of an early block is a "
    "product of the Jacobians of every block above it. Without skips that product shrinks "
    "(vanishing) or grows (exploding) exponentially with depth; an identity shortcut adds 1 "
    "to every factor, so the gradient reaches the first block intact."))


def fmt_ratio(r: float) -> str:
    return "—" if not math.isfinite(r) else f"{r:.2g}"


# --- At initialisation -------------------------------------------------------------------
st.subheader(_("At initialisation"))
c1, c2 = st.columns(2)
depth = params.slider("gf_depth", _("Depth (blocks)"), 2, 100, 30, container=c1)
norm = params.toggle("gf_norm", _("Batch normalisation"), False, container=c2)


@st.cache_data(max_entries=32, ttl=3600, show_spinner=False)
def init_norms(depth: int, norm: bool) -> dict[str, list[float]]:
    data = load("spirals", 1000, 0.1, 0)
    return {name: init_profile(spec, data)["grad_norms"]
            for name, spec in variant_specs(depth, norm).items()}


with st.spinner(_("Measuring gradients...")):
    norms = init_norms(depth, norm)
charts.show(figs.init_norms(norms), key="gf_init")
ratios = {k: first_last_ratio(v) for k, v in norms.items()}
cols = st.columns(4)
for col, name in zip(cols, ("plain", "residual (original)", "highway", "gated")):
    col.metric(_("first / last block: {name}").format(name=series_label(name)),
               fmt_ratio(ratios[name]))
st.caption(_("Ratio of the first block's gradient norm to the last block's: 1 is perfect flow, "
             "far below 1 is vanishing, far above 1 exploding. Without normalisation a plain "
             "net's gradient vanishes toward the input; with batch normalisation it explodes; "
             "residual nets stay within a much narrower band."))
with st.expander(_("All variants")):
    st.dataframe([{_("network"): series_label(k), _("first / last"): fmt_ratio(r)}
                  for k, r in ratios.items()], hide_index=True)

# --- Over training -----------------------------------------------------------------------
st.subheader(_("Over training"))
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


def pair_specs() -> dict[str, NetworkSpec]:
    base = NetworkSpec(depth=tdepth, width=32 if dataset == "spirals" else 16, norm=tnorm)
    return {"plain": base.replace(family="plain"), "residual": base}


def train_here() -> GradientRun | None:
    """The page's own run: created on a click, trained in chunks with progress, kept per user."""
    key = (tdepth, dataset, steps, tnorm)
    held = st.session_state.get(RUN_KEY)
    run = held[1] if held is not None and held[0] == key else None
    label = _("▶ Train the pair") if run is None else _("▶ Continue training")
    if (run is None or not run.done) and st.button(label, key="gf_train", type="primary"):
        if run is None:
            data = load(dataset, 1000, 0.1, 0)
            tspec = TrainSpec(dataset=dataset, steps=steps, eval_every=max(1, steps // 10))
            run = GradientRun.start(pair_specs(), data, tspec, str(layout.device()), probe_every=5)
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


models: dict[str, torch.nn.Module] = {}
data = None
if source == "here":
    run = train_here()
    if run is not None:
        labels = {"plain": _("plain"), "residual": _("residual")}
        show_training(run.grads, labels)
        c1, c2 = st.columns(2)
        with c1:
            charts.show(figs.forward_signal(run.act_std, run.probe_steps, labels), key="gf_signal")
        with c2:
            charts.show(figs.update_ratio(run.updates, labels), key="gf_update")
        models, data = run.trainer.models, run.trainer.data
    else:
        st.info(_("Press **Train the pair** to watch the gradients of a plain and a residual "
                  "net while they learn."))
else:
    labels = {k: _("{name}: {family}, {depth} blocks").format(
        name=k, family=_(s.family), depth=s.depth) for k, s in pg.specs.items()}
    show_training({k: [r.grad_norms for r in pg.trainer.history(k)] for k in pg.specs}, labels)
    x = pg.data.x_test[:256]
    now = {k: [forward_std(m, x)] for k, m in pg.models.items()}
    charts.show(figs.forward_signal(now, [pg.steps], labels), key="gf_signal")
    st.caption(_("The Playground records gradients every step but not weight snapshots, so the "
                 "update-to-weight ratio is shown for runs trained here."))
    models, data = pg.models, pg.data

# --- Shattered gradients -----------------------------------------------------------------
st.subheader(_("Shattered gradients"))
st.markdown(_(
    "Balduzzi et al. (2017): sweep a single input over [-2, 2] and plot the gradient of the "
    "output with respect to it. In a deep plain net neighbouring inputs get unrelated gradients "
    "— **white noise**; with skip connections they stay related — **brown noise**. The "
    "autocorrelation at lag 1 says how related neighbours are."))
sdepth = params.slider("gf_sdepth", _("Depth of the shattering nets (blocks)"), 1, 50, 24)


@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def shatter(depth: int) -> dict:
    return shattered.compare(depth, width=128, seeds=4)


with st.spinner(_("Sweeping inputs...")):
    sh = shatter(sdepth)
charts.show(figs.shattered(sh), key="gf_shattered")
m1, m2 = st.columns(2)
m1.metric(_("lag-1 autocorrelation, plain"), f"{sh['plain']['lag1']:.2f}")
m2.metric(_("lag-1 autocorrelation, residual"), f"{sh['residual']['lag1']:.2f}")

# --- Attribution -------------------------------------------------------------------------
st.subheader(_("Which blocks carry the decision (Captum)"))
if not models or data is None:
    st.info(_("Train the pair above (or on the Playground) to attribute its decisions."))
    st.stop()
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
    st.stop()
charts.show(figs.block_attribution(attr, labels, totals), key="gf_attr")
st.caption(_("Attribution to each block's residual branch for class {c} of test example {i}; the "
             "dashed lines are each model's f(x) − f(0). In a plain net every branch is the whole "
             "path, so every block carries all of it; in a residual net the branches share it.")
           .format(c=target, i=idx))
if data.input_shape == (1, 8, 8):
    cols = st.columns(len(models))
    for col, (k, m) in zip(cols, models.items()):
        amap, delta = attribution.input_attribution(m, x, target)
        with col:
            charts.show(figs.input_map(x[0, 0].numpy(), amap[0, 0].numpy(), _(
                "Integrated gradients, {m} (completeness gap {d:.1e})").format(
                m=labels[k], d=delta)), key=f"gf_ig_{k}")
