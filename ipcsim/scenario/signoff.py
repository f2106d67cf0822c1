"""Sign-off of plans: a panel, an individual or several in sequence (one block per mode)."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
)

from ipcsim.scenario._base import NonNegative, Probability, _Model
from ipcsim.scenario.distributions import (
    Distribution,
    LogNormal,
    Uniform,
)

__all__ = [
    "IndividualSignoff",
    "Panel",
    "SequentialSignoff",
    "SharedPanel",
    "Signoff",
]


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


class SharedPanel(Panel):
    """One panel signing off plans for several sites (e.g. an ICS panel)."""

    sites: tuple[str, ...] = Field(min_length=1, description="sites whose plans it signs off")
