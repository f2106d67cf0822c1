"""The plausible range of every quantity a scenario holds, by unit: one place for every bound.

Bounds are generous: England at full scale (about 750,000 plans a year, 42 ICBs, a few
thousand practitioners) lies well inside each of them. A value outside is a typo or a slip of
unit (minutes for hours, a yearly figure for a monthly one), and the values far outside
(``1e300``, ``1e-300``) would make a run hang, run out of memory or report nonsense such as a
utilisation of 10^299. Each field's description states its unit and its bounds.

Distributions are bounded through their parameters (:class:`DistributionBound`): every value
a parameter names (a fixed value, a low, mode or high, a mean, a median or a 95th percentile,
each value of a discrete distribution) must lie in the field's range. Their shape is bounded in
:mod:`ipcsim.scenario.distributions` (a lognormal's 95th percentile at most 1,000 times its
median, a standard deviation at most 100 times the mean), so a draw far beyond the range is
vanishingly rare and always finite.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, Field

from ipcsim.scenario.distributions import (
    Discrete,
    Distribution,
    Fixed,
    Triangular,
    Uniform,
)

__all__ = [
    "EARLIEST_DATE",
    "LATEST_DATE",
    "LONGEST_DAYS",
    "MAX_CASELOAD",
    "MAX_CONTACTS",
    "MAX_COUNT",
    "MAX_GBP",
    "MAX_GBP_PER_HOUR",
    "MAX_GBP_PER_PERSON",
    "MAX_GBP_PER_QALY",
    "MAX_LEAVE_SHARE",
    "MAX_MINUTES",
    "MAX_MULTIPLIER",
    "MAX_PANEL_MEMBERS",
    "MAX_PEOPLE",
    "MAX_PEOPLE_PER_BATCH",
    "MAX_PLANS",
    "MAX_REFERRALS_PER_MONTH",
    "MAX_SESSIONS",
    "MAX_SIGNOFF_STEPS",
    "MAX_STAFF",
    "MAX_SUBMISSIONS",
    "MAX_TASK_HOURS",
    "MAX_WEEKLY_HOURS",
    "MAX_WEEKS",
    "MAX_YEARS",
    "MIN_PANEL_INTERVAL_DAYS",
    "MIN_REVIEW_INTERVAL_DAYS",
    "MIN_SHARE",
    "MIN_WEEKLY_HOURS",
    "ContactsDistribution",
    "Date",
    "Days",
    "DaysDistribution",
    "DistributionBound",
    "Effort",
    "MinutesDistribution",
    "PoundsDistribution",
    "SessionsDistribution",
    "TaskHours",
]

# --------------------------------------------------------------------------- time
EARLIEST_DATE = dt.date(1990, 1, 1)
"""Earliest date a scenario may name (before IPC by decades; guards date arithmetic)."""
LATEST_DATE = dt.date(2200, 12, 31)
"""Latest date a scenario may name: the end of the longest run from the latest start."""
LONGEST_DAYS = 36525.0
"""Longest horizon, and longest delay, lag or interval, days (100 years)."""
MAX_YEARS = 101
"""Most yearly values a list may give (a 100-year run touches 101 financial years)."""
MAX_WEEKS = 520.0
"""Longest span given in weeks (10 years)."""
MIN_PANEL_INTERVAL_DAYS = 1.0
"""Shortest time between two panel sittings, days (a daily panel)."""
MIN_REVIEW_INTERVAL_DAYS = 7.0
"""Shortest time between two reviews of a plan, days (a weekly review)."""
MIN_PERIOD_MONTHS = 1.0
"""Shortest life of a plan or period of a personal budget, months."""
MAX_PERIOD_MONTHS = 1200.0
"""Longest life of a plan or period of a personal budget, months (100 years)."""

# --------------------------------------------------------------------------- staff time
MIN_WEEKLY_HOURS = 1.0
"""Fewest contracted hours a week of one whole-time equivalent."""
MAX_WEEKLY_HOURS = 168.0
"""Most hours in a week."""
MIN_SHARE = 0.01
"""Smallest share of time for IPC, productivity or session-time multiplier (1 %)."""
MAX_LEAVE_SHARE = 0.9
"""Largest share of time lost to leave and sickness."""
MAX_TASK_HOURS = 1000.0
"""Most staff hours one task takes (a plan's write-up, a budget's set-up, a review)."""
MAX_MINUTES = 1440.0
"""Longest conversation, contact or review of a plan, minutes (a whole day)."""

# --------------------------------------------------------------------------- counts
MAX_STAFF = 100_000
"""Most people, or whole-time equivalents, in one role (England has a few thousand planners)."""
MAX_CASELOAD = 10_000
"""Largest cap on one person's open planning cases."""
MAX_PANEL_MEMBERS = 1_000
"""Most members at one panel sitting."""
MAX_SESSIONS = 100
"""Most planning conversations one person has."""
MAX_CONTACTS = 1_000
"""Most staff-to-staff contacts about one plan."""
MAX_SUBMISSIONS = 100
"""Most submissions of one plan to sign-off."""
MAX_SIGNOFF_STEPS = 100
"""Most reviewers in a sequential sign-off."""
MAX_REFERRALS_PER_MONTH = 1_000_000.0
MAX_GROWTH_MULTIPLIER = 10_000.0
"""Largest multiplier of a site's referral rates (``delivery.growth``)."""
"""Most referrals (or invitations) a month to one cohort at one site (England: ~62,500 plans)."""
MAX_PEOPLE = 100_000_000
"""Largest eligible population of one cohort at one site (more than England's population)."""
MAX_PEOPLE_PER_BATCH = 1_000_000
"""Most people identified in one batch."""
MAX_PLANS = 10_000_000
"""Most plans or budgets: a year (targets), a sitting, or before a site is experienced."""
MAX_COUNT = 1_000.0
"""Most appointments or contacts per patient (standard care)."""

