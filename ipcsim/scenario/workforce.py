"""The workforce: roles, their hours and IPC share, staffing plans, shared teams."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from ipcsim.scenario._base import _Model
from ipcsim.scenario.bounds import (
    LONGEST_DAYS,
    MAX_CASELOAD,
    MAX_GBP_PER_HOUR,
    MAX_LEAVE_SHARE,
    MAX_STAFF,
    MAX_WEEKLY_HOURS,
    MAX_WEEKS,
    MIN_SHARE,
    MIN_WEEKLY_HOURS,
    Date,
)

__all__ = [
    "Role",
    "SharedPool",
    "StaffChange",
]


class StaffChange(_Model):
    """A dated change in a role: a recruitment wave, a cut, or more IPC time."""

    date: Date = Field(
        description="date the change is decided, 1990-01-01 to 2200-12-31 (arrivals follow the lag)"
    )
    headcount: int | None = Field(
        default=None, ge=0, le=MAX_STAFF, description="people in the role from then, 0 to 100,000"
    )
    fte: float | None = Field(
        default=None, ge=0, le=MAX_STAFF, description="total WTE from then, 0 to 100,000"
    )
    ipc_share: float | None = Field(
        default=None,
        ge=MIN_SHARE,
        le=1,
        description="share of contracted time for IPC from then, 0.01 to 1",
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
        description="people in the role, 0 to 100,000, or 'unlimited' (no capacity limit) "
        "(P58 for planners)",
    )
    fte: float | None = Field(
        default=None,
        ge=MIN_SHARE,
        le=MAX_STAFF,
        description="total whole-time equivalents, 0.01 to 100,000; if set, replaces headcount: "
        "ceil(fte) people, the last one part-time (assumption)",
    )
    contracted_hours_per_week: float = Field(
        default=37.5,
        ge=MIN_WEEKLY_HOURS,
        le=MAX_WEEKLY_HOURS,
        description="contracted hours per week per WTE, 1 to 168 (assumption)",
    )
    ipc_share: float = Field(
        default=1.0,
        ge=MIN_SHARE,
        le=1,
        description="share of contracted time available for IPC work, 0.01 to 1: 1 dedicated, "
        "~0.1 add-on (P55-P56)",
    )
    leave_share: float = Field(
        default=0.15,
        ge=0,
        le=MAX_LEAVE_SHARE,
        description="share of time lost to leave and sickness, 0 to 0.9 (assumption)",
    )
    caseload_cap: int | None = Field(
        default=None,
        ge=1,
        le=MAX_CASELOAD,
        description="most open planning cases per person, 1 to 10,000; none if unset",
    )
    hourly_cost_gbp: float = Field(
        default=15.75,
        ge=0,
        le=MAX_GBP_PER_HOUR,
        description="cost per staff hour, pounds, 0 to 1,000 (P60: Band 6 salary basis)",
    )

    changes: tuple[StaffChange, ...] = Field(
        default=(), description="dated staffing plan: headcount, FTE or IPC share from a date"
    )
    recruitment_lag_days: float = Field(
        default=0.0,
        ge=0,
        le=LONGEST_DAYS,
        description="days from a dated increase to the new starters arriving, 0 to 36,525 "
        "(assumption)",
    )
    annual_turnover: float = Field(
        default=0.0,
        ge=0,
        le=5,
        description="leavers per person per year, 0 to 5 (P62 suggests 0.15; 0 = no turnover)",
    )
    replacement_lag_days: float = Field(
        default=90.0,
        ge=0,
        le=LONGEST_DAYS,
        description="days to replace a leaver, 0 to 36,525 (assumption)",
    )
    training_days: float = Field(
        default=1.0,
        ge=0,
        le=LONGEST_DAYS,
        description="days a new starter spends in training first, 0 to 36,525 (P61)",
    )
    new_starter_weeks: float = Field(
        default=4.0,
        ge=0,
        le=MAX_WEEKS,
        description="weeks of reduced productivity after training, 0 to 520 (assumption)",
    )
    new_starter_productivity: float = Field(
        default=0.5,
        ge=MIN_SHARE,
        le=1,
        description="share of normal IPC hours a new starter delivers at first, 0.01 to 1 "
        "(assumption)",
    )

    @field_validator("headcount", mode="before")
    @classmethod
    def _headcount_valid(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError("must be a whole number >= 0 or 'unlimited'")
        if isinstance(value, int) and not 0 <= value <= MAX_STAFF:
            raise ValueError(f"must be 0 to {MAX_STAFF:,}")
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
