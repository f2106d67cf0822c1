"""The scenario's parameters as rows for people: value, meaning, evidence and who set it.

The meaning and the evidence IDs of a parameter come from the pydantic field descriptions of
:mod:`ipcsim.scenario` (which name an evidence ID such as ``P27``, a section such as ``§1.6``,
or the word "assumption"), so the report's parameter table never drifts from the schema.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from ipcsim.analysis.labels import COHORT_PARAMETER_LABELS, ROLE_PARAMETER_LABELS
from ipcsim.scenario import Scenario, SiteConfig
from ipcsim.scenario.describe import describe_distribution

__all__ = [
    "EVIDENCE_ID",
    "evidence_ids",
    "format_value",
    "parameter_rows",
    "parameter_tables",
    "site_specs",
    "sites_note",
]

EVIDENCE_ID = re.compile(r"\bP\d{2}\b")
"""An evidence ID of the evidence pack, ``P01`` to ``P80``."""
_SECTION = re.compile(r"§\s?\d+(?:\.\d+)*")


def evidence_ids(description: str) -> str:
    """Evidence IDs (``P12``, ``§1.6``) or ``"assumption"`` named in a field description.

    Parameters
    ----------
    description
        A pydantic field description from :mod:`ipcsim.scenario`.

    Returns
    -------
    str
        The IDs joined by ", " (``"P53, P54"``), ``"assumption"`` when the description says
        so and names no ID (both when it does both), or ``""`` when it names neither.
    """
    ids = list(dict.fromkeys(EVIDENCE_ID.findall(description)))
    ids += list(dict.fromkeys(s.replace(" ", "") for s in _SECTION.findall(description)))
    if "assumption" in description.lower():
        ids.append("assumption")
    return ", ".join(ids)


def _field_infos(path: Sequence[str]) -> list[Any]:
    """FieldInfos along a dotted path through :class:`Scenario` (dict keys skipped)."""
    infos: list[Any] = []
    model: Any = Scenario
    i = 0
    while i < len(path) and isinstance(model, type) and issubclass(model, BaseModel):
        info = model.model_fields.get(path[i])
        if info is None:
            break
        infos.append(info)
        annotation = info.annotation
        origin = typing.get_origin(annotation)
        i += 1
        if origin is dict:
            model = typing.get_args(annotation)[1]
            i += 1  # the dict key (cohort or role name)
        elif origin is tuple:
            model = typing.get_args(annotation)[0]
            i += 1
        else:
            model = annotation
    return infos


def _field_description(path: Sequence[str]) -> tuple[str, str]:
    """(description of the leaf, evidence: the leaf's IDs, else the nearest parent's)."""
    infos = _field_infos(path)
    if not infos:
        return "", ""
    leaf = infos[-1].description or ""
    for info in reversed(infos):
        found = evidence_ids(info.description or "")
        if found:
            return leaf, found
    return leaf, ""


def _default_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config every field would have by default, with the same cohorts and roles."""
    from ipcsim.scenario import Cohort, Role

    cohorts = {k: Cohort() for k in (config.get("cohorts") or {})}
    roles = {k: Role() for k in (config.get("workforce") or {})}
    dumped: dict[str, Any] = Scenario.model_construct(cohorts=cohorts, workforce=roles).model_dump(
        mode="json", by_alias=True
    )
    return dumped


def _lookup(data: Any, path: Sequence[str]) -> tuple[bool, Any]:
    """The value at a key path in nested mappings.

    Parameters
    ----------
    data
        Nested mappings (a config as JSON data).
    path
        Keys from the top, e.g. ``("signoff", "panel", "interval_days")``.

    Returns
    -------
    (bool, Any)
        ``(True, value)`` when every key exists, else ``(False, None)``.
    """
    for part in path:
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        else:
            return False, None
    return True, data


