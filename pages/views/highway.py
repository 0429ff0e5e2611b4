"""Highway networks: plain, residual and highway nets train live; the gates, lesioned and opened."""

from __future__ import annotations

import math

import streamlit as st

from resviz.data import TOY_SETS
from resviz.experiments import highway as hwx
from resviz.figures import gates as gfigs
from resviz.figures import training as tfigs
from resviz.i18n import _
from resviz.probes import gates
from resviz.spec import SpecError, TrainSpec
from resviz.train import evaluate
from ui import charts, layout, live, params, session

KEY = "hw_run"
OPENNESS_GRID = [i / 10 for i in range(11)]

layout.header(_("Highway networks"), _(
    "A highway block learns how much to transform and how much to carry: "
    "y = H(x)·T(x) + x·(1 − T(x)), with the transform gate T(x) = sigmoid(W_T x + b_T) "
    "(Srivastava et al. 2015). A negative bias b_T starts every block close to the identity. "
    "Train a plain, a residual and a highway net of the same depth side by side and watch the "
    "highway gates, as in the paper's Figure 2."))

with st.sidebar.expander(_("Networks"), expanded=True):
    depth = params.slider("hw_depth", _("Depth (blocks)"), 2, 100, 30)
    width = params.select_slider("hw_width", _("Width"), [8, 16, 32, 64], 16)
    gate_bias = params.slider("hw_gb", _("Transform-gate bias at init"), -4.0, 0.0, -2.0, 0.5,
                              help=_("sigmoid(b) is the gate's starting value: −2 gives 0.12, "
                                     "so each block starts carrying 88% of its input."))
    norm = params.toggle("hw_norm", _("Batch normalisation"), True)
    openness = params.slider("hw_open", _("Gate openness of the highway net (1 = residual)"),
                             0.0, 1.0, 0.0, 0.1,
                             help=_("Trains the highway net with both gates pushed open by "
                                    "this much: at 1 its blocks compute y = H(x) + x."))
with st.sidebar.expander(_("Training"), expanded=True):
    dataset = params.select("hw_data", _("Data set"), list(TOY_SETS), "spirals", fmt=_)
    lr = params.select_slider("hw_lr", _("Learning rate"), [1e-3, 3e-3, 0.01, 0.03, 0.1], 0.01)
    max_steps = params.slider("hw_steps", _("Stop after steps"), 50, 2000, 400, 50)
    seed = params.slider("hw_seed", _("Seed"), 0, 99, 0)

try:
    tspec = TrainSpec(dataset=dataset, steps=max_steps, lr=lr, seed=seed, eval_every=10)
except SpecError as e:
    st.error(str(e))
    st.stop()


def fresh_run() -> session.PlaygroundRun:
    from resviz.data import load

    data = load(tspec.dataset, tspec.n_samples, tspec.noise, tspec.data_seed)
    nspecs = hwx.specs(depth, width, gate_bias, norm, data, seed)
    run = session.new_run(nspecs, tspec, str(layout.device()))
    hw = run.models["highway"]
    for block in hw.blocks:
        block.openness = openness
    run.extra["openness"] = openness
    run.extra["init_profile"] = gates.mean_gate_per_block(hw, run.trainer._xte)
    return run


run: session.PlaygroundRun | None = st.session_state.get(KEY)
wanted = hwx.specs(depth, width, gate_bias, norm, run.data if run else None, seed)
if (run is None or run.tspec != tspec or run.specs != wanted
        or run.extra.get("openness") != openness):
    run = fresh_run()
    st.session_state[KEY] = run

LABELS = {"plain": _("plain"), "residual": _("residual"), "highway": _("highway")}



def reset() -> session.PlaygroundRun:
    new = fresh_run()
    st.session_state[KEY] = new
    return new


run = live.controls(run, "hw", reset)

n_test = len(run.data.y_test)
example = params.slider("hw_ex", _("Example shown in the single-example maps (test point)"),
                        0, 299, 0)


