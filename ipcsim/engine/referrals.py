"""Referrals: who enters the pathway and when, one generator per identification mode.

Each cohort at each site has one referral process, chosen by ``cohorts.<name>.identification``
from :data:`IDENTIFICATION_MODES`; it starts when the site's design phase ends and stops when
the cohort's eligible population is used up. Each referral starts a
:func:`~ipcsim.engine.journey.journey`. People already in the pathway at the start date (a
warm-start backlog) join it through :func:`enter_backlog`. Time in days since the run's start
date; rates in people a day.

Notes
-----
A constant rate gives a homogeneous Poisson process. A dated schedule, or annual-review
identification (rate proportional to the people still eligible), is a non-homogeneous Poisson
process simulated by thinning (Lewis and Shedler): candidates at the highest rate, each kept
with probability rate(t) / highest rate.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from types import MappingProxyType

import numpy as np

from ipcsim.engine.journey import journey
from ipcsim.engine.runtime import Process, Runtime, SiteRuntime
from ipcsim.periods import day_of
from ipcsim.scenario import Cohort
from ipcsim.scenario.backlog import BacklogPerson
from ipcsim.units import DAYS_PER_MONTH, DAYS_PER_YEAR

__all__ = ["IDENTIFICATION_MODES", "enter_backlog", "refer", "referrals"]


def referrals(runtime: Runtime, site: SiteRuntime, cohort_name: str) -> Process:
    """The referral process of one cohort at one site (its identification mode's generator).

    Not a generator itself: it hands back the mode's, one level less to resume.
    """
    identification = site.config.cohorts[cohort_name].identification
    return IDENTIFICATION_MODES[identification](runtime, site, cohort_name)


def poisson_referrals(runtime: Runtime, site: SiteRuntime, cohort_name: str) -> Process:
    """Referrals at the cohort's rate (people a month) or its schedule's, times the site's growth.

    The growth (``delivery.growth``) is measured from the end of the site's design phase. A
    constant rate is a Poisson process; a schedule or a growth path is thinned from the
    highest rate.
    """
    env = runtime.env
    cohort = site.config.cohorts[cohort_name]
    delivery = site.config.delivery
    arrivals = runtime.streams[f"arrivals.{site.name}.{cohort_name}"]
    if site.delivery_day > 0:
        yield env.timeout(site.delivery_day)
    thinning = bool(cohort.referral_schedule or delivery.growth)
    rates = [cohort.referrals_per_month] + [p.referrals_per_month for p in cohort.referral_schedule]
    peak = max(rates) * delivery.highest / DAYS_PER_MONTH
    if peak <= 0:
        return
    start = runtime.scenario.run.start_date
    delivery_day = site.delivery_day
    while site.eligible_left[cohort_name] != 0:
        yield env.timeout(float(arrivals.exponential(1.0 / peak)))
        if thinning:
            rate = _rate_per_day(cohort, env.now, start)
            if delivery.growth:
                rate *= delivery.multiplier((env.now - delivery_day) / DAYS_PER_MONTH)
            if arrivals.random() * peak >= rate:
                continue
        refer(runtime, site, cohort_name)


def _rate_per_day(cohort: Cohort, day: float, start_date: dt.date) -> float:
    """Referral rate (people a day) of a cohort at ``day``, from its schedule.

    ``step``: each point's rate holds from its date to the next point's. ``linear``: the rate
    runs in a straight line from each point to the next (after the last point, the last
    rate); before the first point, ``referrals_per_month`` either way.
    """
    rate = cohort.referrals_per_month
    points = cohort.referral_schedule
    for i, point in enumerate(points):
        begins = day_of(point.date, start_date)
        if begins > day:
            break
        rate = point.referrals_per_month
        if cohort.referral_interpolation == "linear" and i + 1 < len(points):
            ends = day_of(points[i + 1].date, start_date)
            if day < ends:
                share = (day - begins) / (ends - begins)
                rate += share * (points[i + 1].referrals_per_month - rate)
    return rate / DAYS_PER_MONTH


def annual_review_referrals(runtime: Runtime, site: SiteRuntime, cohort_name: str) -> Process:
    """Identification at annual reviews: a rate proportional to the people still eligible.

    Each eligible person is identified at ``engagement_factor`` a year; thinned from the rate
    of the whole eligible population.
    """
    env = runtime.env
    cohort = site.config.cohorts[cohort_name]
    arrivals = runtime.streams[f"arrivals.{site.name}.{cohort_name}"]
    if site.delivery_day > 0:
        yield env.timeout(site.delivery_day)
    population = cohort.eligible_population or 0
    peak = population * cohort.engagement_factor / DAYS_PER_YEAR
    if peak <= 0:
        return
    while site.eligible_left[cohort_name] != 0:
        yield env.timeout(float(arrivals.exponential(1.0 / peak)))
        left = site.eligible_left[cohort_name] or 0
        rate = left * cohort.engagement_factor / DAYS_PER_YEAR
        if arrivals.random() * peak >= rate:
            continue
        refer(runtime, site, cohort_name)


def batch_referrals(runtime: Runtime, site: SiteRuntime, cohort_name: str) -> Process:
    """Batch identification from a linked dataset, referrals spread over a few days."""
    env = runtime.env
    cohort = site.config.cohorts[cohort_name]
    arrivals = runtime.streams[f"arrivals.{site.name}.{cohort_name}"]
    if site.delivery_day > 0:
        yield env.timeout(site.delivery_day)
    start = runtime.scenario.run.start_date
    for batch in sorted(cohort.batches, key=lambda b: b.date):
        day = max(day_of(batch.date, start), env.now)
        yield env.timeout(day - env.now)
        left = site.eligible_left[cohort_name]
        size = batch.people if left is None else min(batch.people, left)
        offsets = np.sort(arrivals.uniform(0.0, batch.spread_days, size))
        begun = env.now
        for offset in offsets:
            yield env.timeout(begun + float(offset) - env.now)
            refer(runtime, site, cohort_name)


IDENTIFICATION_MODES: Mapping[str, Callable[[Runtime, SiteRuntime, str], Process]] = (
    MappingProxyType(
        {
            "practitioner": poisson_referrals,
            "mass_invitation": poisson_referrals,
            "annual_review": annual_review_referrals,
            "batch": batch_referrals,
        }
    )
)
"""The referral process of each ``identification`` mode: ``(runtime, site, cohort name)``."""


def refer(runtime: Runtime, site: SiteRuntime, cohort_name: str) -> None:
    """Someone in ``cohort_name`` is referred now: draw them and start their journey."""
    left = site.eligible_left[cohort_name]
    if left is not None:
        site.eligible_left[cohort_name] = left - 1
    person = runtime.new_person(site, cohort_name)
    draws = runtime.draw_person(site, cohort_name)
    person.sessions_planned = len(draws.session_hours)
    runtime.env.process(journey(runtime, person, site, draws))


def enter_backlog(runtime: Runtime, entry: BacklogPerson) -> None:
    """Someone already waiting at the start date joins after the milestone they reached.

    Their milestone day is ``waiting_since`` (on or before the start date, so zero or
    negative); their draws come from the ``backlog-`` streams.
    """
    site = runtime.sites[entry.site]
    day = day_of(entry.waiting_since, runtime.scenario.run.start_date)
    # The file's person_id is given back after the run (ipcsim.engine.partition.number_people).
    log = runtime.log
    person = log.add_person(log.people_count, site.name, entry.cohort, math.nan)
    person.backlog_stage = entry.stage
    # Each backlog stage names its milestone column (ipcsim.pathway.MILESTONES).
    setattr(person, f"{entry.stage}_day", day)
    draws = runtime.draw_person(site, entry.cohort, prefix="backlog-")
    person.sessions_planned = len(draws.session_hours)
    left = site.eligible_left[entry.cohort]
    if left is not None:
        site.eligible_left[entry.cohort] = max(0, left - 1)
    runtime.env.process(journey(runtime, person, site, draws, entered_at=entry.stage))
