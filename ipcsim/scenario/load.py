"""Load a scenario: TOML file + dotted overrides -> validated, frozen :class:`Scenario`."""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ipcsim.errors import ConfigError
from ipcsim.scenario._messages import dotted_get, validation_message, validation_messages
from ipcsim.scenario.scenario import Scenario

__all__ = [
    "apply_overrides",
    "dotted_get",
    "dotted_set",
    "invalid",
    "load_scenario",
    "parse_override",
    "read_toml",
    "resolve_files",
    "scenario_from_dict",
    "scenario_hash",
    "validation_message",
]


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``key.path=value`` and parse the value as a TOML literal.

    Parameters
    ----------
    text
        An override such as ``workforce.planner.headcount=6`` or ``site.name=Leeds``.

    Returns
    -------
    tuple
        The dotted key and the parsed value (a bare word that is not TOML is kept as a string).

    Raises
    ------
    ConfigError
        Saying what is wrong; the caller names where the text came from (``--set``, a spec's
        ``overrides``).
    """
    if "=" not in text:
        raise ConfigError("expected key=value")
    key, raw = text.split("=", 1)
    key, raw = key.strip(), raw.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError("the key must be a dotted path such as run.seed")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def apply_overrides(
    data: Mapping[str, Any], overrides: Iterable[str], *, label: str = "--set"
) -> dict[str, Any]:
    """Return a copy of ``data`` with each dotted override set (tables created as needed).

    Parameters
    ----------
    data
        Nested tables, left as they are.
    overrides
        ``key=value`` strings.
    label
        How messages name an override: ``--set`` (``--set run=3: ...``), or e.g. a spec's
        ``overrides`` key.

    Raises
    ------
    ConfigError
        ``<label> <override>: <what is wrong>``, for a malformed override or one that clashes
        with the data (a value where the key needs a table).
    """
    result: dict[str, Any] = copy.deepcopy(dict(data))
    for text in overrides:
        try:
            key, value = parse_override(text)
            dotted_set(result, key, value)
        except ConfigError as e:
            raise ConfigError(f"{label} {text}: {e}") from e
    return result


def dotted_set(
    data: dict[str, Any], key: str, value: Any, *, template: Mapping[str, Any] | None = None
) -> None:
    """Set a dotted key in nested tables, in place, creating the tables on its path.

    Parameters
    ----------
    data
        Nested dicts, changed in place.
    key
        A dotted key such as ``workforce.planner.headcount``.
    value
        The value to set.
    template
        The same data fully resolved (e.g. the validated scenario dumped to JSON). A table on
        the path that ``data`` lacks, or holds a value in place of, is first copied from it,
        so a partial change stays valid: setting ``high`` of a distribution the file left at
        its default keeps its ``dist`` and ``low``. Without a template, missing tables are
        created empty.

    Raises
    ------
    ConfigError
        Without a template, when a part of the path holds a value, not a table.
    """
    parts = key.split(".")
    node = data
    resolved: Any = template
    for part in parts[:-1]:
        resolved = resolved.get(part) if isinstance(resolved, Mapping) else None
        child: Any = node.get(part)
        if not isinstance(child, dict):
            if part in node and template is None:
                raise ConfigError(f"'{part}' is a value, not a table")
            child = copy.deepcopy(resolved) if isinstance(resolved, Mapping) else {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file, turning every failure into a one-line :class:`ConfigError`."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: file not found") from e
    except IsADirectoryError as e:
        raise ConfigError(f"{path}: is a folder, expected a TOML file") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: malformed TOML: {e}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not a UTF-8 text file") from e


def scenario_from_dict(data: Mapping[str, Any], *, source: str = "<scenario>") -> Scenario:
    """Validate a plain mapping into a :class:`Scenario`."""
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as e:
        raise invalid(e, data, source) from e


def invalid(error: ValidationError, data: Any, source: str) -> ConfigError:
    """The :class:`ConfigError` of a failed validation: the first problem, and every one.

    Parameters
    ----------
    error
        From validating ``data``.
    data
        What was validated (as read from the file, overrides applied).
    source
        The file (and ``--set`` options) to name on every line.
    """
    return ConfigError(
        validation_message(error, data, source), problems=validation_messages(error, data, source)
    )


def load_scenario(
    path: str | Path, overrides: Iterable[str] = (), *, allow_outside_files: bool = False
) -> Scenario:
    """Read, override and validate a scenario file.

    Parameters
    ----------
    path
        A TOML scenario file.
    overrides
        Dotted ``key=value`` strings applied before validation, e.g.
        ``workforce.planner.headcount=6``.
    allow_outside_files
        Let files the scenario names (``initial_state``) lie outside the scenario file's folder.
        Off by default: a scenario from someone else must not make ipcsim read ``/etc/...``.

    Returns
    -------
    Scenario
        The frozen, validated scenario.

    Raises
    ------
    ConfigError
        With one line naming the file, the key and the value.
    """
    path = Path(path)
    overrides = list(overrides)
    raw = read_toml(path)
    try:
        data = apply_overrides(raw, overrides)
    except ConfigError as e:  # name the file too: the override may clash with it
        raise ConfigError(f"{path}: {e}") from e
    source = str(path) + (" with --set " + " ".join(overrides) if overrides else "")
    resolve_files(data, path, source=source, allow_outside_files=allow_outside_files)
    return scenario_from_dict(data, source=source)


def resolve_files(
    data: dict[str, Any], path: Path, *, source: str, allow_outside_files: bool = False
) -> None:
    """Make the files a scenario names relative to its file, in place, checking they lie beside it.

    Parameters
    ----------
    data
        The scenario as read from ``path`` (with any overrides), changed in place.
    path
        The scenario file.
    source
        Where the data came from, for messages.
    allow_outside_files
        Let the files lie outside the scenario file's folder.

    Raises
    ------
    ConfigError
        When a file lies outside the folder and ``allow_outside_files`` is false.
    """
    state = data.get("initial_state")
    if isinstance(state, str) and state:
        # A backlog file is named relative to the scenario file that names it.
        data["initial_state"] = str(
            _confined(path, state, key="initial_state", source=source, allow=allow_outside_files)
        )


def _confined(scenario_path: Path, name: str, *, key: str, source: str, allow: bool) -> Path:
    """The file ``name`` (relative to the scenario's folder), checked to lie inside that folder.

    Raises
    ------
    ConfigError
        When the file resolves (``..`` chains, absolute paths, symbolic links) outside the
        scenario's folder and ``allow`` is false.
    """
    folder = scenario_path.parent
    candidate = folder / name
    if allow:
        return candidate
    inside = folder.resolve()
    if not candidate.resolve().is_relative_to(inside):
        raise ConfigError(
            f"{source}: {key}: {name!r} is outside the scenario's folder {inside}; keep the file "
            "beside the scenario (or pass --allow-outside-files)"
        )
    return candidate


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the resolved scenario (canonical JSON), for manifests and caching."""
    payload = json.dumps(scenario.model_dump(mode="json", by_alias=True), sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()
