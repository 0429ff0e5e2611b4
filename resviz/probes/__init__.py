"""Measurements on a model: they measure, never draw."""
