"""Key performance indicators of one run, computed from the model's records.

Pure functions: they take the frames of :class:`ipcsim.records.EventLog` (``people``, ``work``,
``waits``) and return plain numbers, dicts or frames. Nothing here imports SimPy, prints or
keeps state, so every function is unit-tested on small hand-built frames.

Time is in float days since the run's start date (``run.start_date`` is day 0); a milestone
column holds NaN when the person has not reached it.

Notes
-----
Calendar bins. Months and quarters cover ``[start_day, end_day)``, except the last bin of the
run, which is closed at the horizon, ``[start_day, horizon_days]``. An event exactly at midnight
on the 1st of a month therefore belongs to the new month. A month-end snapshot (open cases,
queues) counts every event of that month and earlier and none later, so it always agrees with
the monthly counts (open cases never exceed the referrals counted so far).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ipcsim._json import plain_json
from ipcsim.analysis.waits import wait_statistics, waits_by_start_month
from ipcsim.pathway import END_STATES
from ipcsim.periods import check_horizon, month_starts, quarter_starts, run_years
from ipcsim.units import DAYS_PER_QUARTER, DAYS_PER_YEAR

__all__ = [
    "backlog_clear_day",
    "last_12_months",
    "monthly_counts",
    "people_counts",
    "per_run_year",
    "staff_per_person",
    "summary",
    "targets_met",
    "throughput_per_quarter",
    "timeseries",
    "utilisation",
    "with_rolling_12_months",
]


# --------------------------------------------------------------------------- helpers
def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} frame lacks column(s) {', '.join(missing)}")


def _float_or_none(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _days(series: pd.Series) -> np.ndarray:
    """A day column as a float array (NaN for missing)."""
    return pd.to_numeric(series, errors="raise").to_numpy(dtype=float, na_value=np.nan)


def _edges(bins: Sequence[tuple[dt.date, float, float]]) -> np.ndarray:
    return np.array([b[1] for b in bins] + [bins[-1][2]], dtype=float)


def _histogram(
    days: np.ndarray, edges: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Counts (or sums of ``weights``) per bin; bins ``[lo, hi)``, the last closed.

    Values that are NaN or outside ``[edges[0], edges[-1]]`` are ignored.
    """
    keep = np.isfinite(days)
    if weights is not None:
        weights = weights[keep]
    counts, _ = np.histogram(days[keep], bins=edges, weights=weights)
    return counts


def _reached_by(days: np.ndarray, t: float, *, closed: bool) -> np.ndarray:
    """True where the event happened before ``t`` (or at ``t`` when ``closed``); NaN is False."""
    with np.errstate(invalid="ignore"):
        return (days <= t) if closed else (days < t)


# --------------------------------------------------------------------------- people
def people_counts(people: pd.DataFrame) -> dict[str, int]:
    """How many people were referred and how many ended in each state.

    Parameters
    ----------
    people
        People frame (column ``end_state``).

    Returns
    -------
    dict
        ``referred`` and one count per state of :data:`ipcsim.records.END_STATES`, zeros
        included; the state counts sum to ``referred``.

    Raises
    ------
    ValueError
        If an end state is not one of :data:`ipcsim.records.END_STATES`.
    """
    _require(people, ["end_state"], "people")
    states = people["end_state"].astype(object)
    unknown = sorted({str(s) for s in states if s not in END_STATES})
    if unknown:
        raise ValueError(f"people frame has unknown end_state(s) {', '.join(unknown)}")
    counts = states.value_counts()
    out = {"referred": len(people)}
    for state in END_STATES:
        out[state] = int(counts.get(state, 0))
    return out


