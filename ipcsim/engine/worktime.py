"""Working time: when staff can do IPC work, as a map between clock days and working hours.

The model clock runs in days since the start date. Staff work only inside working windows
(by default Monday to Friday, 09:00-17:00). A calendar answers three questions:

- ``cum(t)``: working-window hours from day 0 to day ``t``;
- ``inv(x)``: the earliest working instant at which ``x`` window hours have elapsed;
- ``next_open(t)``: ``t`` itself if it is working time, otherwise the next window opening;
- ``sitting_start(t, hours)``: the earliest instant at or after ``t`` at which ``hours`` of
  work can run without a break inside one window (a task longer than any window: the earliest
  instant some working time is left).

A window is half open, ``[opening, closing)``: its closing instant is not working time, and no
task starts there. No calendar here allows overtime (work past a closing instant); the
continuous calendar is always open.

No SimPy here, so metrics can use calendars to compute available hours.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Protocol

from ipcsim.scenario import RunConfig
from ipcsim.units import HOURS_PER_DAY

FIT_TOLERANCE_HOURS = 1e-6
"""Slack when asking whether a task fits in the rest of a window, hours (3.6 ms).

Clock days are floats: a one-hour task booked at 16:00 may be computed to start a few
nanoseconds later and still belongs in that window. The same slack means an instant less than
this before a closing counts as the closing itself: nothing starts there.
"""


class Calendar(Protocol):
    """What the model and the metrics need from a calendar."""

    window_hours_per_week: float
    longest_sitting_hours: float
    """The longest task that fits in one window without a break, hours."""

    def cum(self, t: float) -> float:
        """Working hours in the window from day 0 to day ``t``."""
        ...

    def inv(self, hours: float) -> float:
        """The day by which ``hours`` working hours have passed since day 0."""
        ...

    def next_open(self, t: float) -> float:
        """The first day at or after ``t`` when the working window is open."""
        ...

    def sitting_start(self, t: float, hours: float) -> float:
        """The earliest day at or after ``t`` when ``hours`` of work fit in one window."""
        ...

    def end_of(self, hours: float) -> float:
        """The day by which ``hours`` working hours have passed (a closing, not an opening)."""
        ...


class ContinuousCalendar:
    """Staff can work at any time (used for theory checks such as Erlang C)."""

    window_hours_per_week = 168.0
    longest_sitting_hours = math.inf

    def cum(self, t: float) -> float:
        """Window hours in [0, t]: every hour counts."""
        return t * HOURS_PER_DAY

    def inv(self, hours: float) -> float:
        """Day at which ``hours`` window hours have elapsed."""
        return hours / HOURS_PER_DAY

    def next_open(self, t: float) -> float:
        """Always open."""
        return t

    def sitting_start(self, t: float, hours: float) -> float:
        """Always open, with no closing: any task fits at once."""
        return t

    def end_of(self, hours: float) -> float:
        """Day at which ``hours`` window hours have elapsed."""
        return hours / HOURS_PER_DAY


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
        # A window ending at midnight runs on into the next working day's window opening at
        # midnight: the open stretches are then whole runs of working days.
        self._runs_on = start_hour == 0.0 and hours_per_day >= HOURS_PER_DAY
        if not self._runs_on:
            self.longest_sitting_hours = hours_per_day
        elif days_per_week == 7:
            self.longest_sitting_hours = math.inf
        else:
            self.longest_sitting_hours = days_per_week * HOURS_PER_DAY

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

    def end_of(self, hours: float) -> float:
        """The day by which ``hours`` window hours have elapsed since day 0.

        Like :meth:`inv`, except when the hours run out exactly as a window closes: then the
        closing instant, not the next opening (work that fills a window ends at its close).
        """
        if hours <= 0.0:
            return self.inv(hours)
        total = hours + self._cum_at_offset
        week = math.floor(total / self.window_hours_per_week)
        rest = total - week * self.window_hours_per_week
        if rest <= 0.0:
            week, rest = week - 1, self.window_hours_per_week
        day = math.ceil(rest / self.hours_per_day) - 1
        within = rest - day * self.hours_per_day
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

    def closing(self, t: float) -> float:
        """The closing instant of the open stretch holding working instant ``t``.

        ``inf`` when the calendar never closes (seven 24-hour days).
        """
        u = t + self._offset_days
        week = math.floor(u / 7.0)
        if self._runs_on:
            if self.days_per_week == 7:
                return math.inf
            return 7.0 * week + self.days_per_week - self._offset_days
        day = math.floor(u - 7.0 * week)
        return (
            7.0 * week
            + day
            + (self.start_hour + self.hours_per_day) / HOURS_PER_DAY
            - (self._offset_days)
        )

    def sitting_start(self, t: float, hours: float) -> float:
        """The earliest day at or after ``t`` when ``hours`` of work fit in one window.

        Parameters
        ----------
        t
            Earliest start, days since the start date.
        hours
            Length of the task, hours.

        Returns
        -------
        float
            ``t`` or later: a working instant with ``hours`` left before its window closes.
            A task longer than any window cannot fit one; it gets the earliest working
            instant with any time left (not a closing instant) and runs on in later windows.

        Notes
        -----
        Every window of a working week is as long as any other, so a task that fits no window
        today fits the next one: the search takes at most two steps.
        """
        need = hours if hours <= self.longest_sitting_hours else 0.0
        room = max(need - FIT_TOLERANCE_HOURS, FIT_TOLERANCE_HOURS)
        start = self.next_open(t)
        close = self.closing(start)
        while (close - start) * HOURS_PER_DAY < room:
            # Not enough of this window left (or only its closing instant): the next one.
            start = self.next_open(close + FIT_TOLERANCE_HOURS / HOURS_PER_DAY)
            close = self.closing(start)
        return start


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
