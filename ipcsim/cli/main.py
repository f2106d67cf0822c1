"""The ``ipcsim`` command: one module per command, registered on the app of :mod:`._app`.

Only the CLI prints. Every :class:`~ipcsim.errors.IpcsimError` becomes one line on stderr and
exit status 2, never a traceback (:func:`ipcsim.cli._app.user_errors`).
"""

from __future__ import annotations

from ipcsim.cli import breakeven, init, kpis, run, schema, serve, validate
from ipcsim.cli import calibrate as calibrate_cli
from ipcsim.cli import experiment as experiment_cli
from ipcsim.cli import plan as plan_cli
from ipcsim.cli import plot as plot_cli
from ipcsim.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()


# One module per command; the order here is the order of ``ipcsim --help``.
for _command in (
    init,
    run,
    validate,
    experiment_cli,
    plan_cli,
    calibrate_cli,
    plot_cli,
    breakeven,
    schema,
    kpis,
    serve,
):
    _command.register(app)


if __name__ == "__main__":  # pragma: no cover
    main()
