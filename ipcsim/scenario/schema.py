"""The validated scenario: one frozen pydantic model holds every number a run uses.

Every field says its unit; every default names its evidence ID from
``../shared/evidence/ipc-evidence.md`` (P01-P80) or says "assumption". Unknown keys are
errors, so a typo never falls back silently to a default.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from ipcsim.analysis.costs import Economics, run_years
from ipcsim.scenario.distributions import (
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
    start_date: dt.date | None = Field(
        default=None,
        description="date the site joined the programme; the run's start date if unset (P02)",
    )
    design_phase_months: float = Field(
        default=0.0,
        ge=0,
        description="months from joining to the first referral (P04: 12 for Demonstrators, "
        "P05: 6 for Early Adopters; 0 = already delivering)",
    )


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


class RatePoint(_Model):
    """A referral rate in force from a date."""

    date: dt.date = Field(description="date from which the rate applies")
    referrals_per_month: NonNegative = Field(description="mean referrals per month from the date")


class Batch(_Model):
    """People found at once in a linked dataset, then referred over a few days."""

    date: dt.date = Field(description="date of the batch identification")
    people: int = Field(ge=0, description="people identified (capped by those still eligible)")
    spread_days: float = Field(
        default=30.0, gt=0, description="days over which their referrals are spread (assumption)"
    )


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

    referral_schedule: tuple[RatePoint, ...] = Field(
        default=(),
        description="dated referral rates, piecewise constant from each date (replaces "
        "referrals_per_month from the first date on; before it, referrals_per_month applies)",
    )
    eligible_population: int | None = Field(
        default=None,
        ge=0,
        description="people eligible for IPC at the site, depleted by referrals; unlimited if "
        "unset (P06: Table A-1 projected cohort)",
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

    @field_validator("sessions")
    @classmethod
    def _at_least_one_session(cls, value: _AnyDistribution) -> _AnyDistribution:
        if isinstance(value, Fixed) and value.value < 1:
            raise ValueError(f"must be >= 1 session, got {value.value:g}")
        if isinstance(value, Discrete) and min(value.values) < 1:
            raise ValueError(f"every value must be >= 1 session, got {list(value.values)}")
        return value


class StaffChange(_Model):
    """A dated change in a role: a recruitment wave, a cut, or more IPC time."""

    date: dt.date = Field(description="date the change is decided (arrivals follow the lag)")
    headcount: int | None = Field(default=None, ge=0, description="people in the role from then")
    fte: float | None = Field(default=None, ge=0, description="total WTE from then")
    ipc_share: float | None = Field(
        default=None, gt=0, le=1, description="share of contracted time for IPC from then"
    )

    @model_validator(mode="after")
    def _something_changes(self) -> StaffChange:
        if self.headcount is None and self.fte is None and self.ipc_share is None:
            raise ValueError("a staffing change needs headcount, fte or ipc_share")
        if self.headcount is not None and self.fte is not None:
            raise ValueError("give headcount or fte, not both")
        return self

    def member_fte(self) -> list[float] | None:
        """WTE of each person after the change, or None if the size does not change."""
        if self.fte is not None:
            whole = int(self.fte)
            part = self.fte - whole
            return [1.0] * whole + ([part] if part > 1e-9 else [])
        if self.headcount is not None:
            return [1.0] * self.headcount
        return None


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

    changes: tuple[StaffChange, ...] = Field(
        default=(), description="dated staffing plan: headcount, FTE or IPC share from a date"
    )
    recruitment_lag_days: float = Field(
        default=0.0,
        ge=0,
        description="days from a dated increase to the new starters arriving (assumption)",
    )
    annual_turnover: float = Field(
        default=0.0,
        ge=0,
        le=5,
        description="leavers per person per year (P62 suggests 0.15; 0 = no turnover)",
    )
    replacement_lag_days: float = Field(
        default=90.0, ge=0, description="days to replace a leaver (assumption)"
    )
    training_days: float = Field(
        default=1.0, ge=0, description="days a new starter spends in training first (P61)"
    )
    new_starter_weeks: float = Field(
        default=4.0, ge=0, description="weeks of reduced productivity after training (assumption)"
    )
    new_starter_productivity: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="share of normal IPC hours a new starter delivers at first (assumption)",
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

    priority: Literal["fifo", "new_first", "reviews_first"] = Field(
        default="fifo",
        description="who a practitioner serves first when several wait: first come first "
        "served, new planning first, or reviews first (assumption)",
    )
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


class Learning(_Model):
    """A site's learning curve: sessions get shorter and rework rarer with experience."""

    plans_to_learn: int = Field(
        default=0,
        ge=0,
        description="signed-off plans after which the site is experienced; 0 = no learning "
        "curve (P64: over the first 12 delivery months)",
    )
    final_session_multiplier: float = Field(
        default=0.85, gt=0, le=1, description="planning-time multiplier once experienced (P64)"
    )
    final_rework_probability: Probability = Field(
        default=0.05, description="rework probability once experienced (P33)"
    )

    def progress(self, signed_off: int) -> float:
        """0 for a new site, 1 once ``plans_to_learn`` plans are signed off."""
        if self.plans_to_learn == 0:
            return 0.0
        return min(1.0, signed_off / self.plans_to_learn)


