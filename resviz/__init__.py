"""ResViz: the library behind the residual-network explainer.

Data flows one way: spec -> model -> trainer records -> probes -> figures.
Nothing here imports streamlit, so every experiment runs from a notebook or the CLI.
"""

from resviz.spec import NetworkSpec, TrainSpec

__all__ = ["NetworkSpec", "TrainSpec"]
__version__ = "0.1.0"
