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
    PageInfo("views/home.py", "Home: the story", ":material/home:", "home"),
    PageInfo("views/playground.py", "Playground", ":material/tune:", "playground"),
    PageInfo("views/architecture.py", "Architecture", ":material/account_tree:", "architecture"),
    PageInfo("views/degradation.py", "Degradation", ":material/trending_down:", "degradation"),
    PageInfo("views/gradient_flow.py", "Gradient flow", ":material/waves:", "gradients"),
    PageInfo("views/ensemble.py", "Ensemble of paths", ":material/call_split:", "paths"),
    PageInfo("views/lesion.py", "Lesion study", ":material/content_cut:", "lesion"),
    PageInfo("views/highway.py", "Highway networks", ":material/traffic:", "highway"),
    PageInfo("views/lstm.py", "LSTM analogy", ":material/hourglass_top:", "lstm"),
    PageInfo("views/landscape.py", "Loss landscape", ":material/landscape:", "landscape"),
)


def by_url(url: str) -> PageInfo:
    return next(p for p in PAGES if p.url == url)
