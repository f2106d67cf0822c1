"""The ``ipcsim`` command: one module per command, each imported only when it is used.

Only the CLI prints. Every :class:`~ipcsim.errors.IpcsimError` becomes one line on stderr and
exit status 2, never a traceback (:func:`ipcsim.cli._app.user_errors`).

``ipcsim --help`` lists the commands from :data:`COMMANDS` without importing them, and
``ipcsim run ...`` imports the ``run`` module only: the commands behind the what-if page,
the figures and the experiments pull in Shiny, matplotlib and pandas, which took ``--help``
to about three seconds.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from ipcsim.cli._app import app

__all__ = ["COMMANDS", "app", "main"]

COMMANDS: dict[str, tuple[str, str]] = {
    "init": (
        "ipcsim.cli.init",
        "Write a starter scenario (one site from the evidence defaults), checked before writing.",
    ),
    "run": (
        "ipcsim.cli.run",
        "Run one scenario: print headline KPIs and write tables, summary and manifest.",
    ),
    "validate": (
        "ipcsim.cli.validate",
        "Check a scenario file (or an experiment spec) and the files it names; print a summary.",
    ),
    "experiment": (
        "ipcsim.cli.experiment",
        "Run a Monte Carlo experiment: scenarios x replications, with CIs and paired differences.",
    ),
    "plan": (
        "ipcsim.cli.plan",
        "Find the cheapest staffing that meets every service level: print it, then the frontier.",
    ),
    "calibrate": (
        "ipcsim.cli.calibrate",
        "Fit a scenario's uncertain parameters to observed counts (ABC-SMC); print the "
        "diagnostics.",
    ),
    "plot": (
        "ipcsim.cli.plot",
        "Draw the figures of a run, experiment, plan or calibration folder as PNG or SVG files.",
    ),
    "report": (
        "ipcsim.cli.plot",
        "Write a self-contained HTML report (figures embedded, STRESS-DES items filled).",
    ),
    "breakeven": (
        "ipcsim.cli.breakeven",
        "Break-even QALYs and avoided admissions per patient (the evaluation's CHE method).",
    ),
    "schema": (
        "ipcsim.cli.schema",
        "Every key of a scenario file: type, default, unit and evidence source.",
    ),
    "kpis": (
        "ipcsim.cli.kpis",
        "List every KPI of a scenario: name, unit and definition (for specs and --target).",
    ),
    "serve": (
        "ipcsim.cli.serve",
        "Serve the what-if page: pick or upload a scenario, change its inputs, run, download.",
    ),
}
"""Command -> (its module, the first line of its help), in the order of ``ipcsim --help``.

``tests/cli/test_cli.py`` checks that each line is the command's own first line of help."""


def load_command(name: str) -> Any:
    """The click command ``name`` (typer's), its module imported and registered now."""
    module, _ = COMMANDS[name]
    commands = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    import_module(module).register(commands)
    for info in commands.registered_commands:
        if info.name == name:
            return typer.main.get_command_from_info(
                info,
                pretty_exceptions_short=app.pretty_exceptions_short,
                rich_markup_mode=app.rich_markup_mode,
            )
    raise RuntimeError(f"{module} does not register the command '{name}'")  # pragma: no cover


class _LazyCommand(TyperCommand):
    """Stands in for a command in ``ipcsim --help``; loads it when it is run or asked about."""

    def __init__(self, name: str, short_help: str) -> None:
        super().__init__(name, help=short_help, short_help=short_help)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Any = None,
        **extra: Any,
    ) -> Any:
        # The context made is the real command's: click invokes it, not this stand-in.
        assert self.name is not None
        return load_command(self.name).make_context(info_name, args, parent=parent, **extra)


class _LazyGroup(TyperGroup):
    """The ``ipcsim`` group: commands from :data:`COMMANDS`, each imported when used."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Stand-ins, so listing, help and "did you mean" need no command module.
        self.commands = {name: _LazyCommand(name, line) for name, (_, line) in COMMANDS.items()}


app.info.cls = _LazyGroup


@app.callback()
def _group() -> None:
    # A callback makes typer build a group (it has no commands registered up front).
    pass


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
