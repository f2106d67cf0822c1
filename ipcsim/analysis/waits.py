"""Waits that count the people still waiting: product-limit (Kaplan-Meier) estimates.

A wait runs from one milestone of the ``people`` table to the next (:data:`ipcsim.pathway.WAITS`).
At the horizon some people are still waiting: their wait is *right-censored* (it is at least
as long as the time so far). Statistics over completed waits only leave them out, so they
understate waits, the more so the more overloaded the service and the longer the run. This
module estimates the distribution of a wait from everyone who started it, the product-limit
estimator of the survival function ``S(t) = P(wait > t)`` treating

- a wait completed by the horizon as an event at its length;
- a person still waiting at the horizon as censored at ``horizon - start``;
- a person who left the pathway before the wait ended (declined, withdrew, no budget) as
  censored when they left: the estimate is of the wait of people who stay, the way a waiting
  list's clock stops when someone is removed from it.

Pure functions on frames (no SimPy, no files). The product-limit curve is a few lines of numpy
(:func:`product_limit`), checked against :func:`scipy.stats.ecdf` on censored data in the tests
(the textbook estimate, events before censorings at a tied time): scipy's own function costs
about a millisecond a call in set-up, and a national run estimates several hundred curves (every
wait of every site, and each month's referrals), so no survival library is added.

Definitions
-----------
- quantile ``q`` (``p50``, ``p90``): the smallest ``t`` with ``S(t) <= 1 - q``; ``None`` when
  the curve never falls that low (too many still waiting for the quantile to be known);
- ``mean``: the restricted mean, the area under ``S`` up to the longest observed time ``tau``
  (a lower bound of the mean when people are still waiting at ``tau``), reported with
  ``restricted_to_days``;
- ``share_within(t)``: of the people who started the wait at least ``t`` days before the
  horizon (so everyone was followed for ``t`` days), the share whose wait ended within ``t``
  days, leaving out those who left the pathway within ``t`` days without the wait ending.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ipcsim.pathway import WAITS
from ipcsim.periods import month_starts
from ipcsim.units import DAYS_PER_WEEK

__all__ = [
    "CensoredWaits",
    "censored_waits",
    "product_limit",
    "share_within",
    "wait_summary",
    "waits_by_start_month",
]

_TOLERANCE = 1e-12
"""Slack when comparing a product of survival factors with ``1 - q``."""


@dataclass(frozen=True)
class CensoredWaits:
    """Every started wait of one kind: its length so far and whether it ended.

    Attributes
    ----------
    start
        Day each wait started (the first milestone), days since day 0.
    length
        Its length, days: to the second milestone if reached by the horizon, else to the
        day the person left the pathway, else to the horizon.
    completed
        True where the second milestone was reached by the horizon.
    waiting
        True where the person is still waiting at the horizon (neither completed nor left).
    """

    start: np.ndarray
    length: np.ndarray
    completed: np.ndarray
    waiting: np.ndarray

    @property
    def left(self) -> np.ndarray:
        """True where the person left the pathway before the wait ended."""
        return ~self.completed & ~self.waiting


def _days(series: pd.Series | np.ndarray) -> np.ndarray:
    if isinstance(series, np.ndarray):
        return series
    return pd.to_numeric(series, errors="raise").to_numpy(dtype=float, na_value=np.nan)


def _day_columns(people: pd.DataFrame) -> dict[str, np.ndarray]:
    """The milestone columns and ``end_day`` of ``people`` as float arrays, read once."""
    names = sorted({c for pair in WAITS.values() for c in pair} | {"end_day"})
    return {name: _days(people[name]) for name in names if name in people.columns}


def censored_waits(
    people: pd.DataFrame | Mapping[str, np.ndarray], stage: str, *, horizon_days: float
) -> CensoredWaits:
    """The waits of ``stage`` (a name in :data:`WAITS`) started by the horizon.

    Parameters
    ----------
    people
        People frame (milestone columns and ``end_day``: the day a person reached their end
        state, NaN while in the pathway), or those columns as float arrays.
    stage
        The wait's name.
    horizon_days
        Length of the run, days; a milestone dated after it counts as not reached.

    Returns
    -------
    CensoredWaits
        One entry per person who reached the first milestone by the horizon.
    """
    first, second = WAITS[stage]
    a = _days(people[first])
    b = _days(people[second])
    end = _days(people["end_day"]) if "end_day" in people else np.full(len(a), np.nan)
    with np.errstate(invalid="ignore"):
        started = np.isfinite(a) & (a <= horizon_days)
        a, b, end = a[started], b[started], end[started]
        completed = np.isfinite(b) & (b <= horizon_days)
        left = ~completed & np.isfinite(end) & (end <= horizon_days)
    stop = np.where(completed, b, np.where(left, end, horizon_days))
    length = np.maximum(stop - a, 0.0)
    return CensoredWaits(start=a, length=length, completed=completed, waiting=~completed & ~left)


def product_limit(length: np.ndarray, completed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The product-limit (Kaplan-Meier) survival curve of censored waits.

    Parameters
    ----------
    length
        Each wait's length (or length so far), days.
    completed
        True where the wait ended (an event); False where it was censored.

    Returns
    -------
    (ndarray, ndarray)
        Distinct times ``t`` (days, increasing) and ``S(t)`` just after each: ``S`` is 1
        before the first time and steps at each. Empty arrays when there are no waits.
    """
    length = np.asarray(length, dtype=float)
    completed = np.asarray(completed, dtype=bool)
    if length.size == 0:
        return np.empty(0), np.empty(0)
    order = np.argsort(length, kind="stable")
    times, first, counts = np.unique(length[order], return_index=True, return_counts=True)
    events = np.add.reduceat(completed[order].astype(float), first)
    at_risk = length.size - (np.cumsum(counts) - counts)
    return times, np.cumprod(1.0 - events / at_risk)