def format_value(value: Any) -> str:
    """A config value in words: distributions described, numbers to 4 significant figures.

    Parameters
    ----------
    value
        A JSON value from a config (number, bool, string, list, table or distribution).

    Returns
    -------
    str
        ``"uniform 2-7"``, ``"1,500"``, ``"yes"``, ``"not set"`` (``None``); tables as
        ``"key value, ..."`` and lists joined by ``"; "``.
    """
    if isinstance(value, Mapping) and "dist" in value:
        return describe_distribution(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {format_value(v)}" for k, v in value.items()) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, list | tuple):
        return "; ".join(format_value(v) for v in value)
    if value is None:
        return "not set"
    return str(value)


def _flatten(data: Any, prefix: tuple[str, ...] = ()) -> Iterable[tuple[tuple[str, ...], Any]]:
    if (
        isinstance(data, Mapping)
        and "dist" not in data
        and not (prefix and prefix[-1] in {"effort_hours"})
    ):
        for key, value in data.items():
            yield from _flatten(value, (*prefix, str(key)))
    else:
        yield prefix, data


def _key_paths(config: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """The key parameters shown in the report's scenario table, in reading order."""
    paths: list[tuple[str, ...]] = [("run", "start_date"), ("run", "horizon_days"), ("run", "seed")]
    for name in config.get("cohorts") or {}:
        for key in (
            "referrals_per_month",
            "offer_acceptance",
            "sessions",
            "withdrawal_hazard_per_month_waiting",
            "disengagement_hazard_per_month",
            "budget_probability",
        ):
            paths.append(("cohorts", name, key))
    for name, role in (config.get("workforce") or {}).items():
        size = "fte" if isinstance(role, Mapping) and role.get("fte") is not None else "headcount"
        for key in (size, "ipc_share", "caseload_cap", "hourly_cost_gbp"):
            paths.append(("workforce", name, key))
    paths += [
        ("pathway", "lead_role"),
        ("pathway", "consent_to_first_appointment_days"),
        ("pathway", "plan_writing", "effort_hours"),
        ("pathway", "budget_setting", "effort_hours"),
        ("signoff", "mode"),
    ]
    mode = (config.get("signoff") or {}).get("mode", "panel")
    if mode == "panel":
        paths += [
            ("signoff", "panel", "interval_days"),
            ("signoff", "panel", "max_plans_per_sitting"),
        ]
    elif mode == "individual":
        paths += [("signoff", "individual", "delay_days")]
    paths += [("signoff", "rework_probability"), ("signoff", "budget_declined_share")]
    for kind in ("direct_payment", "notional", "third_party"):
        paths += [("budget_release", kind, "processing_delay_days")]
    return paths


def parameter_rows(config: Mapping[str, Any], *, key_only: bool = True) -> list[dict[str, str]]:
    """Rows of the scenario table: parameter, value, meaning, evidence and who set it.

    Parameters
    ----------
    config
        A resolved scenario as JSON data (``manifest.json``'s ``config``).
    key_only
        Only the key parameters (run, cohorts' demand, staffing, sign-off, payment delays);
        every leaf of the config when ``False``.

    Returns
    -------
    list of dict
        ``parameter`` (dotted key), ``value`` (formatted), ``meaning`` (the schema's field
        description), ``evidence`` (IDs from the description, see :func:`evidence_ids`; the
        nearest parent field's when the leaf names none), ``set_by`` (``"default"`` when the
        value is the schema default, else ``"scenario"``).
    """
    defaults = _default_config(config)
    if key_only:
        paths = [p for p in _key_paths(config) if _lookup(config, p)[0]]
    else:
        paths = [p for p, _ in _flatten(config) if p and p[0] not in {"name", "description"}]
    rows = []
    for path in paths:
        _found, value = _lookup(config, path)
        has_default, default = _lookup(defaults, path)
        meaning, evidence = _field_description(path)
        rows.append(
            {
                "parameter": ".".join(path),
                "value": format_value(value),
                "meaning": meaning,
                "evidence": evidence,
                "set_by": "default" if has_default and default == value else "scenario",
            }
        )
    return rows


def site_specs(scenario: Scenario) -> list[SiteConfig]:
    """Every site of a scenario, resolved.

    Parameters
    ----------
    scenario
        A validated scenario, one site or several (``[sites.<name>]``).

    Returns
    -------
    list of SiteConfig
        One per site, in the scenario's order; the scenario itself when it has one site.
    """
    return list(getattr(scenario, "site_configs", None) or [scenario])


def sites_note(scenario: Scenario) -> str:
    """Which site a description of a multi-site scenario shows.

    Parameters
    ----------
    scenario
        A validated scenario.

    Returns
    -------
    str
        ``""`` for one site, else ``" (site north, the first of 2; see the parameter table)"``.
    """
    specs = site_specs(scenario)
    if len(specs) == 1:
        return ""
    return f" (site {specs[0].site.name}, the first of {len(specs)}; see the parameter table)"


def _pivot(
    rows: Mapping[str, Mapping[str, str]],
    table: str,
    config: Mapping[str, Any],
    columns: Sequence[tuple[str, str]],
    what: str,
) -> dict[str, Any] | None:
    """Cohorts or roles as rows and their key fields as columns, evidence under each header."""
    names = list(config.get(table) or {})
    used = [
        (key, label) for key, label in columns if any(f"{table}.{n}.{key}" in rows for n in names)
    ]
    if not names or not used:
        return None
    evidence = [
        next(
            (rows[f"{table}.{n}.{key}"]["evidence"] for n in names if f"{table}.{n}.{key}" in rows),
            "",
        )
        for key, _label in used
    ]
    body = [(name, [rows.get(f"{table}.{name}.{key}") for key, _label in used]) for name in names]
    return {
        "title": "Cohorts" if table == "cohorts" else "Workforce",
        "what": what,
        "headers": [label for _key, label in used],
        "evidence": evidence,
        "rows": body,
    }


def parameter_tables(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The key parameters (pivots of cohorts and roles, then the rest) and all of them.

    The data of the ``tables`` macro of ``templates/parameters.html.j2``; ``None`` without a
    config.
    """
    if not config:
        return None
    key_rows = parameter_rows(config)
    by_name = {r["parameter"]: r for r in key_rows}
    pivots = [
        _pivot(by_name, "cohorts", config, COHORT_PARAMETER_LABELS, "cohort"),
        _pivot(by_name, "workforce", config, ROLE_PARAMETER_LABELS, "role"),
    ]
    return {
        "pivots": [p for p in pivots if p is not None],
        "others": [
            r for r in key_rows if not r["parameter"].startswith(("cohorts.", "workforce."))
        ],
        "all": parameter_rows(config, key_only=False),
    }
