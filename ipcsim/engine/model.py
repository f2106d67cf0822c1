"""The SimPy model of the IPC pathway: one process per referred person, at one or more sites.

The model reads a validated :class:`~ipcsim.scenario.Scenario` and never changes it; it writes
tidy records to an :class:`~ipcsim.engine.records.EventLog`. Time is in days since the run's
start date; staff effort is in hours.

:class:`PathwayModel` builds the run's state (:mod:`ipcsim.engine.runtime`: the sites with
their staff pools, sign-off and budget pot), starts the processes and runs the clock. The
processes live in their own modules, read in this order: :mod:`~ipcsim.engine.referrals` (who
enters, and when), :mod:`~ipcsim.engine.journey` (the care pathway of one person, top to
bottom), :mod:`~ipcsim.engine.signoff` (how a plan gets its decision),
:mod:`~ipcsim.engine.budget_pot` (the budget pot each period) and
:mod:`~ipcsim.engine.staffing` (dated staff changes, turnover, new starters).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import simpy

from ipcsim.engine.budget_pot import Envelope
from ipcsim.engine.diary import Diary
from ipcsim.engine.records import EventLog
from ipcsim.engine.referrals import enter_backlog, referrals
from ipcsim.engine.reviews import site_review_policy
from ipcsim.engine.rng import Streams
from ipcsim.engine.runtime import Runtime, SiteRuntime
from ipcsim.engine.signoff import SIGNOFF_MODES, PanelSignOff, SignOff
from ipcsim.engine.staff import StaffPool
from ipcsim.engine.staffing import start_staffing_plan
from ipcsim.engine.worktime import make_calendar
from ipcsim.periods import day_of, month_starts
from ipcsim.scenario import Role, Scenario, SiteConfig
from ipcsim.scenario.backlog import BacklogPerson
from ipcsim.units import DAYS_PER_MONTH

PROGRESS_STEPS = 100


@dataclass(frozen=True)
class PoolCapacity:
    """IPC hours one staff pool could deliver, as staffed over the run (plain data).

    Attributes
    ----------
    name
        ``<site>.<role>`` for a site's own pool, the pool's name for a shared one.
    site
        The site of its own pool; ``None`` for a pool shared by several sites.
    role
        The role written in records.
    monthly_hours
        Hours in each calendar month of the run (:func:`ipcsim.periods.month_starts`);
        ``None`` for an unlimited role.
    run_hours
        Hours over the whole run; ``None`` for an unlimited role.
    """

    name: str
    site: str | None
    role: str
    monthly_hours: tuple[float, ...] | None
    run_hours: float | None


QUIET_GC_THRESHOLD = 100_000
"""First-generation threshold of the cyclic garbage collector while a run runs."""


@contextlib.contextmanager
def quiet_cyclic_gc() -> Iterator[None]:
    """Let the cyclic garbage collector skip the growing heap of records while a run runs.

    Notes
    -----
    A run keeps every record until its end, so CPython's cyclic collector would walk an
    ever larger heap again and again (it took a third of a national run's time). Objects
    alive before the run are frozen and the first-generation threshold raised; both are
    restored afterwards, so nothing outlives the run. Inside another ``quiet_cyclic_gc``
    (several groups of sites simulated one after another) it does nothing: the full
    collection it starts with costs tens of milliseconds each time.
    """
    if gc.get_threshold()[0] == QUIET_GC_THRESHOLD:
        yield
        return
    gc.collect()
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(QUIET_GC_THRESHOLD, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


class PathwayModel:
    """The IPC pathway for one scenario and one replication.

    Parameters
    ----------
    scenario
        The validated scenario.
    replication
        Replication number; with the scenario's seed it selects the random streams.
    seed
        Overrides ``scenario.run.seed`` when given.
    backlog
        People already in the pathway at the start date (see :mod:`ipcsim.scenario.backlog`),
        at the scenario's sites.

    Notes
    -----
    Sites that share no pool or panel do not interact: the model of a group of them
    (:func:`ipcsim.scenario.partition.sub_scenario`) gives the same records for its sites as
    the model of the whole scenario. Every random stream is named by its site, shared pool or
    panel; each site keeps its own diary; the processes of a group start in the same order
    in both; and SimPy orders events of equal time by when they were scheduled, which, for
    one group's events, does not depend on the other groups'. Person ids are given after the
    run (:func:`ipcsim.engine.partition.number_people`).
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        replication: int = 0,
        seed: int | None = None,
        backlog: tuple[BacklogPerson, ...] = (),
    ):
        self.scenario = scenario
        self.env = simpy.Environment()
        self.calendar = make_calendar(scenario.run)
        self.seed = scenario.run.seed if seed is None else seed
        self.streams = Streams(self.seed, replication)
        self.log = EventLog(scenario.run.horizon_days)
        self.backlog = backlog
        self.runtime = Runtime(scenario, env=self.env, streams=self.streams, log=self.log)
        self.shared_pools: dict[str, StaffPool] = {}
        self.shared_panels: dict[str, PanelSignOff] = {}
        self.sites = self.runtime.sites
        start = scenario.run.start_date
        for config in scenario.site_configs:
            name = config.site.name
            joined = day_of(config.site.start_date or start, start)
            envelope = None
            if config.budget_envelope is not None:
                envelope = Envelope(self.env, config.budget_envelope)
            self.sites[name] = SiteRuntime(
                name=name,
                config=config,
                pools=self._site_pools(config),
                signoff=self._site_signoff(config),
                delivery_day=joined + config.site.design_phase_months * DAYS_PER_MONTH,
                diary=Diary(self.env, scenario.run.horizon_days),
                envelope=envelope,
                reviews=site_review_policy(config.pathway, self._uniform(f"review_policy.{name}")),
                eligible_left={
                    c: cohort.eligible_population for c, cohort in config.cohorts.items()
                },
            )

    def _uniform(self, stream: str) -> Callable[[], float]:
        """One uniform draw from ``stream`` when called (the stream is made only then)."""
        return lambda: float(self.streams[stream].random())

    def _site_pools(self, config: SiteConfig) -> dict[str, StaffPool]:
        """The site's staff pool of each role: its own, or one shared with other sites."""
        scenario = self.scenario
        name = config.site.name
        priority = config.pathway.priority
        pools = {}
        for role_name, role in sorted(config.workforce.items()):
            shared = scenario.shared_pool_for(name, role_name)
            if shared is None:
                # Member names must be unique across sites: prefix the site when several.
                pool_name = f"{name}.{role_name}" if scenario.sites else role_name
                pools[role_name] = self._pool(pool_name, role_name, role, priority)
            else:
                if shared not in self.shared_pools:
                    self.shared_pools[shared] = self._pool(shared, role_name, role, priority)
                pools[role_name] = self.shared_pools[shared]
        return pools

    def _pool(self, name: str, role_name: str, role: Role, priority: str) -> StaffPool:
        return StaffPool(
            self.env,
            name=name,
            role=role,
            calendar=self.calendar,
            priority=priority,
            role_label=role_name,
        )

    def _site_signoff(self, config: SiteConfig) -> SignOff:
        """The site's sign-off (:data:`~ipcsim.engine.signoff.SIGNOFF_MODES`), or a shared panel."""
        signoff = config.signoff
        shared = None
        if signoff.mode == "panel":
            shared = self.scenario.shared_panel_for(config.site.name)
        if shared is None:
            return SIGNOFF_MODES[signoff.mode](self.runtime, signoff)
        if shared not in self.shared_panels:
            panel = self.scenario.shared_panels[shared]
            self.shared_panels[shared] = PanelSignOff(self.runtime, signoff, panel=panel)
        return self.shared_panels[shared]

    @property
    def pools(self) -> dict[str, StaffPool]:
        """Every distinct staff pool, keyed ``<site>.<role>`` or by shared pool name."""
        result: dict[str, StaffPool] = {}
        for site in self.sites.values():
            for role_name, pool in site.pools.items():
                if pool in self.shared_pools.values():
                    result[pool.name] = pool
                else:
                    result[f"{site.name}.{role_name}"] = pool
        return result

    def pool_capacities(self) -> list[PoolCapacity]:
        """Every distinct pool's available hours: each site's own pools, then shared ones.

        Read after :meth:`run` (staffing changes over the run). Own pools come site by site
        in the scenario's order, roles sorted; shared pools in the order sites first use them.
        """
        run = self.scenario.run
        months = month_starts(run.start_date, run.horizon_days)
        shared = list(self.shared_pools.values())
        owned = [
            (f"{site.name}.{role_name}", site.name, pool)
            for site in self.sites.values()
            for role_name, pool in site.pools.items()
            if pool not in shared
        ]
        pools = owned + [(pool.name, None, pool) for pool in shared]
        return [
            PoolCapacity(
                name=name,
                site=site,
                role=pool.role_label,
                monthly_hours=None
                if pool.unlimited
                else tuple(pool.available_hours(start, end) for _, start, end in months),
                run_hours=None if pool.unlimited else pool.available_hours(0.0, run.horizon_days),
            )
            for name, site, pool in pools
        ]

    # ----------------------------------------------------------------- running
    def run(self, *, progress: Callable[[float], None] | None = None) -> EventLog:
        """Simulate to the horizon and return the records.

        Parameters
        ----------
        progress
            Called with the share of the horizon simulated so far (0 to 1), about a hundred
            times a run; the records do not depend on it.
        """
        env, runtime = self.env, self.runtime
        shared_panels = [id(panel) for panel in self.shared_panels.values()]
        shared_pools = [id(pool) for pool in self.shared_pools.values()]
        for person in self.backlog:
            enter_backlog(runtime, person)
        for site in self.sites.values():
            for name in sorted(site.config.cohorts):
                env.process(referrals(runtime, site, name))
            if id(site.signoff) not in shared_panels:
                site.signoff.start()
            if site.envelope is not None:
                env.process(site.envelope.periods(self.scenario.run))
            for role_name, pool in sorted(site.pools.items()):
                if id(pool) not in shared_pools:
                    start_staffing_plan(runtime, site.name, role_name, pool)
        # Shared panels and pools last, each once.
        for panel in self.shared_panels.values():
            panel.start()
        for pool_name, pool in sorted(self.shared_pools.items()):
            start_staffing_plan(runtime, "shared", pool_name, pool)
        horizon = self.scenario.run.horizon_days
        with quiet_cyclic_gc():
            if progress is None:
                env.run(until=horizon)
            else:
                # Stopping at checkpoints only adds stop events; the order of the model's own
                # events (and so every record) is unchanged.
                for step in range(1, PROGRESS_STEPS + 1):
                    env.run(until=horizon * step / PROGRESS_STEPS)
                    progress(step / PROGRESS_STEPS)
        return self.log