def throughput_per_quarter(
    people: pd.DataFrame, *, start_date: dt.date, horizon_days: float
) -> list[dict[str, str | float | int]]:
    """Referrals, plan sign-offs and budget releases in each quarter of the run.

    Parameters
    ----------
    people
        People frame.
    start_date
        Calendar date of day 0.
    horizon_days
        Length of the run, days.

    Returns
    -------
    list of dict
        One per quarter (see :func:`quarter_starts`): ``quarter_start`` (ISO date), ``days``
        (its length, days; less than a full quarter for a partial last one), ``referrals``,
        ``plans_signed_off`` and ``budgets_released`` (counts dated in the quarter).
    """
    _require(people, ["referred_day", "signed_off_day", "budget_released_day"], "people")
    quarters = quarter_starts(start_date, horizon_days)
    edges = _edges(quarters)
    referrals = _histogram(_days(people["referred_day"]), edges)
    signed = _histogram(_days(people["signed_off_day"]), edges)
    released = _histogram(_days(people["budget_released_day"]), edges)
    return [
        {
            "quarter_start": begin.isoformat(),
            "days": float(end - start),
            "referrals": int(referrals[i]),
            "plans_signed_off": int(signed[i]),
            "budgets_released": int(released[i]),
        }
        for i, (begin, start, end) in enumerate(quarters)
    ]


def _counts_between(people: pd.DataFrame, start: float, end: float) -> dict[str, int]:
    """Referrals, sign-offs and releases dated in ``[start, end]``."""
    out = {}
    for key, column in (
        ("referrals", "referred_day"),
        ("plans_signed_off", "signed_off_day"),
        ("budgets_released", "budget_released_day"),
    ):
        days = _days(people[column])
        with np.errstate(invalid="ignore"):
            out[key] = int(np.sum((days >= start) & (days <= end)))
    return out


def per_run_year(
    people: pd.DataFrame, *, start_date: dt.date, horizon_days: float
) -> list[dict[str, Any]]:
    """Referrals, plans signed off and budgets released in each year of the run.

    Parameters
    ----------
    people
        People frame.
    start_date, horizon_days
        The run's start date and length, days.

    Returns
    -------
    list of dict
        One per year of :func:`ipcsim.periods.run_years` (anniversaries of the start date):
        ``year`` (1 for the first), ``start`` and ``end`` (ISO dates; ``end`` is the day
        after the last day counted), ``days`` (days of the run in it; fewer than a whole
        year for a partial last year), ``referrals``, ``plans_signed_off`` and
        ``budgets_released`` (counts dated in ``[start, end)``; the last year closed at the
        horizon).
    """
    _require(people, ["referred_day", "signed_off_day", "budget_released_day"], "people")
    years = run_years(start_date, horizon_days)
    rows = []
    for year in years:
        last = year.year == len(years)
        counts = _counts_between(
            people, year.start_day, year.end_day if last else np.nextafter(year.end_day, 0)
        )
        rows.append(
            {
                "year": year.year,
                "start": (start_date + dt.timedelta(days=year.start_day)).isoformat(),
                "end": (start_date + dt.timedelta(days=year.end_day)).isoformat(),
                "days": float(year.end_day - year.start_day),
                **counts,
            }
        )
    return rows


def last_12_months(
    people: pd.DataFrame, *, start_date: dt.date, horizon_days: float
) -> dict[str, Any]:
    """Referrals, plans signed off and budgets released in the last 12 months of the run.

    Returns
    -------
    dict
        ``start`` (ISO date: the horizon's date a year earlier, or the start date for a run
        shorter than a year), ``days`` (the days counted, at most a year), ``referrals``,
        ``plans_signed_off``, ``budgets_released`` (counts dated in ``[start, horizon]``, so
        with whole years the same as the last year of :func:`per_run_year`) and ``per_year``
        (each count over ``days`` times 365.25), so a rate that rose or fell over the run
        reads as it stands at the end.
    """
    _require(people, ["referred_day", "signed_off_day", "budget_released_day"], "people")
    end_date = start_date + dt.timedelta(days=horizon_days)
    try:
        year_before = end_date.replace(year=end_date.year - 1)
    except ValueError:  # 29 February
        year_before = end_date.replace(year=end_date.year - 1, day=28)
    first_day = max(0.0, float((year_before - start_date).days))
    days = float(horizon_days - first_day)
    counts = _counts_between(people, first_day, horizon_days)
    return {
        "start": (start_date + dt.timedelta(days=first_day)).isoformat(),
        "days": days,
        **counts,
        "per_year": {key: value * DAYS_PER_YEAR / days for key, value in counts.items()},
    }


