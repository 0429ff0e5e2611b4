"""Shared test setup: one torch thread, a private result store, the app's path."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("RESVIZ_STORE", tempfile.mkdtemp(prefix="resviz-store-"))
os.environ.setdefault("RESVIZ_THREADS", "1")
torch.set_num_threads(1)


@pytest.fixture
def app_path() -> str:
    return str(ROOT / "app.py")


@pytest.fixture
def gangs_built(monkeypatch) -> list[int]:
    """The size of every resviz.batched.Gang built during the test, in order (a Gang is
    built once per set of trainers and reused, so this also shows reuse)."""
    from resviz import batched

    built: list[int] = []
    real = batched.Gang

    class Counted(real):  # type: ignore[misc, valid-type]
        def __init__(self, trainers):
            built.append(len(trainers))
            super().__init__(trainers)

    monkeypatch.setattr(batched, "Gang", Counted)
    return built
