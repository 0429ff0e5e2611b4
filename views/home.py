"""Home: the article's story in ten steps, each with a live figure and a one-click next step."""

from __future__ import annotations

import streamlit as st

from resviz import story
from resviz.experiments import orderings
from resviz.figures import orderings as ofigs
from resviz.figures import story as figs
from resviz.i18n import _
from ui import charts, layout, params
from ui import presets as ui_presets

layout.header(_("Residual networks, step by step"), _(
    "The story of the residual block, told with small networks that are built and measured "
    "while you read. Every figure below comes from a real model; every button opens a page "
    "with the settings that show the point best, as a link you can share."))

with st.container(border=True):
    st.markdown("**" + _("Presets: the papers' figures in miniature") + "**")
    ui_presets.picker("ho_preset")


@st.cache_data(max_entries=4, ttl=3600, show_spinner=False)
def _probes() -> dict:
    """Cheap measurements at initialisation (a second or two on a CPU)."""
    return {"grads": story.init_grad_norms(), "similarity": story.signal_similarity(),
            "gates": story.highway_gates(), "family": story.resnet_family()}


@st.cache_data(max_entries=2, ttl=3600, show_spinner=False)
def _story_run() -> dict:
    return story.story_run()


def _orderings_result(progress=None) -> dict:
    return orderings.run(orderings.DEFAULT_NET, orderings.DEFAULT_TRAIN, progress=progress,
                         engine=True)


def step_box(step: story.Step) -> st.delta_generator.DeltaGenerator:
    """Title, text and the button for one step; returns the column where its figure goes."""
    st.subheader(_(step.title), anchor=f"step-{step.key}")
    text, fig = st.columns([2, 3])
    with text:
        st.markdown(_(step.text))
        ui_presets.button(_(step.button) + " →", step.page, dict(step.params), key=f"ho_go_{step.key}")
    return fig


def trained_figures(step: story.Step, col) -> None:
    """Figures that need the short plain-vs-residual run: shown once it is stored."""
    if not (story.story_is_stored() or st.session_state.get("ho_trained")):
        with col:
            st.info(_("This figure needs three small nets (6 and 16 blocks) trained for 150 steps "
                      "(about 15 s on a laptop; `python -m resviz precompute` prepares it before "
                      "class)."))
            if st.button(_("Train them now"), key=f"ho_train_{step.key}"):
                with st.spinner(_("Training...")):
                    _story_run()
                st.session_state["ho_trained"] = True
                st.rerun()
        return
    run = _story_run()
    labels = {k: _("{kind}, {n} blocks").format(kind=_figs_kind(k), n=n) for k, n in run["depths"].items()}
    with col:
        if step.key == "degradation":
            charts.show(figs.loss_curves(run["steps"], run["loss"], labels), key="ho_fig_degradation")
            acc = {k: v["train_acc"] or 0.0 for k, v in run["final"].items()}
            st.caption(_("Final training accuracy: shallow plain {s:.0%}, deep plain {p:.0%}, "
                         "deep residual {r:.0%}.").format(s=acc["shallow"], p=acc["plain"],
                                                          r=acc["residual"]))
        elif step.key == "residual":
            charts.show(figs.per_block({"residual": run["branch_ratio"]},
                                       _("What each residual block adds: ‖R(x)‖ / ‖x‖"),
                                       _("‖R(x)‖ / ‖x‖")), key="ho_fig_residual")
        elif step.key == "lesion":
            keep = ("shallow", "residual")  # the deep plain net never trained: nothing to lose
            full = {k: run["final"][k]["test_acc"] or 0.0 for k in keep}
            charts.show(figs.lesion({k: run["lesion"][k] for k in keep}, full, labels), key="ho_fig_lesion")
        elif step.key == "readout" and "readout" in run:  # a story stored before step 8 existed has none
            keep = ("shallow", "residual")  # the deep plain net never trained: nothing to read
            fig = figs.per_block({k: run["readout"][k] for k in keep},
                                 _("Test accuracy of the head read after each block"),
                                 _("test accuracy"), start=0, labels=labels)
            charts.show(fig, key="ho_fig_readout")
            st.caption("👀 " + _("What to look for: the residual net's readout climbs block by block to its "
                                 "final accuracy; the trained plain net's readouts before its last layer "
                                 "are no better than chance."))


