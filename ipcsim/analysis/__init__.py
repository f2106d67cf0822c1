"""Analyse: pure functions on a run's frames (no SimPy, no printing, no files)."""
