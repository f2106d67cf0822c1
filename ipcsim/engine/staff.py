"""Staff as SimPy-aware pools of people with a bank of IPC working hours.

Capacity is in working hours. Each person in a role earns IPC hours while their working
window is open, at ``rate`` = IPC hours a week / window hours a week (a 10 % add-on planner
earns about 3.2 hours a week after leave), and banks at most one week of them. A task of
``h`` hours starts when the person is free and has banked ``min(h, bank cap)`` hours, inside
working time, in one sitting when the rest of the window can hold it (else in the next window
that can); a task longer than the bank or a window is split over the windows that follow and
carries on as new hours are earned. Nothing starts at a window's closing instant or runs past
it (see :meth:`StaffMember.book`). So a practitioner with a tenth of their time for IPC
delivers about a tenth of a full-timer's sessions, each session still a real hour in the
working day.

Notes
-----
A request may ask for a named person (the lead practitioner a person keeps across sessions
and reviews) or for anyone in the role; new cases respect an optional caseload cap. When
several people are free, the one with the fewest open cases takes a new case (then the one
who can start soonest: most banked hours). Waiting requests are served in the order the
role's priority gives: first come first served, or new planning before reviews, or the
reverse. A person who leaves finishes the task in hand; requests naming them go to anyone.
"""

from __future__ import annotations

from operator import attrgetter

import simpy

from ipcsim.engine.worktime import Calendar
from ipcsim.scenario import Role
from ipcsim.units import HOURS_PER_DAY

PRIORITY_RANKS = {
    "fifo": {"planning": 0, "review": 0},
    "new_first": {"planning": 0, "review": 1},
    "reviews_first": {"planning": 1, "review": 0},
}
"""Rank of each kind of work under each priority rule (lower is served first)."""


class StaffMember:
    """One person in a role, with their banked IPC hours and open planning caseload."""

    __slots__ = (
        "active",
        "busy",
        "cap_hours",
        "caseload",
        "credit",
        "credit_cum",
        "credit_day",
        "fte",
        "index",
        "name",
        "productivity",
        "rate",
        "waiting",
    )

    def __init__(
        self,
        *,
        name: str,
        index: int,
        ipc_hours_per_week: float,
        calendar: Calendar,
        fte: float = 1.0,
    ):
        self.name = name
        self.index = index
        self.fte = fte
        self.productivity = 1.0
        self.rate = ipc_hours_per_week / calendar.window_hours_per_week
        # Bank at most a week of IPC hours, so idle weeks are not saved up for months.
        self.cap_hours = ipc_hours_per_week
        self.credit = self.cap_hours
        self.credit_day = 0.0
        self.credit_cum = calendar.cum(0.0)  # window hours at credit_day, kept to save work
        self.busy = False
        self.active = True
        self.caseload = 0
        # Requests naming this person, in arrival order (see StaffPool._dispatch).
        self.waiting: list[StaffRequest] = []

    def credit_at(self, day: float, calendar: Calendar) -> float:
        """Banked IPC hours at ``day`` (not before the last booking ends)."""
        earned = self.rate * (calendar.cum(day) - self.credit_cum)
        return min(self.cap_hours, self.credit + max(earned, 0.0))

    def set_weekly_hours(self, day: float, ipc_hours_per_week: float, calendar: Calendar) -> None:
        """Change the IPC hours earned per week from ``day`` on (hours banked so far kept)."""
        if day > self.credit_day:
            self.credit = self.credit_at(day, calendar)
            self.credit_day = day
            self.credit_cum = calendar.cum(day)
        self.rate = ipc_hours_per_week / calendar.window_hours_per_week
        self.cap_hours = ipc_hours_per_week
        self.credit = min(self.credit, self.cap_hours)

    def book(self, earliest_day: float, hours: float, calendar: Calendar) -> tuple[float, float]:
        """Book ``hours`` of work starting no earlier than ``earliest_day``, in working time.

        Parameters
        ----------
        earliest_day
            When the work could start at the earliest, days since the start date.
        hours
            Length of the task, hours.
        calendar
            When this person works.

        Returns
        -------
        tuple of float
            Start and finish, days since the start date.

        Notes
        -----
        A task is done in one sitting when it can be: when it is no longer than the bank
        (``cap_hours``) and than a working window. It then starts at the first instant the
        person has banked its hours *and* the rest of the window can hold it whole, so a
        one-hour conversation not started by 16:00 on a 09:00-17:00 day moves to 09:00 the
        next working day; it is not split into half an hour today and half an hour tomorrow
        (a conversation with a person is one meeting). Waiting for the next window costs
        the person nothing: they earn hours while they wait, up to the bank's cap.

        A task that fits no sitting (longer than a window, or than the bank) must still be
        possible: it starts at the first working instant with time left (never a window's
        closing instant) once the bank holds what it can, and is split over the windows that
        follow, finishing when both its working hours have passed and the hours beyond the
        bank have been earned. No calendar allows overtime, so no task runs past a closing
        instant: the person never works more hours than their windows hold.
        """
        day = max(earliest_day, self.credit_day)
        cum_day = calendar.cum(day)
        rate, cap = self.rate, self.cap_hours
        credit = min(cap, self.credit + max(rate * (cum_day - self.credit_cum), 0.0))
        need = min(hours, cap)
        ready = day if credit >= need else calendar.inv(cum_day + (need - credit) / rate)
        one_sitting = hours <= cap and hours <= calendar.longest_sitting_hours
        start = calendar.sitting_start(ready, hours if one_sitting else 0.0)
        # Inside a working window already: its window hours are known.
        cum_start = cum_day if start == day else calendar.cum(start)
        credit = min(cap, credit + rate * (cum_start - cum_day))
        if one_sitting:
            finish = start + hours / HOURS_PER_DAY
            cum_finish = cum_start + hours
        else:
            cum_finish = cum_start + max(hours, (hours - credit) / rate)
            finish = calendar.end_of(cum_finish)
        earned = rate * (cum_finish - cum_start)
        self.credit = min(cap, max(credit + earned - hours, 0.0))
        self.credit_day = finish
        self.credit_cum = cum_finish
        return start, finish


