"""Running a plan: replications of each configuration the search asks about, then the outputs.

A configuration is judged by sequential replications with common random numbers: its first
``replications.initial`` replications, then ``replications.step`` more at a time while some
service level is undecided, up to ``replications.max`` (still undecided then: not shown, so
counted as not met). The final check runs ``replications.final`` (the first ones reused).
Replication ``r`` of every configuration runs with the master seed and ``r``, so every
configuration meets the same referrals with the same draws, and the verdicts depend only on
the spec and the seed: never on the executor or its number of workers.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ipcsim.analysis.service_levels import Verdict, judge
from ipcsim.experiment.cell import CellResult, CellTask
from ipcsim.experiment.executors import open_executor
from ipcsim.experiment.planning.over_time import (
    Hire,
    Period,
    PeriodProblem,
    follow_up_days,
    hires_for,
    plan_periods,
    staffing_plan_data,
)
from ipcsim.experiment.planning.problem import PlanProblem, RoleLevels
from ipcsim.experiment.planning.search import Assessment, Config, SearchResult, search
from ipcsim.experiment.run import execute_cells
from ipcsim.io import manifest as io_manifest
from ipcsim.io.plan_folder import prepare_plan_folder, write_plan_outputs
from ipcsim.scenario import Scenario
from ipcsim.scenario.load import scenario_from_dict, scenario_hash
from ipcsim.units import DAYS_PER_YEAR

__all__ = [
    "Evaluation",
    "GridAnswer",
    "PlanResult",
    "check_staffing_plan",
    "exhaustive_grid",
    "run_plan",
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


class _Judge:
    """The search's oracle: runs replications on the executor and judges them."""

    def __init__(self, problem: PlanProblem, handle: Any, progress: ProgressFn | None):
        self.problem = problem
        self.handle = handle
        self.progress = progress
        self.cells: dict[Config, dict[int, CellResult]] = {}
        self.scenarios: dict[Config, Any] = {}
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
                scenario=self.scenarios[config],
                default_warmup_days=window[0],
                window_end_day=window[1],
            )
            for r in range(count)
            if r not in have
        ]

        def done(result: CellResult) -> None:
            have[result.replication] = result
            self.simulated += 1
            self.streams.update(result.rng_streams)

        execute_cells(tasks, self.handle, done)

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
    answer: dict[str, Any] = {
        "question": problem.question,
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
) -> PlanResult:
    """Search for the cheapest staffing meeting every service level, and write the outputs.

    Parameters
    ----------
    problem
        From :func:`ipcsim.experiment.planning.problem.prepare_plan`.
    out_dir
        Output folder: missing, empty, or a previous plan's (overwritten).
    executor
        ``serial``, ``process:N``, ``dask:local:N`` or ``dask:ADDRESS``.
    progress
        Called after each configuration is judged.
    connect_timeout_s
        How long to wait for a remote Dask scheduler, seconds.

    Returns
    -------
    PlanResult
        The frontier, the recommendation and how many replications it took; for a plan over
        time (``[over_time]``) also the staffing plan, period by period
        (:mod:`~ipcsim.experiment.planning.over_time`).

    Raises
    ------
    OutputError
        The folder cannot be used or written.
    ExecutorError
        The executor option is malformed or its back end unreachable.
    """
    if problem.spec.over_time is not None:
        return _run_over_time(
            problem,
            Path(out_dir),
            executor=executor,
            progress=progress,
            connect_timeout_s=connect_timeout_s,
        )
    began = time.perf_counter()
    out_dir = Path(out_dir)
    prepare_plan_folder(out_dir)
    sizes = [len(r.levels) for r in problem.roles]
    with open_executor(executor, connect_timeout_s=connect_timeout_s) as handle:
        oracle = _Judge(problem, handle, progress)
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
            "spec": problem.spec.model_dump(mode="json"),
            "spec_hash": problem.spec_hash,
            "code_hash": io_manifest.code_fingerprint(),
            "executor": description,
            "common_random_numbers": True,
            "targets": [level.to_json() for level in problem.service_levels],
            "met": found.best is not None,
            "recommended": levels,
            "replications_simulated": oracle.simulated,
            "configurations_judged": len(evaluations),
            "grid_size": grid_size,
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