# --------------------------------------------------------------------------- staff
def utilisation(
    work: pd.DataFrame,
    available_hours: Mapping[str, float | None],
    *,
    horizon_days: float | None = None,
) -> dict[str, float | None]:
    """Share of each role's available IPC hours spent on work over the run.

    Parameters
    ----------
    work
        Work frame (columns ``role``, ``start_day``, ``hours``).
    available_hours
        IPC hours each role could deliver over the run, hours; ``None`` (or 0) for a role
        without a capacity limit.
    horizon_days
        If given, work starting after the horizon (booked beyond the end of the run) is left
        out.

    Returns
    -------
    dict
        Role -> hours worked / hours available (a fraction, may exceed 1 if work overran its
        capacity); 0.0 for a role with no work; ``None`` when the availability is ``None`` or
        0, or for a role that did work but is not in ``available_hours``.

    Notes
    -----
    A task's hours count in full in the period it starts in.
    """
    _require(work, ["role", "start_day", "hours"], "work")
    hours = _days(work["hours"])
    if horizon_days is not None:
        keep = _reached_by(_days(work["start_day"]), horizon_days, closed=True)
    else:
        keep = np.ones(len(work), dtype=bool)
    roles = work["role"].astype(object).to_numpy()
    worked = pd.Series(hours[keep]).groupby(roles[keep]).sum()
    out: dict[str, float | None] = {}
    for role, available in available_hours.items():
        if available is None or not math.isfinite(available) or available == 0:
            out[role] = None
        else:
            out[role] = float(worked.get(role, 0.0)) / float(available)
    for role in sorted(set(worked.index) - set(available_hours)):
        out[str(role)] = None
    return out


def staff_per_person(
    people: pd.DataFrame, role_names: Sequence[str]
) -> dict[str, dict[str, float | None]]:
    """Mean staff time and cost per referred person.

    Parameters
    ----------
    people
        People frame (columns ``hours_<role>``, ``cost_<role>_gbp``, ``staff_hours_total``,
        ``staff_cost_gbp_total``).
    role_names
        Roles to report.

    Returns
    -------
    dict
        ``{"hours": {role: hours, ..., "total": hours}, "cost_gbp": {role: pounds, ...,
        "total": pounds}}``, means over every referred person (including those who declined or
        withdrew, whose time still counts); ``None`` when nobody was referred.
    """
    hour_cols = {role: f"hours_{role}" for role in role_names}
    cost_cols = {role: f"cost_{role}_gbp" for role in role_names}
    hour_cols["total"] = "staff_hours_total"
    cost_cols["total"] = "staff_cost_gbp_total"
    _require(people, [*hour_cols.values(), *cost_cols.values()], "people")

    def mean(column: str) -> float | None:
        if len(people) == 0:
            return None
        return _float_or_none(np.mean(_days(people[column])))

    return {
        "hours": {key: mean(col) for key, col in hour_cols.items()},
        "cost_gbp": {key: mean(col) for key, col in cost_cols.items()},
    }


