"""Is the service keeping up? Queue trends, saturated roles and referrals stuck in progress.

A run of an overloaded service still ends with numbers: a mean wait, a utilisation, plans a
year. They describe a system that had not settled and would keep getting worse. This module
reads a run's monthly series and its people and says so, naming the bottleneck role.

Pure functions on frames (no SimPy, no files). Settings come from the scenario's
``[reporting]`` table (:class:`ipcsim.scenario.reporting.Reporting`).

Checks
------
With ``T`` = ``trend_months``, over the last ``T`` month-end snapshots of the run (all of them
in a shorter run, none in a run of fewer than 3 months), and a role's *month of work* = the
tasks it started per month over those months:

- ``queue_growing``: the role's queue at month end rose by at least 5 % of a month of work a
  month (least-squares slope) and at the horizon holds at least a month of work;
- ``role_saturated``: the role was busier than ``busy_share`` of its IPC hours in
  ``busy_months`` or more months in a row, each ending with at least a month of its work
  waiting (a busy month with a short queue is a well-used role, not an overloaded one; staff
  bank hours, so a month can exceed 100 % without anyone waiting long); not repeated for a
  role whose queue is growing;
- ``in_progress``: more than ``in_progress_share`` of the people referred at least
  ``in_progress_after_days`` before the horizon were still in progress at it;
- ``over_capacity``: a role booked more than :data:`OVER_CAPACITY` times its IPC hours on
  average over the trend months. Only a role whose time is counted but not queued can (panel
  members and individual or sequential reviewers: the sign-off delay or cadence stands for
  their availability), so its plans are not held up by it in the model, but the hours it
  would need are not there.

A run that keeps up gives no warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ipcsim.scenario.reporting import Reporting
from ipcsim.units import DAYS_PER_MONTH

__all__ = ["MIN_GROWTH", "OVER_CAPACITY", "role_trends", "warnings"]

OVER_CAPACITY = 1.2
"""Mean utilisation over the trend months above which a role is over capacity: a queued
role banks at most a week of hours, so it cannot sustain this; a role that is not queued can."""
MIN_GROWTH = 0.05
"""Growth of a queue, as a share of a month of the role's work a month, that counts as growth."""
MIN_MONTHS = 3
"""Fewest month-end snapshots a trend is measured on."""


def _slope(values: np.ndarray) -> float:
    """Least-squares slope of ``values`` against 0, 1, 2, ... (per step)."""
    x = np.arange(values.size, dtype=float)
    x -= x.mean()
    return float(np.sum(x * (values - values.mean())) / np.sum(x * x))


def _longest_run(flags: np.ndarray) -> tuple[int, int]:
    """Length and end index (exclusive) of the longest run of True in ``flags``."""
    best, best_end, current = 0, 0, 0
    for i, flag in enumerate(flags):
        current = current + 1 if flag else 0
        if current > best:
            best, best_end = current, i + 1
    return best, best_end


def role_trends(
    series: pd.DataFrame, waits: pd.DataFrame, *, horizon_days: float, settings: Reporting
) -> dict[str, dict[str, Any]]:
    """Per role, its queue and utilisation over the last months of the run.

    Parameters
    ----------
    series
        Monthly rows of one site (or all sites) in month order, with ``month`` and, per role,
        ``queue_<role>`` and ``utilisation_<role>`` (see
        :func:`ipcsim.analysis.metrics.timeseries`).
    waits
        The waits frame of the same site(s) (``role``, ``started_day``): tasks per month.
    horizon_days
        Length of the run, days.
    settings
        The checks' settings.

    Returns
    -------
    dict
        Role -> ``months`` (snapshots used), ``from_month``, ``queue_start``, ``queue_end``
        (tasks waiting at the first and last of them), ``queue_growth_per_month`` (tasks a
        month, least squares), ``tasks_per_month`` (started a month over those months),
        ``months_of_work_waiting`` (``queue_end`` / ``tasks_per_month``; None when the role
        started no task), ``utilisation`` (mean monthly utilisation over those months, None
        for an unlimited role), ``longest_busy_months``, ``busy_until`` (ISO month of the end
        of that run of months, None when there is none). Empty when the run is shorter than
        three months.
    """
    window = min(settings.trend_months, len(series))
    if window < MIN_MONTHS:
        return {}
    last = series.iloc[-window:]
    months = series["month"].astype(str).to_list()
    first_day = horizon_days - window * DAYS_PER_MONTH
    roles = [c.removeprefix("queue_") for c in series.columns if c.startswith("queue_")]
    started = pd.to_numeric(waits["started_day"]).to_numpy(dtype=float, na_value=np.nan)
    out: dict[str, dict[str, Any]] = {}
    for role in roles:
        mine = (waits["role"] == role).to_numpy(dtype=bool, na_value=False)
        with np.errstate(invalid="ignore"):
            count = int(np.sum(mine & (started >= first_day) & (started <= horizon_days)))
        per_month = count / window
        queue = series[f"queue_{role}"].to_numpy(dtype=float)
        column = f"utilisation_{role}"
        busy = (
            series[column].to_numpy(dtype=float)
            if column in series.columns
            else np.full(len(series), np.nan)
        )
        backlog = queue >= max(per_month, 1.0)
        with np.errstate(invalid="ignore"):
            run, end = _longest_run((busy > settings.busy_share) & backlog)
        recent = busy[-window:]
        out[role] = {
            "months": window,
            "from_month": str(last["month"].iloc[0]),
            "queue_start": int(queue[-window]),
            "queue_end": int(queue[-1]),
            "queue_growth_per_month": _slope(queue[-window:]),
            "tasks_per_month": per_month,
            "months_of_work_waiting": queue[-1] / per_month if per_month > 0 else None,
            "utilisation": float(np.mean(recent)) if np.isfinite(recent).all() else None,
            "longest_busy_months": run,
            "busy_until": months[end - 1] if run else None,
        }
    return out


