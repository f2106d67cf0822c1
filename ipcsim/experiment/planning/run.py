"""Running a plan: replications of each configuration the search asks about, then the outputs.

A configuration is judged by sequential replications with common random numbers: its first
``replications.initial`` replications, then ``replications.step`` more at a time while some
service level is undecided, up to ``replications.max`` (still undecided then: not shown, so
counted as not met). The final check runs ``replications.final`` (the first ones reused).
Replication ``r`` of every configuration runs with the master seed and ``r``, so every
configuration meets the same referrals with the same draws, and the verdicts depend only on
the spec and the seed: never on the executor or its number of workers.

Each replication is saved in the plan folder the moment it finishes (:class:`CellStore`);
``resume=True`` reuses those of a plan that was stopped, so the search asks the same
questions, gets the same answers and writes the same files as an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ipcsim.analysis.service_levels import Verdict, judge
from ipcsim.experiment.cell import CellResult, CellTask
from ipcsim.experiment.ensemble import PARAMETER_UNCERTAINTY, STOCHASTIC_ONLY
from ipcsim.experiment.executors import open_executor
from ipcsim.experiment.planning.over_time import PeriodProblem
from ipcsim.experiment.planning.problem import PlanProblem, draw_scenario
from ipcsim.experiment.planning.search import Assessment, Config, SearchResult, search
from ipcsim.experiment.run import execute_cells
from ipcsim.io import manifest as io_manifest
from ipcsim.io.plan_folder import prepare_plan_folder, read_cell, write_cell, write_plan_outputs
from ipcsim.scenario.load import scenario_hash

__all__ = [
    "CellStore",
    "Evaluation",
    "uncertainty_json",
    "GridAnswer",
    "PlanResult",
    "exhaustive_grid",
    "run_plan",
    "start_plan_folder",
]


@dataclass
class Evaluation:
    """A configuration as judged so far.

    Attributes
    ----------
    config
        Level indices, in the roles' order.
    order
        When it was first judged (0, 1, ...).
    phase
        The search step that first asked: ``ascent``, ``descent``, ``certify`` or ``final``.
    replications
        Replications its verdict rests on.
    verdicts
        One per service level.
    loads
        Mean utilisation of each role (NaN if undefined).
    overload_warnings
        Mean number of overload warnings per replication.
    final_check
        Whether it was judged with the final check's replications.
    levels
        Role -> level.
    period
        The period searched (``2016-04-01 to 2016-09-30``) in a plan over time, else ``""``.
    """

    config: Config
    order: int
    phase: str
    replications: int
    verdicts: tuple[Verdict, ...]
    loads: tuple[float, ...]
    overload_warnings: float
    final_check: bool = False
    levels: dict[str, int | float] = field(default_factory=dict)
    period: str = ""

    @property
    def status(self) -> str:
        """``met`` (every service level), ``missed`` (some), else ``undecided``."""
        states = [v.status for v in self.verdicts]
        if all(s == "met" for s in states):
            return "met"
        return "missed" if "missed" in states else "undecided"


ProgressFn = Callable[[Evaluation, int], None]
"""Called after each judgement with the evaluation and the replications simulated so far."""


@dataclass(frozen=True)
class PlanResult:
    """What a plan found (also written to ``out_dir``).

    Attributes
    ----------
    problem
        The resolved plan.
    out_dir
        Its folder.
    frontier
        One row per configuration judged (``frontier.parquet``).
    recommendation
        ``recommendation.json``.
    replications
        Replications simulated in all.
    grid_size
        Configurations in the ranges (what an exhaustive grid would judge).
    wall_time_s
        Seconds.
    executor
        Where the cells ran.
    staffing_plan
        A plan over time: one row per period (``staffing_plan.parquet``), else ``None``.
    reused
        Replications read back from a stopped plan's folder (``resume``) instead of
        simulated (counted in ``replications`` too).
    """

    problem: PlanProblem
    out_dir: Path
    frontier: pd.DataFrame
    recommendation: dict[str, Any]
    replications: int
    grid_size: int
    wall_time_s: float
    executor: str
    staffing_plan: pd.DataFrame | None = None
    reused: int = 0


class CellStore:
    """A plan's finished replications on disk (``cells/`` of its folder), for ``--resume``.

    A replication is found again by the scenario it ran (its hash), its seed and its KPI
    windows, so a resumed plan reuses exactly the runs it would otherwise repeat. Without a
    folder nothing is kept.

    Attributes
    ----------
    out_dir
        The plan folder, or ``None``.
    reused
        Replications read back instead of simulated.
    """

    def __init__(self, out_dir: Path | None):
        self.out_dir = out_dir
        self.reused = 0

    @staticmethod
    def key(task: CellTask) -> str:
        """The name of a task's scenario run: a digest of its scenario, seed and windows."""
        payload = [
            scenario_hash(task.scenario),
            task.seed,
            task.default_warmup_days,
            task.window_end_day,
            [list(w) for w in task.windows],
        ]
        return hashlib.sha256(json.dumps(payload).encode()).hexdigest()[:20]

    def run(
        self, tasks: Sequence[CellTask], handle: Any, on_done: Callable[[CellResult], None]
    ) -> None:
        """Run the tasks not on disk (saving each as it finishes); hand every result on."""
        keys = {(t.scenario_id, t.replication): self.key(t) for t in tasks} if self.out_dir else {}
        missing = []
        for task in tasks:
            found = (
                read_cell(
                    self.out_dir, keys[(task.scenario_id, task.replication)], task.replication
                )
                if self.out_dir is not None
                else None
            )
            if found is None:
                missing.append(task)
                continue
            self.reused += 1
            on_done(
                CellResult(
                    scenario_id=task.scenario_id,
                    replication=task.replication,
                    seed=task.seed,
                    kpis=found["kpis"],
                    rng_streams=tuple(found["rng_streams"]),
                    wall_time_s=0.0,
                    window_kpis=tuple(found["window_kpis"]),
                )
            )

        def done(result: CellResult) -> None:
            if self.out_dir is not None:
                record = {
                    "kpis": result.kpis,
                    "window_kpis": list(result.window_kpis),
                    "rng_streams": result.rng_streams,
                }
                key = keys[(result.scenario_id, result.replication)]
                write_cell(self.out_dir, key, result.replication, record)
            on_done(result)

        execute_cells(missing, handle, done)


