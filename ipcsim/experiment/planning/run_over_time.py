"""Running a staffing plan over time: period by period, then the whole plan checked.

See :mod:`~ipcsim.experiment.planning.over_time` for the method; this module runs it with the
constant planner's judge (:mod:`.run`: sequential replications, common random numbers) and
writes the plan folder with ``staffing_plan.parquet``.
"""

from __future__ import annotations

import datetime as dt
import math
import time
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
from ipcsim.experiment.planning.problem import PlanProblem, RoleLevels, draw_scenario
from ipcsim.experiment.planning.run import (
    CellStore,
    PlanResult,
    ProgressFn,
    _column_names,
    _Judge,
    _why_not,
    frontier_frame,
    start_plan_folder,
    uncertainty_json,
)
from ipcsim.experiment.planning.search import SearchResult, search
from ipcsim.io import manifest as io_manifest
from ipcsim.io.plan_folder import write_plan_outputs
from ipcsim.scenario import Scenario
from ipcsim.scenario.load import scenario_from_dict, scenario_hash
from ipcsim.units import DAYS_PER_YEAR

__all__ = ["check_staffing_plan", "run_over_time"]


def check_staffing_plan(
    scenario: Scenario,
    periods: list[Period] | tuple[Period, ...],
    service_levels: tuple[Any, ...],
    *,
    seed: int,
    replications: int,
    handle: Any,
    draws: tuple[Scenario, ...] = (),
    store: CellStore | None = None,
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
    draws
        The scenario on each draw of a posterior ensemble: replication ``r`` then runs
        ``draws[r mod n]`` instead of ``scenario``.
    store
        Where finished replications are saved and found again (a plan folder's ``cells/``).

    Returns
    -------
    (list, list, int, set)
        Each period's verdicts (one per service level), each period's mean people referred,
        the replications run and the random streams used.
    """
    windows = tuple((p.start_day, p.end_day) for p in periods)
    tasks = [
        CellTask(
            scenario_id="plan",
            replication=r,
            seed=seed,
            scenario=draws[r % len(draws)] if draws else scenario,
            windows=windows,
        )
        for r in range(replications)
    ]
    cells: dict[int, CellResult] = {}
    streams: set[str] = set()

    def done(result: CellResult) -> None:
        cells[result.replication] = result
        streams.update(result.rng_streams)

    (store or CellStore(None)).run(tasks, handle, done)
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


def run_over_time(
    problem: PlanProblem,
    out_dir: Path,
    *,
    executor: str,
    progress: ProgressFn | None,
    connect_timeout_s: float,
    resume: bool = False,
) -> PlanResult:
    """The staffing plan over time (see :mod:`~ipcsim.experiment.planning.over_time`).

    Called by :func:`ipcsim.experiment.planning.run.run_plan` for a spec with
    ``[over_time]``; its parameters, result and errors are that function's.
    """
    began = time.perf_counter()
    settings = problem.spec.over_time
    assert settings is not None  # run_plan dispatches here only with it
    start_plan_folder(problem, out_dir, resume=resume)
    store = CellStore(out_dir)
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
            oracle = _Judge(step, handle, progress, store)
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
        ensemble = problem.ensemble
        draws = (
            tuple(draw_scenario(ensemble, scenario, data, d) for d in range(ensemble.size))
            if ensemble is not None
            else ()
        )
        checked, referred, count, check_streams = check_staffing_plan(
            scenario,
            planned,
            problem.service_levels,
            seed=problem.master_seed,
            replications=final,
            handle=handle,
            draws=draws,
            store=store,
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
        "periods_total": len(periods),
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
        **uncertainty_json(problem, [count]),
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
            "spec": problem.spec.to_json(),
            "spec_hash": problem.spec_hash,
            "code_hash": io_manifest.code_fingerprint(),
            "executor": description,
            "common_random_numbers": True,
            "targets": [level.to_json() for level in problem.service_levels],
            "met": met,
            "over_time": True,
            "recommended": recommendation["changes"],
            "replications_simulated": simulated,
            "replications_reused": store.reused,
            "configurations_judged": configurations,
            **uncertainty_json(problem, [count]),
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
        reused=store.reused,
    )
