"""Calendar periods of a run: months, quarters, years and budget periods, in days.

A run starts on a calendar date (``run.start_date``) and lasts ``horizon_days``; simulation
time is float days since that date. Reports count by calendar month and quarter, the economics
by year of the run (anniversaries of the start date: financial years when it is 1 April), and
a budget pot refills on the first of each month or each April. Every layer takes these spans
from here, so a month means the same in the engine, the analysis and the plots.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from typing import Literal, NamedTuple

__all__ = [
    "RunYear",
    "add_months",
    "check_horizon",
    "anniversary",
    "budget_period_starts",
    "day_of",
    "month_starts",
    "quarter_starts",
    "run_years",
]


def check_horizon(horizon_days: float) -> None:
    """Raise :class:`ValueError` unless ``horizon_days`` is a finite number > 0."""
    if not (math.isfinite(horizon_days) and horizon_days > 0):
        raise ValueError(f"horizon_days must be a finite number > 0, got {horizon_days!r}")


def day_of(date: dt.date, start: dt.date) -> float:
    """Days from the run's start date ``start`` to ``date`` (negative before the start)."""
    return float((date - start).days)


def add_months(date: dt.date, months: int) -> dt.date:
    """``date`` moved by whole calendar months, the day clipped to the month's length."""
    year, month0 = divmod(date.month - 1 + months, 12)
    year += date.year
    day = min(date.day, calendar.monthrange(year, month0 + 1)[1])
    return dt.date(year, month0 + 1, day)


def anniversary(date: dt.date, years: int) -> dt.date:
    """``date`` moved on by whole years; 29 February becomes 28 February in other years."""
    year = date.year + years
    day = min(date.day, calendar.monthrange(year, date.month)[1])
    return dt.date(year, date.month, day)


def month_starts(start_date: dt.date, horizon_days: float) -> list[tuple[dt.date, float, float]]:
    """Calendar months of the run.

    Parameters
    ----------
    start_date
        Calendar date of day 0.
    horizon_days
        Length of the run, days (> 0).

    Returns
    -------
    list of (date, float, float)
        ``(month_start, start_day, end_day)`` per calendar month, days since ``start_date``.
        The first month runs from ``start_date`` (which may be mid-month) to the next 1st; the
        last ends at ``horizon_days``.

    Examples
    --------
    >>> month_starts(dt.date(2016, 4, 15), 40.0)
    [(datetime.date(2016, 4, 15), 0.0, 16.0), (datetime.date(2016, 5, 1), 16.0, 40.0)]
    """
    check_horizon(horizon_days)
    months = []
    begin = start_date
    while True:
        start_day = float((begin - start_date).days)
        if start_day >= horizon_days:
            break
        following = add_months(begin.replace(day=1), 1)
        end_day = min(float((following - start_date).days), float(horizon_days))
        months.append((begin, start_day, end_day))
        begin = following
    return months


def quarter_starts(start_date: dt.date, horizon_days: float) -> list[tuple[dt.date, float, float]]:
    """Quarters of the run: spans of three calendar months from the start date.

    Parameters
    ----------
    start_date
        Calendar date of day 0; quarter ``k`` starts ``3k`` calendar months later (the day of
        the month clipped to the month's length, so 31 January is followed by 30 April).
    horizon_days
        Length of the run, days (> 0).

    Returns
    -------
    list of (date, float, float)
        ``(quarter_start, start_day, end_day)``; the last quarter ends at ``horizon_days`` and
        may be partial.
    """
    check_horizon(horizon_days)
    quarters = []
    k = 0
    while True:
        begin = add_months(start_date, 3 * k)
        start_day = float((begin - start_date).days)
        if start_day >= horizon_days:
            break
        following = add_months(start_date, 3 * (k + 1))
        end_day = min(float((following - start_date).days), float(horizon_days))
        quarters.append((begin, start_day, end_day))
        k += 1
    return quarters


class RunYear(NamedTuple):
    """One year of the run, in days since the start date."""

    year: int
    """1 for the first year."""
    start_day: float
    """Day the year starts: the start date's ``year - 1``-th anniversary."""
    end_day: float
    """Day the year ends: the next anniversary, or the horizon for a last, partial year."""
    full_days: float
    """Length of the whole year, days (365 or 366), even when the run covers part of it."""


def run_years(start_date: dt.date, horizon_days: float) -> list[RunYear]:
    """Years of the run, each from an anniversary of the start date to the next.

    Parameters
    ----------
    start_date
        Calendar date of day 0. With 1 April, the years are financial years, like the
        evaluation's implementation years (2015/16 to 2017/18).
    horizon_days
        Length of the run, days (> 0); the last year ends there and may be partial.

    Examples
    --------
    >>> run_years(dt.date(2019, 4, 1), 500.0)  # 2019/20 has 29 February 2020
    [RunYear(year=1, start_day=0.0, end_day=366.0, full_days=366.0), \
RunYear(year=2, start_day=366.0, end_day=500.0, full_days=365.0)]
    """
    check_horizon(horizon_days)
    years: list[RunYear] = []
    start_day = 0.0
    while start_day < horizon_days:
        k = len(years) + 1
        next_day = float((anniversary(start_date, k) - start_date).days)
        years.append(
            RunYear(k, start_day, min(next_day, float(horizon_days)), next_day - start_day)
        )
        start_day = next_day
    return years


def budget_period_starts(
    start_date: dt.date, horizon_days: float, period: Literal["month", "financial_year"]
) -> list[float]:
    """Days on which a budget period starts, from day 0 to the horizon.

    Parameters
    ----------
    start_date
        Calendar date of day 0 (the first period starts there, whatever the date).
    horizon_days
        Length of the run, days.
    period
        ``"month"``: the 1st of every later month; ``"financial_year"``: every later 1 April.

    Returns
    -------
    list of float
        ``[0.0, ...]``: day 0, then each later period start before ``horizon_days``.
    """
    days = [0.0]
    year, month = start_date.year, start_date.month
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        if period == "financial_year" and month != 4:
            continue
        day = day_of(dt.date(year, month, 1), start_date)
        if day >= horizon_days:
            return days
        days.append(day)
