"""What a run reports beyond its records: waiting standards and the overload checks.

Settings only (pydantic, frozen). They change no simulated event: the same scenario with other
``[reporting]`` settings gives the same people, work and waits, and other figures about them
(the ``share_within_<N>w`` of a wait, the series by month of referral, the warnings).
"""

from __future__ import annotations

from pydantic import Field, field_validator

from ipcsim.pathway import WAITS
from ipcsim.scenario._base import Probability, _Model
from ipcsim.scenario.bounds import LONGEST_DAYS

__all__ = ["MAX_STANDARDS", "MAX_WEEKS_STANDARD", "Reporting"]

MAX_WEEKS_STANDARD = 520.0
"""Longest waiting standard, weeks (ten years)."""
MAX_STANDARDS = 10
"""Most thresholds for one wait."""
MAX_CHECK_MONTHS = 120
"""Longest window of an overload check, months."""


def _default_standards() -> dict[str, tuple[float, ...]]:
    return {"referral_to_first_conversation": (8.0, 18.0)}


class Reporting(_Model):
    """Waiting standards ("x % seen within N weeks") and when a run is flagged as overloaded."""

    within_weeks: dict[str, tuple[float, ...]] = Field(
        default_factory=_default_standards,
        description="wait name -> thresholds in weeks (each 0 to 520, at most 10) for "
        "share_within_<N>w and the wait's series by month of referral; default the first "
        "conversation at 8 and 18 weeks (assumption: NHS standards are 'x % within N "
        "weeks', RTT 18 weeks)",
    )
    busy_share: Probability = Field(
        default=0.95,
        description="a role is flagged when busier than this fraction of its IPC hours for "
        "busy_months months in a row with work waiting (assumption)",
    )
    busy_months: int = Field(
        default=3,
        ge=1,
        le=MAX_CHECK_MONTHS,
        description="months in a row above busy_share that flag a role, 1 to 120 (assumption)",
    )
    trend_months: int = Field(
        default=6,
        ge=3,
        le=MAX_CHECK_MONTHS,
        description="last months of the run over which a queue's trend is measured, 3 to 120 "
        "(assumption)",
    )
    in_progress_share: Probability = Field(
        default=0.2,
        description="a run is flagged when more than this fraction of the people referred at "
        "least in_progress_after_days before the horizon is still in progress (assumption)",
    )
    in_progress_after_days: float = Field(
        default=182.0,
        ge=0,
        le=LONGEST_DAYS,
        description="days before the horizon a referral must be for the in-progress check, "
        "0 to 36,525 (assumption: six months, longer than a plan takes at a site that keeps up)",
    )

    @field_validator("within_weeks")
    @classmethod
    def _known_waits(cls, value: dict[str, tuple[float, ...]]) -> dict[str, tuple[float, ...]]:
        for name, weeks in value.items():
            if name not in WAITS:
                raise ValueError(f"unknown wait {name!r} (waits: {', '.join(WAITS)})")
            if len(weeks) > MAX_STANDARDS:
                raise ValueError(f"{name}: at most {MAX_STANDARDS} thresholds, got {len(weeks)}")
            for w in weeks:
                if not 0 < w <= MAX_WEEKS_STANDARD:
                    raise ValueError(f"{name}: each threshold must be 0 to 520 weeks, got {w!r}")
            if len(set(weeks)) != len(weeks):
                raise ValueError(f"{name}: thresholds must all be different, got {weeks!r}")
        return value
