"""The diary: long waits held out of SimPy's queue fire exactly as timeouts would."""

from __future__ import annotations

from typing import Any

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from ipcsim.engine.diary import Diary


def fire_times(waits: list[tuple[float, float]], horizon: float) -> list[tuple[int, float]]:
    """Run processes that each start at ``start`` and wait in the diary until ``due``."""
    env = simpy.Environment()
    diary = Diary(env, horizon)
    fired: list[tuple[int, float]] = []

    def waiter(k: int, start: float, due: float) -> Any:
        yield env.timeout(start)
        yield diary.event_at(due)
        fired.append((k, env.now))

    for k, (start, due) in enumerate(waits):
        env.process(waiter(k, start, due))
    env.run(until=horizon)
    return fired


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.0, 30.0), st.floats(0.0, 60.0)),
        min_size=1,
        max_size=30,
    )
)
def test_events_fire_at_their_time_or_at_once_if_past(waits: list[tuple[float, float]]) -> None:
    horizon = 45.0
    fired = dict(fire_times(waits, horizon))
    for k, (start, due) in enumerate(waits):
        when = max(start, due)
        if when < horizon:
            assert fired[k] == pytest.approx(when, abs=1e-9)
        else:
            assert k not in fired  # due at or after the horizon: never, like a timeout


def test_an_event_nobody_waits_for_is_never_scheduled() -> None:
    env = simpy.Environment()
    diary = Diary(env, 100.0)
    served = env.event()
    timer = diary.event_at(10.5)

    def person() -> Any:
        yield served | timer  # served first: the condition stops waiting for the timer

    env.process(person())
    env.run(until=1.0)
    served.succeed()
    env.run(until=20.0)
    assert not timer.triggered
    assert all(entry[3] is not timer for entry in env._queue)


def test_waits_on_the_same_day_keep_their_order() -> None:
    fired = fire_times([(0.0, 3.25), (0.0, 3.75), (1.0, 3.5), (3.6, 3.6)], horizon=10.0)
    assert [k for k, _ in fired] == [0, 2, 3, 1]