class _Judge:
    """The search's oracle: runs replications on the executor and judges them."""

    def __init__(
        self,
        problem: PlanProblem,
        handle: Any,
        progress: ProgressFn | None,
        store: CellStore | None = None,
    ):
        self.problem = problem
        self.handle = handle
        self.progress = progress
        self.store = store if store is not None else CellStore(None)
        self.cells: dict[Config, dict[int, CellResult]] = {}
        self.scenarios: dict[Config, Any] = {}
        self.draws: dict[tuple[Config, int], Any] = {}
        self.evaluations: dict[Config, Evaluation] = {}
        self.simulated = 0
        self.streams: set[str] = set()
        self.period_label = (
            f"period {problem.period.index + 1} ({problem.period.label})"
            if isinstance(problem, PeriodProblem)
            else ""
        )

    def _ensure(self, config: Config, count: int) -> None:
        have = self.cells.setdefault(config, {})
        window = self.problem.kpi_window()
        if config not in self.scenarios:
            self.scenarios[config] = self.problem.scenario(config)
        tasks = [
            CellTask(
                scenario_id=_config_id(config),
                replication=r,
                seed=self.problem.master_seed,
                scenario=self._scenario(config, r),
                default_warmup_days=window[0],
                window_end_day=window[1],
            )
            for r in range(count)
            if r not in have
        ]

        def done(result: CellResult) -> None:
            have[result.replication] = result
            self.simulated += 1  # simulated now or before a resume: the plan rests on it
            self.streams.update(result.rng_streams)

        self.store.run(tasks, self.handle, done)

    def _scenario(self, config: Config, replication: int) -> Any:
        """Replication ``replication``'s scenario: on draw ``r mod n`` of an ensemble."""
        ensemble = self.problem.ensemble
        if ensemble is None:
            return self.scenarios[config]
        draw = ensemble.draw_index(replication)
        if (config, draw) not in self.draws:
            self.draws[(config, draw)] = draw_scenario(
                ensemble, self.scenarios[config], self.problem.scenario_data(config), draw
            )
        return self.draws[(config, draw)]

    def _values(self, config: Config, kpi: str, count: int) -> np.ndarray:
        cells = self.cells[config]
        return np.array([cells[r].kpis.get(kpi, math.nan) for r in range(count)])

    def _evaluate(self, config: Config, count: int, phase: str, final: bool) -> Evaluation:
        verdicts = tuple(
            judge(level, self._values(config, level.kpi, count))
            for level in self.problem.service_levels
        )
        loads = tuple(
            float(np.nanmean(values)) if np.isfinite(values).any() else math.nan
            for values in (
                self._values(config, f"utilisation_{r.role}", count) for r in self.problem.roles
            )
        )
        warnings = self._values(config, "overload_warnings", count)
        previous = self.evaluations.get(config)
        evaluation = Evaluation(
            config=config,
            order=previous.order if previous else len(self.evaluations),
            phase=previous.phase if previous else phase,
            replications=count,
            verdicts=verdicts,
            loads=loads,
            overload_warnings=float(np.nanmean(warnings)) if warnings.size else math.nan,
            final_check=final,
            levels=self.problem.levels(config),
            period=self.period_label,
        )
        self.evaluations[config] = evaluation
        if self.progress is not None:
            self.progress(evaluation, self.simulated)
        return evaluation

    def _assessment(self, evaluation: Evaluation) -> Assessment:
        shortfall = sum(
            level.target.shortfall(v.mean)
            for level, v in zip(self.problem.service_levels, evaluation.verdicts, strict=True)
        )
        return Assessment(evaluation.status == "met", evaluation.loads, shortfall)

    def assess(self, config: Config, *, phase: str) -> Assessment:
        settings = self.problem.spec.replications
        count = settings.initial
        while True:
            self._ensure(config, count)
            verdicts = [
                judge(level, self._values(config, level.kpi, count)).status
                for level in self.problem.service_levels
            ]
            decided = all(v == "met" for v in verdicts) or "missed" in verdicts
            if decided or count >= settings.max:
                break
            count = min(count + settings.step, settings.max)
        return self._assessment(self._evaluate(config, count, phase, final=False))

    def confirm(self, config: Config) -> Assessment:
        count = self.problem.spec.replications.final
        self._ensure(config, count)
        return self._assessment(self._evaluate(config, count, "final", final=True))


