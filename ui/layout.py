"""The shared sidebar (language, presenter mode, device, copy link) and page headers."""

from __future__ import annotations

import zlib
from typing import Any
from urllib.parse import urlencode

import streamlit as st
import torch

from resviz import store
from resviz.device import resolve_device
from resviz.i18n import LANGUAGES, _, set_language
from ui import params

# Streamlit leaves about 6rem above the first element; the title moves up in every mode.
PAGE_CSS = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 3.5rem; }
[data-testid="stDataFrame"], [data-testid="stTable"] { max-width: 100%; overflow-x: auto; }
/* Streamlit leaves a loading skeleton under every chart and pill row it has drawn, pulsing
   for ever out of sight: 9 on the Playground, about 0.1 of a core per idle tab (measured in
   Chromium; a classroom's laptops pay it too). A skeleton still shows, without the pulse. */
[data-testid="stSkeleton"] { animation: none !important; }
</style>
"""
# Presenter mode: large prose, and no empty band above the title (charts scale in ui/charts).
PRESENTER_CSS = """
<style>
html, body, [class*="css"], .stMarkdown p, .stMarkdown li { font-size: 1.35rem !important; }
h1 { font-size: 2.6rem !important; padding-top: 0 !important; }
h2 { font-size: 2.1rem !important; }
[data-testid="stMainBlockContainer"] { padding-top: 4.5rem !important; }  /* under the top menu */
</style>
"""


def presenter_on() -> bool:
    return bool(st.session_state.get("presenter", False))


def _presenter_requested() -> bool:
    """Presenter mode before the toggle is drawn: the session's choice, else the link's."""
    on = st.session_state.get("presenter")
    if on is None:
        on = st.session_state.get(params.KEEP + "presenter")
    if on is None:
        on = str(st.query_params.get("presenter", "")).lower() in ("1", "true", "on", "yes")
    return bool(on)


def sidebar_state() -> str:
    """Presenter mode starts with the sidebar (settings) collapsed; the pages stay reachable
    in the menu on top (nav_position)."""
    return "collapsed" if _presenter_requested() else "auto"


def nav_position() -> str:
    """Presenter mode puts the page menu on top, so navigation stays in view with the sidebar
    collapsed; otherwise it is the first thing in the sidebar."""
    return "top" if _presenter_requested() else "sidebar"


def language_from_url() -> str:
    """Apply ?lang= before anything is drawn, so the very first run is translated."""
    params.end_notices()
    lang = st.session_state.get("lang") or st.session_state.get("_keep_lang")
    if lang is None:
        raw = st.query_params.get("lang", "en")
        lang = raw if raw in LANGUAGES else "en"
    return set_language(lang)


SETTINGS = ("lang", "presenter", "export_format", "device")
params.group("settings", *SETTINGS)


def sidebar() -> Any:
    """Controls every page shares. Called once per run from app.py, before the page; returns
    the sidebar slot that `lesson_link` fills after the page has drawn its widgets."""
    with st.sidebar:
        lang = params.select("lang", "Language / 语言", list(LANGUAGES), "en",
                             fmt=LANGUAGES.get)
        set_language(lang)
        params.toggle("presenter", _("Presenter mode (large type)"), False)
        if params.shown("export_format"):
            st.radio(_("Figure download format"), ["png", "svg"], key="export_format",
                     horizontal=True,
                     help=_("The camera button on each chart saves it in this format."))
        choices = ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        params.select("device", _("Compute device"), choices, "auto",
                      help=_("auto: CPU for one small net, the GPU (if any) for batched work."))
        with st.popover(_("Copy link to this view"), width="stretch"):
            st.caption(_("This link opens exactly these settings:"))
            st.code(current_url(), language=None)
        for notice in store.notices():  # a damaged results store was repaired, and so on
            st.warning(notice, icon=":material/warning:")
        slot = st.container()
    st.html(PAGE_CSS)
    if presenter_on():
        st.html(PRESENTER_CSS)
    return slot


def lesson_link(slot: Any) -> None:
    """"Make a lesson link": this view's settings, with the controls a teacher picks hidden.

    Runs after the page, so it can offer exactly the controls the page drew in this run.
    """
    controls = params.drawn()
    groups = params.groups()
    options = [*controls, *(g for g in groups if g not in controls)]
    labels = {**{g: _("group: {name} ({keys})").format(name=g, keys=", ".join(k))
                 for g, k in groups.items()}, **controls}
    with slot, st.popover(_("Make a lesson link"), width="stretch"):
        st.caption(_("Open this page in its current state with the controls you pick hidden: "
                     "the class sees only what the lesson needs. Hidden controls keep the "
                     "value they have now."))
        # one widget per set of controls: a choice made on one page must not follow to another
        key = f"_lesson_hide_{zlib.crc32(','.join(options).encode()):08x}"
        hide = st.multiselect(_("Hide these controls"), options, key=key,
                              default=[k for k in params.hidden_list() if k in options],
                              format_func=lambda k: labels.get(k, k))
        st.code(lesson_url(hide), language=None)


def lesson_url(hide: list[str]) -> str:
    """This view's link with `hide=` set to the given keys and groups."""
    query = {k: v for k, v in st.query_params.to_dict().items() if k != params.HIDE}
    if hide:
        query[params.HIDE] = ",".join(hide)
    return _url(query)


def device(batched: bool = False) -> torch.device:
    """The session's device choice, resolved for this kind of work."""
    return resolve_device(st.session_state.get("device"), batched=batched)


def _url(query: dict[str, str]) -> str:
    base = str(st.context.url or "").split("?")[0]
    text = urlencode(query, safe=",*")
    return base + ("?" + text if text else "")


def current_url() -> str:
    return _url(st.query_params.to_dict())


def header(title: str, intro: str, compact: bool = False) -> None:
    """Page title and a short explanation; shows ignored-URL notices right below.

    In presenter mode the explanation folds into an expander (the teacher tells it), so the
    page's figures reach the first screen. `compact` pages (the Playground, which must fit one
    1024x768 screen) put it in the title's help tooltip instead.
    """
    if compact and not presenter_on():
        st.title(title, help=intro)
    else:
        st.title(title)
        if presenter_on():
            with st.expander(_("About this page")):
                st.markdown(intro)
        else:
            st.markdown(intro)
    if params.hidden_list():
        st.caption(_("This lesson link hides some controls; their values still apply."))
    params.show_notices()
