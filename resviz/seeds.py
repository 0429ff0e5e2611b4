"""Seeds derived from a spec's or run's seed, one independent stream per purpose.

Every random draw in ResViz comes from a torch.Generator (or numpy Generator) made here or
seeded by a spec, never from the global generator: Streamlit runs each session in its own
thread, and two threads drawing from one global stream interleave, so the same spec would
give different numbers depending on who else was working. A purpose label ("stochastic
depth", "lesion", ...) keeps two streams of the same seed from being the same numbers.
"""

from __future__ import annotations

import hashlib

import torch

MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed takes a signed 64-bit seed


def derive(seed: int, purpose: str) -> int:
    """A seed in [0, 2^63) for `purpose`, fixed by (seed, purpose) and independent of others."""
    digest = hashlib.sha256(f"{int(seed)}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & MAX_SEED


def generator(seed: int, purpose: str | None = None) -> torch.Generator:
    """A CPU generator seeded by `seed` (or by derive(seed, purpose) when a purpose is given)."""
    return torch.Generator().manual_seed(seed if purpose is None else derive(seed, purpose))
