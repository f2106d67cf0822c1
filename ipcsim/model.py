"""The SimPy model of the IPC pathway: one process per referred person.

The model reads a validated :class:`~ipcsim.schema.Scenario` and never changes it; it writes
tidy records to an :class:`~ipcsim.records.EventLog`. Time is in days since the start date;
staff effort is in hours.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from ipcsim.records import EventLog, PersonRecord
from ipcsim.rng import Streams
from ipcsim.schema import BUDGET_TYPES, Cohort, Effort, IndividualSignoff, Scenario
from ipcsim.staff import StaffMember, StaffPool
from ipcsim.worktime import make_calendar

DAYS_PER_MONTH = 365.25 / 12
MINUTES_PER_HOUR = 60.0

Process = Generator[simpy.Event, Any, Any]


@dataclass(slots=True)
class PersonDraws:
    """Every random quantity of one person, drawn when they are referred.

    Drawing them up front, each from its own named stream, gives the same referral the
    same draws in every scenario that shares the seed (common random numbers), whatever
    the queues do.
    """

    delay_days: dict[str, float]
    incomplete_referral: bool
    accepts_offer: bool
    withdraws_at_consent: bool
    withdraws_after_waiting_days: float
    admin_lag_days: float
    session_hours: list[float]
    gap_days: list[float]
    contacts: int
    circulation_delay_days: float
    signoff_delays_days: list[list[float]]
    plan_declined: list[bool]
    plan_reworked: list[bool]
    rework_session_hours: list[float]
    wants_budget: bool
    budget_declined: bool
    budget_type: str
    budget_amount_gbp: float
    payment_processing_days: float
    payment_operational: bool
    review_happens: list[bool]
    effort_hours: dict[str, dict[str, float]]


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
    """

    def __init__(self, scenario: Scenario, *, replication: int = 0, seed: int | None = None):
        self.scenario = scenario
        self.env = simpy.Environment()
        self.calendar = make_calendar(scenario.run)
        self.seed = scenario.run.seed if seed is None else seed
        self.streams = Streams(self.seed, replication)
        self.pools = {
            name: StaffPool(self.env, name=name, role=role, calendar=self.calendar)
            for name, role in sorted(scenario.workforce.items())
        }
        self.log = EventLog()
        self._panel_queue: list[tuple[PersonRecord, simpy.Event]] = []
        self._next_person_id = 0

    # ----------------------------------------------------------------- running
    def run(self) -> EventLog:
        """Simulate to the horizon and return the records."""
        for name in sorted(self.scenario.cohorts):
            self.env.process(self._referrals(name))
        if self.scenario.signoff.mode == "panel":
            self.env.process(self._panel_sittings())
        self.env.run(until=self.scenario.run.horizon_days)
        return self.log

    def _referrals(self, cohort_name: str) -> Process:
        """Poisson referrals of one cohort."""
        cohort = self.scenario.cohorts[cohort_name]
        rate_per_day = cohort.referrals_per_month / DAYS_PER_MONTH
        if rate_per_day <= 0:
            return
        arrivals = self.streams[f"arrivals.{cohort_name}"]
        while True:
            yield self.env.timeout(float(arrivals.exponential(1.0 / rate_per_day)))
            person = PersonRecord(
                person_id=self._next_person_id,
                site=self.scenario.site.name,
                cohort=cohort_name,
                referred_day=self.env.now,
            )
            self._next_person_id += 1
            draws = self._draw_person(cohort_name, cohort)
            person.sessions_planned = len(draws.session_hours)
            self.log.people.append(person)
            self.env.process(self._journey(person, cohort, draws))

    # ----------------------------------------------------------------- journey
    def _journey(self, person: PersonRecord, cohort: Cohort, draws: PersonDraws) -> Process:
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
        8. With a budget: budget setting, then payment set-up and release.
        9. Reviews with the same practitioner, for as long as the run lasts.
        """
        env = self.env
        pathway = self.scenario.pathway
        lead_pool = self.pools[pathway.lead_role]

        # 1-2. Referral, invitation and consent.
        yield from self._activity(person, "referral", draws)
        yield from self._activity(person, "invitation", draws)
        if not draws.accepts_offer:
            person.end("declined", "offer_declined", env.now)
            return
        person.consented_day = env.now
        if draws.withdraws_at_consent:
            person.end("withdrawn", "withdrew_before_first_session", env.now)
            return

        # 3-4. Wait for a lead practitioner; the person may give up while waiting.
        yield env.timeout(draws.admin_lag_days)
        wait = self.log.open_wait(
            person, role=pathway.lead_role, activity="allocation", day=env.now
        )
        allocation = lead_pool.request(new_case=True)
        if math.isfinite(draws.withdraws_after_waiting_days):
            yield allocation | env.timeout(draws.withdraws_after_waiting_days)
        else:
            yield allocation
        if not allocation.triggered:
            lead_pool.cancel(allocation)
            self.log.close_wait(wait, env.now, served=False)
            person.end("withdrawn", "withdrew_while_waiting", env.now)
            return
        planner = allocation.granted
        person.lead_practitioner = planner.name
        ready = served = env.now
        chase_hours = pathway.incomplete_referral_extra_hours if draws.incomplete_referral else 0.0
        if chase_hours > 0:
            served, ready = lead_pool.book(planner, ready, chase_hours)
        start, finish = lead_pool.book(planner, ready, draws.session_hours[0])
        if chase_hours > 0:
            # The practitioner chases missing referral information before the first visit.
            yield env.timeout(served - env.now)
            self.log.close_wait(wait, served)
            self._log_work(
                person, pathway.lead_role, planner, "referral_chase", served, ready, chase_hours
            )
        # Records are written when the booked time comes, so none lie beyond the horizon.
        yield env.timeout(start - env.now)
        if chase_hours == 0:
            self.log.close_wait(wait, start)
        person.first_conversation_day = start
        person.sessions_held = 1
        self._log_work(
            person, pathway.lead_role, planner, "conversation", start, finish,
            draws.session_hours[0],
        )  # fmt: skip
        yield env.timeout(finish - env.now)
        lead_pool.release(planner)

        # 5. Later conversations with the same practitioner.
        for gap, hours in zip(draws.gap_days, draws.session_hours[1:], strict=True):
            yield env.timeout(gap)
            yield from self._work(person, lead_pool, "conversation", hours, member=planner)
            person.sessions_held += 1

        # 6. Write and circulate the plan.
        yield from self._activity(person, "plan_writing", draws, planner)
        person.plan_written_day = env.now
        circulation_hours = draws.contacts * pathway.circulation.minutes_per_contact
        circulation_hours /= MINUTES_PER_HOUR
        if circulation_hours > 0:
            yield from self._work(
                person, lead_pool, "circulation", circulation_hours, member=planner
            )
        if draws.circulation_delay_days > 0:
            yield env.timeout(draws.circulation_delay_days)

        # 7. Sign-off, with rework loops.
        submission = 0
        while True:
            yield from self._sign_off(person, draws, submission)
            if draws.plan_declined[submission]:
                lead_pool.close_case(planner)
                person.end("declined", "plan_declined", env.now)
                return
            if not draws.plan_reworked[submission]:
                break
            person.rework_count += 1
            yield from self._work(
                person, lead_pool, "rework", draws.rework_session_hours[submission], member=planner
            )
            person.sessions_held += 1
            submission += 1
        person.signed_off_day = env.now
        lead_pool.close_case(planner)
        env.process(self._reviews(person, cohort, draws, planner))

        # 8. Budget setting and release.
        if not draws.wants_budget:
            person.end("plan_in_place", "no_budget", env.now)
            return
        if draws.budget_declined:
            person.end("plan_in_place", "budget_declined", env.now)
            return
        yield from self._activity(person, "budget_setting", draws, planner)
        person.budget_agreed_day = env.now
        person.budget_type = draws.budget_type
        person.budget_amount_gbp = draws.budget_amount_gbp
        yield from self._efforts(
            person, "payment_setup", draws.effort_hours["payment_setup"], planner
        )
        yield env.timeout(draws.payment_processing_days)
        if not draws.payment_operational:
            person.end("plan_in_place", "payment_not_operational", env.now)
            return
        person.budget_released_day = env.now
        person.end("budget_in_place", "budget_released", env.now)

    def _reviews(
        self, person: PersonRecord, cohort: Cohort, draws: PersonDraws, planner: StaffMember
    ) -> Process:
        """Reviews of a plan in place, due every review interval from sign-off."""
        lead_pool = self.pools[self.scenario.pathway.lead_role]
        signed_off = self.env.now
        for k, happens in enumerate(draws.review_happens, start=1):
            due = signed_off + k * cohort.review_interval_days
            yield self.env.timeout(max(0.0, due - self.env.now))
            if not happens:
                continue
            # Budget holders' reviews take longer (P51); a budget still being set counts not.
            holder = not math.isnan(person.budget_released_day)
            hours = cohort.review_hours_budget_holder if holder else cohort.review_hours_no_budget
            if hours > 0:
                yield from self._work(person, lead_pool, "review", hours, member=planner)
            person.reviews_held += 1

    # ----------------------------------------------------------------- sign-off
    def _sign_off(self, person: PersonRecord, draws: PersonDraws, submission: int) -> Process:
        """One submission of the plan, until the decision comes back."""
        signoff = self.scenario.signoff
        if signoff.mode == "panel":
            decision = self.env.event()
            self._panel_queue.append((person, decision))
            yield decision
            return
        steps: tuple[IndividualSignoff, ...] = (
            (signoff.individual,) if signoff.mode == "individual" else signoff.sequential.steps
        )
        for step, delay in zip(steps, draws.signoff_delays_days[submission], strict=True):
            yield self.env.timeout(delay)
            hours = step.reviewer_minutes_per_plan / MINUTES_PER_HOUR
            self._log_reviewer(person, step.reviewer_role, "reviewer", hours)

    def _panel_sittings(self) -> Process:
        """The panel sits on its cadence and decides on waiting plans, oldest first."""
        panel = self.scenario.signoff.panel
        yield self.env.timeout(panel.first_sitting_day)
        while True:
            limit = panel.max_plans_per_sitting or len(self._panel_queue)
            sitting, self._panel_queue = self._panel_queue[:limit], self._panel_queue[limit:]
            hours = panel.members_per_sitting * panel.reviewer_minutes_per_plan / MINUTES_PER_HOUR
            for person, decision in sitting:
                self._log_reviewer(person, panel.reviewer_role, "panel", hours)
                decision.succeed()
            yield self.env.timeout(panel.interval_days)

    # ----------------------------------------------------------------- staff work
    def _work(
        self,
        person: PersonRecord,
        pool: StaffPool,
        activity: str,
        hours: float,
        *,
        member: StaffMember | None = None,
    ) -> Process:
        """Wait for ``member`` (or anyone in the pool), then work ``hours`` in their time."""
        wait = self.log.open_wait(person, role=pool.name, activity=activity, day=self.env.now)
        request = pool.request(member=member)
        yield request
        worker = request.granted
        start, finish = pool.book(worker, self.env.now, hours)
        yield self.env.timeout(start - self.env.now)
        self.log.close_wait(wait, start)
        self._log_work(person, pool.name, worker, activity, start, finish, hours)
        yield self.env.timeout(finish - self.env.now)
        pool.release(worker)
        return worker

    def _efforts(
        self,
        person: PersonRecord,
        activity: str,
        effort_hours: Mapping[str, float],
        lead: StaffMember | None,
    ) -> Process:
        """Each role's effort on an activity, done in parallel; the lead role uses ``lead``."""
        lead_role = self.scenario.pathway.lead_role
        tasks = [
            self.env.process(
                self._work(
                    person,
                    self.pools[role],
                    activity,
                    hours,
                    member=lead if role == lead_role else None,
                )
            )
            for role, hours in sorted(effort_hours.items())
            if hours > 0
        ]
        if tasks:
            yield self.env.all_of(tasks)

    def _activity(
        self,
        person: PersonRecord,
        name: str,
        draws: PersonDraws,
        lead: StaffMember | None = None,
    ) -> Process:
        """A pathway step: its delay, then its staff effort (this person's draws)."""
        delay = draws.delay_days[name]
        if delay > 0:
            yield self.env.timeout(delay)
        yield from self._efforts(person, name, draws.effort_hours[name], lead)

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
        self.log.log_work(
            person,
            role=role,
            member=member.name,
            activity=activity,
            start_day=start,
            finish_day=finish,
            hours=hours,
        )

    def _log_reviewer(self, person: PersonRecord, role: str, member: str, hours: float) -> None:
        """Sign-off time: counted and costed, not queued (the delay or cadence stands for it)."""
        now = self.env.now
        self.log.log_work(
            person, role=role, member=member, activity="sign_off", start_day=now,
            finish_day=now, hours=hours,
        )  # fmt: skip

    # ----------------------------------------------------------------- draws
    def _draw_person(self, cohort_name: str, cohort: Cohort) -> PersonDraws:
        """Draw everything random about one person, each quantity from its own stream."""
        scenario = self.scenario
        pathway = scenario.pathway
        signoff = scenario.signoff

        def rng(purpose: str) -> np.random.Generator:
            return self.streams[f"{purpose}.{cohort_name}"]

        n_sessions = max(1, round(cohort.sessions.sample(rng("sessions"))))
        minutes = rng("session_minutes")
        session_minutes = [cohort.first_session_minutes.sample(minutes)]
        session_minutes += [
            cohort.later_session_minutes.sample(minutes) for _ in range(n_sessions - 1)
        ]
        gaps = rng("session_gaps")
        hazard = cohort.withdrawal_hazard_per_month_waiting
        withdrawal = rng("withdrawal")
        withdraws_at_consent = bool(
            withdrawal.random() < cohort.withdrawal_probability_before_first_session
        )
        if hazard <= 0:
            withdraw_after = math.inf
        elif hazard >= 1:
            withdraw_after = 0.0
        else:
            rate_per_day = -math.log1p(-hazard) / DAYS_PER_MONTH
            withdraw_after = float(withdrawal.exponential(1.0 / rate_per_day))

        submissions = signoff.max_submissions
        signoff_rng = rng("signoff")
        steps = (
            [signoff.individual]
            if signoff.mode == "individual"
            else list(signoff.sequential.steps)
            if signoff.mode == "sequential"
            else []
        )
        delays = [
            [step.delay_days.sample(signoff_rng) for step in steps] for _ in range(submissions)
        ]
        decline_u = signoff_rng.random(submissions)
        rework_u = signoff_rng.random(submissions)
        plan_reworked = [bool(u < signoff.rework_probability) for u in rework_u]
        plan_reworked[-1] = False  # the last allowed submission is not sent back
        rework_minutes = [
            signoff.rework_session_minutes.sample(signoff_rng) for _ in range(submissions)
        ]

        budget = rng("budget")
        wants_budget = bool(budget.random() < cohort.budget_probability)
        budget_declined = bool(budget.random() < signoff.budget_decline_probability)
        budget_type = str(budget.choice(BUDGET_TYPES, p=cohort.budget_type_split.as_tuple()))
        amount = cohort.budget_amount_gbp.sample(budget)
        release = scenario.budget_release.for_type(budget_type)
        processing = release.processing_delay_days.sample(budget)
        operational = bool(budget.random() < release.release_probability)

        effort_rng = rng("effort")

        def efforts(table: Mapping[str, Effort]) -> dict[str, float]:
            return {
                role: value if isinstance(value, float | int) else value.sample(effort_rng)
                for role, value in sorted(table.items())
            }

        activities = {
            "referral": pathway.referral,
            "invitation": pathway.invitation,
            "plan_writing": pathway.plan_writing,
            "budget_setting": pathway.budget_setting,
        }
        effort_hours = {name: efforts(a.effort_hours) for name, a in activities.items()}
        effort_hours["payment_setup"] = efforts(release.effort_hours)
        delay_rng = rng("delays")
        delay_days = {name: a.delay_days.sample(delay_rng) for name, a in activities.items()}

        n_reviews = math.ceil(scenario.run.horizon_days / cohort.review_interval_days) + 1
        review_u = rng("reviews").random(n_reviews)

        intake = rng("intake")
        return PersonDraws(
            delay_days=delay_days,
            incomplete_referral=bool(intake.random() < pathway.incomplete_referral_probability),
            accepts_offer=bool(intake.random() < cohort.offer_acceptance),
            withdraws_at_consent=withdraws_at_consent,
            withdraws_after_waiting_days=withdraw_after,
            admin_lag_days=pathway.consent_to_first_appointment_days.sample(intake),
            session_hours=[m / MINUTES_PER_HOUR for m in session_minutes],
            gap_days=[cohort.session_gap_days.sample(gaps) for _ in range(n_sessions - 1)],
            contacts=max(0, round(pathway.circulation.contacts.sample(intake))),
            circulation_delay_days=pathway.circulation.delay_days.sample(intake),
            signoff_delays_days=delays,
            plan_declined=[bool(u < signoff.plan_decline_probability) for u in decline_u],
            plan_reworked=plan_reworked,
            rework_session_hours=[m / MINUTES_PER_HOUR for m in rework_minutes],
            wants_budget=wants_budget,
            budget_declined=budget_declined,
            budget_type=budget_type,
            budget_amount_gbp=amount,
            payment_processing_days=processing,
            payment_operational=operational,
            review_happens=[bool(u < cohort.review_probability) for u in review_u],
            effort_hours=effort_hours,
        )
