"""``ipcsim breakeven``: the evaluation's break-even analysis on a sites CSV."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ipcsim.analysis import breakeven
from ipcsim.analysis.breakeven import BreakevenInputError
from ipcsim.cli._app import console, user_errors


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


@user_errors
def breakeven_command(
    sites: Annotated[
        str,
        typer.Argument(
            help="CSV: site,year,patients,setup_cost,running_cost_per_patient "
            "(+ descriptive columns such as adopter)"
        ),
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
    group_by: Annotated[
        str | None,
        typer.Option(
            "--group-by",
            metavar="COLUMN",
            help="Also break even each group of rows sharing a value of this column "
            "(site or a descriptive column, e.g. adopter), then all rows.",
        ),
    ] = None,
) -> None:
    """Break-even QALYs and avoided admissions per patient (the evaluation's CHE method)."""
    frame = breakeven.read_sites_csv(sites)
    lambdas = _parse_thresholds(thresholds)
    result: breakeven.BreakevenResult | breakeven.GroupedBreakevenResult
    if group_by is None:
        result = breakeven.breakeven(
            frame, discount_rate=discount_rate, thresholds=lambdas, admission_cost=admission_cost
        )
    else:
        result = breakeven.breakeven_by_group(
            frame,
            group_by=group_by,
            source=sites,
            discount_rate=discount_rate,
            thresholds=lambdas,
            admission_cost=admission_cost,
        )
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    if output_format is OutputFormat.csv:
        sys.stdout.write(breakeven.to_csv(result))
        return
    rows = breakeven.to_table_rows(result)
    title = f"Break-even per patient ({sites}, discount rate {discount_rate:g}"
    title += ")" if group_by is None else f", by {group_by})"
    # Text, not markup: the path and the group names come from the user's files.
    table = Table(title=Text(title))
    qaly_keys = [key for key in rows[0] if key.startswith("qalys_")]
    labels = ["group"] if group_by is not None else []
    labels += ["approach", "panel", "year"]
    headers = [*labels, "patients", "set-up £", "running £", "cost £"]
    headers += [f"QALYs at £{key.removeprefix('qalys_')}" for key in qaly_keys]
    headers += ["admissions"]
    for header in headers:
        table.add_column(header, justify="left" if header in labels else "right")
    for row in rows:
        cells: list[str | Text] = [Text(str(row["group"]))] if group_by is not None else []
        cells += [str(row["approach"]).removeprefix("approach"), str(row["panel"])]
        cells += [str(row["year"])]
        cells += [_number(row[name], ",.0f") for name in ("patients", "setup_cost", "running_cost")]
        cells += [_number(row["cost_per_patient"], ",.2f")]
        cells += [_number(row[key], ".4f") for key in qaly_keys]
        cells += [_number(row["admissions"], ".3f")]
        table.add_row(*cells)
    # A table wider than the terminal would be squeezed to ellipses: printed whole when the
    # output goes to a file or a pipe; on a narrow terminal, a pointer to the CSV instead.
    natural = console.measure(table, options=console.options.update_width(10_000)).maximum
    if not console.is_terminal:
        Console(width=max(console.width, natural)).print(table)
        return
    if natural > console.width:
        table.caption = Text(f"wider than this terminal ({natural} columns): --format csv")
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``breakeven`` command to ``app``."""
    app.command("breakeven")(breakeven_command)
