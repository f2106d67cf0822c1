"""A plan over decision alternatives: the staffing searched under each, the cheapest total chosen.

``[alternatives.<name>]`` in a plan spec sets scenario keys (the sign-off mode, the panel's
cadence and capacity, their parameters: any setting ``--set`` takes) and states what the
alternative costs a year beyond the roles' staff cost (panel sittings, reviewers' time are
not in it, so the user states them). The alternatives are enumerated outside the staffing
search: :func:`~ipcsim.experiment.planning.search.search` runs once per alternative, on the
same executor and with the same seeds, so replication ``r`` of every alternative and every
configuration meets the same referrals with the same draws (common random numbers). The
answer is the alternative-and-staffing with the least staff cost plus extra cost that meets
every target (ties: the alternative listed first); an alternative with no staffing in the
ranges shown to meet them is reported with its closest configuration and why.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ipcsim.experiment.executors import open_executor
from ipcsim.experiment.planning.problem import PlanProblem, alternative_problem
from ipcsim.experiment.planning.run import (
    CellStore,
    PlanResult,
    ProgressFn,
    _Judge,
    _why_not,
    frontier_frame,
    recommendation_json,
    start_plan_folder,
    uncertainty_json,
)
from ipcsim.experiment.planning.search import SearchResult, search
from ipcsim.io import manifest as io_manifest
from ipcsim.io.plan_folder import write_plan_outputs
from ipcsim.scenario.load import scenario_hash

__all__ = ["run_alternatives"]


@dataclass
class _Outcome:
    """One alternative's search."""

    name: str
    problem: PlanProblem
    oracle: _Judge
    found: SearchResult

    @property
    def answer(self) -> tuple[int, ...] | None:
        """Its best configuration, else its closest."""
        return self.found.best if self.found.best is not None else self.found.closest

    def total(self, config: tuple[int, ...]) -> float:
        """Staff cost plus the alternative's stated extra cost."""
        return self.problem.cost(config) + self.problem.extra_cost

    def shortfall(self) -> float:
        """How far its closest configuration's means fall short of the targets."""
        config = self.answer
        if config is None:
            return math.inf
        return self.oracle._assessment(self.oracle.evaluations[config]).shortfall

    def summary(self) -> dict[str, Any]:
        """Its best answer and cost (``recommendation.json``'s ``alternatives``)."""
        assert self.problem.spec.alternatives is not None
        stated = self.problem.spec.alternatives[self.name]
        row: dict[str, Any] = {
            "alternative": self.name,
            "set": dict(stated.settings),
            "extra_cost_per_year": self.problem.extra_cost,
            "met": self.found.best is not None,
            "configurations_judged": len(self.oracle.evaluations),
            "replications_simulated": self.oracle.simulated,
        }
        config = self.answer
        if config is None:
            return row | {"configuration": None, "why_not": "no configuration was judged"}
        evaluation = self.oracle.evaluations[config]
        return row | {
            "configuration": self.problem.levels(config),
            "staff_cost": self.problem.cost(config),
            "cost": self.total(config),
            "replications": evaluation.replications,
            "why_not": _why_not(self.problem, evaluation),
        }


def _choose(outcomes: list[_Outcome]) -> _Outcome | None:
    """The cheapest total meeting every target; if none, the one that came closest."""
    met = [o for o in outcomes if o.found.best is not None]
    if met:
        return min(met, key=lambda o: o.total(o.found.best or ()))
    judged = [o for o in outcomes if o.answer is not None]
    if not judged:
        return None
    return min(judged, key=lambda o: (o.shortfall(), o.total(o.answer or ())))


def _frontier(outcomes: list[_Outcome], chosen: _Outcome | None) -> pd.DataFrame:
    """Every alternative's frontier in one frame: ``alternative``, staff, extra, total cost."""
    frames = []
    offset = 0
    for outcome in outcomes:
        best = outcome.found.best if outcome is chosen else None
        frame = frontier_frame(outcome.problem, outcome.oracle.evaluations, best)
        frame["configuration"] = outcome.name + "/" + frame["configuration"]
        frame.insert(1, "alternative", outcome.name)
        frame["order"] = frame["order"] + offset
        offset += len(frame)
        at = frame.columns.get_loc("cost")
        assert isinstance(at, int)
        frame.insert(at + 1, "staff_cost", frame["cost"])
        frame.insert(at + 2, "extra_cost", outcome.problem.extra_cost)
        frame["cost"] = frame["staff_cost"] + frame["extra_cost"]
        frames.append(frame)
    roles = [r.role for r in outcomes[0].problem.roles]
    whole = pd.concat(frames, ignore_index=True)
    return whole.sort_values(["cost", *roles], kind="stable").reset_index(drop=True)