def identity_figure(col) -> None:
    """Step 2: the identity test's error against depth, from the store or trained on a click."""
    from resviz.figures import identity as id_figs

    with col:
        if not story.identity_is_stored():
            ispec = story.IDENTITY
            st.info(_("This figure needs {n} small nets trained to copy their input (about a "
                      "minute on a laptop; `python -m resviz precompute` prepares it before "
                      "class).").format(n=2 * ispec.seeds * len(ispec.depths)))
            if not st.button(_("Train them now"), key="ho_train_identity"):
                return
            bar = st.progress(0.0, text=_("Training..."))
            story.identity_result(lambda di, n, s, t: bar.progress(min((di + s / t) / n, 1.0),
                                                                   text=_("Training...")))
            bar.empty()
        r = story.identity_result()
        charts.show(id_figs.error_vs_depth(r["summary"], r["rows"], r["input_variance"], height=320),
                    key="ho_fig_identity")
        st.caption("👁 " + _("Look at the red line: the deeper the plain stack, the worse it copies "
                            "its input, until it only answers the mean (dotted); the blue residual "
                            "line stays far below."))


def _figs_kind(name: str) -> str:
    return _("residual") if name == "residual" else _("plain")


def _orderings_verdict(result: dict) -> str:
    """Which differences the seeds resolve, in words: claim only what the intervals support."""
    ref = _(result["reference"])
    lines = []
    for o, d in result["diff_to_reference"].items():
        if not d["resolved"]:
            continue
        if d["mean"] > 0:
            text = _("{o} is worse than {ref} by {d:.1f} points (95% interval {lo:.1f} to {hi:.1f})")
            lines.append(text.format(o=_(o), ref=ref, d=d["mean"], lo=d["low"], hi=d["high"]))
        else:
            text = _("{o} is better than {ref} by {d:.1f} points (95% interval {lo:.1f} to {hi:.1f})")
            lines.append(text.format(o=_(o), ref=ref, d=-d["mean"], lo=-d["high"], hi=-d["low"]))
    unresolved = [_(o) for o, d in result["diff_to_reference"].items() if not d["resolved"]]
    if unresolved:
        lines.append(_("{names}: not distinguishable from {ref} at {n} seeds").format(
            names=_(", ").join(unresolved), ref=ref, n=len(result["seeds"])))
    return "; ".join(lines) + "."


def orderings_figure(col) -> None:
    with col:
        result = orderings.stored()
        charts.show(ofigs.ranking(result or ofigs.paper_only(orderings.PAPER_ERROR)),
                    key="ho_fig_orderings")
        if result is None:
            st.caption(_("Look for: the paper's worst ordering puts batch norm after the "
                         "addition, on the shortcut's path."))
            if st.button(_("Train the five orderings here, over {n} seeds (a few minutes)").format(
                    n=len(orderings.DEFAULT_SEEDS)), key="ho_run_orderings"):
                bar = st.progress(0.0, text=_("Training..."))
                _orderings_result(lambda f: bar.progress(f, text=_("Training...")))
                st.rerun()
            return
        st.caption(_("Look for: which gaps are wider than the error bars. Resolved over seeds: "
                     "{verdict} Rank correlation with the paper: {rho:+.2f} (95% bootstrap "
                     "interval {lo:+.2f} to {hi:+.2f}); {n} test points.").format(
            verdict=_orderings_verdict(result), rho=result["spearman"],
            lo=result["spearman_low"], hi=result["spearman_high"], n=result["n_test"]))
        charts.show(ofigs.curves(result), key="ho_fig_ordering_curves")
        st.caption(_("Look for: the orderings differ in how fast and how steadily they train, "
                     "not only where they end; the dashed line is BN after addition."))


probes = _probes()
# The page is long: a table of contents to jump to a step (each step's header has an anchor).
st.markdown(" · ".join(f"[{_(s.title)}](#step-{s.key})" for s in story.STEPS))

for step in story.STEPS:
    col = step_box(step)
    if step.key in ("degradation", "residual", "lesion", "readout"):
        trained_figures(step, col)
    elif step.key == "identity":
        identity_figure(col)
    elif step.key == "skip":
        with col:
            charts.show(figs.per_block(probes["similarity"], _("Similarity of each block's output "
                                                                "to the input (init, no BN)"),
                                       _("cosine similarity"), start=0), key="ho_fig_skip")
    elif step.key == "gradients":
        with col:
            charts.show(figs.per_block(probes["grads"], _("Gradient norm per block at init (no BN)"),
                                       _("gradient norm"), log=True), key="ho_fig_gradients")
    elif step.key == "orderings":
        orderings_figure(col)
    elif step.key == "ensemble":
        with col:
            n_blocks = params.slider("ho_blocks", _("Residual blocks"), 2, 54, 10)
            charts.show(figs.path_counts(story.path_counts(n_blocks)), key="ho_fig_ensemble")
    elif step.key == "highway":
        with col:
            charts.show(figs.gates(probes["gates"]), key="ho_fig_highway")
            ui_presets.button(_("The LSTM analogy") + " →", "views/lstm.py", {}, key="ho_go_lstm")
    elif step.key == "family":
        with col:
            charts.show(figs.family(probes["family"]), key="ho_fig_family")
