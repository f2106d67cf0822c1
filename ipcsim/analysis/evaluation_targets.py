"""Where a run of the programme as it was lands against the evaluation's findings (V01-V13).

The evidence pack (``../shared/evidence/ipc-evidence.md``, §9) lists what the national IPC
evaluation found. Each comparable finding is a :class:`Finding`: the evaluation's words, how
the model's figure is measured from the ``people`` table, and the window it must fall in.
A finding that set an input (its ``set_by``) is reproduced by construction, so landing inside
it is reported but is not a validation. Findings the model cannot be compared with are listed
in :data:`NOT_COMPARABLE` with the reason.

Pure functions of the records: nothing here runs the model (``scripts/as_was_targets.py`` does).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipcsim.periods import day_of

__all__ = [
    "FINDINGS",
    "NOT_COMPARABLE",
    "Finding",
    "compare",
    "measure",
]

EVALUATION_CUTOFF = dt.date(2018, 3, 31)
"""V01 counts plans "by March 2018"."""
MIN_PEOPLE_PER_SITE = 10
"""Sites with fewer people reaching a wait's end are left out of per-site medians."""
SLOW_PLANS_PER_YEAR = 5.0
"""V11's "no real progress": fewer plans a year than this (a flat pilot signs off 10-15)."""
FOLLOW_UP_DAYS = 270.0
"""V07's "about 9 months" of follow-up (median interval 9 months, 001:L1284)."""


@dataclass(frozen=True)
class Finding:
    """One evaluation finding and the model figure compared with it."""

    key: str
    target: str
    finding: str
    measure: str
    low: float
    high: float
    set_by: str = ""
    """Inputs set from this finding (then it is reproduced, not validated); empty if none."""

    def inside(self, value: float) -> bool:
        """Whether ``value`` falls in the finding's window."""
        return math.isfinite(value) and self.low <= value <= self.high


# V07's windows: the observed share +/- two binomial standard errors of its 138 followed-up
# people (001:L1284): sqrt(0.67 * 0.33 / 138) = 0.040, sqrt(0.41 * 0.59 / 138) = 0.042.
FINDINGS: tuple[Finding, ...] = (
    Finding(
        "sites_under_50_plans",
        "V01",
        'completed plans per site by March 2018 "generally under 50"',
        "share of sites with fewer than 50 plans signed off by 2018-03-31 (more than half)",
        0.5,
        1.0,
    ),
    Finding(
        "planning_days_median",
        "V03",
        "planning takes up to 2 weeks with 1-3 meetings",
        "median days from first conversation to plan written, people with 1-3 conversations",
        0.0,
        14.0,
    ),
    Finding(
        "first_conversation_days_quickest_site",
        "V04",
        'invitation to first conversation from "quick" ...',
        "the quickest site's median days from consent to first conversation (2 weeks or less)",
        0.0,
        14.0,
    ),
    Finding(
        "first_conversation_days_slowest_site",
        "V04",
        '... to "months"',
        "the slowest site's median days from consent to first conversation (2 months or more)",
        61.0,
        math.inf,
    ),
    Finding(
        "planning_and_budget_days_slowest_site",
        "V05",
        'planning plus budget setting "up to 4 months" at some sites',
        "the slowest site's median days from first conversation to budget agreed (2-5 months)",
        61.0,
        152.0,
    ),
    Finding(
        "signoff_days_median",
        "V06",
        "sign-off typically within a day",
        "median days from the plan's submission to its sign-off (about a day: 0.5-1.5)",
        0.5,
        1.5,
        set_by="P30 (the individual sign-off delay's median of 1 day comes from this finding)",
    ),
    Finding(
        "plan_share_at_9_months",
        "V07",
        "67 % of an enrolled cohort had a plan about 9 months on",
        "share of consented people with a plan signed off within 270 days of consent (0.67 "
        "+/- 2 binomial SE of n = 138)",
        0.59,
        0.75,
        set_by="withdrawal_probability_before_first_session of the as-was scenario (0.15, "
        "within P53's range 0-0.2) was chosen so that this lands",
    ),
    Finding(
        "budget_share_at_9_months",
        "V07",
        "41 % of an enrolled cohort had a budget about 9 months on",
        "share of consented people with a budget released within 270 days of consent (0.41 "
        "+/- 2 binomial SE)",
        0.33,
        0.49,
        set_by="as the plan share (the same withdrawal setting); P(budget | plan) from P36/P37",
    ),
    Finding(
        "sites_without_progress",
        "V11",
        '3 of 17 sites made "no real progress"',
        "sites signing off fewer than 5 plans a year from their first referral to the end "
        "of the run (2-4)",
        2.0,
        4.0,
        set_by="P07 (the stalled profile's share of sites comes from this finding)",
    ),
)
"""The comparable findings, in evidence-pack order."""

