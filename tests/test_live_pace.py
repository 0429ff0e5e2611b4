"""The live pages' redraw pace (ui.live.pace): 1 s with a core per training run on this
server, slower in proportion beyond, never slower than MAX_PACE."""

from __future__ import annotations

import pytest

from ui import live


class _Busy:
    def __init__(self, n: int) -> None:
        self.n = n

    def running(self) -> int:
        return self.n


@pytest.mark.parametrize("runs,cores,want", [(0, 2, 1.0), (1, 2, 1.0), (2, 2, 1.0), (3, 2, 1.5),
                                             (5, 2, 2.5), (10, 2, 3.0), (100, 2, 3.0), (2, 1, 2.0)])
def test_pace_slows_in_proportion_to_runs_per_core(monkeypatch, runs, cores, want):
    monkeypatch.setattr(live, "executor", lambda: _Busy(runs))
    monkeypatch.setattr(live.os, "cpu_count", lambda: cores)
    assert live.pace() == pytest.approx(want)


def test_pace_never_fails(monkeypatch):
    def broken():
        raise RuntimeError("no engine")

    monkeypatch.setattr(live, "executor", broken)
    assert live.pace() == live.PACE
