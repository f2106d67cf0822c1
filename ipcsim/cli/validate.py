"""``ipcsim validate``: check a scenario file and print what it describes."""

from __future__ import annotations

from typing import Annotated

import typer

from ipcsim.cli._app import AllowOutsideOption, SetOption, console, kpi_table, user_errors
from ipcsim.scenario import Scenario
from ipcsim.scenario.backlog import load_backlog
from ipcsim.scenario.load import load_scenario


def _describe(scenario: Scenario) -> list[tuple[str, str]]:
    rows = [
        ("scenario", scenario.name),
        ("start date", str(scenario.run.start_date)),
        ("horizon (days)", f"{scenario.run.horizon_days:g}"),
        ("seed", str(scenario.run.seed)),
    ]
    several = len(scenario.site_configs) > 1
    for config in scenario.site_configs:
        prefix = f"{config.site.name}: " if several else ""
        joined = config.site.start_date or scenario.run.start_date
        rows.append((f"{prefix}site", f"{config.site.name}, joins {joined}"))
        rows.append((f"{prefix}sign-off", config.signoff.mode))
        for name, cohort in sorted(config.cohorts.items()):
            rows.append(
                (f"{prefix}cohort {name}", f"{cohort.referrals_per_month:g} referrals/month")
            )
        for name, role in sorted(config.workforce.items()):
            size = "unlimited" if role.unlimited else f"{sum(role.member_fte()):g} WTE"
            rows.append(
                (
                    f"{prefix}role {name}",
                    f"{size}, {role.ipc_hours_per_week():.1f} IPC h/week per WTE",
                )
            )
    return rows


@user_errors
def validate(
    config: Annotated[str, typer.Argument(help="Scenario TOML file.")],
    set_: SetOption = None,
    allow_outside_files: AllowOutsideOption = False,
) -> None:
    """Check a scenario file and the files it names, and print what it describes."""
    scenario = load_scenario(config, set_ or [], allow_outside_files=allow_outside_files)
    rows = _describe(scenario)
    if scenario.initial_state:  # read and checked now, so that `run` never rejects it later
        backlog = load_backlog(scenario.initial_state, scenario)
        rows.append(("initial state", f"{len(backlog):,} people waiting at the start"))
    table = kpi_table(f"{config}: valid", rows)
    table.columns[0].header = "setting"
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``validate`` command to ``app``."""
    app.command("validate")(validate)
