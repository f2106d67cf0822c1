"""Run one scenario end to end: model -> records -> metrics, and write its outputs."""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ipcsim._json import plain_json
from ipcsim.analysis import metrics, stability
from ipcsim.analysis.costs import cost_run
from ipcsim.analysis.workbook import workbook_sheets
from ipcsim.engine.model import PathwayModel
from ipcsim.engine.staff import StaffPool
from ipcsim.io.manifest import build_manifest
from ipcsim.io.run_folder import write_run_outputs
from ipcsim.pathway import MILESTONES
from ipcsim.periods import month_starts
from ipcsim.scenario import Scenario
from ipcsim.scenario.backlog import BacklogPerson, load_backlog
from ipcsim.scenario.load import scenario_hash


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


TOTAL_SITE = "all"
"""``site`` value of the rows that total all sites in a multi-site run."""


def _pools_by_site(model: PathwayModel) -> dict[str, list[StaffPool]]:
    """Each site's own pools; shared pools under :data:`TOTAL_SITE` only."""
    shared = list(model.shared_pools.values())
    result: dict[str, list[StaffPool]] = {
        name: [pool for pool in site.pools.values() if pool not in shared]
        for name, site in model.sites.items()
    }
    distinct: list[StaffPool] = []
    for pools in [*result.values(), shared]:
        distinct += [pool for pool in pools if pool not in distinct]
    result[TOTAL_SITE] = distinct
    return result


def capacity_frame(
    pools: list[StaffPool], start_date: dt.date, horizon_days: float
) -> pd.DataFrame:
    """IPC hours each role could deliver in each calendar month of the run.

    Parameters
    ----------
    pools
        The staff pools to count (several pools of one role are added up).
    start_date, horizon_days
        The run's start date and length, days.

    Returns
    -------
    DataFrame
        Columns ``month_start_day``, ``month_end_day``, ``role``, ``available_hours``
        (NaN for an unlimited role).
    """
    roles = sorted({pool.role_label for pool in pools})
    rows = []
    for _, start_day, end_day in month_starts(start_date, horizon_days):
        for role in roles:
            members = [pool for pool in pools if pool.role_label == role]
            if any(pool.unlimited for pool in members):
                available = math.nan
            else:
                available = sum(pool.available_hours(start_day, end_day) for pool in members)
            rows.append(
                {
                    "month_start_day": start_day,
                    "month_end_day": end_day,
                    "role": role,
                    "available_hours": available,
                }
            )
    return pd.DataFrame(
        rows, columns=["month_start_day", "month_end_day", "role", "available_hours"]
    )


def _available_over_run(pools: list[StaffPool], horizon_days: float) -> dict[str, float | None]:
    result: dict[str, float | None] = {}
    for role in sorted({pool.role_label for pool in pools}):
        members = [pool for pool in pools if pool.role_label == role]
        if any(pool.unlimited for pool in members):
            result[role] = None
        else:
            result[role] = sum(pool.available_hours(0.0, horizon_days) for pool in members)
    return result


def _entered(people: pd.DataFrame) -> pd.DataFrame:
    """People with ``referred_day`` filled, for warm-start people, by their first milestone.

    Open cases count people from the day they entered the pathway; for someone already
    waiting at the start, that is the earliest milestone the backlog file gives.
    """
    milestones = people[list(MILESTONES)]
    return people.assign(referred_day=milestones.min(axis=1, skipna=True))


