"""Every random quantity of a referred person, drawn when they are referred.

Each quantity has its own named stream, ``<quantity>.<site>.<cohort>``
(``backlog-<quantity>...`` for people already in the pathway at the start). The k-th person
of a cohort gets the k-th draw of each quantity, whatever other sites, cohorts or quantities a
scenario has and whatever the queues do: common random numbers at the level of the person.

A :class:`CohortDraws` binds the streams of one cohort at one site once, so drawing a person
is a run of ``next()`` calls. A quantity that cannot vary (a fixed distribution, a constant
effort, a probability of 0 or 1) uses no stream at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice, repeat
from typing import Any

import numpy as np

from ipcsim.engine.rng import Streams, block_draws, exponential_block, uniform_block
from ipcsim.pathway import BUDGET_TYPES
from ipcsim.scenario import Effort, IndividualSignoff, SiteConfig
from ipcsim.scenario.distributions import Distribution, Fixed
from ipcsim.units import DAYS_PER_MONTH, DAYS_PER_YEAR, MINUTES_PER_HOUR

Efforts = tuple[tuple[str, float], ...]
"""Staff hours of one activity: ``(role, hours)`` for each role with hours > 0, by role."""


@dataclass(slots=True)
class PersonDraws:
    """Every random quantity of one person."""

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
    rework_u: list[float]
    rework_session_hours: list[float]
    wants_budget: bool
    budget_type: str
    budget_amount_gbp: float
    """The agreed amount per budget period: the requested amount less P35's declined share."""
    payment_processing_days: float
    payment_operational: bool
    plan_lives: float
    exit_after_days: float
    disengages_after_days: float
    """Days from the start of planning until the person would disengage (P53 family)."""
    follows_up: bool
    service_unavailable: bool
    service_wait_days: float
    efforts: dict[str, Efforts]


def _taker(draws: Iterator[Any], n: int) -> Callable[[], list[Any]]:
    """``n`` draws at a time; one shared list when the quantity cannot vary."""
    if isinstance(draws, repeat):
        constant = [next(draws)] * n
        return lambda: constant
    return lambda: list(islice(draws, n))


def _pick(u: float, shares: tuple[float, ...]) -> int:
    """Index of the share a uniform ``u`` falls in (what ``Generator.choice(p=...)`` does)."""
    total = sum(shares)
    cumulative = 0.0
    for index, share in enumerate(shares):
        cumulative += share
        if u * total < cumulative:
            return index
    return len(shares) - 1