def _config_id(config: Config) -> str:
    return "c-" + "-".join(str(i) for i in config)


def _why_not(problem: PlanProblem, evaluation: Evaluation) -> str:
    reasons = []
    for verdict in evaluation.verdicts:
        if verdict.status == "met":
            continue
        prefix = "not shown" if verdict.status == "undecided" else "missed"
        reasons.append(f"{prefix}: {verdict.reason}")
    return "; ".join(reasons)


def _column_names(problem: PlanProblem) -> list[str]:
    """One column stem per service level: its KPI, with ``_<i>`` when a KPI repeats."""
    kpis = [level.kpi for level in problem.service_levels]
    return [k if kpis.count(k) == 1 else f"{k}_{i}" for i, k in enumerate(kpis)]


def frontier_frame(
    problem: PlanProblem, evaluations: dict[Config, Evaluation], best: Config | None
) -> pd.DataFrame:
    """One row per configuration judged, by cost then levels (see the README's Outputs)."""
    stems = _column_names(problem)
    rows = []
    for config, evaluation in evaluations.items():
        row: dict[str, Any] = {"configuration": _config_id(config), "order": evaluation.order}
        row |= problem.levels(config)
        row |= {
            "cost": problem.cost(config),
            "replications": evaluation.replications,
            "feasible": evaluation.status == "met",
            "status": evaluation.status,
            "why_not": _why_not(problem, evaluation),
            "phase": evaluation.phase,
            "final_check": evaluation.final_check,
            "recommended": config == best,
        }
        for stem, verdict in zip(stems, evaluation.verdicts, strict=True):
            row |= {
                f"{stem}_mean": verdict.mean,
                f"{stem}_ci_low": verdict.ci_low,
                f"{stem}_ci_high": verdict.ci_high,
                f"{stem}_bound": verdict.bound,
                f"{stem}_status": verdict.status,
            }
        for role, load in zip(problem.roles, evaluation.loads, strict=True):
            row[f"utilisation_{role.role}"] = load
        row["overload_warnings"] = evaluation.overload_warnings
        rows.append(row)
    frame = pd.DataFrame(rows)
    order = ["cost", *(r.role for r in problem.roles)]
    return frame.sort_values(order, kind="stable").reset_index(drop=True)


