"""The pathway's activities, circulation of plans and the learning curve."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    Field,
    model_validator,
)

from ipcsim.scenario._base import Probability, _Model
from ipcsim.scenario.bounds import (
    LONGEST_DAYS,
    MAX_MINUTES,
    MAX_PLANS,
    MAX_TASK_HOURS,
    MIN_REVIEW_INTERVAL_DAYS,
    MIN_SHARE,
    ContactsDistribution,
    DaysDistribution,
    Effort,
)
from ipcsim.scenario.distributions import (
    Discrete,
    Fixed,
    Uniform,
)

__all__ = [
    "Activity",
    "Circulation",
    "Learning",
    "Pathway",
]


class Activity(_Model):
    """A pathway step: a delay, then staff effort by role (done in parallel)."""

    effort_hours: dict[str, Effort] = Field(
        default_factory=dict,
        description="staff hours per person by role name, 0 to 1,000 (a number or a distribution)",
    )
    delay_days: DaysDistribution = Field(
        default=Fixed(value=0.0),
        description="elapsed days before the effort starts, 0 to 36,525",
    )


class Circulation(_Model):
    """Writing up and circulating the plan to other services (staff-to-staff contacts)."""

    contacts: ContactsDistribution = Field(
        default=Discrete(values=(0, 1, 2, 3, 4, 5), probs=(0.1, 0.15, 0.25, 0.3, 0.15, 0.05)),
        description="staff-to-staff contacts per plan, 0 to 1,000 (P23: mean 2.4, range 0-5; "
        "shape assumption)",
    )
    minutes_per_contact: float = Field(
        default=20.0,
        ge=0,
        le=MAX_MINUTES,
        description="lead-practitioner minutes per contact, 0 to 1,440 (P24)",
    )
    delay_days: DaysDistribution = Field(
        default=Fixed(value=0.0),
        description="elapsed days for services to respond, 0 to 36,525 (assumption)",
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
    incomplete_referral_extra_hours: float = Field(
        default=0.5,
        ge=0,
        le=MAX_TASK_HOURS,
        description="lead-practitioner hours chasing missing information, 0 to 1,000 (P14)",
    )
    invitation: Activity = Field(
        default_factory=lambda: Activity(delay_days=Uniform(low=1.0, high=14.0)),
        description="invitation and consent: delay from referral to a decision (assumption)",
    )
    consent_to_first_appointment_days: DaysDistribution = Field(
        default=Fixed(value=7.0),
        description="admin lag from consent to the first possible appointment, days, 0 to "
        "36,525 (P15)",
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
    budget_renewal: Activity = Field(
        default_factory=lambda: Activity(effort_hours={"finance_officer": 6.0}),
        description="renewing a budget at the end of its period: hours per renewal by role, "
        "then a fresh draw on the budget pot (P47; as budget_setting when not given, P43)",
    )
    reviews: Literal["none", "scheduled"] = Field(
        default="scheduled",
        description="the site's review policy for plans in place: 'none', or 'scheduled' every "
        "review_interval_days within a plan's life (P49; whether the site reviews at all: "
        "review_site_probability)",
    )
    review_interval_days: float = Field(
        default=365.0,
        ge=MIN_REVIEW_INTERVAL_DAYS,
        le=LONGEST_DAYS,
        description="days between scheduled reviews, counted from the start of each plan life, "
        "7 to 36,525 (P49: 365 guidance, 91 variant); a review due in a plan's last week is "
        "taken by the end-of-plan conversation",
    )
    review_site_probability: Probability = Field(
        default=0.25,
        description="probability that a site with scheduled reviews holds them at all, drawn "
        "once per site and replication (P50: 1 of 4 thematic sites had reviews)",
    )

    implementation_follow_up_probability: Probability = Field(
        default=0.5,
        description="probability the lead practitioner follows up the plan's implementation "
        "once it is in place (P48: 2 of 4 thematic sites)",
    )
    implementation_follow_up_hours: float = Field(
        default=1.0,
        ge=0,
        le=MAX_TASK_HOURS,
        description="lead-practitioner hours of that follow-up, 0 to 1,000 (assumption)",
    )
    service_unavailable_probability: Probability = Field(
        default=0.1,
        description="probability the service chosen in the plan is unavailable (oversubscribed, "
        "closed list), so the person waits and then re-plans with the lead practitioner (P52)",
    )
    service_unavailable_wait_days: DaysDistribution = Field(
        default=Uniform(low=30.0, high=90.0),
        description="days waited for an unavailable service before re-planning, 0 to 36,525 "
        "(assumption; V08: 'still waiting' for a new care package at 16 %)",
    )
    service_replan_hours: float = Field(
        default=1.0,
        ge=0,
        le=MAX_TASK_HOURS,
        description="lead-practitioner hours re-planning around an unavailable service, 0 to "
        "1,000 (assumption: as a review without a budget, P51)",
    )

    @model_validator(mode="before")
    @classmethod
    def _renewal_as_setting(cls, data: Any) -> Any:
        # Renewing a budget takes the effort of setting one unless the file says otherwise.
        if isinstance(data, dict) and "budget_renewal" not in data and "budget_setting" in data:
            return {**data, "budget_renewal": data["budget_setting"]}
        return data


class Learning(_Model):
    """A site's learning curve: sessions get shorter and rework rarer with experience."""

    plans_to_learn: int = Field(
        default=0,
        ge=0,
        le=MAX_PLANS,
        description="signed-off plans after which the site is experienced, 0 to 10,000,000; "
        "0 = no learning curve (P64: over the first 12 delivery months)",
    )
    final_session_multiplier: float = Field(
        default=0.85,
        ge=MIN_SHARE,
        le=1,
        description="planning-time multiplier once experienced, 0.01 to 1 (P64)",
    )
    final_rework_probability: Probability = Field(
        default=0.05, description="rework probability once experienced (P33)"
    )

    def progress(self, signed_off: int) -> float:
        """0 for a new site, 1 once ``plans_to_learn`` plans are signed off."""
        if self.plans_to_learn == 0:
            return 0.0
        return min(1.0, signed_off / self.plans_to_learn)
