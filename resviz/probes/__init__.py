"""Probes: measurements on a model (gradients, paths, lesions, gates, landscapes); they never draw."""
