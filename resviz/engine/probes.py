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


PROBES: dict[str, Probe] = {
    "gates": Probe("gates", _gates, 0.5, "gate maps and mean gate per block (highway/gated)"),
    "gate_lesion": Probe("gate_lesion", _gate_lesion, 2.0,
                         "accuracy with each block's gates shut (highway/gated)"),
}


def check_probes(names: tuple[str, ...]) -> None:
    unknown = [n for n in names if n not in PROBES]
    if unknown:
        raise ValueError(f"unknown probe(s) {', '.join(unknown)}; known: {', '.join(PROBES)}")
