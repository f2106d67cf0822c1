"""``ipcsim plan``: a thin typer layer over :mod:`ipcsim.experiment.planning`.

It parses options, reports each configuration judged on stderr, then prints the
recommendation first and the frontier after it; the library does the work. Exit status 0
when the answer meets every target, :data:`NOT_MET_EXIT` when no staffing within the ranges
is shown to (the outputs are written all the same, with the closest), 2 for bad input.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from ipcsim.analysis import labels
from ipcsim.cli._app import SetOption, console, err_console, fail_lines, user_errors
from ipcsim.experiment.planning import (
    Evaluation,
    PlanProblem,
    PlanResult,
    load_plan_spec,
    prepare_plan,
    run_plan,
)

__all__ = ["NOT_MET_EXIT", "plan", "register"]

MAX_ROWS = 40
"""Configurations shown in the frontier table (all are in frontier.parquet)."""
NOT_MET_EXIT = 1
"""Exit status when the answer is not shown to meet every target (no feasible staffing)."""


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
    levels = _levels(evaluation.levels or problem.levels(evaluation.config))
    final = " (final check)" if evaluation.final_check else ""
    period = f"{evaluation.period}: " if evaluation.period else ""
    return (
        f"  {period}{levels}: {evaluation.status} with {evaluation.replications} "
        f"replications{final}; {simulated} simulated so far"
    )


def _over_time_lines(result: PlanResult) -> tuple[list[str], Table, list[str]]:
    """The staffing plan over time: a headline, the period table, then changes and targets."""
    answer = result.recommendation
    problem = result.problem
    staffing = result.staffing_plan
    assert staffing is not None  # only called for a plan over time
    kind = answer["cost_kind"]
    periods = answer["periods"]
    count = answer["check"]["replications"]
    head = []
    if problem.question:
        head.append(f"Question: {problem.question}")
    if answer["met"]:
        head.append(
            f"Staffing plan over time: every target met in every period (the whole plan "
            f"checked with {count} replications)."
        )
    elif any(p["search"]["status"] != "met" for p in periods):
        last = periods[-1]
        missed = [t for t in last["search"]["targets"] if t["status"] != "met"]
        why = "; ".join(
            f"{t['text']}: mean {_number(t['mean'])}, bound {_number(t['bound'])}, "
            + ("missed" if t["status"] == "missed" else "not shown")
            for t in missed
        )
        head.append(
            f"No staffing within the ranges meets every target in period {last['period']} "
            f"({last['start_date']} to {last['end_date']}). Closest: "
            f"{_levels(last['levels'])} ({why}). The plan stops at that period"
            + (
                f"; periods {last['period'] + 1} to {total} are not planned"
                if (total := answer.get("periods_total", last["period"])) > last["period"]
                else ""
            )
            + " (widen the roles' ranges)."
        )
    else:
        head.append(
            f"Staffing plan over time: NOT shown to meet every target in every period in the "
            f"check of the whole plan with {count} replications."
        )
    unit = "£" if kind == "staff_cost" else "staff-yr"
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, header_style="bold")
    table.add_column("period", justify="right")
    table.add_column("from")
    table.add_column("to")
    for role in problem.roles:
        table.add_column(role.role, justify="right")
    table.add_column(f"cost ({unit})", justify="right")
    table.add_column("check")
    for row in staffing.to_dict(orient="records"):
        cost = f"{row['cost']:,.0f}" if kind == "staff_cost" else f"{row['cost']:.2f}"
        table.add_row(
            str(row["period"]),
            str(row["start_date"]),
            str(row["end_date"]),
            *(f"{row[role.role]:g}" for role in problem.roles),
            cost,
            "met" if row["status"] == "met" else f"NOT ({row['status']})",
        )
    total = (
        f"£{answer['cost']:,.0f}" if kind == "staff_cost" else f"{answer['cost']:.2f} staff-years"
    )
    ready = (
        "fully productive when their period starts"
        if answer["hires_ready"] == "productive"
        else "arriving when their period starts"
    )
    tail = [f"Total {total} over {len(staffing)} periods; staff paid from arrival."]
    changes = [(role, c) for role, entries in answer["changes"].items() for c in entries]
    if changes:
        tail.append(f"Dated changes (plan.toml), decided so new staff are {ready}:")
    for role, change in changes:
        level = change.get("headcount", change.get("fte"))
        late = f", {change['late_days']:g} days late" if change["late_days"] > 0 else ""
        tail.append(f"  {change['date']}: {role} to {level:g} (period {change['period']}{late})")
    tail.append(f"Targets in each period (whole plan, {count} replications):")
    for period in periods:
        for target in period["check"]["targets"]:
            verdict = "met" if target["status"] == "met" else "NOT met"
            tail.append(
                f"  period {period['period']}: {target['text']}: {_number(target['mean'])}, "
                f"bound {_number(target['bound'])}: {verdict}"
            )
    tail.append(
        f"{answer['configurations_judged']} configurations judged over "
        f"{answer['periods_planned']} periods (frontier.parquet); each period's people "
        f"followed {answer['follow_up_days']:g} days after it."
    )
    return head, table, tail


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
    if "alternatives" in answer:
        config = f"alternative {answer['alternative']}, {config}"
        if kind == "staff_cost":
            cost += (
                f": staff £{answer['staff_cost']:,.0f} + stated "
                f"£{answer['extra_cost_per_year']:,.0f}"
            )
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
    if "alternatives" in answer:
        lines += _alternative_lines(answer)
    return lines


def _alternative_lines(answer: dict[str, Any]) -> list[str]:
    """A line per alternative: its cheapest staffing meeting every target, or why none."""
    kind = answer["cost_kind"]
    lines = ["Alternatives (staff cost + the stated extra cost a year):"]
    for alternative in answer["alternatives"]:
        settings = ", ".join(f"{k} = {v!r}" for k, v in alternative["set"].items())
        head = f"  {alternative['alternative']} ({settings or 'the base as it is'}): "
        config = alternative.get("configuration")
        if config is None:
            lines.append(head + "no configuration judged")
        elif alternative["met"]:
            lines.append(
                head + f"{_levels(config)}, {_cost(alternative['cost'], kind)}, meets every "
                f"target with {alternative['replications']} replications"
            )
        else:
            lines.append(
                head + f"NO staffing within the ranges meets every target; closest "
                f"{_levels(config)} ({alternative['why_not']})"
            )
    return lines


def _print_uncertainty(result: PlanResult, replications: int | None) -> None:
    """Over a posterior ensemble, say that the verdicts carry parameter uncertainty."""
    ensemble = result.problem.ensemble
    if ensemble is not None:
        console.print(ensemble.describe(replications), highlight=False, markup=False)


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
    alternatives = "alternative" in frame.columns
    if alternatives:
        table.add_column("alternative")
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
        cells = [str(row["alternative"])] if alternatives else []
        cells += [f"{row[role.role]:g}" for role in problem.roles]
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
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue a plan that was stopped, reusing the replications it saved in "
            "--out (same spec, same result as an uninterrupted run).",
        ),
    ] = False,
) -> None:
    """Find the cheapest staffing that meets every service level: print it, then the frontier.

    With [over_time] in the spec: the cheapest staffing plan period by period, printed as a
    table of periods first.

    --set takes scenario keys (run.horizon_days=365, applied to the base) and spec keys
    (replications.max=30, roles.planner.high=12).

    Exit status 1 when no staffing within the ranges is shown to meet every target (the
    outputs are written, with the closest); 2 for bad input.
    """
    spec_path = Path(spec)
    loaded = load_plan_spec(spec_path, list(set_ or []), list(target or []))
    problem = prepare_plan(loaded, spec_path=spec_path)
    out_dir = out if out is not None else Path("outputs") / spec_path.resolve().parent.name
    if not quiet:
        sizes = " x ".join(f"{len(r.levels)} {r.role} levels" for r in problem.roles)
        if problem.spec.alternatives:
            sizes += f", under each of {len(problem.spec.alternatives)} alternatives"
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

    try:
        result = run_plan(problem, out_dir, executor=executor, progress=progress, resume=resume)
    except KeyboardInterrupt:
        fail_lines(
            [
                f"interrupted: the replications finished so far are kept in {out_dir}; run "
                "the same command with --resume to complete the plan"
            ],
            code=130,
        )
        raise  # not reached: fail_lines exits
    reused = f" ({result.reused:,} reused)" if result.reused else ""
    done = (
        f"{result.replications:,} replications{reused} in {result.wall_time_s:.1f} s on "
        f"{result.executor}. Outputs in {out_dir} (plan.toml runs with `ipcsim run`)"
    )
    if result.staffing_plan is not None:
        head, table, tail = _over_time_lines(result)
        # Wrapped to the console (80 columns in a pipe), unlike the constant plan's lines.
        for line in head:
            console.print(line, highlight=False, markup=False)
        console.print(table)
        for line in tail:
            console.print(line, highlight=False, markup=False)
        _print_uncertainty(result, result.recommendation.get("check", {}).get("replications"))
        console.print(done, highlight=False, markup=False)
        _exit_unless_met(result)
        return
    for line in _recommendation_lines(result):
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    _print_uncertainty(result, result.recommendation.get("replications"))
    console.print(_frontier_table(result))
    if len(result.frontier) > MAX_ROWS:
        console.print(f"(the {MAX_ROWS} cheapest of {len(result.frontier)} shown)")
    console.print(done, highlight=False, markup=False)
    _exit_unless_met(result)


def _exit_unless_met(result: PlanResult) -> None:
    """Exit with :data:`NOT_MET_EXIT` when the answer is not shown to meet every target."""
    if not result.recommendation.get("met"):
        raise typer.Exit(NOT_MET_EXIT)
