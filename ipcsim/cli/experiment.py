"""``ipcsim experiment``: a thin typer layer over :mod:`ipcsim.experiment`.

It parses options, shows a progress bar and prints the summary; the library does the work.
``cli.py`` adds the command with :func:`register`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ipcsim.analysis import labels
from ipcsim.analysis.targets import Recommendation, Target, check_targets, parse_target
from ipcsim.cli._app import (
    Criterion,
    CriterionOption,
    SetOption,
    console,
    err_console,
    user_errors,
)
from ipcsim.experiment import (
    ExperimentResult,
    ProgressEvent,
    load_spec,
    plan_experiment,
    run_experiment,
)

__all__ = ["experiment", "register"]

MAX_ROWS = 40
"""Scenarios shown in the console tables (all are in the output files)."""


def register(app: typer.Typer) -> None:
    """Add the ``experiment`` command to ``app``."""
    app.command("experiment")(experiment)


def _label(kpi: str) -> str:
    """Column header of a KPI, short: ``Wait to first conversation, mean (days)``."""
    return labels.kpi_short_label(kpi)


def _number(value: float | None, kpi: str = "") -> str:
    """A KPI value in its display unit (percent for utilisation), short."""
    if value is None or not math.isfinite(value):
        return "n/a"
    value = value * labels.kpi_scale(kpi) if kpi else value
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 1:
        return f"{value:.1f}"
    return f"{value:.3f}"


def _estimate(mean: float, low: float, high: float, kpi: str = "") -> str:
    """Mean on one line, its CI under it: ``21.3`` / ``19.0 to 23.6``."""
    if not math.isfinite(low):
        return _number(mean, kpi)
    return f"{_number(mean, kpi)}\n{_number(low, kpi)} to {_number(high, kpi)}"


def _rows(frame: pd.DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
    """Rows of a summary or paired frame by (scenario, kpi)."""
    return {
        (str(row["scenario"]), str(row["kpi"])): {str(k): v for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    }


def _names(result: ExperimentResult) -> dict[str, str]:
    """Scenario id -> its name in words (``3 planners, 12 LTC referrals a month``)."""
    frame = result.scenarios
    if "label" in frame.columns:
        return {str(s): str(n) for s, n in zip(frame["scenario"], frame["label"], strict=True)}
    return labels.scenario_labels(frame, list(result.plan.factors))


_FIXED_WIDTH = 32
"""Console columns the id and scenario name columns of a table take, with borders."""
_KPI_WIDTH = 15
"""Console columns one KPI column takes, with its border and padding."""


def _chunks(kpis: list[str], width: int, fixed: int = _FIXED_WIDTH) -> list[list[str]]:
    """KPIs split so that each table fits ``width`` console columns (at least one a table)."""
    per_table = max(1, (width - fixed) // _KPI_WIDTH)
    return [kpis[i : i + per_table] for i in range(0, len(kpis), per_table)] or [[]]


def _part(title: str, index: int, count: int) -> str:
    return title if count == 1 else f"{title} ({index + 1}/{count})"


def _scenario_columns(table: Table, named: bool) -> None:
    table.add_column("id", no_wrap=True)
    if named:
        table.add_column("scenario", min_width=12, max_width=22)


def _summary_tables(result: ExperimentResult, width: int) -> list[Table]:
    """Mean and CI of the spec's KPIs per scenario, split to fit ``width`` columns."""
    plan = result.plan
    names = _names(result)
    named = any(names.get(p.scenario_id, p.scenario_id) != p.scenario_id for p in plan.scenarios)
    level = int(round(100 * plan.spec.confidence))
    summary = _rows(result.summary)
    runs = {result.replications_run.get(p.scenario_id, 0) for p in plan.scenarios}
    same = len(runs) == 1
    fixed = (_FIXED_WIDTH if named else 9) + (0 if same else 4)
    chunks = _chunks(list(plan.spec.kpis), width, fixed)
    reps = f"{next(iter(runs))} replications each" if same else "n replications"
    pooled = plan.ensemble is not None
    shown = f"mean, {level}% CI under it" + (
        ", 90% predictive interval under that (parameter and stochastic uncertainty)"
        if pooled
        else ""
    )
    tables = []
    for index, kpis in enumerate(chunks):
        title = f"{plan.name}: {shown}; {reps}; * baseline"
        table = Table(title=_part(title, index, len(chunks)), header_style="bold")
        _scenario_columns(table, named)
        if not same:
            table.add_column("n", justify="right")
        for kpi in kpis:
            table.add_column(_label(kpi), justify="right", max_width=_KPI_WIDTH - 1)
        for planned in plan.scenarios[:MAX_ROWS]:
            sid = planned.scenario_id
            cells = [sid + ("*" if planned.is_baseline else "")]
            if named:
                cells.append(names.get(sid, sid))
            if not same:
                cells.append(str(result.replications_run.get(sid, 0)))
            for kpi in kpis:
                row = summary.get((sid, kpi))
                text = (
                    "n/a"
                    if row is None
                    else _estimate(row["mean"], row["ci_low"], row["ci_high"], kpi)
                )
                if pooled and row is not None and math.isfinite(row["pi_low"]):
                    text += f"\n{_number(row['pi_low'], kpi)} to {_number(row['pi_high'], kpi)}"
                cells.append(text)
            table.add_row(*cells)
        tables.append(table)
    return tables


