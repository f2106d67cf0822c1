"""Run one scenario end to end: model -> records -> metrics, and write its outputs.

A run simulates its sites in one model, or, partitioned, each group of sites that share no
pool or panel in a model of its own (:mod:`ipcsim.scenario.partition`), as tasks on any
``concurrent.futures`` executor (:mod:`ipcsim.experiment.executors` opens them). The groups'
records are merged into one canonical form (:mod:`ipcsim.engine.partition`), so every table
and figure is the same however the run was split and wherever its parts ran.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import datetime as dt
import functools
import gc
import math
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from ipcsim._json import plain_json
from ipcsim.analysis import metrics, stability
from ipcsim.analysis.costs import cost_columns, cost_run
from ipcsim.analysis.workbook import workbook_sheets
from ipcsim.engine.model import PoolCapacity, quiet_cyclic_gc
from ipcsim.engine.partition import (
    TABLES,
    GroupRecords,
    GroupSource,
    GroupTask,
    MergedRecords,
    merge_groups,
    simulate_group,
)
from ipcsim.io import files
from ipcsim.io.manifest import build_manifest
from ipcsim.io.run_folder import write_run_outputs
from ipcsim.pathway import MILESTONES
from ipcsim.periods import month_starts
from ipcsim.scenario import Scenario
from ipcsim.scenario.backlog import BacklogPerson, load_backlog
from ipcsim.scenario.load import scenario_hash
from ipcsim.scenario.partition import site_groups, sub_scenario


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
    partitions: int = 1
    """Simulations the run was split into (1: all sites in one model)."""


TOTAL_SITE = "all"
"""``site`` value of the rows that total all sites in a multi-site run."""


def capacity_frame(
    pools: Sequence[PoolCapacity], start_date: dt.date, horizon_days: float
) -> pd.DataFrame:
    """IPC hours each role could deliver in each calendar month of the run.

    Parameters
    ----------
    pools
        The staff pools to count (several pools of one role are added up, in this order).
    start_date, horizon_days
        The run's start date and length, days.

    Returns
    -------
    DataFrame
        Columns ``month_start_day``, ``month_end_day``, ``role``, ``available_hours``
        (NaN for an unlimited role).
    """
    roles = sorted({pool.role for pool in pools})
    rows = []
    for month, (_, start_day, end_day) in enumerate(month_starts(start_date, horizon_days)):
        for role in roles:
            hours = [pool.monthly_hours for pool in pools if pool.role == role]
            available = math.nan
            if all(h is not None for h in hours):
                available = sum(h[month] for h in hours if h is not None)
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


def _available_over_run(pools: Sequence[PoolCapacity]) -> dict[str, float | None]:
    result: dict[str, float | None] = {}
    for role in sorted({pool.role for pool in pools}):
        hours = [pool.run_hours for pool in pools if pool.role == role]
        result[role] = None
        if all(h is not None for h in hours):
            result[role] = sum(h for h in hours if h is not None)
    return result


def entered_people(people: pd.DataFrame) -> pd.DataFrame:
    """People with ``referred_day`` filled, for warm-start people, by their first milestone.

    Open cases count people from the day they entered the pathway; for someone already
    waiting at the start, that is the earliest milestone the backlog file gives.
    """
    milestones = people[list(MILESTONES)]
    return people.assign(referred_day=milestones.min(axis=1, skipna=True))


@dataclass(frozen=True)
class SiteInputs:
    """One site's records (or all sites', for :data:`TOTAL_SITE`), as its KPIs need them."""

    site: str
    people: pd.DataFrame
    work: pd.DataFrame
    waits: pd.DataFrame
    roles: tuple[str, ...]
    pools: tuple[PoolCapacity, ...]


@dataclass(frozen=True)
class SiteSettings:
    """What every site's KPIs share: the run's calendar and the reporting settings."""

    start_date: dt.date
    horizon_days: float
    reporting: Any


@dataclass(frozen=True)
class SiteMeasures:
    """One site's monthly series, capacity by month and summary."""

    site: str
    monthly: pd.DataFrame
    capacity: pd.DataFrame
    summary: dict[str, Any]


