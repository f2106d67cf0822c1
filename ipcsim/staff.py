"""Staff as SimPy-aware pools of people with a bank of IPC working hours.

Capacity is in working hours. Each person in a role earns IPC hours while their working
window is open, at ``rate`` = IPC hours a week / window hours a week (a 10 % add-on planner
earns about 3.2 hours a week after leave), and banks at most one week of them. A task of
``h`` hours starts when the person is free and has banked ``min(h, bank cap)`` hours, inside
working time; a task longer than the bank carries on as new hours are earned. So a
practitioner with a tenth of their time for IPC delivers about a tenth of a full-timer's
sessions, each session still a real hour in the working day.

Notes
-----
Waiting people are served first come, first served. A request may ask for a named person
(the lead practitioner a person keeps across sessions and reviews) or for anyone in the
role; new cases respect an optional caseload cap. When several people are free, the one with
the fewest open cases takes a new case (then the one who can start soonest: most banked hours).
"""

from __future__ import annotations

import simpy

from ipcsim.schema import Role
from ipcsim.worktime import Calendar

HOURS_PER_DAY = 24.0


class StaffMember:
    """One person in a role, with their banked IPC hours and open planning caseload."""

    __slots__ = ("busy", "cap_hours", "caseload", "credit", "credit_day", "index", "name", "rate")

    def __init__(self, *, name: str, index: int, ipc_hours_per_week: float, calendar: Calendar):
        self.name = name
        self.index = index
        self.rate = ipc_hours_per_week / calendar.window_hours_per_week
        # Bank at most a week of IPC hours, so idle weeks are not saved up for months.
        self.cap_hours = ipc_hours_per_week
        self.credit = self.cap_hours
        self.credit_day = 0.0
        self.busy = False
        self.caseload = 0

    def credit_at(self, day: float, calendar: Calendar) -> float:
        """Banked IPC hours at ``day`` (not before the last booking ends)."""
        earned = self.rate * (calendar.cum(day) - calendar.cum(self.credit_day))
        return min(self.cap_hours, self.credit + max(earned, 0.0))

    def book(self, earliest_day: float, hours: float, calendar: Calendar) -> tuple[float, float]:
        """Book ``hours`` of work starting no earlier than ``earliest_day``.

        Returns
        -------
        tuple of float
            Start and finish, days since the start date.
        """
        day = max(earliest_day, self.credit_day)
        credit = self.credit_at(day, calendar)
        need = min(hours, self.cap_hours)
        if credit < need:
            day = calendar.inv(calendar.cum(day) + (need - credit) / self.rate)
            credit = need
        start = calendar.next_open(day)
        cum_start = calendar.cum(start)
        finish = start + hours / HOURS_PER_DAY
        if hours > credit:
            finish = max(finish, calendar.inv(cum_start + (hours - credit) / self.rate))
        earned = self.rate * (calendar.cum(finish) - cum_start)
        self.credit = min(self.cap_hours, max(credit + earned - hours, 0.0))
        self.credit_day = finish
        return start, finish


class StaffRequest(simpy.Event):
    """A person waiting for a member of a role (anyone, or a named person)."""

    def __init__(self, env: simpy.Environment, member: StaffMember | None, new_case: bool):
        super().__init__(env)
        self.member = member
        self.new_case = new_case

    @property
    def granted(self) -> StaffMember:
        """The member who took the request (only once it has triggered)."""
        member = self.value
        if not isinstance(member, StaffMember):
            raise RuntimeError("the request has not been granted yet")
        return member


class StaffPool:
    """Everyone in one role, with a first-come-first-served queue of requests.

    Parameters
    ----------
    env
        The SimPy environment.
    name
        Role name.
    role
        The role's validated settings.
    calendar
        When staff work.
    """

    def __init__(self, env: simpy.Environment, *, name: str, role: Role, calendar: Calendar):
        self.env = env
        self.name = name
        self.role = role
        self.calendar = calendar
        self.unlimited = role.unlimited
        self.members = [
            StaffMember(
                name=f"{name}-{i + 1}",
                index=i,
                ipc_hours_per_week=role.ipc_hours_per_week(fte),
                calendar=calendar,
            )
            for i, fte in enumerate(role.member_fte())
        ]
        self._idle: list[StaffMember] = list(self.members)
        self._waiting: list[StaffRequest] = []
        self._temp_count = 0

    @property
    def queue_length(self) -> int:
        """People waiting for someone in this role now."""
        return len(self._waiting)

    def _eligible(self, request: StaffRequest, member: StaffMember) -> bool:
        if request.member is not None and request.member is not member:
            return False
        cap = self.role.caseload_cap
        return not (request.new_case and cap is not None and member.caseload >= cap)

    def _grant(self, request: StaffRequest, member: StaffMember) -> None:
        self._idle.remove(member)
        member.busy = True
        if request.new_case:
            member.caseload += 1
        request.succeed(member)

    def request(self, *, member: StaffMember | None = None, new_case: bool = False) -> StaffRequest:
        """Ask for ``member`` (or anyone in the role); the event's value is the member."""
        req = StaffRequest(self.env, member, new_case)
        if self.unlimited:
            # No capacity limit: a fresh person with a full bank for every request.
            self._temp_count += 1
            temp = StaffMember(
                name=f"{self.name}-pool",
                index=-self._temp_count,
                ipc_hours_per_week=self.role.ipc_hours_per_week(),
                calendar=self.calendar,
            )
            temp.busy = True
            req.succeed(member if member is not None else temp)
            return req
        candidates = [m for m in self._idle if self._eligible(req, m)]
        if candidates:
            now = self.env.now
            best = min(
                candidates,
                key=lambda m: (m.caseload, -m.credit_at(now, self.calendar), m.index),
            )
            self._grant(req, best)
        else:
            self._waiting.append(req)
        return req

    def release(self, member: StaffMember) -> None:
        """``member`` has finished a task: serve the first waiting request they can take."""
        if self.unlimited:
            return
        member.busy = False
        self._idle.append(member)
        self._dispatch(member)

    def _dispatch(self, member: StaffMember) -> None:
        for request in self._waiting:
            if self._eligible(request, member):
                self._waiting.remove(request)
                self._grant(request, member)
                return

    def cancel(self, request: StaffRequest) -> None:
        """Withdraw a request; if it was already granted, give the member back."""
        if request in self._waiting:
            self._waiting.remove(request)
        elif request.triggered and not self.unlimited:
            member = request.granted
            if request.new_case:
                member.caseload -= 1
            self.release(member)

    def close_case(self, member: StaffMember) -> None:
        """A planning case of ``member`` has closed, freeing caseload for new cases."""
        if self.unlimited:
            return
        member.caseload -= 1
        if not member.busy:
            self._dispatch(member)

    def book(self, member: StaffMember, earliest_day: float, hours: float) -> tuple[float, float]:
        """Book work for ``member`` in their working time; see :meth:`StaffMember.book`."""
        return member.book(earliest_day, hours, self.calendar)

    def available_hours(self, start_day: float, end_day: float) -> float:
        """IPC hours the whole role could deliver in [start_day, end_day]."""
        window = self.calendar.cum(end_day) - self.calendar.cum(start_day)
        return sum(m.rate for m in self.members) * window
