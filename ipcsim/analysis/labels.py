"""Display names: the one mapping from column, KPI, factor and parameter names to words.

Column names say what and in which unit (``wait_referral_to_first_conversation_mean``,
``workforce.planner.headcount``); people read labels ("Mean wait, referral to first
conversation", "Planners (headcount)"). Every label shown by the console tables, the figures
and the HTML report comes from here, so a label is changed in one place.

- :data:`LABELS` and :func:`display_label`: columns and summary keys of one run;
- :func:`kpi_label`, :func:`kpi_scale`, :func:`kpi_direction`: experiment KPIs;
- :func:`factor_label`: experiment factors (dotted config keys); :func:`level_words`,
  :func:`scenario_label`, :func:`scenario_labels`: a scenario named by its factor levels
  ("3 planners, panel every 14 days"); :func:`kpi_group`: the group a KPI is listed under;
- :data:`COHORT_PARAMETER_LABELS`, :data:`ROLE_PARAMETER_LABELS`: the report's key parameters;
- :func:`kpi_table`: the console's headline rows of a run summary.

Pure functions on names and plain dicts: nothing here reads files or draws.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

from ipcsim.pathway import END_STATES, WAITS

__all__ = [
    "COHORT_PARAMETER_LABELS",
    "FACTOR_LABELS",
    "LABELS",
    "ROLE_PARAMETER_LABELS",
    "Direction",
    "display_label",
    "economics_table",
    "factor_label",
    "kpi_axis_label",
    "kpi_direction",
    "kpi_group",
    "kpi_groups",
    "kpi_label",
    "kpi_scale",
    "kpi_short_label",
    "kpi_table",
    "level_words",
    "pretty_name",
    "scenario_label",
    "scenario_labels",
    "wait_standard_rows",
]

Direction = Literal["lower", "higher"]
"""Whether lower or higher values of a KPI are better."""

LABELS: Mapping[str, str] = MappingProxyType(
    {
        # people and throughput
        "referred": "Referred",
        "referrals": "Referrals",
        "plans_signed_off": "Plans signed off",
        "budgets_released": "Budgets released",
        "open_cases_end": "Open cases at month end",
        # end states
        "declined": "Declined",
        "withdrawn": "Withdrawn",
        "plan_in_place": "Plan in place",
        "budget_in_place": "Budget in place",
        "in_progress": "In progress at horizon",
        # waits
        "referral_to_first_conversation": "Referral to first conversation",
        "referral_to_sign_off": "Referral to plan sign-off",
        "referral_to_budget_release": "Referral to budget release",
        "referral_to_consent": "Referral to consent",
        "consent_to_first_conversation": "Consent to first conversation",
        "first_conversation_to_plan_written": "First conversation to plan written",
        "plan_written_to_sign_off": "Plan written to sign-off",
        "sign_off_to_budget_agreed": "Sign-off to budget agreed",
        "budget_agreed_to_budget_released": "Budget agreed to budget released",
        # staff
        "utilisation": "Utilisation",
        "queue": "Queue at month end",
        "hours": "Staff hours",
        "cost": "Staff cost",
        "staff_hours_total": "Staff hours per referred person",
        "staff_cost_gbp_total": "Staff cost per referred person",
        # economics
        "extra_running_cost_per_patient": "Extra running cost per patient",
        "breakeven_cost_per_patient": "Cost per patient to recoup",
        "breakeven_qalys": "Break-even QALYs per patient",
        "breakeven_admissions": "Break-even admissions avoided per patient",
    }
)
"""Display labels by column or key name; the only place display text lives."""

_ROLE_PREFIXES = ("queue", "utilisation", "hours", "cost")


def display_label(name: str) -> str:
    """Display label of a column or key, e.g. ``queue_planner`` -> ``Queue at month end: planner``.

    Parameters
    ----------
    name
        A key of :data:`LABELS`, or ``<prefix>_<role>`` for the per-role columns ``queue_``,
        ``utilisation_``, ``hours_`` and ``cost_<role>_gbp``.

    Returns
    -------
    str
        The label; ``name`` itself when it has none.
    """
    if name in LABELS:
        return LABELS[name]
    for prefix in _ROLE_PREFIXES:
        if name.startswith(prefix + "_"):
            role = name[len(prefix) + 1 :]
            if prefix == "cost":
                role = role.removesuffix("_gbp")
            return f"{LABELS[prefix]}: {role}"
    return name


FACTOR_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "signoff.panel.interval_days": "Panel interval (days)",
        "signoff.panel.max_plans_per_sitting": "Plans reviewed per panel sitting",
        "signoff.rework_probability": "Probability of rework",
        "run.horizon_days": "Run length (days)",
    }
)
"""Labels of experiment factors that the rule in :func:`factor_label` would word badly."""

COHORT_PARAMETER_LABELS: tuple[tuple[str, str], ...] = (
    ("referrals_per_month", "referrals a month"),
    ("offer_acceptance", "accept the offer"),
    ("sessions", "planning sessions"),
    ("withdrawal_hazard_per_month_waiting", "withdraw per month waiting"),
    ("disengagement_hazard_per_month", "disengage per month planning"),
    ("budget_probability", "P(budget | plan)"),
)
"""A cohort's key parameters (field, column header) in the report's cohort table, in order."""

ROLE_PARAMETER_LABELS: tuple[tuple[str, str], ...] = (
    ("headcount", "people"),
    ("fte", "WTE"),
    ("ipc_share", "share of time for IPC"),
    ("caseload_cap", "caseload cap"),
    ("hourly_cost_gbp", "£ per hour"),
)
"""A role's key parameters (field, column header) in the report's workforce table, in order."""

_STAT_WORDS = {"mean": "mean", "p50": "median", "p90": "90th percentile", "median": "median"}

_UPPER_WORDS = {"mdt", "vcse", "ltc", "cyp", "gp", "dp", "phb"}


# --------------------------------------------------------------------------- names
def pretty_name(name: str) -> str:
    """A cohort or role name as words: ``mdt_coordinator`` -> ``MDT coordinator``.

    Parameters
    ----------
    name
        A snake-case name from a config (``planner``, ``ltc``, ``vcse_planner``).

    Returns
    -------
    str
        Underscores as spaces, known acronyms (MDT, VCSE, LTC, CYP, GP, DP, PHB) in capitals
        and the first letter capitalised: ``planner`` -> ``Planner``.
    """
    words = name.replace("_", " ").split()
    fixed = [w.upper() if w.lower() in _UPPER_WORDS else w for w in words]
    text = " ".join(fixed)
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------- KPIs and factors
def kpi_label(kpi: str) -> tuple[str, str]:
    """Display label and unit of an experiment KPI name.

    Parameters
    ----------
    kpi
        A KPI name such as ``wait_referral_to_first_conversation_mean``,
        ``plans_signed_off_per_year`` or ``utilisation_planner``.

    Returns
    -------
    (str, str)
        ``(label, unit)``, e.g. ``("Referral to first conversation: mean wait", "days")``;
        utilisation is in ``"%"`` (see :func:`kpi_scale`). Unknown names give
        ``(display_label(kpi), "")``.
    """
    match = re.fullmatch(
        r"wait_(?P<stage>.+?)_(?P<completed>completed_)?(?P<stat>mean|p50|p90|median)", kpi
    )
    if match and match["stage"] in WAITS:
        stage = LABELS[match["stage"]]
        stat = _STAT_WORDS[match["stat"]]
        only = " (completed waits only)" if match["completed"] else ""
        return f"{stat[:1].upper()}{stat[1:]} wait, {stage.lower()}{only}", "days"
    match = re.fullmatch(r"wait_(?P<stage>.+?)_(?P<what>still_waiting|longest_waiting|n)", kpi)
    if match and match["stage"] in WAITS:
        stage = LABELS[match["stage"]].lower()
        if match["what"] == "still_waiting":
            return f"Still waiting at the horizon, {stage}", "people"
        if match["what"] == "longest_waiting":
            return f"Longest wait so far at the horizon, {stage}", "days"
        return f"Completed waits, {stage}", "people"
    match = re.fullmatch(
        r"(?:share_seen|wait_(?P<stage>.+?)_share)_within_(?P<weeks>[0-9.]+)w", kpi
    )
    if match and (match["stage"] is None or match["stage"] in WAITS):
        stage = LABELS[match["stage"] or "referral_to_first_conversation"].lower()
        return f"Within {match['weeks']} weeks, {stage}", "%"
    match = re.fullmatch(r"(?P<what>.+)_last_12m", kpi)
    if match and match["what"] in LABELS:
        return f"{LABELS[match['what']]} in the last 12 months", ""
    if kpi == "overload_warnings":
        return "Overload warnings", ""
    match = re.fullmatch(r"(?P<what>.+)_per_(?P<per>year|quarter|month)", kpi)
    if match and match["what"] in LABELS:
        return f"{LABELS[match['what']]} per {match['per']}", f"per {match['per']}"
    if kpi.startswith("utilisation_"):
        return f"{LABELS['utilisation']}: {kpi.removeprefix('utilisation_')}", "%"
    if "cost" in kpi and "gbp" in kpi:
        return pretty_name(kpi.replace("_gbp", "")), "£"
    return display_label(kpi), ""


_SHORT_STATS = {"mean": "mean", "p50": "median", "median": "median", "p90": "p90"}


def kpi_short_label(kpi: str) -> str:
    """A KPI's label for a narrow column: ``Wait to first conversation, mean (days)``.

    Parameters
    ----------
    kpi
        An experiment KPI name.

    Returns
    -------
    str
        End-to-end waits as ``Wait to <milestone>``, stage waits by their stage, the statistic
        (mean, median, p90) and unit after them; other KPIs as :func:`kpi_label`, with the
        unit in brackets for days, percent and pounds.
    """
    match = re.fullmatch(r"wait_(?P<stage>.+)_(?P<stat>mean|p50|p90|median)", kpi)
    if match and match["stage"] in WAITS:
        stage = match["stage"]
        what = (
            f"Wait to {LABELS[stage].removeprefix('Referral to ')}"
            if stage.startswith("referral_to_")
            else f"Wait, {LABELS[stage].lower()}"
        )
        return f"{what}, {_SHORT_STATS[match['stat']]} (days)"
    label, unit = kpi_label(kpi)
    return f"{label} ({unit})" if unit in {"days", "%", "£"} else label


def kpi_scale(kpi: str) -> float:
    """Factor that turns a KPI's stored value into its display unit (100 for utilisation)."""
    return 100.0 if kpi.startswith("utilisation_") or _is_share(kpi) else 1.0