def _paired_tables(result: ExperimentResult, width: int) -> tuple[list[Table], str]:
    """Differences from the baseline with paired CIs; and a note on the variance reduction."""
    plan = result.plan
    names = _names(result)
    named = any(names.get(p.scenario_id, p.scenario_id) != p.scenario_id for p in plan.scenarios)
    paired = _rows(result.paired)
    baseline = names.get(plan.baseline_id, plan.baseline_id)
    shown = f"{plan.baseline_id} ({baseline})" if baseline != plan.baseline_id else baseline
    chunks = _chunks(list(plan.spec.kpis), width, _FIXED_WIDTH if named else 9)
    tables = []
    for index, kpis in enumerate(chunks):
        title = (
            f"Difference from baseline {shown}, paired {int(round(100 * plan.spec.confidence))}% CI"
        )
        table = Table(title=_part(title, index, len(chunks)), header_style="bold")
        _scenario_columns(table, named)
        for kpi in kpis:
            table.add_column(_label(kpi), justify="right", max_width=_KPI_WIDTH - 1)
        for planned in plan.scenarios[:MAX_ROWS]:
            sid = planned.scenario_id
            if planned.is_baseline:
                continue
            cells = [sid] + ([names.get(sid, sid)] if named else [])
            for kpi in kpis:
                row = paired.get((sid, kpi))
                cells.append(
                    "n/a"
                    if row is None
                    else _estimate(row["mean_diff"], row["ci_low"], row["ci_high"], kpi)
                )
            table.add_row(*cells)
        tables.append(table)
    shown_kpis = set(plan.spec.kpis)
    reductions = [
        float(row["variance_reduction"])
        for row in paired.values()
        if str(row["kpi"]) in shown_kpis
        and row["variance_reduction"] is not None
        and math.isfinite(float(row["variance_reduction"]))
    ]
    note = ""
    if reductions:
        note = (
            "Common random numbers: the variance of these differences is "
            f"{float(pd.Series(reductions).median()):.1f} times smaller (median) than with "
            "independent runs (paired.parquet: variance_reduction)."
        )
    return tables, note


def _sensitivity_tables(result: ExperimentResult, width: int) -> list[Table]:
    frame = result.sensitivity
    if frame is None or frame.empty:
        return []
    main = {"morris": "mu_star", "sobol": "ST", "latin": "spearman"}
    method = str(frame["method"].iloc[0])
    index = main.get(method, str(frame["index"].iloc[0]))
    rows = frame[frame["index"] == index]
    kpis = [k for k in result.plan.spec.kpis if k in set(rows["kpi"])]
    found = {(str(r["parameter"]), str(r["kpi"])): r for r in rows.to_dict(orient="records")}
    chunks = _chunks(kpis, width, 30)
    tables = []
    for part, chosen in enumerate(chunks):
        title = f"Sensitivity ({method}: {index}, CI under it)"
        table = Table(title=_part(title, part, len(chunks)), header_style="bold")
        table.add_column("parameter", min_width=12, max_width=26)
        for kpi in chosen:
            table.add_column(_label(kpi), justify="right", max_width=_KPI_WIDTH - 1)
        for parameter in dict.fromkeys(str(p) for p in rows["parameter"]):
            cells = [labels.factor_label(parameter)]
            for kpi in chosen:
                row = found.get((parameter, kpi))
                cells.append(
                    "n/a" if row is None else _estimate(row["value"], row["ci_low"], row["ci_high"])
                )
            table.add_row(*cells)
        tables.append(table)
    return tables


