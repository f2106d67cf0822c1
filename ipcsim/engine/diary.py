"""Long waits kept out of SimPy's event queue until their day comes.

SimPy keeps every pending timeout in one binary heap, and every event of the run pays for the
heap's depth when it is pushed and popped. A plan in place waits a year for its review, and a
withdrawal timer outlives the request it guards whenever the person is served first; in a
national run these made up most of the heap (up to 65,000 entries against a few thousand for
everything else). The :class:`Diary` files such waits by day and hands them to SimPy at the
start of their day, with their exact times, and drops the ones nobody waits for any more.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import simpy


class Diary:
    """Events due at a later time, held by day until that day starts.

    Parameters
    ----------
    env
        The SimPy environment.
    horizon_days
        End of the run: events due then or later are never filed (they would never fire).
    """

    def __init__(self, env: simpy.Environment, horizon_days: float) -> None:
        self.env = env
        self.horizon_days = horizon_days
        self._days: dict[int, list[tuple[float, simpy.Event]]] = {}
        self._today: int | None = None  # the last day handed over (None: no ticker yet)

    def event_at(self, when: float) -> simpy.Event:
        """An event that fires at ``when`` (at once if ``when`` is past), like a timeout.

        Until the start of its day it is not in SimPy's queue; an event that nobody waits
        for by then (a withdrawal timer whose request was served) is dropped unscheduled.
        """
        event = simpy.Event(self.env)
        if when >= self.horizon_days:
            return event  # never fires within the run, like a timeout past the horizon
        if self._today is None:
            self._today = math.floor(self.env.now)
            self.env.process(self._ticker())
        day = math.floor(when)
        if day <= self._today:
            self._fire(event, when)
        else:
            self._days.setdefault(day, []).append((when, event))
        return event

    def _fire(self, event: simpy.Event, when: float) -> None:
        event._ok = True
        event._value = None
        self.env.schedule(event, delay=max(0.0, when - self.env.now))

    def _ticker(self) -> Generator[simpy.Event, Any, None]:
        """Wake at the start of each day and hand its events to SimPy."""
        assert self._today is not None
        day = self._today
        while day + 1 < self.horizon_days:
            day += 1
            yield self.env.timeout(day - self.env.now)
            self._today = day
            for when, event in self._days.pop(day, ()):
                if event.callbacks:  # somebody still waits for it
                    self._fire(event, when)
