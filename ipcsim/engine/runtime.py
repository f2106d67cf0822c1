"""What the processes of one run share: the clock, the records, the streams and the sites.

:class:`~ipcsim.engine.model.PathwayModel` builds one :class:`Runtime` and one
:class:`SiteRuntime` per site; the journeys, referrals, sign-off, budget pot and staffing
processes read and update them. Nothing here crosses to a worker process: a run builds its
model, and so its runtime, inside the worker that runs it. No global state: two runtimes in
one process are independent.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import simpy

from ipcsim.engine.diary import Diary
from ipcsim.engine.draws import CohortDraws, PersonDraws
from ipcsim.engine.records import EventLog, PersonRecord
from ipcsim.engine.reviews import NoReviews, ReviewPolicy
from ipcsim.engine.rng import Streams
from ipcsim.engine.staff import StaffPool
from ipcsim.scenario import Scenario, SiteConfig

if TYPE_CHECKING:
    from ipcsim.engine.budget_pot import Envelope
    from ipcsim.engine.signoff import SignOff

Process = Generator[simpy.Event, Any, Any]
"""A SimPy process function's generator."""


@dataclass
class SiteRuntime:
    """One site while the simulation runs: settings, staff, sign-off, pot, reviews, counters.

    Each site keeps its own :class:`~ipcsim.engine.diary.Diary`, so the order of its events
    depends on nothing but the site and what it shares: the same whichever other sites run in
    the same simulation (see :mod:`ipcsim.scenario.partition`).
    """

    name: str
    config: SiteConfig
    pools: dict[str, StaffPool]
    signoff: SignOff
    delivery_day: float
    diary: Diary
    envelope: Envelope | None = None
    reviews: ReviewPolicy = field(default_factory=NoReviews)
    signed_off: int = 0
    eligible_left: dict[str, int | None] = field(default_factory=dict)

    def learning_progress(self) -> float:
        """0 for a new site, 1 once it has signed off enough plans to be experienced."""
        return self.config.learning.progress(self.signed_off)

    def rework_probability(self) -> float:
        """Rework probability now, on the site's learning curve (P32 falling to P33)."""
        start = self.config.signoff.rework_probability
        final = self.config.learning.final_rework_probability
        if self.config.learning.plans_to_learn == 0:
            return start
        return start + (final - start) * self.learning_progress()

    def session_multiplier(self) -> float:
        """Planning-time multiplier now, on the site's learning curve (P64)."""
        final = self.config.learning.final_session_multiplier
        if self.config.learning.plans_to_learn == 0:
            return 1.0
        return 1.0 - (1.0 - final) * self.learning_progress()


class Runtime:
    """The state every process of one run shares.

    Parameters
    ----------
    scenario
        The validated scenario (read, never changed).
    env
        The SimPy environment; time in days since the run's start date.
    streams
        The run's named random streams.
    log
        Where the run's records go.

    Notes
    -----
    A person's ``person_id`` while the run runs is their row in the log; the run's own ids
    are given afterwards, the same however the sites were split into simulations
    (:func:`ipcsim.engine.partition.number_people`). Nothing counts people across sites.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        env: simpy.Environment,
        streams: Streams,
        log: EventLog,
    ) -> None:
        self.scenario = scenario
        self.env = env
        self.streams = streams
        self.log = log
        self.horizon_days = scenario.run.horizon_days
        self.sites: dict[str, SiteRuntime] = {}
        self._cohort_draws: dict[tuple[str, str, str], CohortDraws] = {}

    def new_person(self, site: SiteRuntime, cohort_name: str) -> PersonRecord:
        """A person referred now to ``site`` in ``cohort_name`` (a new row of the log)."""
        log = self.log
        return log.add_person(log.people_count, site.name, cohort_name, self.env.now)

    def draw_person(self, site: SiteRuntime, cohort_name: str, *, prefix: str = "") -> PersonDraws:
        """Draw everything random about one person (see :mod:`ipcsim.engine.draws`)."""
        key = (site.name, cohort_name, prefix)
        draws = self._cohort_draws.get(key)
        if draws is None:
            draws = CohortDraws(self.streams, site.config, cohort_name, prefix)
            self._cohort_draws[key] = draws
        return draws()