# --------------------------------------------------------------------------- time series
def monthly_counts(
    people: pd.DataFrame, *, start_date: dt.date, horizon_days: float, site: str
) -> dict[str, Any]:
    """The flows and open cases of each calendar month: the first columns of :func:`timeseries`.

    Parameters
    ----------
    people
        People frame, ``referred_day`` the day each person entered the pathway.
    start_date, horizon_days
        The run's start date and length, days.
    site
        Site name written in every row.

    Returns
    -------
    dict
        Column -> values, one per month: ``month``, ``site``, ``referrals``,
        ``plans_signed_off``, ``budgets_released`` and ``open_cases_end``.
    """
    _require(people, ["referred_day", "signed_off_day", "budget_released_day", "end_day"], "people")
    months = month_starts(start_date, horizon_days)
    edges = _edges(months)
    n = len(months)
    closed = np.arange(n) == n - 1
    referred = _days(people["referred_day"])
    ended = _days(people["end_day"])
    open_cases = [
        int(
            np.sum(
                _reached_by(referred, t, closed=bool(c)) & ~_reached_by(ended, t, closed=bool(c))
            )
        )
        for t, c in zip(edges[1:], closed, strict=True)
    ]
    return {
        "month": [m[0].isoformat() for m in months],
        "site": [site] * n,
        "referrals": _histogram(referred, edges).astype("int64"),
        "plans_signed_off": _histogram(_days(people["signed_off_day"]), edges).astype("int64"),
        "budgets_released": _histogram(_days(people["budget_released_day"]), edges).astype("int64"),
        "open_cases_end": np.array(open_cases, dtype="int64"),
    }


def timeseries(
    people: pd.DataFrame,
    work: pd.DataFrame,
    waits: pd.DataFrame,
    *,
    start_date: dt.date,
    horizon_days: float,
    capacity: pd.DataFrame,
    site: str,
) -> pd.DataFrame:
    """Monthly flows, open cases, queues and utilisation.

    Parameters
    ----------
    people, work, waits
        The run's frames (see :mod:`ipcsim.engine.records`).
    start_date
        Calendar date of day 0.
    horizon_days
        Length of the run, days.
    capacity
        Long frame, one row per month x role: ``month_start_day``, ``month_end_day`` (days),
        ``role`` and ``available_hours`` (IPC hours the role could deliver that month; NaN for
        an unlimited role). Its months must be those of :func:`month_starts`.
    site
        Site name written in every row.

    Returns
    -------
    DataFrame
        One row per calendar month: ``month`` (ISO date of its first day; the start date for
        the first month), ``site``, ``referrals``, ``plans_signed_off``, ``budgets_released``
        (counts in the month), ``open_cases_end`` (referred and not ended at month end),
        then per role of ``capacity`` (in order of first appearance) ``queue_<role>`` (waits
        for the role open at month end) and ``utilisation_<role>`` (hours of work done in the
        month / hours available that month; NaN when availability is NaN or 0).

    Raises
    ------
    ValueError
        If ``capacity`` lacks a month x role row, or has two for the same one.

    Notes
    -----
    The month-end snapshot is taken after every event of the month (see the module notes).

    Utilisation compares the work and the hours available inside the same month: a task's
    hours are spread evenly over its span ``[start_day, finish_day]`` (see
    :func:`_hours_by_month`), so a task that runs across the 1st counts in both months and
    one that runs past the horizon counts only up to it (the last month's available hours
    stop there too). A month can still exceed 1: staff bank up to a week of IPC hours
    (:mod:`ipcsim.engine.staff`) and may spend them in a month on top of that month's hours.
    """
    _require(work, ["role", "start_day", "hours"], "work")
    _require(waits, ["role", "requested_day", "started_day"], "waits")
    _require(capacity, ["month_start_day", "role", "available_hours"], "capacity")
    months = month_starts(start_date, horizon_days)
    edges = _edges(months)
    n = len(months)
    ends = edges[1:]
    closed = np.arange(n) == n - 1
    frame = monthly_counts(people, start_date=start_date, horizon_days=horizon_days, site=site)

    roles = [str(r) for r in pd.unique(capacity["role"].astype(object))]
    available = _capacity_by_month(capacity, months, roles)
    requested = _days(waits["requested_day"])
    started = _days(waits["started_day"])
    work_start = _days(work["start_day"])
    work_finish = _days(work["finish_day"]) if "finish_day" in work.columns else work_start
    work_hours = _days(work["hours"])
    for role in roles:
        # Compared column-wise (category codes for a categorical): no object array.
        mine = (waits["role"] == role).to_numpy(dtype=bool, na_value=False)
        frame[f"queue_{role}"] = np.array(
            [
                int(
                    np.sum(
                        mine
                        & _reached_by(requested, t, closed=bool(c))
                        & ~_reached_by(started, t, closed=bool(c))
                    )
                )
                for t, c in zip(ends, closed, strict=True)
            ],
            dtype="int64",
        )
    for role in roles:
        mine = (work["role"] == role).to_numpy(dtype=bool, na_value=False)
        worked = _hours_by_month(work_start[mine], work_finish[mine], work_hours[mine], edges)
        hours_available = available[role]
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(hours_available > 0, worked / hours_available, np.nan)
        frame[f"utilisation_{role}"] = share.astype("float64")
    return pd.DataFrame(frame)


