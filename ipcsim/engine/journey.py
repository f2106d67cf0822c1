"""The journey of one referred person through the IPC pathway, top to bottom.

:func:`journey` is the care pathway as one SimPy process, its steps numbered in the order
a person meets them; after it come the allocation to a lead practitioner with the first
conversation, the plan in place (reviews, renewals, its end) and budget renewals, and the
staff work every step is made of.
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
from ipcsim.units import DAYS_PER_MONTH, MINUTES_PER_HOUR

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
       a gap. From the first conversation on, the person may disengage (a monthly hazard,
       the P53 family): it is noticed after each gap, each sign-off decision and budget
       setting, and the person leaves on the day they disengaged; staff work already booked
       by then counts.
    5. Plan writing.
    6. Circulation of the plan to other services.
    7. Sign-off (panel sitting, individual or sequential: :mod:`ipcsim.engine.signoff`),
       with rework: a returned plan gets another conversation and is resubmitted; a plan
       may be declined.
    8. Budget setting, for those who want a budget and are not declined one.
    9. Budget release: waiting for money in the site's budget pot
       (:mod:`ipcsim.engine.budget_pot`), payment set-up, processing.
    10. The plan in place. Its implementation (its own process, :func:`_implementation`):
        the lead practitioner may follow it up (P48), and the chosen service may be
        unavailable, so the person waits and re-plans (P52). Reviews under the site's policy
        and re-planning conversations
        that renew the plan at the end of each of its lives, with the same practitioner
        (their own process, :func:`_plan_in_place`), until the plan is not renewed or the
        person leaves the caseload (death, moving away, no longer eligible).
    11. Budget renewals: a recurring budget is renewed at the end of each period, with
        finance effort and a fresh draw on the pot, while the plan is in place.

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
    # The day the person would disengage: counted from the first conversation, or from now
    # for someone already past planning at the start date.
    leaves_day = math.inf if "plan_written" in ahead else env.now + draws.disengages_after_days

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
        leaves_day = env.now + draws.disengages_after_days
        # 4. Later conversations with the same practitioner.
        for gap, hours in zip(draws.gap_days, draws.session_hours[1:], strict=True):
            yield env.timeout(gap)
            if leaves_day <= env.now:
                _disengage_planning(person, lead_pool, planner, leaves_day)
                return
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
            if leaves_day <= env.now:  # while the plan was written, circulated or reworked
                _disengage_planning(person, lead_pool, planner, leaves_day)
                return
            if submission == 0:
                person.submitted_day = env.now
            yield from signoff.submit(person, draws, submission)
            if leaves_day <= env.now:  # while the plan waited for its decision
                _disengage_planning(person, lead_pool, planner, leaves_day)
                return
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
        # 10. The plan in place: its reviews and renewals (a process of their own), its end.
        plan_end_day = _start_plan_in_place(runtime, person, site, draws, planner)
    else:
        # Someone already past sign-off at the start date has a plan in place from then.
        plan_end_day = _start_plan_in_place(runtime, person, site, draws, planner)

    if "budget_agreed" in ahead:
        # 8. Budget setting.
        if not draws.wants_budget:
            person.end("plan_in_place", "no_budget", env.now)
            _start_implementation(runtime, person, site, draws, planner)
            return
        planner = yield from _activity(runtime, person, site, "budget_setting", draws, planner)
        if leaves_day <= env.now:
            # The plan stays in place; the person gave up on the budget.
            person.end("plan_in_place", "disengaged_before_budget", leaves_day)
            _start_implementation(runtime, person, site, draws, planner)
            return
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
        _start_implementation(runtime, person, site, draws, planner)
        return
    person.budget_released_day = env.now
    person.end("budget_in_place", "budget_released", env.now)
    _start_implementation(runtime, person, site, draws, planner)
    # 11. Budget renewals at the end of each budget period while the plan is in place.
    if config.cohorts[person.cohort].budget_renewal == "recurring":
        yield from _budget_renewals(runtime, person, site, draws, planner, plan_end_day)


def _disengage_planning(
    person: PersonRecord, lead_pool: StaffPool, planner: StaffMember | None, day: float
) -> None:
    """The person disengaged on ``day``, before their plan was signed off."""
    if planner is not None:
        lead_pool.close_case(planner)
    person.end("withdrawn", "disengaged_during_planning", day)


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
        yield allocation | site.diary.event_at(env.now + draws.withdraws_after_waiting_days)
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


def _start_plan_in_place(
    runtime: Runtime,
    person: PersonRecord,
    site: SiteRuntime,
    draws: PersonDraws,
    planner: StaffMember | None,
) -> float:
    """A plan is in place from now: when it will end, and its reviews and renewals.

    The plan's lives (how often it is renewed) and the day the person would leave the
    caseload were drawn at referral, so the end is known now: the end of its last life or
    the day the person leaves, whichever comes first. It is written now (the frames leave
    out an end after the horizon). A process for the reviews and re-planning conversations
    starts only if one of them falls due before the plan ends and before the horizon.

    Returns the day the plan ends (infinity for an ongoing plan of someone who never leaves).
    """
    env = runtime.env
    cohort = site.config.cohorts[person.cohort]
    start = env.now
    duration = _plan_life_days(cohort.plan_duration_months)
    lives_end = start + draws.plan_lives * duration
    leave_day = start + draws.exit_after_days
    if leave_day < lives_end:
        end = leave_day
        person.end_plan("left_caseload", end)
    else:
        end = lives_end
        if math.isfinite(end):
            person.end_plan("plan_ended", end)
    first_review = next(iter(site.reviews.due(start, start + duration)), math.inf)
    first_renewal = start + duration if draws.plan_lives > 1 else math.inf
    if min(first_review, first_renewal) < min(end, runtime.horizon_days):
        env.process(_plan_in_place(runtime, person, site, planner, duration, end))
    return end


def _start_implementation(
    runtime: Runtime,
    person: PersonRecord,
    site: SiteRuntime,
    draws: PersonDraws,
    planner: StaffMember | None,
) -> None:
    """Put the plan into action, in a process of its own if there is work to do (P48, P52)."""
    pathway = site.config.pathway
    follow_up = draws.follows_up and pathway.implementation_follow_up_hours > 0
    if (follow_up or draws.service_unavailable) and runtime.env.now < runtime.horizon_days:
        runtime.env.process(_implementation(runtime, person, site, draws, planner, follow_up))


def _implementation(
    runtime: Runtime,
    person: PersonRecord,
    site: SiteRuntime,
    draws: PersonDraws,
    planner: StaffMember | None,
    follow_up: bool,
) -> Process:
    """The plan put into action, once its budget is settled (or there is none).

    1. The lead practitioner follows the implementation up (P48), at once.
    2. If the service the person chose is unavailable (oversubscribed, a closed list: P52),
       they wait for it, then re-plan around it with the lead practitioner.
    """
    pathway = site.config.pathway
    lead_pool = site.pools[pathway.lead_role]
    if follow_up:
        planner = yield from _work(
            runtime, person, lead_pool, "implementation_follow_up",
            pathway.implementation_follow_up_hours, member=planner, kind="review",
        )  # fmt: skip
    if draws.service_unavailable:
        yield site.diary.event_at(runtime.env.now + draws.service_wait_days)
        if pathway.service_replan_hours > 0:
            yield from _work(
                runtime, person, lead_pool, "service_replanning",
                pathway.service_replan_hours, member=planner, kind="review",
            )  # fmt: skip


def _plan_life_days(plan_duration_months: float | str) -> float:
    """Days of one life of a plan (infinity for an ``"ongoing"`` plan)."""
    if isinstance(plan_duration_months, str):
        return math.inf
    return plan_duration_months * DAYS_PER_MONTH


def _plan_in_place(
    runtime: Runtime,
    person: PersonRecord,
    site: SiteRuntime,
    planner: StaffMember | None,
    life_days: float,
    end_day: float,
) -> Process:
    """Reviews and renewals of a plan in place, from now until ``end_day`` or the horizon.

    1. In each life of the plan, the reviews the site's policy makes due
       (:mod:`ipcsim.engine.reviews`), with the same practitioner (P49-P51).
    2. At the end of each life but the last, the re-planning conversation that renews the
       plan; the next life starts at the old one's end, whenever the conversation is held.

    Only the person's record is kept (not all of their draws): a plan in place waits for
    years, and most people of a long run are waiting for a review or a renewal.
    """
    cohort = site.config.cohorts[person.cohort]
    lead_pool = site.pools[site.config.pathway.lead_role]
    stop = min(end_day, runtime.horizon_days)
    life_start = runtime.env.now
    while True:
        life_end = life_start + life_days
        for due in site.reviews.due(life_start, life_end):
            if due >= stop:
                return  # no timeouts for reviews the plan or the run will not reach
            yield site.diary.event_at(due)  # held out of SimPy's queue until its day
            # Budget holders' reviews take longer (P51); a budget still being set counts not.
            holder = not math.isnan(person.budget_released_day)
            hours = cohort.review_hours_budget_holder if holder else cohort.review_hours_no_budget
            if hours > 0:
                planner = yield from _work(
                    runtime, person, lead_pool, "review", hours, member=planner, kind="review"
                )
                person.lead_practitioner = planner.name
            person.reviews_held += 1
        if life_end >= stop:
            return
        yield site.diary.event_at(life_end)
        holder = not math.isnan(person.budget_released_day)
        hours = cohort.replan_hours_budget_holder if holder else cohort.replan_hours_no_budget
        if hours > 0:
            planner = yield from _work(
                runtime, person, lead_pool, "replanning", hours, member=planner, kind="review"
            )
            person.lead_practitioner = planner.name
        person.plan_renewals += 1
        life_start = life_end


def _budget_renewals(
    runtime: Runtime,
    person: PersonRecord,
    site: SiteRuntime,
    draws: PersonDraws,
    planner: StaffMember | None,
    plan_end_day: float,
) -> Process:
    """Renew a released budget at the end of each budget period while the plan is in place.

    Each renewal (P47): the renewal effort (``pathway.budget_renewal``, the finance
    officer's by default), then a fresh draw of the person's budget on the site's pot
    (waiting for it as a new budget would), then the money of the new period is recorded.
    Periods run back to back from the day the budget was released.
    """
    env = runtime.env
    cohort = site.config.cohorts[person.cohort]
    period_days = cohort.budget_period_months * DAYS_PER_MONTH
    stop = min(plan_end_day, runtime.horizon_days)
    due = env.now + period_days
    while due < stop:
        yield site.diary.event_at(due)
        planner = yield from _activity(runtime, person, site, "budget_renewal", draws, planner)
        if site.envelope is not None:
            yield from site.envelope.money_for(draws.budget_amount_gbp)
        runtime.log.log_budget_renewal(person, env.now, draws.budget_amount_gbp)
        due += period_days


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