def _is_share(kpi: str) -> bool:
    return bool(re.fullmatch(r"(?:share_seen|wait_.+_share)_within_[0-9.]+w", kpi))


def kpi_axis_label(kpi: str) -> str:
    """Axis label of a KPI: its label, and its unit in brackets unless it is a rate."""
    label, unit = kpi_label(kpi)
    return f"{label} ({unit})" if unit and not unit.startswith("per ") else label


def kpi_direction(kpi: str) -> Direction:
    """Whether lower or higher values of a KPI are better, guessed from its name.

    Waits, queues, costs and utilisation are better lower; throughput (plans, budgets,
    referrals) is better higher. Callers should pass the direction explicitly when it matters.
    """
    if any(word in kpi for word in ("signed_off", "budgets_released", "plan_in_place")):
        return "higher"
    if "budget_in_place" in kpi or kpi.startswith(("throughput", "referrals")):
        return "higher"
    if _is_share(kpi):
        return "higher"
    return "lower"


def factor_label(key: str) -> str:
    """Display label of an experiment factor (a dotted config key), with its unit.

    Examples
    --------
    >>> factor_label("workforce.planner.headcount")
    'Planners (headcount)'
    >>> factor_label("signoff.panel.interval_days")
    'Panel interval (days)'
    """
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "workforce":
        role = pretty_name(parts[1])
        field = parts[2]
        if field == "headcount":
            return f"{role}s (headcount)"
        if field == "fte":
            return f"{role} WTE"
        if field == "ipc_share":
            return f"{role}: share of time for IPC"
        if field == "caseload_cap":
            return f"{role}: caseload cap (people)"
        return f"{role}: {field.replace('_', ' ')}"
    if len(parts) == 3 and parts[0] == "cohorts" and parts[2] == "referrals_per_month":
        return f"{pretty_name(parts[1])}: referrals per month"
    if key in FACTOR_LABELS:
        return FACTOR_LABELS[key]
    last = parts[-1]
    unit = ""
    for suffix, word in (
        ("_days", "days"),
        ("_hours", "hours"),
        ("_gbp", "£"),
        ("_minutes", "min"),
    ):
        if last.endswith(suffix):
            last, unit = last.removesuffix(suffix), word
    text = " ".join(pretty_name(p) for p in parts[:-1][-1:]) + (": " if len(parts) > 1 else "")
    text += last.replace("_", " ")
    return f"{text} ({unit})" if unit else text


