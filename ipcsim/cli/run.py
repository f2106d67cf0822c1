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
from rich.text import Text

from ipcsim.analysis import labels
from ipcsim.cli._app import AllowOutsideOption, SetOption, console, kpi_table, user_errors
from ipcsim.experiment.executors import open_executor
from ipcsim.io.files import remove_stale_siblings, temporary_sibling
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
    xlsx: Annotated[
        bool,
        typer.Option(
            "--xlsx",
            help="Also write results.xlsx: summary, per-year, waits and monthly sheets, "
            "units in the headers.",
        ),
    ] = False,
    executor: Annotated[
        str,
        typer.Option(
            "--executor",
            help="Where the groups of sites that share no pool or panel run: serial, process:N, "
            "dask:local:N or dask:ADDRESS (e.g. tcp://h:8786). The results are the same.",
        ),
    ] = "serial",
    set_: SetOption = None,
    allow_outside_files: AllowOutsideOption = False,
) -> None:
    """Run one scenario: print headline KPIs and write tables, summary and manifest.

    The sites are split into groups that share no staff pool or panel, each simulated on its
    own (on --executor) and the records merged: the outputs are the same however many groups
    and wherever they ran.
    """
    scenario = load_scenario(config, set_ or [], allow_outside_files=allow_outside_files)
    out_dir = out if out is not None else Path("outputs") / Path(config).stem
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with (
        open_executor(executor) as handle,
        Progress(*columns, console=console, transient=True) as bar,
    ):
        task = bar.add_task(
            f"Simulating {scenario.name} ({scenario.run.horizon_days:g} days)", total=1.0
        )
        result = run_scenario(
            scenario,
            seed=seed,
            progress=lambda share: bar.update(task, completed=share),
            partitioned=True,
            # serial: the groups in this process, the bar filled as each simulates.
            executor=None if handle.spec.kind == "serial" else handle.executor,
            spill_dir=_spill_dir(out_dir, handle.spec.kind),
        )
    written = write_run(
        result, out_dir, config_path=config, csv=csv, xlsx=xlsx, executor=handle.description
    )
    summary = result.summary
    question = scenario.question or scenario.description
    if question:
        console.print(Text(question.strip(), style="italic"), highlight=False)
    console.print(
        kpi_table(
            f"{scenario.name}: {scenario.run.horizon_days:g} days from "
            f"{scenario.run.start_date}, seed {result.seed}",
            labels.kpi_table(summary),
        )
    )
    console.print(_years_table(summary))
    economics = labels.economics_table(summary)
    if economics:
        console.print(_economics_table(economics))
    sites = summary.get("sites")
    if sites:
        console.print(_site_table(sites, lead_role=scenario.pathway.lead_role))
    targets = summary.get("targets") or []
    if targets:
        console.print(_targets_table(targets))
    warnings = summary.get("warnings") or []
    for warning in warnings:
        line = Text("warning: ", style="bold yellow")
        line.append(str(warning["message"]))
        console.print(line, highlight=False)
    if not warnings:
        console.print("No overload: every queue kept up to the horizon.", highlight=False)
    parts = f" as {result.partitions} groups of sites" if result.partitions > 1 else ""
    console.print(
        f"Simulated in {result.wall_time_s:.1f} s{parts} on {handle.description}. "
        f"Outputs in [bold]{written}[/]",
        highlight=False,
    )


def _spill_dir(out_dir: Path, kind: str) -> Path | None:
    """Where workers on this machine write their groups' records (beside the output folder).

    ``None`` (records handed back in memory) for a serial run, whose groups run in this
    process, and for a remote Dask cluster, whose workers may not share this disk. The
    folder is hidden and removed when the run is done; one a killed run left is removed by
    the next run writing to the same output folder.
    """
    if kind not in ("process", "dask-local"):
        return None
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # in memory, then; writing the outputs will say what is wrong
    remove_stale_siblings(out_dir)
    return temporary_sibling(out_dir)


def _years_table(summary: dict[str, Any]) -> Table:
    """Referrals, plans and budgets per year of the run and in its last 12 months."""
    table = Table(title="By year of the run", header_style="bold")
    for header in ("year", "from", "days", "referrals", "plans signed off", "budgets released"):
        table.add_column(header, justify="left" if header in ("year", "from") else "right")
    for row in summary["per_year"]:
        table.add_row(
            str(row["year"]),
            row["start"],
            f"{row['days']:g}",
            f"{row['referrals']:,}",
            f"{row['plans_signed_off']:,}",
            f"{row['budgets_released']:,}",
        )
    last = summary["last_12_months"]
    table.add_row(
        "last 12 months",
        last["start"],
        f"{last['days']:g}",
        f"{last['referrals']:,}",
        f"{last['plans_signed_off']:,}",
        f"{last['budgets_released']:,}",
        style="bold",
    )
    return table


def _economics_table(rows: list[tuple[str, str, str]]) -> Table:
    """Costs per patient with what each counts."""
    table = Table(title="Economics", header_style="bold")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("what it counts")
    for label, value, note in rows:
        table.add_row(label, value, note)
    return table


def _site_table(sites: dict[str, Any], *, lead_role: str) -> Table:
    """Per-site headline KPIs of a multi-site run."""
    table = Table(title="By site", header_style="bold")
    for header in ("site", "referred", "plans", "budgets", "first conv. mean / p90 (days)"):
        table.add_column(header, justify="left" if header == "site" else "right")
    table.add_column(f"{lead_role} utilisation", justify="right")
    for name, site in sites.items():
        wait = site["waits_days"]["referral_to_first_conversation"]
        waits = (
            "n/a"
            if wait["mean"] is None
            else f"{wait['mean']:.1f} / " + ("n/k" if wait["p90"] is None else f"{wait['p90']:.1f}")
        )
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