def _target_json(problem: PlanProblem, evaluation: Evaluation) -> list[dict[str, Any]]:
    return [
        level.to_json()
        | {
            "status": verdict.status,
            "mean": verdict.mean,
            "ci_low": verdict.ci_low,
            "ci_high": verdict.ci_high,
            "bound": verdict.bound,
            "replications_meeting": verdict.hits,
            "replications": verdict.n,
            "reason": verdict.reason,
        }
        for level, verdict in zip(problem.service_levels, evaluation.verdicts, strict=True)
    ]


def uncertainty_json(problem: PlanProblem, replications: list[int]) -> dict[str, Any]:
    """What the verdicts' intervals carry, for ``recommendation.json`` and the manifest.

    Parameters
    ----------
    problem
        The plan.
    replications
        Replication counts of the configurations judged.

    Returns
    -------
    dict
        ``uncertainty`` (``stochastic``, or ``stochastic and parameter`` over a posterior
        ensemble) and ``ensemble`` (where the draws came from and how they were used; ``None``
        without one).
    """
    ensemble = problem.ensemble
    return {
        "uncertainty": PARAMETER_UNCERTAINTY if ensemble is not None else STOCHASTIC_ONLY,
        "ensemble": ensemble.to_json(replications) if ensemble is not None else None,
    }


def recommendation_json(
    problem: PlanProblem,
    found: SearchResult,
    evaluations: dict[Config, Evaluation],
    *,
    simulated: int,
    grid_size: int,
) -> dict[str, Any]:
    """The answer as plain data (``recommendation.json``)."""
    chosen = found.best if found.best is not None else found.closest
    counts = [e.replications for e in evaluations.values()]
    answer: dict[str, Any] = {
        "question": problem.question,
        **uncertainty_json(problem, counts),
        "met": found.best is not None,
        "cost_kind": problem.spec.cost,
        "cost_unit": "GBP per year" if problem.spec.cost == "staff_cost" else "staff",
        "measures": {r.role: r.measure for r in problem.roles},
        "replications_simulated": simulated,
        "configurations_judged": len(evaluations),
        "grid_size": grid_size,
    }
    if chosen is None:
        return answer | {"configuration": None}
    evaluation = evaluations[chosen]
    answer |= {
        "configuration": problem.levels(chosen),
        "cost": problem.cost(chosen),
        "replications": evaluation.replications,
        "targets": _target_json(problem, evaluation),
        "utilisation": {
            r.role: load for r, load in zip(problem.roles, evaluation.loads, strict=True)
        },
        "why_not": _why_not(problem, evaluation),
        "cheaper_neighbours": [
            {
                "configuration": problem.levels(n),
                "cost": problem.cost(n),
                "replications": evaluations[n].replications,
                "status": evaluations[n].status,
                "why_not": _why_not(problem, evaluations[n]),
            }
            for n in found.neighbours
        ],
    }
    return answer