# --------------------------------------------------------------------------- scenario names
def _number_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,g}" if abs(value) >= 1e4 else f"{value:g}"


def _noun(name: str) -> str:
    """A role or cohort name in running text: ``mdt_coordinator`` -> ``MDT coordinator``."""
    words = name.replace("_", " ").split()
    return " ".join(w.upper() if w.lower() in _UPPER_WORDS else w.lower() for w in words)


def _plural(count: Any, noun: str) -> str:
    one = isinstance(count, int | float) and not isinstance(count, bool) and count == 1
    return f"{_number_text(count)} {noun}{'' if one else 's'}"


def level_words(factor: str, value: Any) -> str:
    """A factor at one level, in words: ``3 planners``, ``panel every 14 days``.

    Parameters
    ----------
    factor
        A dotted config key (or ``base`` for the base scenario of a multi-base experiment).
    value
        Its level.

    Returns
    -------
    str
        Short words for common factors (staff headcount, WTE and IPC share, referrals a month,
        the panel's interval and cap); otherwise the factor's label and the level.

    Examples
    --------
    >>> level_words("workforce.planner.headcount", 3)
    '3 planners'
    >>> level_words("cohorts.ltc_frailty.referrals_per_month", 24.0)
    '24 LTC frailty referrals a month'
    """
    parts = factor.split(".")
    if factor == "base":
        return f"base {value}"
    if len(parts) == 3 and parts[0] == "workforce":
        role, field = _noun(parts[1]), parts[2]
        if field == "headcount":
            return f"unlimited {role}s" if value == "unlimited" else _plural(value, role)
        if field == "fte":
            return f"{_number_text(value)} {role} WTE"
        if field == "ipc_share" and isinstance(value, int | float):
            return f"{role}s {100 * value:g}% on IPC"
        if field == "caseload_cap":
            return f"{role} caseload cap {_number_text(value)}"
    if len(parts) == 3 and parts[0] == "cohorts" and parts[2] == "referrals_per_month":
        return f"{_number_text(value)} {_noun(parts[1])} referrals a month"
    if factor == "signoff.panel.interval_days":
        return f"panel every {_number_text(value)} days"
    if factor == "signoff.panel.max_plans_per_sitting":
        return _plural(value, "plan") + " a sitting"
    if factor == "run.horizon_days":
        return f"{_number_text(value)}-day run"
    label = factor_label(factor)
    name, _, unit = label.partition(" (")
    unit = unit.removesuffix(")")
    shown = f"£{_number_text(value)}" if unit == "£" else _number_text(value)
    return f"{name[:1].lower()}{name[1:]} {shown}" + (f" {unit}" if unit and unit != "£" else "")


