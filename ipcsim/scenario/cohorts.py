"""Cohorts: who is referred, how often, and what their planning and budgets look like."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    model_validator,
)

from ipcsim.scenario._base import Probability, _Model
from ipcsim.scenario.bounds import (
    LONGEST_DAYS,
    MAX_GROWTH_MULTIPLIER,
    MAX_PEOPLE,
    MAX_PEOPLE_PER_BATCH,
    MAX_PERIOD_MONTHS,
    MAX_REFERRALS_PER_MONTH,
    MAX_TASK_HOURS,
    MIN_PERIOD_MONTHS,
    Date,
    DaysDistribution,
    MinutesDistribution,
    PoundsDistribution,
    SessionsDistribution,
)
from ipcsim.scenario.budgets import BudgetSplit
from ipcsim.scenario.distributions import (
    Discrete,
    Fixed,
    Triangular,
    Uniform,
)

__all__ = [
    "Batch",
    "Cohort",
    "Delivery",
    "GrowthPoint",
    "RatePoint",
]


class RatePoint(_Model):
    """A referral rate in force from a date."""

    date: Date = Field(description="date from which the rate applies, 1990-01-01 to 2200-12-31")
    referrals_per_month: float = Field(
        ge=0,
        le=MAX_REFERRALS_PER_MONTH,
        description="mean referrals per month from the date, 0 to 1,000,000",
    )


class Batch(_Model):
    """People found at once in a linked dataset, then referred over a few days."""

    date: Date = Field(description="date of the batch identification, 1990-01-01 to 2200-12-31")
    people: int = Field(
        ge=0,
        le=MAX_PEOPLE_PER_BATCH,
        description="people identified, 0 to 1,000,000 (capped by those still eligible)",
    )
    spread_days: float = Field(
        default=30.0,
        gt=0,
        le=LONGEST_DAYS,
        description="days over which their referrals are spread, up to 36,525 (assumption)",
    )


class Cohort(_Model):
    """One IPC user group: its demand, planning needs, budgets, withdrawals and plans' lives."""

    label: str = Field(default="", description="display name of the cohort")
    referrals_per_month: float = Field(
        default=2.0,
        ge=0,
        le=MAX_REFERRALS_PER_MONTH,
        description="mean referrals per month, Poisson arrivals, 0 to 1,000,000 (P08: pilot-mode "
        "site rate)",
    )
    offer_acceptance: Probability = Field(
        default=0.8, description="probability a referred person accepts the IPC offer (P12)"
    )
    sessions: SessionsDistribution = Field(
        default=Discrete(values=(1, 2, 3), probs=(0.2, 0.45, 0.35)),
        description="number of planning conversations, sessions, 1 to 100: a distribution with "
        "a highest value (fixed, uniform, triangular or discrete) (P16)",
    )
    first_session_minutes: MinutesDistribution = Field(
        default=Fixed(value=60.0),
        description="length of the first conversation, minutes, 0 to 1,440 (P19)",
    )
    later_session_minutes: MinutesDistribution = Field(
        default=Uniform(low=45.0, high=60.0),
        description="length of each later conversation, minutes, 0 to 1,440 (P20: 45-60, "
        "mean 52.5)",
    )
    session_gap_days: DaysDistribution = Field(
        default=Uniform(low=2.0, high=7.0),
        description="earliest gap from one conversation to the next, days, 0 to 36,525 (P21)",
    )
    withdrawal_probability_before_first_session: Probability = Field(
        default=0.05,
        description="probability of withdrawing after consent, before any wait (P53 base)",
    )
    withdrawal_hazard_per_month_waiting: Probability = Field(
        default=0.02,
        description="monthly probability of withdrawing while waiting for a first conversation "
        "(P53; x2 for frail or dementia cohorts, P54)",
    )
    disengagement_hazard_per_month: Probability = Field(
        default=0.02,
        description="monthly probability of disengaging once planning has started: between "
        "conversations, while the plan waits for sign-off and while the budget is set "
        "(assumption in the P53 family: its 0.02 a month of waiting; x2 for frail or dementia "
        "cohorts, P54)",
    )
    budget_probability: Probability = Field(
        default=0.68,
        description="P(a budget is agreed | signed-off plan), before payment set-up can fail "
        "(budget_release.<type>.release_probability, P46) (Der: P36's 0.61 budgets held at "
        "follow-up, Table 6-3, over P46's 0.9 payments operational; by cohort P37 / P(payment "
        "operational) over the cohort's budget types, as configs/demonstrator_site.toml)",
    )
    budget_type_split: BudgetSplit = Field(
        default_factory=BudgetSplit, description="budget types where a DP is offered (P39)"
    )
    budget_amount_gbp: PoundsDistribution = Field(
        default=Triangular(low=200.0, mode=750.0, high=1000.0),
        description="budget per person per budget period (a year by default), pounds, 0 to "
        "1,000,000 (P41: 750, range 200-1,000; shape assumption)",
    )
    review_hours_budget_holder: float = Field(
        default=5.0,
        ge=0,
        le=MAX_TASK_HOURS,
        description="lead-practitioner hours per review, budget holders, 0 to 1,000 (P51)",
    )
    review_hours_no_budget: float = Field(
        default=1.0,
        ge=0,
        le=MAX_TASK_HOURS,
        description="lead-practitioner hours per review, no budget, 0 to 1,000 (P51)",
    )
    plan_duration_months: (
        Annotated[float, Field(ge=MIN_PERIOD_MONTHS, le=MAX_PERIOD_MONTHS)] | Literal["ongoing"]
    ) = Field(
        default=12.0,
        description="life of a signed-off plan, months, 1 to 1,200, or 'ongoing' (never ends; "
        "P47: 6-12 months, ongoing for CHC); at its end the plan is renewed or ends",
    )
    plan_renewal_probability: Probability = Field(
        default=0.5,
        description="probability a plan is renewed at the end of its life, with a re-planning "
        "conversation (assumption: P47 budgets 'one-off' for most, 001:L2988; re-application "
        "for some)",
    )
    replan_hours_budget_holder: float = Field(
        default=5.0,
        ge=0,
        le=MAX_TASK_HOURS,
        description="lead-practitioner hours of the re-planning conversation that renews a "
        "plan, budget holders, 0 to 1,000 (P51: a budget holder's review)",
    )
    replan_hours_no_budget: float = Field(
        default=1.0,
        ge=0,
        le=MAX_TASK_HOURS,
        description="lead-practitioner hours of the re-planning conversation that renews a "
        "plan, no budget, 0 to 1,000 (P51)",
    )
    exit_hazard_per_year: Probability = Field(
        default=0.05,
        description="annual probability that someone with a plan in place leaves the caseload "
        "(death, moving away, no longer eligible), from sign-off on (assumption: no rate in the "
        "sources, §1.10; set it higher for a frail cohort, P54, P79: 13 % aged 85+)",
    )
    budget_renewal: Literal["recurring", "one_off"] = Field(
        default="recurring",
        description="whether a released budget is renewed at the end of each budget period "
        "while the plan is in place ('recurring', P47: 'funding only for a limited period of "
        "one year') or paid once ('one_off', 001:L2988)",
    )
    budget_period_months: float = Field(
        default=12.0,
        ge=MIN_PERIOD_MONTHS,
        le=MAX_PERIOD_MONTHS,
        description="months a budget lasts before it is renewed, 1 to 1,200 (P47); "
        "budget_amount_gbp is paid once per period",
    )

    referral_schedule: tuple[RatePoint, ...] = Field(
        default=(),
        description="dated referral rates, from each date as referral_interpolation says "
        "(replaces referrals_per_month from the first date on; before it, "
        "referrals_per_month applies)",
    )
    referral_interpolation: Literal["step", "linear"] = Field(
        default="step",
        description="how the rate runs between referral_schedule points: 'step' (each "
        "point's rate until the next) or 'linear' (a straight ramp from each point to the "
        "next, as '40 a month rising to 120 over two years' says; assumption)",
    )
    eligible_population: int | None = Field(
        default=None,
        ge=0,
        le=MAX_PEOPLE,
        description="people eligible for IPC at the site, 0 to 100,000,000, depleted by "
        "referrals; unlimited if unset (P06: Table A-1 projected cohort)",
    )
    identification: Literal["practitioner", "annual_review", "batch", "mass_invitation"] = Field(
        default="practitioner",
        description="how people are found: 'practitioner' referrals at the given rate (P08), "
        "'annual_review' (each eligible person raised at their yearly review with probability "
        "engagement_factor, P09-P10; needs eligible_population), 'batch' identification from a "
        "linked dataset on the dates in `batches`, 'mass_invitation' (invitations at the given "
        "rate; set offer_acceptance low, P13: 0.07)",
    )
    engagement_factor: Probability = Field(
        default=0.1,
        description="share of eligible people at annual review whom practitioners refer (P10)",
    )
    batches: tuple[Batch, ...] = Field(
        default=(), description="batch identifications from a linked dataset (mode 'batch')"
    )

    def referral_rate_text(self) -> str:
        """The referral rate in words: ``6 referrals/month``, or a schedule's first and last."""
        if not self.referral_schedule:
            return f"{self.referrals_per_month:g} referrals/month"
        first = self.referral_schedule[0].referrals_per_month
        last = self.referral_schedule[-1].referrals_per_month
        if len(self.referral_schedule) == 1:
            return f"{first:g} referrals/month from {self.referral_schedule[0].date}"
        shape = "linear ramp" if self.referral_interpolation == "linear" else "schedule"
        return f"{first:g} → {last:g} referrals/month ({shape})"

    @model_validator(mode="after")
    def _identification_inputs(self) -> Cohort:
        if self.identification == "annual_review" and self.eligible_population is None:
            raise ValueError("identification 'annual_review' needs eligible_population")
        if self.identification == "batch" and not self.batches:
            raise ValueError("identification 'batch' needs at least one entry in batches")
        dates = [point.date for point in self.referral_schedule]
        if dates != sorted(dates):
            raise ValueError("referral_schedule dates must be in increasing order")
        return self