def run_plan(
    problem: PlanProblem,
    out_dir: str | Path,
    *,
    executor: str = "serial",
    progress: ProgressFn | None = None,
    connect_timeout_s: float = 10.0,
    resume: bool = False,
) -> PlanResult:
    """Search for the cheapest staffing meeting every service level, and write the outputs.

    Parameters
    ----------
    problem
        From :func:`ipcsim.experiment.planning.problem.prepare_plan`.
    out_dir
        Output folder: missing, empty, or a previous plan's (replaced; its outputs are
        removed first, so a plan that is stopped leaves no folder that looks complete).
    executor
        ``serial``, ``process:N``, ``dask:local:N`` or ``dask:ADDRESS``.
    progress
        Called after each configuration is judged.
    connect_timeout_s
        How long to wait for a remote Dask scheduler, seconds.
    resume
        Reuse the replications a stopped plan of the same spec saved in ``out_dir``: the
        outputs are those of an uninterrupted run.

    Returns
    -------
    PlanResult
        The frontier, the recommendation and how many replications it took; for a plan over
        time (``[over_time]``) also the staffing plan, period by period
        (:mod:`~ipcsim.experiment.planning.over_time`); with ``[alternatives]`` the staffing
        searched under each (:mod:`~ipcsim.experiment.planning.run_alternatives`).

    Raises
    ------
    OutputError
        The folder cannot be used or written.
    ExecutorError
        The executor option is malformed or its back end unreachable.
    """
    if problem.spec.over_time is not None:
        # Imported here: the plan over time builds on this module's judge and frames.
        from ipcsim.experiment.planning.run_over_time import run_over_time

        return run_over_time(
            problem,
            Path(out_dir),
            executor=executor,
            progress=progress,
            connect_timeout_s=connect_timeout_s,
            resume=resume,
        )
    if problem.spec.alternatives is not None:
        from ipcsim.experiment.planning.run_alternatives import run_alternatives

        return run_alternatives(
            problem,
            Path(out_dir),
            executor=executor,
            progress=progress,
            connect_timeout_s=connect_timeout_s,
            resume=resume,
        )
    began = time.perf_counter()
    out_dir = Path(out_dir)
    start_plan_folder(problem, out_dir, resume=resume)
    store = CellStore(out_dir)
    sizes = [len(r.levels) for r in problem.roles]
    with open_executor(executor, connect_timeout_s=connect_timeout_s) as handle:
        oracle = _Judge(problem, handle, progress, store)
        found = search(sizes, [r.costs for r in problem.roles], oracle)
        description = handle.description
    grid_size = math.prod(sizes)
    evaluations = oracle.evaluations
    frontier = frontier_frame(problem, evaluations, found.best)
    recommendation = recommendation_json(
        problem, found, evaluations, simulated=oracle.simulated, grid_size=grid_size
    )
    chosen = found.best if found.best is not None else found.closest
    scenario = oracle.scenarios[chosen] if chosen is not None else problem.base
    data = problem.scenario_data(chosen) if chosen is not None else problem.raw
    wall = time.perf_counter() - began
    levels = problem.levels(chosen) if chosen is not None else {}
    header = "\n".join(
        [
            f"Written by `ipcsim plan {problem.spec_path or ''}`: "
            + (
                "the cheapest staffing found to meet every target:"
                if found.best is not None
                else "NO staffing within the ranges met every target; the closest:"
            ),
            ", ".join(f"{k} = {v}" for k, v in levels.items()),
            *(f"  {level.text} ({level.describe()})" for level in problem.service_levels),
        ]
    )
    manifest = io_manifest.build_manifest(
        scenario_json=scenario.model_dump(mode="json", by_alias=True),
        config_hash=scenario_hash(scenario),
        seed=problem.master_seed,
        wall_time_s=wall,
        config_path=str(problem.spec_path) if problem.spec_path else None,
        streams=sorted(oracle.streams),
        extra={
            "kind": "plan",
            "plan": problem.name,
            "question": problem.question,
            "spec": problem.spec.to_json(),
            "spec_hash": problem.spec_hash,
            "code_hash": io_manifest.code_fingerprint(),
            "executor": description,
            "common_random_numbers": True,
            "targets": [level.to_json() for level in problem.service_levels],
            "met": found.best is not None,
            "recommended": levels,
            "replications_simulated": oracle.simulated,
            "replications_reused": store.reused,
            "configurations_judged": len(evaluations),
            "grid_size": grid_size,
            **uncertainty_json(problem, [e.replications for e in evaluations.values()]),
        },
    )
    write_plan_outputs(
        out_dir,
        frontier=frontier,
        recommendation=recommendation,
        scenario_data=data,
        scenario_header=header,
        manifest=manifest,
    )
    return PlanResult(
        problem=problem,
        out_dir=out_dir,
        frontier=frontier,
        recommendation=recommendation,
        replications=oracle.simulated,
        grid_size=grid_size,
        wall_time_s=wall,
        executor=description,
        reused=store.reused,
    )


