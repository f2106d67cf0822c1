"""Bare-SimPy reference of the IPC pathway: the yardstick for ipcsim's speed and memory.

The same pathway as :mod:`ipcsim.engine.journey`, the same distributions and the same staff rules
(working-week calendar, IPC-hours bank capped at a week, the same lead practitioner across
sessions, caseload caps, "fewest open cases, then most banked hours" allocation, panel cadence,
rework loops, reviews), written the way a lean SimPy prototype is written: one generator per
person with every step inline, plain ``simpy.Event`` requests, no validation layer, and kept
records in typed arrays (``array.array``) rather than Python objects.

It reads a *resolved* scenario, i.e. ``Scenario.model_dump(mode="json", by_alias=True)`` as
JSON, so its parameters are exactly ipcsim's (defaults included) without importing pydantic or
ipcsim in the measured process. Random numbers come from one numpy ``Generator``: the draws
differ from ipcsim's named streams, the distributions do not, so its outputs agree with
ipcsim's in distribution (``benchmarks/bench_pathway.py`` prints both side by side).

Differences that are implementation choices, not modelling ones:

- staff work is one timeout from the request to the finish of the booked task; the start day
  is recorded at once and milestones booked beyond the horizon are blanked when the records
  are finalised (ipcsim waits for the start with a second timeout instead);
- an activity with one role's effort is done inline (ipcsim runs each role as a sub-process
  joined by ``AllOf``); several roles are still done in parallel;
- the reviews process is started only for people with at least one review before the
  horizon, and only for the reviews that happen;
- kept records: one row of milestones, state codes and hours by role per person, and one
  row per wait for staff; no per-task work rows (ipcsim keeps those as ``work``).

Run ``python benchmarks/reference_simpy.py RESOLVED.json`` (see ``--help``); it prints one
JSON line with the wall time, events, peak memory and a small summary.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import gc
import json
import math
import sys
import time
from array import array
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import numpy as np
import simpy

DAYS_PER_MONTH = 365.25 / 12
HOURS_PER_DAY = 24.0
BUDGET_TYPES = ("direct_payment", "notional", "third_party")
END_STATES = ("declined", "withdrawn", "plan_in_place", "budget_in_place", "in_progress")
DECLINED, WITHDRAWN, PLAN_IN_PLACE, BUDGET_IN_PLACE, IN_PROGRESS = range(5)
MILESTONES = (
    "referred_day",
    "consented_day",
    "first_conversation_day",
    "plan_written_day",
    "signed_off_day",
    "budget_agreed_day",
    "budget_released_day",
    "end_day",
)
REFERRED, CONSENTED, FIRST, WRITTEN, SIGNED, AGREED, RELEASED, ENDED = range(8)
NAN = math.nan

Process = Generator[simpy.Event, Any, Any]
Sampler = Callable[[], float]


def peak_rss_mib() -> float:
    """Peak resident memory of this process, MiB (``VmHWM``; ``ru_maxrss`` where absent)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- sampling
def sampler(spec: dict[str, Any], rng: np.random.Generator) -> Sampler:
    """A zero-argument function drawing from the distribution ``spec`` (ipcsim's JSON form)."""
    kind = spec["dist"]
    if kind == "fixed":
        value = float(spec["value"])
        return lambda: value
    if kind == "exponential":
        mean = float(spec["mean"])
        return lambda: rng.exponential(mean)
    if kind == "uniform":
        low, high = float(spec["low"]), float(spec["high"])
        return lambda: rng.uniform(low, high)
    if kind == "triangular":
        low, mode, high = float(spec["low"]), float(spec["mode"]), float(spec["high"])
        if low == high:
            return lambda: low
        return lambda: rng.triangular(low, mode, high)
    if kind == "lognormal":
        if spec.get("median") is not None:
            mu = math.log(spec["median"])
            sigma = (math.log(spec["p95"]) - mu) / 1.6448536269514722
        else:
            s2 = math.log1p((spec["sd"] / spec["mean"]) ** 2)
            mu, sigma = math.log(spec["mean"]) - s2 / 2, math.sqrt(s2)
        return lambda: rng.lognormal(mu, sigma)
    if kind == "gamma":
        shape = (spec["mean"] / spec["sd"]) ** 2
        scale = spec["sd"] ** 2 / spec["mean"]
        return lambda: rng.gamma(shape, scale)
    if kind == "discrete":
        values = [float(v) for v in spec["values"]]
        cumulative = list(np.cumsum(spec["probs"]))
        last = len(values) - 1
        return lambda: values[min(bisect.bisect_right(cumulative, rng.random()), last)]
    raise ValueError(f"unknown distribution {kind!r}")


