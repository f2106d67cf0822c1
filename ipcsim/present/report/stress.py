"""The STRESS-DES items of the report, filled from a folder's config and manifest.

STRESS-DES (Monks et al. 2019) lists what a report of a discrete-event simulation study should
say, in six sections: objectives, logic, data, experimentation, implementation and code
access. One function per section gathers the facts; the wording and markup of every item is a
macro of ``templates/stress.html.j2``. Items a person must still write are marked "TO WRITE".

References
----------
.. [1] Monks, T., Currie, C. S. M., Onggo, B. S., Robinson, S., Kunc, M. and Taylor, S. J. E.
   (2019). Strengthening the reporting of empirical simulation studies: Introducing the
   STRESS guidelines. *Journal of Simulation* 13(1), 55-67.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from ipcsim.analysis.labels import factor_label, kpi_groups, kpi_label
from ipcsim.present.report import templating
from ipcsim.present.report.folders import ExperimentFolder, Folder, manifest_spec
from ipcsim.present.report.parameters import (
    EVIDENCE_ID,
    format_value,
    parameter_rows,
    site_specs,
    sites_note,
)
from ipcsim.scenario import Scenario

__all__ = ["PROJECT_QUESTION", "StressItem", "folder_question", "report_question", "stress_items"]

PROJECT_QUESTION = (
    "If we grow personalised care from 50 plans a year to 5,000, how many planners, panel "
    "sittings and finance officers do we need, how long will people wait, and what does it "
    "cost per person?"
)
"""The question ipcsim answers (README)."""


def report_question(question: str | None, *fallbacks: str | None) -> str:
    """The question a report opens with: the user's own, when there is one.

    Parameters
    ----------
    question
        The question the scenario or experiment file states (its ``question`` field).
    *fallbacks
        Texts to use, in order, when there is no question (a description).

    Returns
    -------
    str
        The first non-blank of ``question`` and ``fallbacks``, white space collapsed; else
        :data:`PROJECT_QUESTION`, the question ipcsim as a whole answers.
    """
    for text in (question, *fallbacks):
        if isinstance(text, str) and text.strip():
            return " ".join(text.split())
    return PROJECT_QUESTION


def folder_question(folder: Folder) -> str:
    """The question a folder's report opens with (see :func:`report_question`).

    An experiment's is the one its manifest records (the spec's ``question``, else its
    ``description``, else the base scenario's), or for older folders the spec's question or
    description. A run's is its scenario's ``question`` (when scenarios have one), else
    :data:`PROJECT_QUESTION`.
    """
    if isinstance(folder, ExperimentFolder):
        spec = manifest_spec(folder.manifest)
        description = folder.scenario.description if folder.scenario is not None else None
        return report_question(
            folder.manifest.get("question"),
            spec.get("question"),
            spec.get("description"),
            description,
        )
    config = folder.config or {}
    scenario = folder.scenario
    return report_question(
        scenario.question if scenario is not None else config.get("question"),
        scenario.description if scenario is not None else config.get("description"),
    )


_SHOWN_ASSUMPTIONS = 12
"""Assumed parameters named in item 3.4 (the rest are counted)."""


@dataclass(frozen=True)
class StressItem:
    """One STRESS-DES item: its number, name, HTML content and whether it is still to write."""

    number: str
    name: str
    content: str
    todo: bool = False


def _item(number: str, name: str, content: Any, todo: bool = False) -> StressItem:
    return StressItem(number, name, str(content), todo)


def _search(data: Any, names: Sequence[str], depth: int = 0) -> Any:
    """The first value under any of ``names`` in nested mappings (breadth-first by level)."""
    if not isinstance(data, Mapping) or depth > 3:
        return None
    for name in names:
        if name in data and data[name] is not None:
            return data[name]
    for value in data.values():
        if isinstance(value, Mapping) and value is not data.get("config"):
            found = _search(value, names, depth + 1)
            if found is not None:
                return found
    return None


def _versions(manifest: Mapping[str, Any]) -> str:
    versions = manifest.get("versions")
    if not isinstance(versions, Mapping):
        return ""
    python = versions.get("python")
    parts = [f"Python {python}"] if python else []
    parts += [f"{k} {v}" for k, v in versions.items() if k != "python"]
    return ", ".join(parts)


# --------------------------------------------------------------------------- sentences
def _warmup_text(warmup: Any, manifest: Mapping[str, Any]) -> str:
    """What warm-up was removed, from the manifest's ``warmup`` record."""
    if not isinstance(warmup, Mapping):
        return f"Warm-up: {format_value(warmup)}."
    mode = str(warmup.get("mode", "")).lower()
    if mode in {"none", ""} and not warmup.get("days"):
        return "No warm-up period is removed (the spec asks for none)."
    if mode == "fixed":
        return f"A fixed warm-up of {format_value(warmup.get('days'))} days is removed."
    days = manifest.get("warmup_days") or warmup.get("days")
    pilots = manifest_spec(manifest).get("warmup", {}).get("pilot_replications", "pilot")
    text = (
        "Warm-up chosen by MSER-5 (White et al.) on the mean weekly series of "
        f"{format_value(pilots)} pilot replications of the baseline"
        if "mser" in mode
        else f"Warm-up mode {mode}"
    )
    if isinstance(days, Mapping) and days:
        values = [float(v) for v in days.values() if isinstance(v, int | float)]
        spec_kpis = [k for k in manifest_spec(manifest).get("kpis") or () if k in days]
        shown = ", ".join(f"{k} {float(days[k]):g} d" for k in spec_kpis)
        text += (
            f", one truncation per KPI from {min(values):g} to {max(values):g} days"
            + (f" ({shown})" if shown else "")
            if values
            else ""
        )
    elif isinstance(days, int | float):
        text += f": {float(days):g} days"
    return text + ". Each KPI then uses only the time after its warm-up."


