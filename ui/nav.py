"""The pages, in the order of the story. app.py builds st.navigation from this list."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    path: str
    title: str  # English; translated when shown
    icon: str
    url: str


PAGES: tuple[PageInfo, ...] = (
    PageInfo("pages/home.py", "Home: the story", "🏠", "home"),
    PageInfo("pages/playground.py", "Playground", "🎛️", "playground"),
    PageInfo("pages/architecture.py", "Architecture", "🧱", "architecture"),
    PageInfo("pages/degradation.py", "Degradation", "📉", "degradation"),
    PageInfo("pages/gradient_flow.py", "Gradient flow", "🌊", "gradients"),
    PageInfo("pages/ensemble.py", "Ensemble of paths", "🔀", "paths"),
    PageInfo("pages/lesion.py", "Lesion study", "✂️", "lesion"),
    PageInfo("pages/highway.py", "Highway networks", "🚦", "highway"),
    PageInfo("pages/lstm.py", "LSTM analogy", "⏳", "lstm"),
    PageInfo("pages/landscape.py", "Loss landscape", "🏔️", "landscape"),
)


def by_url(url: str) -> PageInfo:
    return next(p for p in PAGES if p.url == url)
