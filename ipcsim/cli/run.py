"""``ipcsim run``: simulate one scenario, print the headline KPIs, write the output folder."""

from __future__ import annotations

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

from ipcsim.analysis import labels
from ipcsim.cli._app import AllowOutsideOption, SetOption, console, kpi_table, user_errors
from ipcsim.run import run_scenario, write_run
from ipcsim.scenario.load import load_scenario


@user_errors
def run(
    config: Annotated[str, typer.Argument(help="Scenario TOML file.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder [default: outputs/<config stem>]")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed, overriding run.seed.")] = None,
    csv: Annotated[bool, typer.Option("--csv", help="Also write CSV copies of tables.")] = False,
    set_: SetOption = None,
    allow_outside_files: AllowOutsideOption = False,
) -> None:
    """Run one scenario: print headline KPIs and write tables, summary and manifest."""
    scenario = load_scenario(config, set_ or [], allow_outside_files=allow_outside_files)
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
        kpi_table(
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


def register(app: typer.Typer) -> None:
    """Add the ``run`` command to ``app``."""
    app.command("run")(run)