class StaffRequest(simpy.Event):
    """A person waiting for a member of a role (anyone, or a named person)."""

    def __init__(
        self,
        env: simpy.Environment,
        member: StaffMember | None,
        new_case: bool,
        kind: str,
        rank: int,
        seq: int,
    ):
        super().__init__(env)
        self.member = member
        self.new_case = new_case
        self.kind = kind
        self.rank = rank
        self.seq = seq

    def grant_now(self, member: StaffMember) -> None:
        """Grant at once, as an event already processed.

        A process that yields a processed event carries on in the same step instead of
        going round the event queue; the request is served at this instant either way.
        """
        self._ok = True
        self._value = member
        self.callbacks = None  # type: ignore[assignment]

    @property
    def granted(self) -> StaffMember:
        """The member who took the request (only once it has triggered)."""
        member = self.value
        if not isinstance(member, StaffMember):
            raise RuntimeError("the request has not been granted yet")
        return member


class StaffPool:
    """Everyone in one role, with a queue of requests.

    Parameters
    ----------
    env
        The SimPy environment.
    name
        Pool name (the role name, or a shared pool's name).
    role
        The role's validated settings.
    calendar
        When staff work.
    priority
        ``fifo``, ``new_first`` or ``reviews_first``.
    role_label
        The role name written in records (defaults to ``name``).
    """

    def __init__(
        self,
        env: simpy.Environment,
        *,
        name: str,
        role: Role,
        calendar: Calendar,
        priority: str = "fifo",
        role_label: str | None = None,
    ):
        self.env = env
        self.name = name
        self.role_label = role_label or name
        self.role = role
        self.calendar = calendar
        self.unlimited = role.unlimited
        self.ipc_share = role.ipc_share
        self.ranks = PRIORITY_RANKS[priority]
        self.members: list[StaffMember] = []
        self._idle: list[StaffMember] = []
        # Waiting requests for anyone, in arrival order; those naming someone wait in that
        # member's own list, so a member who comes free looks only at what they may take.
        self._anyone: list[StaffRequest] = []
        self._n_waiting = 0
        self._seq = 0
        self._temp_count = 0
        self._hired = 0
        for fte in role.member_fte():
            self._idle.append(self._new_member(fte, productivity=1.0))
        # (day, sum of member rates) each time capacity changes, for available hours.
        self.rate_history: list[tuple[float, float]] = [(0.0, self.total_rate)]

    # ----------------------------------------------------------------- capacity
    def weekly_hours(self, fte: float) -> float:
        """IPC hours a week of one person with this WTE at the current IPC share."""
        role = self.role
        return role.contracted_hours_per_week * fte * self.ipc_share * (1.0 - role.leave_share)

    @property
    def active_members(self) -> list[StaffMember]:
        """People currently in post."""
        return [m for m in self.members if m.active]

    @property
    def total_rate(self) -> float:
        """IPC hours earned per window hour by everyone in post."""
        return sum(m.rate for m in self.members if m.active)

    def _note_capacity(self) -> None:
        self.rate_history.append((self.env.now, self.total_rate))

    def _new_member(self, fte: float, *, productivity: float) -> StaffMember:
        self._hired += 1
        member = StaffMember(
            name=f"{self.name}-{self._hired}",
            index=self._hired - 1,
            ipc_hours_per_week=self.weekly_hours(fte) * productivity,
            calendar=self.calendar,
            fte=fte,
        )
        member.productivity = productivity
        self.members.append(member)
        return member

    def add_member(
        self, fte: float = 1.0, *, training_days: float = 0.0, productivity: float = 1.0
    ) -> StaffMember:
        """A new starter joins now, with no banked hours; they work after ``training_days``."""
        member = self._new_member(fte, productivity=productivity)
        member.credit = 0.0
        member.credit_day = self.env.now + training_days
        member.credit_cum = self.calendar.cum(member.credit_day)
        self._idle.append(member)
        self._note_capacity()
        self._dispatch(member)
        return member

    def set_productivity(self, member: StaffMember, productivity: float) -> None:
        """Scale a person's IPC hours (new starters reach full productivity later)."""
        member.productivity = productivity
        member.set_weekly_hours(
            self.env.now, self.weekly_hours(member.fte) * productivity, self.calendar
        )
        self._note_capacity()

    def set_ipc_share(self, share: float) -> None:
        """Everyone's share of time for IPC changes now."""
        self.ipc_share = share
        for member in self.active_members:
            hours = self.weekly_hours(member.fte) * member.productivity
            member.set_weekly_hours(self.env.now, hours, self.calendar)
        self._note_capacity()

    def retire(self, member: StaffMember) -> None:
        """``member`` leaves: at once if idle, after the task in hand if busy."""
        if not member.active:
            return
        member.active = False
        if member in self._idle:
            self._idle.remove(member)
        # Whoever was waiting for this person now waits for anyone (a new lead).
        if member.waiting:
            for request in member.waiting:
                request.member = None
                request.new_case = request.kind == "planning"
            self._anyone = sorted([*self._anyone, *member.waiting], key=attrgetter("seq"))
            member.waiting = []
        self._note_capacity()
        for idle in list(self._idle):
            self._dispatch(idle)

    # ----------------------------------------------------------------- requests
    @property
    def queue_length(self) -> int:
        """People waiting for someone in this pool now."""
        return self._n_waiting

    def _wait(self, request: StaffRequest) -> None:
        named = request.member
        (self._anyone if named is None else named.waiting).append(request)
        self._n_waiting += 1

    def _eligible(self, request: StaffRequest, member: StaffMember) -> bool:
        if request.member is not None and request.member is not member:
            return False
        cap = self.role.caseload_cap
        return not (request.new_case and cap is not None and member.caseload >= cap)

    def _grant(self, request: StaffRequest, member: StaffMember, *, at_once: bool = False) -> None:
        self._idle.remove(member)
        member.busy = True
        if request.new_case:
            member.caseload += 1
        if at_once:
            request.grant_now(member)  # asked and served in the same instant
        else:
            request.succeed(member)  # someone waiting: their process resumes in turn

    def request(
        self, *, member: StaffMember | None = None, new_case: bool = False, kind: str = "planning"
    ) -> StaffRequest:
        """Ask for ``member`` (or anyone in the role); the event's value is the member.

        A request naming someone who has left goes to anyone (a planning request as a new
        case, so it counts against the new lead's caseload).
        """
        if member is not None and not member.active and not self.unlimited:
            member, new_case = None, kind == "planning"
        self._seq += 1
        req = StaffRequest(self.env, member, new_case, kind, self.ranks[kind], self._seq)
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
            req.grant_now(member if member is not None else temp)
            return req
        cap = self.role.caseload_cap
        if member is not None:
            # A named person: idle means in post and not busy (no one else to consider).
            capped = new_case and cap is not None and member.caseload >= cap
            if member.busy or capped:
                self._wait(req)
            else:
                self._grant(req, member, at_once=True)
            return req
        # Anyone: the fewest open cases, then the most banked hours, then the longest serving.
        # One pass, comparing as it goes (no key tuples: this runs for most requests).
        capped_out = cap if new_case and cap is not None else None
        cum_now = self.calendar.cum(self.env.now)
        best: StaffMember | None = None
        best_load = 0
        best_credit = 0.0
        for m in self._idle:
            load = m.caseload
            if (capped_out is not None and load >= capped_out) or (
                best is not None and load > best_load
            ):
                continue
            earned = m.rate * (cum_now - m.credit_cum)
            credit = m.credit + earned if earned > 0.0 else m.credit
            if credit > m.cap_hours:
                credit = m.cap_hours
            if (
                best is None
                or load < best_load
                or credit > best_credit
                or (credit == best_credit and m.index < best.index)
            ):
                best, best_load, best_credit = m, load, credit
        if best is None:
            self._wait(req)
        else:
            self._grant(req, best, at_once=True)
        return req

    def release(self, member: StaffMember) -> None:
        """``member`` has finished a task: serve the waiting request they should take next."""
        if self.unlimited:
            return
        member.busy = False
        if not member.active:
            return
        self._idle.append(member)
        self._dispatch(member)

    def _dispatch(self, member: StaffMember) -> None:
        """Give ``member`` the waiting request they should take next, if any.

        The first eligible request (lowest rank, then earliest) among those naming them and
        those for anyone: two short lists in arrival order, not every waiting request.
        """
        best: StaffRequest | None = None
        for queue in (member.waiting, self._anyone):
            for request in queue:
                if self._eligible(request, member):
                    if best is None or (request.rank, request.seq) < (best.rank, best.seq):
                        best = request
                    if request.rank == 0:
                        break  # in arrival order: no later request of this list can beat it
        if best is not None:
            self._unwait(best)
            self._grant(best, member)

    def _unwait(self, request: StaffRequest) -> None:
        named = request.member
        (self._anyone if named is None else named.waiting).remove(request)
        self._n_waiting -= 1

    def cancel(self, request: StaffRequest) -> None:
        """Withdraw a request; if it was already granted, give the member back."""
        if not request.triggered:
            self._unwait(request)
        elif not self.unlimited:
            member = request.granted
            if request.new_case:
                member.caseload -= 1
            self.release(member)

    def close_case(self, member: StaffMember) -> None:
        """A planning case of ``member`` has closed, freeing caseload for new cases."""
        if self.unlimited:
            return
        member.caseload -= 1
        if member.active and not member.busy:
            self._dispatch(member)

    def book(self, member: StaffMember, earliest_day: float, hours: float) -> tuple[float, float]:
        """Book work for ``member`` in their working time; see :meth:`StaffMember.book`."""
        return member.book(earliest_day, hours, self.calendar)

    def available_hours(self, start_day: float, end_day: float) -> float:
        """IPC hours the pool could deliver in [start_day, end_day], as staffed over time."""
        total = 0.0
        history = self.rate_history
        for k, (day, rate) in enumerate(history):
            until = history[k + 1][0] if k + 1 < len(history) else end_day
            lo, hi = max(day, start_day), min(until, end_day)
            if hi > lo:
                total += rate * (self.calendar.cum(hi) - self.calendar.cum(lo))
        return total
