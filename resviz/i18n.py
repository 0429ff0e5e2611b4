"""English and Chinese through a gettext catalogue (Babel .po), one language per session.

Source strings are English and wrapped in `_()`; `resviz/locale/zh/LC_MESSAGES/resviz.po`
holds the Chinese. The language lives in a ContextVar, set at the top of every app run,
so figure titles built in the library translate without knowing about streamlit.
Use `_("... {n} ...").format(n=...)`, never f-strings, so the extractor sees the text.
"""

from __future__ import annotations

import functools
from contextvars import ContextVar
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

LANGUAGES = {"en": "English", "zh": "简体中文"}
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "resviz"
_lang: ContextVar[str] = ContextVar("resviz_lang", default="en")


@functools.cache
def catalog(lang: str) -> Catalog | None:
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return None
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def set_language(lang: str) -> str:
    """Select the language for this thread's run; unknown codes fall back to English."""
    lang = lang if lang in LANGUAGES else "en"
    _lang.set(lang)
    return lang


def language() -> str:
    return _lang.get()


def _(text: str) -> str:
    """Translate `text` into the current language (English passes through)."""
    lang = _lang.get()
    if lang == "en":
        return text
    cat = catalog(lang)
    msg = cat.get(text) if cat is not None else None
    return msg.string if msg is not None and msg.string else text
