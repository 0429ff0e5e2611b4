"""Open a preset (or any page with settings) in one click, and a picker of the papers' presets."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

import streamlit as st

from resviz.i18n import _
from resviz.presets import PRESETS, Preset
from ui import params
from ui.nav import PAGES

_KEEP = "_keep_"  # ui.params keeps a widget's value here across pages


def shared_params() -> dict[str, str]:
    """Sidebar settings that travel with every link (language, presenter mode)."""
    return {k: v for k, v in st.query_params.to_dict().items() if k in ("lang", "presenter", "device")}


def _prefixes(params: Mapping[str, str]) -> tuple[str, ...]:
    """Each page's URL keys share a prefix (dg_, le_, a_ ...): the preset's keys name the page's."""
    return tuple({k.split("_")[0] + "_" for k in params if "_" in k})


def go(page: str, params: Mapping[str, str]) -> None:
    """Switch to `page` showing exactly `params`, everything else of that page at its default.

    ui.params keeps a page's values across visits; a preset drops them first, so a setting
    changed on an earlier visit cannot leak into the preset's view.
    """
    prefixes = _prefixes(params)
    for key in list(st.session_state.keys()):
        bare = key[len(_KEEP):] if key.startswith(_KEEP) else key
        if bare in params or (prefixes and bare.startswith(prefixes)):
            del st.session_state[key]
    st.switch_page(page, query_params={**shared_params(), **dict(params)})


def link(page: str, params: Mapping[str, str]) -> str:
    """The shareable link: this server's address, the page's url path and its settings."""
    url = next((p.url for p in PAGES if p.path == page), "")
    query = urlencode({**shared_params(), **dict(params)})
    here = urlsplit(str(st.context.url or ""))
    base = f"{here.scheme}://{here.netloc}" if here.netloc else "."
    return f"{base}/{url}" + (f"?{query}" if query else "")


def button(label: str, page: str, params: Mapping[str, str], key: str, **kw) -> None:
    """A button that opens `page` with `params`."""
    if st.button(label, key=key, **kw):
        go(page, params)


def open_preset(preset: Preset, key: str) -> None:
    button(_("Open: {name}").format(name=_(preset.name)), preset.page, preset.query, key=key,
           type="primary")


def picker(key: str = "preset") -> None:
    """Pick one of the papers' presets (kept in the URL as `key`), read what to look at, open it."""
    names = {p.key: p for p in PRESETS}
    choice = params.select(key, _("Reproduce a paper's figure in miniature"), list(names), PRESETS[0].key,
                           fmt=lambda k: _(names[k].name))
    preset = names[choice]
    st.caption(_(preset.note))
    c1, c2 = st.columns([1, 2])
    with c1:
        open_preset(preset, key=f"{key}_open")
    with c2:
        st.code(link(preset.page, preset.query), language=None)
