"""The SimPy model of the IPC pathway: one process per referred person, at one or more sites.

The model reads a validated :class:`~ipcsim.schema.Scenario` and never changes it; it writes
tidy records to an :class:`~ipcsim.records.EventLog`. Time is in days since the run's start
date; staff effort is in hours.
"""

from __future__ import annotations

import contextlib
import gc
import math
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from ipcsim.engine.diary import Diary
from ipcsim.engine.draws import CohortDraws, Efforts, PersonDraws
from ipcsim.engine.records import EventLog, PersonRecord
from ipcsim.engine.rng import Streams
from ipcsim.engine.staff import StaffMember, StaffPool
from ipcsim.engine.worktime import make_calendar
from ipcsim.pathway import BACKLOG_STAGES
from ipcsim.periods import budget_period_starts, day_of
from ipcsim.scenario import (
    Cohort,
    IndividualSignoff,
    Panel,
    Role,
    Scenario,
    SiteConfig,
)
from ipcsim.scenario.backlog import BacklogPerson
from ipcsim.units import DAYS_PER_MONTH, DAYS_PER_YEAR, MINUTES_PER_HOUR

PROGRESS_STEPS = 100

Process = Generator[simpy.Event, Any, Any]


@dataclass
class PanelQueue:
    """Plans waiting for a panel (one site's, or one shared by several sites)."""

    config: Panel
    waiting: list[tuple[PersonRecord, simpy.Event]] = field(default_factory=list)


@dataclass
class Envelope:
    """A site's personal-budget pot for the current period, and the budgets held for it."""

    remaining_gbp: float
    held: deque[tuple[float, simpy.Event]] = field(default_factory=deque)


@dataclass
class SiteRuntime:
    """One site while the simulation runs: its settings, staff, panel and counters."""

    name: str
    config: SiteConfig
    pools: dict[str, StaffPool]
    panel: PanelQueue | None
    delivery_day: float
    envelope: Envelope | None = None
    signed_off: int = 0
    eligible_left: dict[str, int | None] = field(default_factory=dict)

    def learning_progress(self) -> float:
        """0 for a new site, 1 once it has signed off enough plans to be experienced."""
        return self.config.learning.progress(self.signed_off)

    def rework_probability(self) -> float:
        """Rework probability now, on the site's learning curve (P32 falling to P33)."""
        start = self.config.signoff.rework_probability
        final = self.config.learning.final_rework_probability
        if self.config.learning.plans_to_learn == 0:
            return start
        return start + (final - start) * self.learning_progress()

    def session_multiplier(self) -> float:
        """Planning-time multiplier now, on the site's learning curve (P64)."""
        final = self.config.learning.final_session_multiplier
        if self.config.learning.plans_to_learn == 0:
            return 1.0
        return 1.0 - (1.0 - final) * self.learning_progress()


@contextlib.contextmanager
def _quiet_cyclic_gc() -> Iterator[None]:
    """Let the cyclic garbage collector skip the growing heap of records while a run runs.

    Notes
    -----
    A run keeps every record until its end, so CPython's cyclic collector would walk an
    ever larger heap again and again (it took a third of a national run's time). Objects
    alive before the run are frozen and the first-generation threshold raised; both are
    restored afterwards, so nothing outlives the run.
    """
    gc.collect()
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


