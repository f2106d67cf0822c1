"""What every ``ipcsim`` command shares: the typer app, consoles, the --set option, one-line errors.

Command modules (one per command: ``run``, ``validate``, ``breakeven``, ``schema``,
``experiment``, ``plot``) import from here, so they never import each other; only the CLI
prints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from functools import wraps
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ipcsim.errors import IpcsimError

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


console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a config value, e.g. --set workforce.planner.headcount=6 (repeatable).",
    ),
]


class Criterion(StrEnum):
    """How a factor level meets a target (``--criterion`` of plot, report and experiment)."""

    mean = "mean"
    ci = "ci"


CriterionOption = Annotated[
    Criterion,
    typer.Option(help="A level meets a target by its mean, or by its whole 95% CI (ci)."),
]

AllowOutsideOption = Annotated[
    bool,
    typer.Option(
        "--allow-outside-files",
        help="Let the scenario name files outside its own folder (initial_state).",
    ),
]


def fail_lines(messages: Sequence[str], code: int = 2) -> None:
    """Print each message as one ``error:`` line on stderr, then exit with ``code``."""
    for message in messages:
        # Printed literally: a message may name TOML tables such as [workforce], which rich
        # would take for markup, or echo a value such as ":x:", which it would make an emoji.
        line = Text("error: ", style="bold red")
        line.append(message)
        err_console.print(line, highlight=False, soft_wrap=True, emoji=False, markup=False)
    raise typer.Exit(code)


def _fail(message: str, code: int = 2) -> None:
    fail_lines([message], code)


def user_errors(func: F) -> F:
    """Turn library errors into one line and exit status 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except IpcsimError as e:
            _fail(str(e))
        except KeyboardInterrupt:
            _fail("interrupted by the user", code=130)
        return None

    return wrapper  # type: ignore[return-value]


def kpi_table(title: str, rows: list[tuple[str, str]]) -> Table:
    """A two-column table of labelled values (``rows`` of ``(label, value)``)."""
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for label, value in rows:
        table.add_row(label, value)
    return table
