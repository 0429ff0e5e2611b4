"""Lesion study: delete blocks from trained nets, or shuffle them; residual vs plain vs stochastic depth."""

from __future__ import annotations

import copy

import streamlit as st

from resviz import store
from resviz.experiments import lesion as lx
from resviz.figures import lesion as figs
from resviz.i18n import _
from ui import charts, layout, params, session, trained_nets

layout.header(_("Lesion study"), _(
    "Take a trained net and delete a block: the block becomes its skip, y_i = y_(i−1). "
    "In a plain net that removes a layer from the only path, and the net collapses. In a residual "
    "net it removes only the paths through that branch; the many others still work, and accuracy "
    "barely moves (Veit et al. 2016). Deleting several blocks, or shuffling their order, degrades "
    "a residual net smoothly, and training with stochastic depth (randomly dropping blocks, "
    "Huang et al. 2016) makes it sturdier still."))


def look_for(text: str) -> None:
    st.caption("👀 " + text)


def show(studies: dict, labels: dict) -> None:
    """The three lesions in tabs, each figure with what to look for."""
    one, many, order = st.tabs([_("Delete one block"), _("Delete k blocks"), _("Reorder blocks")])
    with one:
        charts.show(figs.single_deletion(studies, labels), "le_single")
        look_for(_("What to look for: the residual curve stays near its dotted line for almost every "
                   "block but the first; the plain curve drops to about chance wherever a layer is removed."))
        for name, s in studies.items():
            d = s["delete_each"]
            st.markdown(_("**{label}**: intact {base:.1%}; with one block deleted {mean:.1%} on average, "
                          "{worst:.1%} at worst (block {at}).").format(
                label=labels[name], base=s["accuracy"], mean=sum(d) / len(d), worst=min(d),
                at=d.index(min(d)) + 1))
            if s.get("spare_first"):
                st.markdown(_("  Without block 1 (it remaps the input features, like Veit's downsampling "
                              "blocks): {first:.1%}; without any one of the others: {rest:.1%} on average.")
                            .format(first=s["first_block"], rest=s["mean_single_deletion"]))
    with many:
        charts.show(figs.k_deletion(studies, labels), "le_k")
        look_for(_("What to look for: the residual mean declines smoothly as k grows, with no cliff "
                   "(Veit et al. Fig. 3); the plain net is at chance from k = 1 on. The band is the "
                   "10–90% range over the random draws."))
    with order:
        charts.show(figs.reorder(studies, labels), "le_reorder")
        look_for(_("What to look for: as Kendall's τ falls (more swaps), the residual net degrades "
                   "gradually; the plain net falls apart at the first swap."))


def already_off(name: str, model) -> None:
    """Say which blocks the Playground's toggles have changed before any lesion."""
    skips_off = [i + 1 for i, on in enumerate(model.skips) if not on]
    deleted = [i + 1 for i, b in enumerate(model.blocks) if not b.active]
    if len(skips_off) == len(model.blocks):
        st.caption(_("Model {name} has no skip connections (a plain net): deleting a block removes "
                     "a layer from its only path.").format(name=name))
    elif skips_off:
        st.warning(_("Model {name}: skips already switched off on the Playground at blocks {blocks}. "
                     "Those blocks act as plain layers here, and the lesions below are of the net as "
                     "it is now.").format(name=name, blocks=", ".join(map(str, skips_off))))
    else:
        st.caption(_("Model {name}: every skip is on.").format(name=name))
    if deleted:
        st.warning(_("Model {name}: blocks {blocks} are already deleted.")
                   .format(name=name, blocks=", ".join(map(str, deleted))))


def from_playground(draws: int, spare_first: bool) -> None:
    """Lesion the Playground's models A and B as they are now (their own copies stay untouched)."""
    run = session.playground()
    if run is None or not run.steps:
        session.require_trained("lesion")
        return
    labels = {k: _("Playground model {name}").format(name=k) for k in run.models}
    studies = {}
    x, y = run.data.x_test.cpu(), run.data.y_test.cpu()
    for name, model in run.models.items():
        already_off(name, model)
        with st.spinner(_("Lesioning model {name}...").format(name=name)):
            studies[name] = lx.study(copy.deepcopy(model).cpu(), x, y, draws, spare_first=spare_first)
    show(studies, labels)


def trained_here(draws: int, spare_first: bool) -> None:
    """Train residual, plain (and stochastic-depth) nets on a button press, then lesion them."""
    c1, c2, c3 = st.columns(3)
    spec, tspec, sd = trained_nets.residual_run_controls(
        "le", (c1, c2, c3), lx.DEPTH, "moons",
        data_help=_("A plain net must be able to learn the task, or it has nothing to lose."))
    if spec is None:
        return
    result = store.get("lesion", spec, tspec, draws, sd, spare_first)
    if result is None and st.button(_("Train and lesion"), key="le_go", type="primary"):
        bar = st.progress(0.0, text=_("Training..."))
        result = lx.cached_run(spec, tspec, draws, sd, spare_first=spare_first,
                               progress=lambda f, text: bar.progress(min(1.0, f), text=text))
        bar.empty()
    if result is None:
        st.info(_("Press **Train and lesion**: a residual and a plain net of {n} blocks train on the "
                  "same batches{sd}, then every lesion is measured on the test set.").format(
            n=spec.depth, sd=_(" (and a third with stochastic depth)") if sd is not None else ""))
        return
    if not result.get("plain_learned", True):
        st.warning(_("The plain net reached only {acc:.1%} test accuracy: it has not learned the task, "
                     "so its collapse under deletion means little. Use fewer blocks or more steps.")
                   .format(acc=result["plain"]["accuracy"]))
    labels = {"residual": _("residual"), "plain": _("plain, same depth"),
              "sd": _("residual, stochastic depth p_L = {p}").format(p=sd)}
    show({k: result[k] for k in ("residual", "plain", "sd") if k in result}, labels)


source = params.radio("le_src", _("Networks"), ["train", "playground"], "train", horizontal=True,
                      fmt=lambda s: _("train residual and plain here") if s == "train" else
                      _("the Playground's models A and B, as they are now"))
d1, d2 = st.columns(2)
draws = params.slider("le_draws", _("Random draws per k"), 1, 100, lx.DRAWS, container=d1)
spare_first = not params.toggle(
    "le_first", _("Random deletions may draw the first block"), False, container=d2,
    help=_("The first block remaps the stem's features, the part Veit's downsampling blocks play; "
           "Veit et al. leave those out of random deletions. Its own deletion is reported apart."))
if source == "playground":
    from_playground(draws, spare_first)
else:
    trained_here(draws, spare_first)