def effort_sampler(value: float | dict[str, Any], rng: np.random.Generator) -> Sampler:
    """Staff hours: a number or a distribution."""
    if isinstance(value, dict):
        return sampler(value, rng)
    hours = float(value)
    return lambda: hours


# --------------------------------------------------------------------------- calendar
class WorkingWeek:
    """Working windows: ``cum`` (window hours since day 0), ``inv`` and ``next_open``.

    The same mapping as ``ipcsim.engine.worktime``, written out again so the reference stands alone.
    """

    def __init__(self, run: dict[str, Any]) -> None:
        self.continuous = run["calendar"] == "continuous"
        self.days = int(run["working_days_per_week"])
        self.open_h = float(run["working_day_start_hour"])
        self.len_h = float(run["working_hours_per_day"])
        self.week_h = 168.0 if self.continuous else self.days * self.len_h
        self.offset = float(dt.date.fromisoformat(run["start_date"]).weekday())
        self.cum0 = 0.0 if self.continuous else self._cum_u(self.offset)

    def _cum_u(self, u: float) -> float:
        week = math.floor(u / 7.0)
        rest = u - 7.0 * week
        day = math.floor(rest)
        if day >= self.days:
            return week * self.week_h + self.days * self.len_h
        hour = (rest - day) * HOURS_PER_DAY
        return week * self.week_h + day * self.len_h + min(max(hour - self.open_h, 0.0), self.len_h)

    def cum(self, t: float) -> float:
        if self.continuous:
            return t * HOURS_PER_DAY
        return self._cum_u(t + self.offset) - self.cum0

    def inv(self, hours: float) -> float:
        if self.continuous:
            return hours / HOURS_PER_DAY
        total = hours + self.cum0
        week = math.floor(total / self.week_h)
        rest = total - week * self.week_h
        day = math.floor(rest / self.len_h)
        within = rest - day * self.len_h
        if day >= self.days:
            week, day, within = week + 1, 0, 0.0
        return 7.0 * week + day + (self.open_h + within) / HOURS_PER_DAY - self.offset

    def next_open(self, t: float) -> float:
        if self.continuous:
            return t
        u = t + self.offset
        week = math.floor(u / 7.0)
        rest = u - 7.0 * week
        day = math.floor(rest)
        hour = (rest - day) * HOURS_PER_DAY
        if day < self.days:
            if self.open_h <= hour < self.open_h + self.len_h:
                return t
            if hour < self.open_h:
                return 7.0 * week + day + self.open_h / HOURS_PER_DAY - self.offset
        day += 1
        if day >= self.days:
            week, day = week + 1, 0
        return 7.0 * week + day + self.open_h / HOURS_PER_DAY - self.offset


# --------------------------------------------------------------------------- staff
class Member:
    """One person in a role: banked IPC hours, busy flag, open planning cases."""

    __slots__ = ("busy", "cap", "caseload", "code", "credit", "credit_cum", "credit_day", "rate")

    def __init__(self, code: int, ipc_hours_per_week: float, cal: WorkingWeek) -> None:
        self.code = code
        self.rate = ipc_hours_per_week / cal.week_h
        self.cap = ipc_hours_per_week
        self.credit = ipc_hours_per_week
        self.credit_day = 0.0
        self.credit_cum = 0.0  # window hours from day 0 to credit_day, kept with it
        self.busy = False
        self.caseload = 0


