"""The command line: one module per command over a library that returns data."""

from ipcsim.cli.main import app, main

__all__ = ["app", "main"]