def _quantile(times: np.ndarray, survival: np.ndarray, q: float) -> float | None:
    """Smallest ``t`` with ``S(t) <= 1 - q``; None when ``S`` never falls that low."""
    below = np.flatnonzero(survival <= 1.0 - q + _TOLERANCE)
    return float(times[below[0]]) if below.size else None


def _restricted_mean(times: np.ndarray, survival: np.ndarray) -> float | None:
    """Area under the step curve ``S`` from 0 to the last time (the restricted mean)."""
    if times.size == 0:
        return None
    before = np.concatenate(([1.0], survival[:-1]))
    widths = np.diff(np.concatenate(([0.0], times)))
    return float(np.sum(before * widths))


def share_within(waits: CensoredWaits, days: float, *, horizon_days: float) -> float | None:
    """Share of waits ended within ``days``, of those followed for ``days`` (module notes).

    Returns None when nobody started the wait ``days`` or more before the horizon.
    """
    followed = waits.start <= horizon_days - days
    ended_in_time = waits.completed & (waits.length <= days)
    left_in_time = waits.left & (waits.length <= days)
    counted = followed & ~left_in_time
    total = int(np.sum(counted))
    if total == 0:
        return None
    return float(np.sum(counted & ended_in_time)) / total


def wait_summary(
    waits: CensoredWaits, *, horizon_days: float, within_weeks: Sequence[float] = ()
) -> dict[str, Any]:
    """Censoring-aware statistics of one kind of wait (see module notes), days.

    Parameters
    ----------
    waits
        The waits (:func:`censored_waits`).
    horizon_days
        Length of the run, days.
    within_weeks
        Thresholds, weeks, for ``share_within_<N>w``.

    Returns
    -------
    dict
        ``started``, ``completed``, ``still_waiting``, ``left`` (people);
        ``longest_waiting`` (days waited so far by the longest-waiting person, None if nobody
        is waiting); ``mean`` (restricted), ``restricted_to_days``, ``p50``, ``p90`` (days,
        product-limit; None when not estimable); ``completed_only``: ``mean``, ``p50``,
        ``p90`` over completed waits (numpy's linear interpolation) and their count ``n``;
        ``share_within_<N>w`` for each threshold (a fraction, None when undefined).
    """
    times, survival = product_limit(waits.length, waits.completed)
    done = waits.length[waits.completed]
    waiting = waits.length[waits.waiting]
    out: dict[str, Any] = {
        "started": int(waits.start.size),
        "completed": int(done.size),
        "still_waiting": int(waiting.size),
        "left": int(np.sum(waits.left)),
        "longest_waiting": float(waiting.max()) if waiting.size else None,
        "mean": _restricted_mean(times, survival) if done.size else None,
        "restricted_to_days": float(times[-1]) if done.size else None,
        "p50": _quantile(times, survival, 0.5),
        "p90": _quantile(times, survival, 0.9),
        "completed_only": {
            "mean": float(np.mean(done)) if done.size else None,
            "p50": float(np.quantile(done, 0.5)) if done.size else None,
            "p90": float(np.quantile(done, 0.9)) if done.size else None,
            "n": int(done.size),
        },
    }
    for weeks in within_weeks:
        out[f"share_within_{weeks:g}w"] = share_within(
            waits, weeks * DAYS_PER_WEEK, horizon_days=horizon_days
        )
    return out


