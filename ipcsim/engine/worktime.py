"""Working time: when staff can do IPC work, as a map between clock days and working hours.

The model clock runs in days since the start date. Staff work only inside working windows
(by default Monday to Friday, 09:00-17:00). A calendar answers three questions:

- ``cum(t)``: working-window hours from day 0 to day ``t``;
- ``inv(x)``: the earliest working instant at which ``x`` window hours have elapsed;
- ``next_open(t)``: ``t`` itself if it is working time, otherwise the next window opening.

No SimPy here, so metrics can use calendars to compute available hours.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Protocol

from ipcsim.scenario import RunConfig
from ipcsim.units import HOURS_PER_DAY


class Calendar(Protocol):
    """What the model and the metrics need from a calendar."""

    window_hours_per_week: float

    def cum(self, t: float) -> float:
        """Working hours in the window from day 0 to day ``t``."""
        ...

    def inv(self, hours: float) -> float:
        """The day by which ``hours`` working hours have passed since day 0."""
        ...

    def next_open(self, t: float) -> float:
        """The first day at or after ``t`` when the working window is open."""
        ...


class ContinuousCalendar:
    """Staff can work at any time (used for theory checks such as Erlang C)."""

    window_hours_per_week = 168.0

    def cum(self, t: float) -> float:
        """Window hours in [0, t]: every hour counts."""
        return t * HOURS_PER_DAY

    def inv(self, hours: float) -> float:
        """Day at which ``hours`` window hours have elapsed."""
        return hours / HOURS_PER_DAY

    def next_open(self, t: float) -> float:
        """Always open."""
        return t


class WorkingWeekCalendar:
    """Working windows of ``hours_per_day`` from ``start_hour`` on the first days of each week.

    Parameters
    ----------
    start_date
        Calendar date of day 0; its weekday aligns the working week (Monday = 0).
    days_per_week
        Working days, counted from Monday.
    start_hour
        Hour of day the window opens.
    hours_per_day
        Length of the window, hours.
    """

    def __init__(
        self, *, start_date: dt.date, days_per_week: int, start_hour: float, hours_per_day: float
    ) -> None:
        self.days_per_week = days_per_week
        self.start_hour = start_hour
        self.hours_per_day = hours_per_day
        self.window_hours_per_week = days_per_week * hours_per_day
        self._offset_days = float(start_date.weekday())
        self._cum_at_offset = self._cum_u(self._offset_days)

    def _cum_u(self, u: float) -> float:
        # u: days since a Monday 00:00. (Conditionals rather than min/max: this is the
        # model's most called function.)
        week = math.floor(u / 7.0)
        rest = u - 7.0 * week
        day = math.floor(rest)
        if day >= self.days_per_week:
            return week * self.window_hours_per_week + self.days_per_week * self.hours_per_day
        into_window = (rest - day) * HOURS_PER_DAY - self.start_hour
        if into_window <= 0.0:
            into_window = 0.0
        elif into_window > self.hours_per_day:
            into_window = self.hours_per_day
        return week * self.window_hours_per_week + (day * self.hours_per_day + into_window)

    def cum(self, t: float) -> float:
        """Window hours in [0, t]."""
        return self._cum_u(t + self._offset_days) - self._cum_at_offset

    def inv(self, hours: float) -> float:
        """Earliest working instant at which ``hours`` window hours have elapsed since day 0."""
        total = hours + self._cum_at_offset
        week = math.floor(total / self.window_hours_per_week)
        rest = total - week * self.window_hours_per_week
        day = math.floor(rest / self.hours_per_day)
        within = rest - day * self.hours_per_day
        if day >= self.days_per_week:  # rounding put us at the very end of the week
            week, day, within = week + 1, 0, 0.0
        u = 7.0 * week + day + (self.start_hour + within) / HOURS_PER_DAY
        return u - self._offset_days

    def next_open(self, t: float) -> float:
        """``t`` if inside a working window, else the next window opening."""
        u = t + self._offset_days
        week = math.floor(u / 7.0)
        rest = u - 7.0 * week
        day = math.floor(rest)
        hour = (rest - day) * HOURS_PER_DAY
        if day < self.days_per_week:
            if self.start_hour <= hour < self.start_hour + self.hours_per_day:
                return t
            if hour < self.start_hour:
                return 7.0 * week + day + self.start_hour / HOURS_PER_DAY - self._offset_days
        next_day = day + 1
        if next_day >= self.days_per_week:
            week, next_day = week + 1, 0
        return 7.0 * week + next_day + self.start_hour / HOURS_PER_DAY - self._offset_days


def make_calendar(run: RunConfig) -> Calendar:
    """The calendar a scenario's ``[run]`` table describes."""
    if run.calendar == "continuous":
        return ContinuousCalendar()
    return WorkingWeekCalendar(
        start_date=run.start_date,
        days_per_week=run.working_days_per_week,
        start_hour=run.working_day_start_hour,
        hours_per_day=run.working_hours_per_day,
    )