def with_waits_by_referral_month(
    series: pd.DataFrame,
    people: pd.DataFrame,
    *,
    start_date: dt.date,
    horizon_days: float,
    within_weeks: Mapping[str, Sequence[float]],
) -> pd.DataFrame:
    """Add, for each wait with a waiting standard, its figures by month the wait started.

    Parameters
    ----------
    series
        Monthly rows of one site (:func:`timeseries`).
    people
        The same site's people frame.
    start_date, horizon_days
        The run's start date and length.
    within_weeks
        Wait name -> thresholds, weeks (``[reporting] within_weeks``).

    Returns
    -------
    DataFrame
        ``series`` with, per wait ``<w>`` (e.g. ``referral_to_first_conversation``, by month
        of referral): ``wait_<w>_started`` (people who started the wait that month),
        ``wait_<w>_still_waiting`` (of them, still waiting at the horizon), ``wait_<w>_p50``
        (their median wait, days, counting those still waiting; NaN when not estimable) and
        ``wait_<w>_share_within_<N>w`` (NaN for months that ended less than ``N`` weeks before
        the horizon). See :func:`ipcsim.analysis.waits.waits_by_start_month`.
    """
    columns: dict[str, np.ndarray] = {}
    for stage, weeks in within_weeks.items():
        figures = waits_by_start_month(
            people, stage, start_date=start_date, horizon_days=horizon_days, within_weeks=weeks
        )
        for key, values in figures.items():
            columns[f"wait_{stage}_{key}"] = values
    return series.assign(**columns)


def _hours_by_month(
    start: np.ndarray, finish: np.ndarray, hours: np.ndarray, edges: np.ndarray
) -> np.ndarray:
    """Hours of work done in each month: each task's hours spread evenly over its span.

    Parameters
    ----------
    start, finish
        Each task's start and finish, days (a finish before the start counts as the start).
    hours
        Each task's hours.
    edges
        Month edges, days (the last is the horizon).

    Returns
    -------
    ndarray
        Hours per month. A task inside one month (``finish`` at or before its end; every
        task of no duration) counts in full in the month it starts in, the last month closed
        at the horizon; a task that runs past the end of its month counts in each month (up
        to the horizon) in proportion to the part of its span there.
    """
    finish = np.fmax(finish, start)
    worked = np.zeros(len(edges) - 1)
    keep = np.isfinite(start) & (start >= edges[0]) & (start <= edges[-1])
    start, finish, hours = start[keep], finish[keep], hours[keep]
    month = np.clip(np.searchsorted(edges, start, side="right") - 1, 0, len(edges) - 2)
    inside = finish <= edges[month + 1]
    worked += _histogram(start[inside], edges, weights=hours[inside])
    crossing = ~inside
    if crossing.any():
        start, finish, hours = start[crossing], finish[crossing], hours[crossing]
        first = month[crossing]
        # Months each task touches, up to the last month of the run.
        last = np.clip(np.searchsorted(edges, finish, side="left") - 1, first, len(edges) - 2)
        count = last - first + 1
        task = np.repeat(np.arange(start.size), count)
        months = first[task] + np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        overlap = np.minimum(finish[task], edges[months + 1]) - np.maximum(
            start[task], edges[months]
        )
        share = hours[task] * np.clip(overlap, 0.0, None) / (finish[task] - start[task])
        np.add.at(worked, months, share)
    return worked


