"""Running an experiment: cells on an executor, replication counts, warm-up, resume.

:func:`run_experiment` runs every cell of a plan that is not yet on disk, in batches: the
warm-up pilots first (mser5 mode), then replication ``r`` of every scenario for ``r = 0, 1,
...`` until each scenario has its target (fixed mode) or its KPIs' precision (automatic mode,
Hoad et al.). Each finished cell is recorded the moment it returns, so a batch interrupted by
Ctrl-C or a crash resumes where it stopped (``resume=True``), and gives the same outputs.

Warm-up
-------
``mser5`` runs pilot replications of the baseline, averages each KPI's weekly series over them
and truncates each series by MSER-5 (:func:`ipcsim.analysis.stats.mser`): every KPI gets its
own warm-up (``combine = "per_kpi"``) or all the longest (``combine = "max"``). Series built by
the period people were referred in are cut short near the horizon (late referrals have not had
time to withdraw or reach a milestone), which can push MSER-5's truncation of those KPIs late;
``warmup.json`` records every truncation, and a fixed warm-up or a longer run avoids it.

Output folder
-------------
The tables of :mod:`ipcsim.experiment.frames`, ``scenarios.parquet`` and ``manifest.json``
(written last), laid out as :mod:`ipcsim.io.experiment_folder` describes. Each replication
leaves ``runs/<scenario>/rep-<NNN>/`` with ``people.parquet`` and ``timeseries.parquet``
(written by the worker) and ``kpis.json`` (written by this process the moment the cell
returns, atomically: the marker that the cell is done). ``experiment.json`` holds the spec and
its hash, so a resumed batch with a changed spec is refused.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import logging
import math
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ipcsim.analysis import stats
from ipcsim.analysis.targets import Criterion, Recommendation, Target, main_factor, recommend
from ipcsim.errors import OutputError
from ipcsim.experiment.cell import (
    CellResult,
    CellTask,
    cell_from_record,
    cell_record,
    run_cell,
    series_record,
)
from ipcsim.experiment.ensemble import PARAMETER_UNCERTAINTY, STOCHASTIC_ONLY
from ipcsim.experiment.executors import open_executor
from ipcsim.experiment.frames import (
    paired_frame,
    replications_frame,
    scenarios_frame,
    sensitivity_frame,
    summary_frame,
)
from ipcsim.experiment.plan import ExperimentPlan, PlannedScenario
from ipcsim.io import experiment_folder
from ipcsim.io import manifest as io_manifest
from ipcsim.io.experiment_folder import FORMAT_VERSION, STATE_FILE
from ipcsim.scenario.load import scenario_hash

__all__ = [
    "ExperimentResult",
    "ProgressCallback",
    "ProgressEvent",
    "execute_cells",
    "run_experiment",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProgressEvent:
    """Progress of a batch, reported to the caller's callback.

    Attributes
    ----------
    phase
        ``warm-up pilot`` or ``replications``.
    done
        Cells finished in this phase (including those found on disk).
    total
        Cells the phase needs as far as known (grows in automatic replication mode).
    reused
        Cells of this phase found on disk (not recomputed).
    scenario_id, replication
        The cell that just finished (``None`` for the phase's first report).
    """

    phase: str
    done: int
    total: int
    reused: int
    scenario_id: str | None = None
    replication: int | None = None


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class ExperimentResult:
    """Everything an experiment produced (also written to ``out_dir``)."""

    out_dir: Path
    plan: ExperimentPlan
    replications: pd.DataFrame
    summary: pd.DataFrame
    paired: pd.DataFrame
    scenarios: pd.DataFrame
    sensitivity: pd.DataFrame | None
    replications_run: dict[str, int]
    replications_recommended: dict[str, int | None]
    warmup_days: dict[str, float]
    computed: int
    reused: int
    wall_time_s: float
    executor: str
    recommendations: tuple[Recommendation, ...] = ()
    """The smallest level of the main factor meeting each target (when targets were given)."""


def execute_cells(
    tasks: Sequence[CellTask],
    handle: Any,
    on_done: Callable[[CellResult], None],
) -> None:
    """Run ``tasks`` on the executor, keeping a few in flight, handling each as it finishes."""
    queue = iter(tasks)
    pending: dict[cf.Future[CellResult], CellTask] = {}
    window = handle.max_in_flight
    try:
        while True:
            while len(pending) < window:
                task = next(queue, None)
                if task is None:
                    break
                pending[handle.executor.submit(run_cell, task)] = task
            if not pending:
                return
            done, _ = cf.wait(list(pending), timeout=0.5, return_when=cf.FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: _order(pending[f])):
                del pending[future]
                on_done(future.result())
    except BaseException:
        for future in pending:
            future.cancel()
        raise


def _order(task: CellTask) -> tuple[int, str]:
    return (task.replication, task.scenario_id)


def _values(
    cells: Mapping[tuple[str, int], CellResult], scenario_id: str, kpi: str, count: int
) -> np.ndarray:
    return np.array([cells[(scenario_id, r)].kpis.get(kpi, math.nan) for r in range(count)])


def _contiguous(cells: Mapping[tuple[str, int], CellResult], scenario_id: str) -> int:
    count = 0
    while (scenario_id, count) in cells:
        count += 1
    return count


def _replication_targets(
    plan: ExperimentPlan, cells: Mapping[tuple[str, int], CellResult]
) -> tuple[dict[str, int], dict[str, bool], dict[str, int | None]]:
    """Replications each scenario needs now, whether it is finished, and Hoad's ``Nsol``."""
    settings = plan.spec.replications
    hoad: dict[str, Any] = {
        "precision": settings.relative_precision,
        "confidence": plan.spec.confidence,
        "initial": settings.initial,
        "k_limit": settings.look_ahead,
    }
    targets: dict[str, int] = {}
    finished: dict[str, bool] = {}
    recommended: dict[str, int | None] = {}
    for planned in plan.scenarios:
        sid = planned.scenario_id
        if settings.mode == "fixed":
            targets[sid] = settings.n
            finished[sid] = _contiguous(cells, sid) >= settings.n
            recommended[sid] = None
            continue
        have = min(_contiguous(cells, sid), settings.max)
        watched = settings.kpis if settings.kpis is not None else plan.spec.kpis
        series = [_values(cells, sid, kpi, have) for kpi in watched]
        bound = max(stats.hoad_lower_bound(values, **hoad) for values in series)
        solutions = [stats.hoad_solution(values, **hoad) for values in series]
        if bound <= have:
            targets[sid] = bound
            finished[sid] = True
            recommended[sid] = max(s for s in solutions if s is not None)
        else:
            targets[sid] = min(bound, settings.max)
            finished[sid] = have >= settings.max
            recommended[sid] = None
    return targets, finished, recommended


def _warmup_days(
    plan: ExperimentPlan,
    out_dir: Path,
    handle: Any,
    progress: ProgressCallback | None,
    counters: dict[str, int],
) -> tuple[dict[str, float], float, dict[str, Any]]:
    """Per-KPI warm-ups, the default for KPIs without one, and what to record about them."""
    settings = plan.spec.warmup
    if settings.mode == "none":
        return {}, 0.0, {"mode": "none"}
    if settings.mode == "fixed":
        return {}, settings.days, {"mode": "fixed", "days": settings.days}
    saved = experiment_folder.read_warmup(out_dir)
    if saved is not None and saved.get("spec_hash") == plan.spec_hash:
        days = {k: float(v) for k, v in saved["days"].items()}
        return days, float(saved["default_days"]), saved
    baseline = plan.scenario(plan.baseline_id)
    total = settings.pilot_replications
    pilots = _run_pilots(plan, baseline, out_dir, handle, progress, counters)
    bin_days = settings.bin_days
    per_kpi, details = _mser_truncations(
        plan.kpis, [pilots[r].series for r in range(total)], bin_days
    )
    longest = max(per_kpi.values(), default=0.0)
    if settings.combine == "max":
        days = dict.fromkeys(plan.kpis, longest)
    else:
        # A KPI whose series could not be analysed takes the longest warm-up found.
        days = {kpi: per_kpi.get(kpi, longest) for kpi in plan.kpis}
    record = {
        "spec_hash": plan.spec_hash,
        "mode": "mser5",
        "scenario": baseline.scenario_id,
        "pilot_replications": total,
        "bin_days": bin_days,
        "combine": settings.combine,
        "days": days,
        "default_days": longest,
        "mser": details,
    }
    experiment_folder.write_warmup(out_dir, record)
    return days, longest, record


def _run_pilots(
    plan: ExperimentPlan,
    baseline: PlannedScenario,
    out_dir: Path,
    handle: Any,
    progress: ProgressCallback | None,
    counters: dict[str, int],
) -> dict[int, CellResult]:
    """The warm-up pilots of the baseline, with their KPI series: from disk, or run now."""
    settings = plan.spec.warmup
    pilots: dict[int, CellResult] = {}
    for r in range(settings.pilot_replications):
        record = experiment_folder.read_pilot_record(out_dir, baseline.scenario_id, r)
        if record is not None and record.get("spec_hash") == plan.spec_hash:
            pilots[r] = cell_from_record(record)
    total = settings.pilot_replications
    reused = len(pilots)
    tracker = _Tracker(progress, "warm-up pilot", reused, total)
    tracker.start()

    def done(result: CellResult) -> None:
        record = cell_record(result, plan.spec_hash)
        record["series"] = series_record(result.series)
        experiment_folder.write_pilot_record(
            out_dir, result.scenario_id, result.replication, record
        )
        pilots[result.replication] = result
        counters["computed"] += 1
        tracker.finished(result)

    tasks = [
        CellTask(
            scenario_id=baseline.scenario_id,
            replication=r,
            seed=baseline.seed,
            scenario=baseline.scenario_for(r),
            series_bin_days=settings.bin_days,
        )
        for r in range(total)
        if r not in pilots
    ]
    execute_cells(tasks, handle, done)
    counters["reused"] += reused
    return pilots


def _mser_truncations(
    kpis: Sequence[str], pilot_series: Sequence[Mapping[str, list[float]] | None], bin_days: float
) -> tuple[dict[str, float], dict[str, Any]]:
    """MSER-5 warm-up of each KPI whose series averaged over the pilots has 10 periods or more.

    Parameters
    ----------
    kpis
        The KPIs to analyse, in order.
    pilot_series
        Each pilot's series (KPI -> one value per period of ``bin_days``).
    bin_days
        Period length, days.

    Returns
    -------
    tuple
        KPI -> warm-up (days), and KPI -> ``{"days", "at_limit"}`` for ``warmup.json``.
    """
    per_kpi: dict[str, float] = {}
    details: dict[str, Any] = {}
    for kpi in kpis:
        rows = [series[kpi] for series in pilot_series if series is not None and kpi in series]
        if not rows:
            continue
        averaged = stats.mean_series(rows)
        kept = np.flatnonzero(~np.isnan(averaged))
        if kept.size < 10:
            continue
        found = stats.mser(averaged[kept], batch_size=5)
        day = 0.0 if found.truncation == 0 else float(kept[found.truncation] * bin_days)
        per_kpi[kpi] = day
        details[kpi] = {"days": day, "at_limit": found.at_limit}
        if found.at_limit:
            logger.warning(
                "MSER-5 truncates %s at half the run (%g days): the run may be too short to "
                "reach steady state",
                kpi,
                day,
            )
    return per_kpi, details


def run_experiment(
    plan: ExperimentPlan,
    out_dir: str | Path,
    *,
    executor: str = "serial",
    resume: bool = False,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    connect_timeout_s: float = 10.0,
    targets: Sequence[Target] = (),
    criterion: Criterion = "mean",
) -> ExperimentResult:
    """Run every cell of a plan that is not yet on disk, then write the outputs.

    Parameters
    ----------
    plan
        From :func:`ipcsim.experiment.plan.plan_experiment`.
    out_dir
        Output folder. It must be missing or empty unless ``resume``.
    executor
        ``serial``, ``process:N``, ``dask:local:N`` or ``dask:ADDRESS``
        (see :mod:`ipcsim.experiment.executors`).
    resume
        Continue in a folder started with the same spec: only missing cells are computed.
    overwrite
        Replace an earlier experiment's folder at ``out_dir`` (never any other folder).
    progress
        Called in this process after each finished cell (and at the start of each phase).
    connect_timeout_s
        How long to wait for a remote Dask scheduler, seconds.
    targets
        Targets on KPIs (:func:`ipcsim.analysis.targets.parse_target`): the result and the
        manifest (``targets``, ``criterion``, ``recommendations``) then say the smallest level
        of the main factor that meets each (:func:`ipcsim.analysis.targets.recommend`).
        Targets change no simulated number: a folder resumes with other targets.
    criterion
        ``"mean"`` or ``"ci"``: how a scenario meets a target.

    Returns
    -------
    ExperimentResult
        The tables written, how many cells were computed or reused, and the
        recommendations.

    Raises
    ------
    OutputError
        ``out_dir`` is not empty without ``resume``, or was started with another spec; or a
        file cannot be written (disk full, permission denied: one line naming it; the cells
        finished before are kept, for ``resume``).
    ExecutorError
        The executor option is malformed or its back end unreachable.
    KeyboardInterrupt
        On Ctrl-C, after stopping the workers; every finished cell is already on disk.

    Notes
    -----
    Outputs do not depend on the executor, its number of workers, the order cells finish
    in, or on interruptions and resumptions: cells are keyed and sorted by (scenario,
    replication), and automatic replication decides from each scenario's replications in
    order (see :func:`ipcsim.stats.hoad_lower_bound`).
    """
    began = time.perf_counter()
    out_dir = Path(out_dir)
    _prepare_folder(out_dir, plan, resume=resume, overwrite=overwrite)
    try:
        return _run_batch(
            plan,
            out_dir,
            executor=executor,
            progress=progress,
            connect_timeout_s=connect_timeout_s,
            began=began,
            goals=(tuple(targets), criterion),
        )
    except OutputError as e:
        # A write failed (disk full, folder made read-only): every cell finished before it is
        # on disk, and the failed one left nothing that looks finished.
        raise OutputError(
            f"{e}; the replications finished so far are kept in {out_dir}: once it can be "
            "written, run the same command with --resume"
        ) from e


def _run_batch(
    plan: ExperimentPlan,
    out_dir: Path,
    *,
    executor: str,
    progress: ProgressCallback | None,
    connect_timeout_s: float,
    began: float,
    goals: tuple[tuple[Target, ...], Criterion] = ((), "mean"),
) -> ExperimentResult:
    """The cells not yet on disk, then the output tables (see :func:`run_experiment`)."""
    counters = {"computed": 0, "reused": 0}
    with open_executor(executor, connect_timeout_s=connect_timeout_s) as handle:
        warmups, default_warmup, warmup_record = _warmup_days(
            plan, out_dir, handle, progress, counters
        )
        cells = _load_cells(out_dir, plan)
        counters["reused"] += len(cells)
        targets, finished, recommended = _replication_targets(plan, cells)
        tracker = _Tracker(progress, "replications", len(cells), sum(targets.values()))
        tracker.start()

        def done(result: CellResult) -> None:
            experiment_folder.write_cell_record(
                out_dir, result.scenario_id, result.replication, cell_record(result, plan.spec_hash)
            )
            cells[(result.scenario_id, result.replication)] = result
            counters["computed"] += 1
            tracker.finished(result)

        while True:
            tasks = [
                CellTask(
                    scenario_id=p.scenario_id,
                    replication=r,
                    seed=p.seed,
                    scenario=p.scenario_for(r),
                    warmup_days=warmups,
                    default_warmup_days=default_warmup,
                    tables_dir=(
                        str(experiment_folder.cell_dir(out_dir, p.scenario_id, r))
                        if plan.spec.save_tables
                        else None
                    ),
                )
                for r in range(max(targets.values()))
                for p in plan.scenarios
                if r < targets[p.scenario_id]
                and not finished[p.scenario_id]
                and (p.scenario_id, r) not in cells
            ]
            if not tasks:
                break
            execute_cells(tasks, handle, done)
            targets, finished, recommended = _replication_targets(plan, cells)
            tracker.total = max(tracker.total, sum(targets.values()))
        description = handle.description
    runs = {
        p.scenario_id: min(targets[p.scenario_id], _contiguous(cells, p.scenario_id))
        for p in plan.scenarios
    }
    return _write_outputs(
        plan,
        out_dir,
        cells=cells,
        runs=runs,
        recommended=recommended,
        warmup=warmup_record,
        warmup_days={k: warmups.get(k, default_warmup) for k in plan.kpis},
        counters=counters,
        executor=description,
        wall_time_s=time.perf_counter() - began,
        goals=goals,
    )


class _Tracker:
    """Counts a phase's finished cells and reports them to the progress callback."""

    def __init__(self, callback: ProgressCallback | None, phase: str, reused: int, total: int):
        self.callback = callback
        self.phase = phase
        self.reused = reused
        self.done = reused
        self.total = total

    def start(self) -> None:
        if self.callback:
            self.callback(ProgressEvent(self.phase, self.done, self.total, self.reused))

    def finished(self, result: CellResult) -> None:
        self.done += 1
        self.total = max(self.total, self.done)
        if self.callback:
            self.callback(
                ProgressEvent(
                    self.phase, self.done, self.total, self.reused, result.scenario_id,
                    result.replication,
                )
            )  # fmt: skip


# --------------------------------------------------------------------------- folder
def _load_cells(out_dir: Path, plan: ExperimentPlan) -> dict[tuple[str, int], CellResult]:
    """Finished cells on disk that belong to this plan."""
    cells: dict[tuple[str, int], CellResult] = {}
    ids = {p.scenario_id for p in plan.scenarios}
    for record in experiment_folder.read_cell_records(out_dir):
        if record.get("spec_hash") != plan.spec_hash:
            continue
        result = cell_from_record(record)
        if result.scenario_id in ids:
            cells[(result.scenario_id, result.replication)] = result
    return cells


def _prepare_folder(
    out_dir: Path, plan: ExperimentPlan, *, resume: bool, overwrite: bool = False
) -> None:
    """Start a new experiment folder, or check that a resumed one is for the same spec.

    With ``overwrite``, an earlier experiment folder (one holding its state file) is removed
    first; any other non-empty folder is refused, never deleted.
    """
    if resume and overwrite:
        raise OutputError("--resume and --overwrite contradict each other; pass one")
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir}: exists and is not a folder; choose another --out")
    non_empty = out_dir.is_dir() and any(out_dir.iterdir())
    if non_empty and overwrite:
        if experiment_folder.read_state(out_dir) is None:
            raise OutputError(
                f"{out_dir}: not an experiment folder (no readable {STATE_FILE}); --overwrite "
                "replaces only an earlier experiment's folder, choose another --out"
            )
        shutil.rmtree(out_dir)
        non_empty = False
    if non_empty and not resume:
        raise OutputError(
            f"{out_dir}: not empty; pass --resume to continue the same experiment there, "
            "--overwrite to replace it, or choose another --out"
        )
    if non_empty:
        recorded = experiment_folder.read_state(out_dir)
        if recorded is None:
            raise OutputError(
                f"{out_dir}: not an experiment folder (no readable {STATE_FILE}); cannot resume "
                "there, choose another --out"
            )
        if recorded.get("spec_hash") != plan.spec_hash:
            code = io_manifest.code_fingerprint()
            if recorded.get("code_hash") != code:
                started = str(recorded.get("code_hash") or "unrecorded")[:12]
                raise OutputError(
                    f"{out_dir}: ipcsim's model code changed since this folder was started "
                    f"(code {started} != {code[:12]}); results would mix: use a new --out"
                )
            raise OutputError(
                f"{out_dir}: the spec (or a base scenario, or --set/--replications) changed since "
                f"this folder was started (hash {str(recorded.get('spec_hash'))[:12]} != "
                f"{plan.spec_hash[:12]}); results would mix: use a new --out"
            )
        return
    experiment_folder.write_state(
        out_dir,
        {
            "format_version": FORMAT_VERSION,
            "spec_hash": plan.spec_hash,
            "code_hash": io_manifest.code_fingerprint(),
            "spec": plan.spec.model_dump(mode="json"),
            "spec_path": str(plan.spec_path) if plan.spec_path else None,
            "master_seed": plan.master_seed,
            "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
    )


def _write_outputs(
    plan: ExperimentPlan,
    out_dir: Path,
    *,
    cells: Mapping[tuple[str, int], CellResult],
    runs: dict[str, int],
    recommended: dict[str, int | None],
    warmup: dict[str, Any],
    warmup_days: dict[str, float],
    counters: dict[str, int],
    executor: str,
    wall_time_s: float,
    goals: tuple[tuple[Target, ...], Criterion] = ((), "mean"),
) -> ExperimentResult:
    replications = replications_frame(plan, cells, runs)
    summary = summary_frame(plan, replications)
    paired = paired_frame(plan, replications)
    scenarios = scenarios_frame(plan)
    sens = sensitivity_frame(plan, summary)
    tables = {
        "replications": replications,
        "summary": summary,
        "paired": paired,
        "scenarios": scenarios,
    }
    if sens is not None:
        tables["sensitivity"] = sens
    files = experiment_folder.write_tables(out_dir, tables)
    targets, criterion = goals
    factor = main_factor(summary, plan.factors)
    answers = (
        recommend(summary, factor=factor, targets=targets, criterion=criterion, others=plan.factors)
        if factor is not None
        else []
    )
    baseline = plan.scenario(plan.baseline_id)
    streams = sorted({s for cell in cells.values() for s in cell.rng_streams})
    manifest = io_manifest.build_manifest(
        scenario_json=baseline.scenario.model_dump(mode="json", by_alias=True),
        config_hash=scenario_hash(baseline.scenario),
        seed=plan.master_seed,
        wall_time_s=wall_time_s,
        config_path=str(plan.spec_path) if plan.spec_path else None,
        streams=streams,
        extra={
            "kind": "experiment",
            "experiment": plan.name,
            "question": plan.question,
            "targets": {t.kpi: t.to_json() for t in targets},
            "criterion": criterion,
            "recommendations": [a.to_json() for a in answers],
            "spec": plan.spec.model_dump(mode="json"),
            "spec_hash": plan.spec_hash,
            "code_hash": io_manifest.code_fingerprint(),
            "spec_path": str(plan.spec_path) if plan.spec_path else None,
            "executor": executor,
            "common_random_numbers": plan.spec.common_random_numbers,
            "baseline": plan.baseline_id,
            "scenarios": {
                p.scenario_id: {
                    "base": p.base,
                    "levels": p.levels,
                    "seed": p.seed,
                    "config_hash": scenario_hash(p.scenario),
                }
                for p in plan.scenarios
            },
            "replications": runs,
            "replications_recommended": recommended,
            "warmup": warmup,
            "warmup_days": warmup_days,
            "cells": dict(counters),
            "uncertainty": PARAMETER_UNCERTAINTY if plan.ensemble else STOCHASTIC_ONLY,
            "ensemble": plan.ensemble.to_json(list(runs.values())) if plan.ensemble else None,
            "experiment_versions": {
                name: io_manifest.package_version(name) for name in ("dask", "distributed", "SALib")
            },
        },
    )
    manifest["files"] = files
    experiment_folder.write_manifest(out_dir, manifest)
    return ExperimentResult(
        out_dir=out_dir,
        plan=plan,
        replications=replications,
        summary=summary,
        paired=paired,
        scenarios=scenarios,
        sensitivity=sens,
        replications_run=runs,
        replications_recommended=recommended,
        warmup_days=warmup_days,
        computed=counters["computed"],
        reused=counters["reused"],
        wall_time_s=wall_time_s,
        executor=executor,
        recommendations=tuple(answers),
    )
