"""KPIs of one replication: flat names, values after a warm-up, and series for MSER-5.

Pure functions on a run's frames and summary (no SimPy, no files). A run is anything with the
attributes of :class:`RunOutputs` (:class:`ipcsim.run.RunResult` has them all).

KPIs
----
Flat snake_case names, one value per replication (NaN where undefined, e.g. a wait nobody
completed, or the utilisation of an unlimited role):

- ``referred`` and the end states ``declined``, ``withdrawn``, ``plan_in_place``,
  ``budget_in_place``, ``in_progress``: people (counts);
- ``plans_signed_off``, ``budgets_released``: events in the window (counts);
  ``plans_signed_off_per_year``, ``budgets_released_per_year``: the same per 365.25 days;
- ``plans_signed_off_last_12m``, ``budgets_released_last_12m``: events in the last 12 months
  of the run (counts; the rate the service ended at);
- ``wait_<stage>_mean`` (restricted mean), ``wait_<stage>_p50``, ``wait_<stage>_p90`` (days):
  product-limit estimates counting the people still waiting
  (:mod:`ipcsim.analysis.waits`); ``wait_<stage>_completed_mean``, ``_completed_p50``,
  ``_completed_p90`` (days): the same over completed waits only; ``wait_<stage>_n`` (people
  who completed the wait), ``wait_<stage>_still_waiting`` (people waiting at the horizon) and
  ``wait_<stage>_longest_waiting`` (days waited so far by the longest-waiting of them), for
  each stage of :data:`ipcsim.pathway.WAITS`:
  ``referral_to_first_conversation``, ``referral_to_sign_off``, ``referral_to_budget_release``,
  ``referral_to_consent``, ``consent_to_first_conversation``,
  ``first_conversation_to_plan_written``, ``plan_written_to_sign_off``,
  ``sign_off_to_budget_agreed``, ``budget_agreed_to_budget_released``;
- ``share_seen_within_<N>w`` (the first conversation) and ``wait_<stage>_share_within_<N>w``
  (other waits): share of waits ended within ``N`` weeks, for each waiting standard of the
  scenario's ``[reporting] within_weeks`` (fraction; see
  :func:`ipcsim.analysis.waits.share_within`);
- ``overload_warnings``: how many overload warnings the run gave
  (:mod:`ipcsim.analysis.stability`);
- ``utilisation_<role>``: hours worked / IPC hours available (fraction);
- ``staff_hours_per_person`` (hours) and ``staff_cost_per_person_gbp`` (pounds), totals per
  referred person, and ``staff_hours_per_person_<role>``, ``staff_cost_per_person_gbp_<role>``.

Warm-up and windows
-------------------
With a warm-up of ``W`` days, people KPIs (counts, waits, staff time per person) use only
people referred on or after day ``W``; throughput counts sign-offs and releases dated in
``[W, horizon]`` (the steady-state rate, including people referred earlier), per year of that
window; utilisation counts work starting in ``[W, horizon]`` over the hours available then.

A window ``[W, E)`` ending before the horizon (a period of a staffing plan over time) does the
same for people referred in it, events dated in it and work starting in it; their waits are
still followed to the horizon, counting those still waiting then (censored), so a run that
goes on past ``E`` measures the waits of the window's people. ``_last_12m`` and
``overload_warnings`` stay the whole run's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ipcsim.analysis import metrics
from ipcsim.pathway import END_STATES, WAITS
from ipcsim.periods import month_starts
from ipcsim.scenario import Scenario
from ipcsim.units import DAYS_PER_YEAR

__all__ = [
    "WAIT_STATS",
    "RunOutputs",
    "compute_kpis",
    "flatten_summary",
    "kpi_definition",
    "kpi_names",
    "kpi_series",
    "number_or_nan",
    "within_kpi",
]

WAIT_STATS = (
    "mean",
    "p50",
    "p90",
    "n",
    "still_waiting",
    "longest_waiting",
    "completed_mean",
    "completed_p50",
    "completed_p90",
)
"""Statistics reported for each wait of :data:`ipcsim.pathway.WAITS` (see module notes)."""


def within_kpi(stage: str, weeks: float) -> str:
    """Name of the KPI "share of ``stage`` waits ended within ``weeks`` weeks"."""
    if stage == "referral_to_first_conversation":
        return f"share_seen_within_{weeks:g}w"
    return f"wait_{stage}_share_within_{weeks:g}w"


def _wait_value(waits: Mapping[str, Any], stat: str) -> float:
    """A statistic of :data:`WAIT_STATS` from a wait's summary entry."""
    if stat.startswith("completed_"):
        return number_or_nan(waits["completed_only"][stat.removeprefix("completed_")])
    if stat == "n":
        return float(waits["completed"])
    return number_or_nan(waits[stat])


