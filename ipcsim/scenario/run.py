"""When a run starts, how long it lasts, its seed and working calendar, and the site's name."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from ipcsim.scenario._base import _Model
from ipcsim.scenario.bounds import EARLIEST_DATE, LATEST_DATE, LONGEST_DAYS

__all__ = [
    "EARLIEST_START",
    "LATEST_START",
    "LONGEST_HORIZON_DAYS",
    "RunConfig",
    "Site",
]

EARLIEST_START = EARLIEST_DATE
"""Earliest start date a scenario may have (before IPC by decades; guards date arithmetic)."""
LATEST_START = dt.date(2100, 12, 31)
"""Latest start date a scenario may have: with the longest horizon, dates stay in range."""
LONGEST_HORIZON_DAYS = LONGEST_DAYS
"""Longest run, days (100 years): far beyond any plan, and no date of the run overflows."""


class RunConfig(_Model):
    """When the simulation starts, how long it runs and its seed."""

    start_date: dt.date = Field(
        default=dt.date(2016, 4, 1),
        ge=EARLIEST_START,
        le=LATEST_START,
        description="calendar date of simulation day 0, 1990-01-01 to 2100-12-31 (assumption: "
        "a financial-year start)",
    )
    horizon_days: float = Field(
        default=730.0,
        ge=1,
        le=LONGEST_HORIZON_DAYS,
        description="simulated days from the start date, 1 to 36,525 (100 years) (assumption)",
    )
    seed: int = Field(
        default=20150401,
        ge=0,
        lt=2**63,
        description="master seed of the named RNG streams (0 to 2^63 - 1)",
    )
    calendar: Literal["working_week", "continuous"] = Field(
        default="working_week",
        description=(
            "staff working time: 'working_week' (staff work in daily windows on working days) "
            "or 'continuous' (around the clock; for theory checks) (assumption)"
        ),
    )
    working_days_per_week: int = Field(
        default=5,
        ge=1,
        le=7,
        description="working days per week, Monday first, 1 to 7 (assumption)",
    )
    working_day_start_hour: float = Field(
        default=9.0,
        ge=0,
        lt=24,
        description="hour of day the working window opens, 0 to 24 (assumption)",
    )
    working_hours_per_day: float = Field(
        default=8.0,
        ge=1,
        le=24,
        description="length of the daily working window, hours, 1 to 24 (assumption)",
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
        ge=EARLIEST_DATE,
        le=LATEST_DATE,
        description="date the site joined the programme, 1990-01-01 to 2200-12-31; the run's "
        "start date if unset (P02)",
    )
    design_phase_months: float = Field(
        default=0.0,
        ge=0,
        le=1200,
        description="months from joining to the first referral, 0 to 1,200 (P04: 12 for "
        "Demonstrators, P05: 6 for Early Adopters; 0 = already delivering)",
    )
    profile: str = Field(
        default="",
        max_length=100,
        description="the site profile its settings start from (a [profiles.<name>] table of "
        "a multi-site scenario: P07's flat, ramping and stalled sites); empty for none",
    )
