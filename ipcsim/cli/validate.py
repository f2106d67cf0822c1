"""``ipcsim validate``: check a scenario file or an experiment spec, and print what it describes.

Validation checks everything ``run`` (or ``experiment``) needs: the file, every key and
cross-reference, the files it names (a warm-start backlog) and, for a spec, every scenario of
its plan. It simulates nothing. What it accepts, ``run`` and ``experiment`` run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ipcsim.cli._app import (
    AllowOutsideOption,
    SetOption,
    console,
    fail_lines,
    kpi_table,
    user_errors,
)
from ipcsim.errors import ConfigError
from ipcsim.experiment import ExperimentPlan, ExperimentSpec, load_spec, plan_experiment
from ipcsim.scenario import Scenario
from ipcsim.scenario.backlog import load_backlog
from ipcsim.scenario.fields import defaults_filled
from ipcsim.scenario.load import load_scenario, read_toml

SPEC_KEYS = frozenset(ExperimentSpec.model_fields) - frozenset(Scenario.model_fields)
"""Top-level keys only an experiment spec has: a file with one of them is validated as a spec."""


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
        rows.append((f"{prefix}sign-off", config.signoff.describe().text))
        for name, cohort in sorted(config.cohorts.items()):
            rows.append((f"{prefix}cohort {name}", cohort.referral_rate_text()))
        if config.delivery.growth:
            rows.append((f"{prefix}delivery growth", config.delivery.growth_text()))
        for name, role in sorted(config.workforce.items()):
            size = "unlimited" if role.unlimited else f"{sum(role.member_fte()):g} WTE"
            rows.append(
                (
                    f"{prefix}role {name}",
                    f"{size}, {role.ipc_hours_per_week():.1f} IPC h/week per WTE",
                )
            )
    return rows


def _describe_plan(plan: ExperimentPlan) -> list[tuple[str, str]]:
    spec = plan.spec
    reps = spec.replications
    replications = (
        f"{reps.n} per scenario"
        if reps.mode == "fixed"
        else f"auto, {reps.initial} to {reps.max} per scenario"
    )
    warmup = {"none": "none", "fixed": f"{spec.warmup.days:g} days", "mser5": "MSER-5"}
    return [
        ("experiment", plan.name),
        ("bases", ", ".join(spec.base_files())),
        ("scenarios", f"{len(plan.scenarios):,}"),
        ("factors", ", ".join(plan.factors) or "none"),
        ("replications", replications),
        ("warm-up", warmup[spec.warmup.mode]),
        ("master seed", str(plan.master_seed)),
        ("KPIs", ", ".join(spec.kpis)),
    ]


def _backlog_rows(scenario: Scenario, label: str = "initial state") -> list[tuple[str, str]]:
    """Read and check the scenario's backlog now, so that a run never rejects it later."""
    if not scenario.initial_state:
        return []
    backlog = load_backlog(scenario.initial_state, scenario)
    return [(label, f"{len(backlog):,} people waiting at the start")]


@user_errors
def validate(
    config: Annotated[str, typer.Argument(help="Scenario TOML file or experiment spec.")],
    set_: SetOption = None,
    allow_outside_files: AllowOutsideOption = False,
    defaults: Annotated[
        bool,
        typer.Option(
            "--defaults", help="Also list every key the file left out and the default used."
        ),
    ] = False,
) -> None:
    """Check a scenario file (or an experiment spec) and the files it names; print a summary.

    A file that fails is reported with every problem found, one line each.
    """
    try:
        _validate(config, set_ or [], allow_outside_files=allow_outside_files, defaults=defaults)
    except ConfigError as e:
        # Every problem at once, so one edit fixes them all (other commands name the first).
        fail_lines(e.problems)


def _validate(config: str, set_: list[str], *, allow_outside_files: bool, defaults: bool) -> None:
    path = Path(config)
    if SPEC_KEYS & set(read_toml(path)):
        plan = plan_experiment(load_spec(path, set_), spec_path=path)
        rows = _describe_plan(plan)
        checked: set[str] = set()
        for planned in plan.scenarios:
            state = planned.scenario.initial_state
            if state and state not in checked:
                checked.add(state)
                rows += _backlog_rows(planned.scenario, f"initial state ({planned.base})")
    else:
        scenario = load_scenario(path, set_, allow_outside_files=allow_outside_files)
        rows = _describe(scenario) + _backlog_rows(scenario)
        filled = [
            (f"{c.site.name}: {row.key}" if len(scenario.site_configs) > 1 else row.key, row)
            for c in scenario.site_configs
            for row in defaults_filled(c)
        ]
        rows.append(("defaults filled in", f"{len(filled)} keys (--defaults lists them)"))
    table = kpi_table(f"{config}: valid", rows)
    table.columns[0].header = "setting"
    console.print(table)
    if defaults and not SPEC_KEYS & set(read_toml(path)):
        listing = Table(title="Defaults filled in (keys the file left out)", header_style="bold")
        for header in ("key", "value used", "unit and source"):
            listing.add_column(header, overflow="fold")
        for key, row in filled:
            listing.add_row(key, row.default, row.description)
        console.print(listing)


def register(app: typer.Typer) -> None:
    """Add the ``validate`` command to ``app``."""
    app.command("validate")(validate)