def _cohort_text(scenario: Scenario) -> str:
    """Who is simulated: the cohorts and their referral rates (item 2.5.1)."""
    specs = site_specs(scenario)
    rows = [
        f"{c.label or name} ({name}): {c.referrals_per_month:g} referrals a month"
        for name, c in specs[0].cohorts.items()
    ]
    text = "People referred to IPC, one SimPy process each, in cohorts: "
    if len(specs) > 1:
        total = sum(c.referrals_per_month for spec in specs for c in spec.cohorts.values())
        text = (
            f"People referred to IPC at {len(specs)} sites ({total:g} referrals a month in "
            f"all), one SimPy process each; at {specs[0].site.name}: "
        )
    return text + "; ".join(rows) + "."


def _resource_text(scenario: Scenario) -> str:
    """The staff pools: WTE, IPC hours and cost of each role (item 2.5.3)."""
    rows = []
    for name, role in sorted(site_specs(scenario)[0].workforce.items()):
        if role.unlimited:
            rows.append(f"{name}: unlimited")
            continue
        fte = sum(role.member_fte())
        cap = f", caseload cap {role.caseload_cap}" if role.caseload_cap else ""
        rows.append(
            f"{name}: {fte:g} WTE, {role.ipc_hours_per_week():.1f} IPC hours a week "
            f"per WTE, £{role.hourly_cost_gbp:g}/h{cap}"
        )
    return (
        "Staff pools in working hours: each person earns IPC hours while their working "
        "window is open (contracted hours x IPC share x (1 - leave share)) and banks at "
        f"most one week of them{sites_note(scenario)}. " + "; ".join(rows) + "."
    )


def _signoff_text(scenario: Scenario) -> str:
    """Sign-off as the active mode describes itself, and the shares returned or declined."""
    s = site_specs(scenario)[0].signoff
    return (
        f"Sign-off by {s.describe().text}; {s.rework_probability:.0%} of plans are returned "
        f"for rework (one more conversation, then resubmission), "
        f"{s.plan_decline_probability:.0%} declined; {s.budget_declined_share:.0%} of "
        f"the requested budget amount is declined{sites_note(scenario)}."
    )


# --------------------------------------------------------------------------- sections
def _output_groups(folder: ExperimentFolder) -> tuple[list[tuple[str, list[str]]], int]:
    """The KPIs item 1.2 lists, grouped with display labels: the spec's, else all.

    Returns the groups ``(group, [label, ...])`` and how many KPIs the summary holds in all.
    """
    present = list(dict.fromkeys(folder.summary["kpi"].astype(str)))
    spec_kpis = [k for k in manifest_spec(folder.manifest).get("kpis") or () if k in present]
    chosen = spec_kpis or present
    groups = [
        # "Utilisation: Utilisation: planner" would say the group twice
        (group, [kpi_label(k)[0].removeprefix(f"{group}: ") for k in kpis])
        for group, kpis in kpi_groups(chosen)
    ]
    return groups, len(present)


