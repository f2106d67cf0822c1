"""Units of time shared by every layer: one definition each.

Simulation time is float days since the run's start date; staff effort is hours; the
evidence gives contact times in minutes. Years and months are mean calendar lengths (a
Julian year of 365.25 days), used to turn rates per month or per year into rates per day.
Calendar months and years of a run (real dates) are in :mod:`ipcsim.periods`.
"""

from __future__ import annotations

__all__ = [
    "DAYS_PER_MONTH",
    "DAYS_PER_QUARTER",
    "DAYS_PER_WEEK",
    "DAYS_PER_YEAR",
    "HOURS_PER_DAY",
    "MINUTES_PER_HOUR",
]

DAYS_PER_YEAR = 365.25
"""Mean length of a calendar year, days."""
DAYS_PER_MONTH = 365.25 / 12
"""Mean length of a calendar month, days (30.4375)."""
DAYS_PER_QUARTER = 365.25 / 4
"""Mean length of a calendar quarter, days (91.3125)."""
DAYS_PER_WEEK = 7.0
"""Days in a week."""
HOURS_PER_DAY = 24.0
"""Hours in a day."""
MINUTES_PER_HOUR = 60.0
"""Minutes in an hour."""
