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

run = session.playground()
source = params.radio("le_src", _("Networks"), ["train", "playground"], "train", horizontal=True,
                      fmt=lambda s: _("train residual and plain here") if s == "train" else
                      _("the Playground's models A and B, as they are now"))


def show(studies: dict, labels: dict) -> None:
    charts.show(figs.single_deletion(studies, labels), "le_single")
    for name, s in studies.items():
        d = s["delete_each"]
        st.markdown(_("**{label}**: intact {base:.1%}; with one block deleted {mean:.1%} on average, "
                      "{worst:.1%} at worst (block {at}).").format(
            label=labels[name], base=s["accuracy"], mean=sum(d) / len(d), worst=min(d),
            at=d.index(min(d)) + 1))
    charts.show(figs.k_deletion(studies, labels), "le_k")
    charts.show(figs.reorder(studies, labels), "le_reorder")


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


draws = params.slider("le_draws", _("Random draws per k"), 1, 10, 5)

if source == "playground":
    if run is None or not run.steps:
        session.require_trained("lesion")
        st.stop()
    labels = {k: _("Playground model {name}").format(name=k) for k in run.models}
    studies = {}
    x, y = run.data.x_test.cpu(), run.data.y_test.cpu()
    for name, model in run.models.items():
        already_off(name, model)
        with st.spinner(_("Lesioning model {name}...").format(name=name)):
            studies[name] = lx.study(copy.deepcopy(model).cpu(), x, y, draws)
    show(studies, labels)
    st.stop()

c1, c2, c3 = st.columns(3)
spec, tspec, sd = trained_nets.residual_run_controls(
    "le", (c1, c2, c3), 12, "moons",
    data_help=_("A plain net must be able to learn the task, or it has nothing to lose."))
depth = spec.depth
result = store.get("lesion", spec, tspec, draws, sd)
if result is None and st.button(_("Train and lesion"), key="le_go", type="primary"):
    bar = st.progress(0.0, text=_("Training..."))
    result = lx.cached_run(spec, tspec, draws, sd,
                           progress=lambda f, text: bar.progress(min(1.0, f), text=text))
    bar.empty()
if result is None:
    st.info(_("Press **Train and lesion**: a residual and a plain net of {n} blocks train on the "
              "same batches{sd}, then every lesion is measured on the test set.").format(
        n=depth, sd=_(" (and a third with stochastic depth)") if sd is not None else ""))
    st.stop()
labels = {"residual": _("residual"), "plain": _("plain, same depth"),
          "sd": _("residual, stochastic depth p_L = {p}").format(p=sd)}
show({k: result[k] for k in ("residual", "plain", "sd") if k in result}, labels)