def scenario_label(levels: Mapping[str, Any]) -> str:
    """A scenario named by its factor levels: ``3 planners, panel every 14 days``.

    Parameters
    ----------
    levels
        Factor -> level, in the order to show (only the factors that vary, for short names).

    Returns
    -------
    str
        The factors' :func:`level_words` joined by commas; empty when there are none.
    """
    return ", ".join(level_words(f, v) for f, v in levels.items() if v is not None)


MAX_LABELLED_FACTORS = 3
"""Scenarios of experiments that vary more factors (designs) keep their ids as names."""


def scenario_labels(
    scenarios: Any, factors: list[str] | tuple[str, ...], *, id_column: str = "scenario"
) -> dict[str, str]:
    """Readable names of an experiment's scenarios, by scenario id.

    Parameters
    ----------
    scenarios
        A frame with the scenario id column and one column per factor
        (``scenarios.parquet``), one row per scenario.
    factors
        The factor columns, in order.
    id_column
        The id column.

    Returns
    -------
    dict
        Scenario id -> :func:`scenario_label` of the factors whose level differs between
        scenarios. The id itself when no factor varies, or when more than
        :data:`MAX_LABELLED_FACTORS` do (a design's points are told apart by id).
    """
    ids = [str(s) for s in scenarios[id_column]]
    present = [f for f in factors if f in scenarios.columns]
    varying = [f for f in present if scenarios[f].astype(str).nunique() > 1]
    if not varying or len(varying) > MAX_LABELLED_FACTORS:
        return {s: s for s in ids}
    labels = {}
    for sid, (_, row) in zip(ids, scenarios.iterrows(), strict=True):
        values = {f: row[f] for f in varying}
        levels = {f: (v.item() if hasattr(v, "item") else v) for f, v in values.items()}
        labels[sid] = scenario_label(levels) or sid
    return labels