class RunOutputs(Protocol):
    """What the KPI functions read of a run (:class:`ipcsim.run.RunResult` has it all).

    Notes
    -----
    The scenario gives the horizon, start date and roles; the summary is
    :func:`ipcsim.analysis.metrics.summary` of the run; a ``capacity`` frame in ``frames`` (IPC
    hours per role and month) is used when present.
    """

    @property
    def scenario(self) -> Scenario:
        """The scenario run."""

    @property
    def summary(self) -> Mapping[str, Any]:
        """The run's summary."""

    @property
    def people(self) -> pd.DataFrame:
        """One row per person."""

    @property
    def work(self) -> pd.DataFrame:
        """One row per piece of staff work."""

    @property
    def timeseries(self) -> pd.DataFrame:
        """The monthly series."""

    @property
    def frames(self) -> Mapping[str, pd.DataFrame]:
        """Every frame by name."""


def kpi_names(scenario: Scenario) -> list[str]:
    """Every KPI a replication of ``scenario`` reports, in output order (see module notes).

    Parameters
    ----------
    scenario
        The scenario (its roles name the per-role KPIs).

    Returns
    -------
    list of str
        KPI names.
    """
    roles = list(scenario.role_names)
    names = ["referred", *END_STATES]
    names += [
        "plans_signed_off",
        "budgets_released",
        "plans_signed_off_per_year",
        "budgets_released_per_year",
        "plans_signed_off_last_12m",
        "budgets_released_last_12m",
    ]
    names += [f"wait_{stage}_{stat}" for stage in WAITS for stat in WAIT_STATS]
    names += [
        within_kpi(stage, weeks)
        for stage, thresholds in scenario.reporting.within_weeks.items()
        for weeks in thresholds
    ]
    names += ["overload_warnings"]
    names += [f"utilisation_{role}" for role in roles]
    names += ["staff_hours_per_person", "staff_cost_per_person_gbp"]
    names += [f"staff_hours_per_person_{role}" for role in roles]
    names += [f"staff_cost_per_person_gbp_{role}" for role in roles]
    return names


_STAT_DEFINITIONS = {
    "mean": "mean wait counting the people still waiting (Kaplan-Meier, restricted to the "
    "longest wait seen: a lower bound while people still wait)",
    "p50": "median wait counting the people still waiting (Kaplan-Meier; NaN until known)",
    "p90": "90th percentile wait counting the people still waiting (Kaplan-Meier; NaN until known)",
    "n": "people who completed the wait",
    "still_waiting": "people still waiting at the horizon",
    "longest_waiting": "days so far of the longest-waiting person at the horizon",
    "completed_mean": "mean over completed waits only (understates waits while people wait)",
    "completed_p50": "median over completed waits only",
    "completed_p90": "90th percentile over completed waits only",
}

_DEFINITIONS = {
    "referred": "people referred in the window (after any warm-up)",
    "declined": "of them, people who declined the offer or the plan",
    "withdrawn": "of them, people who withdrew while waiting or before their first session",
    "plan_in_place": "of them, people with a signed-off plan and no budget released",
    "budget_in_place": "of them, people with a budget released",
    "in_progress": "of them, people still on the pathway at the horizon",
    "plans_signed_off": "plans signed off in the window (whoever they belong to)",
    "budgets_released": "budgets released in the window",
    "plans_signed_off_per_year": "plans signed off a year over the window (365.25 days)",
    "budgets_released_per_year": "budgets released a year over the window",
    "plans_signed_off_last_12m": "plans signed off in the last 12 months of the run",
    "budgets_released_last_12m": "budgets released in the last 12 months of the run",
    "overload_warnings": "overload warnings the run gave (a queue growing at the horizon, a "
    "role saturated with a backlog, referrals stuck in progress)",
    "staff_hours_per_person": "IPC staff hours per referred person, everyone referred",
    "staff_cost_per_person_gbp": "IPC staff cost per referred person, everyone referred",
}