def _target_words(target: Target) -> str:
    """``Wait to first conversation, mean <= 28 days``."""
    label = labels.kpi_short_label(target.kpi)
    unit = labels.kpi_label(target.kpi)[1]
    sign = "<=" if target.direction == "lower" else ">="
    value = f"{target.value * labels.kpi_scale(target.kpi):,g}"
    label = label.removesuffix(f" ({unit})")
    shown = {"%": f"{value}%", "£": f"£{value}", "days": f"{value} days"}.get(unit, value)
    return f"{label} {sign} {shown}"


def _figures(answer: Recommendation, level: int) -> str:
    """``mean 21.3, 95% CI 19.0 to 23.6`` for each target's KPI at the chosen scenario."""
    parts = []
    for kpi, (mean, low, high) in answer.estimates.items():
        unit_name = labels.kpi_label(kpi)[1]
        name = "mean"
        if len(answer.estimates) > 1:
            name = labels.kpi_short_label(kpi).removesuffix(f" ({unit_name})")
        unit = {"%": "%", "days": " days"}.get(unit_name, "")
        pound = "£" if unit_name == "£" else ""
        parts.append(
            f"{name} {pound}{_number(mean, kpi)}{unit} ({level}% CI "
            f"{pound}{_number(low, kpi)} to {pound}{_number(high, kpi)})"
        )
    return "; ".join(parts)


def _recommendation_lines(result: ExperimentResult) -> list[str]:
    """The smallest level of the main factor meeting each target, as short sentences."""
    answers = result.recommendations
    if not answers:
        return []
    names = _names(result)
    level = int(round(100 * result.plan.spec.confidence))
    factor = answers[0].factor
    rule = "its mean" if answers[0].criterion == "mean" else f"its whole {level}% CI"
    lines = [
        f"Recommendation: the smallest level of {labels.factor_label(factor).lower()} that "
        f"meets each target (a scenario meets a target when {rule} does)."
    ]
    group: tuple[tuple[str, object], ...] | None = None
    for answer in answers:
        if answer.group and answer.group != group:
            lines.append(f"At {labels.scenario_label(dict(answer.group))}:")
        group = answer.group
        indent = "  " if answer.group else ""
        what = "every target" if len(answer.targets) > 1 else _target_words(answer.targets[0])
        if answer.scenario is None or answer.level is None:
            lines.append(f"{indent}{what}: no scenario has these KPIs.")
            continue
        chosen = labels.level_words(factor, _plain_level(answer.level))
        where = f"{chosen} ({answer.scenario})"
        if names.get(answer.scenario, answer.scenario) == answer.scenario:
            where = f"{chosen} (scenario {answer.scenario})"
        if answer.met:
            lines.append(f"{indent}{what}: {where}; {_figures(answer, level)}.")
        else:
            lines.append(
                f"{indent}{what}: NO level tried meets it; closest {where}; "
                f"{_figures(answer, level)}."
            )
    return lines


def _plain_level(level: float) -> int | float:
    return int(level) if float(level).is_integer() else level


