"""Display names: the one mapping from column, KPI, factor and parameter names to words.

Column names say what and in which unit (``wait_referral_to_first_conversation_mean``,
``workforce.planner.headcount``); people read labels ("Mean wait, referral to first
conversation", "Planners (headcount)"). Every label shown by the console tables, the figures
and the HTML report comes from here, so a label is changed in one place.

- :data:`LABELS` and :func:`display_label`: columns and summary keys of one run;
- :func:`kpi_label`, :func:`kpi_scale`, :func:`kpi_direction`: experiment KPIs;
- :func:`factor_label`: experiment factors (dotted config keys);
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
    "factor_label",
    "kpi_axis_label",
    "kpi_direction",
    "kpi_label",
    "kpi_scale",
    "kpi_table",
    "pretty_name",
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
        "staff_hours_total": "Staff hours per person",
        "staff_cost_gbp_total": "Staff cost per person",
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
    match = re.fullmatch(r"wait_(?P<stage>.+)_(?P<stat>mean|p50|p90|median)", kpi)
    if match and match["stage"] in WAITS:
        stage = LABELS[match["stage"]]
        stat = _STAT_WORDS[match["stat"]]
        return f"{stat[:1].upper()}{stat[1:]} wait, {stage.lower()}", "days"
    match = re.fullmatch(r"(?P<what>.+)_per_(?P<per>year|quarter|month)", kpi)
    if match and match["what"] in LABELS:
        return f"{LABELS[match['what']]} per {match['per']}", f"per {match['per']}"
    if kpi.startswith("utilisation_"):
        return f"{LABELS['utilisation']}: {kpi.removeprefix('utilisation_')}", "%"
    if "cost" in kpi and "gbp" in kpi:
        return pretty_name(kpi.replace("_gbp", "")), "£"
    return display_label(kpi), ""


def kpi_scale(kpi: str) -> float:
    """Factor that turns a KPI's stored value into its display unit (100 for utilisation)."""
    return 100.0 if kpi.startswith("utilisation_") else 1.0


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


# --------------------------------------------------------------------------- console table
def _fmt_count(value: Any) -> str:
    return "n/a" if value is None else f"{int(value):,}"


def _fmt_share(count: int, total: int) -> str:
    if total == 0:
        return f"{count:,}"
    return f"{count:,} ({100.0 * count / total:.1f}%)"


def _fmt_days(stats: Mapping[str, Any]) -> str:
    if not stats.get("n"):
        return "n/a (none reached)"
    return f"mean {stats['mean']:.1f}, p90 {stats['p90']:.1f} days (n={stats['n']:,})"


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
    for role, share in summary["utilisation"].items():
        value = "n/a (no capacity limit)" if share is None else f"{100.0 * share:.1f}%"
        rows.append((f"{LABELS['utilisation']}: {role}", value))
    hours = summary["staff_hours_per_person"]["total"]
    cost = summary["staff_cost_per_person_gbp"]["total"]
    rows.append((LABELS["staff_hours_total"], "n/a" if hours is None else f"{hours:,.1f} h"))
    rows.append((LABELS["staff_cost_gbp_total"], "n/a" if cost is None else f"£{cost:,.2f}"))
    econ = summary.get("economics")
    if econ is not None:
        extra = econ["extra_per_patient"]["running_cost_gbp"]
        breakeven = econ["breakeven"]
        whole = breakeven["cost_per_patient_gbp"]
        first = next(iter(breakeven["qalys"]))  # the main threshold, £13,000 by default
        qalys = breakeven["qalys"][first]
        admissions = breakeven["admissions"]
        rows += [
            (
                LABELS["extra_running_cost_per_patient"],
                "n/a" if extra is None else f"£{extra:,.2f}",
            ),
            (LABELS["breakeven_cost_per_patient"], "n/a" if whole is None else f"£{whole:,.2f}"),
            (
                f"{LABELS['breakeven_qalys']} at £{float(first):,.0f}",
                "n/a" if qalys is None else f"{qalys:.3f}",
            ),
            (LABELS["breakeven_admissions"], "n/a" if admissions is None else f"{admissions:.2f}"),
        ]
    return rows