def kpi_definition(name: str) -> str:
    """What a KPI of :func:`kpi_names` counts, in one sentence (module notes in full).

    Parameters
    ----------
    name
        A KPI name.

    Returns
    -------
    str
        The definition; ``""`` for a name this module does not define.
    """
    if name in _DEFINITIONS:
        return _DEFINITIONS[name]
    for stage in WAITS:
        prefix = f"wait_{stage}_"
        if name.startswith(prefix) and name.removeprefix(prefix) in _STAT_DEFINITIONS:
            return f"{_STAT_DEFINITIONS[name.removeprefix(prefix)]}, {stage.replace('_', ' ')}"
    share = re.fullmatch(
        r"(?:share_seen|wait_(?P<stage>.+)_share)_within_(?P<weeks>[0-9.]+)w", name
    )
    if share:
        stage = (share["stage"] or "referral_to_first_conversation").replace("_", " ")
        return (
            f"share of waits ({stage}) ended within {share['weeks']} weeks, of people who "
            "started it at least that long before the horizon (those who left unseen in time "
            "left out)"
        )
    for prefix, text in (
        ("utilisation_", "hours worked / IPC hours available over the window, role"),
        ("staff_hours_per_person_", "IPC staff hours per referred person, role"),
        ("staff_cost_per_person_gbp_", "IPC staff cost per referred person, role"),
    ):
        if name.startswith(prefix):
            return f"{text} {name.removeprefix(prefix)}"
    return ""


def number_or_nan(value: Any) -> float:
    """``value`` as a float, NaN for ``None`` (a KPI a summary or a record left undefined)."""
    return math.nan if value is None else float(value)


def flatten_summary(
    summary: Mapping[str, Any], *, horizon_days: float, window_start_day: float = 0.0
) -> dict[str, float]:
    """A run summary (:func:`ipcsim.analysis.metrics.summary`) as flat KPIs (see module notes).

    Parameters
    ----------
    summary
        The summary dict of a run.
    horizon_days
        Length of the run, days.
    window_start_day
        Start of the window the throughput counts cover (for the per-year rates), days.

    Returns
    -------
    dict
        KPI -> value (float; NaN where the summary has ``None``).
    """
    people = summary["people"]
    out: dict[str, float] = {"referred": float(people["referred"])}
    for state in END_STATES:
        out[state] = float(people.get(state, 0))
    quarters = summary["throughput_per_quarter"]
    years = (horizon_days - window_start_day) / DAYS_PER_YEAR
    for key in ("plans_signed_off", "budgets_released"):
        out[key] = float(sum(int(q[key]) for q in quarters))
    for key in ("plans_signed_off", "budgets_released"):
        out[f"{key}_per_year"] = out[key] / years
    last = summary["last_12_months"]
    for key in ("plans_signed_off", "budgets_released"):
        out[f"{key}_last_12m"] = float(last[key])
    for stage in WAITS:
        waits = summary["waits_days"][stage]
        for stat in WAIT_STATS:
            out[f"wait_{stage}_{stat}"] = _wait_value(waits, stat)
    for stage in WAITS:
        for key, value in summary["waits_days"][stage].items():
            if key.startswith("share_within_") and key.endswith("w"):
                weeks = float(key.removeprefix("share_within_").removesuffix("w"))
                out[within_kpi(stage, weeks)] = number_or_nan(value)
    out["overload_warnings"] = float(len(summary.get("warnings") or ()))
    utilisation = summary["utilisation"]
    for role in sorted(utilisation):
        out[f"utilisation_{role}"] = number_or_nan(utilisation[role])
    hours = summary["staff_hours_per_person"]
    cost = summary["staff_cost_per_person_gbp"]
    out["staff_hours_per_person"] = number_or_nan(hours["total"])
    out["staff_cost_per_person_gbp"] = number_or_nan(cost["total"])
    for role in sorted(k for k in hours if k != "total"):
        out[f"staff_hours_per_person_{role}"] = number_or_nan(hours[role])
    for role in sorted(k for k in cost if k != "total"):
        out[f"staff_cost_per_person_gbp_{role}"] = number_or_nan(cost[role])
    return out


