"""One simulation of a calibration, run in a worker: a particle's scenario -> its observed points.

A :class:`SimulationTask` crosses to the worker and a :class:`SimulationResult` comes back:
plain frozen dataclasses, :func:`simulate` a top-level function, so every executor (serial,
process pool, Dask) can run it. The worker returns only the simulated values of the observed
points, never the tables.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ipcsim.analysis import metrics, waits
from ipcsim.experiment.calibration.problem import Target
from ipcsim.run import TOTAL_SITE, entered_people, simulate_records
from ipcsim.scenario import Scenario
from ipcsim.units import DAYS_PER_WEEK

__all__ = ["SimulationResult", "SimulationTask", "simulate"]


@dataclass(frozen=True)
class SimulationTask:
    """One simulation (picklable, no callables).

    Attributes
    ----------
    generation, index
        Which proposal of which generation (the predictive runs have their own generation).
    scenario
        The particle's validated scenario.
    seed, replication
        The run's streams (:class:`ipcsim.engine.rng.Streams`).
    targets
        The observed points whose simulated values come back.
    """

    generation: int
    index: int
    scenario: Scenario
    seed: int
    replication: int
    targets: tuple[Target, ...]


@dataclass(frozen=True)
class SimulationResult:
    """What a worker sends back: one simulated value per target."""

    generation: int
    index: int
    values: tuple[float, ...]
    rng_streams: tuple[str, ...]
    wall_time_s: float


def _site_people(people: pd.DataFrame, site_row: str) -> pd.DataFrame:
    return people if site_row == TOTAL_SITE else people[people["site"].astype(str) == site_row]


def _wait_value(found: waits.CensoredWaits, target: Target, horizon_days: float) -> float:
    """A wait summary of the people referred in the target's period (:mod:`~.series`).

    ``found`` holds every wait of the target's kind and site.
    """
    mine = (found.start >= target.start_day) & (found.start < target.end_day)
    group = waits.CensoredWaits(
        start=found.start[mine],
        length=found.length[mine],
        completed=found.completed[mine],
        waiting=found.waiting[mine],
    )
    weeks = target.kind.weeks
    if weeks is not None:
        share = waits.share_within(group, weeks * DAYS_PER_WEEK, horizon_days=horizon_days)
        return math.nan if share is None else share
    if group.start.size == 0:
        return math.nan
    median = waits.wait_summary(group, horizon_days=horizon_days)["p50"]
    # Not estimable: fewer than half reached the milestone; the longest follow-up bounds it.
    return horizon_days - target.start_day if median is None else float(median)


def simulate(task: SimulationTask) -> SimulationResult:
    """Run the particle's scenario and read the simulated value of every observed point.

    Counts (referrals, plans signed off, budgets released) are added over the period's months;
    ``open_cases_end`` is the value at the period's last month; wait summaries are of the
    people referred in the period. Only the records are simulated
    (:func:`ipcsim.run.simulate_records`); the counts are those ``run_scenario`` writes to
    ``timeseries``.
    """
    began = time.perf_counter()
    scenario = task.scenario
    run = scenario.run
    records = simulate_records(scenario, seed=task.seed, replication=task.replication)
    entered = entered_people(records.people)
    counts: dict[str, dict[str, object]] = {}
    found: dict[tuple[str, str], waits.CensoredWaits] = {}
    values = []
    for target in task.targets:
        stage = target.kind.stage
        if stage is not None:
            if (target.site_row, stage) not in found:
                found[target.site_row, stage] = waits.censored_waits(
                    _site_people(records.people, target.site_row),
                    stage,
                    horizon_days=run.horizon_days,
                )
            values.append(_wait_value(found[target.site_row, stage], target, run.horizon_days))
            continue
        if target.site_row not in counts:
            counts[target.site_row] = metrics.monthly_counts(
                _site_people(entered, target.site_row),
                start_date=run.start_date,
                horizon_days=run.horizon_days,
                site=target.site_row,
            )
        column = np.asarray(counts[target.site_row][target.series], dtype=float)
        last = target.first_month + target.months - 1
        if last >= len(column):
            values.append(math.nan)
        elif target.at_end:
            values.append(float(column[last]))
        else:
            values.append(float(np.sum(column[target.first_month : last + 1])))
    return SimulationResult(
        generation=task.generation,
        index=task.index,
        values=tuple(values),
        rng_streams=tuple(records.streams),
        wall_time_s=time.perf_counter() - began,
    )
