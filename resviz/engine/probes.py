"""Snapshot probes: measurements the worker computes on the current weights for a page.

A page names the probes it needs in RunConfig.probes; the worker runs each one on its
cadence (`every` seconds while training, and always for the final and paused pictures)
and puts the plain-data result in Snapshot.probes[name]. Each probe wraps a function of
resviz.probes, so the numbers are the ones the page would compute itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

LESION_POINTS = 300  # test points for a lesion sweep: depth + 1 evaluations each time
PROBE_POINTS = 256   # test points for gradient and signal probes


@dataclass(frozen=True)
class ProbeView:
    """What a probe may read: the current models (do not train them) and the test set."""

    models: dict[str, nn.Module]
    x_test: torch.Tensor
    y_test: torch.Tensor
    diverged: dict[str, int | None]


@dataclass(frozen=True)
class Probe:
    name: str
    fn: Callable[[ProbeView], Any]
    every: float  # seconds between two computations while training
    doc: str


def _gated(view: ProbeView) -> dict[str, nn.Module]:
    from resviz.probes.gates import gated_blocks

    return {k: m for k, m in view.models.items() if view.diverged.get(k) is None
            and getattr(m, "blocks", None) is not None
            and len(gated_blocks(m)) == len(m.blocks)}  # type: ignore[arg-type]


def _gates(view: ProbeView) -> dict[str, dict]:
    """Srivastava et al.'s Figure 2 maps (example 0) and the mean gate per block."""
    from resviz.probes.gates import gate_maps

    return {k: gate_maps(m, view.x_test) for k, m in _gated(view).items()}  # type: ignore[arg-type]


def _gate_lesion(view: ProbeView) -> dict[str, dict]:
    """Each block's gates shut alone: accuracy per block, intact accuracy, idle blocks."""
    from resviz.probes.gates import lesion_each

    x, y = view.x_test[:LESION_POINTS], view.y_test[:LESION_POINTS]
    return {k: lesion_each(m, x, y) for k, m in _gated(view).items()}  # type: ignore[arg-type]


OPENNESS_GRID = [i / 10 for i in range(11)]


def _openness_sweep(view: ProbeView) -> dict[str, dict]:
    """Accuracy of each highway net with its gates pushed open by a = 0, 0.1, .., 1 after
    training (no retraining): how much the net relies on the gates it learned."""
    from resviz.blocks import HighwayBlock
    from resviz.probes.gates import openness_sweep

    x, y = view.x_test[:LESION_POINTS], view.y_test[:LESION_POINTS]
    return {k: {"openness": OPENNESS_GRID, "accuracy": openness_sweep(m, x, y, OPENNESS_GRID)}
            for k, m in _gated(view).items()
            if all(isinstance(b, HighwayBlock) for b in m.blocks)}  # type: ignore[union-attr]


def _healthy(view: ProbeView, cls: type) -> dict[str, nn.Module]:
    return {k: m for k, m in view.models.items()
            if view.diverged.get(k) is None and isinstance(m, cls)}


def _act_grads(view: ProbeView) -> dict[str, list[float]]:
    """||dL/dh_l|| for every block output l (test batch, eval mode): the gradient that
    reaches each depth, measured the same way as across time in resviz.sequence."""
    from resviz.models import ResVizNet
    from resviz.sequence import depth_grad_norms

    x, y = view.x_test[:PROBE_POINTS], view.y_test[:PROBE_POINTS]
    return {k: depth_grad_norms(m, x, y) for k, m in _healthy(view, ResVizNet).items()}


def _forward_std(view: ProbeView) -> dict[str, list[float]]:
    """Standard deviation of every block's output: the forward signal through depth."""
    from resviz.models import ResVizNet
    from resviz.probes.gradients import forward_std

    x = view.x_test[:PROBE_POINTS]
    return {k: forward_std(m, x) for k, m in _healthy(view, ResVizNet).items()}


def _state_grads(view: ProbeView) -> dict[str, list[float]]:
    """||dL/dh_t|| for t = 1..T of every recurrent net (the LSTM page's left panel)."""
    from resviz.experiments.sequence import PROBE_BATCH
    from resviz.sequence import SeqNet, state_grad_norms

    x, y = view.x_test[:PROBE_BATCH], view.y_test[:PROBE_BATCH]
    return {k: state_grad_norms(m, x, y) for k, m in _healthy(view, SeqNet).items()}


def _lstm_memory(view: ProbeView) -> dict[str, dict]:
    """Forget gates and cell state of the LSTM: maps of test sequence 0, and the mean
    forget gate per step over the probe batch."""
    from resviz.experiments.sequence import PROBE_BATCH
    from resviz.sequence import LSTM, lstm_memory

    out = {}
    for k, m in _healthy(view, LSTM).items():
        mem = lstm_memory(m, view.x_test[:1])  # type: ignore[arg-type]
        mem["forget_mean"] = lstm_memory(m, view.x_test[:PROBE_BATCH])["forget_mean"]  # type: ignore[arg-type]
        out[k] = mem
    return out


PROBES: dict[str, Probe] = {
    "openness_sweep": Probe("openness_sweep", _openness_sweep, 2.0,
                            "accuracy with the gates pushed open afterwards (highway)"),
    "act_grads": Probe("act_grads", _act_grads, 1.0,
                       "gradient norm at every block's output (ResVizNet)"),
    "forward_std": Probe("forward_std", _forward_std, 1.0,
                         "std of every block's output (ResVizNet)"),
    "state_grads": Probe("state_grads", _state_grads, 1.0,
                         "gradient norm at every hidden state h_t (sequence nets)"),
    "lstm_memory": Probe("lstm_memory", _lstm_memory, 1.0,
                         "LSTM forget gates and cell state (sequence nets)"),
    "gates": Probe("gates", _gates, 1.0, "gate maps and mean gate per block (highway/gated)"),
    "gate_lesion": Probe("gate_lesion", _gate_lesion, 2.0,
                         "accuracy with each block's gates shut (highway/gated)"),
}


def check_probes(names: tuple[str, ...]) -> None:
    unknown = [n for n in names if n not in PROBES]
    if unknown:
        raise ValueError(f"unknown probe(s) {', '.join(unknown)}; known: {', '.join(PROBES)}")
