"""The LSTM analogy: a vanilla RNN, an LSTM and a residual RNN on a memory task, trained live;
the gradient across time beside the gradient across depth; the LSTM's gates and memory.

Training runs in the engine (ui.live, run kind "sequence"). The curves redraw live; the
gradient and memory figures measure the nets' current weights (handle.models()) whenever
the run is paused or finished, and say at which step.
"""

from __future__ import annotations

import streamlit as st

from resviz import sequence as seq
from resviz.experiments.sequence import PROBE_BATCH, train_spec
from resviz.figures import sequence as sfigs
from resviz.i18n import _
from resviz.spec import SpecError
from ui import charts, layout, live, params

# The page's default task and nets live in one place: resviz.sequence.DEFAULTS.

KEY = "sq_live"

layout.header(_("The LSTM analogy: depth is time"), _(
    "An RNN unrolled over T steps is a T-layer deep net that shares its weights. The task: "
    "remember the first of T symbols until the end (chance = 1 in 4). A **vanilla RNN** "
    "multiplies the gradient by a Jacobian at every step, so what reaches the first steps "
    "vanishes — exactly like a deep plain net. An **LSTM** carries its cell state "
    "c_t = f_t·c_{t−1} + i_t·g_t, and a **residual RNN** h_t = h_{t−1} + f(x_t, h_{t−1}) "
    "carries h: the identity shortcut, across time instead of depth."))
st.caption(_("What to look for: at the defaults (T = 100, 800 steps) the vanilla RNN stays at "
             "chance on every seed while the LSTM and the residual RNN learn. Its gradient across "
             "100 steps is tiny, not zero: given many more steps it can start to learn too, much "
             "later."))

with st.sidebar.expander(_("Task and nets"), expanded=True):
    length = params.slider("sq_T", _("Sequence length T"), 2, 100, seq.DEFAULTS.length)
    hidden = params.select_slider("sq_hidden", _("Hidden units"), [8, 16, 32, 64],
                                  seq.DEFAULTS.hidden)
    forget_bias = params.slider("sq_fb", _("LSTM forget-gate bias at init"), 0.0, 4.0,
                                seq.DEFAULTS.forget_bias, 0.5,
                                help=_("sigmoid(b) is the forget gate's starting value: 2 "
                                       "gives 0.88, so the memory starts mostly kept."))
with st.sidebar.expander(_("Training"), expanded=True):
    lr = params.select_slider("sq_lr", _("Learning rate"), [1e-3, 3e-3, 0.01, 0.03],
                              seq.DEFAULTS.lr)
    clip = params.toggle("sq_clip", _("Clip each net's gradient norm at {c:g}").format(
        c=seq.DEFAULTS.clip_norm), True, help=_(
        "The usual recipe for recurrent nets (Pascanu et al. 2013): one exploding step can undo "
        "what an LSTM has learned. Measured at the defaults: unclipped, the LSTM learned on some "
        "seeds and not on others; clipped, on every seed tried."))
    max_steps = params.slider("sq_steps", _("Stop after steps"), 50, 2000, seq.DEFAULTS.steps, 50)
    seed = params.slider("sq_seed", _("Seed"), 0, 99, 0)

LABELS = {"rnn": _("vanilla RNN"), "lstm": _("LSTM"), "residual": _("residual RNN")}
DEPTH_LABELS = {"plain": _("plain deep net"), "residual": _("residual deep net")}


@st.cache_data(max_entries=32, show_spinner=False)
def depth_profile(depth: int, width: int, seed: int) -> dict[str, list[float]]:
    return seq.depth_profile(depth, width, seed)


@st.cache_resource(max_entries=16, show_spinner=False)
def task(length: int, n_symbols: int, n_samples: int, data_seed: int):
    """The task's data (read only, shared), the same the engine's worker trains on."""
    return seq.make_task(length, n_symbols, n_samples, data_seed)