class PathwayModel:
    """The IPC pathway for one scenario and one replication.

    Parameters
    ----------
    scenario
        The validated scenario.
    replication
        Replication number; with the scenario's seed it selects the random streams.
    seed
        Overrides ``scenario.run.seed`` when given.
    backlog
        People already in the pathway at the start date (see :mod:`ipcsim.scenario.backlog`).
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        replication: int = 0,
        seed: int | None = None,
        backlog: tuple[BacklogPerson, ...] = (),
    ):
        self.scenario = scenario
        self.env = simpy.Environment()
        self.calendar = make_calendar(scenario.run)
        self.seed = scenario.run.seed if seed is None else seed
        self.streams = Streams(self.seed, replication)
        self._cohort_draws: dict[tuple[str, str, str], CohortDraws] = {}
        self.log = EventLog(scenario.run.horizon_days)
        self.diary = Diary(self.env, scenario.run.horizon_days)
        self.backlog = backlog
        self._next_person_id = max((p.person_id for p in backlog), default=-1) + 1
        self.shared_pools: dict[str, StaffPool] = {}
        self.shared_panels: dict[str, PanelQueue] = {}
        self.sites: dict[str, SiteRuntime] = {}
        start = scenario.run.start_date
        for config in scenario.site_configs:
            name = config.site.name
            pools = {}
            for role_name, role in sorted(config.workforce.items()):
                shared = scenario.shared_pool_for(name, role_name)
                priority = config.pathway.priority
                if shared is None:
                    # Member names must be unique across sites: prefix the site when several.
                    pool_name = f"{name}.{role_name}" if scenario.sites else role_name
                    pools[role_name] = self._pool(pool_name, role_name, role, priority)
                else:
                    if shared not in self.shared_pools:
                        self.shared_pools[shared] = self._pool(shared, role_name, role, priority)
                    pools[role_name] = self.shared_pools[shared]
            panel = None
            if config.signoff.mode == "panel":
                shared_panel = scenario.shared_panel_for(name)
                if shared_panel is None:
                    panel = PanelQueue(config.signoff.panel)
                else:
                    if shared_panel not in self.shared_panels:
                        panel_config = scenario.shared_panels[shared_panel]
                        self.shared_panels[shared_panel] = PanelQueue(panel_config)
                    panel = self.shared_panels[shared_panel]
            joined = day_of(config.site.start_date or start, start)
            envelope = None
            if config.budget_envelope is not None:
                envelope = Envelope(remaining_gbp=0.0)
            self.sites[name] = SiteRuntime(
                name=name,
                config=config,
                pools=pools,
                panel=panel,
                delivery_day=joined + config.site.design_phase_months * DAYS_PER_MONTH,
                envelope=envelope,
                eligible_left={
                    c: cohort.eligible_population for c, cohort in config.cohorts.items()
                },
            )

    def _pool(self, name: str, role_name: str, role: Role, priority: str) -> StaffPool:
        return StaffPool(
            self.env,
            name=name,
            role=role,
            calendar=self.calendar,
            priority=priority,
            role_label=role_name,
        )

    @property
    def pools(self) -> dict[str, StaffPool]:
        """Every distinct staff pool, keyed ``<site>.<role>`` or by shared pool name."""
        result: dict[str, StaffPool] = {}
        for site in self.sites.values():
            for role_name, pool in site.pools.items():
                if pool in self.shared_pools.values():
                    result[pool.name] = pool
                else:
                    result[f"{site.name}.{role_name}"] = pool
        return result

    # ----------------------------------------------------------------- running
    def run(self, *, progress: Callable[[float], None] | None = None) -> EventLog:
        """Simulate to the horizon and return the records.

        Parameters
        ----------
        progress
            Called with the share of the horizon simulated so far (0 to 1), about a hundred
            times a run; the records do not depend on it.
        """
        env = self.env
        for person in self.backlog:
            self._start_backlog_person(person)
        for site in self.sites.values():
            for name in sorted(site.config.cohorts):
                env.process(self._referrals(site, name))
            if site.panel is not None and site.panel not in self.shared_panels.values():
                env.process(self._panel_sittings(site.panel))
            if site.envelope is not None:
                env.process(self._envelope_periods(site))
            for role_name, pool in sorted(site.pools.items()):
                if pool in self.shared_pools.values():
                    continue
                self._staffing_plan(site.name, role_name, pool)
        for panel in self.shared_panels.values():
            env.process(self._panel_sittings(panel))
        for pool_name, pool in sorted(self.shared_pools.items()):
            self._staffing_plan("shared", pool_name, pool)
        horizon = self.scenario.run.horizon_days
        with _quiet_cyclic_gc():
            if progress is None:
                env.run(until=horizon)
            else:
                # Stopping at checkpoints only adds stop events; the order of the model's own
                # events (and so every record) is unchanged.
                for step in range(1, PROGRESS_STEPS + 1):
                    env.run(until=horizon * step / PROGRESS_STEPS)
                    progress(step / PROGRESS_STEPS)
        return self.log

    def _new_person(self, site: SiteRuntime, cohort_name: str) -> PersonRecord:
        person = self.log.add_person(self._next_person_id, site.name, cohort_name, self.env.now)
        self._next_person_id += 1
        return person

    # ----------------------------------------------------------------- referrals
    def _rate_per_day(self, cohort: Cohort, day: float) -> float:
        """Referral rate (people a day) of a cohort at ``day``, from its schedule."""
        rate = cohort.referrals_per_month
        start = self.scenario.run.start_date
        for point in cohort.referral_schedule:
            if day_of(point.date, start) <= day:
                rate = point.referrals_per_month
        return rate / DAYS_PER_MONTH

    def _referrals(self, site: SiteRuntime, cohort_name: str) -> Process:
        """Referrals of one cohort at one site, from the end of the site's design phase.

        Notes
        -----
        A constant rate gives a homogeneous Poisson process. A dated schedule, or annual-review
        identification (rate proportional to the people still eligible), is a non-homogeneous
        Poisson process simulated by thinning (Lewis and Shedler): candidates at the highest
        rate, each kept with probability rate(t) / highest rate. Referrals stop when the
        eligible population is used up.
        """
        env = self.env
        cohort = site.config.cohorts[cohort_name]
        arrivals = self.streams[f"arrivals.{site.name}.{cohort_name}"]
        if site.delivery_day > 0:
            yield env.timeout(site.delivery_day)
        if cohort.identification == "batch":
            yield from self._batches(site, cohort_name, arrivals)
            return
        annual_review = cohort.identification == "annual_review"
        thinning = annual_review or bool(cohort.referral_schedule)
        if annual_review:
            population = cohort.eligible_population or 0
            peak = population * cohort.engagement_factor / DAYS_PER_YEAR
        else:
            rates = [cohort.referrals_per_month] + [
                p.referrals_per_month for p in cohort.referral_schedule
            ]
            peak = max(rates) / DAYS_PER_MONTH
        if peak <= 0:
            return
        while site.eligible_left[cohort_name] != 0:
            yield env.timeout(float(arrivals.exponential(1.0 / peak)))
            if thinning:
                if annual_review:
                    left = site.eligible_left[cohort_name] or 0
                    rate = left * cohort.engagement_factor / DAYS_PER_YEAR
                else:
                    rate = self._rate_per_day(cohort, env.now)
                if arrivals.random() * peak >= rate:
                    continue
            self._refer(site, cohort_name)

    def _batches(
        self, site: SiteRuntime, cohort_name: str, arrivals: np.random.Generator
    ) -> Process:
        """Batch identification from a linked dataset, referrals spread over a few days."""
        cohort = site.config.cohorts[cohort_name]
        start = self.scenario.run.start_date
        for batch in sorted(cohort.batches, key=lambda b: b.date):
            day = max(day_of(batch.date, start), self.env.now)
            yield self.env.timeout(day - self.env.now)
            left = site.eligible_left[cohort_name]
            size = batch.people if left is None else min(batch.people, left)
            offsets = np.sort(arrivals.uniform(0.0, batch.spread_days, size))
            begun = self.env.now
            for offset in offsets:
                yield self.env.timeout(begun + float(offset) - self.env.now)
                self._refer(site, cohort_name)

    def _refer(self, site: SiteRuntime, cohort_name: str) -> None:
        left = site.eligible_left[cohort_name]
        if left is not None:
            site.eligible_left[cohort_name] = left - 1
        person = self._new_person(site, cohort_name)
        draws = self._draw_person(site, cohort_name)
        person.sessions_planned = len(draws.session_hours)
        self.env.process(self._journey(person, site, draws))

    def _start_backlog_person(self, entry: BacklogPerson) -> None:
        """Someone already waiting at the start date joins at the stage they are in."""
        site = self.sites[entry.site]
        day = day_of(entry.waiting_since, self.scenario.run.start_date)
        person = self.log.add_person(entry.person_id, site.name, entry.cohort, math.nan)
        person.backlog_stage = entry.stage
        milestone = {
            "referred": "referred_day",
            "consented": "consented_day",
            "plan_written": "plan_written_day",
            "signed_off": "signed_off_day",
            "budget_agreed": "budget_agreed_day",
        }[entry.stage]
        setattr(person, milestone, day)
        draws = self._draw_person(site, entry.cohort, prefix="backlog-")
        person.sessions_planned = len(draws.session_hours)
        left = site.eligible_left[entry.cohort]
        if left is not None:
            site.eligible_left[entry.cohort] = max(0, left - 1)
        self.env.process(self._journey(person, site, draws, stage=entry.stage))

    # ----------------------------------------------------------------- journey
    def _journey(
        self, person: PersonRecord, site: SiteRuntime, draws: PersonDraws, stage: str = "new"
    ) -> Process:
        """One referred person's way through the IPC pathway.

        1. Referral and information gathering: a delay, then the referrer's effort.
        2. Invitation and consent: the person accepts the offer or declines it.
        3. Some withdraw at once; the rest wait an admin lag for a first appointment.
        4. Allocation to a lead practitioner, in a queue the person may leave (withdraw);
           the practitioner chases missing referral information, then holds the first
           planning conversation.
        5. Later conversations with the same practitioner, each after a gap.
        6. The plan is written and circulated to other services.
        7. Sign-off (panel sitting, individual or sequential); a returned plan gets
           another conversation and is resubmitted; a plan may be declined.
        8. With a budget: budget setting, waiting for money in the site's budget pot,
           payment set-up and release.
        9. Reviews with the same practitioner, for as long as the run lasts.

        People already in the pathway at the start (``stage`` from the backlog CSV) join
        at the step after the milestone they have reached.
        """
        env = self.env
        config = site.config
        pathway = config.pathway
        lead_pool = site.pools[pathway.lead_role]
        reached = BACKLOG_STAGES.index(stage) if stage != "new" else -1
        planner: StaffMember | None = None

        if reached < 0:
            # 1-2. Referral, invitation and consent.
            yield from self._activity(person, site, "referral", draws)
            yield from self._activity(person, site, "invitation", draws)
            if not draws.accepts_offer:
                person.end("declined", "offer_declined", env.now)
                return
            person.consented_day = env.now
            if draws.withdraws_at_consent:
                person.end("withdrawn", "withdrew_before_first_session", env.now)
                return
        elif reached == 0:
            yield from self._activity(person, site, "invitation", draws)
            if not draws.accepts_offer:
                person.end("declined", "offer_declined", env.now)
                return
            person.consented_day = env.now

        if reached < 2:
            # 3-4. Wait for a lead practitioner; the person may give up while waiting.
            if reached < 1:
                yield env.timeout(draws.admin_lag_days)
            allocated = yield from self._allocate_and_first_conversation(person, site, draws)
            if allocated is None:
                return
            planner = allocated
            # 5. Later conversations with the same practitioner.
            for gap, hours in zip(draws.gap_days, draws.session_hours[1:], strict=True):
                yield env.timeout(gap)
                planner = yield from self._work(
                    person, lead_pool, "conversation", hours * site.session_multiplier(),
                    member=planner,
                )  # fmt: skip
                person.sessions_held += 1
            # 6. Write and circulate the plan.
            planner = yield from self._activity(person, site, "plan_writing", draws, planner)
            person.plan_written_day = env.now
            circulation_hours = draws.contacts * pathway.circulation.minutes_per_contact
            circulation_hours /= MINUTES_PER_HOUR
            if circulation_hours > 0:
                planner = yield from self._work(
                    person, lead_pool, "circulation", circulation_hours, member=planner
                )
            if draws.circulation_delay_days > 0:
                yield env.timeout(draws.circulation_delay_days)

        if reached < 3:
            # 7. Sign-off, with rework loops.
            submission = 0
            last = config.signoff.max_submissions - 1
            while True:
                yield from self._sign_off(person, site, draws, submission)
                if draws.plan_declined[submission]:
                    if planner is not None:
                        lead_pool.close_case(planner)
                    person.end("declined", "plan_declined", env.now)
                    return
                reworked = draws.rework_u[submission] < site.rework_probability()
                if submission == last or not reworked:
                    break
                person.rework_count += 1
                new_case = planner is None  # a backlog plan meets its practitioner now
                planner = yield from self._work(
                    person, lead_pool, "rework",
                    draws.rework_session_hours[submission] * site.session_multiplier(),
                    member=planner, new_case=new_case,
                )  # fmt: skip
                person.lead_practitioner = planner.name
                person.sessions_held += 1
                submission += 1
            person.signed_off_day = env.now
            site.signed_off += 1
            if planner is not None:
                lead_pool.close_case(planner)
            self._start_reviews(person, site, draws.review_happens, planner)
        elif reached == 3:
            self._start_reviews(person, site, draws.review_happens, planner)

        # 8. Budget setting, the budget pot, and release.
        if reached < 4:
            if not draws.wants_budget:
                person.end("plan_in_place", "no_budget", env.now)
                return
            if draws.budget_declined:
                person.end("plan_in_place", "budget_declined", env.now)
                return
            planner = yield from self._activity(person, site, "budget_setting", draws, planner)
            person.budget_agreed_day = env.now
        person.budget_type = draws.budget_type
        person.budget_amount_gbp = draws.budget_amount_gbp
        if site.envelope is not None:
            held_from = env.now
            yield from self._await_budget_money(site, draws.budget_amount_gbp)
            person.budget_held_days = env.now - held_from
        payment_efforts = draws.efforts["payment_setup"]
        yield from self._efforts(person, site, "payment_setup", payment_efforts, planner)
        yield env.timeout(draws.payment_processing_days)
        if not draws.payment_operational:
            person.end("plan_in_place", "payment_not_operational", env.now)
            return
        person.budget_released_day = env.now
        person.end("budget_in_place", "budget_released", env.now)

    def _allocate_and_first_conversation(
        self, person: PersonRecord, site: SiteRuntime, draws: PersonDraws
    ) -> Generator[simpy.Event, Any, StaffMember | None]:
        """Queue for a lead practitioner (or give up), then hold the first conversation."""
        env = self.env
        pathway = site.config.pathway
        lead_pool = site.pools[pathway.lead_role]
        wait = self.log.open_wait(
            person, role=pathway.lead_role, activity="allocation", day=env.now
        )
        allocation = lead_pool.request(new_case=True)
        if not allocation.triggered and math.isfinite(draws.withdraws_after_waiting_days):
            # Only someone who has to wait can give up (no timer for those served at once).
            yield allocation | self.diary.event_at(env.now + draws.withdraws_after_waiting_days)
        else:
            yield allocation
        if not allocation.triggered:
            lead_pool.cancel(allocation)
            self.log.close_wait(wait, env.now, served=False)
            person.end("withdrawn", "withdrew_while_waiting", env.now)
            return None
        planner = allocation.granted
        person.lead_practitioner = planner.name
        chase_hours = pathway.incomplete_referral_extra_hours if draws.incomplete_referral else 0.0
        session_hours = draws.session_hours[0] * site.session_multiplier()
        ready = env.now
        if chase_hours > 0:
            # The practitioner chases missing referral information before the first visit.
            served, ready = lead_pool.book(planner, ready, chase_hours)
            self.log.close_wait(wait, served)
            self._log_work(
                person, pathway.lead_role, planner, "referral_chase", served, ready, chase_hours
            )
        start, finish = lead_pool.book(planner, ready, session_hours)
        if chase_hours == 0:
            self.log.close_wait(wait, start)
        # Written when booked; the frames leave out what starts after the horizon.
        person.first_conversation_day = start
        self._log_work(
            person, pathway.lead_role, planner, "conversation", start, finish, session_hours
        )
        yield env.timeout(finish - env.now)
        person.sessions_held = 1
        lead_pool.release(planner)
        return planner

    def _start_reviews(
        self,
        person: PersonRecord,
        site: SiteRuntime,
        review_happens: list[bool],
        planner: StaffMember | None,
    ) -> None:
        """Reviews from now on (no process at all when none of them happens)."""
        if True in review_happens:
            self.env.process(self._reviews(person, site, review_happens, planner))

    def _reviews(
        self,
        person: PersonRecord,
        site: SiteRuntime,
        review_happens: list[bool],
        planner: StaffMember | None,
    ) -> Process:
        """Reviews of a plan in place, due every review interval from sign-off.

        Only the review draws are kept (not all of the person's draws): a plan in place waits
        for years, and most people of a long run are waiting for a review.
        """
        cohort = site.config.cohorts[person.cohort]
        lead_pool = site.pools[site.config.pathway.lead_role]
        signed_off = self.env.now
        horizon = self.scenario.run.horizon_days
        for k, happens in enumerate(review_happens, start=1):
            if not happens:
                continue
            due = signed_off + k * cohort.review_interval_days
            if due >= horizon:
                return  # no timeouts for reviews the run will not reach
            yield self.diary.event_at(due)  # held out of SimPy's queue until its day
            # Budget holders' reviews take longer (P51); a budget still being set counts not.
            holder = not math.isnan(person.budget_released_day)
            hours = cohort.review_hours_budget_holder if holder else cohort.review_hours_no_budget
            if hours > 0:
                planner = yield from self._work(
                    person, lead_pool, "review", hours, member=planner, kind="review"
                )
                person.lead_practitioner = planner.name
            person.reviews_held += 1

    # ----------------------------------------------------------------- sign-off
    def _sign_off(
        self, person: PersonRecord, site: SiteRuntime, draws: PersonDraws, submission: int
    ) -> Process:
        """One submission of the plan, until the decision comes back."""
        signoff = site.config.signoff
        if site.panel is not None:
            decision = self.env.event()
            site.panel.waiting.append((person, decision))
            yield decision
            return
        steps: tuple[IndividualSignoff, ...] = (
            (signoff.individual,) if signoff.mode == "individual" else signoff.sequential.steps
        )
        for step, delay in zip(steps, draws.signoff_delays_days[submission], strict=True):
            if delay > 0:
                yield self.env.timeout(delay)
            hours = step.reviewer_minutes_per_plan / MINUTES_PER_HOUR
            self._log_reviewer(person, step.reviewer_role, "reviewer", hours)

    def _panel_sittings(self, panel: PanelQueue) -> Process:
        """The panel sits on its cadence and decides on waiting plans, oldest first."""
        config = panel.config
        yield self.env.timeout(config.first_sitting_day)
        hours = config.members_per_sitting * config.reviewer_minutes_per_plan / MINUTES_PER_HOUR
        while True:
            limit = config.max_plans_per_sitting or len(panel.waiting)
            sitting, panel.waiting = panel.waiting[:limit], panel.waiting[limit:]
            for person, decision in sitting:
                self._log_reviewer(person, config.reviewer_role, "panel", hours)
                decision.succeed()
            yield self.env.timeout(config.interval_days)

    # ----------------------------------------------------------------- budget pot
    def _envelope_periods(self, site: SiteRuntime) -> Process:
        """Refill the site's budget pot each period and release budgets held for it."""
        envelope = site.envelope
        config = site.config.budget_envelope
        if envelope is None or config is None:
            return
        run = self.scenario.run
        for day in budget_period_starts(run.start_date, run.horizon_days, config.period):
            yield self.env.timeout(day - self.env.now)
            envelope.remaining_gbp = config.amount_gbp
            self._pay_held(envelope)

    @staticmethod
    def _pay_held(envelope: Envelope) -> None:
        # First come, first served: a budget the pot cannot cover holds those behind it.
        while envelope.held and envelope.held[0][0] <= envelope.remaining_gbp:
            amount, event = envelope.held.popleft()
            envelope.remaining_gbp -= amount
            event.succeed()

    def _await_budget_money(self, site: SiteRuntime, amount: float) -> Process:
        """Wait until the site's pot can pay ``amount`` (at once if it can now)."""
        envelope = site.envelope
        if envelope is None:
            return
        event = self.env.event()
        envelope.held.append((amount, event))
        self._pay_held(envelope)
        yield event

    # ----------------------------------------------------------------- staffing plans
    def _staffing_plan(self, site_name: str, role_name: str, pool: StaffPool) -> None:
        """Start the processes that change a pool's staff: dated changes and turnover."""
        role = pool.role
        for change in role.changes:
            self.env.process(self._staff_change(pool, change))
        if role.annual_turnover > 0 and not pool.unlimited:
            stream = self.streams[f"turnover.{site_name}.{role_name}"]
            self.env.process(self._turnover(pool, stream))

    def _new_starter(self, pool: StaffPool, fte: float) -> Process:
        """A new starter: training first, then reduced productivity for a few weeks."""
        role = pool.role
        member = pool.add_member(
            fte, training_days=role.training_days, productivity=role.new_starter_productivity
        )
        if role.new_starter_productivity < 1.0 and role.new_starter_weeks > 0:
            yield self.env.timeout(role.training_days + role.new_starter_weeks * 7)
            if member.active:
                pool.set_productivity(member, 1.0)

    def _staff_change(self, pool: StaffPool, change: Any) -> Process:
        """Apply a dated change: a new IPC share at once; new posts after the recruitment lag."""
        day = day_of(change.date, self.scenario.run.start_date)
        if day >= self.env.now:
            yield self.env.timeout(day - self.env.now)
        if change.ipc_share is not None:
            pool.set_ipc_share(change.ipc_share)
        target = change.member_fte()
        if target is None:
            return
        current = pool.active_members
        if len(target) < len(current):
            # Posts cut: the most recent starters leave first (idle people before busy ones).
            leaving = sorted(current, key=lambda m: (m.busy, -m.index))[
                : len(current) - len(target)
            ]
            for member in leaving:
                pool.retire(member)
        elif len(target) > len(current):
            lag = pool.role.recruitment_lag_days
            if lag > 0:
                yield self.env.timeout(lag)
            for fte in target[len(current) :]:
                self.env.process(self._new_starter(pool, fte))

    def _turnover(self, pool: StaffPool, stream: np.random.Generator) -> Process:
        """Leavers at the role's annual rate, each replaced after the replacement lag."""
        per_person_per_day = pool.role.annual_turnover / DAYS_PER_YEAR
        while True:
            staff = pool.active_members
            if not staff:
                yield self.env.timeout(30.0)
                continue
            yield self.env.timeout(
                float(stream.exponential(1.0 / (per_person_per_day * len(staff))))
            )
            staff = pool.active_members
            if not staff:
                continue
            leaver = staff[int(stream.integers(len(staff)))]
            pool.retire(leaver)
            self.env.process(self._replace(pool, leaver.fte))

    def _replace(self, pool: StaffPool, fte: float) -> Process:
        yield self.env.timeout(pool.role.replacement_lag_days)
        yield from self._new_starter(pool, fte)

    # ----------------------------------------------------------------- staff work
    def _work(
        self,
        person: PersonRecord,
        pool: StaffPool,
        activity: str,
        hours: float,
        *,
        member: StaffMember | None = None,
        new_case: bool = False,
        kind: str = "planning",
    ) -> Generator[simpy.Event, Any, StaffMember]:
        """Wait for ``member`` (or anyone in the pool), then work ``hours`` in their time.

        Returns the member who did the work: a new lead if the named one has left.
        """
        log, role = self.log, pool.role_label
        wait = log.open_wait_of(person.row, role, activity, self.env.now)
        request = pool.request(member=member, new_case=new_case, kind=kind)
        yield request
        worker = request.granted
        start, finish = pool.book(worker, self.env.now, hours)
        # Written when booked; the frames leave out what starts after the horizon.
        log.close_wait(wait, start)
        log.log_task(person.row, role, worker.name, activity, start, finish, hours)
        yield self.env.timeout(finish - self.env.now)
        pool.release(worker)
        return worker

    def _efforts(
        self,
        person: PersonRecord,
        site: SiteRuntime,
        activity: str,
        efforts: Efforts,
        lead: StaffMember | None,
        delay: float = 0.0,
    ) -> Generator[simpy.Event, Any, StaffMember | None]:
        """After ``delay`` days, each role's effort on an activity, done in parallel.

        The lead role's work goes to ``lead``. Returns the lead practitioner afterwards (a new
        one if ``lead`` has left).
        """
        if delay > 0:
            yield self.env.timeout(delay)
        lead_role = site.config.pathway.lead_role
        if len(efforts) == 1:
            # One role: do the work in this process (no sub-process and AllOf to schedule).
            role, hours = efforts[0]
            member = lead if role == lead_role else None
            worker = yield from self._work(person, site.pools[role], activity, hours, member=member)
            return worker if role == lead_role and lead is not None else lead
        tasks = {
            role: self.env.process(
                self._work(
                    person,
                    site.pools[role],
                    activity,
                    hours,
                    member=lead if role == lead_role else None,
                )
            )
            for role, hours in efforts
        }
        if tasks:
            yield self.env.all_of(list(tasks.values()))
        if lead is not None and lead_role in tasks:
            done = tasks[lead_role].value
            if isinstance(done, StaffMember):
                return done
        return lead

    def _activity(
        self,
        person: PersonRecord,
        site: SiteRuntime,
        name: str,
        draws: PersonDraws,
        lead: StaffMember | None = None,
    ) -> Generator[simpy.Event, Any, StaffMember | None]:
        """A pathway step: its delay, then its staff effort (this person's draws).

        Not a generator itself: it hands back :meth:`_efforts`'s, one level less to resume.
        """
        return self._efforts(
            person, site, name, draws.efforts[name], lead, delay=draws.delay_days[name]
        )

    def _log_work(
        self,
        person: PersonRecord,
        role: str,
        member: StaffMember,
        activity: str,
        start: float,
        finish: float,
        hours: float,
    ) -> None:
        self.log.log_task(person.row, role, member.name, activity, start, finish, hours)

    def _log_reviewer(self, person: PersonRecord, role: str, member: str, hours: float) -> None:
        """Sign-off time: counted and costed, not queued (the delay or cadence stands for it)."""
        now = self.env.now
        self.log.log_task(person.row, role, member, "sign_off", now, now, hours)

    # ----------------------------------------------------------------- draws
    def _draw_person(self, site: SiteRuntime, cohort_name: str, *, prefix: str = "") -> PersonDraws:
        """Draw everything random about one person (see :mod:`ipcsim.engine.draws`)."""
        key = (site.name, cohort_name, prefix)
        draws = self._cohort_draws.get(key)
        if draws is None:
            draws = CohortDraws(
                self.streams, site.config, cohort_name, self.scenario.run.horizon_days, prefix
            )
            self._cohort_draws[key] = draws
        return draws()
