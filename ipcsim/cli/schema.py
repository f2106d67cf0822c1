"""``ipcsim schema``: every key of scenario files, as a table, markdown or JSON Schema."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from ipcsim.cli._app import console
from ipcsim.scenario import Scenario
from ipcsim.scenario.fields import field_rows


class SchemaFormat(StrEnum):
    """How ``ipcsim schema`` prints."""

    table = "table"
    markdown = "markdown"
    json = "json"


def schema(
    format_: Annotated[
        SchemaFormat,
        typer.Option(
            "--format",
            help="table (to read), markdown (for documents) or json (JSON Schema for editors).",
        ),
    ] = SchemaFormat.table,
) -> None:
    """Every key of a scenario file: type, default, unit and evidence source."""
    if format_ is SchemaFormat.json:
        sys.stdout.write(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2) + "\n")
        return
    rows = field_rows(Scenario)
    if format_ is SchemaFormat.markdown:
        lines = ["| key | type | default | what it is (unit, source) |", "|---|---|---|---|"]
        for row in rows:
            cells = (f"`{row.key}`", row.kind, row.default, row.description)
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        sys.stdout.write("\n".join(lines) + "\n")
        return
    table = Table(title="Scenario keys", header_style="bold")
    for header in ("key", "type", "default", "what it is (unit, source)"):
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(row.key, row.kind, row.default, row.description)
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``schema`` command to ``app``."""
    app.command("schema")(schema)
