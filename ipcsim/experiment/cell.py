"""One cell of an experiment: one replication of one scenario, run in a worker.

A :class:`CellTask` crosses to the worker and a :class:`CellResult` comes back; both are plain
frozen dataclasses (picklable: no lambdas, closures or open files), and :func:`run_cell` is a
top-level function, so any executor can run it. The worker writes the replication's
``people.parquet`` and ``timeseries.parquet`` and returns only its KPIs.

Replications are an experiment's parallel unit: a cell runs in one worker, and the groups of
sites of its scenario (:mod:`ipcsim.scenario.partition`) run one after another there, never
as tasks of their own, so an experiment has at most one simulation per worker (no
oversubscription). Partitioned or not, a replication's records are the same.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipcsim.analysis.kpis import compute_kpis, kpi_series, number_or_nan
from ipcsim.io.experiment_folder import write_cell_tables
from ipcsim.run import run_scenario
from ipcsim.scenario import Scenario

__all__ = [
    "CellResult",
    "CellTask",
    "cell_from_record",
    "cell_record",
    "run_cell",
    "series_record",
]


@dataclass(frozen=True)
class CellTask:
    """One replication of one scenario, as sent to a worker (picklable, no callables).

    Attributes
    ----------
    scenario_id, replication, seed
        Which cell, and the seed its streams derive from (with ``replication``).
    scenario
        The validated scenario.
    warmup_days
        KPI -> days left out (KPIs not listed: ``default_warmup_days``).
    default_warmup_days
        Warm-up of KPIs not in ``warmup_days``.
    tables_dir
        Folder for ``people.parquet`` and ``timeseries.parquet``; ``None`` to write nothing.
    series_bin_days
        Also return each KPI's series over periods of this many days (warm-up pilots).
    window_end_day
        End of the KPIs' window, days (``None``: the horizon): people referred, events and
        work from then on are left out (a period of a staffing plan over time).
    windows
        Also return the KPIs of each ``(start_day, end_day)`` window (every period of a
        staffing plan, from one run).
    """

    scenario_id: str
    replication: int
    seed: int
    scenario: Scenario
    warmup_days: dict[str, float] = field(default_factory=dict)
    default_warmup_days: float = 0.0
    tables_dir: str | None = None
    series_bin_days: float | None = None
    window_end_day: float | None = None
    windows: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class CellResult:
    """What a worker sends back: KPIs, never the per-person tables.

    ``window_kpis`` holds the KPIs of each of the task's ``windows``, in order.
    """

    scenario_id: str
    replication: int
    seed: int
    kpis: dict[str, float]
    rng_streams: tuple[str, ...]
    wall_time_s: float
    series: dict[str, list[float]] | None = None
    window_kpis: tuple[dict[str, float], ...] = ()


def run_cell(task: CellTask) -> CellResult:
    """Run one replication, write its tables, return its KPIs (runs in a worker).

    Parameters
    ----------
    task
        The cell.

    Returns
    -------
    CellResult
        KPIs after each KPI's warm-up, in :func:`ipcsim.analysis.kpis.kpi_names` order.
    """
    began = time.perf_counter()
    # The groups of sites one after another in this worker (see the module notes).
    result = run_scenario(
        task.scenario, seed=task.seed, replication=task.replication, partitioned=True
    )
    windows = {task.default_warmup_days, *task.warmup_days.values()}
    by_window = {
        w: compute_kpis(result, warmup_days=w, window_end_day=task.window_end_day)
        for w in sorted(windows)
    }
    whole = by_window[task.default_warmup_days]
    kpis = {
        kpi: by_window[task.warmup_days.get(kpi, task.default_warmup_days)].get(kpi, value)
        for kpi, value in whole.items()
    }
    series = None
    if task.series_bin_days is not None:
        series = kpi_series(result, bin_days=task.series_bin_days)
    if task.tables_dir is not None:
        write_cell_tables(Path(task.tables_dir), people=result.people, timeseries=result.timeseries)
    return CellResult(
        scenario_id=task.scenario_id,
        replication=task.replication,
        seed=task.seed,
        kpis=kpis,
        rng_streams=tuple(result.rng_streams),
        wall_time_s=time.perf_counter() - began,
        series=series,
        window_kpis=tuple(
            compute_kpis(result, warmup_days=start, window_end_day=end)
            for start, end in task.windows
        ),
    )


# --------------------------------------------------------------------------- records
def _json_number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def cell_record(result: CellResult, spec_hash: str) -> dict[str, Any]:
    """A finished cell as strict JSON data (``kpis.json``; NaN as null).

    Parameters
    ----------
    result
        The cell's result.
    spec_hash
        The plan's hash: a resumed batch reuses only records carrying its own.

    Returns
    -------
    dict
        ``spec_hash``, ``scenario``, ``replication``, ``seed``, ``kpis``, ``rng_streams`` and
        ``wall_time_s``; with ``series`` when the cell has them (warm-up pilots).
    """
    return {
        "spec_hash": spec_hash,
        "scenario": result.scenario_id,
        "replication": result.replication,
        "seed": result.seed,
        "kpis": {k: _json_number(v) for k, v in result.kpis.items()},
        "rng_streams": list(result.rng_streams),
        "wall_time_s": result.wall_time_s,
    }


def series_record(series: Mapping[str, list[float]] | None) -> dict[str, list[float | None]]:
    """KPI series as strict JSON data (NaN as null)."""
    return {k: [_json_number(x) for x in v] for k, v in (series or {}).items()}


def cell_from_record(record: Mapping[str, Any]) -> CellResult:
    """A cell read back from its record (see :func:`cell_record`).

    Parameters
    ----------
    record
        The JSON data.

    Returns
    -------
    CellResult
        The cell, with NaN where the record has null.
    """
    return CellResult(
        scenario_id=str(record["scenario"]),
        replication=int(record["replication"]),
        seed=int(record["seed"]),
        kpis={k: number_or_nan(v) for k, v in record["kpis"].items()},
        rng_streams=tuple(record.get("rng_streams", ())),
        wall_time_s=float(record.get("wall_time_s", 0.0)),
        series=(
            {k: [number_or_nan(x) for x in v] for k, v in record["series"].items()}
            if record.get("series") is not None
            else None
        ),
    )
