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