class CohortDraws:
    """Draws people of one cohort at one site, each quantity from its own stream.

    Parameters
    ----------
    streams
        The run's named streams.
    config
        The site's settings.
    cohort_name
        The cohort.
    prefix
        ``"backlog-"`` for people already in the pathway at the start.
    """

    def __init__(
        self,
        streams: Streams,
        config: SiteConfig,
        cohort_name: str,
        prefix: str = "",
    ) -> None:
        self._streams = streams
        self._suffix = f".{config.site.name}.{cohort_name}"
        self._prefix = prefix
        cohort = config.cohorts[cohort_name]
        pathway = config.pathway
        signoff = config.signoff
        self.config = config
        draw, chance = self._draw, self._chance

        self.sessions = draw("sessions", cohort.sessions)
        self.first_minutes = draw("first_session_minutes", cohort.first_session_minutes)
        self.later_minutes = draw("later_session_minutes", cohort.later_session_minutes)
        self.gaps = draw("session_gaps", cohort.session_gap_days)
        self.withdraws_at_consent = chance(
            "withdrawal_at_consent", cohort.withdrawal_probability_before_first_session
        )
        self.withdraw_after = self._waiting_time(
            "withdrawal_time", cohort.withdrawal_hazard_per_month_waiting, DAYS_PER_MONTH
        )
        self.incomplete_referral = chance(
            "incomplete_referral", pathway.incomplete_referral_probability
        )
        self.accepts_offer = chance("offer_acceptance", cohort.offer_acceptance)
        self.admin_lag = draw("admin_lag", pathway.consent_to_first_appointment_days)
        self.contacts = draw("contacts", pathway.circulation.contacts)
        self.circulation_delay = draw("circulation_delay", pathway.circulation.delay_days)

        self.submissions = signoff.max_submissions
        steps: tuple[IndividualSignoff, ...] = ()
        if signoff.mode == "individual":
            steps = (signoff.individual,)
        elif signoff.mode == "sequential":
            steps = signoff.sequential.steps
        self.step_delays = [
            draw(f"signoff_delay_{k}", step.delay_days) for k, step in enumerate(steps)
        ]
        n = self.submissions
        self.plan_declined = _taker(chance("plan_decline", signoff.plan_decline_probability), n)
        self.rework = _taker(self._stream("rework", uniform_block), n)
        self.rework_hours = _taker(
            map(_hours, draw("rework_minutes", signoff.rework_session_minutes)), n
        )
        if not self.step_delays:
            no_delays: list[list[float]] = [[] for _ in range(n)]
            self.signoff_delays: Callable[[], list[list[float]]] = lambda: no_delays
        else:
            steps_ = self.step_delays
            self.signoff_delays = lambda: [[next(step) for step in steps_] for _ in range(n)]

        self.wants_budget = chance("wants_budget", cohort.budget_probability)
        # P35: the panel declines a share of the requested items, so of the money.
        self.agreed_share = 1.0 - signoff.budget_declined_share
        self.type_shares = cohort.budget_type_split.as_tuple()
        self.budget_type = self._stream("budget_type", uniform_block)
        self.budget_amount = draw("budget_amount", cohort.budget_amount_gbp)
        self.release: dict[str, tuple[Iterator[float], float, Callable[[], Efforts]]] = {}
        for budget_type in BUDGET_TYPES:
            release = config.budget_release.for_type(budget_type)
            self.release[budget_type] = (
                draw(f"payment_processing_{budget_type}", release.processing_delay_days),
                release.release_probability,
                self._efforts(f"payment_setup_{budget_type}", release.effort_hours),
            )
        # One uniform draw decides whether payment works, against the type's probability;
        # none is needed when every type's probability is 0 or every one is 1.
        probabilities = {p for _, p, _ in self.release.values()}
        if probabilities <= {0.0} or probabilities <= {1.0}:
            self.payment_operational: Iterator[float] = repeat(0.0)
        else:
            self.payment_operational = self._stream("payment_operational", uniform_block)

        activities = {
            "referral": pathway.referral,
            "invitation": pathway.invitation,
            "plan_writing": pathway.plan_writing,
            "budget_setting": pathway.budget_setting,
            "budget_renewal": pathway.budget_renewal,
        }
        self.activity_efforts = [
            (name, self._efforts(name, activity.effort_hours))
            for name, activity in activities.items()
        ]
        self.activity_delays = [
            (name, draw(f"delay_{name}", activity.delay_days))
            for name, activity in activities.items()
        ]
        self.plan_lives = self._lives(cohort.plan_renewal_probability)
        self.exit_after = self._waiting_time(
            "caseload_exit", cohort.exit_hazard_per_year, DAYS_PER_YEAR
        )
        self.disengages_after = self._waiting_time(
            "disengagement", cohort.disengagement_hazard_per_month, DAYS_PER_MONTH
        )
        self.follows_up = chance(
            "implementation_follow_up", pathway.implementation_follow_up_probability
        )
        self.service_unavailable = chance(
            "service_unavailable", pathway.service_unavailable_probability
        )
        self.service_wait = draw("service_wait", pathway.service_unavailable_wait_days)

    # ----------------------------------------------------------------- binding
    def _stream(
        self, quantity: str, block: Callable[[np.random.Generator, int], np.ndarray]
    ) -> Iterator[float]:
        name = f"{self._prefix}{quantity}{self._suffix}"
        return block_draws(self._streams[name], block)

    def _draw(self, quantity: str, dist: Distribution) -> Iterator[float]:
        """Draws of ``dist``; a fixed value uses no stream."""
        if isinstance(dist, Fixed):
            return repeat(float(dist.value))
        return self._stream(quantity, dist.sample_block)

    def _waiting_time(self, quantity: str, probability: float, per_days: float) -> Iterator[float]:
        """Days until an event with ``probability`` of happening in each ``per_days``.

        A constant hazard: exponential with rate ``-ln(1 - probability) / per_days``;
        never (infinity) for a probability of 0, at once for 1, no stream for either.
        """
        if probability <= 0:
            return repeat(math.inf)
        if probability >= 1:
            return repeat(0.0)
        scale = per_days / -math.log1p(-probability)
        return map(scale.__mul__, self._stream(quantity, exponential_block))

    def _lives(self, renewal_probability: float) -> Iterator[float]:
        """Lives of a plan renewed at each end with ``renewal_probability`` (geometric, >= 1).

        ``P(lives > k) = p ** k``: ``1 + floor(ln u / ln p)`` for a uniform ``u``; always 1
        for p = 0, endless (infinity) for p = 1, no stream for either.
        """
        p = renewal_probability
        if p <= 0.0:
            return repeat(1.0)
        if p >= 1.0:
            return repeat(math.inf)
        log_p = math.log(p)

        def lives(u: float) -> float:
            return math.inf if u <= 0.0 else 1.0 + math.floor(math.log(u) / log_p)

        return map(lives, self._stream("plan_renewal", uniform_block))

    def _chance(self, quantity: str, probability: float) -> Iterator[bool]:
        """``True`` with ``probability``: a uniform draw below it (no draw for 0 or 1)."""
        if probability <= 0.0:
            return repeat(False)
        if probability >= 1.0:
            return repeat(True)
        return map(probability.__gt__, self._stream(quantity, uniform_block))

    def _efforts(self, activity: str, table: Mapping[str, Effort]) -> Callable[[], Efforts]:
        """The activity's staff hours per person: one shared tuple when all are constants."""
        items: list[tuple[str, Iterator[float], bool]] = []
        for role, value in sorted(table.items()):
            if isinstance(value, Fixed):
                value = float(value.value)
            if isinstance(value, float | int):
                items.append((role, repeat(float(value)), True))
            else:
                items.append((role, self._draw(f"effort_{activity}_{role}", value), False))
        if all(constant for _, _, constant in items):
            fixed = tuple((role, next(hours)) for role, hours, _ in items if next(hours) > 0)
            return lambda: fixed

        def draw_efforts() -> Efforts:
            hours = [(role, next(values)) for role, values, _ in items]
            return tuple((role, h) for role, h in hours if h > 0)

        return draw_efforts

    # ----------------------------------------------------------------- drawing
    def __call__(self) -> PersonDraws:
        """Everything random about the next person of this cohort."""
        n_sessions = max(1, round(next(self.sessions)))
        session_hours = [
            next(self.first_minutes) / MINUTES_PER_HOUR,
            *map(_hours, islice(self.later_minutes, n_sessions - 1)),
        ]
        gap_days = list(islice(self.gaps, n_sessions - 1))
        withdraws_at_consent = next(self.withdraws_at_consent)
        withdraw_after = next(self.withdraw_after)
        delays = self.signoff_delays()
        plan_declined = self.plan_declined()
        rework_u = self.rework()
        rework_hours = self.rework_hours()
        wants_budget = next(self.wants_budget)
        budget_type = BUDGET_TYPES[_pick(next(self.budget_type), self.type_shares)]
        amount = next(self.budget_amount) * self.agreed_share
        processing, release_probability, payment_efforts = self.release[budget_type]
        efforts = {name: draw() for name, draw in self.activity_efforts}
        efforts["payment_setup"] = payment_efforts()
        delay_days = {name: next(delay) for name, delay in self.activity_delays}
        return PersonDraws(
            delay_days=delay_days,
            incomplete_referral=next(self.incomplete_referral),
            accepts_offer=next(self.accepts_offer),
            withdraws_at_consent=withdraws_at_consent,
            withdraws_after_waiting_days=withdraw_after,
            admin_lag_days=next(self.admin_lag),
            session_hours=session_hours,
            gap_days=gap_days,
            contacts=max(0, round(next(self.contacts))),
            circulation_delay_days=next(self.circulation_delay),
            signoff_delays_days=delays,
            plan_declined=plan_declined,
            rework_u=rework_u,
            rework_session_hours=rework_hours,
            wants_budget=wants_budget,
            budget_type=budget_type,
            budget_amount_gbp=amount,
            payment_processing_days=next(processing),
            payment_operational=next(self.payment_operational) < release_probability,
            plan_lives=next(self.plan_lives),
            exit_after_days=next(self.exit_after),
            disengages_after_days=next(self.disengages_after),
            follows_up=next(self.follows_up),
            service_unavailable=next(self.service_unavailable),
            service_wait_days=next(self.service_wait),
            efforts=efforts,
        )


def _hours(minutes: float) -> float:
    return minutes / MINUTES_PER_HOUR