def waits_by_start_month(
    people: pd.DataFrame,
    stage: str,
    *,
    start_date: dt.date,
    horizon_days: float,
    within_weeks: Sequence[float] = (),
) -> dict[str, np.ndarray]:
    """A wait's figures for the people who started it in each calendar month of the run.

    Parameters
    ----------
    people
        People frame.
    stage
        The wait's name (:data:`WAITS`).
    start_date, horizon_days
        The run's start date and length.
    within_weeks
        Thresholds, weeks, for the ``share_within_<N>w`` series.

    Returns
    -------
    dict
        Series aligned with :func:`ipcsim.periods.month_starts`: ``started``, ``still_waiting``
        (of those, still waiting at the horizon), ``p50`` (product-limit median of their
        waits, NaN when not estimable) and ``share_within_<N>w`` (NaN for months that ended
        less than ``N`` weeks before the horizon, whose people could not all be followed).
    """
    months = month_starts(start_date, horizon_days)
    edges = np.array([m[1] for m in months] + [months[-1][2]], dtype=float)
    waits = censored_waits(people, stage, horizon_days=horizon_days)
    index = np.clip(np.searchsorted(edges, waits.start, side="right") - 1, 0, len(months) - 1)
    out: dict[str, np.ndarray] = {
        "started": np.bincount(index, minlength=len(months)).astype("int64"),
        "still_waiting": np.bincount(index[waits.waiting], minlength=len(months)).astype("int64"),
    }
    median = np.full(len(months), np.nan)
    shares = {weeks: np.full(len(months), np.nan) for weeks in within_weeks}
    for i in range(len(months)):
        mine = index == i
        if not mine.any():
            continue
        group = CensoredWaits(
            start=waits.start[mine],
            length=waits.length[mine],
            completed=waits.completed[mine],
            waiting=waits.waiting[mine],
        )
        value = _quantile(*product_limit(group.length, group.completed), 0.5)
        median[i] = np.nan if value is None else value
        for weeks in within_weeks:
            days = weeks * DAYS_PER_WEEK
            if edges[i + 1] <= horizon_days - days:
                share = share_within(group, days, horizon_days=horizon_days)
                shares[weeks][i] = np.nan if share is None else share
    out["p50"] = median
    for weeks, values in shares.items():
        out[f"share_within_{weeks:g}w"] = values
    return out


def wait_statistics(
    people: pd.DataFrame,
    *,
    horizon_days: float,
    within_weeks: Mapping[str, Sequence[float]] | None = None,
) -> dict[str, dict[str, Any]]:
    """:func:`wait_summary` of every wait of :data:`WAITS`, in order."""
    within_weeks = within_weeks or {}
    columns = _day_columns(people)
    return {
        stage: wait_summary(
            censored_waits(columns, stage, horizon_days=horizon_days),
            horizon_days=horizon_days,
            within_weeks=within_weeks.get(stage, ()),
        )
        for stage in WAITS
    }