class Pool:
    """A role: first come, first served; a request may name the member it needs."""

    def __init__(self, env: simpy.Environment, role: dict[str, Any], cal: WorkingWeek) -> None:
        self.env = env
        self.cal = cal
        self.unlimited = role["headcount"] == "unlimited"
        weekly = role["contracted_hours_per_week"] * role["ipc_share"] * (1.0 - role["leave_share"])
        self.weekly = weekly
        if role["fte"] is not None:
            whole = int(role["fte"])
            ftes = [1.0] * whole + ([role["fte"] - whole] if role["fte"] - whole > 1e-9 else [])
        else:
            ftes = [] if self.unlimited else [1.0] * int(role["headcount"])
        self.members = [Member(i + 1, weekly * fte, cal) for i, fte in enumerate(ftes)]
        self.idle = list(self.members)
        self.cap = role["caseload_cap"]
        # Waiting requests: [event, named member or None, new case?]
        self.waiting: list[tuple[simpy.Event, Member | None, bool]] = []

    def request(self, member: Member | None = None, new_case: bool = False) -> simpy.Event:
        event = self.env.event()
        if self.unlimited:
            event.succeed(member or Member(0, self.weekly, self.cal))
            return event
        cap = self.cap
        best: Member | None = None
        if member is not None:
            if not member.busy and not (new_case and cap is not None and member.caseload >= cap):
                best = member
        else:
            cal, now = self.cal, self.env.now
            cum_now = cal.cum(now)
            best_key: tuple[float, float, int] = (math.inf, 0.0, 0)
            for m in self.idle:
                if new_case and cap is not None and m.caseload >= cap:
                    continue
                earned = m.rate * (cum_now - m.credit_cum)
                key = (m.caseload, -min(m.cap, m.credit + max(earned, 0.0)), m.code)
                if key < best_key:
                    best, best_key = m, key
        if best is None:
            self.waiting.append((event, member, new_case))
        else:
            self._grant(event, best, new_case)
        return event

    def _grant(self, event: simpy.Event, member: Member, new_case: bool) -> None:
        self.idle.remove(member)
        member.busy = True
        if new_case:
            member.caseload += 1
        event.succeed(member)

    def release(self, member: Member) -> None:
        if self.unlimited:
            return
        member.busy = False
        self.idle.append(member)
        self._dispatch(member)

    def _dispatch(self, member: Member) -> None:
        cap = self.cap
        for i, (event, named, new_case) in enumerate(self.waiting):
            if named is not None and named is not member:
                continue
            if new_case and cap is not None and member.caseload >= cap:
                continue
            del self.waiting[i]
            self._grant(event, member, new_case)
            return

    def cancel(self, event: simpy.Event) -> None:
        for i, entry in enumerate(self.waiting):
            if entry[0] is event:
                del self.waiting[i]
                return
        if event.triggered and not self.unlimited:
            member = event.value
            assert isinstance(member, Member)
            member.caseload -= 1
            self.release(member)

    def close_case(self, member: Member) -> None:
        if self.unlimited:
            return
        member.caseload -= 1
        if not member.busy:
            self._dispatch(member)

    def book(self, member: Member, earliest: float, hours: float) -> tuple[float, float]:
        """Start and finish of ``hours`` of work, as ``ipcsim.staff.StaffMember.book``."""
        cal = self.cal
        if earliest > member.credit_day:
            day, cum_day = earliest, cal.cum(earliest)
        else:
            day, cum_day = member.credit_day, member.credit_cum
        earned = member.rate * (cum_day - member.credit_cum)
        credit = min(member.cap, member.credit + max(earned, 0.0))
        need = min(hours, member.cap)
        if credit < need:
            day = cal.inv(cum_day + (need - credit) / member.rate)
            credit = need
        start = cal.next_open(day)
        cum_start = cal.cum(start)
        finish = start + hours / HOURS_PER_DAY
        if hours > credit:
            finish = max(finish, cal.inv(cum_start + (hours - credit) / member.rate))
        cum_finish = cal.cum(finish)
        earned = member.rate * (cum_finish - cum_start)
        member.credit = min(member.cap, max(credit + earned - hours, 0.0))
        member.credit_day = finish
        member.credit_cum = cum_finish
        return start, finish


