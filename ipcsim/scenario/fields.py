"""Every key a scenario file may hold, as rows a person can read (``ipcsim schema``)."""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

__all__ = ["FieldRow", "defaults_filled", "field_rows"]


@dataclass(frozen=True)
class FieldRow:
    """One key: its dotted path, type, default and description (unit and evidence ID)."""

    key: str
    kind: str
    default: str
    description: str


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Pydantic models an annotation may hold (directly, in a union or as a mapping's value)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found


def _kind(annotation: Any) -> str:
    """A short readable type: ``float``, ``int | "unlimited"``, ``table``, ``list``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _kind(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(dict.fromkeys(_kind(a) for a in typing.get_args(annotation)))
    if origin is typing.Literal:
        return " | ".join(f'"{v}"' for v in typing.get_args(annotation))
    if origin in (tuple, list):
        return "list"
    if origin is dict:
        return "table"
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return "distribution" if "dist" in annotation.model_fields else "table"
        return {"NoneType": "none", "str": "text", "bool": "true/false"}.get(
            annotation.__name__, annotation.__name__
        )
    return str(annotation)


def _default(field: Any) -> str:
    if field.default is not PydanticUndefined:
        value = field.default
    elif field.default_factory is not None:
        try:
            value = field.default_factory()
        except TypeError:  # a factory that needs the validated data
            return ""
    else:
        return "required"
    if isinstance(value, BaseModel):
        # a distribution's default is shown as TOML writes it; a table's keys have their own rows
        return _text(value) if "dist" in type(value).model_fields else ""
    return "" if value in ((), {}, None) else str(value)


def field_rows(model: type[BaseModel], prefix: str = "") -> list[FieldRow]:
    """Every key of ``model`` and its tables, depth first, in declaration order.

    A table of named tables (``cohorts``, ``workforce``) shows its keys under ``<name>``;
    distribution tables are described by their field, not expanded.
    """
    rows: list[FieldRow] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        annotation = field.annotation
        rows.append(FieldRow(key, _kind(annotation), _default(field), field.description or ""))
        models = [m for m in _models_in(annotation) if "dist" not in m.model_fields]
        if len(models) == 1 and models[0] is not model:
            inner = models[0]
            named = typing.get_origin(annotation) is dict
            rows += field_rows(inner, f"{key}.<name>." if named else f"{key}.")
    return rows


def defaults_filled(model: BaseModel, prefix: str = "") -> list[FieldRow]:
    """Keys the file left out whose documented default a run will use, depth first.

    Parameters
    ----------
    model
        A validated table (a scenario, or one of its tables).
    prefix
        Dotted key of ``model``.

    Returns
    -------
    list of FieldRow
        One per scalar key not set in the file (``default`` holds the value used), and those
        of the tables below it, set or not; distributions are shown as their tables' text.
    """
    rows: list[FieldRow] = []
    for name, field in type(model).model_fields.items():
        key = f"{prefix}{field.alias or name}"
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            if "dist" in type(value).model_fields:
                if name not in model.model_fields_set:
                    rows.append(
                        FieldRow(key, "distribution", _text(value), field.description or "")
                    )
                continue
            rows += defaults_filled(value, f"{key}.")
        elif (
            isinstance(value, dict)
            and value
            and all(isinstance(v, BaseModel) for v in value.values())
        ):
            for item, inner in value.items():
                rows += defaults_filled(inner, f"{key}.{item}.")
        elif name not in model.model_fields_set and value not in ((), {}, None, ""):
            rows.append(FieldRow(key, _kind(field.annotation), str(value), field.description or ""))
    return rows


def _text(distribution: BaseModel) -> str:
    """A distribution table as TOML writes it: ``{ dist = "fixed", value = 7 }``."""
    parts = [
        f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v}"
        for k, v in distribution.model_dump(mode="json", by_alias=True, exclude_none=True).items()
    ]
    return "{ " + ", ".join(parts) + " }"