def draw() -> None:
    for name in run.specs:
        if run.trainer.diverged(name) is not None:
            st.error(_("The {name} net diverged at step {step}: lower the learning rate and "
                       "press Reset.").format(name=LABELS[name], step=run.trainer.diverged(name)))
    live.status(run, max_steps)
    cols = st.columns(3)
    for col, name in zip(cols, run.specs):
        _loss, acc = evaluate(run.models[name], run.trainer._xte, run.trainer._yte)
        col.metric(_("Test accuracy, {name}").format(name=LABELS[name]), f"{acc:.1%}")
    charts.show(tfigs.curves({k: run.trainer.history(k) for k in run.specs}, LABELS), "hw_curves")
    if run.trainer.diverged("highway") is not None:
        return
    hw, xte = run.models["highway"], run.trainer._xte
    maps = gates.gate_maps(hw, xte, example=min(example, n_test - 1))
    title = _("Highway net, {depth} blocks, gate openness {a:.1f}: the gates at step {step}")
    charts.show(gfigs.gate_maps(maps, title.format(depth=depth, a=openness, step=run.steps)),
                "hw_gates")
    st.caption(_("Left to right: the learned transform-gate biases b_T; the mean gate T(x) over "
                 "the test set; the gates for the chosen example; that example's block outputs. "
                 "Blocks run left to right, one row per unit."))
    profiles = {_("now (step {step})").format(step=run.steps): maps["mean_per_block"],
                _("at initialisation"): run.extra["init_profile"]}
    start = (1 - openness) / (1 + math.exp(-gate_bias)) + openness
    charts.show(gfigs.gate_profile(profiles, start), "hw_profile")
    last = {k: run.trainer.history(k)[-1].grad_norms for k in run.specs if run.trainer.history(k)}
    if last:
        charts.show(tfigs.grad_bars(last, LABELS), "hw_grads")


live.fragment(run, max_steps, draw)

hw, xte, yte = run.models["highway"], run.trainer._xte, run.trainer._yte
healthy = run.trainer.diverged("highway") is None
chance = 1 / run.data.n_classes

st.subheader(_("Lesion: shut the gates of chosen blocks"))
st.markdown(_(
    "Forcing a block's transform gate to 0 makes it carry its input unchanged (y = x). "
    "In a trained highway net many single blocks can be shut at almost no cost: the net "
    "uses only part of its depth, as Srivastava et al. found. Pause training to study it."))
if healthy:
    blocks = list(range(1, depth + 1))
    shut = st.pills(_("Blocks whose gates are shut (click to toggle)"), blocks,
                    selection_mode="multi", key=f"hw_shut_{depth}")
    shut_idx = [b - 1 for b in (shut or [])]
    intact = gates.lesion_accuracy(hw, xte, yte)
    lesioned = gates.lesion_accuracy(hw, xte, yte, shut_idx)
    c1, c2 = st.columns(2)
    c1.metric(_("Intact highway net"), f"{intact:.1%}")
    c2.metric(_("With {n} blocks shut").format(n=len(shut_idx)), f"{lesioned:.1%}",
              delta=f"{lesioned - intact:+.1%}")
    key = ("lesion", run.steps)
    if run.extra.get("lesion_key") != key:
        run.extra["lesion"] = gates.lesion_each(hw, xte, yte)
        run.extra["lesion_key"] = key
    lesion = run.extra["lesion"]
    charts.show(gfigs.lesion_bars(lesion["per_block"], lesion["intact"], chance, shut_idx),
                "hw_lesion")
    st.caption(_("{idle} of {n} blocks are idle: shutting one of them alone costs at most "
                 "{drop:.0%} accuracy (measured at step {step}).").format(
        idle=len(lesion["idle"]), n=depth, drop=gates.IDLE_DROP, step=run.steps))

st.subheader(_("From highway to residual: gate openness"))
st.markdown(_(
    "A residual block is a highway block with both gates held open. The **gate openness** "
    "slider (sidebar) trains the highway net with its gates pushed open: "
    "T' = (1 − a)·T + a, C' = (1 − a)·(1 − T) + a. At a = 1 every block computes "
    "y = H(x) + x, a residual block, and the gate maps above turn uniformly 1; at 0 it is "
    "the highway net. Below, the net as trained, with its gates pushed further open or shut "
    "afterwards, without retraining: a trained highway net relies on the gates it learned."))
if healthy:
    key = ("open", run.steps)
    if run.extra.get("open_key") != key:
        run.extra["open_curve"] = gates.openness_sweep(hw, xte, yte, OPENNESS_GRID)
        run.extra["open_key"] = key
    c1, c2 = st.columns(2)
    c1.metric(_("Highway net at openness {a:.1f}").format(a=openness),
              f"{evaluate(hw, xte, yte)[1]:.1%}")
    c2.metric(_("Residual net"), f"{evaluate(run.models['residual'], xte, yte)[1]:.1%}")
    charts.show(gfigs.openness_curve(OPENNESS_GRID, run.extra["open_curve"], openness,
                                     evaluate(hw, xte, yte)[1]), "hw_open_curve")
else:
    st.warning(_("The highway net diverged; lower the learning rate and press Reset."))
