"""TOML text for scenario data: what ``plan.toml`` is written with.

Scenario data as ``tomllib`` reads it holds only tables, arrays, strings, integers, finite
floats, booleans and dates, so a small writer suffices; :func:`toml_text` reads its own text
back and refuses to return text that does not give the same data, so a scenario written here
always loads as the one planned.

Notes
-----
No TOML writer is among ipcsim's dependencies (the standard library only reads TOML); one
would be a new runtime dependency for a single file of plain data checked on the way out.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import tomllib
from collections.abc import Mapping
from typing import Any

from ipcsim.errors import OutputError

__all__ = ["toml_text"]

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise OutputError(f"cannot write the non-finite number {value!r} as scenario TOML")
        return repr(value)
    if isinstance(value, str):
        # JSON's escapes (\" \\ \n \t \uXXXX ...) are all TOML basic-string escapes.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        items = [f"{_key(str(k))} = {_value(v)}" for k, v in value.items() if v is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    raise OutputError(f"cannot write {type(value).__name__} {value!r} as scenario TOML")


def _table(lines: list[str], path: list[str], table: Mapping[str, Any]) -> None:
    plain = {k: v for k, v in table.items() if v is not None and not isinstance(v, Mapping)}
    nested = {k: v for k, v in table.items() if isinstance(v, Mapping)}
    if path and (plain or not nested):
        lines.append("")
        lines.append("[" + ".".join(_key(p) for p in path) + "]")
    for key, value in plain.items():
        lines.append(f"{_key(str(key))} = {_value(value)}")
    for key, value in nested.items():
        _table(lines, [*path, str(key)], value)


def toml_text(data: Mapping[str, Any], *, header: str = "") -> str:
    """TOML text of nested tables, checked to read back as the same data.

    Parameters
    ----------
    data
        Tables as ``tomllib`` gives them (``None`` values are left out: TOML has no null).
    header
        Comment lines put first (each prefixed with ``#``).

    Returns
    -------
    str
        The TOML document.

    Raises
    ------
    OutputError
        A value TOML cannot hold, or text that would read back differently.
    """
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    _table(lines, [], data)
    text = "\n".join(lines).lstrip("\n") + "\n"
    expected = _without_none(data)
    if tomllib.loads(text) != expected:
        raise OutputError("the scenario's TOML text does not read back as the same data")
    return text


def _without_none(data: Any) -> Any:
    if isinstance(data, Mapping):
        return {str(k): _without_none(v) for k, v in data.items() if v is not None}
    if isinstance(data, list | tuple):
        return [_without_none(v) for v in data]
    return data
