"""``ipcsim kpis``: every KPI an experiment can report, with its unit and what it counts."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ipcsim.analysis.kpis import kpi_definition, kpi_names
from ipcsim.analysis.labels import kpi_label
from ipcsim.cli._app import console, user_errors
from ipcsim.scenario.load import load_scenario


@user_errors
def kpis(
    config: Annotated[
        str, typer.Argument(help="Scenario TOML: its roles and waiting standards name the KPIs.")
    ],
) -> None:
    """List every KPI of a scenario: name, unit and definition (for specs and --target)."""
    scenario = load_scenario(config)
    table = Table(title=f"KPIs of {scenario.name}", header_style="bold")
    table.add_column("KPI", overflow="fold")
    table.add_column("unit")
    table.add_column("what it counts")
    for name in kpi_names(scenario):
        _, unit = kpi_label(name)
        stored = {"%": "fraction", "": "count"}.get(unit, unit)
        table.add_row(name, stored, kpi_definition(name))
    console.print(table)
    console.print(
        "Fractions are stored as 0 to 1 (targets too: share_seen_within_8w>=0.9); waits in days.",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add the ``kpis`` command to ``app``."""
    app.command("kpis")(kpis)
