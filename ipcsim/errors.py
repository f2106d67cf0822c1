"""Errors that the CLI turns into one line and exit status 2."""

from __future__ import annotations


class IpcsimError(Exception):
    """Base class for user-facing errors (bad input, corrupt outputs)."""


class ConfigError(IpcsimError):
    """A scenario file or override is missing, malformed or invalid.

    The message names the file, the key and the offending value, on one line.
    """


class OutputError(IpcsimError):
    """An output folder cannot be written or read back."""
