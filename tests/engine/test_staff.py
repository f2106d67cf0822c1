"""Staff pools: who takes which request, checked against a plain one-list oracle.

The pool keeps waiting requests in per-member lists and one list for anyone (so a member
who comes free looks only at what they may take). The oracle below is the rule written the
simplest way: one list of every waiting request in arrival order, scanned in full. Random
sequences of requests, releases, cancellations, closed cases and leavers must give the same
grants in both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import simpy
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ipcsim.engine.staff import PRIORITY_RANKS, StaffMember, StaffPool, StaffRequest
from ipcsim.engine.worktime import WorkingWeekCalendar
from ipcsim.scenario import Role

CALENDAR = WorkingWeekCalendar(
    start_date=dt.date(2016, 4, 1), days_per_week=5, start_hour=9, hours_per_day=8
)


@dataclass
class OracleRequest:
    member: int | None
    new_case: bool
    kind: str
    rank: int
    seq: int
    granted: int | None = None


@dataclass
class Oracle:
    """The pool's rule with every waiting request in one list, scanned in full."""

    size: int
    cap: int | None
    ranks: dict[str, int]
    busy: list[bool] = field(default_factory=list)
    active: list[bool] = field(default_factory=list)
    caseload: list[int] = field(default_factory=list)
    waiting: list[OracleRequest] = field(default_factory=list)
    # Idle members in the order they came free (in post from the start: by index).
    idle_order: list[int] = field(default_factory=list)
    seq: int = 0
    credit: Callable[[int], float] = lambda m: 0.0  # banked hours of member m now

    def __post_init__(self) -> None:
        self.busy = [False] * self.size
        self.active = [True] * self.size
        self.caseload = [0] * self.size
        self.idle_order = list(range(self.size))

    def eligible(self, request: OracleRequest, m: int) -> bool:
        if request.member is not None and request.member != m:
            return False
        return not (request.new_case and self.cap is not None and self.caseload[m] >= self.cap)

    def grant(self, request: OracleRequest, m: int) -> None:
        self.idle_order.remove(m)
        self.busy[m] = True
        if request.new_case:
            self.caseload[m] += 1
        request.granted = m

    def idle(self, m: int) -> bool:
        return self.active[m] and not self.busy[m]

    def request(self, member: int | None, new_case: bool, kind: str) -> OracleRequest:
        if member is not None and not self.active[member]:
            member, new_case = None, kind == "planning"
        self.seq += 1
        request = OracleRequest(member, new_case, kind, self.ranks[kind], self.seq)
        candidates = [
            m
            for m in range(self.size)
            if self.idle(m) and (member is None or m == member) and self.eligible(request, m)
        ]
        if not candidates:
            self.waiting.append(request)
        else:
            # Fewest cases, then the most banked hours, then the longest serving.
            key = lambda m: (self.caseload[m], -self.credit(m), m)  # noqa: E731
            self.grant(request, min(candidates, key=key))
        return request

    def dispatch(self, m: int) -> None:
        eligible = [r for r in self.waiting if self.eligible(r, m)]
        if eligible:
            best = min(eligible, key=lambda r: (r.rank, r.seq))
            self.waiting.remove(best)
            self.grant(best, m)

    def release(self, m: int) -> None:
        self.busy[m] = False
        if self.active[m]:
            self.idle_order.append(m)
            self.dispatch(m)

    def retire(self, m: int) -> None:
        self.active[m] = False
        if m in self.idle_order:
            self.idle_order.remove(m)
        for request in self.waiting:
            if request.member == m:
                request.member = None
                request.new_case = request.kind == "planning"
        # The leaver's requests go to the idle members in the order they came free, each
        # taking the first it may (not the fewest-cases choice of a new request for anyone).
        for other in list(self.idle_order):
            self.dispatch(other)

    def cancel(self, request: OracleRequest) -> None:
        if request in self.waiting:
            self.waiting.remove(request)
        elif request.granted is not None:
            if request.new_case:
                self.caseload[request.granted] -= 1
            self.release(request.granted)

    def close_case(self, m: int) -> None:
        self.caseload[m] -= 1
        if self.idle(m):
            self.dispatch(m)


operation = st.one_of(
    st.tuples(
        st.just("request"),
        st.one_of(st.none(), st.integers(0, 3)),
        st.booleans(),
        st.sampled_from(["planning", "review"]),
    ),
    st.tuples(st.just("release"), st.integers(0, 3)),
    st.tuples(st.just("cancel"), st.integers(0, 40)),
    st.tuples(st.just("close"), st.integers(0, 3)),
    st.tuples(st.just("retire"), st.integers(0, 3)),
    st.tuples(st.just("book"), st.integers(0, 3), st.floats(0.1, 40.0)),
    st.tuples(st.just("advance"), st.floats(0.01, 3.0)),
)