class BudgetEnvelope(_Model):
    """The personal-budget pot per period; when spent, agreed budgets wait for the next."""

    period: Literal["month", "financial_year"] = Field(
        default="financial_year", description="period the pot covers (financial year from April)"
    )
    amount_gbp: NonNegative = Field(
        description="pounds available for budgets each period (P41-P42; e.g. site 3: 170,000 "
        "for 200 users)"
    )


class SiteConfig(_Model):
    """One site's cohorts, staff, pathway, sign-off and finance (validated together)."""

    site: Site = Field(default_factory=Site)
    cohorts: dict[str, Cohort] = Field(
        default_factory=dict, description="IPC user groups by name (the four IPC groups, §3.1)"
    )
    workforce: dict[str, Role] = Field(default_factory=dict, description="staff roles by name")
    pathway: Pathway = Field(default_factory=Pathway)
    signoff: Signoff = Field(default_factory=Signoff)
    budget_release: BudgetReleaseByType = Field(default_factory=BudgetReleaseByType)
    budget_envelope: BudgetEnvelope | None = Field(
        default=None, description="personal-budget pot per period; unlimited if unset (§7 #7)"
    )
    learning: Learning = Field(default_factory=Learning)

    def check(self, *, window_hours_per_week: float) -> None:
        """Cross-field checks: roles exist, the lead role has staff, hours fit the week.

        Raises
        ------
        ValueError
            Naming the key and the value.
        """
        if not self.cohorts:
            raise ValueError("cohorts: at least one cohort is needed")
        if not self.workforce:
            raise ValueError("workforce: at least one role is needed")

        def need(role: str, where: str) -> None:
            if role not in self.workforce:
                known = ", ".join(sorted(self.workforce))
                raise ValueError(f"{where}: role '{role}' is not in [workforce] (has: {known})")

        lead = self.pathway.lead_role
        need(lead, "pathway.lead_role")
        lead_role = self.workforce[lead]
        if not lead_role.unlimited and not lead_role.member_fte() and not lead_role.changes:
            raise ValueError(f"workforce.{lead}: the lead role needs at least one person")
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
            shares = [role_cfg.ipc_share] + [c.ipc_share for c in role_cfg.changes if c.ipc_share]
            weekly = role_cfg.contracted_hours_per_week * max(shares)
            if weekly > window_hours_per_week + 1e-9:
                raise ValueError(
                    f"workforce.{name}: {weekly:g} IPC hours a week do not fit in the "
                    f"{window_hours_per_week:g}-hour working week of [run]"
                )

    @property
    def role_names(self) -> list[str]:
        """Role names in a stable (sorted) order."""
        return sorted(self.workforce)


class SharedPool(Role):
    """One team serving several sites (e.g. an ICS finance team)."""

    role: str = Field(description="the role this pool provides at each of its sites")
    sites: tuple[str, ...] = Field(min_length=1, description="sites the pool serves")


class SharedPanel(Panel):
    """One panel signing off plans for several sites (e.g. an ICS panel)."""

    sites: tuple[str, ...] = Field(min_length=1, description="sites whose plans it signs off")


class Target(_Model):
    """A point on a target trajectory: plans or budgets a year by a date."""

    date: dt.date = Field(description="date by which the target should be met")
    plans_per_year: float | None = Field(
        default=None, ge=0, description="signed-off plans in the 12 months to the date"
    )
    budgets_per_year: float | None = Field(
        default=None, ge=0, description="budgets released in the 12 months to the date"
    )
    site: str | None = Field(default=None, description="a site, or all sites together if unset")


SITE_KEYS = tuple(SiteConfig.model_fields)