# --------------------------------------------------------------------------- model
class Cohort:
    """One cohort's parameters as plain numbers and samplers."""

    def __init__(
        self, code: int, spec: dict[str, Any], pathway: dict[str, Any], rng: np.random.Generator
    ) -> None:
        self.code = code
        self.rate_per_day = spec["referrals_per_month"] / DAYS_PER_MONTH
        self.accept = spec["offer_acceptance"]
        self.sessions = sampler(spec["sessions"], rng)
        self.first_minutes = sampler(spec["first_session_minutes"], rng)
        self.later_minutes = sampler(spec["later_session_minutes"], rng)
        self.gap = sampler(spec["session_gap_days"], rng)
        self.withdraw_at_consent = spec["withdrawal_probability_before_first_session"]
        hazard = spec["withdrawal_hazard_per_month_waiting"]
        self.withdraw_rate = (
            0.0
            if hazard <= 0
            else math.inf
            if hazard >= 1
            else -math.log1p(-hazard) / DAYS_PER_MONTH
        )
        self.p_budget = spec["budget_probability"]
        split = spec["budget_type_split"]
        self.type_cum = list(np.cumsum([split[t] for t in BUDGET_TYPES]))
        self.amount = sampler(spec["budget_amount_gbp"], rng)
        # Reviews as ipcsim had them before plan lives (issue 12): a coin per due review,
        # for ever. The review policy is now the site's; its probability stands in here.
        self.review_interval = pathway["review_interval_days"]
        self.p_review = pathway["review_site_probability"] if pathway["reviews"] != "none" else 0.0
        self.review_hours_holder = spec["review_hours_budget_holder"]
        self.review_hours_other = spec["review_hours_no_budget"]


class Activity:
    """Delay sampler and effort samplers by role of one pathway activity."""

    def __init__(
        self, spec: dict[str, Any], rng: np.random.Generator, delay_key: str = "delay_days"
    ) -> None:
        self.delay = sampler(spec[delay_key], rng)
        self.efforts = [
            (role, effort_sampler(value, rng))
            for role, value in sorted(spec["effort_hours"].items())
        ]


def unsupported(config: dict[str, Any]) -> list[str]:
    """Scenario features the reference does not model (it covers one plain site)."""
    problems = []
    if config.get("sites") or config.get("shared_pools") or config.get("shared_panels"):
        problems.append("several sites, shared pools or shared panels")
    if config.get("initial_state"):
        problems.append("initial_state (a backlog at the start)")
    if config.get("budget_envelope") is not None:
        problems.append("budget_envelope")
    if config.get("learning", {}).get("plans_to_learn", 0):
        problems.append("learning.plans_to_learn")
    site = config.get("site", {})
    if site.get("start_date") is not None or site.get("design_phase_months", 0):
        problems.append("site.start_date / site.design_phase_months")
    if config["pathway"].get("priority", "fifo") != "fifo":
        problems.append("pathway.priority other than fifo")
    for name, role in config["workforce"].items():
        if role.get("changes") or role.get("annual_turnover", 0):
            problems.append(f"workforce.{name}: staffing changes or turnover")
    for name, cohort in config["cohorts"].items():
        if cohort.get("identification", "practitioner") not in ("practitioner",):
            problems.append(f"cohorts.{name}.identification")
        if cohort.get("referral_schedule") or cohort.get("eligible_population") is not None:
            problems.append(f"cohorts.{name}: referral schedule or eligible population")
    return problems


