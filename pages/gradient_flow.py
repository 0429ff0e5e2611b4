"""Placeholder: this page is being built (see the open issue)."""

import streamlit as st

st.info("This page is under construction.")
