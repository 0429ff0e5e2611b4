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
    PageInfo("pages/home.py", "Home: the story", ":material/home:", "home"),
    PageInfo("pages/playground.py", "Playground", ":material/tune:", "playground"),
    PageInfo("pages/architecture.py", "Architecture", ":material/account_tree:", "architecture"),
    PageInfo("pages/degradation.py", "Degradation", ":material/trending_down:", "degradation"),
    PageInfo("pages/gradient_flow.py", "Gradient flow", ":material/waves:", "gradients"),
    PageInfo("pages/ensemble.py", "Ensemble of paths", ":material/call_split:", "paths"),
    PageInfo("pages/lesion.py", "Lesion study", ":material/content_cut:", "lesion"),
    PageInfo("pages/highway.py", "Highway networks", ":material/traffic:", "highway"),
    PageInfo("pages/lstm.py", "LSTM analogy", ":material/hourglass_top:", "lstm"),
    PageInfo("pages/landscape.py", "Loss landscape", ":material/landscape:", "landscape"),
)


def by_url(url: str) -> PageInfo:
    return next(p for p in PAGES if p.url == url)
