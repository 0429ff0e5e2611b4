"""The residual stream read block by block: the trained head applied to every block's output.

A "logit lens" on a residual net. With identity skips x_n = x_0 + Σ f_i, every x_i lives in
the same space as the last one, so the classifier head trained on x_n can read any x_i: the
answer forms block by block (iterative refinement, Greff et al. 2017; Jastrzebski et al. 2018).
A plain net re-encodes its signal in every layer; the head reads its intermediate x_i as
noise. Readout i = 0 is the stem's output (no block yet), readout n is the model's output.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from resviz.models import ResVizNet


@torch.no_grad()
def readout_logits(model: ResVizNet, x: torch.Tensor) -> list[torch.Tensor]:
    """head(x_i) for i = 0 (stem output) .. n (last block's output), eval mode; n + 1 tensors."""
    was = model.training
    model.eval()
    try:
        return [model.head(h) for h in model.features(x)]
    finally:
        model.train(was)


def readout_accuracy(model: ResVizNet, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """Accuracy of the head read off after each block (index 0 = before any block)."""
    return [float((z.argmax(1) == y).float().mean()) for z in readout_logits(model, x)]


def grid(bounds: Sequence[float], resolution: int) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """A square grid over (x0, x1, y0, y1): axis values and the (res², 2) points, row = y."""
    x0, x1, y0, y1 = bounds
    gx, gy = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    xx, yy = np.meshgrid(gx, gy)
    pts = torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=torch.float32)
    return gx, gy, pts


def bounds_of(x: torch.Tensor, margin: float = 0.25) -> list[float]:
    """The data's box, widened by `margin` of its size on every side."""
    lo, hi = x.min(0).values.tolist(), x.max(0).values.tolist()
    m = [margin * (b - a) for a, b in zip(lo, hi)]
    return [lo[0] - m[0], hi[0] + m[0], lo[1] - m[1], hi[1] + m[1]]


def readout_maps(model: ResVizNet, bounds: Sequence[float], resolution: int = 40) -> dict:
    """P(class 1) read off after every block over a grid of 2-D inputs: maps[i][row][col].

    For 2-D inputs only (the toy sets): the decision boundary after each block.
    """
    gx, gy, pts = grid(bounds, resolution)
    probs = [torch.softmax(z, 1)[:, 1 if z.shape[1] > 1 else 0] for z in readout_logits(model, pts)]
    maps = [p.view(resolution, resolution).tolist() for p in probs]
    return {"x": gx.tolist(), "y": gy.tolist(), "maps": maps}