class _ProgressBar:
    """Rich progress bars, one per phase, fed by the library's progress callback."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, event: ProgressEvent) -> None:
        task = self.tasks.get(event.phase)
        if task is None:
            note = f" ({event.reused} on disk)" if event.reused else ""
            task = self.progress.add_task(f"{event.phase}{note}", total=event.total)
            self.tasks[event.phase] = task
        self.progress.update(task, completed=event.done, total=event.total)


def default_out(spec_path: Path) -> Path:
    """``outputs/<spec stem>``; ``outputs/<spec folder>`` for a spec named ``experiment.toml``.

    Two specs in one folder get two folders; the shipped ``experiments/<name>/experiment.toml``
    keep their names.
    """
    resolved = spec_path.resolve()
    name = resolved.parent.name if resolved.stem == "experiment" else resolved.stem
    return Path("outputs") / name


@user_errors
def experiment(
    spec: Annotated[str, typer.Argument(help="Experiment spec (TOML).")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Output folder [default: outputs/<spec file stem>, or outputs/<spec folder> "
            "for a spec named experiment.toml]",
        ),
    ] = None,
    executor: Annotated[
        str,
        typer.Option(
            "--executor", help="serial, process:N, dask:local:N or dask:ADDRESS (e.g. tcp://h:8786)"
        ),
    ] = "serial",
    replications: Annotated[
        int | None,
        typer.Option("--replications", min=1, help="Fixed replications per scenario."),
    ] = None,
    set_: SetOption = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted experiment in --out.")
    ] = False,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Replace an earlier experiment's folder at --out."),
    ] = False,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            help="Target of a KPI: KPI<=VALUE (lower is better), KPI>=VALUE or KPI=VALUE, in "
            "the KPI's unit (fractions for utilisation); prints the smallest level of the main "
            "factor that meets it. Repeatable.",
        ),
    ] = None,
    criterion: CriterionOption = Criterion.mean,
) -> None:
    """Run a Monte Carlo experiment: scenarios x replications, with CIs and paired differences.

    --set takes scenario keys (run.horizon_days=365, applied to every scenario) and spec keys
    (replications.n=3, warmup.mode=none).
    """
    targets = [parse_target(text) for text in target or []]
    overrides = list(set_ or [])
    if replications is not None:
        overrides += ['replications.mode="fixed"', f"replications.n={replications}"]
    spec_path = Path(spec)
    loaded = load_spec(spec_path, overrides)
    plan = plan_experiment(loaded, spec_path=spec_path)
    check_targets(targets, plan.kpis)
    out_dir = out if out is not None else default_out(spec_path)
    console.print(
        f"[bold]{plan.name}[/]: {len(plan.scenarios)} scenarios, executor {executor}, "
        f"outputs in {out_dir}",
        highlight=False,
    )
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=console, transient=False) as bar:
            result = run_experiment(
                plan,
                out_dir,
                executor=executor,
                resume=resume,
                overwrite=overwrite,
                progress=_ProgressBar(bar),
                targets=targets,
                criterion=criterion.value,
            )
    except KeyboardInterrupt:
        err_console.print(
            f"[bold red]interrupted:[/] finished replications are kept in {out_dir}; "
            "run the same command with --resume to complete it",
            highlight=False,
        )
        raise typer.Exit(130) from None
    width = console.width
    if plan.spec.design is None or len(plan.scenarios) <= MAX_ROWS:
        for table in _summary_tables(result, width):
            console.print(table)
        if len(plan.scenarios) > 1:
            tables, note = _paired_tables(result, width)
            for table in tables:
                console.print(table)
            if note:
                console.print(note, highlight=False, markup=False)
    if plan.ensemble is not None:
        runs = max(result.replications_run.values(), default=0)
        console.print(plan.ensemble.describe(runs), highlight=False, markup=False)
    for table in _sensitivity_tables(result, width):
        console.print(table)
    if len(plan.scenarios) > MAX_ROWS:
        console.print(f"(first {MAX_ROWS} of {len(plan.scenarios)} scenarios shown)")
    warmups = sorted(set(result.warmup_days.values()))
    if warmups and max(warmups) > 0:
        shown = ", ".join(f"{w:g}" for w in warmups)
        console.print(f"Warm-up (days, by KPI): {shown}", highlight=False)
    if targets and not result.recommendations:
        console.print(
            "No recommendation: the experiment has no numeric factor with two or more levels.",
            highlight=False,
            markup=False,
        )
    for line in _recommendation_lines(result):
        console.print(line, highlight=False, markup=False)
    console.print(
        f"{result.computed} replications computed, {result.reused} reused, in "
        f"{result.wall_time_s:.1f} s on {result.executor}. Outputs in [bold]{out_dir}[/]",
        highlight=False,
    )