def _objectives(folder: Folder, t: Any, question: str | None = None) -> list[StressItem]:
    """1.1-1.3: purpose, outputs and experimentation aims."""
    scenario = folder.scenario
    description = scenario.description if scenario is not None else ""
    asked = question or folder_question(folder)
    if " ".join(description.split()) == asked:
        description = ""
    items = [_item("1.1", "Purpose of the model", t.purpose(asked, description))]
    if isinstance(folder, ExperimentFolder):
        groups, total = _output_groups(folder)
        outputs = t.outputs_experiment(groups, total)
    else:
        outputs = t.outputs_run()
    items.append(_item("1.2", "Model outputs", outputs))
    if not isinstance(folder, ExperimentFolder):
        items.append(_item("1.3", "Experimentation aims", t.aims_run(), todo=True))
        return items
    question = _search(folder.manifest, ("question", "objective", "objectives"))
    if not (isinstance(question, str) and question.strip()):
        question = manifest_spec(folder.manifest).get("description")
    if not (isinstance(question, str) and question.strip()):
        question = ""
    factors = "; ".join(
        f"{factor_label(f)} ({f}): "
        + ", ".join(format_value(v) for v in sorted(folder.scenarios[f].dropna().unique(), key=str))
        for f in folder.factors
    )
    name = folder.names.get(folder.baseline, folder.baseline)
    baseline = folder.baseline + (f" ({name})" if name != folder.baseline else "")
    aims = t.aims_experiment(question, factors, baseline)
    items.append(_item("1.3", "Experimentation aims", aims, todo=not question))
    return items


def _logic(folder: Folder, t: Any, pathway_image: str | None) -> list[StressItem]:
    """2.1-2.5: diagram, logic, scenarios, algorithms and the model's components."""
    scenario = folder.scenario
    items = [
        _item(
            "2.1",
            "Base model overview diagram",
            t.diagram(Markup(pathway_image) if pathway_image else ""),
            todo=not pathway_image,
        )
    ]
    if scenario is not None:
        logic = t.logic(scenario.pathway.lead_role, _signoff_text(scenario))
    else:
        logic = t.logic(None, "")
    items.append(_item("2.2", "Base model logic", logic, todo=scenario is None))
    if isinstance(folder, ExperimentFolder):
        names = folder.names
        rows = [
            (
                str(row["scenario"])
                + (
                    f": {names[str(row['scenario'])]}"
                    if names.get(str(row["scenario"]), str(row["scenario"])) != str(row["scenario"])
                    else ""
                ),
                str(row["scenario"]) == folder.baseline,
                ", ".join(f"{f} = {format_value(row[f])}" for f in folder.factors),
            )
            for _, row in folder.scenarios.iterrows()
        ]
        items.append(_item("2.3", "Scenario logic", t.scenario_logic_experiment(rows)))
    else:
        items.append(_item("2.3", "Scenario logic", t.scenario_logic_run()))
    items.append(_item("2.4", "Algorithms", t.algorithms()))
    if scenario is None:
        return items
    first = site_specs(scenario)[0]
    lead_role = first.workforce.get(first.pathway.lead_role)
    cap = lead_role.caseload_cap if lead_role is not None else None
    per_sitting = first.signoff.describe().max_plans_per_sitting
    items += [
        _item("2.5.1", "Entities", t.entities(_cohort_text(scenario))),
        _item("2.5.2", "Activities", t.activities()),
        _item("2.5.3", "Resources", t.resources(_resource_text(scenario))),
        _item("2.5.4", "Queues", t.queues(cap, per_sitting)),
        _item("2.5.5", "Entry and exit points", t.entry_exit()),
    ]
    return items


def _data(folder: Folder, t: Any) -> list[StressItem]:
    """3.1-3.4: data sources, pre-processing, input parameters and assumptions."""
    config = folder.config or {}
    all_rows = parameter_rows(config, key_only=False) if config else []
    with_ids = sum(1 for r in all_rows if EVIDENCE_ID.search(r["evidence"]))
    assumed = [r["parameter"] for r in all_rows if r["evidence"] == "assumption"]
    scenario = folder.scenario
    backlog = getattr(scenario, "initial_state", None) if scenario is not None else None
    return [
        _item("3.1", "Data sources", t.data_sources(len(all_rows), with_ids, len(assumed))),
        _item("3.2", "Pre-processing", t.pre_processing(), todo=True),
        _item("3.3", "Input parameters", t.input_parameters()),
        _item(
            "3.4",
            "Assumptions",
            t.assumptions(
                len(assumed),
                assumed[:_SHOWN_ASSUMPTIONS],
                max(0, len(assumed) - _SHOWN_ASSUMPTIONS),
                bool(backlog),
            ),
        ),
    ]


def _replication_rule(manifest: Mapping[str, Any]) -> tuple[str, Any, Any]:
    """How replications were chosen: ``(kind, value, limit)`` for item 4.3."""
    rule = manifest_spec(manifest).get("replications") or _search(
        manifest, ("replication_rule", "precision", "relative_precision")
    )
    if isinstance(rule, Mapping) and rule.get("mode") == "fixed":
        return "fixed", rule.get("n"), None
    if isinstance(rule, Mapping) and rule.get("mode"):
        return "precision", format_value(rule.get("relative_precision")), rule.get("max")
    if rule is not None:
        return "other", format_value(rule), None
    return "", None, None