def _bottleneck(trends: dict[str, dict[str, Any]]) -> str | None:
    """The role with the most months of work waiting at the horizon (a queue to speak of)."""
    ranked = [
        (t["months_of_work_waiting"] or (np.inf if t["queue_end"] else 0.0), role)
        for role, t in trends.items()
        if t["queue_end"] > 0
    ]
    return max(ranked)[1] if ranked else None


def warnings(
    series: pd.DataFrame,
    waits: pd.DataFrame,
    people: pd.DataFrame,
    *,
    horizon_days: float,
    settings: Reporting,
    trends: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The run's overload warnings (see module notes), most serious first.

    Parameters
    ----------
    series, waits
        As for :func:`role_trends`.
    people
        People frame of the same site(s) (``referred_day``, ``end_state``).
    horizon_days
        Length of the run, days.
    settings
        The checks' settings.
    trends
        :func:`role_trends` of the same frames, if already computed.

    Returns
    -------
    list of dict
        Each with ``kind`` (``queue_growing``, ``role_saturated``, ``in_progress`` or
        ``over_capacity``),
        ``role`` (the role concerned or the bottleneck; None if there is none), ``message``
        (one sentence naming the figures) and the figures themselves.
    """
    if trends is None:
        trends = role_trends(series, waits, horizon_days=horizon_days, settings=settings)
    found: list[dict[str, Any]] = []
    growing = []
    for role, t in trends.items():
        per_month = t["tasks_per_month"]
        growth = t["queue_growth_per_month"]
        work = max(per_month, 1.0)
        if growth >= MIN_GROWTH * work and t["queue_end"] >= work:
            growing.append(role)
            months = t["months_of_work_waiting"]
            waiting = f"{months:.1f} months of its work" if months is not None else "no work done"
            found.append(
                {
                    "kind": "queue_growing",
                    "role": role,
                    "queue_end": t["queue_end"],
                    "queue_growth_per_month": growth,
                    "months_of_work_waiting": months,
                    "message": (
                        f"{role} queue still growing at the horizon: +{growth:,.1f} tasks a "
                        f"month over the last {t['months']} months, {t['queue_end']:,} waiting "
                        f"({waiting}); the service is not keeping up"
                    ),
                }
            )
    found.sort(key=lambda w: -(w["months_of_work_waiting"] or np.inf))
    for role, t in trends.items():
        if t["longest_busy_months"] >= settings.busy_months and role not in growing:
            found.append(
                {
                    "kind": "role_saturated",
                    "role": role,
                    "busy_months": t["longest_busy_months"],
                    "busy_until": t["busy_until"],
                    "message": (
                        f"{role} more than {100 * settings.busy_share:.0f}% busy for "
                        f"{t['longest_busy_months']} months in a row (to {t['busy_until']}) "
                        "with a month or more of work waiting"
                    ),
                }
            )
    found += _in_progress(people, horizon_days, settings, _bottleneck(trends))
    for role, t in trends.items():
        used = t["utilisation"]
        if used is not None and used > OVER_CAPACITY:
            found.append(
                {
                    "kind": "over_capacity",
                    "role": role,
                    "utilisation": used,
                    "message": (
                        f"{role} booked {100 * used:.0f}% of its IPC hours over the last "
                        f"{t['months']} months: its time is counted but not queued (the "
                        "sign-off delay or cadence stands for it), so the hours it needs are "
                        "not there; add people or IPC time to this role"
                    ),
                }
            )
    return found


def _in_progress(
    people: pd.DataFrame, horizon_days: float, settings: Reporting, bottleneck: str | None
) -> list[dict[str, Any]]:
    referred = pd.to_numeric(people["referred_day"]).to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        early = np.isfinite(referred) & (referred <= horizon_days - settings.in_progress_after_days)
    total = int(np.sum(early))
    if total == 0:
        return []
    stuck = int(np.sum(early & (people["end_state"].astype(object) == "in_progress").to_numpy()))
    share = stuck / total
    if share <= settings.in_progress_share:
        return []
    where = f"; bottleneck: {bottleneck}" if bottleneck else ""
    return [
        {
            "kind": "in_progress",
            "role": bottleneck,
            "share": share,
            "people": stuck,
            "of": total,
            "message": (
                f"{100 * share:.0f}% of the {total:,} people referred at least "
                f"{settings.in_progress_after_days:g} days before the horizon are still in "
                f"progress at it (more than {100 * settings.in_progress_share:.0f}%){where}"
            ),
        }
    ]


def warning_lines(found: Sequence[dict[str, Any]]) -> list[str]:
    """The messages of ``found``, in order."""
    return [str(w["message"]) for w in found]
