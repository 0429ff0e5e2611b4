"""One place for the named choices every layer loops over: activations and unit orderings.

Specs validate against these registries, blocks and the batched trainer take their functions
from them, and pages, probes, the CLI and figures list their keys: adding an activation or an
ordering here is the only edit (a residual block must then also know how to compute a new
ordering: tests/test_registry.py checks that it does). Labels are English source strings
marked for translation with N_ and translated where they are shown, with `_`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def N_(text: str) -> str:
    """Mark a constant for translation; `_()` translates it where it is shown."""
    return text


@dataclass(frozen=True)
class Activation:
    """A nonlinearity as a module (for nn.Sequential and blocks) and as a function (for the
    stacked tensors of resviz.batched): the same maths either way."""

    name: str
    label: str
    module: Callable[[], nn.Module]
    fn: Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Ordering:
    """A residual unit ordering of He et al. 2016 (Fig. 4, Table 2) and its ResNet-110
    CIFAR-10 test error (%). How a block computes it lives in resviz.blocks.ResidualBlock."""

    name: str
    label: str
    formula: str
    paper_error: float


ACTIVATIONS: dict[str, Activation] = {a.name: a for a in (
    Activation("relu", N_("ReLU"), nn.ReLU, F.relu),
    Activation("tanh", N_("tanh"), nn.Tanh, torch.tanh),
    Activation("gelu", N_("GELU"), nn.GELU, F.gelu),
)}

ORDERINGS: dict[str, Ordering] = {o.name: o for o in (
    Ordering("original", N_("Original (post-activation)"),
             "y = relu(x + BN(W2 relu(BN(W1 x))))", 6.61),
    Ordering("bn_after_add", N_("BN after addition"),
             "y = relu(BN(x + W2 relu(BN(W1 x))))", 8.17),
    Ordering("relu_before_add", N_("ReLU before addition"),
             "y = x + relu(BN(W2 relu(BN(W1 x))))", 7.84),
    Ordering("relu_preact", N_("ReLU-only pre-activation"),
             "y = x + BN(W2 relu(BN(W1 relu(x))))", 6.71),
    Ordering("full_preact", N_("Full pre-activation"),
             "y = x + W2 relu(BN(W1 relu(BN(x))))", 6.37),
)}

PAPER_ORDERING_ERROR: dict[str, float] = {k: o.paper_error for k, o in ORDERINGS.items()}
