"""The validated scenario: one frozen pydantic model holds every number a run uses.

Every field says its unit; every default names its evidence ID from
``../shared/evidence/ipc-evidence.md`` (P01-P80) or says "assumption". Unknown keys are
errors, so a typo never falls back silently to a default.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ipcsim.distributions import (
    Discrete,
    Distribution,
    Exponential,
    Fixed,
    Gamma,
    LogNormal,
    Triangular,
    Uniform,
)

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Effort = NonNegative | Distribution
"""Staff hours for a task: a number, or a distribution drawn per person."""

_AnyDistribution = Fixed | Exponential | Uniform | Triangular | LogNormal | Gamma | Discrete

BUDGET_TYPES = ("direct_payment", "notional", "third_party")
BudgetType = Literal["direct_payment", "notional", "third_party"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RunConfig(_Model):
    """When the simulation starts, how long it runs and its seed."""

    start_date: dt.date = Field(
        default=dt.date(2016, 4, 1),
        description="calendar date of simulation day 0 (assumption: a financial-year start)",
    )
    horizon_days: float = Field(
        default=730.0, gt=0, description="simulated days from the start date (assumption)"
    )
    seed: int = Field(default=20150401, ge=0, description="master seed of the named RNG streams")
    calendar: Literal["working_week", "continuous"] = Field(
        default="working_week",
        description=(
            "staff working time: 'working_week' (staff work in daily windows on working days) "
            "or 'continuous' (around the clock; for theory checks) (assumption)"
        ),
    )
    working_days_per_week: int = Field(
        default=5, ge=1, le=7, description="working days per week, Monday first (assumption)"
    )
    working_day_start_hour: float = Field(
        default=9.0, ge=0, lt=24, description="hour of day the working window opens (assumption)"
    )
    working_hours_per_day: float = Field(
        default=8.0,
        gt=0,
        le=24,
        description="length of the daily working window, hours (assumption)",
    )

    @model_validator(mode="after")
    def _window_fits_day(self) -> RunConfig:
        if self.working_day_start_hour + self.working_hours_per_day > 24:
            raise ValueError(
                "working_day_start_hour + working_hours_per_day must be <= 24, got "
                f"{self.working_day_start_hour} + {self.working_hours_per_day}"
            )
        return self

    @property
    def window_hours_per_week(self) -> float:
        """Hours of working window per week (168 for the continuous calendar)."""
        if self.calendar == "continuous":
            return 168.0
        return self.working_days_per_week * self.working_hours_per_day


class Site(_Model):
    """The site (one ICS, CCG or local authority programme) the scenario describes."""

    name: str = Field(default="site", min_length=1, description="site name used in outputs")


class BudgetSplit(_Model):
    """Shares of agreed budgets by type; they must sum to 1."""

    direct_payment: Probability = Field(
        default=0.80, description="share of budgets taken as a direct payment (P39)"
    )
    notional: Probability = Field(default=0.15, description="share held as a notional budget (P39)")
    third_party: Probability = Field(
        default=0.05, description="share managed by a third party (P39)"
    )

    @model_validator(mode="after")
    def _sums_to_one(self) -> BudgetSplit:
        total = self.direct_payment + self.notional + self.third_party
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"budget type shares must sum to 1, got {total:.6g}")
        return self

    def as_tuple(self) -> tuple[float, float, float]:
        """Shares in the order of :data:`BUDGET_TYPES`."""
        return (self.direct_payment, self.notional, self.third_party)


class Cohort(_Model):
    """One IPC user group: its demand, planning needs, budgets, withdrawals and reviews."""

    label: str = Field(default="", description="display name of the cohort")
    referrals_per_month: NonNegative = Field(
        default=2.0,
        description="mean referrals per month, Poisson arrivals (P08: pilot-mode site rate)",
    )
    offer_acceptance: Probability = Field(
        default=0.8, description="probability a referred person accepts the IPC offer (P12)"
    )
    sessions: Distribution = Field(
        default=Discrete(values=(1, 2, 3), probs=(0.2, 0.45, 0.35)),
        description="number of planning conversations, sessions (P16)",
    )
    first_session_minutes: Distribution = Field(
        default=Fixed(value=60.0), description="length of the first conversation, minutes (P19)"
    )
    later_session_minutes: Distribution = Field(
        default=Uniform(low=45.0, high=60.0),
        description="length of each later conversation, minutes (P20: 45-60, mean 52.5)",
    )
    session_gap_days: Distribution = Field(
        default=Uniform(low=2.0, high=7.0),
        description="earliest gap from one conversation to the next, days (P21)",
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
    budget_probability: Probability = Field(
        default=0.6, description="P(personal budget | signed-off plan) (P36; by cohort P37)"
    )
    budget_type_split: BudgetSplit = Field(
        default_factory=BudgetSplit, description="budget types where a DP is offered (P39)"
    )
    budget_amount_gbp: Distribution = Field(
        default=Triangular(low=200.0, mode=750.0, high=1000.0),
        description="budget per person per year, pounds (P41: 750, range 200-1,000; shape "
        "assumption)",
    )
    review_interval_days: float = Field(
        default=365.0, gt=0, description="days between reviews of a plan in place (P49)"
    )
    review_probability: Probability = Field(
        default=0.25, description="probability a due review actually happens (P50, pilot mode)"
    )
    review_hours_budget_holder: NonNegative = Field(
        default=5.0, description="lead-practitioner hours per review, budget holders (P51)"
    )
    review_hours_no_budget: NonNegative = Field(
        default=1.0, description="lead-practitioner hours per review, no budget (P51)"
    )

    @field_validator("sessions")
    @classmethod
    def _at_least_one_session(cls, value: _AnyDistribution) -> _AnyDistribution:
        if isinstance(value, Fixed) and value.value < 1:
            raise ValueError(f"must be >= 1 session, got {value.value:g}")
        if isinstance(value, Discrete) and min(value.values) < 1:
            raise ValueError(f"every value must be >= 1 session, got {list(value.values)}")
        return value


class Role(_Model):
    """A staff group: how many, how much of their time goes to IPC, and what they cost."""

    headcount: int | Literal["unlimited"] = Field(
        default=1,
        description="people in the role, or 'unlimited' (no capacity limit) (P58 for planners)",
    )
    fte: float | None = Field(
        default=None,
        gt=0,
        description="total whole-time equivalents; if set, replaces headcount: ceil(fte) people, "
        "the last one part-time (assumption)",
    )
    contracted_hours_per_week: float = Field(
        default=37.5, gt=0, le=168, description="contracted hours per week per WTE (assumption)"
    )
    ipc_share: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="share of contracted time available for IPC work: 1 dedicated, ~0.1 add-on "
        "(P55-P56)",
    )
    leave_share: float = Field(
        default=0.15,
        ge=0,
        lt=1,
        description="share of time lost to leave and sickness (assumption)",
    )
    caseload_cap: int | None = Field(
        default=None, ge=1, description="most open planning cases per person; none if unset"
    )
    hourly_cost_gbp: NonNegative = Field(
        default=15.75, description="cost per staff hour, pounds (P60: Band 6 salary basis)"
    )

    @field_validator("headcount", mode="before")
    @classmethod
    def _headcount_valid(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError("must be a whole number >= 0 or 'unlimited'")
        if isinstance(value, int) and value < 0:
            raise ValueError("must be >= 0")
        if isinstance(value, str) and value != "unlimited":
            raise ValueError("must be a whole number >= 0 or 'unlimited'")
        return value

    @property
    def unlimited(self) -> bool:
        """True when the role has no capacity limit."""
        return self.headcount == "unlimited"

    def member_fte(self) -> list[float]:
        """WTE of each person in the role (empty for an unlimited role)."""
        if self.fte is not None:
            whole = int(self.fte)
            part = self.fte - whole
            return [1.0] * whole + ([part] if part > 1e-9 else [])
        if isinstance(self.headcount, int):
            return [1.0] * self.headcount
        return []

    def ipc_hours_per_week(self, fte: float = 1.0) -> float:
        """IPC hours one person of the given WTE delivers per week, after leave."""
        return self.contracted_hours_per_week * fte * self.ipc_share * (1.0 - self.leave_share)


class Activity(_Model):
    """A pathway step: a delay, then staff effort by role (done in parallel)."""

    effort_hours: dict[str, Effort] = Field(
        default_factory=dict,
        description="staff hours per person by role name (a number or a distribution)",
    )
    delay_days: Distribution = Field(
        default=Fixed(value=0.0), description="elapsed days before the effort starts"
    )


class Circulation(_Model):
    """Writing up and circulating the plan to other services (staff-to-staff contacts)."""

    contacts: Distribution = Field(
        default=Discrete(values=(0, 1, 2, 3, 4, 5), probs=(0.1, 0.15, 0.25, 0.3, 0.15, 0.05)),
        description="staff-to-staff contacts per plan (P23: mean 2.4, range 0-5; shape assumption)",
    )
    minutes_per_contact: NonNegative = Field(
        default=20.0, description="lead-practitioner minutes per contact (P24)"
    )
    delay_days: Distribution = Field(
        default=Fixed(value=0.0), description="elapsed days for services to respond (assumption)"
    )


class Pathway(_Model):
    """Effort and delays of the pathway activities, in pathway order."""

    lead_role: str = Field(
        default="planner",
        description="role that holds the planning conversations (lead practitioner)",
    )
    referral: Activity = Field(
        default_factory=Activity,
        description="referral and information gathering (P14 for incomplete referrals)",
    )
    incomplete_referral_probability: Probability = Field(
        default=0.3, description="probability a referral lacks key information (P14)"
    )
    incomplete_referral_extra_hours: NonNegative = Field(
        default=0.5, description="lead-practitioner hours chasing missing information (P14)"
    )
    invitation: Activity = Field(
        default_factory=lambda: Activity(delay_days=Uniform(low=1.0, high=14.0)),
        description="invitation and consent: delay from referral to a decision (assumption)",
    )
    consent_to_first_appointment_days: Distribution = Field(
        default=Fixed(value=7.0),
        description="admin lag from consent to the first possible appointment, days (P15)",
    )
    plan_writing: Activity = Field(
        default_factory=lambda: Activity(effort_hours={"planner": 2.0}),
        description="writing the plan: non-contact hours per plan by role (P22)",
    )
    circulation: Circulation = Field(default_factory=Circulation)
    budget_setting: Activity = Field(
        default_factory=lambda: Activity(effort_hours={"finance_officer": 6.0}),
        description="setting the budget: hours per budget by role (P43)",
    )


class Panel(_Model):
    """A multi-agency panel sitting on a fixed cadence."""

    interval_days: float = Field(default=14.0, gt=0, description="days between sittings (P27)")
    first_sitting_day: float = Field(
        default=14.0, ge=0, description="simulation day of the first sitting (assumption)"
    )
    max_plans_per_sitting: int | None = Field(
        default=None, ge=1, description="plans reviewed per sitting; unlimited if unset (P28)"
    )
    reviewer_minutes_per_plan: NonNegative = Field(
        default=7.5, description="minutes each member spends per plan (P29)"
    )
    members_per_sitting: int = Field(
        default=3, ge=1, description="panel members at a sitting (site 8 PHB panel: 3, §1.6)"
    )
    reviewer_role: str = Field(default="panel_member", description="role of the panel members")


class IndividualSignoff(_Model):
    """Sign-off by one person or team, with a delay that reflects their priorities."""

    delay_days: Distribution = Field(
        default=LogNormal(median=1.0, p95=21.0),
        description="days from submission to decision (P30)",
    )
    reviewer_minutes_per_plan: NonNegative = Field(
        default=7.5, description="reviewer minutes per plan (P29)"
    )
    reviewer_role: str = Field(default="panel_member", description="role of the reviewer")


class SequentialSignoff(_Model):
    """Sign-off by several reviewers in turn (social care, then health)."""

    steps: tuple[IndividualSignoff, ...] = Field(
        default=(IndividualSignoff(), IndividualSignoff()),
        min_length=1,
        description="reviewers in order (P31: two individual sign-offs in series)",
    )


class Signoff(_Model):
    """How plans are signed off, and what happens to those that are not."""

    mode: Literal["panel", "individual", "sequential"] = Field(
        default="panel", description="sign-off arrangement (P26)"
    )
    panel: Panel = Field(default_factory=Panel)
    individual: IndividualSignoff = Field(default_factory=IndividualSignoff)
    sequential: SequentialSignoff = Field(default_factory=SequentialSignoff)
    rework_probability: Probability = Field(
        default=0.15,
        description="probability a submitted plan is sent back for another session (P32)",
    )
    rework_session_minutes: Distribution = Field(
        default=Uniform(low=45.0, high=60.0),
        description="length of the extra conversation after a rework, minutes (P34, P20)",
    )
    max_submissions: int = Field(
        default=5,
        ge=1,
        description="submissions after which a plan is no longer sent back (assumption)",
    )
    plan_decline_probability: Probability = Field(
        default=0.0,
        description="probability the plan is declined outright (assumption: none reported)",
    )
    budget_decline_probability: Probability = Field(
        default=0.05,
        description="probability the budget request is declined at sign-off (P35)",
    )

    def reviewer_roles(self) -> list[str]:
        """Roles whose time the active sign-off mode uses."""
        if self.mode == "panel":
            return [self.panel.reviewer_role]
        if self.mode == "individual":
            return [self.individual.reviewer_role]
        return [step.reviewer_role for step in self.sequential.steps]


class BudgetRelease(_Model):
    """Setting up payment for one budget type."""

    effort_hours: dict[str, Effort] = Field(
        default_factory=lambda: dict[str, Effort](admin=1.0),
        description="payment set-up hours per budget by role (P44)",
    )
    processing_delay_days: Distribution = Field(
        default=Fixed(value=28.0),
        description="days from budget agreed to money released (P45)",
    )
    release_probability: Probability = Field(
        default=0.9, description="P(payment becomes operational | budget agreed) (P46)"
    )


class BudgetReleaseByType(_Model):
    """Payment set-up by budget type."""

    direct_payment: BudgetRelease = Field(default_factory=BudgetRelease)
    notional: BudgetRelease = Field(default_factory=BudgetRelease)
    third_party: BudgetRelease = Field(default_factory=BudgetRelease)

    def for_type(self, budget_type: str) -> BudgetRelease:
        """The settings for one of :data:`BUDGET_TYPES`."""
        release: BudgetRelease = getattr(self, budget_type)
        return release


class Scenario(_Model):
    """Everything one run needs: run settings, site, cohorts, workforce and pathway."""

    name: str = Field(default="scenario", description="scenario name used in outputs")
    description: str = Field(default="", description="what the scenario represents")
    run: RunConfig = Field(default_factory=RunConfig)
    site: Site = Field(default_factory=Site)
    cohorts: dict[str, Cohort] = Field(
        min_length=1, description="IPC user groups by name (the four IPC groups, §3.1)"
    )
    workforce: dict[str, Role] = Field(min_length=1, description="staff roles by name")
    pathway: Pathway = Field(default_factory=Pathway)
    signoff: Signoff = Field(default_factory=Signoff)
    budget_release: BudgetReleaseByType = Field(default_factory=BudgetReleaseByType)

    @model_validator(mode="after")
    def _roles_exist(self) -> Scenario:
        def need(role: str, where: str) -> None:
            if role not in self.workforce:
                known = ", ".join(sorted(self.workforce))
                raise ValueError(f"{where}: role '{role}' is not in [workforce] (has: {known})")

        need(self.pathway.lead_role, "pathway.lead_role")
        if self.workforce[self.pathway.lead_role].unlimited is False and not (
            self.workforce[self.pathway.lead_role].member_fte()
        ):
            raise ValueError(
                f"workforce.{self.pathway.lead_role}: the lead role needs at least one person"
            )
        for step in ("referral", "invitation", "plan_writing", "budget_setting"):
            activity: Activity = getattr(self.pathway, step)
            for role in activity.effort_hours:
                need(role, f"pathway.{step}.effort_hours")
        for budget_type in BUDGET_TYPES:
            for role in self.budget_release.for_type(budget_type).effort_hours:
                need(role, f"budget_release.{budget_type}.effort_hours")
        for role in self.signoff.reviewer_roles():
            need(role, f"signoff.{self.signoff.mode}.reviewer_role")
        for name, role_cfg in self.workforce.items():
            weekly = role_cfg.contracted_hours_per_week * role_cfg.ipc_share
            if weekly > self.run.window_hours_per_week + 1e-9:
                raise ValueError(
                    f"workforce.{name}: {weekly:g} IPC hours a week do not fit in the "
                    f"{self.run.window_hours_per_week:g}-hour working week of [run]"
                )
        return self

    @property
    def role_names(self) -> list[str]:
        """Role names in a stable (sorted) order."""
        return sorted(self.workforce)
