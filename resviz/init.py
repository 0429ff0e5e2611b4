"""Weight initialisation schemes, one registry, drawn from a generator seeded by the spec.

Why it matters: PyTorch's default Linear init draws U(-1/sqrt(fan_in), 1/sqrt(fan_in)), a
variance of 1/(3 fan_in), a third of what keeps a ReLU net's signal alive. By itself it makes
a deep plain net's gradients vanish. He et al. (2015, 2016) use He (Kaiming) init,
N(0, 2/fan_in), and with it plain nets train with healthy gradients and still degrade.

Every draw takes an explicit torch.Generator, never the global one, so building models in
several threads at once gives exactly the single-thread weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

import torch
from torch import nn


def N_(text: str) -> str:
    """Mark a label for the translation catalogue (pages translate it with `_()` when shown)."""
    return text


WeightInit = Callable[[torch.Tensor, torch.Generator], None]
M = TypeVar("M", bound=nn.Module)


def _fan_in(w: torch.Tensor) -> int:
    return w.shape[1] * (w[0][0].numel() if w.dim() > 2 else 1)


def he(w: torch.Tensor, gen: torch.Generator) -> None:
    """He et al. 2015: N(0, 2 / fan_in), gain sqrt(2) for ReLU."""
    nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu", generator=gen)


def pytorch_default(w: torch.Tensor, gen: torch.Generator) -> None:
    """nn.Linear / nn.Conv2d's own reset: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) = kaiming_uniform(a=sqrt 5)."""
    nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=gen)


def orthogonal(w: torch.Tensor, gen: torch.Generator) -> None:
    """Saxe et al. 2014: a random orthogonal matrix scaled by the ReLU gain sqrt(2)."""
    nn.init.orthogonal_(w, gain=math.sqrt(2), generator=gen)


# name -> (weight init, biases drawn like PyTorch's default (True) or zero (False), label)
INITIALISERS: dict[str, tuple[WeightInit, bool, str]] = {
    "he": (he, False, N_("He (Kaiming) normal, the papers' init")),
    "pytorch": (pytorch_default, True, N_("PyTorch default (uniform, 1/3 of He's variance)")),
    "orthogonal": (orthogonal, False, N_("orthogonal, gain sqrt 2")),
}


def initialise(model: nn.Module, scheme: str, gen: torch.Generator) -> None:
    """(Re)initialise every weight layer of `model` in module order; norms to (1, 0), stats reset.

    Modules with a `reset_special()` method (gate biases of highway and gated blocks) apply
    their own constants afterwards.
    """
    weight_init, bias_uniform, _label = INITIALISERS[scheme]
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                weight_init(m.weight, gen)
                if m.bias is not None:
                    if bias_uniform:
                        bound = 1 / math.sqrt(_fan_in(m.weight))
                        m.bias.uniform_(-bound, bound, generator=gen)
                    else:
                        m.bias.zero_()
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.reset_parameters()
        for m in model.modules():
            special = getattr(m, "reset_special", None)
            if callable(special):
                special()


def materialise(make: Callable[[], M], scheme: str, gen: torch.Generator) -> M:
    """Construct with `make` on the meta device (no draws at all), give it CPU storage, and
    draw every weight from `gen`.

    PyTorch's layers draw their default init from the global generator as they are made;
    here nothing is drawn until `initialise`, from the generator given. Modules with a
    `reset_buffers()` method put their own buffers' starting values back.
    """
    with torch.device("meta"):
        module = make()
    module = module.to_empty(device="cpu")
    for m in module.modules():
        reset = getattr(m, "reset_buffers", None)
        if callable(reset):
            reset()
    initialise(module, scheme, gen)
    return module
