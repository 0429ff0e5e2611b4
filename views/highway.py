"""Highway networks: plain, residual and highway nets train live; the gates, lesioned and opened.

Training runs in the engine (ui.live). The live part (status, accuracies, curves) redraws
while it runs; the sections in the tabs below measure the highway net's current weights
(handle.models()) whenever the run is paused or finished, and say at which step.
"""

from __future__ import annotations

import math

import streamlit as st

from resviz.data import TOY_SETS
from resviz.experiments import highway as hwx
from resviz.figures import gates as gfigs
from resviz.figures import training as tfigs
from resviz.i18n import _
from resviz.models import build
from resviz.probes import gates
from resviz.spec import SpecError, TrainSpec
from resviz.train import evaluate
from ui import charts, layout, live, params, session

KEY = "hw_live"
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

LABELS = {"plain": _("plain"), "residual": _("residual"), "highway": _("highway")}


def measured(run: live.Live, snap: live.Snapshot) -> dict:
    """The models as of the newest snapshot, for the page-side probes below.

    Measured again whenever the run is not running and has moved on; while it runs, the
    last measurement stays (its step is shown), so every section agrees with itself.
    """
    m = run.extra.get("measured")
    if m is None or (snap.state != "running" and m["version"] != snap.version):
        models = run.handle.models()
        for block in models["highway"].blocks:  # the switch travels with the page's copy
            block.openness = openness
        m = {"version": snap.version, "step": snap.step, "models": models}
        run.extra["measured"] = m
    return m


def gates_tab(m: dict, xte, example: int, init_profile: list[float]) -> None:
    hw = m["models"]["highway"]
    maps = gates.gate_maps(hw, xte, example=min(example, len(xte) - 1))
    title = _("Highway net, {depth} blocks, gate openness {a:.1f}: the gates at step {step}")
    charts.show(gfigs.gate_maps(maps, title.format(depth=depth, a=openness, step=m["step"])),
                "hw_gates")
    st.caption(_("Left to right: the learned transform-gate biases b_T; the mean gate T(x) over "
                 "the test set; the gates for the chosen example; that example's block outputs. "
                 "Blocks run left to right, one row per unit."))
    profiles = {_("now (step {step})").format(step=m["step"]): maps["mean_per_block"],
                _("at initialisation"): init_profile}
    start = (1 - openness) / (1 + math.exp(-gate_bias)) + openness
    charts.show(gfigs.gate_profile(profiles, start), "hw_profile")


def lesion_tab(run: live.Live, m: dict, xte, yte, chance: float) -> None:
    st.markdown(_(
        "Forcing a block's transform gate to 0 makes it carry its input unchanged (y = x). "
        "In a trained highway net many single blocks can be shut at almost no cost: the net "
        "uses only part of its depth, as Srivastava et al. found."))
    hw = m["models"]["highway"]
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
    if run.extra.get("lesion_version") != m["version"]:
        run.extra["lesion"] = gates.lesion_each(hw, xte, yte)
        run.extra["lesion_version"] = m["version"]
    lesion = run.extra["lesion"]
    charts.show(gfigs.lesion_bars(lesion["per_block"], lesion["intact"], chance, shut_idx),
                "hw_lesion")
    st.caption(_("{idle} of {n} blocks are idle: shutting one of them alone costs at most "
                 "{drop:.0%} accuracy (measured at step {step}).").format(
        idle=len(lesion["idle"]), n=depth, drop=gates.IDLE_DROP, step=m["step"]))


def openness_tab(run: live.Live, m: dict, xte, yte) -> None:
    st.markdown(_(
        "A residual block is a highway block with both gates held open. The **gate openness** "
        "slider (sidebar) trains the highway net with its gates pushed open: "
        "T' = (1 − a)·T + a, C' = (1 − a)·(1 − T) + a. At a = 1 every block computes "
        "y = H(x) + x, a residual block, and the gate maps turn uniformly 1; at 0 it is "
        "the highway net. Below, the net as trained, with its gates pushed further open or shut "
        "afterwards, without retraining: a trained highway net relies on the gates it learned."))
    hw = m["models"]["highway"]
    if run.extra.get("open_version") != m["version"]:
        run.extra["open_curve"] = gates.openness_sweep(hw, xte, yte, OPENNESS_GRID)
        run.extra["open_version"] = m["version"]
    now = evaluate(hw, xte, yte)[1]
    c1, c2 = st.columns(2)
    c1.metric(_("Highway net at openness {a:.1f}").format(a=openness), f"{now:.1%}")
    c2.metric(_("Residual net"), f"{evaluate(m['models']['residual'], xte, yte)[1]:.1%}")
    charts.show(gfigs.openness_curve(OPENNESS_GRID, run.extra["open_curve"], openness, now),
                "hw_open_curve")
    st.caption(_("Measured at step {step}.").format(step=m["step"]))


def grads_tab(snap: live.Snapshot) -> None:
    last = {k: (snap.last.get(k) or {}).get("grad_norms") for k in LABELS}
    if not all(last.values()):
        st.info(_("Press Start or Step: the gradients of the last step appear here."))
        return
    charts.show(tfigs.grad_bars_spec(last, LABELS), "hw_grads")
    st.caption(_("Parameter-gradient norm of each block at step {step}.").format(step=snap.step))


def page() -> None:
    try:
        tspec = TrainSpec(dataset=dataset, steps=max_steps, lr=lr, seed=seed, eval_every=10)
    except SpecError as e:
        st.error(str(e))
        return
    data = session.data_of(tspec)
    nspecs = hwx.specs(depth, width, gate_bias, norm, data, seed)
    config = live.RunConfig(kind="classify", specs=tuple(nspecs.items()), train=tspec,
                            device=str(layout.device()), boundary=0,
                            # the highway net trains with its gates pushed open this much
                            block_attrs=(("highway", "openness", openness),) if openness else ())
    run = live.get(KEY, config)
    live.controls(run, "hw")
    example = params.slider("hw_ex", _("Example shown in the single-example maps (test point)"),
                            0, 299, 0)
    live.summary_fragment(run, LABELS, "hw_curves", lambda s: tfigs.curves_spec(s.curves, LABELS),
                          key="hw_live_fragment")
    snap = run.snap
    if snap is None or run.state == "lost":
        return
    xte, yte = data.x_test, data.y_test
    if "init_profile" not in run.extra:  # the same net as built by the run: same spec, same seed
        init = build(nspecs["highway"])
        for block in init.blocks:
            block.openness = openness
        run.extra["init_profile"] = gates.mean_gate_per_block(init, xte)
    m = measured(run, snap)
    if run.state == "running":
        st.info(_("The sections below show the nets at step {step}; they are measured again "
                  "when training pauses or ends.").format(step=m["step"]), icon=":material/schedule:")
    if snap.metrics.get("highway", {}).get("diverged_at") is not None:
        st.warning(_("The highway net diverged; lower the learning rate and press Reset."))
        return
    t_gates, t_lesion, t_open, t_grads = st.tabs(
        [_("Gates"), _("Lesion: shut the gates"), _("From highway to residual"), _("Gradients")])
    with t_gates:
        gates_tab(m, xte, example, run.extra.get("init_profile", []))
    with t_lesion:
        lesion_tab(run, m, xte, yte, 1 / data.n_classes)
    with t_open:
        openness_tab(run, m, xte, yte)
    with t_grads:
        grads_tab(snap)


page()
