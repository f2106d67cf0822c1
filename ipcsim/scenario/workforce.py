"""The workforce: roles, their hours and IPC share, staffing plans, shared teams."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from ipcsim.scenario._base import NonNegative, _Model

__all__ = [
    "Role",
    "SharedPool",
    "StaffChange",
]


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


class SharedPool(Role):
    """One team serving several sites (e.g. an ICS finance team)."""

    role: str = Field(description="the role this pool provides at each of its sites")
    sites: tuple[str, ...] = Field(min_length=1, description="sites the pool serves")