def _month_edges(scenario: Scenario) -> np.ndarray:
    months = month_starts(scenario.run.start_date, scenario.run.horizon_days)
    return np.array([m[1] for m in months] + [months[-1][2]], dtype=float)


def _worked_by_bin(work: pd.DataFrame, role: str, edges: np.ndarray) -> np.ndarray:
    """Hours of ``role``'s work starting in each bin (bins ``[lo, hi)``, the last closed)."""
    mine = work["role"].astype(object).to_numpy() == role
    starts = work["start_day"].to_numpy(dtype=float)[mine]
    hours = work["hours"].to_numpy(dtype=float)[mine]
    keep = np.isfinite(starts)
    counts, _ = np.histogram(starts[keep], bins=edges, weights=hours[keep])
    return counts.astype(float)


def _available_by_month(result: RunOutputs) -> dict[str, np.ndarray | None] | None:
    """IPC hours each role could deliver in each calendar month of the run.

    Returns
    -------
    dict or None
        Role -> hours per month (``None`` for an unlimited role); ``None`` when they cannot
        be recovered from the run's outputs.

    Notes
    -----
    The runner does not return its capacity frame, so the hours are recovered from the
    monthly utilisation (hours worked / hours available): exactly for months with work, and
    for months without work by sharing out the rest of the run's total (hours worked / the
    run's utilisation) in proportion to their length. A ``capacity`` frame in
    ``result.frames`` is used as it is.
    """
    scenario = result.scenario
    edges = _month_edges(scenario)
    roles = list(result.summary["utilisation"])
    capacity = result.frames.get("capacity")
    if capacity is not None and {"month_start_day", "role", "available_hours"} <= set(
        capacity.columns
    ):
        out_cap: dict[str, np.ndarray | None] = {}
        for role in roles:
            rows = capacity[capacity["role"].astype(object) == role]
            hours = (
                rows.groupby("month_start_day")["available_hours"].sum().reindex(edges[:-1])
            ).to_numpy(dtype=float)
            out_cap[role] = None if np.isnan(hours).all() else np.nan_to_num(hours)
        return out_cap
    series = result.timeseries
    if "site" in series.columns and series["site"].nunique() > 1:
        return None
    lengths = np.diff(edges)
    out: dict[str, np.ndarray | None] = {}
    for role in roles:
        total_share = result.summary["utilisation"][role]
        column = f"utilisation_{role}"
        if total_share is None or column not in series.columns or len(series) != lengths.size:
            out[role] = None
            continue
        worked = _worked_by_bin(result.work, role, edges)
        if worked.sum() == 0 or total_share == 0:
            out[role] = np.zeros_like(lengths)  # no work: any availability gives 0 use
            continue
        share = series[column].to_numpy(dtype=float)
        known = (worked > 0) & np.isfinite(share) & (share > 0)
        available = np.zeros_like(lengths)
        available[known] = worked[known] / share[known]
        rest = worked.sum() / total_share - available[known].sum()
        unknown = ~known
        if unknown.any() and lengths[unknown].sum() > 0:
            available[unknown] = max(rest, 0.0) * lengths[unknown] / lengths[unknown].sum()
        out[role] = available
    return out


def _available_in(monthly: np.ndarray, edges: np.ndarray, start: float, end: float) -> float:
    """Hours available in ``[start, end]`` from monthly totals (pro rata within a month)."""
    lo = np.clip(start, edges[:-1], edges[1:])
    hi = np.clip(end, edges[:-1], edges[1:])
    lengths = np.diff(edges)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(lengths > 0, (hi - lo) / lengths, 0.0)
    return float(np.sum(monthly * fraction))