# --------------------------------------------------------------------------- over time
def check_staffing_plan(
    scenario: Scenario,
    periods: list[Period] | tuple[Period, ...],
    service_levels: tuple[Any, ...],
    *,
    seed: int,
    replications: int,
    handle: Any,
) -> tuple[list[tuple[Verdict, ...]], list[float], int, set[str]]:
    """Judge every period's service levels on replications of one scenario (a staffing plan).

    Parameters
    ----------
    scenario
        The plan's scenario (dated ``changes``; the horizon past the last period's end).
    periods
        The periods, each judged on its own people, events and work.
    service_levels
        The targets.
    seed, replications
        Replications ``0 .. replications - 1`` of ``seed`` (a fresh seed is a fresh batch).
    handle
        An open executor (:func:`ipcsim.experiment.executors.open_executor`).

    Returns
    -------
    (list, list, int, set)
        Each period's verdicts (one per service level), each period's mean people referred,
        the replications run and the random streams used.
    """
    windows = tuple((p.start_day, p.end_day) for p in periods)
    tasks = [
        CellTask(scenario_id="plan", replication=r, seed=seed, scenario=scenario, windows=windows)
        for r in range(replications)
    ]
    cells: dict[int, CellResult] = {}
    streams: set[str] = set()

    def done(result: CellResult) -> None:
        cells[result.replication] = result
        streams.update(result.rng_streams)

    execute_cells(tasks, handle, done)
    verdicts = []
    referred = []
    for k in range(len(periods)):

        def values(kpi: str, k: int = k) -> np.ndarray:
            return np.array(
                [cells[r].window_kpis[k].get(kpi, math.nan) for r in range(replications)]
            )

        verdicts.append(tuple(judge(level, values(level.kpi)) for level in service_levels))
        referred.append(float(np.nanmean(values("referred"))))
    return verdicts, referred, replications, streams


def _period_problem(
    problem: PlanProblem,
    period: Period,
    periods: list[Period],
    chosen: list[tuple[int | float, ...]],
    follow_up: float,
) -> PeriodProblem:
    """Period ``period``'s search: levels from the previous period's up (never lower)."""
    roles = []
    for r, role in enumerate(problem.roles):
        keep = [i for i, level in enumerate(role.levels) if not chosen or level >= chosen[-1][r]]
        roles.append(
            RoleLevels(
                role=role.role,
                measure=role.measure,
                levels=tuple(role.levels[i] for i in keep),
                costs=tuple(role.costs[i] for i in keep),
            )
        )
    fields = {**problem.__dict__, "roles": tuple(roles)}
    return PeriodProblem(
        **fields,
        period=period,
        periods=tuple(periods),
        earlier=tuple(chosen),
        all_roles=problem.roles,
        horizon_days=period.end_day + follow_up,
    )


def _in_post_cost(
    problem: PlanProblem,
    chosen: list[tuple[int | float, ...]],
    hires: list[Hire],
    period: Period,
) -> float:
    """Cost of the staff in post during the period (new staff paid from their arrival)."""
    total = 0.0
    for r, role in enumerate(problem.roles):
        per_staff_year = role.costs[-1] / role.levels[-1] if role.levels[-1] else 0.0
        steps = [(0.0, float(chosen[0][r]))] + [
            (h.arrival_day, float(h.level)) for h in hires if h.role == role.role
        ]
        steps.sort(key=lambda step: step[0])
        staff_days = 0.0
        for i, (day, level) in enumerate(steps):
            until = steps[i + 1][0] if i + 1 < len(steps) else math.inf
            low, high = max(day, period.start_day), min(until, period.end_day)
            if high > low:
                staff_days += level * (high - low)
        total += staff_days / DAYS_PER_YEAR * per_staff_year
    return total


def _verdict_json(levels: tuple[Any, ...], verdicts: tuple[Verdict, ...]) -> list[dict[str, Any]]:
    return [
        level.to_json()
        | {
            "status": v.status,
            "mean": v.mean,
            "ci_low": v.ci_low,
            "ci_high": v.ci_high,
            "bound": v.bound,
            "replications_meeting": v.hits,
            "replications": v.n,
            "reason": v.reason,
        }
        for level, v in zip(levels, verdicts, strict=True)
    ]


def _overall(verdicts: tuple[Verdict, ...]) -> str:
    states = [v.status for v in verdicts]
    if all(s == "met" for s in states):
        return "met"
    return "missed" if "missed" in states else "undecided"


