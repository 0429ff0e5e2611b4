"""Where to compute: `--device`, then RESVIZ_DEVICE, then auto.

A single tiny net is launch-bound on a GPU (an H100 trains a 32-block width-32 MLP at
about the speed of 2 CPU cores), so "auto" picks CUDA only for batched work.
"""

from __future__ import annotations

import os

import torch


def resolve_device(pref: str | None = None, batched: bool = False) -> torch.device:
    pref = (pref or os.environ.get("RESVIZ_DEVICE") or "auto").lower()
    if pref == "auto":
        return torch.device("cuda" if batched and torch.cuda.is_available() else "cpu")
    if pref.startswith("cuda") and not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device(pref)


def limit_threads(n: int | None = None) -> int:
    """Cap torch's threads so one user's training cannot take every core from the rest."""
    n = n or int(os.environ.get("RESVIZ_THREADS", "1"))
    torch.set_num_threads(n)
    return n