def _capacity_by_month(
    capacity: pd.DataFrame, months: list[tuple[dt.date, float, float]], roles: list[str]
) -> dict[str, np.ndarray]:
    """Available hours per role as an array aligned with ``months`` (NaN where unlimited)."""
    starts = np.array([m[1] for m in months], dtype=float)
    cap_start = _days(capacity["month_start_day"])
    cap_role = capacity["role"].astype(object).to_numpy()
    cap_hours = _days(capacity["available_hours"])
    out: dict[str, np.ndarray] = {}
    for role in roles:
        values = np.full(len(months), np.nan)
        for i, start in enumerate(starts):
            match = (cap_role == role) & np.isclose(cap_start, start, rtol=0.0, atol=1e-6)
            found = int(np.sum(match))
            if found != 1:
                problem = "no" if found == 0 else f"{found}"
                raise ValueError(
                    f"capacity frame has {problem} row(s) for role {role!r} in the month "
                    f"starting {months[i][0].isoformat()} (day {start:g})"
                )
            values[i] = cap_hours[match][0]
        out[role] = values
    return out


# --------------------------------------------------------------------------- summary
def summary(
    people: pd.DataFrame,
    work: pd.DataFrame,
    *,
    role_names: Sequence[str],
    available_hours: Mapping[str, float | None],
    start_date: dt.date,
    horizon_days: float,
    within_weeks: Mapping[str, Sequence[float]] | None = None,
) -> dict[str, Any]:
    """Headline KPIs of one run as a JSON-able dict.

    Parameters
    ----------
    people, work
        The run's people and work frames.
    role_names
        Roles to report staff time and cost for.
    available_hours
        IPC hours each role could deliver over the run, hours (``None`` if unlimited).
    start_date
        Calendar date of day 0.
    horizon_days
        Length of the run, days.
    within_weeks
        Wait name -> thresholds, weeks, for the ``share_within_<N>w`` of its waits.

    Returns
    -------
    dict
        ``people`` (:func:`people_counts`), ``waits_days`` (days; counting the people still
        waiting: :func:`ipcsim.analysis.waits.wait_summary` of each wait),
        ``throughput_per_quarter`` (:func:`throughput_per_quarter`), ``per_year``
        (:func:`per_run_year`), ``last_12_months`` (:func:`last_12_months`),
        ``throughput_mean_per_quarter`` (``plans_signed_off`` and ``budgets_released`` per
        91.3125-day quarter: total / ``horizon_days`` * 365.25 / 4), ``utilisation``
        (:func:`utilisation`, fractions), ``staff_hours_per_person`` (hours) and
        ``staff_cost_per_person_gbp`` (pounds) (:func:`staff_per_person`). Values are plain
        Python ints, floats, strings or ``None`` (never NaN), so ``json.dumps(...,
        allow_nan=False)`` works.

    Notes
    -----
    Milestones and work dated after the horizon (booked beyond the end of the run) are left
    out of the waits, throughput and utilisation; a person whose milestone is booked after
    the horizon is still waiting at it. Staff time per person comes from the people
    frame and includes such booked work.
    """
    check_horizon(horizon_days)
    quarters = throughput_per_quarter(people, start_date=start_date, horizon_days=horizon_days)
    per_quarter = DAYS_PER_QUARTER / horizon_days
    staff = staff_per_person(people, role_names)
    result = {
        "people": people_counts(people),
        "waits_days": wait_statistics(people, horizon_days=horizon_days, within_weeks=within_weeks),
        "throughput_per_quarter": quarters,
        "per_year": per_run_year(people, start_date=start_date, horizon_days=horizon_days),
        "last_12_months": last_12_months(people, start_date=start_date, horizon_days=horizon_days),
        "throughput_mean_per_quarter": {
            key: sum(int(q[key]) for q in quarters) * per_quarter
            for key in ("plans_signed_off", "budgets_released")
        },
        "utilisation": utilisation(work, available_hours, horizon_days=horizon_days),
        "staff_hours_per_person": staff["hours"],
        "staff_cost_per_person_gbp": staff["cost_gbp"],
    }
    plain: dict[str, Any] = plain_json(result)
    return plain


