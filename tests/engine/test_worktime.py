"""Working-time calendar and the staff hours bank, checked on hand-computed cases."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipcsim.engine.staff import StaffMember
from ipcsim.engine.worktime import ContinuousCalendar, WorkingWeekCalendar
from ipcsim.scenario import Role

# 2016-04-01 was a Friday.
FRIDAY = dt.date(2016, 4, 1)


def week_calendar() -> WorkingWeekCalendar:
    return WorkingWeekCalendar(start_date=FRIDAY, days_per_week=5, start_hour=9, hours_per_day=8)


def test_cumulative_hours_skip_nights_and_weekends() -> None:
    cal = week_calendar()
    assert cal.cum(0.0) == 0.0  # Friday 00:00
    assert cal.cum(10 / 24) == pytest.approx(1.0)  # Friday 10:00
    assert cal.cum(1.0) == pytest.approx(8.0)  # Saturday 00:00: all of Friday
    assert cal.cum(3.0) == pytest.approx(8.0)  # Monday 00:00: the weekend adds nothing
    assert cal.cum(3.5) == pytest.approx(11.0)  # Monday 12:00
    assert cal.cum(7.0) == pytest.approx(40.0)  # a full week later


def test_next_open_moves_to_the_next_window() -> None:
    cal = week_calendar()
    assert cal.next_open(0.0) == pytest.approx(9 / 24)  # Friday night -> Friday 09:00
    assert cal.next_open(0.5) == pytest.approx(0.5)  # Friday noon is open
    assert cal.next_open(1.2) == pytest.approx(3 + 9 / 24)  # Saturday -> Monday 09:00


@settings(max_examples=200, deadline=None)
@given(hours=st.floats(0, 5000))
def test_inverse_of_cumulative_hours(hours: float) -> None:
    cal = week_calendar()
    t = cal.inv(hours)
    assert cal.cum(t) == pytest.approx(hours, abs=1e-6)
    assert cal.next_open(t) == pytest.approx(t, abs=1e-6) or cal.cum(t) == pytest.approx(
        cal.cum(cal.next_open(t)), abs=1e-6
    )


def test_session_booked_after_hours_starts_next_working_morning() -> None:
    cal = week_calendar()
    member = StaffMember(name="p", index=0, ipc_hours_per_week=30.0, calendar=cal)
    start, finish = member.book(16.9 / 24 + 1.0, 1.0, cal)  # Saturday: closed
    assert start == pytest.approx(3 + 9 / 24)  # Monday 09:00
    assert finish == pytest.approx(3 + 10 / 24)


def test_add_on_practitioner_waits_to_earn_hours() -> None:
    """A 10 % practitioner banks at most one week of IPC hours and earns them slowly."""
    cal = ContinuousCalendar()
    role = Role(headcount=1, contracted_hours_per_week=40.0, ipc_share=0.1, leave_share=0.0)
    weekly = role.ipc_hours_per_week()
    assert weekly == pytest.approx(4.0)
    member = StaffMember(name="p", index=0, ipc_hours_per_week=weekly, calendar=cal)
    # Four one-hour sessions use up the bank, back to back.
    for k in range(4):
        start, finish = member.book(0.0, 1.0, cal)
        assert start == pytest.approx(k / 24)
    # The fifth waits until one more hour is earned: 1 h / (4 h per 168 h) = 42 h.
    start, _ = member.book(0.0, 1.0, cal)
    rate = 4.0 / 168.0
    earned_by_then = rate * 4  # hours earned during the first four sessions
    assert start == pytest.approx(4 / 24 + (1.0 - earned_by_then) / rate / 24)


def test_a_task_longer_than_the_bank_continues_as_hours_are_earned() -> None:
    cal = ContinuousCalendar()
    member = StaffMember(name="p", index=0, ipc_hours_per_week=4.0, calendar=cal)
    start, finish = member.book(0.0, 6.0, cal)
    rate = 4.0 / 168.0
    assert start == 0.0
    # 4 banked hours, then 2 more earned at `rate`.
    assert finish == pytest.approx((2.0 / rate) / 24)


def test_fte_gives_whole_and_part_time_people() -> None:
    assert Role(fte=2.5).member_fte() == [1.0, 1.0, 0.5]
    assert Role(headcount=3).member_fte() == [1.0, 1.0, 1.0]
    assert Role(headcount="unlimited").member_fte() == []
