"""Streamlit glue shared by the pages: URL-backed widgets, sidebar, charts, shared state.

The library (`resviz/`) never imports streamlit; everything streamlit-specific lives here
so pages stay thin.
"""
