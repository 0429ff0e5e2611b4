"""Plotly (and DOT) figure builders: data in, go.Figure out. No training, no streamlit."""
