"""Strict input rules shared by every scenario table and every distribution.

TOML has real numbers, booleans and dates, so a scenario never needs pydantic's lax
conversions; they only hide mistakes (``ipc_share = true`` read as 1.0, ``"8.0"`` as 8.0,
``save_tables = "yes"`` as True). Every float must also be finite: ``inf`` is a valid TOML
float but no valid rate, cost or duration.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

__all__ = ["LAX_INPUT", "StrictModel"]

LAX_INPUT = "lax_input"
"""Error type of a value that would pass only by a lax conversion (bool or string as number)."""


def _leaf_types(annotation: Any) -> set[Any]:
    """The plain types a field accepts at its top level (``float | None`` -> {float, None})."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _leaf_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        found: set[Any] = set()
        for arg in typing.get_args(annotation):
            found |= _leaf_types(arg)
        return found
    return {origin or annotation}


def _takes_strings(accepted: set[Any]) -> bool:
    """Whether a field with these top-level types accepts a string as such."""
    return any(
        t is str
        or t is typing.Literal
        or t in (dt.date, dt.datetime)
        or (isinstance(t, type) and issubclass(t, enum.Enum))
        for t in accepted
    )


class StrictModel(BaseModel):
    """Frozen, unknown keys an error, finite floats, no bool-as-number or string-as-number."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_lax_conversion(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for key, value in data.items():
            field = cls.model_fields.get(key) if isinstance(key, str) else None
            if field is None:
                continue
            found = _lax_in(value, field.annotation, (key,))
            if found:
                where, problem = found
                # The error belongs to the table; ``key`` (and ``loc``, the path to an item of
                # an array or table) in its context lets the one-line message name the field
                # (ipcsim.scenario.load.validation_message).
                raise PydanticCustomError(LAX_INPUT, problem, {"key": key, "loc": where})
        return data


def _members(annotation: Any) -> list[Any]:
    """The members of a union (through ``Annotated``), or the annotation itself."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]


def _item_annotations(annotation: Any, value: Any) -> list[Any]:
    """Annotations of the items of ``value`` (an array or a table) that ``annotation`` allows."""
    found: list[Any] = []
    for member in _members(annotation):
        origin, args = typing.get_origin(member), typing.get_args(member)
        if isinstance(value, list | tuple) and origin in (list, tuple) and args:
            found += [a for a in args if a is not Ellipsis]
        elif isinstance(value, dict) and origin is dict and len(args) == 2:
            found.append(args[1])
    return found


def _lax_in(
    value: Any, annotation: Any, where: tuple[Any, ...]
) -> tuple[tuple[Any, ...], str] | None:
    """Where in ``value`` (a path) a lax conversion would happen and why, or None.

    Arrays and tables are checked item by item against their item type (``effort_hours``
    takes a number or a distribution per role: ``planner = true`` is no number).
    """
    problem = _lax_problem(value, _leaf_types(annotation))
    if problem:
        return where, problem
    items = _item_annotations(annotation, value)
    if not items:
        return None
    pairs = value.items() if isinstance(value, dict) else enumerate(value)
    for index, item in pairs:
        found = [_lax_in(item, item_annotation, (*where, index)) for item_annotation in items]
        if all(found):  # no item type takes it as it is
            return found[0]
    return None


def _lax_problem(value: Any, accepted: set[Any]) -> str | None:
    """Why ``value`` would only pass by a lax conversion, or None."""
    numeric = bool(accepted & {int, float})
    if isinstance(value, bool) and numeric and bool not in accepted:
        return "must be a number, not a boolean"
    if isinstance(value, str) and not _takes_strings(accepted):
        if numeric:
            return "must be a number, not a string"
        if bool in accepted:
            return "must be true or false, not a string"
    return None
