"""Where to compute: `--device`, then RESVIZ_DEVICE, then auto; how many threads.

A single tiny net is launch-bound on a GPU (an H100 trains a 32-block width-32 MLP at
about the speed of 2 CPU cores), so "auto" picks CUDA only for batched work.

Only cpu, cuda (or cuda:N) and auto are accepted: torch would take "mps" or "meta" and
fail later with an internal message. Asking for CUDA where there is none is an error
(`DeviceError`, a ValueError with a one-line message) unless the caller is lenient (the
app falls back to the CPU rather than break every page).
"""

from __future__ import annotations

import gc
import os
import re
import warnings

import torch

DEVICES = ("cpu", "cuda", "auto")
MAX_THREADS = 64


class DeviceError(ValueError):
    """A device or thread setting that cannot be used; the message names where it came from."""


def check_device(name: str, source: str = "--device", strict: bool = True) -> str:
    """The normalised device name, or DeviceError. strict: CUDA must be available."""
    pref = str(name).strip().lower()
    if pref not in DEVICES and not re.fullmatch(r"cuda:\d{1,2}", pref):
        raise DeviceError(f"{source} must be one of {', '.join(DEVICES)}; got {name!r}".strip())
    if pref.startswith("cuda"):
        if not torch.cuda.is_available():
            if strict:
                raise DeviceError(f"{source or 'the device'} asks for {pref} but no CUDA device is "
                                  "available; use cpu or auto")
            return pref
        n = torch.cuda.device_count()
        if ":" in pref and int(pref.split(":")[1]) >= n:
            raise DeviceError(f"{source or 'the device'} asks for {pref} but only {n} CUDA device(s) exist")
    return pref


def resolve_device(pref: str | None = None, batched: bool = False, strict: bool = False) -> torch.device:
    """The device to run on. Unknown names raise DeviceError; unavailable CUDA falls back to
    the CPU with a warning unless `strict` (the CLI checks strictly before any work)."""
    source = "--device" if pref else "RESVIZ_DEVICE"
    pref = check_device(pref or os.environ.get("RESVIZ_DEVICE") or "auto", source, strict)
    if pref == "auto":
        return torch.device("cuda" if batched and torch.cuda.is_available() else "cpu")
    if pref.startswith("cuda") and not torch.cuda.is_available():
        warnings.warn(f"{source} asks for CUDA but none is available; using the CPU", stacklevel=2)
        return torch.device("cpu")
    return torch.device(pref)


def max_threads() -> int:
    """Threads one process may ask for: twice the cores, at most 64."""
    return max(1, min(MAX_THREADS, 2 * (os.cpu_count() or 1)))


def check_threads(n: int | str | None, source: str = "--threads") -> int:
    """A thread count in 1..max_threads(), or DeviceError naming `source`."""
    hi = max_threads()
    try:
        value = int(str(n).strip())
    except ValueError:
        raise DeviceError(f"{source} must be a whole number from 1 to {hi}; got {n!r}") from None
    if not 1 <= value <= hi:
        raise DeviceError(f"{source} must be from 1 to {hi} (twice the cores, at most {MAX_THREADS}); "
                          f"got {value}")
    return value


def check_environment() -> None:
    """Check RESVIZ_DEVICE and RESVIZ_THREADS now, so a typo is one clear line before any work."""
    if os.environ.get("RESVIZ_DEVICE"):
        check_device(os.environ["RESVIZ_DEVICE"], "RESVIZ_DEVICE")
    if os.environ.get("RESVIZ_THREADS"):
        check_threads(os.environ["RESVIZ_THREADS"], "RESVIZ_THREADS")


def limit_threads(n: int | None = None) -> int:
    """Cap torch's threads so one user's training cannot take every core from the rest.

    n, else RESVIZ_THREADS, else 1; a bad value raises DeviceError naming where it came from.
    """
    if n is not None:
        n = check_threads(n, "--threads")
    elif os.environ.get("RESVIZ_THREADS"):
        n = check_threads(os.environ["RESVIZ_THREADS"], "RESVIZ_THREADS")
    else:
        n = 1
    torch.set_num_threads(n)
    return n


_frozen = False


def freeze_heap() -> bool:
    """Once per process: collect, then move every object alive now (torch's, plotly's and
    the app's import-time objects, which live as long as the process) out of the garbage
    collector's reach. Without this each full collection rescans them all: 0.2-0.25 s,
    measured in the server between a click on Start and its rerun, and in an engine worker
    inside a run's first step. Afterwards a collection scans only what runs allocate.
    Returns whether this call froze the heap."""
    global _frozen
    if _frozen:
        return False
    _frozen = True
    gc.collect()
    gc.freeze()
    return True
