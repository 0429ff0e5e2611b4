"""ResViz entry point: shared sidebar and navigation over views/, nothing else."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from resviz.device import DeviceError, freeze_heap, limit_threads
from resviz.i18n import _
from ui import boot, layout
from ui.nav import PAGES

# A local file, not ":material/...:" (which the browser fetches from fonts.gstatic.com) nor an
# emoji shortcode: a classroom network may have no internet at all.
FAVICON = str(Path(__file__).resolve().parent / "assets" / "favicon.png")

try:
    limit_threads()
    threads_error = None
except DeviceError as e:  # a bad RESVIZ_THREADS: say so and go on with one thread
    limit_threads(1)
    threads_error = str(e)
boot.preload()  # once per server, before any figure: starts the engine; imports what plotly reads unlocked
st.set_page_config(page_title="ResViz", page_icon=FAVICON, layout="wide",
                   initial_sidebar_state=layout.sidebar_state())
if threads_error:
    st.warning(_("{error}; using one thread.").format(error=threads_error))
layout.language_from_url()
pages = [st.Page(p.path, title=_(p.title), icon=p.icon, url_path=p.url, default=i == 0)
         for i, p in enumerate(PAGES)]
current = st.navigation(pages, position=layout.nav_position())
lesson_slot = layout.sidebar()
current.run()
layout.lesson_link(lesson_slot)
freeze_heap()  # after the first run has imported what every session uses: no 0.2-s full GCs