def _experimentation(folder: Folder, t: Any) -> list[StressItem]:
    """4.1-4.3: initialisation, run length and estimation approach."""
    manifest, scenario = folder.manifest, folder.scenario
    if scenario is not None:
        start = scenario.run.start_date.isoformat()
        horizon = scenario.run.horizon_days
    else:
        start, horizon = "unknown", math.nan
    backlog = getattr(scenario, "initial_state", None) if scenario is not None else None
    items = []
    if isinstance(folder, ExperimentFolder):
        warmup = _search(manifest, ("warmup", "warm_up", "warmup_days", "warm_up_days"))
        text = _warmup_text(warmup, manifest) if warmup is not None else ""
        init = t.initialisation_experiment(start, backlog, text)
        items.append(_item("4.1", "Initialisation", init, todo=warmup is None))
    else:
        items.append(_item("4.1", "Initialisation", t.initialisation_run(start, backlog)))
    items.append(_item("4.2", "Run length", t.run_length(horizon, start)))
    if isinstance(folder, ExperimentFolder):
        reps = folder.replications.groupby("scenario")["replication"].nunique()
        rep_text = (
            f"{int(reps.min())}"
            if reps.min() == reps.max()
            else f"{int(reps.min())}-{int(reps.max())}"
        )
        seed = _search(manifest, ("master_seed", "seed"))
        estimation = t.estimation_experiment(
            rep_text,
            len(reps),
            seed if seed is not None else "not recorded",
            _replication_rule(manifest),
        )
    else:
        estimation = t.estimation_run(manifest.get("seed", "not recorded"))
    items.append(_item("4.3", "Estimation approach", estimation))
    return items


def _implementation(folder: Folder, t: Any) -> list[StressItem]:
    """5.1-5.4: software, random sampling, model execution and the system it ran on."""
    manifest = folder.manifest
    streams = manifest.get("rng_streams")
    found_platform = manifest.get("platform")
    platform: Mapping[str, Any] = found_platform if isinstance(found_platform, Mapping) else {}
    wall = _search(manifest, ("wall_time_s",))
    system = ", ".join(
        str(v)
        for v in (
            platform.get("system"),
            platform.get("machine"),
            f"{platform.get('cpu_count')} CPUs" if platform.get("cpu_count") else None,
        )
        if v
    )
    wall_text = f"{float(wall):.1f} s" if isinstance(wall, int | float) else "not recorded"
    created = manifest.get("created_utc", _search(manifest, ("created_utc",)) or "unknown")
    return [
        _item(
            "5.1",
            "Software",
            t.software(manifest.get("ipcsim_version", "unknown"), _versions(manifest)),
        ),
        _item(
            "5.2",
            "Random sampling",
            t.random_sampling(f"{len(streams)} named" if isinstance(streams, list) else "named"),
        ),
        _item("5.3", "Model execution", t.execution()),
        _item("5.4", "System specification", t.system(system, wall_text, created)),
    ]


def _code_access(folder: Folder, t: Any) -> list[StressItem]:
    """6.1: where the code is (always left for a person to complete)."""
    commit = _search(folder.manifest, ("git_commit",))
    dirty = _search(folder.manifest, ("git_dirty",))
    state = ("with uncommitted changes" if dirty else "clean") if dirty is not None else ""
    sharing = t.sharing(commit, state)
    return [_item("6.1", "Computer model sharing statement", sharing, todo=True)]


def stress_items(
    folder: Folder, *, pathway_image: str | None = None, question: str | None = None
) -> list[StressItem]:
    """The STRESS-DES items, filled from the folder's config and manifest.

    Parameters
    ----------
    folder
        From :func:`~ipcsim.present.report.folders.read_folder`.
    pathway_image
        HTML of the pathway diagram for item 2.1 (an ``<img>``), if drawn.
    question
        The study's question for item 1.1 (default: :func:`folder_question`).

    Returns
    -------
    list of StressItem
        Items 1.1-6.1 of STRESS-DES, ``content`` as HTML; ``todo`` is True where the content
        must still be written by a person (its text then says what to write).
    """
    t = templating.macros("stress.html.j2")
    return [
        *_objectives(folder, t, question),
        *_logic(folder, t, pathway_image),
        *_data(folder, t),
        *_experimentation(folder, t),
        *_implementation(folder, t),
        *_code_access(folder, t),
    ]
