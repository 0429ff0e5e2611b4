"""The shared sidebar (language, presenter mode, device, copy link) and page headers."""

from __future__ import annotations

import streamlit as st
import torch

from resviz import store
from resviz.device import resolve_device
from resviz.i18n import LANGUAGES, _, set_language
from ui import params

PRESENTER_CSS = """
<style>
html, body, [class*="css"], .stMarkdown p { font-size: 1.35rem !important; }
h1 { font-size: 3rem !important; } h2 { font-size: 2.3rem !important; }
</style>
"""


def presenter_on() -> bool:
    return bool(st.session_state.get("presenter", False))


def sidebar_state() -> str:
    """Presenter mode starts with the sidebar collapsed (also on a link with ?presenter=1)."""
    on = st.session_state.get("presenter")
    if on is None:
        on = str(st.query_params.get("presenter", "")).lower() in ("1", "true", "on", "yes")
    return "collapsed" if on else "auto"


def language_from_url() -> str:
    """Apply ?lang= before anything is drawn, so the very first run is translated."""
    params.end_notices()
    lang = st.session_state.get("lang") or st.session_state.get("_keep_lang")
    if lang is None:
        raw = st.query_params.get("lang", "en")
        lang = raw if raw in LANGUAGES else "en"
    return set_language(lang)


def sidebar() -> None:
    """Controls every page shares. Called once per run from app.py."""
    with st.sidebar:
        lang = params.select("lang", "Language / 语言", list(LANGUAGES), "en",
                             fmt=LANGUAGES.get)
        set_language(lang)
        params.toggle("presenter", _("Presenter mode (large type)"), False)
        st.radio(_("Figure download format"), ["png", "svg"], key="export_format",
                 horizontal=True, help=_("The camera button on each chart saves it in this format."))
        choices = ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        params.select("device", _("Compute device"), choices, "auto",
                      help=_("auto: CPU for one small net, the GPU (if any) for batched work."))
        with st.popover(_("Copy link to this view")):
            st.caption(_("This link opens exactly these settings:"))
            st.code(current_url(), language=None)
        for notice in store.notices():  # a damaged results store was repaired, and so on
            st.warning(notice, icon=":material/warning:")
    if presenter_on():
        st.html(PRESENTER_CSS)


def device(batched: bool = False) -> torch.device:
    """The session's device choice, resolved for this kind of work."""
    return resolve_device(st.session_state.get("device"), batched=batched)


def current_url() -> str:
    base = str(st.context.url or "").split("?")[0]
    query = "&".join(f"{k}={v}" for k, v in st.query_params.to_dict().items())
    return base + ("?" + query if query else "")


def header(title: str, intro: str) -> None:
    """Page title and a short explanation; shows ignored-URL notices right below."""
    st.title(title)
    st.markdown(intro)
    params.show_notices()