def start_plan_folder(problem: PlanProblem, out_dir: Path, *, resume: bool) -> None:
    """Start (or, resuming, check) the plan folder.

    See :func:`ipcsim.io.plan_folder.prepare_plan_folder`.
    """
    prepare_plan_folder(
        out_dir,
        spec_hash=problem.spec_hash,
        code_hash=io_manifest.code_fingerprint(),
        resume=resume,
    )


@dataclass(frozen=True)
class GridAnswer:
    """The exhaustive grid's answer: every configuration judged with the same replications.

    Attributes
    ----------
    best
        Role -> level of the cheapest configuration meeting every service level (``None``
        if none does).
    cost
        Its cost (NaN if none).
    replications
        Replications simulated in all.
    frontier
        One row per configuration (as ``frontier.parquet``).
    """

    best: dict[str, int | float] | None
    cost: float
    replications: int
    frontier: pd.DataFrame


def exhaustive_grid(
    problem: PlanProblem, *, replications: int | None = None, executor: str = "serial"
) -> GridAnswer:
    """Judge every configuration in the ranges (a check on the search, and its benchmark).

    Parameters
    ----------
    problem
        The resolved plan.
    replications
        Replications per configuration (default: the final check's); ``0`` judges each
        with the search's sequential rule instead.
    executor
        Where the cells run.

    Returns
    -------
    GridAnswer
        The cheapest configuration meeting every service level, judged by the same rule.
    """
    sizes = [len(r.levels) for r in problem.roles]
    count = problem.spec.replications.final if replications is None else replications
    with open_executor(executor) as handle:
        oracle = _Judge(problem, handle, None)
        for flat in range(math.prod(sizes)):
            config = tuple(int(i) for i in np.unravel_index(flat, sizes))
            if count == 0:
                oracle.assess(config, phase="grid")
            else:
                oracle._ensure(config, count)
                oracle._evaluate(config, count, "grid", final=True)
    met = [c for c, e in oracle.evaluations.items() if e.status == "met"]
    best = min(met, key=lambda c: (problem.cost(c), c)) if met else None
    return GridAnswer(
        best=problem.levels(best) if best is not None else None,
        cost=problem.cost(best) if best is not None else math.nan,
        replications=oracle.simulated,
        frontier=frontier_frame(problem, oracle.evaluations, best),
    )
