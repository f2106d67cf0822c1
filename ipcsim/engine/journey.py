"""The journey of one referred person through the IPC pathway, top to bottom.

:func:`journey` is the care pathway as one SimPy process, its steps numbered in the order
a person meets them; after it come the allocation to a lead practitioner with the first
conversation, the reviews of a plan in place, and the staff work every step is made of.
Time in days since the run's start date; staff effort in hours. Every random quantity of the
person was drawn at referral (:class:`~ipcsim.engine.draws.PersonDraws`); the queues decide
only when things happen.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import simpy

from ipcsim.engine.draws import Efforts, PersonDraws
from ipcsim.engine.records import PersonRecord
from ipcsim.engine.runtime import Process, Runtime, SiteRuntime
from ipcsim.engine.staff import StaffMember, StaffPool
from ipcsim.pathway import BACKLOG_STAGES
from ipcsim.units import MINUTES_PER_HOUR

__all__ = ["journey"]

_AHEAD: dict[str | None, frozenset[str]] = {
    None: frozenset(BACKLOG_STAGES),
    **{
        stage: frozenset(BACKLOG_STAGES[BACKLOG_STAGES.index(stage) + 1 :])
        for stage in BACKLOG_STAGES
    },
}
"""Milestones still ahead of someone entering at a backlog stage (``None``: a new referral,
who has every step ahead, from the referral's information gathering on)."""


def journey(
    runtime: Runtime,
    person: PersonRecord,
    site: SiteRuntime,
    draws: PersonDraws,
    entered_at: str | None = None,
) -> Process:
    """One referred person's way through the IPC pathway.

    1. Referral and information gathering: a delay, then the referrer's effort.
    2. Invitation and consent: the person accepts the offer or declines it; some withdraw
       at once.
    3. Allocation and first conversation: an admin lag for a first appointment, then a
       queue for a lead practitioner that the person may leave (withdraw); the
       practitioner chases missing referral information, then holds the first planning
       conversation.
    4. Planning conversations: later conversations with the same practitioner, each after
       a gap.
    5. Plan writing.
    6. Circulation of the plan to other services.
    7. Sign-off (panel sitting, individual or sequential: :mod:`ipcsim.engine.signoff`),
       with rework: a returned plan gets another conversation and is resubmitted; a plan
       may be declined.
    8. Budget setting, for those who want a budget and are not declined one.
    9. Budget release: waiting for money in the site's budget pot
       (:mod:`ipcsim.engine.budget_pot`), payment set-up, processing.
    10. Reviews with the same practitioner, from sign-off for as long as the run lasts
        (their own process, :func:`_reviews`).

    Parameters
    ----------
    runtime
        The run's shared state.
    person
        The person's record, written as they go.
    site
        Their site.
    draws
        Everything random about them.
    entered_at
        ``None`` for a new referral; for someone already in the pathway at the start date,
        the milestone they had reached (one of :data:`ipcsim.pathway.BACKLOG_STAGES`): they
        join at the step after it.
    """
    env = runtime.env
    config = site.config
    pathway = config.pathway
    lead_pool = site.pools[pathway.lead_role]
    ahead = _AHEAD[entered_at]
    planner: StaffMember | None = None

    # 1. Referral and information gathering.
    if "referred" in ahead:
        yield from _activity(runtime, person, site, "referral", draws)
    # 2. Invitation and consent.
    if "consented" in ahead:
        yield from _activity(runtime, person, site, "invitation", draws)
        if not draws.accepts_offer:
            person.end("declined", "offer_declined", env.now)
            return
        person.consented_day = env.now
        if entered_at is None and draws.withdraws_at_consent:
            person.end("withdrawn", "withdrew_before_first_session", env.now)
            return

    if "plan_written" in ahead:
        # 3. Allocation and first conversation; the person may give up while waiting.
        if "consented" in ahead:
            yield env.timeout(draws.admin_lag_days)
        allocated = yield from _allocate_and_first_conversation(runtime, person, site, draws)
        if allocated is None:
            return
        planner = allocated
        # 4. Later conversations with the same practitioner.
        for gap, hours in zip(draws.gap_days, draws.session_hours[1:], strict=True):
            yield env.timeout(gap)
            planner = yield from _work(
                runtime, person, lead_pool, "conversation", hours * site.session_multiplier(),
                member=planner,
            )  # fmt: skip
            person.sessions_held += 1
        # 5. Write the plan.
        planner = yield from _activity(runtime, person, site, "plan_writing", draws, planner)
        person.plan_written_day = env.now
        # 6. Circulate it.
        circulation_hours = draws.contacts * pathway.circulation.minutes_per_contact
        circulation_hours /= MINUTES_PER_HOUR
        if circulation_hours > 0:
            planner = yield from _work(
                runtime, person, lead_pool, "circulation", circulation_hours, member=planner
            )
        if draws.circulation_delay_days > 0:
            yield env.timeout(draws.circulation_delay_days)

    if "signed_off" in ahead:
        # 7. Sign-off, with rework loops.
        signoff = site.signoff
        submission = 0
        last = config.signoff.max_submissions - 1
        while True:
            yield from signoff.submit(person, draws, submission)
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
            planner = yield from _work(
                runtime, person, lead_pool, "rework",
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
        # 10. Reviews from sign-off on (a process of their own).
        _start_reviews(runtime, person, site, draws.review_happens, planner)
    elif entered_at == "signed_off":
        _start_reviews(runtime, person, site, draws.review_happens, planner)

    if "budget_agreed" in ahead:
        # 8. Budget setting.
        if not draws.wants_budget:
            person.end("plan_in_place", "no_budget", env.now)
            return
        if draws.budget_declined:
            person.end("plan_in_place", "budget_declined", env.now)
            return
        planner = yield from _activity(runtime, person, site, "budget_setting", draws, planner)
        person.budget_agreed_day = env.now
    # 9. Budget release: the budget pot, payment set-up and processing.
    person.budget_type = draws.budget_type
    person.budget_amount_gbp = draws.budget_amount_gbp
    if site.envelope is not None:
        held_from = env.now
        yield from site.envelope.money_for(draws.budget_amount_gbp)
        person.budget_held_days = env.now - held_from
    payment_efforts = draws.efforts["payment_setup"]
    yield from _efforts(runtime, person, site, "payment_setup", payment_efforts, planner)
    yield env.timeout(draws.payment_processing_days)
    if not draws.payment_operational:
        person.end("plan_in_place", "payment_not_operational", env.now)
        return
    person.budget_released_day = env.now
    person.end("budget_in_place", "budget_released", env.now)


# ----------------------------------------------------------------- allocation and reviews
def _allocate_and_first_conversation(
    runtime: Runtime, person: PersonRecord, site: SiteRuntime, draws: PersonDraws
) -> Generator[simpy.Event, Any, StaffMember | None]:
    """Queue for a lead practitioner (or give up), then hold the first conversation.

    Returns the lead practitioner, or ``None`` if the person withdrew while waiting.
    """
    env, log = runtime.env, runtime.log
    pathway = site.config.pathway
    lead_role = pathway.lead_role
    lead_pool = site.pools[lead_role]
    wait = log.open_wait(person, role=lead_role, activity="allocation", day=env.now)
    allocation = lead_pool.request(new_case=True)
    if not allocation.triggered and math.isfinite(draws.withdraws_after_waiting_days):
        # Only someone who has to wait can give up (no timer for those served at once).
        yield allocation | runtime.diary.event_at(env.now + draws.withdraws_after_waiting_days)
    else:
        yield allocation
    if not allocation.triggered:
        lead_pool.cancel(allocation)
        log.close_wait(wait, env.now, served=False)
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
        log.close_wait(wait, served)
        log.log_task(
            person.row, lead_role, planner.name, "referral_chase", served, ready, chase_hours
        )
    start, finish = lead_pool.book(planner, ready, session_hours)
    if chase_hours == 0:
        log.close_wait(wait, start)
    # Written when booked; the frames leave out what starts after the horizon.
    person.first_conversation_day = start
    log.log_task(person.row, lead_role, planner.name, "conversation", start, finish, session_hours)
    yield env.timeout(finish - env.now)
    person.sessions_held = 1
    lead_pool.release(planner)
    return planner


def _start_reviews(
    runtime: Runtime,
    person: PersonRecord,
    site: SiteRuntime,
    review_happens: list[bool],
    planner: StaffMember | None,
) -> None:
    """Reviews from now on (no process at all when none of them happens)."""
    if True in review_happens:
        runtime.env.process(_reviews(runtime, person, site, review_happens, planner))


def _reviews(
    runtime: Runtime,
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
    signed_off = runtime.env.now
    horizon = runtime.horizon_days
    for k, happens in enumerate(review_happens, start=1):
        if not happens:
            continue
        due = signed_off + k * cohort.review_interval_days
        if due >= horizon:
            return  # no timeouts for reviews the run will not reach
        yield runtime.diary.event_at(due)  # held out of SimPy's queue until its day
        # Budget holders' reviews take longer (P51); a budget still being set counts not.
        holder = not math.isnan(person.budget_released_day)
        hours = cohort.review_hours_budget_holder if holder else cohort.review_hours_no_budget
        if hours > 0:
            planner = yield from _work(
                runtime, person, lead_pool, "review", hours, member=planner, kind="review"
            )
            person.lead_practitioner = planner.name
        person.reviews_held += 1


# ----------------------------------------------------------------- staff work
def _work(
    runtime: Runtime,
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
    env, log, role = runtime.env, runtime.log, pool.role_label
    wait = log.open_wait_of(person.row, role, activity, env.now)
    request = pool.request(member=member, new_case=new_case, kind=kind)
    yield request
    worker = request.granted
    start, finish = pool.book(worker, env.now, hours)
    # Written when booked; the frames leave out what starts after the horizon.
    log.close_wait(wait, start)
    log.log_task(person.row, role, worker.name, activity, start, finish, hours)
    yield env.timeout(finish - env.now)
    pool.release(worker)
    return worker


def _efforts(
    runtime: Runtime,
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
    env = runtime.env
    if delay > 0:
        yield env.timeout(delay)
    lead_role = site.config.pathway.lead_role
    if len(efforts) == 1:
        # One role: do the work in this process (no sub-process and AllOf to schedule).
        role, hours = efforts[0]
        member = lead if role == lead_role else None
        worker = yield from _work(runtime, person, site.pools[role], activity, hours, member=member)
        return worker if role == lead_role and lead is not None else lead
    tasks = {
        role: env.process(
            _work(
                runtime,
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
        yield env.all_of(list(tasks.values()))
    if lead is not None and lead_role in tasks:
        done = tasks[lead_role].value
        if isinstance(done, StaffMember):
            return done
    return lead


def _activity(
    runtime: Runtime,
    person: PersonRecord,
    site: SiteRuntime,
    name: str,
    draws: PersonDraws,
    lead: StaffMember | None = None,
) -> Generator[simpy.Event, Any, StaffMember | None]:
    """A pathway step: its delay, then its staff effort (this person's draws).

    Not a generator itself: it hands back :func:`_efforts`'s, one level less to resume.
    """
    return _efforts(
        runtime, person, site, name, draws.efforts[name], lead, delay=draws.delay_days[name]
    )