def measured(run: live.Live, snap: live.Snapshot) -> dict:
    """The nets as of the newest snapshot; measured again when the run is not running."""
    m = run.extra.get("measured")
    if m is None or (snap.state != "running" and m["version"] != snap.version):
        m = {"version": snap.version, "step": snap.step, "models": run.handle.models()}
        run.extra["measured"] = m
    return m


def page() -> None:
    try:
        specs = seq.trio(length, hidden, forget_bias=forget_bias, seed=seed)
        tspec = train_spec(max_steps, lr, seed=seed,
                           clip_norm=seq.DEFAULTS.clip_norm if clip else None).replace(eval_every=10)
    except SpecError as e:
        st.error(str(e))
        return
    config = live.RunConfig(kind="sequence", specs=tuple(specs.items()), train=tspec,
                            device=str(layout.device()), boundary=0)
    run = live.get(KEY, config)
    live.controls(run, "sq")
    live.summary_fragment(run, LABELS, "sq_curves", lambda s: sfigs.curves_spec(s.curves, LABELS),
                          key="sq_live_fragment")
    snap = run.snap
    if snap is None or run.state == "lost":
        return
    first = next(iter(specs.values()))
    data = task(first.length, first.n_symbols, tspec.n_samples, tspec.data_seed)
    x, y = data.x_test[:PROBE_BATCH], data.y_test[:PROBE_BATCH]
    if "init" not in run.extra:  # the same nets as built by the run: same specs, same seed
        run.extra["init"] = {k: seq.state_grad_norms(seq.build_seq(s), x, y)
                             for k, s in specs.items()}
    m = measured(run, snap)
    if run.state == "running":
        st.info(_("The figures below show the nets at step {step}; they are measured again "
                  "when training pauses or ends.").format(step=m["step"]), icon=":material/schedule:")
    healthy = {k for k in specs if snap.metrics.get(k, {}).get("diverged_at") is None}
    t_grads, t_memory = st.tabs([_("Gradient across time and depth"), _("The LSTM's memory")])
    with t_grads:
        now = {k: seq.state_grad_norms(mod, x, y) for k, mod in m["models"].items() if k in healthy}
        depth = depth_profile(seq.matching_depth(length), hidden, seed)
        charts.show(sfigs.time_and_depth(now, depth, LABELS, DEPTH_LABELS, run.extra["init"]),
                    "sq_grads")
        st.caption(_("Left: the gradient of the loss with respect to the hidden state h_t, on a "
                     "batch of test sequences (solid: at step {step}, dotted: at initialisation). "
                     "Right: the gradient with respect to each block's output in an untrained "
                     "plain and residual net with as many weight layers as the RNN has steps "
                     "(T/2 blocks of two layers; tanh, no normalisation): the same picture. The "
                     "residual RNN's gradient does not vanish; at initialisation it even grows "
                     "toward the first steps, because the same weights amplify it at every step. "
                     "The LSTM's forget gate (below 1) keeps its carried memory in check.").format(
            step=m["step"]))
    with t_memory:
        if "lstm" not in healthy:
            st.warning(_("The LSTM diverged; lower the learning rate and press Reset."))
            return
        example = params.slider("sq_ex", _("Sequence shown in the LSTM maps (test sequence)"),
                                0, 99, 0)
        xs = data.x_test[min(example, len(data.x_test) - 1)][None]
        mem = seq.lstm_memory(m["models"]["lstm"], xs)
        mem["forget_mean"] = seq.lstm_memory(m["models"]["lstm"], x)["forget_mean"]
        sym = int(xs[0, 0, :-1].argmax())
        st.markdown(_("The sequence shown starts with symbol **{s}**; the nets must name it "
                      "after {n} more steps (measured at step {step}).").format(
            s=sym, n=length - 1, step=m["step"]))
        charts.show(sfigs.forget_gates(mem), "sq_forget")
        charts.show(sfigs.cell_state(mem), "sq_cell")


page()
