"""Run one scenario end to end: model -> records -> metrics, and write its outputs."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ipcsim import io, metrics
from ipcsim.config import scenario_hash
from ipcsim.model import PathwayModel
from ipcsim.schema import Scenario


@dataclass(frozen=True)
class RunResult:
    """Everything one run produced, as data (nothing printed, nothing written)."""

    scenario: Scenario
    seed: int
    replication: int
    people: pd.DataFrame
    work: pd.DataFrame
    waits: pd.DataFrame
    timeseries: pd.DataFrame
    summary: dict[str, Any]
    rng_streams: list[str]
    wall_time_s: float
    frames: dict[str, pd.DataFrame] = field(repr=False, default_factory=dict)


def capacity_frame(model: PathwayModel) -> pd.DataFrame:
    """IPC hours each role could deliver in each calendar month of the run.

    Returns
    -------
    DataFrame
        Columns ``month_start_day``, ``month_end_day``, ``role``, ``available_hours``
        (NaN for an unlimited role).
    """
    run = model.scenario.run
    rows = []
    for _, start_day, end_day in metrics.month_starts(run.start_date, run.horizon_days):
        for name, pool in model.pools.items():
            available = math.nan if pool.unlimited else pool.available_hours(start_day, end_day)
            rows.append(
                {
                    "month_start_day": start_day,
                    "month_end_day": end_day,
                    "role": name,
                    "available_hours": available,
                }
            )
    return pd.DataFrame(rows)


def run_scenario(scenario: Scenario, *, seed: int | None = None, replication: int = 0) -> RunResult:
    """Simulate one replication of ``scenario`` and compute its KPIs.

    Parameters
    ----------
    scenario
        The validated scenario.
    seed
        Overrides ``scenario.run.seed``.
    replication
        Replication number (selects independent random streams for the same seed).

    Returns
    -------
    RunResult
        People, staff work, waits, the monthly time series and the summary.
    """
    began = time.perf_counter()
    model = PathwayModel(scenario, replication=replication, seed=seed)
    log = model.run()
    role_names = scenario.role_names
    hourly_cost = {name: role.hourly_cost_gbp for name, role in scenario.workforce.items()}
    people = log.people_frame(role_names, hourly_cost)
    work = log.work_frame()
    waits = log.waits_frame()
    run = scenario.run
    capacity = capacity_frame(model)
    available = {
        name: (None if pool.unlimited else pool.available_hours(0.0, run.horizon_days))
        for name, pool in model.pools.items()
    }
    timeseries = metrics.timeseries(
        people,
        work,
        waits,
        start_date=run.start_date,
        horizon_days=run.horizon_days,
        capacity=capacity,
        site=scenario.site.name,
    )
    summary = metrics.summary(
        people,
        work,
        role_names=role_names,
        available_hours=available,
        start_date=run.start_date,
        horizon_days=run.horizon_days,
    )
    wall = time.perf_counter() - began
    return RunResult(
        scenario=scenario,
        seed=model.seed,
        replication=replication,
        people=people,
        work=work,
        waits=waits,
        timeseries=timeseries,
        summary=summary,
        rng_streams=model.streams.names,
        wall_time_s=wall,
        frames={"people": people, "timeseries": timeseries, "work": work, "waits": waits},
    )


def write_run(
    result: RunResult, out_dir: str | Path, *, config_path: str | None = None, csv: bool = False
) -> Path:
    """Write a run's tables, ``summary.json`` and ``manifest.json`` atomically to ``out_dir``."""
    scenario = result.scenario
    manifest = io.build_manifest(
        scenario_json=scenario.model_dump(mode="json", by_alias=True),
        config_hash=scenario_hash(scenario),
        seed=result.seed,
        wall_time_s=result.wall_time_s,
        config_path=config_path,
        streams=result.rng_streams,
        extra={"replication": result.replication, "kind": "run"},
    )
    return io.write_run_outputs(
        Path(out_dir), frames=result.frames, summary=result.summary, manifest=manifest, csv=csv
    )
