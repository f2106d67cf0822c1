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
from ipcsim.cli._app import SetOption, console, err_console, user_errors
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
    """Display label of a KPI name, e.g. ``wait_referral_to_sign_off_mean``."""
    if kpi.startswith("wait_"):
        stage, _, stat = kpi.removeprefix("wait_").rpartition("_")
        return f"{labels.display_label(stage)} ({stat}, days)"
    if kpi.startswith("utilisation_"):
        return labels.display_label(kpi)
    return kpi.replace("_", " ")


def _number(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 1:
        return f"{value:.1f}"
    return f"{value:.3f}"


def _estimate(mean: float, low: float, high: float) -> str:
    if not math.isfinite(low):
        return _number(mean)
    return f"{_number(mean)} ({_number(low)} to {_number(high)})"


def _level(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return "-" if value is None else str(value)


def _rows(frame: pd.DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
    """Rows of a summary or paired frame by (scenario, kpi)."""
    return {
        (str(row["scenario"]), str(row["kpi"])): {str(k): v for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    }


def _summary_table(result: ExperimentResult) -> Table:
    plan = result.plan
    kpis = list(plan.spec.kpis)
    level = int(round(100 * plan.spec.confidence))
    table = Table(
        title=f"{plan.name}: mean ({level}% CI) over replications; * = baseline",
        header_style="bold",
    )
    table.add_column("scenario")
    for factor in plan.factors:
        table.add_column(".".join(factor.split(".")[-2:]), justify="right")
    table.add_column("n", justify="right")
    for kpi in kpis:
        table.add_column(_label(kpi), justify="right")
    summary = _rows(result.summary)
    for planned in plan.scenarios[:MAX_ROWS]:
        sid = planned.scenario_id
        cells = [sid + (" *" if planned.is_baseline else "")]
        cells += [_level(planned.levels.get(f)) for f in plan.factors]
        cells.append(str(result.replications_run.get(sid, 0)))
        for kpi in kpis:
            row = summary.get((sid, kpi))
            if row is None:
                cells.append("n/a")
            else:
                cells.append(_estimate(row["mean"], row["ci_low"], row["ci_high"]))
        table.add_row(*cells)
    return table


def _paired_table(result: ExperimentResult) -> Table:
    plan = result.plan
    kpis = list(plan.spec.kpis)
    table = Table(
        title=f"Difference from baseline {plan.baseline_id} (paired CI; variance reduction)",
        header_style="bold",
    )
    table.add_column("scenario")
    for kpi in kpis:
        table.add_column(_label(kpi), justify="right")
    paired = _rows(result.paired)
    for planned in plan.scenarios[:MAX_ROWS]:
        sid = planned.scenario_id
        if planned.is_baseline:
            continue
        cells = [sid]
        for kpi in kpis:
            row = paired.get((sid, kpi))
            if row is None:
                cells.append("n/a")
                continue
            text = _estimate(row["mean_diff"], row["ci_low"], row["ci_high"])
            reduction = row["variance_reduction"]
            if math.isfinite(reduction):
                text += f"; x{reduction:.1f}"
            cells.append(text)
        table.add_row(*cells)
    return table


def _sensitivity_table(result: ExperimentResult) -> Table | None:
    frame = result.sensitivity
    if frame is None or frame.empty:
        return None
    main = {"morris": "mu_star", "sobol": "ST", "latin": "spearman"}
    method = str(frame["method"].iloc[0])
    index = main.get(method, str(frame["index"].iloc[0]))
    rows = frame[frame["index"] == index]
    table = Table(title=f"Sensitivity ({method}: {index}, with CI)", header_style="bold")
    table.add_column("parameter")
    kpis = [k for k in result.plan.spec.kpis if k in set(rows["kpi"])]
    for kpi in kpis:
        table.add_column(_label(kpi), justify="right")
    found = {(str(r["parameter"]), str(r["kpi"])): r for r in rows.to_dict(orient="records")}
    for parameter in dict.fromkeys(str(p) for p in rows["parameter"]):
        cells = [parameter]
        for kpi in kpis:
            row = found.get((parameter, kpi))
            if row is None:
                cells.append("n/a")
            else:
                cells.append(_estimate(row["value"], row["ci_low"], row["ci_high"]))
        table.add_row(*cells)
    return table


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


@user_errors
def experiment(
    spec: Annotated[str, typer.Argument(help="Experiment spec (TOML).")],
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
    replications: Annotated[
        int | None,
        typer.Option("--replications", min=1, help="Fixed replications per scenario."),
    ] = None,
    set_: SetOption = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted experiment in --out.")
    ] = False,
) -> None:
    """Run a Monte Carlo experiment: scenarios x replications, with CIs and paired differences.

    --set takes scenario keys (run.horizon_days=365, applied to every scenario) and spec keys
    (replications.n=3, warmup.mode=none).
    """
    overrides = list(set_ or [])
    if replications is not None:
        overrides += ['replications.mode="fixed"', f"replications.n={replications}"]
    spec_path = Path(spec)
    loaded = load_spec(spec_path, overrides)
    plan = plan_experiment(loaded, spec_path=spec_path)
    out_dir = out if out is not None else Path("outputs") / spec_path.resolve().parent.name
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
                plan, out_dir, executor=executor, resume=resume, progress=_ProgressBar(bar)
            )
    except KeyboardInterrupt:
        err_console.print(
            f"[bold red]interrupted:[/] finished replications are kept in {out_dir}; "
            "run the same command with --resume to complete it",
            highlight=False,
        )
        raise typer.Exit(130) from None
    if plan.spec.design is None or len(plan.scenarios) <= MAX_ROWS:
        console.print(_summary_table(result))
        if len(plan.scenarios) > 1:
            console.print(_paired_table(result))
    table = _sensitivity_table(result)
    if table is not None:
        console.print(table)
    if len(plan.scenarios) > MAX_ROWS:
        console.print(f"(first {MAX_ROWS} of {len(plan.scenarios)} scenarios shown)")
    warmups = sorted(set(result.warmup_days.values()))
    if warmups and max(warmups) > 0:
        shown = ", ".join(f"{w:g}" for w in warmups)
        console.print(f"Warm-up (days, by KPI): {shown}", highlight=False)
    console.print(
        f"{result.computed} replications computed, {result.reused} reused, in "
        f"{result.wall_time_s:.1f} s on {result.executor}. Outputs in [bold]{out_dir}[/]",
        highlight=False,
    )
