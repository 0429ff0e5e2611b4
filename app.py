"""ResViz entry point: shared sidebar and navigation over pages/, nothing else."""

from __future__ import annotations

import streamlit as st

from resviz.device import limit_threads
from resviz.i18n import _
from ui import layout
from ui.nav import PAGES

limit_threads()
st.set_page_config(page_title="ResViz", page_icon=":material/call_split:", layout="wide",
                   initial_sidebar_state=layout.sidebar_state())
layout.language_from_url()
pages = [st.Page(p.path, title=_(p.title), icon=p.icon, url_path=p.url, default=i == 0)
         for i, p in enumerate(PAGES)]
current = st.navigation(pages)
layout.sidebar()
current.run()