_KPI_GROUPS = ("People", "Throughput", "Waits", "Utilisation", "Staff time and cost", "Other")
"""The groups :func:`kpi_group` sorts KPIs into, in the order they are listed."""


def kpi_group(kpi: str) -> str:
    """The group a KPI is listed under: People, Throughput, Waits, Utilisation, ...

    Parameters
    ----------
    kpi
        An experiment KPI name.

    Returns
    -------
    str
        ``People`` (referrals and how they ended), ``Throughput`` (plans and budgets),
        ``Waits`` (``wait_*`` and shares seen within a time), ``Utilisation``, ``Staff time
        and cost``, or ``Other``; :data:`_KPI_GROUPS` gives their order.
    """
    if kpi.startswith(("wait_", "share_seen", "still_waiting")):
        return "Waits"
    if kpi.startswith(("utilisation_", "queue_")):
        return "Utilisation"
    if kpi.startswith(("staff_", "cost_", "hours_")) or "cost" in kpi or "_gbp" in kpi:
        return "Staff time and cost"
    if kpi.startswith(("plans_", "budgets_", "throughput")):
        return "Throughput"
    if kpi in END_STATES or kpi in {"referred", "referrals"} or kpi.startswith("people_"):
        return "People"
    return "Other"


def kpi_groups(kpis: list[str] | tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """KPIs grouped by :func:`kpi_group`, groups in their fixed order, KPIs as given."""
    grouped: dict[str, list[str]] = {g: [] for g in _KPI_GROUPS}
    for kpi in kpis:
        grouped[kpi_group(kpi)].append(kpi)
    return [(g, members) for g, members in grouped.items() if members]


# --------------------------------------------------------------------------- console table
def _fmt_count(value: Any) -> str:
    return "n/a" if value is None else f"{int(value):,}"


def _fmt_share(count: int, total: int) -> str:
    if total == 0:
        return f"{count:,}"
    return f"{count:,} ({100.0 * count / total:.1f}%)"


def _fmt_day(value: float | None, known_to: float | None) -> str:
    if value is not None:
        return f"{value:.0f}"
    # Too many still waiting for the percentile to be reached: it is beyond the longest wait.
    return "n/a" if known_to is None else f"over {known_to:.0f}"


def _fmt_days(stats: Mapping[str, Any]) -> str:
    """A wait: median and p90 counting those still waiting, and how many still wait."""
    if not stats.get("started"):
        return "n/a (nobody started it)"
    known_to = stats.get("restricted_to_days")
    if not stats.get("completed"):
        text = "none completed"
    else:
        median, p90 = _fmt_day(stats["p50"], known_to), _fmt_day(stats["p90"], known_to)
        text = f"median {median}, p90 {p90} days"
    waiting = int(stats.get("still_waiting") or 0)
    if waiting:
        text += f"; {waiting:,} still waiting (longest {stats['longest_waiting']:.0f})"
    return text


def _fmt_percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100.0 * value:.0f}%"