@settings(max_examples=500, deadline=None)
@example(  # a leaver's waiting request goes to the idle member who came free first
    ops=[
        ("request", None, False, "planning"),
        ("request", None, False, "planning"),
        ("release", 0),
        ("request", 1, False, "planning"),
        ("retire", 1),
    ],
    cap=None,
    priority="fifo",
)
@example(  # the one who banked more hours takes the next case
    ops=[
        ("request", 0, False, "planning"),
        ("book", 0, 5.0),
        ("release", 0),
        ("request", None, False, "planning"),
    ],
    cap=None,
    priority="fifo",
)
@given(
    ops=st.lists(operation, max_size=60),
    cap=st.one_of(st.none(), st.integers(1, 3)),
    priority=st.sampled_from(sorted(PRIORITY_RANKS)),
)
def test_pool_grants_what_a_full_scan_of_one_list_grants(
    ops: list[tuple[object, ...]], cap: int | None, priority: str
) -> None:
    env = simpy.Environment()
    pool = StaffPool(
        env,
        name="planner",
        role=Role(headcount=4, caseload_cap=cap),
        calendar=CALENDAR,
        priority=priority,
    )
    members = list(pool.members)
    oracle = Oracle(
        4, cap, PRIORITY_RANKS[priority], credit=lambda m: members[m].credit_at(env.now, CALENDAR)
    )
    index = {id(m): k for k, m in enumerate(members)}
    pairs: list[tuple[StaffRequest, OracleRequest]] = []

    def granted(request: StaffRequest) -> int | None:
        if not request.triggered:
            return None
        value = request.value
        assert isinstance(value, StaffMember)
        return index[id(value)]

    for op in ops:
        kind = op[0]
        if kind == "request":
            _, who, new_case, work = op
            assert who is None or isinstance(who, int)
            named = None if who is None else members[who]
            mine = pool.request(member=named, new_case=bool(new_case), kind=str(work))
            pairs.append((mine, oracle.request(who, bool(new_case), str(work))))
        elif kind == "release":
            m = int(op[1])  # type: ignore[call-overload]
            if oracle.busy[m]:
                pool.release(members[m])
                oracle.release(m)
        elif kind == "cancel":
            k = int(op[1])  # type: ignore[call-overload]
            waiting = [pair for pair in pairs if pair[1] in oracle.waiting]
            if k < len(waiting):
                mine, theirs = waiting[k]
                pairs.remove((mine, theirs))
                pool.cancel(mine)
                oracle.cancel(theirs)
        elif kind == "close":
            m = int(op[1])  # type: ignore[call-overload]
            if oracle.caseload[m] > 0:
                pool.close_case(members[m])
                oracle.close_case(m)
        elif kind == "retire":
            m = int(op[1])  # type: ignore[call-overload]
            if oracle.active[m]:
                pool.retire(members[m])
                oracle.retire(m)
        elif kind == "book":
            # Work booked for a busy member changes their banked hours (and so who is
            # chosen next among those with the fewest cases).
            m = int(op[1])  # type: ignore[call-overload]
            if oracle.busy[m]:
                pool.book(members[m], env.now, float(op[2]))  # type: ignore[arg-type]
        elif kind == "advance":
            env.run(until=env.now + float(op[1]))  # type: ignore[arg-type]
        assert [granted(mine) for mine, _ in pairs] == [theirs.granted for _, theirs in pairs]
        assert [m.caseload for m in members] == oracle.caseload
        assert pool.queue_length == len(oracle.waiting)


def test_requests_for_a_leaver_keep_their_place_in_the_queue() -> None:
    """Someone waiting for their lead, who leaves, is served before anyone who came later."""
    env = simpy.Environment()
    pool = StaffPool(env, name="planner", role=Role(headcount=2), calendar=CALENDAR)
    lead, other = pool.members
    assert pool.request(member=lead).triggered
    assert pool.request(member=other).triggered
    for_lead = pool.request(member=lead, kind="review")  # waits for the busy lead
    later = pool.request()  # anyone, later
    pool.retire(lead)  # the lead leaves with a task in hand
    assert pool.queue_length == 2
    pool.release(other)
    assert for_lead.triggered and for_lead.value is other
    assert not later.triggered