def compute_kpis(
    result: RunOutputs, *, warmup_days: float = 0.0, window_end_day: float | None = None
) -> dict[str, float]:
    """KPIs of one replication after a warm-up, or over a window (see module notes).

    Parameters
    ----------
    result
        The replication's run.
    warmup_days
        Days at the start to leave out (``0`` for the whole run; below the horizon).
    window_end_day
        End of the window, days (exclusive; ``None``: the horizon): people referred, events
        dated and work started from then on are left out; waits are followed to the horizon.

    Returns
    -------
    dict
        KPI -> value, in :func:`kpi_names` order; with no warm-up and no window end, exactly
        :func:`flatten_summary` of the run's summary.
    """
    horizon = result.scenario.run.horizon_days
    end = horizon if window_end_day is None else float(window_end_day)
    if warmup_days == 0 and window_end_day is None:
        return flatten_summary(result.summary, horizon_days=horizon)
    if not 0 <= warmup_days < horizon:
        raise ValueError(f"warm-up must be in [0, {horizon:g}) days, got {warmup_days:g}")
    if not warmup_days < end <= horizon:
        raise ValueError(f"window end must be in ({warmup_days:g}, {horizon:g}] days, got {end:g}")
    people = result.people
    work = result.work
    referred = people["referred_day"].to_numpy(dtype=float)
    started = work["start_day"].to_numpy(dtype=float)
    upper = end if end < horizon else math.inf  # the whole run's window is closed at the end
    people_after = people[(referred >= warmup_days) & (referred < upper)]
    work_after = work[(started >= warmup_days) & (started < upper)]
    monthly = _available_by_month(result)
    edges = _month_edges(result.scenario)
    available: dict[str, float | None] = {}
    for role, whole in result.summary["utilisation"].items():
        hours = None if monthly is None else monthly.get(role)
        if whole is None or hours is None:
            available[role] = None
        else:
            available[role] = _available_in(hours, edges, warmup_days, end)
    summary = metrics.summary(
        people_after,
        work_after,
        role_names=[k for k in result.summary["staff_hours_per_person"] if k != "total"],
        available_hours=available,
        start_date=result.scenario.run.start_date,
        horizon_days=horizon,
        within_weeks=result.scenario.reporting.within_weeks,
    )
    # The end of the run is the same with or without a warm-up: its last 12 months count
    # everyone's events, and its warnings are the run's.
    summary["last_12_months"] = result.summary["last_12_months"]
    summary["warnings"] = result.summary.get("warnings") or []
    kpis = flatten_summary(summary, horizon_days=end, window_start_day=warmup_days)
    if monthly is None:
        # Utilisation after the warm-up is not recoverable here; keep the whole run's.
        for role, whole in result.summary["utilisation"].items():
            kpis[f"utilisation_{role}"] = number_or_nan(whole)
    # Throughput is the rate in the window, whoever the events belong to.
    years = (end - warmup_days) / DAYS_PER_YEAR
    for key, column in (
        ("plans_signed_off", "signed_off_day"),
        ("budgets_released", "budget_released_day"),
    ):
        days = people[column].to_numpy(dtype=float)
        count = float(np.sum((days >= warmup_days) & (days < upper) & (days <= horizon)))
        kpis[key] = count
        kpis[f"{key}_per_year"] = count / years
    return kpis


def _wait_columns(stage: str) -> tuple[str, str]:
    return WAITS[stage]