def _recommendation(
    problem: PlanProblem, outcomes: list[_Outcome], chosen: _Outcome | None, grid_size: int
) -> dict[str, Any]:
    simulated = sum(o.oracle.simulated for o in outcomes)
    judged = sum(len(o.oracle.evaluations) for o in outcomes)
    counts = [e.replications for o in outcomes for e in o.oracle.evaluations.values()]
    if chosen is None:
        answer: dict[str, Any] = {
            "question": problem.question,
            **uncertainty_json(problem, counts),
            "met": False,
            "configuration": None,
        }
    else:
        answer = recommendation_json(
            chosen.problem,
            chosen.found,
            chosen.oracle.evaluations,
            simulated=simulated,
            grid_size=grid_size,
        )
        answer |= uncertainty_json(problem, counts)
        if answer.get("configuration") is not None:
            answer["staff_cost"] = answer["cost"]
            answer["cost"] = answer["cost"] + chosen.problem.extra_cost
            for neighbour in answer["cheaper_neighbours"]:
                neighbour["cost"] = neighbour["cost"] + chosen.problem.extra_cost
    assert problem.spec.alternatives is not None
    answer |= {
        "configurations_judged": judged,
        "replications_simulated": simulated,
        "grid_size": grid_size,
        "alternative": chosen.name if chosen is not None else None,
        "set": dict(problem.spec.alternatives[chosen.name].settings) if chosen else {},
        "extra_cost_per_year": chosen.problem.extra_cost if chosen is not None else 0.0,
        "alternatives": [o.summary() for o in outcomes],
    }
    return answer


def run_alternatives(
    problem: PlanProblem,
    out_dir: Path,
    *,
    executor: str,
    progress: ProgressFn | None,
    connect_timeout_s: float,
    resume: bool,
) -> PlanResult:
    """Search the staffing under each alternative; write the cheapest total (see the module).

    Called by :func:`ipcsim.experiment.planning.run.run_plan` for a spec with
    ``[alternatives]``; its parameters, outputs and errors are that function's.
    """
    began = time.perf_counter()
    start_plan_folder(problem, out_dir, resume=resume)
    store = CellStore(out_dir)
    sizes = [len(r.levels) for r in problem.roles]
    names = list(problem.spec.alternatives or {})
    outcomes = []
    with open_executor(executor, connect_timeout_s=connect_timeout_s) as handle:
        for name in names:
            variant = alternative_problem(problem, name)
            oracle = _Judge(variant, handle, progress, store)
            oracle.period_label = f"alternative {name}"  # leads each progress line
            found = search(sizes, [r.costs for r in variant.roles], oracle)
            outcomes.append(_Outcome(name, variant, oracle, found))
        description = handle.description
    grid_size = math.prod(sizes) * len(names)
    chosen = _choose(outcomes)
    met = chosen is not None and chosen.found.best is not None
    frontier = _frontier(outcomes, chosen if met else None)
    recommendation = _recommendation(problem, outcomes, chosen, grid_size)
    config = chosen.answer if chosen is not None else None
    if chosen is not None and config is not None:
        scenario = chosen.oracle.scenarios[config]
        data = chosen.problem.scenario_data(config)
        levels = chosen.problem.levels(config)
        settings = recommendation["set"]
        shown = ", ".join(f"{k} = {v!r}" for k, v in settings.items()) or "the base's settings"
        named = (
            f"alternative {chosen.name} ({shown}; stated extra cost "
            f"£{chosen.problem.extra_cost:,.0f} a year, not in the staff cost)"
        )
    else:
        scenario, data, levels, named = problem.base, problem.raw, {}, "no alternative"
    simulated = recommendation["replications_simulated"]
    wall = time.perf_counter() - began
    header = "\n".join(
        [
            f"Written by `ipcsim plan {problem.spec_path or ''}`: "
            + (
                "the cheapest alternative and staffing found to meet every target:"
                if met
                else "NO alternative and staffing within the ranges met every target; the closest:"
            ),
            named,
            ", ".join(f"{k} = {v}" for k, v in levels.items()),
            *(f"  {level.text} ({level.describe()})" for level in problem.service_levels),
        ]
    )
    streams = sorted(set().union(*(o.oracle.streams for o in outcomes)))
    manifest = io_manifest.build_manifest(
        scenario_json=scenario.model_dump(mode="json", by_alias=True),
        config_hash=scenario_hash(scenario),
        seed=problem.master_seed,
        wall_time_s=wall,
        config_path=str(problem.spec_path) if problem.spec_path else None,
        streams=streams,
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
            "recommended": levels,
            "alternative": recommendation["alternative"],
            "alternatives": recommendation["alternatives"],
            "replications_simulated": simulated,
            "replications_reused": store.reused,
            "configurations_judged": recommendation["configurations_judged"],
            "grid_size": grid_size,
            **uncertainty_json(
                problem, [e.replications for o in outcomes for e in o.oracle.evaluations.values()]
            ),
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
        replications=simulated,
        grid_size=grid_size,
        wall_time_s=wall,
        executor=description,
        reused=store.reused,
    )
