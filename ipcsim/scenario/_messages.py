"""One-line messages about validation errors, naming keys as the user wrote them.

pydantic locates an error by its own path through the models, with the tags of tagged unions
and its validator wrappers in it; these helpers turn that into the dotted key of the file
(``cohorts.ltc.sessions.value``), pick the most telling of several errors about one key, and
echo the offending value, cut short.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from pydantic import ValidationError

from ipcsim.scenario._strict import LAX_INPUT, StrictModel
from ipcsim.scenario.distributions import DISTRIBUTIONS

__all__ = [
    "dotted_get",
    "error_text",
    "problem_lines",
    "validation_message",
    "validation_messages",
]


def dotted_get(data: Any, key: str | Sequence[int | str]) -> tuple[bool, Any]:
    """Look a dotted key up in nested tables (and arrays, for integer parts).

    Parameters
    ----------
    data
        Nested mappings and lists, e.g. a scenario as read from TOML or dumped to JSON.
    key
        ``"workforce.planner.headcount"``, or its parts (``("cohorts", "frail", 0)``).

    Returns
    -------
    tuple
        ``(True, value)`` when every part is there, else ``(False, None)``.
    """
    node = data
    for part in key.split(".") if isinstance(key, str) else key:
        in_table = isinstance(node, Mapping) and part in node
        in_array = isinstance(node, list | tuple) and isinstance(part, int) and part < len(node)
        if not (in_table or in_array):
            return False, None
        node = node[part]
    return True, node


def _user_location(
    loc: tuple[int | str, ...], data: Any, *, keep_absent_last: bool
) -> tuple[int | str, ...]:
    # Drop the tags pydantic inserts for tagged unions ("lognormal", ...) and its
    # "function-after[...]" wrappers, keeping the path the user wrote.
    kept: list[int | str] = []
    node = data
    for index, part in enumerate(loc):
        present = (isinstance(node, dict) and part in node) or (
            isinstance(node, list | tuple) and isinstance(part, int) and 0 <= part < len(node)
        )
        keep = keep_absent_last and index == len(loc) - 1
        if not present and isinstance(part, str) and not keep:
            continue
        kept.append(part)
        node = node[part] if present else None
    return tuple(kept)


_WRONG_KIND = frozenset(
    {"float_type", "int_type", "bool_type", "string_type", "float_parsing", "int_parsing"}
)
"""Error types that only say "this is not a number/string": unhelpful about a table."""
_SHOWN_CHARS = 60
"""At most this much of a bad value is echoed in an error."""


def _error_location(err: Mapping[str, Any], data: Any) -> tuple[int | str, ...]:
    """Where the error is, as the user wrote it (a lax input names the item in its context)."""
    kind = err.get("type")
    raw_loc = tuple(err.get("loc", ()))
    if kind == LAX_INPUT:  # raised by the table, about one of its keys (or an item of one)
        context = err.get("ctx", {})
        raw_loc = (*raw_loc, *context.get("loc", (context.get("key", ""),)))
    keep_absent_last = kind in ("missing", "extra_forbidden")
    return _user_location(raw_loc, data, keep_absent_last=keep_absent_last)


def _most_telling(errors: Sequence[Mapping[str, Any]], data: Any) -> Mapping[str, Any]:
    """The most telling of several errors about one key.

    A key that takes a number or a distribution (``effort_hours``) fails both ways; when the
    value is a table, "Input should be a valid number" says nothing, and the distribution's
    own error (a bad parameter, an unknown ``dist``) is the one to show.
    """

    def score(err: Mapping[str, Any]) -> tuple[bool, int]:
        where = _error_location(err, data)
        value = dotted_get(data, where)[1]
        unhelpful = err.get("type") in _WRONG_KIND and isinstance(value, dict | list)
        return unhelpful, -len(where)

    return min(errors, key=score)


def _problems(errors: Sequence[Mapping[str, Any]], data: Any) -> list[Mapping[str, Any]]:
    """One error per problem: errors about one key and the keys inside it count as one.

    In pydantic's order, each group led by its first error's key (the file's order, mostly);
    an error about the whole file (no key) is a problem of its own.
    """
    groups: list[tuple[tuple[int | str, ...], list[Mapping[str, Any]]]] = []
    for err in errors:
        loc = _error_location(err, data)
        for key, members in groups:
            if loc and key and loc[: len(key)] == key:
                members.append(err)
                break
        else:
            groups.append((loc, [err]))
    return [_most_telling(members, data) for _key, members in groups]


def _shown(value: Any) -> str:
    """``value`` as the file writes it (a date in ISO form), cut short."""
    text = value.isoformat() if isinstance(value, dt.date) else repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "..."


def validation_message(error: ValidationError, data: Any, source: str) -> str:
    """One line naming the source, the key and the value of the first validation error."""
    return f"{source}: {error_text(error, data)}"


def validation_messages(error: ValidationError, data: Any, source: str) -> list[str]:
    """One line per problem, each naming the source, the key and the value."""
    return [f"{source}: {line}" for line in problem_lines(error, data)]


def error_text(error: ValidationError, data: Any, prefix: tuple[int | str, ...] = ()) -> str:
    """The first problem of ``error`` (see :func:`problem_lines`), and how many more there are.

    Parameters
    ----------
    error
        From validating ``data``.
    data
        What was validated, to name the keys as the user wrote them and echo the value.
    prefix
        Parts of the key to put first (``("sites", "leeds")`` for a site's tables).
    """
    lines = problem_lines(error, data, prefix)
    more = len(lines) - 1
    extra = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
    return f"{lines[0]}{extra}"


def problem_lines(
    error: ValidationError, data: Any, prefix: tuple[int | str, ...] = ()
) -> list[str]:
    """Every problem of ``error``, one line each: the key, what is wrong and the value.

    Several errors about one key (a number-or-distribution key fails both ways) are one
    problem, shown by its most telling error. A site's or profile's problems, found inside the
    scenario's own check, arrive as one error holding a line each and are split again.

    Parameters
    ----------
    error
        From validating ``data``.
    data
        What was validated, to name the keys as the user wrote them and echo the value.
    prefix
        Parts of the key to put first (``("sites", "leeds")`` for a site's tables).

    Returns
    -------
    list of str
        At least one line, none with a line break in it.
    """
    lines: list[str] = []
    for problem in _problems(error.errors(), data):
        lines += _problem_text(problem, error.title, data, prefix).splitlines()
    return [line for line in lines if line.strip()] or ["invalid"]


def _problem_text(
    problem: Mapping[str, Any], title: str, data: Any, prefix: tuple[int | str, ...]
) -> str:
    """The key, what is wrong and the value of one error."""
    kind = problem.get("type")
    loc = _error_location(problem, data)
    found, value = dotted_get(data, loc)
    message = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        close = _nearest_key(title, tuple(problem.get("loc", ())))
        message = (
            f"unknown key: did you mean {close!r}? (see `ipcsim schema`)"
            if close
            else "unknown key (check the spelling; see `ipcsim schema`)"
        )
    elif kind == "missing":
        message = "required key is missing"
    elif kind == "union_tag_not_found":  # a distribution's table without its `dist`
        discriminator = problem.get("ctx", {}).get("discriminator", "'dist'")
        message = (
            f"needs a {discriminator} key naming the distribution ({', '.join(DISTRIBUTIONS)}): "
            'give the whole table, e.g. { dist = "fixed", value = 3 }'
        )
    scalar = not isinstance(value, dict | list)
    shown = f", got {_shown(value)}" if found and scalar and kind != "missing" else ""
    parts = (*prefix, *loc)
    where = ".".join(_key_part(p) for p in parts) + ": " if parts else ""
    if "\n" in message:  # a site's or profile's own lines, each naming its key
        return "\n".join(f"{where}{line}" for line in message.splitlines())
    return f"{where}{message}{shown}"


def _model_named(title: str) -> type[StrictModel] | None:
    """The loaded :class:`StrictModel` subclass called ``title`` (a validation error's title)."""
    stack: list[type[StrictModel]] = [StrictModel]
    while stack:
        model = stack.pop()
        if model.__name__ == title:
            return model
        stack += model.__subclasses__()
    return None


@cache
def _schema(model: type[StrictModel]) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(by_alias=True)
    return schema


def _keys_at(schema: dict[str, Any], loc: tuple[int | str, ...]) -> list[str]:
    """Keys a table at ``loc`` of ``schema`` may hold (empty if the path cannot be followed)."""
    defs = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            node = defs.get(str(node["$ref"]).rsplit("/", 1)[-1], {})
        return node

    def step(node: Any, part: int | str) -> Any:
        node = resolve(node)
        if not isinstance(node, dict):
            return None
        if part in node.get("properties", {}):
            return node["properties"][part]
        mapping = node.get("discriminator", {}).get("mapping", {})
        if part in mapping:
            return {"$ref": mapping[part]}
        for key in ("anyOf", "oneOf", "allOf"):
            for option in node.get(key, ()):
                found = step(option, part)
                if found is not None:
                    return found
        if isinstance(part, int) and "items" in node:
            return node["items"]
        extra = node.get("additionalProperties")
        return extra if isinstance(extra, dict) else None

    node: Any = schema
    for part in loc:
        node = step(node, part)
        if node is None:
            return []
    node = resolve(node)
    if not isinstance(node, dict):
        return []
    keys = list(node.get("properties", {}))
    for key in ("anyOf", "oneOf"):
        for option in node.get(key, ()):
            keys += list(resolve(option).get("properties", {}))
    return keys


def _nearest_key(title: str, loc: tuple[int | str, ...]) -> str | None:
    """The allowed key closest to the unknown last key of ``loc`` (a typo's likely meaning)."""
    model = _model_named(title)
    if model is None or not loc:
        return None
    keys = _keys_at(_schema(model), loc[:-1])
    close = difflib.get_close_matches(str(loc[-1]), keys, n=1, cutoff=0.6)
    return close[0] if close else None


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key_part(part: int | str) -> str:
    """A part of a dotted key as TOML writes it: bare, or quoted (``""``, ``"a.b"``)."""
    text = str(part)
    return text if _BARE_KEY.fullmatch(text) else json.dumps(text, ensure_ascii=False)