# --------------------------------------------------------------------------- money
MAX_GBP_PER_HOUR = 1_000.0
"""Highest hourly staff cost, pounds."""
MAX_GBP_PER_PERSON = 1_000_000.0
"""Highest amount per person (a budget a year, a cost per patient, an admission), pounds."""
MAX_GBP = 1e12
"""Highest pot or set-up cost per period, pounds (far above the NHS's whole yearly budget)."""
MAX_GBP_PER_QALY = 10_000_000.0
"""Highest cost-effectiveness threshold, pounds per QALY."""
MAX_MULTIPLIER = 10.0
"""Largest cost multiplier (on-costs, overheads)."""


@dataclass(frozen=True)
class DistributionBound:
    """The range a distribution-valued field's parameters must lie in (a pydantic validator).

    Parameters
    ----------
    low, high
        The range, in ``unit``.
    unit
        Unit of the field, for messages (``"days"``, ``"sessions"``).
    bounded_support
        Only distributions with a highest value (fixed, uniform, triangular, discrete): every
        draw, not only the parameters, then lies in the range. Counts that the model loops
        over (sessions) need it.
    """

    low: float
    high: float
    unit: str
    bounded_support: bool = False

    def __call__(self, dist: Distribution) -> Distribution:
        """``dist`` if its parameters lie in the range, else a ValueError naming the parameter."""
        if self.bounded_support and not isinstance(dist, Fixed | Uniform | Triangular | Discrete):
            raise ValueError(
                f"must be a distribution with a highest value (fixed, uniform, triangular or "
                f"discrete), got {dist.dist}"
            )
        for name, value in dist.parameters():
            if value > self.high:
                raise ValueError(
                    f"{name} must be at most {self.high:,g} {self.unit}, got {value:g}"
                )
            if value < self.low:
                raise ValueError(
                    f"{name} must be at least {self.low:,g} {self.unit}, got {value:g}"
                )
        return dist


Date = Annotated[dt.date, Field(ge=EARLIEST_DATE, le=LATEST_DATE)]
"""A calendar date, 1990-01-01 to 2200-12-31."""
Days = Annotated[float, Field(ge=0, le=LONGEST_DAYS)]
"""Days, 0 to 36,525."""
TaskHours = Annotated[float, Field(ge=0, le=MAX_TASK_HOURS)]
"""Staff hours of one task, 0 to 1,000."""

DaysDistribution = Annotated[
    Distribution, AfterValidator(DistributionBound(0, LONGEST_DAYS, "days"))
]
"""A distribution of days, parameters 0 to 36,525."""
MinutesDistribution = Annotated[
    Distribution, AfterValidator(DistributionBound(0, MAX_MINUTES, "minutes"))
]
"""A distribution of minutes, parameters 0 to 1,440."""
SessionsDistribution = Annotated[
    Distribution,
    AfterValidator(DistributionBound(1, MAX_SESSIONS, "sessions", bounded_support=True)),
]
"""A distribution of sessions, every value 1 to 100."""
ContactsDistribution = Annotated[
    Distribution, AfterValidator(DistributionBound(0, MAX_CONTACTS, "contacts"))
]
"""A distribution of contacts, parameters 0 to 1,000."""
PoundsDistribution = Annotated[
    Distribution, AfterValidator(DistributionBound(0, MAX_GBP_PER_PERSON, "pounds"))
]
"""A distribution of pounds per person, parameters 0 to 1,000,000."""
Effort = (
    TaskHours
    | Annotated[Distribution, AfterValidator(DistributionBound(0, MAX_TASK_HOURS, "hours"))]
)
"""Staff hours for a task, 0 to 1,000: a number, or a distribution drawn per person."""
