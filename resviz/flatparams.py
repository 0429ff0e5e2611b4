"""Parameters laid end to end in one buffer, so one optimiser step is a handful of calls.

On the CPU, torch's `foreach` optimisers loop over their tensors one by one. The live
pair (two stacked 20-block nets: 164 tensors) spent 3.1 ms of its 15 ms step in Adam, and
1.8 ms gathering per-block gradient norms tensor by tensor. With every parameter a view
into one flat buffer and every gradient copied into one flat gradient (a single `cat`),
Adam runs its ~14 elementwise ops once over ~90k numbers (0.2 ms), and the per-(model,
block) gradient norms are one `index_add_` over the squared flat gradient.

The maths is unchanged: Adam and SGD are elementwise, so one update over the buffer is
the same update of each tensor. Only use this where every parameter gets a gradient on
every step (a tensor with no gradient would be updated as if its gradient were zero,
whereas torch skips it); resviz.batched.StackedNet is such a model.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


class FlatParams:
    """`params` (leaf tensors) rebound as views into `flat`; gradients gathered into
    `flat.grad`, and their L2 norms taken per group of numbers by `group_norms`."""

    def __init__(self, params: Sequence[torch.Tensor], ids: Sequence[torch.Tensor],
                 n_groups: int) -> None:
        """ids[k]: the group of each number of params[k], a long tensor that broadcasts to
        its shape (a 0-d tensor puts the whole tensor in one group); groups run 0..n_groups-1."""
        p0 = params[0]
        self.params = list(params)
        self.flat = torch.empty(sum(p.numel() for p in params), dtype=p0.dtype, device=p0.device)
        off, flat_ids = 0, []
        with torch.no_grad():
            for p, g in zip(self.params, ids):
                n = p.numel()
                view = self.flat[off:off + n].view_as(p)
                view.copy_(p)
                p.data = view  # the tensor now lives in the buffer; autograd still sees a leaf
                flat_ids.append(g.to(p0.device).expand(p.shape).reshape(-1))
                off += n
        self.grad = torch.zeros_like(self.flat)  # flat.grad after gather_grads
        self.ids = torch.cat(flat_ids)
        self.n_groups = n_groups

    def split(self, buf: torch.Tensor) -> list[torch.Tensor]:
        """A buffer laid out as `flat` (an optimiser's moments), as views shaped like params."""
        return [c.view_as(p) for c, p in zip(buf.split([p.numel() for p in self.params]),
                                             self.params)]

    def gather_grads(self) -> None:
        """Move every parameter's gradient into flat.grad (one call); a missing one as 0."""
        grads = [p.grad.reshape(-1) if p.grad is not None else torch.zeros_like(p).reshape(-1)
                 for p in self.params]
        torch.cat(grads, out=self.grad)
        for p in self.params:  # the optimiser only knows `flat`: drop these here
            p.grad = None
        self.flat.grad = self.grad  # again: the optimiser's zero_grad(set_to_none) drops it

    def group_norms(self) -> torch.Tensor:
        """L2 norm of each group's gradient numbers, (n_groups,)."""
        g = self.grad
        sq = torch.zeros(self.n_groups, dtype=g.dtype, device=g.device)
        return sq.index_add_(0, self.ids, g * g).sqrt()