class ReferenceModel:
    """The IPC pathway in bare SimPy; see the module docstring.

    Parameters
    ----------
    config
        A resolved scenario (``Scenario.model_dump(mode="json", by_alias=True)``).
    seed
        Seed of the one numpy generator; the scenario's seed when omitted.
    """

    def __init__(self, config: dict[str, Any], *, seed: int | None = None) -> None:
        problems = unsupported(config)
        if problems:
            raise ValueError("the reference does not model: " + "; ".join(problems))
        self.cfg = config
        run = config["run"]
        self.horizon = float(run["horizon_days"])
        self.rng = rng = np.random.default_rng(run["seed"] if seed is None else seed)
        self.env = simpy.Environment()
        self.cal = WorkingWeek(run)
        self.role_names = sorted(config["workforce"])
        self.pools = {
            name: Pool(self.env, config["workforce"][name], self.cal) for name in self.role_names
        }
        self.role_index = {name: i for i, name in enumerate(self.role_names)}
        self.cohorts = [
            Cohort(i, config["cohorts"][name], config["pathway"], rng)
            for i, name in enumerate(sorted(config["cohorts"]))
        ]
        pathway = config["pathway"]
        self.lead = pathway["lead_role"]
        self.referral = Activity(pathway["referral"], rng)
        self.invitation = Activity(pathway["invitation"], rng)
        self.plan_writing = Activity(pathway["plan_writing"], rng)
        self.budget_setting = Activity(pathway["budget_setting"], rng)
        self.p_incomplete = pathway["incomplete_referral_probability"]
        self.chase_hours = pathway["incomplete_referral_extra_hours"]
        self.admin_lag = sampler(pathway["consent_to_first_appointment_days"], rng)
        circulation = pathway["circulation"]
        self.contacts = sampler(circulation["contacts"], rng)
        self.contact_hours = circulation["minutes_per_contact"] / 60.0
        self.circulation_delay = sampler(circulation["delay_days"], rng)
        signoff = config["signoff"]
        self.signoff = signoff
        self.p_rework = signoff["rework_probability"]
        self.rework_minutes = sampler(signoff["rework_session_minutes"], rng)
        self.max_submissions = signoff["max_submissions"]
        self.p_plan_decline = signoff["plan_decline_probability"]
        self.agreed_share = 1.0 - signoff["budget_declined_share"]  # P35: of the amount
        if signoff["mode"] == "panel":
            steps = []
        elif signoff["mode"] == "individual":
            steps = [signoff["individual"]]
        else:
            steps = list(signoff["sequential"]["steps"])
        self.signoff_steps = [
            (sampler(s["delay_days"], rng), s["reviewer_role"], s["reviewer_minutes_per_plan"] / 60)
            for s in steps
        ]
        self.release = {
            t: (
                Activity(config["budget_release"][t], rng, "processing_delay_days"),
                config["budget_release"][t]["release_probability"],
            )
            for t in BUDGET_TYPES
        }
        self.panel_queue: list[tuple[int, simpy.Event]] = []
        # Kept records: one row per person (typed columns) and one per wait for staff.
        self.days = [array("d") for _ in MILESTONES]
        self.state = array("b")
        self.cohort = array("b")
        self.lead_member = array("h")
        self.sessions_held = array("b")
        self.reworks = array("b")
        self.reviews_held = array("b")
        self.budget_type = array("b")
        self.amount = array("d")
        self.hours = [array("d") for _ in self.role_names]
        self.wait_person = array("l")
        self.wait_role = array("b")
        self.wait_requested = array("d")
        self.wait_started = array("d")

    # ----------------------------------------------------------------- running
    def run(self) -> None:
        """Simulate to the horizon."""
        for cohort in self.cohorts:
            if cohort.rate_per_day > 0:
                self.env.process(self.referrals(cohort))
        if self.signoff["mode"] == "panel":
            self.env.process(self.panel())
        self.env.run(until=self.horizon)

    def referrals(self, cohort: Cohort) -> Process:
        env, rng = self.env, self.rng
        mean_gap = 1.0 / cohort.rate_per_day
        while True:
            yield env.timeout(rng.exponential(mean_gap))
            pid = len(self.state)
            for column in self.days:
                column.append(NAN)
            self.days[REFERRED][pid] = env.now
            self.state.append(IN_PROGRESS)
            self.cohort.append(cohort.code)
            self.lead_member.append(-1)
            self.sessions_held.append(0)
            self.reworks.append(0)
            self.reviews_held.append(0)
            self.budget_type.append(-1)
            self.amount.append(NAN)
            for column in self.hours:
                column.append(0.0)
            env.process(self.journey(pid, cohort))

    def end(self, pid: int, state: int) -> None:
        self.state[pid] = state
        self.days[ENDED][pid] = self.env.now

    def open_wait(self, pid: int, role: str) -> int:
        self.wait_person.append(pid)
        self.wait_role.append(self.role_index[role])
        self.wait_requested.append(self.env.now)
        self.wait_started.append(NAN)
        return len(self.wait_started) - 1

    def work(self, pid: int, role: str, hours: float, member: Member | None = None) -> Process:
        """Wait for ``member`` (or anyone in ``role``), then ``hours`` of their time."""
        pool = self.pools[role]
        row = self.open_wait(pid, role)
        worker = yield pool.request(member)
        start, finish = pool.book(worker, self.env.now, hours)
        self.wait_started[row] = start
        self.hours[self.role_index[role]][pid] += hours
        yield self.env.timeout(finish - self.env.now)
        pool.release(worker)
        return worker

    def efforts(self, pid: int, activity: Activity, lead: Member | None) -> Process:
        """An activity's effort: inline for one role, in parallel for several."""
        tasks = []
        for role, hours_of in activity.efforts:
            hours = hours_of()
            if hours > 0:
                tasks.append((role, hours, lead if role == self.lead else None))
        if len(tasks) == 1:
            yield from self.work(pid, *tasks[0])
        elif tasks:
            yield self.env.all_of([self.env.process(self.work(pid, *t)) for t in tasks])

    def journey(self, pid: int, c: Cohort) -> Process:
        """Referral to budget release, steps numbered as in ``ipcsim.engine.journey``."""
        env, rng, days = self.env, self.rng, self.days
        lead_pool = self.pools[self.lead]
        # 1-2. Referral, invitation and consent.
        for activity in (self.referral, self.invitation):
            delay = activity.delay()
            if delay > 0:
                yield env.timeout(delay)
            yield from self.efforts(pid, activity, None)
        if rng.random() >= c.accept:
            self.end(pid, DECLINED)
            return
        days[CONSENTED][pid] = env.now
        if rng.random() < c.withdraw_at_consent:
            self.end(pid, WITHDRAWN)
            return
        # 3-4. Admin lag, then a lead practitioner; the person may withdraw while waiting.
        yield env.timeout(self.admin_lag())
        row = self.open_wait(pid, self.lead)
        allocation = lead_pool.request(None, True)
        if c.withdraw_rate > 0:
            patience = rng.exponential(1.0 / c.withdraw_rate)
            yield allocation | env.timeout(patience)
            if not allocation.triggered:
                lead_pool.cancel(allocation)
                self.wait_started[row] = env.now
                self.end(pid, WITHDRAWN)
                return
        else:
            yield allocation
        planner = allocation.value
        assert isinstance(planner, Member)
        self.lead_member[pid] = planner.code
        chase = self.chase_hours if rng.random() < self.p_incomplete else 0.0
        lead_hours = self.hours[self.role_index[self.lead]]
        ready = env.now
        if chase > 0:
            start, ready = lead_pool.book(planner, ready, chase)
            self.wait_started[row] = start
            lead_hours[pid] += chase
        first_hours = c.first_minutes() / 60.0
        start, finish = lead_pool.book(planner, ready, first_hours)
        if chase == 0:
            self.wait_started[row] = start
        days[FIRST][pid] = start
        lead_hours[pid] += first_hours
        self.sessions_held[pid] = 1
        yield env.timeout(finish - env.now)
        lead_pool.release(planner)
        # 5. Later conversations with the same practitioner.
        for _ in range(max(1, round(c.sessions())) - 1):
            yield env.timeout(c.gap())
            yield from self.work(pid, self.lead, c.later_minutes() / 60.0, planner)
            self.sessions_held[pid] += 1
        # 6. Write and circulate the plan.
        delay = self.plan_writing.delay()
        if delay > 0:
            yield env.timeout(delay)
        yield from self.efforts(pid, self.plan_writing, planner)
        days[WRITTEN][pid] = env.now
        circulation_hours = max(0, round(self.contacts())) * self.contact_hours
        if circulation_hours > 0:
            yield from self.work(pid, self.lead, circulation_hours, planner)
        delay = self.circulation_delay()
        if delay > 0:
            yield env.timeout(delay)
        # 7. Sign-off, with rework loops.
        submission = 0
        while True:
            if self.signoff_steps:
                for delay_of, role, hours in self.signoff_steps:
                    yield env.timeout(delay_of())
                    self.hours[self.role_index[role]][pid] += hours
            else:
                decision = env.event()
                self.panel_queue.append((pid, decision))
                yield decision
            if rng.random() < self.p_plan_decline:
                lead_pool.close_case(planner)
                self.end(pid, DECLINED)
                return
            last = submission == self.max_submissions - 1
            if last or rng.random() >= self.p_rework:
                break
            self.reworks[pid] += 1
            yield from self.work(pid, self.lead, self.rework_minutes() / 60.0, planner)
            self.sessions_held[pid] += 1
            submission += 1
        days[SIGNED][pid] = env.now
        lead_pool.close_case(planner)
        self.start_reviews(pid, c, planner)
        # 8. Budget setting and release.
        if rng.random() >= c.p_budget:
            self.end(pid, PLAN_IN_PLACE)
            return
        yield from self.efforts(pid, self.budget_setting, planner)
        days[AGREED][pid] = env.now
        kind = min(bisect.bisect_right(c.type_cum, rng.random()), len(BUDGET_TYPES) - 1)
        self.budget_type[pid] = kind
        self.amount[pid] = c.amount() * self.agreed_share
        release, p_operational = self.release[BUDGET_TYPES[kind]]
        yield from self.efforts(pid, release, planner)
        yield env.timeout(release.delay())
        if rng.random() >= p_operational:
            self.end(pid, PLAN_IN_PLACE)
            return
        days[RELEASED][pid] = env.now
        self.end(pid, BUDGET_IN_PLACE)

    def start_reviews(self, pid: int, c: Cohort, planner: Member) -> None:
        """Start a reviews process only if a review happens before the horizon."""
        signed = self.env.now
        due = []
        k = 1
        while signed + k * c.review_interval < self.horizon:
            if self.rng.random() < c.p_review:
                due.append(signed + k * c.review_interval)
            k += 1
        if due:
            self.env.process(self.reviews(pid, c, planner, due))

    def reviews(self, pid: int, c: Cohort, planner: Member, due: list[float]) -> Process:
        for day in due:
            yield self.env.timeout(max(0.0, day - self.env.now))
            holder = not math.isnan(self.days[RELEASED][pid])
            hours = c.review_hours_holder if holder else c.review_hours_other
            if hours > 0:
                yield from self.work(pid, self.lead, hours, planner)
            self.reviews_held[pid] += 1

    def panel(self) -> Process:
        panel = self.signoff["panel"]
        hours = panel["members_per_sitting"] * panel["reviewer_minutes_per_plan"] / 60.0
        role = self.role_index[panel["reviewer_role"]]
        yield self.env.timeout(panel["first_sitting_day"])
        while True:
            limit = panel["max_plans_per_sitting"] or len(self.panel_queue)
            sitting, self.panel_queue = self.panel_queue[:limit], self.panel_queue[limit:]
            for pid, decision in sitting:
                self.hours[role][pid] += hours
                decision.succeed()
            yield self.env.timeout(panel["interval_days"])

    # ----------------------------------------------------------------- records
    def finalise(self) -> None:
        """Blank milestones and wait starts booked beyond the horizon (not reached in the run)."""
        for column in self.days:
            for i, day in enumerate(column):
                if day > self.horizon:
                    column[i] = NAN
        for i, day in enumerate(self.wait_started):
            if day > self.horizon:
                self.wait_started[i] = NAN

    def kept_bytes(self) -> int:
        """Bytes of the kept record arrays (buffers only)."""
        columns: list[array[Any]] = [
            *self.days,
            self.state,
            self.cohort,
            self.lead_member,
            self.sessions_held,
            self.reworks,
            self.reviews_held,
            self.budget_type,
            self.amount,
            *self.hours,
            self.wait_person,
            self.wait_role,
            self.wait_requested,
            self.wait_started,
        ]
        return sum(column.itemsize * len(column) for column in columns)

    def summary(self) -> dict[str, Any]:
        """Counts by end state and mean waits, days (for the side-by-side check)."""
        state = np.frombuffer(self.state, dtype=np.int8)
        days = [np.frombuffer(column, dtype=np.float64) for column in self.days]

        def mean_wait(a: int, b: int) -> float:
            waits = days[b] - days[a]
            return float(np.nanmean(waits)) if np.isfinite(waits).any() else NAN

        return {
            "referred": len(state),
            **{name: int(np.sum(state == i)) for i, name in enumerate(END_STATES)},
            "referral_to_first_conversation": mean_wait(REFERRED, FIRST),
            "referral_to_sign_off": mean_wait(REFERRED, SIGNED),
            "referral_to_budget_release": mean_wait(REFERRED, RELEASED),
        }