class Scenario(SiteConfig):
    """Everything one run needs.

    The site tables at the top level (``site``, ``cohorts``, ``workforce``, ``pathway``,
    ``signoff``, ``budget_release``, ``budget_envelope``, ``learning``) describe a single
    site; with ``[sites.<name>]`` tables they are the template every site starts from, each
    site table overriding what it sets.
    """

    name: str = Field(default="scenario", description="scenario name used in outputs")
    description: str = Field(default="", description="what the scenario represents")
    run: RunConfig = Field(default_factory=RunConfig)
    sites: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="several sites: each table overrides the top-level site tables",
    )
    shared_pools: dict[str, SharedPool] = Field(
        default_factory=dict, description="teams shared by several sites, by pool name"
    )
    shared_panels: dict[str, SharedPanel] = Field(
        default_factory=dict, description="panels shared by several sites, by panel name"
    )
    targets: tuple[Target, ...] = Field(
        default=(), description="target trajectory of plans and budgets a year (assumption)"
    )
    initial_state: str | None = Field(
        default=None,
        description="CSV of people already in the pathway at the start date (person_id, site, "
        "cohort, stage, waiting_since), relative to the scenario file",
    )
    economics: Economics = Field(
        default_factory=Economics,
        description="costs, standard-care comparator and break-even (P60, P65-P70)",
    )

    _resolved: list[SiteConfig] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _resolve_sites(self) -> Scenario:
        window = self.run.window_hours_per_week
        template = self.model_dump(include=set(SITE_KEYS), by_alias=True, exclude_unset=True)
        specs: list[SiteConfig] = []
        if not self.sites:
            site = SiteConfig.model_validate(template)
            specs.append(self._with_shared(site, site.site.name))
        for name, table in self.sites.items():
            if not isinstance(table, dict):
                raise ValueError(f"sites.{name}: expected a table, got {table!r}")
            merged = _deep_merge(template, table)
            merged.setdefault("site", {})
            merged["site"] = {**merged["site"], "name": name}
            try:
                site = SiteConfig.model_validate(merged)
            except ValidationError as e:
                first = e.errors()[0]
                where = ".".join(str(part) for part in first["loc"])
                value = first.get("input")
                shown = "" if isinstance(value, dict | list) else f", got {value!r}"
                raise ValueError(f"sites.{name}.{where}: {first['msg']}{shown}") from None
            specs.append(self._with_shared(site, name))
        names = [spec.site.name for spec in specs]
        for spec in specs:
            prefix = f"sites.{spec.site.name}." if self.sites else ""
            try:
                spec.check(window_hours_per_week=window)
            except ValueError as e:
                raise ValueError(f"{prefix}{e}") from None
            start = spec.site.start_date or self.run.start_date
            for role_name, role in spec.workforce.items():
                for change in role.changes:
                    if change.date < start:
                        raise ValueError(
                            f"{prefix}workforce.{role_name}.changes: date {change.date} is "
                            f"before the site starts ({start})"
                        )
        for kind, shared in (
            ("shared_pools", self.shared_pools),
            ("shared_panels", self.shared_panels),
        ):
            for pool_name, pool in shared.items():
                for site_name in pool.sites:
                    if site_name not in names:
                        raise ValueError(
                            f"{kind}.{pool_name}.sites: unknown site '{site_name}' "
                            f"(sites: {', '.join(names)})"
                        )
        for panel_name, panel in self.shared_panels.items():
            for spec in specs:
                if spec.site.name in panel.sites and spec.signoff.mode != "panel":
                    raise ValueError(
                        f"shared_panels.{panel_name}: site '{spec.site.name}' signs off by "
                        f"'{spec.signoff.mode}', not by panel"
                    )
        for target in self.targets:
            if target.site is not None and target.site not in names:
                raise ValueError(f"targets: unknown site '{target.site}'")
        care = self.economics.standard_care
        for spec in specs:
            for key in ("appointment_role", "staff_contact_role"):
                role = getattr(care, key)
                if role is not None and role not in spec.workforce:
                    raise ValueError(
                        f"economics.standard_care.{key}: role '{role}' is not in the "
                        f"workforce of site '{spec.site.name}'"
                    )
        setup = self.economics.setup_cost_per_site_year_gbp
        years = len(run_years(self.run.start_date, self.run.horizon_days))
        if isinstance(setup, tuple) and len(setup) < years:
            raise ValueError(
                f"economics.setup_cost_per_site_year_gbp: gives {len(setup)} year(s) of set-up "
                f"cost but the run covers {years} ({self.run.horizon_days:g} days)"
            )
        self._resolved = specs
        return self

    def _with_shared(self, site: SiteConfig, name: str) -> SiteConfig:
        """The site with each shared pool's role put into its workforce."""
        workforce = dict(site.workforce)
        for pool in self.shared_pools.values():
            if name in pool.sites:
                workforce[pool.role] = Role.model_validate(
                    pool.model_dump(exclude={"role", "sites"})
                )
        if workforce == site.workforce:
            return site
        return site.model_copy(update={"workforce": workforce})

    @property
    def site_configs(self) -> list[SiteConfig]:
        """Every site, resolved (template merged with its table), in file order."""
        return list(self._resolved)

    @property
    def site_names(self) -> list[str]:
        """Site names in file order."""
        return [spec.site.name for spec in self._resolved]

    @property
    def role_names(self) -> list[str]:
        """Every role at any site, sorted."""
        return sorted({role for spec in self._resolved for role in spec.workforce})

    def shared_pool_for(self, site: str, role: str) -> str | None:
        """Name of the shared pool that provides ``role`` at ``site``, if any."""
        for pool_name, pool in self.shared_pools.items():
            if pool.role == role and site in pool.sites:
                return pool_name
        return None

    def shared_panel_for(self, site: str) -> str | None:
        """Name of the shared panel that signs off ``site``'s plans, if any."""
        for panel_name, panel in self.shared_panels.items():
            if site in panel.sites:
                return panel_name
        return None


def _deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with nested ``changes`` applied (tables merge, values replace)."""
    result = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict) and "dist" not in value:
            result[key] = _deep_merge(result[key], value)
        else:
            result[key] = value
    return result