NOT_COMPARABLE: tuple[tuple[str, str], ...] = (
    ("V02", "qualitative (no site at scale, most piloting one cohort): the profiles encode it"),
    (
        "V03 (second half)",
        "3-4 months with up to 10 meetings is the peer-coach variant (P17), which no as-was "
        "site runs",
    ),
    (
        "V08",
        "time from plan to a new care package: a third did not answer, and the model's "
        "service waits (P52) are an assumption",
    ),
    ("V09", "+4.2 appointments and +2.4 contacts are inputs (P23), not outputs"),
    ("V10", '"reached" counts a wider population than the people the model plans with'),
    ("V12", "goal attainment is an outcome the model does not simulate"),
    ("V13", "ASCOT change is an outcome the model does not simulate"),
)
"""Findings the model cannot be compared with, and why."""


def measure(people: pd.DataFrame, start_date: dt.date, horizon_days: float) -> dict[str, float]:
    """The model's figure for each of :data:`FINDINGS`, from one run's ``people`` table.

    Parameters
    ----------
    people
        The run's people (all sites).
    start_date
        The run's start date.
    horizon_days
        The run's length, days.

    Returns
    -------
    dict
        :attr:`Finding.key` -> figure (NaN where no one qualifies).
    """
    cutoff = day_of(EVALUATION_CUTOFF, start_date)
    sites = sorted(set(people["site"]))
    by_cutoff = people[people["signed_off_day"] <= cutoff].groupby("site").size()
    plans_by_cutoff = by_cutoff.reindex(sites, fill_value=0)
    sessions_held = people["sessions_held"]
    planning = (people["plan_written_day"] - people["first_conversation_day"])[sessions_held <= 3]
    to_first = people["first_conversation_day"] - people["consented_day"]
    to_budget = people["budget_agreed_day"] - people["first_conversation_day"]
    signoff = people["signed_off_day"] - people["submitted_day"]
    followed = people[people["consented_day"] <= horizon_days - FOLLOW_UP_DAYS]
    within = followed["consented_day"] + FOLLOW_UP_DAYS
    return {
        "sites_under_50_plans": float((plans_by_cutoff < 50).mean()) if sites else math.nan,
        "planning_days_median": _median(planning),
        "first_conversation_days_quickest_site": _site_medians(to_first, people).min(),
        "first_conversation_days_slowest_site": _site_medians(to_first, people).max(),
        "planning_and_budget_days_slowest_site": _site_medians(to_budget, people).max(),
        "signoff_days_median": _median(signoff),
        "plan_share_at_9_months": _share(followed["signed_off_day"] <= within),
        "budget_share_at_9_months": _share(followed["budget_released_day"] <= within),
        "sites_without_progress": _sites_without_progress(people, horizon_days),
    }


def compare(figures: Sequence[Mapping[str, float]]) -> pd.DataFrame:
    """Each finding against the model's figures over several runs (seeds).

    Parameters
    ----------
    figures
        :func:`measure` of each run.

    Returns
    -------
    DataFrame
        One row per finding: ``target``, ``finding``, ``measure``, ``low``, ``high``, the mean,
        lowest and highest figure over the runs, ``runs_inside`` (how many runs landed in the
        window), ``inside`` (the mean is in the window) and ``validation`` (False when the
        finding set an input, ``set_by``).
    """
    rows = []
    for finding in FINDINGS:
        values = np.array([run[finding.key] for run in figures], dtype=float)
        finite = values[np.isfinite(values)]
        mean = float(finite.mean()) if finite.size else math.nan
        rows.append(
            {
                "key": finding.key,
                "target": finding.target,
                "finding": finding.finding,
                "measure": finding.measure,
                "low": finding.low,
                "high": finding.high,
                "mean": mean,
                "lowest": float(finite.min()) if finite.size else math.nan,
                "highest": float(finite.max()) if finite.size else math.nan,
                "runs_inside": int(sum(finding.inside(v) for v in values)),
                "runs": len(values),
                "inside": finding.inside(mean),
                "validation": not finding.set_by,
                "set_by": finding.set_by,
            }
        )
    return pd.DataFrame(rows)


def _sites_without_progress(people: pd.DataFrame, horizon_days: float) -> float:
    """Sites signing off fewer than 5 plans a year from their first referral on."""
    if people.empty:
        return math.nan
    by_site = people.groupby("site", observed=True)
    delivering_years = (horizon_days - by_site["referred_day"].min()) / 365.25
    plans = by_site["signed_off_day"].count()
    return float((plans < SLOW_PLANS_PER_YEAR * delivering_years).sum())


def _median(values: pd.Series) -> float:
    values = values.dropna()
    return float(values.median()) if len(values) else math.nan


def _share(flags: pd.Series) -> float:
    return float(flags.mean()) if len(flags) else math.nan


def _site_medians(values: pd.Series, people: pd.DataFrame) -> pd.Series:
    """Each site's median of ``values``, for sites where enough people have one."""
    known = values.dropna()
    grouped = known.groupby(people.loc[known.index, "site"], observed=True)
    medians = grouped.median()[grouped.size() >= MIN_PEOPLE_PER_SITE]
    return medians if len(medians) else pd.Series([math.nan])
