"""Sign-off: how a submitted plan gets its decision, one class per ``signoff.mode``.

A :class:`SignOff` answers one submission of a plan (:meth:`SignOff.submit`, a process that
ends when the decision comes back) and may run processes of its own (:meth:`SignOff.start`,
e.g. a panel's sittings). What the decision is (approved, returned for rework, declined) is
drawn with the person and applied by :func:`ipcsim.engine.journey.journey`; a sign-off
decides only *when*. Reviewer time is logged as ``sign_off`` work, counted and costed but not
queued: the delay or the cadence stands for it.

A new mode is one class here, one line in :data:`SIGNOFF_MODES` and one block in
:mod:`ipcsim.scenario.signoff`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Protocol

import simpy

from ipcsim.engine.draws import PersonDraws
from ipcsim.engine.records import EventLog, PersonRecord
from ipcsim.engine.runtime import Process, Runtime
from ipcsim.periods import add_months, day_of
from ipcsim.scenario import IndividualSignoff, Panel, Signoff
from ipcsim.units import MINUTES_PER_HOUR

__all__ = [
    "SIGNOFF_MODES",
    "IndividualSignOff",
    "PanelSignOff",
    "SequentialSignOff",
    "SignOff",
]


class SignOff(Protocol):
    """How a submitted plan gets its decision (one implementation per ``signoff.mode``)."""

    def start(self) -> None:
        """Start the mode's own processes, if it has any (called once, at the start)."""
        ...

    def submit(self, person: PersonRecord, draws: PersonDraws, submission: int) -> Process:
        """One submission of ``person``'s plan (0 for the first), until the decision is back."""
        ...


def _log_reviewer(
    log: EventLog, now: float, person: PersonRecord, role: str, member: str, hours: float
) -> None:
    """Sign-off time: counted and costed, not queued (the delay or cadence stands for it)."""
    log.log_task(person.row, role, member, "sign_off", now, now, hours)


class PanelSignOff:
    """A panel sitting on a fixed cadence decides on the plans waiting, oldest first.

    Parameters
    ----------
    runtime
        The run's shared state.
    signoff
        The site's sign-off settings (``signoff.panel`` is used).
    panel
        A panel shared by several sites (``[shared_panels]``) instead of the site's own.
    """

    def __init__(self, runtime: Runtime, signoff: Signoff, *, panel: Panel | None = None) -> None:
        self.runtime = runtime
        self.config = signoff.panel if panel is None else panel
        self.waiting: list[tuple[PersonRecord, simpy.Event]] = []

    def start(self) -> None:
        """Start the panel's sittings."""
        self.runtime.env.process(self._sittings())

    def submit(self, person: PersonRecord, draws: PersonDraws, submission: int) -> Process:
        """Wait for the next sitting with room for the plan."""
        decision = self.runtime.env.event()
        self.waiting.append((person, decision))
        yield decision

    def _sittings(self) -> Process:
        """The panel sits on its cadence and decides on waiting plans, oldest first."""
        env, log = self.runtime.env, self.runtime.log
        config = self.config
        hours = config.members_per_sitting * config.reviewer_minutes_per_plan / MINUTES_PER_HOUR
        gap = config.days_between
        sittings = _monthly_sitting_days(config, self.runtime.scenario.run.start_date)
        # The first sitting: first_sitting_day, or a monthly panel's first day on its weekday.
        yield env.timeout(config.first_sitting_day if gap is not None else next(sittings))
        while True:
            limit = config.max_plans_per_sitting or len(self.waiting)
            sitting, self.waiting = self.waiting[:limit], self.waiting[limit:]
            for person, decision in sitting:
                _log_reviewer(log, env.now, person, config.reviewer_role, "panel", hours)
                decision.succeed()
            # A fixed cadence waits its days; a monthly one until the next month's sitting.
            yield env.timeout(gap if gap is not None else next(sittings) - env.now)


def _monthly_sitting_days(config: Panel, start_date: dt.date) -> Iterator[float]:
    """Days of a monthly panel's sittings, the first at ``first_sitting_day``, for ever.

    The panel sits on the same day of each calendar month as its first sitting (clipped to the
    month's length) at the same time of day; with ``monthly_on`` ("first Tuesday"), on that
    weekday of each month, from the first such day on or after ``first_sitting_day``.
    """
    first = config.first_sitting_day
    whole = math.floor(first)
    first_date = start_date + dt.timedelta(days=whole)
    weekday_of_month = config.weekday_of_month
    if weekday_of_month is None:
        for k in itertools.count():
            yield day_of(add_months(first_date, k), start_date) + (first - whole)
    else:
        week, weekday = weekday_of_month
        month = first_date.replace(day=1)
        while True:
            sitting = _weekday_of_month(month, week, weekday)
            if sitting >= first_date:
                yield day_of(sitting, start_date) + (first - whole)
            month = add_months(month, 1)


def _weekday_of_month(month: dt.date, week: int, weekday: int) -> dt.date:
    """The ``week``-th (0-based; -1: the last) ``weekday`` (0 = Monday) of ``month``'s month."""
    if week >= 0:
        first = month.replace(day=1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * week)
    last = add_months(month.replace(day=1), 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


class SequentialSignOff:
    """Reviewers in turn, each after this person's drawn delay (P31).

    Parameters
    ----------
    runtime
        The run's shared state.
    signoff
        The site's sign-off settings (``signoff.sequential.steps`` are used).
    """

    def __init__(self, runtime: Runtime, signoff: Signoff) -> None:
        self.runtime = runtime
        # (reviewer role, hours per plan) of each step, in order.
        self.steps = tuple(
            (step.reviewer_role, step.reviewer_minutes_per_plan / MINUTES_PER_HOUR)
            for step in self.reviewers(signoff)
        )

    @staticmethod
    def reviewers(signoff: Signoff) -> tuple[IndividualSignoff, ...]:
        """The reviewers, in the order they see the plan."""
        return signoff.sequential.steps

    def start(self) -> None:
        """Nothing to start: each submission runs on its own draws."""

    def submit(self, person: PersonRecord, draws: PersonDraws, submission: int) -> Process:
        """Each reviewer in turn: their delay (drawn for this submission), then their time."""
        env, log = self.runtime.env, self.runtime.log
        delays = draws.signoff_delays_days[submission]
        for (role, hours), delay in zip(self.steps, delays, strict=True):
            if delay > 0:
                yield env.timeout(delay)
            _log_reviewer(log, env.now, person, role, "reviewer", hours)


class IndividualSignOff(SequentialSignOff):
    """One person or team signs off, after a delay that reflects their priorities (P30).

    A sequence of one reviewer, ``signoff.individual``.
    """

    @staticmethod
    def reviewers(signoff: Signoff) -> tuple[IndividualSignoff, ...]:
        """The one reviewer."""
        return (signoff.individual,)


SIGNOFF_MODES: Mapping[str, Callable[[Runtime, Signoff], SignOff]] = MappingProxyType(
    {
        "panel": PanelSignOff,
        "individual": IndividualSignOff,
        "sequential": SequentialSignOff,
    }
)
"""The sign-off of each ``signoff.mode``: built with the run's state and the site's settings."""