def wait_standard_rows(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Rows ``(label, share)`` of every waiting standard in ``summary`` (``share_within_*``)."""
    rows = []
    for stage, stats in (summary.get("waits_days") or {}).items():
        for key, value in stats.items():
            if key.startswith("share_within_"):
                weeks = key.removeprefix("share_within_").removesuffix("w")
                rows.append((f"{LABELS[stage]}: within {weeks} weeks", _fmt_percent(value)))
    return rows


def kpi_table(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Rows of the console headline table.

    Parameters
    ----------
    summary
        A dict from :func:`ipcsim.analysis.metrics.summary`.

    Returns
    -------
    list of (str, str)
        ``(label, formatted value)``: referred, plans signed off, budgets released, each end
        state (count and share of referrals), mean and 90th percentile of the end-to-end waits
        (days), utilisation by role (percent), staff hours (hours) and cost (pounds) per
        referred person.
    """
    people = summary["people"]
    quarters = summary["throughput_per_quarter"]
    referred = int(people["referred"])
    rows = [
        (LABELS["referred"], _fmt_count(referred)),
        (LABELS["plans_signed_off"], _fmt_count(sum(q["plans_signed_off"] for q in quarters))),
        (LABELS["budgets_released"], _fmt_count(sum(q["budgets_released"] for q in quarters))),
    ]
    rows += [(LABELS[state], _fmt_share(int(people[state]), referred)) for state in END_STATES]
    for name in (
        "referral_to_first_conversation",
        "referral_to_sign_off",
        "referral_to_budget_release",
    ):
        rows.append((LABELS[name], _fmt_days(summary["waits_days"][name])))
    rows += wait_standard_rows(summary)
    for role, share in summary["utilisation"].items():
        value = "n/a (no capacity limit)" if share is None else f"{100.0 * share:.1f}%"
        rows.append((f"{LABELS['utilisation']}: {role}", value))
    hours = summary["staff_hours_per_person"]["total"]
    cost = summary["staff_cost_per_person_gbp"]["total"]
    rows.append((LABELS["staff_hours_total"], "n/a" if hours is None else f"{hours:,.1f} h"))
    rows.append((LABELS["staff_cost_gbp_total"], "n/a" if cost is None else f"£{cost:,.2f}"))
    return rows


def economics_table(summary: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """Rows of the console economics table: ``(label, value, what it counts)``.

    Parameters
    ----------
    summary
        A run's summary with its ``economics`` entry (:func:`ipcsim.analysis.costs.cost_run`).

    Returns
    -------
    list of (str, str, str)
        The extra running cost per patient, the cost per patient to recoup (with the set-up
        cost it includes, marked as the evidence default when the scenario did not set it),
        break-even QALYs and admissions; empty when the summary has no economics.
    """
    econ = summary.get("economics")
    rows: list[tuple[str, str, str]] = []
    if econ is not None:
        extra = econ["extra_per_patient"]["running_cost_gbp"]
        breakeven = econ["breakeven"]
        whole = breakeven["cost_per_patient_gbp"]
        first = next(iter(breakeven["qalys"]))  # the main threshold, £13,000 by default
        qalys = breakeven["qalys"][first]
        admissions = breakeven["admissions"]
        patients = f"{int(econ.get('patients') or 0):,} patients"
        milestone = str(econ.get("patient_milestone", "")).replace("_", " ")
        setup = econ.get("setup_cost_per_site_year_gbp")
        shown = (
            f"£{setup:,.0f}"
            if isinstance(setup, int | float)
            else "/".join(f"£{v:,.0f}" for v in setup or ())
        )
        setup_note = (
            f"set-up of {shown} a site-year as configured"
            if econ.get("setup_cost_configured")
            else f"set-up at the evidence default, {shown} a site-year (P66; not configured)"
        )
        rows += [
            (
                LABELS["extra_running_cost_per_patient"],
                "n/a" if extra is None else f"£{extra:,.2f}",
                f"running cost over standard care, per {milestone} patient ({patients})",
            ),
            (
                LABELS["breakeven_cost_per_patient"],
                "n/a" if whole is None else f"£{whole:,.2f}",
                f"extra running cost plus {setup_note}, per patient",
            ),
            (
                f"{LABELS['breakeven_qalys']} at £{float(first):,.0f}",
                "n/a" if qalys is None else f"{qalys:.3f}",
                "QALYs a patient must gain to recoup it",
            ),
            (
                LABELS["breakeven_admissions"],
                "n/a" if admissions is None else f"{admissions:.2f}",
                "emergency admissions a patient must avoid to recoup it",
            ),
        ]
    return rows
