"""``ipcsim serve``: the what-if page on a local web server."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from ipcsim.cli._app import console, user_errors
from ipcsim.errors import ConfigError
from ipcsim.present.web import MAX_UPLOAD_BYTES, JobRunner, bounded_uploads, create_app
from ipcsim.scenario.load import load_scenario

SHIPPED = Path("configs")
"""The shipped scenarios, offered on the page when ``serve`` runs from the project folder."""

DEFAULT = "demonstrator_site"


@user_errors
def serve(
    scenario: Annotated[
        Path | None,
        typer.Argument(help="Scenario TOML shown first [default: configs/demonstrator_site.toml]"),
    ] = None,
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    host: Annotated[
        str, typer.Option(help="Address to bind; 0.0.0.0 opens the page to the network.")
    ] = "127.0.0.1",
    workers: Annotated[
        int, typer.Option(help="Runs going at once (each in its own process).", min=1, max=64)
    ] = 2,
) -> None:
    """Serve the what-if page: pick or upload a scenario, change its inputs, run, download."""
    import uvicorn  # only this command needs the web server

    scenarios = {path.stem: path for path in sorted(SHIPPED.glob("*.toml"))}
    if scenario is not None:
        load_scenario(scenario)  # a bad file stops here, in one line
        others = {name: path for name, path in scenarios.items() if name != scenario.stem}
        scenarios = {scenario.stem: scenario, **others}
    if not scenarios:
        raise ConfigError(f"no scenario given and no {SHIPPED}/*.toml here: name a TOML file")
    selected = (
        scenario.stem
        if scenario is not None
        else (DEFAULT if DEFAULT in scenarios else next(iter(scenarios)))
    )
    runner = JobRunner(max_running=workers)
    with tempfile.TemporaryDirectory(prefix="ipcsim-serve-") as workdir:
        app = create_app(scenarios, selected=selected, runner=runner, workdir=Path(workdir))
        console.print(f"The what-if page: http://{host}:{port}  (Ctrl+C stops it)", highlight=False)
        try:
            uvicorn.run(
                bounded_uploads(app, MAX_UPLOAD_BYTES), host=host, port=port, log_level="warning"
            )
        finally:
            runner.shutdown()


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to ``app``."""
    app.command("serve")(serve)
