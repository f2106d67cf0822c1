"""Command line: a thin typer layer that parses, calls the library and formats.

Only this module prints. Every :class:`~ipcsim.errors.IpcsimError` becomes one line on
stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ipcsim.analysis import breakeven, labels
from ipcsim.analysis.breakeven import BreakevenInputError
from ipcsim.cli import experiment as experiment_cli
from ipcsim.cli import plot as plot_cli
from ipcsim.cli._app import SetOption, console, user_errors
from ipcsim.run import run_scenario, write_run
from ipcsim.scenario import Scenario
from ipcsim.scenario.load import load_scenario

app = typer.Typer(
    name="ipcsim",
    help="Discrete-event simulation of Integrated Personal Commissioning (IPC) scale-up.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _kpi_table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for label, value in rows:
        table.add_row(label, value)
    return table


@app.command()
@user_errors
def run(
    config: Annotated[str, typer.Argument(help="Scenario TOML file.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder [default: outputs/<config stem>]")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed, overriding run.seed.")] = None,
    csv: Annotated[bool, typer.Option("--csv", help="Also write CSV copies of tables.")] = False,
    set_: SetOption = None,
) -> None:
    """Run one scenario: print headline KPIs and write tables, summary and manifest."""
    scenario = load_scenario(config, set_ or [])
    out_dir = out if out is not None else Path("outputs") / Path(config).stem
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(
            f"Simulating {scenario.name} ({scenario.run.horizon_days:g} days)", total=1.0
        )
        result = run_scenario(
            scenario, seed=seed, progress=lambda share: bar.update(task, completed=share)
        )
    written = write_run(result, out_dir, config_path=config, csv=csv)
    console.print(
        _kpi_table(
            f"{scenario.name}: {scenario.run.horizon_days:g} days from "
            f"{scenario.run.start_date}, seed {result.seed}",
            labels.kpi_table(result.summary),
        )
    )
    sites = result.summary.get("sites")
    if sites:
        console.print(_site_table(sites, lead_role=scenario.pathway.lead_role))
    targets = result.summary.get("targets") or []
    if targets:
        console.print(_targets_table(targets))
    console.print(
        f"Simulated in {result.wall_time_s:.1f} s. Outputs in [bold]{written}[/]", highlight=False
    )


def _site_table(sites: dict[str, Any], *, lead_role: str) -> Table:
    """Per-site headline KPIs of a multi-site run."""
    table = Table(title="By site", header_style="bold")
    for header in ("site", "referred", "plans", "budgets", "first conv. mean / p90 (days)"):
        table.add_column(header, justify="left" if header == "site" else "right")
    table.add_column(f"{lead_role} utilisation", justify="right")
    for name, site in sites.items():
        wait = site["waits_days"]["referral_to_first_conversation"]
        waits = "n/a" if not wait["n"] else f"{wait['mean']:.1f} / {wait['p90']:.1f}"
        busy = site["utilisation"].get(lead_role)
        table.add_row(
            name,
            f"{site['people']['referred']:,}",
            f"{sum(q['plans_signed_off'] for q in site['throughput_per_quarter']):,}",
            f"{sum(q['budgets_released'] for q in site['throughput_per_quarter']):,}",
            waits,
            "shared" if busy is None else f"{100 * busy:.0f}%",
        )
    return table


def _targets_table(targets: list[dict[str, Any]]) -> Table:
    """When each target on the trajectory was first met (rolling 12 months)."""
    table = Table(title="Targets (rolling 12 months)", header_style="bold")
    for header in ("site", "measure", "target", "by", "first met", "on time"):
        table.add_column(header)
    for t in targets:
        table.add_row(
            t["site"],
            t["measure"].replace("_", " "),
            f"{t['target']:,.0f}",
            t["target_date"],
            t["first_met_month"] or "not met",
            "yes" if t["met_by_target_date"] else "no",
        )
    return table


def _describe(scenario: Scenario) -> list[tuple[str, str]]:
    rows = [
        ("scenario", scenario.name),
        ("start date", str(scenario.run.start_date)),
        ("horizon (days)", f"{scenario.run.horizon_days:g}"),
        ("seed", str(scenario.run.seed)),
    ]
    several = len(scenario.site_configs) > 1
    for config in scenario.site_configs:
        prefix = f"{config.site.name}: " if several else ""
        joined = config.site.start_date or scenario.run.start_date
        rows.append((f"{prefix}site", f"{config.site.name}, joins {joined}"))
        rows.append((f"{prefix}sign-off", config.signoff.mode))
        for name, cohort in sorted(config.cohorts.items()):
            rows.append(
                (f"{prefix}cohort {name}", f"{cohort.referrals_per_month:g} referrals/month")
            )
        for name, role in sorted(config.workforce.items()):
            size = "unlimited" if role.unlimited else f"{sum(role.member_fte()):g} WTE"
            rows.append(
                (
                    f"{prefix}role {name}",
                    f"{size}, {role.ipc_hours_per_week():.1f} IPC h/week per WTE",
                )
            )
    return rows


@app.command()
@user_errors
def validate(
    config: Annotated[str, typer.Argument(help="Scenario TOML file.")],
    set_: SetOption = None,
) -> None:
    """Check a scenario file and print what it describes."""
    scenario = load_scenario(config, set_ or [])
    table = _kpi_table(f"{config}: valid", _describe(scenario))
    table.columns[0].header = "setting"
    console.print(table)


class OutputFormat(StrEnum):
    """How ``ipcsim breakeven`` prints its result."""

    table = "table"
    json = "json"
    csv = "csv"


def _parse_thresholds(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError as e:
        raise BreakevenInputError(
            f"--thresholds: expected numbers separated by commas, got {text!r}"
        ) from e
    if not values:
        raise BreakevenInputError(f"--thresholds: expected at least one number, got {text!r}")
    return values


def _number(value: object, spec: str) -> str:
    return "-" if not isinstance(value, int | float) else format(value, spec)


@app.command("breakeven")
@user_errors
def breakeven_command(
    sites: Annotated[
        str, typer.Argument(help="CSV: site,year,patients,setup_cost,running_cost_per_patient")
    ],
    discount_rate: Annotated[
        float, typer.Option(help="Annual discount rate to year 1 (P68).")
    ] = breakeven.DEFAULT_DISCOUNT_RATE,
    thresholds: Annotated[
        str, typer.Option(help="Cost-effectiveness thresholds, GBP per QALY (P69).")
    ] = "13000,20000,30000,50000",
    admission_cost: Annotated[
        float, typer.Option(help="Unit cost of an unplanned admission, GBP (P70).")
    ] = breakeven.DEFAULT_ADMISSION_COST,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="table, json or csv.")
    ] = OutputFormat.table,
) -> None:
    """Break-even QALYs and avoided admissions per patient (the evaluation's CHE method)."""
    frame = breakeven.read_sites_csv(sites)
    result = breakeven.breakeven(
        frame,
        discount_rate=discount_rate,
        thresholds=_parse_thresholds(thresholds),
        admission_cost=admission_cost,
    )
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    if output_format is OutputFormat.csv:
        sys.stdout.write(breakeven.to_csv(result))
        return
    rows = breakeven.to_table_rows(result)
    table = Table(title=f"Break-even per patient ({sites}, discount rate {discount_rate:g})")
    qaly_keys = [key for key in rows[0] if key.startswith("qalys_")]
    headers = ["approach", "panel", "year", "patients", "cost £"]
    headers += [f"QALYs at £{key.removeprefix('qalys_')}" for key in qaly_keys]
    headers += ["admissions"]
    for header in headers:
        table.add_column(header, justify="left" if header in headers[:3] else "right")
    for row in rows:
        cells = [str(row["approach"]).removeprefix("approach"), str(row["panel"]), str(row["year"])]
        cells += [_number(row["patients"], ",.0f"), _number(row["cost_per_patient"], ",.2f")]
        cells += [_number(row[key], ".4f") for key in qaly_keys]
        cells += [_number(row["admissions"], ".3f")]
        table.add_row(*cells)
    console.print(table)


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editor completion and checks)."""
    sys.stdout.write(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2) + "\n")


def main() -> None:
    """Console-script entry point."""
    app()


experiment_cli.register(app)
plot_cli.register(app)


if __name__ == "__main__":  # pragma: no cover
    main()