def run_reference(
    config: dict[str, Any], *, seed: int | None = None, quiet_gc: bool = False
) -> dict[str, Any]:
    """Build, run and finalise the reference model; return timings, sizes and a summary.

    With ``quiet_gc`` the run uses the cyclic-GC setting ipcsim's model uses (objects made
    before the run frozen, first-generation threshold 100,000, restored after), so the two
    can be compared with and without that setting.
    """
    began = time.perf_counter()
    model = ReferenceModel(config, seed=seed)
    if quiet_gc:
        gc.collect()
        gc.freeze()
        thresholds = gc.get_threshold()
        gc.set_threshold(100_000, 50, 100)
        try:
            model.run()
        finally:
            gc.set_threshold(*thresholds)
            gc.unfreeze()
    else:
        model.run()
    simulated = time.perf_counter()
    model.finalise()
    summary = model.summary()
    ended = time.perf_counter()
    people = len(model.state)
    return {
        "people": people,
        "events": next(model.env._eid),  # events scheduled over the run
        "wall_s": ended - began,
        "simulate_s": simulated - began,
        "kept_bytes": model.kept_bytes(),
        "kept_bytes_per_person": model.kept_bytes() / max(people, 1),
        "summary": summary,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("config", type=Path, help="resolved scenario JSON (model_dump)")
    parser.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    parser.add_argument("--quiet-gc", action="store_true", help="ipcsim's cyclic-GC setting")
    args = parser.parse_args(argv)
    config = json.loads(args.config.read_text(encoding="utf-8"))
    result = run_reference(config, seed=args.seed, quiet_gc=args.quiet_gc)
    result["peak_rss_mib"] = peak_rss_mib()
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