def measure_site(mine: SiteInputs, settings: SiteSettings) -> SiteMeasures:
    """A site's monthly series (waits by month of referral included), capacity and summary.

    A pure function of its inputs: the same wherever it runs (this process or a worker).
    """
    start_date, horizon_days, reporting = (
        settings.start_date,
        settings.horizon_days,
        settings.reporting,
    )
    capacity = capacity_frame(mine.pools, start_date, horizon_days).assign(site=mine.site)
    monthly = metrics.timeseries(
        entered_people(mine.people),
        mine.work,
        mine.waits,
        start_date=start_date,
        horizon_days=horizon_days,
        capacity=capacity.drop(columns="site"),
        site=mine.site,
    )
    monthly = metrics.with_waits_by_referral_month(
        monthly,
        mine.people,
        start_date=start_date,
        horizon_days=horizon_days,
        within_weeks=reporting.within_weeks,
    )
    available: dict[str, float | None] = dict.fromkeys(mine.roles)
    available.update(_available_over_run(mine.pools))
    summary = metrics.summary(
        mine.people,
        mine.work,
        role_names=list(mine.roles),
        available_hours=available,
        start_date=start_date,
        horizon_days=horizon_days,
        within_weeks=reporting.within_weeks,
    )
    trends = stability.role_trends(
        monthly, mine.waits, horizon_days=horizon_days, settings=reporting
    )
    summary["stability"] = plain_json(trends)
    summary["warnings"] = plain_json(
        stability.warnings(
            monthly,
            mine.waits,
            mine.people,
            horizon_days=horizon_days,
            settings=reporting,
            trends=trends,
        )
    )
    summary["backlog_clear_day"] = metrics.backlog_clear_day(mine.people)
    held = mine.people["budget_held_days"].dropna()
    summary["budget_held_days"] = {
        "n": int(held.size),
        "mean": float(held.mean()) if held.size else None,
        "total": float(held.sum()),
    }
    return SiteMeasures(mine.site, monthly, capacity, summary)


_SITES_IN_FLIGHT = 4
"""Sites handed to an executor at a time (each holds a copy of its records until done)."""


def _measure_sites(
    site_names: Sequence[str],
    site_inputs: Callable[[str], SiteInputs],
    *,
    settings: SiteSettings,
    executor: cf.Executor | None,
) -> list[SiteMeasures]:
    """Every site's measures, in the order of ``site_names``.

    A site's records are selected (``site_inputs``) only when it is measured, so at most a
    few sites' copies are held at once. With ``executor``, the single sites are measured by
    its workers, :data:`_SITES_IN_FLIGHT` at a time, while a thread of this process measures
    all sites together; the results are the same (a pure function of the same inputs).
    """
    if executor is None:
        return [measure_site(site_inputs(site), settings) for site in site_names]
    found: dict[int, SiteMeasures] = {}
    pending = [k for k, site in enumerate(site_names) if site != TOTAL_SITE]
    futures: dict[cf.Future[SiteMeasures], int] = {}

    def submit_next() -> None:
        k = pending.pop(0)
        futures[executor.submit(measure_site, site_inputs(site_names[k]), settings)] = k

    # All sites together are measured in a thread of this process, so that this thread
    # keeps handing single sites to the workers meanwhile (it only selects and waits).
    here = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="ipcsim-total")
    try:
        while pending and len(futures) < _SITES_IN_FLIGHT:
            submit_next()
        totals = {
            k: here.submit(measure_site, site_inputs(site), settings)
            for k, site in enumerate(site_names)
            if site == TOTAL_SITE
        }
        while futures:
            done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
            for future in done:
                found[futures.pop(future)] = future.result()
                if pending:
                    submit_next()
        for k, total in totals.items():
            found[k] = total.result()
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    finally:
        here.shutdown(wait=False)  # done on the normal path; not waited for on an error
    return [found[k] for k in range(len(site_names))]


def group_tasks(
    scenario: Scenario,
    *,
    seed: int,
    replication: int,
    backlog: tuple[BacklogPerson, ...],
    partitioned: bool,
) -> list[GroupTask]:
    """The simulations of one run: all sites in one, or one per independent group of sites.

    Parameters
    ----------
    scenario
        The validated scenario.
    seed, replication
        The run's seed and replication (the same for every group).
    backlog
        People already in the pathway at the start; each goes to the group of their site.
    partitioned
        One task per group of :func:`ipcsim.scenario.partition.site_groups`, or one task for
        the whole scenario.
    """
    groups = site_groups(scenario) if partitioned else [tuple(scenario.site_names)]
    role_names = tuple(scenario.role_names)
    return [
        GroupTask(
            scenario=sub_scenario(scenario, group),
            seed=seed,
            replication=replication,
            backlog=tuple(person for person in backlog if person.site in group),
            role_names=role_names,
        )
        for group in groups
    ]


