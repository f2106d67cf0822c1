"""``ipcsim plan``: a thin typer layer over :mod:`ipcsim.experiment.planning`.

It parses options, reports each configuration judged on stderr, then prints the
recommendation first and the frontier after it; the library does the work.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ipcsim.analysis import labels
from ipcsim.cli._app import SetOption, console, err_console, user_errors
from ipcsim.experiment.planning import (
    Evaluation,
    PlanProblem,
    PlanResult,
    load_plan_spec,
    prepare_plan,
    run_plan,
)

__all__ = ["plan", "register"]

MAX_ROWS = 40
"""Configurations shown in the frontier table (all are in frontier.parquet)."""


def register(app: typer.Typer) -> None:
    """Add the ``plan`` command to ``app``."""
    app.command("plan")(plan)


def _number(value: Any) -> str:
    if value is None or not isinstance(value, int | float) or not math.isfinite(value):
        return "n/a"
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 1:
        return f"{value:.1f}"
    return f"{value:.3f}"


def _cost(value: float, kind: str) -> str:
    if kind == "staff_cost":
        return f"£{value:,.0f} a year"
    return f"{value:g} staff"


def _levels(levels: dict[str, Any]) -> str:
    return ", ".join(f"{role} = {value:g}" for role, value in levels.items())


def _judged_line(problem: PlanProblem, evaluation: Evaluation, simulated: int) -> str:
    levels = _levels(problem.levels(evaluation.config))
    final = " (final check)" if evaluation.final_check else ""
    return (
        f"  {levels}: {evaluation.status} with {evaluation.replications} replications{final}; "
        f"{simulated} simulated so far"
    )


def _recommendation_lines(result: PlanResult) -> list[str]:
    answer = result.recommendation
    kind = answer["cost_kind"]
    lines = []
    if result.problem.question:
        lines.append(f"Question: {result.problem.question}")
    if answer.get("configuration") is None:
        return [*lines, "No configuration was judged."]
    config = _levels(answer["configuration"])
    cost = _cost(answer["cost"], kind)
    if answer["met"]:
        lines.append(
            f"Recommendation: {config} ({cost}), every target met with "
            f"{answer['replications']} replications."
        )
    else:
        lines.append(
            f"No staffing within the ranges meets every target. Closest: {config} ({cost}), "
            f"{answer['replications']} replications."
        )
    for target in answer["targets"]:
        level = int(round(100 * target["confidence"]))
        how = (
            "mean"
            if target["requirement"] == "mean"
            else f"in {target['share']:.0%} of replications"
        )
        shown = (
            f"{_number(target['mean'])}, {level}% CI {_number(target['ci_low'])} to "
            f"{_number(target['ci_high'])}"
        )
        if target["requirement"] == "replications":
            shown += (
                f"; held in {target['replications_meeting']} of {target['replications']} "
                "replications"
            )
        lines.append(f"  {target['text']} ({how}, {level}% confidence): {shown}: "
                     f"{'met' if target['status'] == 'met' else 'NOT met'}")  # fmt: skip
    for neighbour in answer.get("cheaper_neighbours", []):
        verdict = "also meets every target" if neighbour["status"] == "met" else "not shown"
        lines.append(
            f"  Cheaper: {_levels(neighbour['configuration'])} "
            f"({_cost(neighbour['cost'], kind)}): {verdict} with {neighbour['replications']} "
            f"replications" + (f" ({neighbour['why_not']})" if neighbour["why_not"] else "")
        )
    return lines


def _frontier_table(result: PlanResult) -> Table:
    problem = result.problem
    frame = result.frontier
    answer = result.recommendation
    title = (
        f"Frontier: {len(frame)} of {result.grid_size:,} configurations judged, "
        f"{result.replications:,} replications; mean and "
        f"{int(round(100 * problem.spec.confidence))}% CI; * recommended"
    )
    table = Table(title=title, header_style="bold")
    for role in problem.roles:
        table.add_column(f"{role.role} ({role.measure})", justify="right")
    unit = "£ a year" if answer["cost_kind"] == "staff_cost" else "staff"
    table.add_column(f"cost ({unit})", justify="right")
    table.add_column("n", justify="right")
    table.add_column("verdict")
    kpis = [level.kpi for level in problem.service_levels]
    stems = [k if kpis.count(k) == 1 else f"{k}_{i}" for i, k in enumerate(kpis)]
    for kpi in kpis:
        table.add_column(labels.kpi_short_label(kpi), justify="right", max_width=16)
    for row in frame.head(MAX_ROWS).to_dict(orient="records"):
        cells = [f"{row[role.role]:g}" for role in problem.roles]
        star = " *" if row["recommended"] else ""
        cells += [f"{row['cost']:,.0f}{star}", str(row["replications"]), str(row["status"])]
        for kpi, stem in zip(kpis, stems, strict=True):
            scale = labels.kpi_scale(kpi)  # the header's display unit (percent for shares)
            low, high = row[f"{stem}_ci_low"] * scale, row[f"{stem}_ci_high"] * scale
            estimate = _number(row[f"{stem}_mean"] * scale)
            if math.isfinite(low):
                estimate += f"\n{_number(low)} to {_number(high)}"
            cells.append(estimate)
        table.add_row(*cells)
    return table


@user_errors
def plan(
    spec: Annotated[str, typer.Argument(help="Plan spec (TOML).")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder [default: outputs/<spec folder name>]"),
    ] = None,
    executor: Annotated[
        str,
        typer.Option(
            "--executor", help="serial, process:N, dask:local:N or dask:ADDRESS (e.g. tcp://h:8786)"
        ),
    ] = "serial",
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            help="A service level replacing the spec's targets: 'KPI>=VALUE' or 'KPI<=VALUE', "
            "optionally followed by 'in P% of replications' and 'with C% confidence' "
            "(default: the mean, with the spec's confidence). Repeatable.",
        ),
    ] = None,
    set_: SetOption = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", help="Do not report each configuration as it is judged.")
    ] = False,
) -> None:
    """Find the cheapest staffing that meets every service level: print it, then the frontier.

    --set takes scenario keys (run.horizon_days=365, applied to the base) and spec keys
    (replications.max=30, roles.planner.high=12).
    """
    spec_path = Path(spec)
    loaded = load_plan_spec(spec_path, list(set_ or []), list(target or []))
    problem = prepare_plan(loaded, spec_path=spec_path)
    out_dir = out if out is not None else Path("outputs") / spec_path.resolve().parent.name
    if not quiet:
        sizes = " x ".join(f"{len(r.levels)} {r.role} levels" for r in problem.roles)
        err_console.print(
            f"{problem.name}: searching {sizes} on {executor}; outputs in {out_dir}",
            highlight=False,
            markup=False,
        )

    def progress(evaluation: Evaluation, simulated: int) -> None:
        if not quiet:
            err_console.print(
                _judged_line(problem, evaluation, simulated), highlight=False, markup=False
            )

    result = run_plan(problem, out_dir, executor=executor, progress=progress)
    for line in _recommendation_lines(result):
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    console.print(_frontier_table(result))
    if len(result.frontier) > MAX_ROWS:
        console.print(f"(the {MAX_ROWS} cheapest of {len(result.frontier)} shown)")
    console.print(
        f"{result.replications:,} replications in {result.wall_time_s:.1f} s on "
        f"{result.executor}. Outputs in {out_dir} (plan.toml runs with `ipcsim run`)",
        highlight=False,
        markup=False,
    )