# --------------------------------------------------------------------------- trajectories
def with_rolling_12_months(timeseries: pd.DataFrame) -> pd.DataFrame:
    """Add ``plans_rolling_12m`` and ``budgets_rolling_12m`` to a monthly time series.

    Each is the sum over the row's month and the 11 before it, per site (fewer in the
    first months of the run). Rows must be in month order within each site.
    """
    result = timeseries.copy()
    for column, new in (
        ("plans_signed_off", "plans_rolling_12m"),
        ("budgets_released", "budgets_rolling_12m"),
    ):
        result[new] = (
            result.groupby("site", sort=False)[column]
            .transform(lambda s: s.rolling(12, min_periods=1).sum())
            .astype("int64")
        )
    return result


def targets_met(
    timeseries: pd.DataFrame, targets: Sequence[Mapping[str, Any]], *, total_site: str
) -> list[dict[str, Any]]:
    """When each target on a trajectory is first met by the rolling 12-month counts.

    Parameters
    ----------
    timeseries
        Monthly rows with ``month``, ``site``, ``plans_rolling_12m`` and
        ``budgets_rolling_12m`` (see :func:`with_rolling_12_months`).
    targets
        Each with ``date`` (ISO string or date), optional ``site`` (None for all sites),
        ``plans_per_year`` and/or ``budgets_per_year``.
    total_site
        The ``site`` value of the rows that total all sites.

    Returns
    -------
    list of dict
        Per target and measure: ``site``, ``measure``, ``target``, ``target_date``,
        ``first_met_month`` (ISO date of the month whose 12-month count first reaches the
        target, or None) and ``met_by_target_date`` (bool).
    """
    rows = []
    for target in targets:
        site = target.get("site") or total_site
        series = timeseries[timeseries["site"] == site]
        due = str(target["date"])
        for measure, column in (
            ("plans_per_year", "plans_rolling_12m"),
            ("budgets_per_year", "budgets_rolling_12m"),
        ):
            value = target.get(measure)
            if value is None:
                continue
            hits = series[series[column] >= value]
            first = None if hits.empty else str(hits["month"].iloc[0])
            rows.append(
                {
                    "site": site,
                    "measure": measure,
                    "target": float(value),
                    "target_date": due,
                    "first_met_month": first,
                    "met_by_target_date": first is not None and first <= due,
                }
            )
    return rows


_NEXT_MILESTONE = {
    "referred": "consented_day",
    "consented": "first_conversation_day",
    "plan_written": "signed_off_day",
    "signed_off": "budget_agreed_day",
    "budget_agreed": "budget_released_day",
}


def backlog_clear_day(people: pd.DataFrame) -> float | None:
    """Day by which every warm-start person had left the stage they were waiting in.

    A person leaves their stage when they reach the next milestone or an end state.
    Returns None when there was no backlog or it had not cleared by the horizon.
    """
    backlog = people[people["backlog_stage"].fillna("") != ""]
    if backlog.empty:
        return None
    left = []
    for stage, column in _NEXT_MILESTONE.items():
        group = backlog[backlog["backlog_stage"] == stage]
        if group.empty:
            continue
        moved = group[column].to_numpy(dtype=float)
        ended = group["end_day"].to_numpy(dtype=float)
        left.append(np.fmin(moved, ended))
    days = np.concatenate(left)
    if np.isnan(days).any():
        return None
    return float(max(0.0, days.max()))
