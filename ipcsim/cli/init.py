"""``ipcsim init``: write a commented starter scenario that validates as written."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer

from ipcsim.cli._app import console, user_errors
from ipcsim.errors import ConfigError
from ipcsim.scenario.load import load_scenario

STARTER = "starter.toml"
"""The starter scenario, package data of :mod:`ipcsim.scenario` (``templates/``)."""


@user_errors
def init(
    path: Annotated[Path, typer.Argument(help="Scenario file to write, e.g. my_site.toml.")],
    from_: Annotated[
        Path | None,
        typer.Option("--from", help="Copy this scenario instead of the starter (a shipped one)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write a starter scenario (one site from the evidence defaults), checked before writing."""
    if path.exists() and not force:
        raise ConfigError(f"{path}: already exists; pass --force to replace it")
    if from_ is not None:
        if not from_.is_file():
            raise ConfigError(f"--from {from_}: file not found")
        text = from_.read_text(encoding="utf-8")
    else:
        text = files("ipcsim.scenario").joinpath("templates", STARTER).read_text(encoding="utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    scenario = load_scenario(path)  # what init writes validates as written
    console.print(
        f"Wrote {path} ({scenario.name}: {len(scenario.site_configs)} site, "
        f"{len(scenario.site_configs[0].cohorts)} cohorts, "
        f"{len(scenario.role_names)} roles). Next: ipcsim validate {path}; ipcsim run {path}",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add the ``init`` command to ``app``."""
    app.command("init")(init)
