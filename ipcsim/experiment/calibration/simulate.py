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

from ipcsim.experiment.calibration.problem import Target
from ipcsim.run import run_scenario
from ipcsim.scenario import Scenario

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


def simulate(task: SimulationTask) -> SimulationResult:
    """Run the particle's scenario and read the simulated value of every observed point.

    Counts (referrals, plans signed off, budgets released) are added over the period's months;
    ``open_cases_end`` is the value at the period's last month.
    """
    began = time.perf_counter()
    result = run_scenario(task.scenario, seed=task.seed, replication=task.replication)
    frame = result.timeseries
    by_site = {
        site: rows.sort_values("month", kind="stable").reset_index(drop=True)
        for site, rows in frame.groupby(frame["site"].astype(str), observed=True, sort=False)
    }
    values = []
    for target in task.targets:
        rows = by_site.get(target.site_row)
        last = target.first_month + target.months - 1
        if rows is None or last >= len(rows):
            values.append(math.nan)
            continue
        column = rows[target.series].to_numpy(dtype=float)
        if target.at_end:
            values.append(float(column[last]))
        else:
            values.append(float(np.sum(column[target.first_month : last + 1])))
    return SimulationResult(
        generation=task.generation,
        index=task.index,
        values=tuple(values),
        rng_streams=tuple(result.rng_streams),
        wall_time_s=time.perf_counter() - began,
    )
