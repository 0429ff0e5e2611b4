"""Colours and helpers every figure shares, so plain/residual read the same on every page."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

FAMILY_COLORS = {"plain": "#d62728", "residual": "#1f77b4", "highway": "#2ca02c",
                 "gated": "#9467bd", "A": "#1f77b4", "B": "#d62728"}
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]


def color(name: str, i: int = 0) -> str:
    return FAMILY_COLORS.get(name, PALETTE[i % len(PALETTE)])


def base_layout(fig: go.Figure, title: str, height: int = 360, **kw: object) -> go.Figure:
    layout = dict(title=dict(text=title, x=0.02), height=height, template="plotly_white",
                  margin=dict(l=50, r=20, t=50, b=40), legend=dict(orientation="h", y=-0.2))
    fig.update_layout(**{**layout, **kw})
    return fig


def log10_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Colour-bar ticks for log10-valued heatmaps (plotly has no log colour scale)."""
    exps = list(range(int(np.floor(lo)), int(np.ceil(hi)) + 1))
    return [float(e) for e in exps], [f"1e{e}" for e in exps]


def safe_log10(values: np.ndarray, floor: float = 1e-12) -> np.ndarray:
    return np.log10(np.maximum(np.asarray(values, dtype=float), floor))
