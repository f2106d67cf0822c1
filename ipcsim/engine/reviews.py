"""A site's review policy for plans in place: which reviews fall due in a plan's life.

One policy object per value of ``pathway.reviews`` (:data:`REVIEW_POLICIES`), chosen once
per site and replication by :func:`site_review_policy`: whether a site holds reviews at all
is a property of the site (P50: 1 of 4 thematic sites had a review process), not a coin
tossed for each review. Days since the run's start date.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Protocol

from ipcsim.scenario import Pathway
from ipcsim.scenario.bounds import MIN_REVIEW_INTERVAL_DAYS

__all__ = [
    "REVIEW_POLICIES",
    "NoReviews",
    "ReviewPolicy",
    "ScheduledReviews",
    "site_review_policy",
]

LAST_WEEK_DAYS = MIN_REVIEW_INTERVAL_DAYS
"""A review due this close to a plan's end is taken by the end-of-plan conversation, days."""


class ReviewPolicy(Protocol):
    """Which reviews of a plan fall due between the start and the end of one of its lives."""

    def due(self, life_start: float, life_end: float) -> Iterator[float]:
        """Days the reviews of one plan life fall due, in order (endless for an ongoing plan)."""
        ...


class NoReviews:
    """No reviews: the plan runs its life untouched (P50: 3 of 4 thematic sites)."""

    def due(self, life_start: float, life_end: float) -> Iterator[float]:
        """No days at all."""
        return iter(())


class ScheduledReviews:
    """A review every ``interval_days`` from the start of each plan life (P49).

    Parameters
    ----------
    interval_days
        Days between reviews.

    Notes
    -----
    A review due in the plan's last week (:data:`LAST_WEEK_DAYS`) is left out: the
    conversation at the end of the plan's life (renewal) takes its place, so a yearly review
    of a plan that lasts a year is that conversation, not a second meeting days before it.
    """

    def __init__(self, interval_days: float) -> None:
        self.interval_days = interval_days

    def due(self, life_start: float, life_end: float) -> Iterator[float]:
        """Days ``life_start + k * interval_days`` for k = 1, 2, ... before the last week."""
        last = life_end - LAST_WEEK_DAYS
        days = (life_start + k * self.interval_days for k in itertools.count(1))
        return itertools.takewhile(last.__gt__, days)


REVIEW_POLICIES: Mapping[str, Callable[[Pathway], ReviewPolicy]] = MappingProxyType(
    {
        "none": lambda pathway: NoReviews(),
        "scheduled": lambda pathway: ScheduledReviews(pathway.review_interval_days),
    }
)
"""The policy of each ``pathway.reviews`` value, built from the site's pathway settings."""


def site_review_policy(pathway: Pathway, uniform: Callable[[], float]) -> ReviewPolicy:
    """The review policy a site follows in this replication.

    Parameters
    ----------
    pathway
        The site's pathway settings: ``reviews``, ``review_interval_days`` and
        ``review_site_probability``.
    uniform
        One uniform draw on [0, 1) from the site's own stream for this choice; not called
        when the probability is 0 or 1.

    Returns
    -------
    ReviewPolicy
        :class:`NoReviews` for ``reviews = "none"``, or for a site that turns out not to hold
        reviews (probability ``1 - review_site_probability``); else the configured policy.
    """
    probability = pathway.review_site_probability
    holds = probability >= 1.0 or (probability > 0.0 and uniform() < probability)
    if not holds:
        return NoReviews()
    return REVIEW_POLICIES[pathway.reviews](pathway)
