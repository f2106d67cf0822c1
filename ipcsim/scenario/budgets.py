"""Personal budgets: the type split, payment set-up and release, and the budget pot."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from ipcsim.scenario._base import Probability, _Model
from ipcsim.scenario.bounds import MAX_GBP, DaysDistribution, Effort
from ipcsim.scenario.distributions import Fixed

__all__ = [
    "BudgetEnvelope",
    "BudgetRelease",
    "BudgetReleaseByType",
    "BudgetSplit",
    "BudgetType",
]


BudgetType = Literal["direct_payment", "notional", "third_party"]
"""How a personal budget is held (P39)."""


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


class BudgetRelease(_Model):
    """Setting up payment for one budget type."""

    effort_hours: dict[str, Effort] = Field(
        default_factory=lambda: dict[str, Effort](admin=1.0),
        description="payment set-up hours per budget by role, 0 to 1,000 (P44)",
    )
    processing_delay_days: DaysDistribution = Field(
        default=Fixed(value=28.0),
        description="days from budget agreed to money released, 0 to 36,525 (P45)",
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


class BudgetEnvelope(_Model):
    """The personal-budget pot per period; when spent, agreed budgets wait for the next."""

    period: Literal["month", "financial_year"] = Field(
        default="financial_year", description="period the pot covers (financial year from April)"
    )
    amount_gbp: float = Field(
        ge=0,
        le=MAX_GBP,
        description="pounds available for budgets each period, 0 to 1e12 (P41-P42; e.g. site 3: "
        "170,000 for 200 users)",
    )
