"""Attribution with Captum: which blocks carry a decision, and which input pixels.

Block attribution is measured on each block's residual BRANCH (the module whose output is
the branch value f(x) that the block adds), never on the block's output: every block
output is a full cut of the network, so conductance summed over it equals f(x) - f(x0)
for every block alike and says nothing. In a plain net the branch is the whole block, so
each block's conductance is that full difference — every block carries the decision; in a
residual net the branches share it out. Models are put in eval mode (batch norm then uses
its running statistics, so one input's attribution does not depend on the others).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from captum.attr import IntegratedGradients, LayerConductance, LayerGradientXActivation
from torch import nn

from resviz.blocks import Block
from resviz.models import ResVizNet

METHODS = ("conductance", "grad_x_activation")


def branch_module(block: Block) -> nn.Module:
    """The module whose output is the block's residual branch (H(x) for highway/gated):
    the block says where (Block.branch_output)."""
    try:
        return block.branch_output
    except (AttributeError, NotImplementedError) as e:
        raise TypeError(f"no branch known for {type(block).__name__}") from e


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    was = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was)


def block_attribution(model: ResVizNet, x: torch.Tensor, target: int,
                      method: str = "conductance", n_steps: int = 32) -> list[float]:
    """Per block: attribution to its branch, summed over units and averaged over the inputs.

    conductance = Captum LayerConductance (integrated gradients through the branch, zero
    baseline input); grad_x_activation = gradient times branch output at the input itself.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}")
    out = []
    with eval_mode(model):
        for block in model.blocks:
            layer = branch_module(block)
            if method == "conductance":
                a = LayerConductance(model, layer).attribute(
                    x, baselines=torch.zeros_like(x), target=target, n_steps=n_steps)
            else:
                a = LayerGradientXActivation(model, layer).attribute(x, target=target)
            out.append(float(a.detach().reshape(len(x), -1).sum(1).mean()))
    return out


def output_difference(model: ResVizNet, x: torch.Tensor, target: int) -> float:
    """f_target(x) - f_target(0), averaged over the inputs: what completeness must add to."""
    with eval_mode(model), torch.no_grad():
        return float((model(x)[:, target] - model(torch.zeros_like(x))[:, target]).mean())


def input_attribution(model: ResVizNet, x: torch.Tensor, target: int,
                      n_steps: int = 64) -> tuple[torch.Tensor, float]:
    """IntegratedGradients map of the input (zero baseline) and Captum's completeness delta."""
    with eval_mode(model):
        attr, delta = IntegratedGradients(model).attribute(
            x, baselines=torch.zeros_like(x), target=target, n_steps=n_steps,
            return_convergence_delta=True)
    return attr.detach(), float(delta.abs().max())
