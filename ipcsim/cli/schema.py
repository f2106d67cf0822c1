"""``ipcsim schema``: the JSON Schema of scenario files, for editors."""

from __future__ import annotations

import json
import sys

import typer

from ipcsim.scenario import Scenario


def schema() -> None:
    """Print the JSON Schema of scenario files (for editor completion and checks)."""
    sys.stdout.write(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2) + "\n")


def register(app: typer.Typer) -> None:
    """Add the ``schema`` command to ``app``."""
    app.command("schema")(schema)