class GrowthPoint(_Model):
    """A multiplier of every cohort's referral rate, from some months into delivery."""

    months_after_delivery: float = Field(
        ge=0,
        le=1200,
        description="months after the site's design phase ends, 0 to 1,200",
    )
    multiplier: float = Field(
        ge=0,
        le=MAX_GROWTH_MULTIPLIER,
        description="multiplier of the cohorts' referral rates from then, 0 to 10,000",
    )


class Delivery(_Model):
    """How a site's delivery grows or stalls: one multiplier path for all its referrals.

    It multiplies the rate of every cohort referred by a practitioner or invited
    (``practitioner`` and ``mass_invitation`` identification) and is measured from the end
    of the site's design phase, so one path serves sites that joined on different dates
    (P07: flat, ramping and stalled sites).
    """

    growth: tuple[GrowthPoint, ...] = Field(
        default=(),
        description="multipliers by months after delivery starts, in increasing order of "
        "months; 1 before the first point; none = every cohort's own rate (P07)",
    )
    interpolation: Literal["step", "linear"] = Field(
        default="linear",
        description="'linear' ramps from each point to the next; 'step' holds each point's "
        "multiplier until the next (assumption)",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Delivery:
        months = [point.months_after_delivery for point in self.growth]
        if months != sorted(months):
            raise ValueError("growth: months_after_delivery must be in increasing order")
        return self

    def growth_text(self) -> str:
        """The growth path in words, e.g. ``x1 at 0 → x3 at 24 months into delivery (linear)``.

        Empty when there is no path (every cohort keeps its own rate).
        """
        if not self.growth:
            return ""
        points = " → ".join(
            f"x{p.multiplier:g} at {p.months_after_delivery:g}" for p in self.growth
        )
        shape = "linear ramp" if self.interpolation == "linear" else "steps"
        return f"referral rates {points} months into delivery ({shape}; x1 before)"

    @property
    def highest(self) -> float:
        """The highest multiplier the path reaches (1 with no path)."""
        return max([1.0, *(point.multiplier for point in self.growth)])

    def multiplier(self, months: float) -> float:
        """The multiplier ``months`` after delivery starts."""
        value = 1.0
        points = self.growth
        for i, point in enumerate(points):
            if point.months_after_delivery > months:
                break
            value = point.multiplier
            if self.interpolation == "linear" and i + 1 < len(points):
                following = points[i + 1]
                if months < following.months_after_delivery:
                    span = following.months_after_delivery - point.months_after_delivery
                    share = (months - point.months_after_delivery) / span
                    value += share * (following.multiplier - value)
        return value