@dataclass(frozen=True)
class SpilledGroup:
    """A group's records that its worker wrote to disk: ``<folder>/<table>.parquet``.

    What a worker hands back instead of its tables (a few hundred bytes, not the records):
    the main process reads each table when it merges it, one table of every group at a time.
    """

    folder: str
    backlog_ids: tuple[int, ...]
    pools: tuple[PoolCapacity, ...]
    streams: tuple[str, ...]
    wall_time_s: float = 0.0
    empty: dict[str, pd.DataFrame] = field(default_factory=dict)
    """Tables with no rows, handed back as they are (parquet keeps no categories for them)."""

    def table(self, name: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Table ``name``, or only its ``columns``, read from the group's folder."""
        if name in self.empty:
            frame = self.empty[name]
            return frame if columns is None else frame[list(columns)]
        path = Path(self.folder) / f"{name}.parquet"
        if columns is None:
            return files.read_parquet(path)
        return pd.read_parquet(path, engine="pyarrow", columns=list(columns))


def simulate_group_to_disk(
    task: GroupTask, folder: str, progress: Callable[[float], None] | None = None
) -> SpilledGroup:
    """Simulate one group (in a worker) and write its tables to ``folder``, not back.

    The worker holds its group's records once, as frames, while it writes them (parquet);
    nothing of their size is pickled back, and the records are freed, and their memory
    handed back to the system, before this returns: a worker that runs many groups does not
    carry one group's heap into the next. Tables with no rows travel back as they are (see
    :class:`SpilledGroup`).
    """
    spilled = _write_group(simulate_group(task, progress), Path(folder))
    gc.collect()
    _return_free_memory()
    return spilled


def _write_group(records: GroupRecords, path: Path) -> SpilledGroup:
    path.mkdir(parents=True, exist_ok=True)
    empty = {}
    for name in TABLES:
        frame = records.table(name)
        if frame.empty:
            empty[name] = frame
        else:
            files.atomic_write_parquet(path / f"{name}.parquet", frame)
    return SpilledGroup(
        str(path),
        backlog_ids=records.backlog_ids,
        pools=records.pools,
        streams=records.streams,
        wall_time_s=records.wall_time_s,
        empty=empty,
    )


def _return_free_memory() -> None:
    """Hand memory freed by this process back to the system: Arrow's pool, then glibc's.

    Without it a worker's resident size stays at its largest group's high-water mark, and
    the heap's fragments add up over the groups it runs. Nothing computed depends on it.
    """
    pa.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        # Not glibc (musl): no malloc_trim, nothing to do.
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


def _part(progress: Callable[[float], None], done: int, parts: int, share: float) -> None:
    """Report ``share`` of part ``done`` (of ``parts`` equal parts) as a share of the whole."""
    progress((done + share) / parts)


def _simulate(
    tasks: Sequence[GroupTask],
    *,
    executor: cf.Executor | None,
    progress: Callable[[float], None] | None,
    spill_dir: Path | None = None,
) -> list[GroupSource]:
    """Each task's records, in the tasks' order, from this process or from ``executor``.

    With ``spill_dir``, each group's tables are written to ``spill_dir/group-<k>`` where it
    was simulated and read back only when merged (:class:`SpilledGroup`).
    """

    def job(k: int) -> tuple[Callable[..., GroupSource], tuple[Any, ...]]:
        if spill_dir is None:
            return simulate_group, (tasks[k],)
        return simulate_group_to_disk, (tasks[k], str(spill_dir / f"group-{k:04d}"))

    if executor is None:
        results = []
        # One quiet collector for all the groups, not a full collection before each.
        with quiet_cyclic_gc():
            for k in range(len(tasks)):
                # Each group an equal part of the bar, filled as its horizon is simulated.
                part = (
                    None if progress is None else functools.partial(_part, progress, k, len(tasks))
                )
                function, args = job(k)
                results.append(function(*args, part))
        return results
    # Largest groups first, so that no worker is left with a big one at the end while the
    # others idle (and a worker's biggest group runs on its freshest heap). The order of
    # the results stays the tasks' order.
    order = sorted(range(len(tasks)), key=lambda k: (-_size_hint(tasks[k]), k))
    futures = {executor.submit(*_flat(job(k))): k for k in order}
    found: dict[int, GroupSource] = {}
    try:
        for future in cf.as_completed(futures):
            found[futures[future]] = future.result()
            if progress is not None:
                progress(len(found) / len(tasks))
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return [found[k] for k in range(len(tasks))]


def _size_hint(task: GroupTask) -> float:
    """A rough size of a group, for ordering work only: its referral rates and backlog.

    The sum over its cohorts of the base rate and every scheduled rate (a ramp's points
    scale with the site), plus its backlog people; not an expected count of anything.
    """
    rates = sum(
        cohort.referrals_per_month
        + sum(point.referrals_per_month for point in cohort.referral_schedule)
        for config in task.scenario.site_configs
        for cohort in config.cohorts.values()
    )
    return rates + len(task.backlog)


def _flat(job: tuple[Callable[..., Any], tuple[Any, ...]]) -> tuple[Any, ...]:
    return (job[0], *job[1])


def _records(
    scenario: Scenario,
    *,
    seed: int,
    replication: int,
    backlog: tuple[BacklogPerson, ...] | None,
    progress: Callable[[float], None] | None,
    partitioned: bool,
    executor: cf.Executor | None,
    spill_dir: Path | None = None,
) -> tuple[MergedRecords, int]:
    """The run's merged records and the number of simulations it was split into."""
    if backlog is None:
        backlog = load_backlog(scenario.initial_state, scenario) if scenario.initial_state else ()
    tasks = group_tasks(
        scenario, seed=seed, replication=replication, backlog=backlog, partitioned=partitioned
    )
    groups = _simulate(
        tasks,
        executor=executor if partitioned else None,
        progress=progress,
        spill_dir=spill_dir,
    )
    records = merge_groups(
        groups,
        scenario=scenario,
        first_person_id=max((p.person_id for p in backlog), default=-1) + 1,
    )
    return records, len(tasks)


def simulate_records(
    scenario: Scenario, *, seed: int | None = None, replication: int = 0
) -> MergedRecords:
    """Simulate one replication and return its records only: no KPIs, costs or tables.

    The fast path of a caller that needs a few figures of many runs (a calibration reads
    monthly counts and waits from ``people``): :func:`run_scenario` computes everything else
    from the same records, so the two agree on every figure they share.

    Parameters
    ----------
    scenario
        The validated scenario (its ``initial_state`` backlog is read).
    seed
        Overrides ``scenario.run.seed``.
    replication
        Replication number.

    Returns
    -------
    MergedRecords
        ``people``, ``work``, ``waits``, ``renewals``, the pools and the streams used.
    """
    seed = scenario.run.seed if seed is None else seed
    records, _ = _records(
        scenario,
        seed=seed,
        replication=replication,
        backlog=None,
        progress=None,
        partitioned=False,
        executor=None,
    )
    return records


def run_scenario(
    scenario: Scenario,
    *,
    seed: int | None = None,
    replication: int = 0,
    backlog: tuple[BacklogPerson, ...] | None = None,
    progress: Callable[[float], None] | None = None,
    partitioned: bool = False,
    executor: cf.Executor | None = None,
    spill_dir: str | Path | None = None,
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
        Called with the share of the run simulated (0 to 1) as the run goes: the share of the
        horizon, or with ``executor``, the share of the groups finished.
    partitioned
        Simulate each group of sites that share no pool or panel in a model of its own
        (:func:`ipcsim.scenario.partition.site_groups`); the results are the same.
    executor
        Where a partitioned run's groups run (e.g. from
        :func:`ipcsim.experiment.executors.open_executor`); ``None``: one after another in
        this process. Only used when ``partitioned``.
    spill_dir
        A folder (created, and removed when the run is done) where each group's simulation
        writes its tables, instead of handing them back in memory: a worker then holds its
        group's records once and pickles none of them, and the main process reads one table
        at a time as it merges. It must be a folder every worker can write and this process
        can read (the same machine, or a shared file system). The results are the same.

    Returns
    -------
    RunResult
        People, staff work, waits, the monthly time series (per site, and totals when there
        are several sites) and the summary (totals, with a ``sites`` entry per site when
        there are several). Identical, table for table, partitioned or not and whatever the
        executor.
    """
    began = time.perf_counter()
    seed = scenario.run.seed if seed is None else seed
    spill = None if spill_dir is None else Path(spill_dir)
    try:
        records, partitions = _records(
            scenario,
            seed=seed,
            replication=replication,
            backlog=backlog,
            progress=progress,
            partitioned=partitioned,
            executor=executor,
            spill_dir=spill,
        )
    finally:
        if spill is not None:
            shutil.rmtree(spill, ignore_errors=True)
    role_names = scenario.role_names
    work, waits, pools, streams = records.work, records.waits, records.pools, records.streams
    people, economics_summary = cost_run(
        records.people, work, scenario=scenario, renewals=records.renewals
    )
    del records  # its people without costs: a copy of the largest table, not needed now
    run = scenario.run
    reporting = scenario.reporting
    configs = {config.site.name: config for config in scenario.site_configs}
    several = len(configs) > 1
    site_names = list(configs) + ([TOTAL_SITE] if several else [])

    # Columns no KPI of a site reads: a single site's copy (sent to a worker) goes without.
    unmeasured = {"person_id", *cost_columns(role_names)}

    def of_site(frame: pd.DataFrame, site: str) -> pd.DataFrame:
        kept = [name for name in frame.columns if name not in unmeasured]
        return frame.loc[frame["site"] == site, kept]

    def site_inputs(site: str) -> SiteInputs:
        if site == TOTAL_SITE:
            return SiteInputs(site, people, work, waits, tuple(role_names), pools)
        # A site's own pools; shared pools count in the totals only.
        return SiteInputs(
            site,
            of_site(people, site),
            of_site(work, site),
            of_site(waits, site),
            tuple(sorted(configs[site].workforce)),
            tuple(p for p in pools if p.site == site),
        )

    measured = _measure_sites(
        site_names,
        site_inputs,
        settings=SiteSettings(run.start_date, run.horizon_days, reporting),
        executor=executor if partitioned and several else None,
    )
    series = [m.monthly for m in measured]
    capacities = [m.capacity for m in measured]
    summaries = {m.site: m.summary for m in measured}
    timeseries = metrics.with_rolling_12_months(pd.concat(series, ignore_index=True))
    total = TOTAL_SITE if several else site_names[0]
    summary = summaries[total]
    if several:
        summary["sites"] = {name: summaries[name] for name in configs}
        # Every site's warnings too, named by site, after those of all sites together.
        summary["warnings"] = list(summary["warnings"]) + [
            {**w, "site": name, "message": f"site {name}: {w['message']}"}
            for name in configs
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
        seed=seed,
        replication=replication,
        people=people,
        work=work,
        waits=waits,
        timeseries=timeseries,
        summary=summary,
        rng_streams=list(streams),
        wall_time_s=wall,
        frames={
            "people": people,
            "timeseries": timeseries,
            "work": work,
            "waits": waits,
            # IPC hours available per role and month, for all sites together.
            "capacity": capacities[-1],
        },
        partitions=partitions,
    )


def write_run(
    result: RunResult,
    out_dir: str | Path,
    *,
    config_path: str | None = None,
    csv: bool = False,
    xlsx: bool = False,
    executor: str | None = None,
) -> Path:
    """Write a run's tables, ``summary.json`` and ``manifest.json`` atomically to ``out_dir``.

    With ``csv``, CSV copies of the tables; with ``xlsx``, one Excel workbook
    (``results.xlsx``: :mod:`ipcsim.io.workbook`). ``executor`` (where a partitioned run's
    groups ran) is recorded in the manifest, with the number of partitions.
    """
    scenario = result.scenario
    manifest = build_manifest(
        scenario_json=scenario.model_dump(mode="json", by_alias=True),
        config_hash=scenario_hash(scenario),
        seed=result.seed,
        wall_time_s=result.wall_time_s,
        config_path=config_path,
        streams=result.rng_streams,
        extra={
            "replication": result.replication,
            "kind": "run",
            "partitions": result.partitions,
            **({"executor": executor} if executor is not None else {}),
        },
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
