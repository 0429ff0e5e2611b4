"""Parameters laid end to end in one buffer, so one optimiser step is a handful of calls.

On the CPU, torch's `foreach` optimisers loop over their tensors one by one. The live
pair (two stacked 20-block nets: 164 tensors) spent 3.1 ms of its 15 ms step in Adam, and
1.8 ms gathering per-block gradient norms tensor by tensor. With every parameter a view
into one flat buffer, and every gradient a view into one flat gradient (autograd adds each
new gradient into the existing .grad in place), Adam runs its ~14 elementwise ops once
over ~90k numbers (0.2 ms), and the per-(model, block) gradient norms are one gather and
one (groups, n) sum over the flat gradient.

The maths is unchanged: Adam and SGD are elementwise, so one update over the buffer is
the same update of each tensor. Only use this where every parameter gets a gradient on
every step (a tensor with no gradient would be updated as if its gradient were zero,
whereas torch skips it); resviz.batched.StackedNet is such a model.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


class FlatParams:
    """`params` (leaf tensors) rebound as views into `flat`, their .grad as views into
    `grad` (= flat.grad); `group_norms` takes the gradient's L2 norm per group of numbers.

    Use: `zero_grad()`, backward, `optimizer.step()` with an optimiser over [flat]."""

    def __init__(self, params: Sequence[torch.Tensor], ids: Sequence[torch.Tensor],
                 n_groups: int) -> None:
        """ids[k]: the group (0..n_groups-1) of each number of params[k], a long tensor that
        broadcasts to its shape (a 0-d tensor puts the whole tensor in one group; -1 in none).
        Every group must hold equally many numbers (a block of each stacked model does)."""
        p0 = params[0]
        self.params = list(params)
        self.flat = torch.empty(sum(p.numel() for p in params), dtype=p0.dtype, device=p0.device)
        self.grad = torch.zeros_like(self.flat)
        off, flat_ids = 0, []
        with torch.no_grad():
            for p, g in zip(self.params, ids):
                n = p.numel()
                view = self.flat[off:off + n].view_as(p)
                view.copy_(p)
                p.data = view  # the tensor now lives in the buffer; autograd still sees a leaf
                p.grad = self.grad[off:off + n].view_as(p)  # backward adds into it in place
                flat_ids.append(g.to(p0.device).expand(p.shape).reshape(-1))
                off += n
        self.flat.grad = self.grad
        ids_all = torch.cat(flat_ids)
        # the grouped numbers sorted by group: then the norms are a (groups, n) sum
        self._order = torch.nonzero(ids_all >= 0).view(-1)
        self._order = self._order[torch.argsort(ids_all[self._order], stable=True)]
        counts = torch.bincount(ids_all[self._order], minlength=n_groups)
        if len(counts) != n_groups or bool((counts != counts[0]).any()):
            raise ValueError("FlatParams groups must hold equally many numbers")
        self.n_groups = n_groups

    def __setstate__(self, state: dict) -> None:
        """Unpickled (torch.save / torch.load keep the params as views into `flat`): a
        tensor's .grad is not pickled, so point flat.grad and each param's .grad back into
        `grad` (a run moved to another worker trains on exactly as it would have)."""
        self.__dict__.update(state)
        self.flat.grad = self.grad
        for p, g in zip(self.params, self.split(self.grad)):
            p.grad = g

    def split(self, buf: torch.Tensor) -> list[torch.Tensor]:
        """A buffer laid out as `flat` (an optimiser's moments), as views shaped like params."""
        return [c.view_as(p) for c, p in zip(buf.split([p.numel() for p in self.params]),
                                             self.params)]

    def zero_grad(self) -> None:
        """Zero the flat gradient before a backward (one call), and hand it to the optimiser
        again (an optimiser's zero_grad(set_to_none=True) drops flat.grad)."""
        self.grad.zero_()
        self.flat.grad = self.grad

    def group_norms(self) -> torch.Tensor:
        """L2 norm of each group's gradient numbers, (n_groups,)."""
        return self.grad.index_select(0, self._order).pow(2).view(self.n_groups, -1).sum(1).sqrt()
