"""Errors that the CLI turns into one line and exit status 2."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class IpcsimError(Exception):
    """Base class for user-facing errors (bad input, corrupt outputs)."""


class ConfigError(IpcsimError):
    """A scenario file or override is missing, malformed or invalid.

    The message names the file, the key and the offending value, on one line; when a file has
    several problems it tells the first and how many more there are.

    Attributes
    ----------
    problems
        Every problem found, one line each (the message alone when there is one):
        ``ipcsim validate`` prints them all.
    """

    def __init__(self, message: str, *, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems) or (message,)

    def __reduce__(self) -> tuple[Any, ...]:
        """Keep the problems across a process boundary (keyword arguments are not pickled)."""
        return (self.__class__, (str(self),), {"problems": self.problems})


class OutputError(IpcsimError):
    """An output folder cannot be written or read back."""