def kpi_series(result: RunOutputs, *, bin_days: float) -> dict[str, list[float]]:
    """Each KPI as a series over periods of ``bin_days``, for warm-up detection.

    Parameters
    ----------
    result
        A replication's run (no warm-up).
    bin_days
        Period length, days; the periods are ``[k b, (k + 1) b)`` for whole periods within
        the horizon (a partial last period is dropped).

    Returns
    -------
    dict
        KPI -> one value per period (NaN where undefined): counts of people by the period
        they were referred in (``referred``, end states); events dated in the period
        (``plans_signed_off``, ``budgets_released``; ``_per_year`` scaled to a year); waits
        by the period the stage began in (the mean, for ``_mean``, ``_p50`` and ``_p90``;
        the count for ``_n``); utilisation of the period; staff time per person as hours
        (or their cost) worked in the period over people referred in it.
    """
    horizon = result.scenario.run.horizon_days
    n_bins = int(horizon // bin_days)
    if n_bins < 1:
        return {}
    edges = np.arange(n_bins + 1, dtype=float) * bin_days
    people = result.people
    referred = people["referred_day"].to_numpy(dtype=float)

    def counts(mask: np.ndarray, day: np.ndarray) -> np.ndarray:
        keep = mask & np.isfinite(day) & (day <= horizon)
        found, _ = np.histogram(day[keep], bins=edges)
        return found.astype(float)

    def means(values: np.ndarray, day: np.ndarray, mask: np.ndarray) -> np.ndarray:
        keep = mask & np.isfinite(values) & np.isfinite(day)
        bins = np.floor(day[keep] / bin_days).astype(int)
        inside = bins < n_bins
        sums = np.bincount(bins[inside], weights=values[keep][inside], minlength=n_bins)
        num = np.bincount(bins[inside], minlength=n_bins).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(num > 0, sums / np.maximum(num, 1), np.nan)

    everyone = np.ones(len(people), dtype=bool)
    out: dict[str, np.ndarray] = {"referred": counts(everyone, referred)}
    states = people["end_state"].astype(object).to_numpy()
    for state in END_STATES:
        out[state] = counts(states == state, referred)
    per_year = DAYS_PER_YEAR / bin_days
    for key, column in (
        ("plans_signed_off", "signed_off_day"),
        ("budgets_released", "budget_released_day"),
    ):
        events = counts(everyone, people[column].to_numpy(dtype=float))
        out[key] = events
        out[f"{key}_per_year"] = events * per_year
    for stage in WAITS:
        first, second = _wait_columns(stage)
        a = people[first].to_numpy(dtype=float)
        b = people[second].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            reached = np.isfinite(a) & np.isfinite(b) & (b <= horizon)
        mean = means(b - a, a, reached)
        for stat in ("mean", "p50", "p90"):
            out[f"wait_{stage}_{stat}"] = mean
        out[f"wait_{stage}_n"] = counts(reached, a)
    monthly = _available_by_month(result)
    month_edges = _month_edges(result.scenario)
    for role in result.summary["utilisation"]:
        hours = None if monthly is None else monthly.get(role)
        if hours is None:
            out[f"utilisation_{role}"] = np.full(n_bins, np.nan)
            continue
        worked = _worked_by_bin(result.work, role, edges)
        available = np.array(
            [
                _available_in(hours, month_edges, lo, hi)
                for lo, hi in zip(edges[:-1], edges[1:], strict=True)
            ]
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"utilisation_{role}"] = np.where(available > 0, worked / available, np.nan)
    # Staff time per person as a rate: hours worked in the period over people referred in
    # it. A person's own total is cut short at the horizon (reviews a year on), which would
    # read as a transient at the end of the series.
    referrals = out["referred"]
    total_hours = np.zeros(n_bins)
    total_cost = np.zeros(n_bins)
    for role in result.summary["staff_hours_per_person"]:
        if role == "total":
            continue
        hours = _worked_by_bin(result.work, role, edges)
        hours_column, cost_column = f"hours_{role}", f"cost_{role}_gbp"
        rate = 0.0
        if hours_column in people.columns and cost_column in people.columns:
            spent = float(people[hours_column].sum())
            rate = float(people[cost_column].sum()) / spent if spent > 0 else 0.0
        total_hours += hours
        total_cost += hours * rate
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"staff_hours_per_person_{role}"] = np.where(
                referrals > 0, hours / referrals, np.nan
            )
            out[f"staff_cost_per_person_gbp_{role}"] = np.where(
                referrals > 0, hours * rate / referrals, np.nan
            )
    with np.errstate(invalid="ignore", divide="ignore"):
        out["staff_hours_per_person"] = np.where(referrals > 0, total_hours / referrals, np.nan)
        out["staff_cost_per_person_gbp"] = np.where(referrals > 0, total_cost / referrals, np.nan)
    return {key: [float(v) for v in values] for key, values in out.items()}
