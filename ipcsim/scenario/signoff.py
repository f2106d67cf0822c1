"""Sign-off of plans: a panel, an individual or several in sequence (one block per mode)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import (
    Field,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ipcsim.scenario._base import Probability, _Model
from ipcsim.scenario._strict import LAX_INPUT
from ipcsim.scenario.bounds import (
    LONGEST_DAYS,
    MAX_MINUTES,
    MAX_PANEL_MEMBERS,
    MAX_PLANS,
    MAX_SIGNOFF_STEPS,
    MAX_SUBMISSIONS,
    MIN_PANEL_INTERVAL_DAYS,
    DaysDistribution,
    MinutesDistribution,
)
from ipcsim.scenario.describe import describe_distribution, short_number
from ipcsim.scenario.distributions import (
    LogNormal,
    Uniform,
)

__all__ = [
    "IndividualSignoff",
    "Panel",
    "SequentialSignoff",
    "SharedPanel",
    "Signoff",
    "SignoffDescription",
]


@dataclass(frozen=True)
class SignoffDescription:
    """How a sign-off mode describes itself to people (the report and the pathway diagram).

    Attributes
    ----------
    text
        A phrase that completes "Sign-off by ...", e.g. ``"a panel sitting every 14 days (no
        cap on plans per sitting)"``.
    title
        Short title of the diagram's sign-off box, e.g. ``"Panel sign-off"``.
    lines
        The lines of text under the title in the diagram's box.
    reviewer_roles
        Roles whose time the mode uses, in order, each once.
    max_plans_per_sitting
        Plans reviewed per sitting when the mode batches plans into capped sittings, else
        ``None``.
    """

    text: str
    title: str
    lines: tuple[str, ...]
    reviewer_roles: tuple[str, ...]
    max_plans_per_sitting: int | None = None


WEEKS_OF_MONTH = {"first": 0, "second": 1, "third": 2, "fourth": 3, "last": -1}
"""Words for a week of the month (``monthly_on``) and their index (-1: the last)."""
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_weekday_of_month(text: str) -> tuple[int, int]:
    """``"first Tuesday"`` -> ``(0, 1)``: the week (0-3; -1 the last), the weekday (0 Monday).

    Raises
    ------
    ValueError
        Naming the text and what is expected.
    """
    words = text.strip().lower().split()
    if len(words) != 2 or words[0] not in WEEKS_OF_MONTH or words[1] not in WEEKDAYS:
        raise ValueError(
            f"monthly_on: expected a week and a weekday such as 'first Tuesday' or 'last "
            f"Friday' (weeks: {', '.join(WEEKS_OF_MONTH)}), got {text[:40]!r}"
        )
    return WEEKS_OF_MONTH[words[0]], WEEKDAYS.index(words[1])


class Panel(_Model):
    """A multi-agency panel sitting on a fixed cadence."""

    interval_days: float = Field(
        default=14.0,
        ge=MIN_PANEL_INTERVAL_DAYS,
        le=LONGEST_DAYS,
        description="days between sittings, 1 to 36,525 (P27)",
    )
    cadence: Literal["weekly", "fortnightly", "monthly"] | None = Field(
        default=None,
        description="the cadence as people say it, instead of interval_days: 'weekly' (7 "
        "days), 'fortnightly' (14) or 'monthly' (the same day of each calendar month as the "
        "first sitting); unset: every interval_days (P27)",
    )
    monthly_on: str | None = Field(
        default=None,
        max_length=40,
        description="with cadence 'monthly': a weekday of each calendar month, as people say "
        "it ('first Tuesday', 'second Monday', 'last Friday'), from the first such day on or "
        "after first_sitting_day (at its time of day); unset: the first sitting's day of the "
        "month (assumption)",
    )
    first_sitting_day: float = Field(
        default=14.0,
        ge=0,
        le=LONGEST_DAYS,
        description="simulation day of the first sitting, 0 to 36,525 (assumption)",
    )
    max_plans_per_sitting: int | None = Field(
        default=None,
        ge=1,
        le=MAX_PLANS,
        description="plans reviewed per sitting, 1 to 10,000,000; unlimited if unset (P28)",
    )
    reviewer_minutes_per_plan: float = Field(
        default=7.5,
        ge=0,
        le=MAX_MINUTES,
        description="minutes each member spends per plan, 0 to 1,440 (P29)",
    )
    members_per_sitting: int = Field(
        default=3,
        ge=1,
        le=MAX_PANEL_MEMBERS,
        description="panel members at a sitting, 1 to 1,000 (site 8 PHB panel: 3, §1.6)",
    )
    reviewer_role: str = Field(default="panel_member", description="role of the panel members")

    @model_validator(mode="after")
    def _one_cadence(self) -> Panel:
        if self.cadence is not None and "interval_days" in self.model_fields_set:
            raise ValueError(
                f"cadence {self.cadence!r} and interval_days {self.interval_days:g} both set; "
                "give one"
            )
        if self.monthly_on is not None:
            if self.cadence != "monthly":
                raise ValueError(
                    f"monthly_on {self.monthly_on!r} needs cadence = 'monthly', got "
                    f"{self.cadence!r}"
                )
            parse_weekday_of_month(self.monthly_on)
        return self

    @property
    def weekday_of_month(self) -> tuple[int, int] | None:
        """``(week, weekday)`` of ``monthly_on`` (see :func:`parse_weekday_of_month`)."""
        return None if self.monthly_on is None else parse_weekday_of_month(self.monthly_on)

    @property
    def days_between(self) -> float | None:
        """Days between sittings; None for a monthly panel (calendar months differ)."""
        fixed = {"weekly": 7.0, "fortnightly": 14.0, "monthly": None}
        return fixed[self.cadence] if self.cadence is not None else self.interval_days

    @property
    def cadence_text(self) -> str:
        """``every 14 days``, ``weekly``, ``monthly``, ``monthly on the first Tuesday``."""
        if self.monthly_on is not None:
            return f"monthly on the {self.monthly_on.strip().lower()}"
        return self.cadence or f"every {short_number(self.interval_days)} days"

    def describe(self) -> SignoffDescription:
        """The panel in words: cadence, cap per sitting and reviewer time.

        Returns
        -------
        SignoffDescription
            ``text`` like ``"a panel sitting every 14 days (at most 20 plans a sitting)"``.
        """
        cap = self.max_plans_per_sitting
        per_sitting = f"at most {cap} plans a sitting" if cap else "no cap on plans per sitting"
        return SignoffDescription(
            text=f"a panel sitting {self.cadence_text} ({per_sitting})",
            title="Panel sign-off",
            lines=(
                f"sits {self.cadence_text}",
                f"max {cap} plans/sitting" if cap else "no cap per sitting",
                f"{self.members_per_sitting} members x "
                f"{short_number(self.reviewer_minutes_per_plan)} min/plan",
            ),
            reviewer_roles=(self.reviewer_role,),
            max_plans_per_sitting=cap,
        )


class IndividualSignoff(_Model):
    """Sign-off by one person or team, with a delay that reflects their priorities."""

    delay_days: DaysDistribution = Field(
        default=LogNormal(median=1.0, p95=21.0),
        description="days from submission to decision, 0 to 36,525 (P30)",
    )
    reviewer_minutes_per_plan: float = Field(
        default=7.5,
        ge=0,
        le=MAX_MINUTES,
        description="reviewer minutes per plan, 0 to 1,440 (P29)",
    )
    reviewer_role: str = Field(default="panel_member", description="role of the reviewer")

    def describe(self) -> SignoffDescription:
        """The reviewer in words: the decision delay and reviewer time.

        Returns
        -------
        SignoffDescription
            ``text`` like ``"one reviewer, delay lognormal median 1, p95 21 days"``.
        """
        delay = describe_distribution(self.delay_days, "days")
        return SignoffDescription(
            text=f"one reviewer, delay {delay}",
            title="Individual sign-off",
            lines=(
                "decision delay:",
                delay,
                f"{short_number(self.reviewer_minutes_per_plan)} min/plan",
            ),
            reviewer_roles=(self.reviewer_role,),
        )


class SequentialSignoff(_Model):
    """Sign-off by several reviewers in turn (social care, then health)."""

    steps: tuple[IndividualSignoff, ...] = Field(
        default=(IndividualSignoff(), IndividualSignoff()),
        min_length=1,
        max_length=MAX_SIGNOFF_STEPS,
        description="reviewers in order, 1 to 100 (P31: two individual sign-offs in series)",
    )

    def describe(self) -> SignoffDescription:
        """The reviewers in words: one line per step with its role and delay.

        Returns
        -------
        SignoffDescription
            ``text`` like ``"2 reviewers in series"``.
        """
        n = len(self.steps)
        return SignoffDescription(
            text=f"{n} reviewers in series",
            title=f"Sequential sign-off ({n})",
            lines=tuple(
                f"{i + 1}. {step.reviewer_role}: {describe_distribution(step.delay_days, 'd')}"
                for i, step in enumerate(self.steps)
            ),
            reviewer_roles=tuple(dict.fromkeys(step.reviewer_role for step in self.steps)),
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
    rework_session_minutes: MinutesDistribution = Field(
        default=Uniform(low=45.0, high=60.0),
        description="length of the extra conversation after a rework, minutes, 0 to 1,440 "
        "(P34, P20)",
    )
    max_submissions: int = Field(
        default=5,
        ge=1,
        le=MAX_SUBMISSIONS,
        description="submissions after which a plan is no longer sent back, 1 to 100 (assumption)",
    )
    plan_decline_probability: Probability = Field(
        default=0.0,
        description="probability the plan is declined outright (assumption: none reported)",
    )
    budget_declined_share: Probability = Field(
        default=0.05,
        description="share of the requested budget amount declined at sign-off, 0 to 1: the "
        "agreed budget is the requested amount times (1 - share), every budget period (P35: "
        "share of requested budget items declined; a share of the money, not a refusal of "
        "the budget, which P36/P37 already count)",
    )

    @model_validator(mode="before")
    @classmethod
    def _renamed_keys(cls, data: Any) -> Any:
        # Renamed, not deprecated: an unknown key is an error (STYLE habit 1), and this one
        # changed meaning, so an old file must not run on as if nothing had changed.
        if isinstance(data, dict) and "budget_decline_probability" in data:
            raise PydanticCustomError(
                LAX_INPUT,
                "renamed to signoff.budget_declined_share, and its meaning changed: P35 is "
                "now the share of the requested budget amount declined (the agreed budget is "
                "reduced by it), no longer a probability that the whole budget is declined",
                {"key": "budget_decline_probability", "loc": ("budget_decline_probability",)},
            )
        return data

    def reviewer_roles(self) -> list[str]:
        """Roles whose time the active sign-off mode uses."""
        if self.mode == "panel":
            return [self.panel.reviewer_role]
        if self.mode == "individual":
            return [self.individual.reviewer_role]
        return [step.reviewer_role for step in self.sequential.steps]

    def describe(self) -> SignoffDescription:
        """The active mode in words: the block named like :attr:`mode` describes itself.

        Returns
        -------
        SignoffDescription
            From :meth:`Panel.describe`, :meth:`IndividualSignoff.describe` or
            :meth:`SequentialSignoff.describe`.
        """
        block: Panel | IndividualSignoff | SequentialSignoff = getattr(self, self.mode)
        return block.describe()


class SharedPanel(Panel):
    """One panel signing off plans for several sites (e.g. an ICS panel)."""

    sites: tuple[str, ...] = Field(min_length=1, description="sites whose plans it signs off")