def _run_over_time(
    problem: PlanProblem,
    out_dir: Path,
    *,
    executor: str,
    progress: ProgressFn | None,
    connect_timeout_s: float,
) -> PlanResult:
    """The staffing plan over time (see :mod:`~ipcsim.experiment.planning.over_time`)."""
    began = time.perf_counter()
    settings = problem.spec.over_time
    assert settings is not None  # run_plan dispatches here only with it
    prepare_plan_folder(out_dir)
    base = problem.base
    periods = plan_periods(base.run.start_date, base.run.horizon_days, settings.period_months)
    follow_up = follow_up_days(problem.service_levels, settings)
    chosen: list[tuple[int | float, ...]] = []
    searched: list[tuple[PeriodProblem, SearchResult, _Judge]] = []
    frontiers = []
    simulated = 0
    streams: set[str] = set()
    configurations = 0
    with open_executor(executor, connect_timeout_s=connect_timeout_s) as handle:
        for period in periods:
            step = _period_problem(problem, period, periods, chosen, follow_up)
            oracle = _Judge(step, handle, progress)
            found = search(
                [len(r.levels) for r in step.roles], [r.costs for r in step.roles], oracle
            )
            simulated += oracle.simulated
            streams |= oracle.streams
            configurations += len(oracle.evaluations)
            pick = found.best if found.best is not None else found.closest
            assert pick is not None  # the search judges at least one
            frame = frontier_frame(step, oracle.evaluations, found.best)
            frame.insert(0, "period", period.index + 1)
            frame["configuration"] = f"p{period.index + 1}-" + frame["configuration"]
            frontiers.append(frame)
            chosen.append(tuple(step.levels(pick).values()))
            searched.append((step, found, oracle))
            if found.best is None:
                break  # no staffing within the ranges meets this period: later ones unplanned
        planned = periods[: len(chosen)]
        hires = hires_for(base, problem.roles, planned, chosen, settings.hires_ready)
        horizon = planned[-1].end_day + follow_up
        data = staffing_plan_data(problem.raw, problem.roles, chosen[0], hires, horizon)
        where = f"{problem.spec_path or '<plan>'}: the staffing plan"
        scenario = scenario_from_dict(data, source=where)
        final = problem.spec.replications.final
        checked, referred, count, check_streams = check_staffing_plan(
            scenario,
            planned,
            problem.service_levels,
            seed=problem.master_seed,
            replications=final,
            handle=handle,
        )
        simulated += count
        streams |= check_streams
        description = handle.description
    searched_all = len(chosen) == len(periods) and all(f.best is not None for _, f, _ in searched)
    met = searched_all and all(_overall(v) == "met" for v in checked)
    stems = _column_names(problem)
    rows = []
    periods_json = []
    for k, period in enumerate(planned):
        step, found, oracle = searched[k]
        pick = found.best if found.best is not None else found.closest
        assert pick is not None
        evaluation = oracle.evaluations[pick]
        mine = [h for h in hires if h.period == k]
        cost = _in_post_cost(problem, chosen, hires, period)
        rate = problem.cost(
            tuple(r.levels.index(float(v)) for r, v in zip(problem.roles, chosen[k], strict=True))
        )
        row: dict[str, Any] = {
            "period": k + 1,
            "start_date": period.start_date,
            "end_date": period.end_date - dt.timedelta(days=1),
            "start_day": period.start_day,
            "end_day": period.end_day,
        }
        for r, role in enumerate(problem.roles):
            row[role.role] = chosen[k][r]
        for role in problem.roles:
            hire = next((h for h in mine if h.role == role.role), None)
            row[f"{role.role}_change_date"] = hire.date if hire else None
            row[f"{role.role}_late_days"] = hire.late_days if hire else 0.0
        row |= {
            "cost_per_year": rate,
            "cost": cost,
            "referred_mean": referred[k],
            "search_status": evaluation.status,
            "search_replications": evaluation.replications,
            "status": _overall(checked[k]),
            "replications": count,
        }
        for stem, verdict in zip(stems, checked[k], strict=True):
            row |= {
                f"{stem}_mean": verdict.mean,
                f"{stem}_ci_low": verdict.ci_low,
                f"{stem}_ci_high": verdict.ci_high,
                f"{stem}_bound": verdict.bound,
                f"{stem}_status": verdict.status,
            }
        rows.append(row)
        periods_json.append(
            {
                "period": k + 1,
                "start_date": period.start_date.isoformat(),
                "end_date": (period.end_date - dt.timedelta(days=1)).isoformat(),
                "levels": dict(zip((r.role for r in problem.roles), chosen[k], strict=True)),
                "cost_per_year": rate,
                "cost": cost,
                "referred_mean": referred[k],
                "search": {
                    "status": evaluation.status,
                    "replications": evaluation.replications,
                    "targets": _verdict_json(problem.service_levels, evaluation.verdicts),
                    "why_not": _why_not(step, evaluation),
                },
                "check": {
                    "status": _overall(checked[k]),
                    "replications": count,
                    "targets": _verdict_json(problem.service_levels, checked[k]),
                },
            }
        )
    staffing = pd.DataFrame(rows)
    frontier = pd.concat(frontiers, ignore_index=True)
    kind = problem.spec.cost
    recommendation: dict[str, Any] = {
        "question": problem.question,
        "kind": "over_time",
        "met": met,
        "cost_kind": kind,
        "cost_unit": "GBP" if kind == "staff_cost" else "staff-years",
        "cost_per_year_unit": "GBP per year" if kind == "staff_cost" else "staff",
        "measures": {r.role: r.measure for r in problem.roles},
        "period_months": settings.period_months,
        "hires_ready": settings.hires_ready,
        "follow_up_days": follow_up,
        "horizon_days": horizon,
        "periods_planned": len(planned),
        "periods": periods_json,
        "changes": {
            role.role: [
                {
                    "date": h.date.isoformat(),
                    role.measure: h.level,
                    "period": h.period + 1,
                    "arrival_day": h.arrival_day,
                    "ready_day": h.ready_day,
                    "late_days": h.late_days,
                }
                for h in hires
                if h.role == role.role
            ]
            for role in problem.roles
        },
        "configuration": periods_json[-1]["levels"],
        "cost": float(staffing["cost"].sum()),
        "check": {"seed": problem.master_seed, "replications": count},
        "replications_simulated": simulated,
        "configurations_judged": configurations,
    }
    wall = time.perf_counter() - began
    lines = [
        f"Written by `ipcsim plan {problem.spec_path or ''}`: the staffing plan over time "
        + (
            "meeting every target in every period"
            if met
            else "(NOT shown to meet every target in every period; see recommendation.json)"
        )
        + f", periods of {settings.period_months} months:",
    ]
    for k, period in enumerate(planned):
        shown = ", ".join(
            f"{r.role} = {v:g}" for r, v in zip(problem.roles, chosen[k], strict=True)
        )
        lines.append(f"  period {k + 1} ({period.label}): {shown}: {_overall(checked[k])}")
    lines += [
        *(f"  {level.text} ({level.describe()})" for level in problem.service_levels),
        f"Each period's targets are judged on the people referred in it; the horizon runs "
        f"{follow_up:g} days past the last period so its people are followed as long.",
    ]
    manifest = io_manifest.build_manifest(
        scenario_json=scenario.model_dump(mode="json", by_alias=True),
        config_hash=scenario_hash(scenario),
        seed=problem.master_seed,
        wall_time_s=wall,
        config_path=str(problem.spec_path) if problem.spec_path else None,
        streams=sorted(streams),
        extra={
            "kind": "plan",
            "plan": problem.name,
            "question": problem.question,
            "spec": problem.spec.model_dump(mode="json"),
            "spec_hash": problem.spec_hash,
            "code_hash": io_manifest.code_fingerprint(),
            "executor": description,
            "common_random_numbers": True,
            "targets": [level.to_json() for level in problem.service_levels],
            "met": met,
            "over_time": True,
            "recommended": recommendation["changes"],
            "replications_simulated": simulated,
            "configurations_judged": configurations,
        },
    )
    write_plan_outputs(
        out_dir,
        frontier=frontier,
        recommendation=recommendation,
        scenario_data=data,
        scenario_header="\n".join(lines),
        manifest=manifest,
        staffing_plan=staffing,
    )
    return PlanResult(
        problem=problem,
        out_dir=out_dir,
        frontier=frontier,
        recommendation=recommendation,
        replications=simulated,
        grid_size=math.prod(len(r.levels) for r in problem.roles) * len(periods),
        wall_time_s=wall,
        executor=description,
        staffing_plan=staffing,
    )