def run_scenario(
    scenario: Scenario,
    *,
    seed: int | None = None,
    replication: int = 0,
    backlog: tuple[BacklogPerson, ...] | None = None,
    progress: Callable[[float], None] | None = None,
) -> RunResult:
    """Simulate one replication of ``scenario`` and compute its KPIs.

    Parameters
    ----------
    scenario
        The validated scenario.
    seed
        Overrides ``scenario.run.seed``.
    replication
        Replication number (selects independent random streams for the same seed).
    backlog
        People already in the pathway at the start; read from ``scenario.initial_state``
        when not given.
    progress
        Called with the share of the horizon simulated (0 to 1) as the run goes.

    Returns
    -------
    RunResult
        People, staff work, waits, the monthly time series (per site, and totals when there
        are several sites) and the summary (totals, with a ``sites`` entry per site when
        there are several).
    """
    began = time.perf_counter()
    if backlog is None:
        backlog = load_backlog(scenario.initial_state, scenario) if scenario.initial_state else ()
    model = PathwayModel(scenario, replication=replication, seed=seed, backlog=backlog)
    log = model.run(progress=progress)
    role_names = scenario.role_names
    hourly_cost = {
        config.site.name: {name: role.hourly_cost_gbp for name, role in config.workforce.items()}
        for config in scenario.site_configs
    }
    people = log.people_frame(role_names, hourly_cost)
    work = log.work_frame()
    people, economics_summary = cost_run(
        people, work, scenario=scenario, renewals=log.renewals_frame()
    )
    waits = log.waits_frame()
    run = scenario.run
    reporting = scenario.reporting
    pools = _pools_by_site(model)
    several = len(model.sites) > 1
    site_names = list(model.sites) + ([TOTAL_SITE] if several else [])
    series = []
    capacities = []
    summaries: dict[str, Any] = {}
    entered = _entered(people)
    for site in site_names:
        if site == TOTAL_SITE:
            mine_people, mine_work, mine_waits, mine_entered = people, work, waits, entered
            site_roles = role_names
        else:
            mine_people = people[people["site"] == site]
            mine_work = work[work["site"] == site]
            mine_waits = waits[waits["site"] == site]
            mine_entered = entered[entered["site"] == site]
            site_roles = sorted(model.sites[site].pools)
        capacity = capacity_frame(pools[site], run.start_date, run.horizon_days)
        capacities.append(capacity.assign(site=site))
        monthly = metrics.timeseries(
            mine_entered,
            mine_work,
            mine_waits,
            start_date=run.start_date,
            horizon_days=run.horizon_days,
            capacity=capacity,
            site=site,
        )
        monthly = metrics.with_waits_by_referral_month(
            monthly,
            mine_people,
            start_date=run.start_date,
            horizon_days=run.horizon_days,
            within_weeks=reporting.within_weeks,
        )
        series.append(monthly)
        available: dict[str, float | None] = dict.fromkeys(site_roles)
        available.update(_available_over_run(pools[site], run.horizon_days))
        summaries[site] = metrics.summary(
            mine_people,
            mine_work,
            role_names=site_roles,
            available_hours=available,
            start_date=run.start_date,
            horizon_days=run.horizon_days,
            within_weeks=reporting.within_weeks,
        )
        trends = stability.role_trends(
            monthly, mine_waits, horizon_days=run.horizon_days, settings=reporting
        )
        summaries[site]["stability"] = plain_json(trends)
        summaries[site]["warnings"] = plain_json(
            stability.warnings(
                monthly,
                mine_waits,
                mine_people,
                horizon_days=run.horizon_days,
                settings=reporting,
                trends=trends,
            )
        )
        summaries[site]["backlog_clear_day"] = metrics.backlog_clear_day(mine_people)
        held = mine_people["budget_held_days"].dropna()
        summaries[site]["budget_held_days"] = {
            "n": int(held.size),
            "mean": float(held.mean()) if held.size else None,
            "total": float(held.sum()),
        }
    timeseries = metrics.with_rolling_12_months(pd.concat(series, ignore_index=True))
    total = TOTAL_SITE if several else site_names[0]
    summary = summaries[total]
    if several:
        summary["sites"] = {name: summaries[name] for name in model.sites}
        # Every site's warnings too, named by site, after those of all sites together.
        summary["warnings"] = list(summary["warnings"]) + [
            {**w, "site": name, "message": f"site {name}: {w['message']}"}
            for name in model.sites
            for w in summaries[name]["warnings"]
        ]
    summary["targets"] = metrics.targets_met(
        timeseries,
        [t.model_dump(mode="json") for t in scenario.targets],
        total_site=total,
    )
    summary["economics"] = economics_summary
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
        frames={
            "people": people,
            "timeseries": timeseries,
            "work": work,
            "waits": waits,
            # IPC hours available per role and month, for all sites together.
            "capacity": capacities[-1],
        },
    )


def write_run(
    result: RunResult,
    out_dir: str | Path,
    *,
    config_path: str | None = None,
    csv: bool = False,
    xlsx: bool = False,
) -> Path:
    """Write a run's tables, ``summary.json`` and ``manifest.json`` atomically to ``out_dir``.

    With ``csv``, CSV copies of the tables; with ``xlsx``, one Excel workbook
    (``results.xlsx``: :mod:`ipcsim.io.workbook`).
    """
    scenario = result.scenario
    manifest = build_manifest(
        scenario_json=scenario.model_dump(mode="json", by_alias=True),
        config_hash=scenario_hash(scenario),
        seed=result.seed,
        wall_time_s=result.wall_time_s,
        config_path=config_path,
        streams=result.rng_streams,
        extra={"replication": result.replication, "kind": "run"},
    )
    workbook = None
    if xlsx:
        workbook = workbook_sheets(
            result.summary, result.timeseries, horizon_days=scenario.run.horizon_days
        )
    return write_run_outputs(
        Path(out_dir),
        frames=result.frames,
        summary=result.summary,
        manifest=manifest,
        csv=csv,
        workbook=workbook,
    )
