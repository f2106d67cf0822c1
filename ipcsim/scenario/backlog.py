"""Warm start: people already in the pathway at the start date, read from a CSV file.

Columns: ``person_id`` (whole number, unique), ``site``, ``cohort``, ``stage`` and
``waiting_since`` (ISO date, on or before the run's start date). The stage is the last
milestone the person has reached:

- ``referred``: referred, waiting for the invitation and consent;
- ``consented``: consented, waiting for a lead practitioner and a first conversation;
- ``plan_written``: plan written, waiting for sign-off;
- ``signed_off``: plan signed off, waiting for the budget decision and budget setting;
- ``budget_agreed``: budget agreed, waiting for the money to be released.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ipcsim.errors import ConfigError
from ipcsim.pathway import BACKLOG_STAGES
from ipcsim.scenario.scenario import Scenario

COLUMNS = ("person_id", "site", "cohort", "stage", "waiting_since")


@dataclass(frozen=True, slots=True)
class BacklogPerson:
    """One person waiting at the start date."""

    person_id: int
    site: str
    cohort: str
    stage: str
    waiting_since: dt.date


def load_backlog(path: str | Path, scenario: Scenario) -> tuple[BacklogPerson, ...]:
    """Read and check a backlog CSV against the scenario's sites and cohorts.

    Raises
    ------
    ConfigError
        One line naming the file, the row (file line number) and column, and the value.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: initial_state file not found") from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the initial_state file ({e})") from e
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        raise ConfigError(f"{path}: empty file, expected a header {','.join(COLUMNS)}")
    header = [h.strip() for h in header]
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        raise ConfigError(
            f"{path}: row 1: expected columns {','.join(COLUMNS)}, "
            f"missing {missing or 'none'}, unknown {unknown or 'none'}"
        )
    sites = {config.site.name: config for config in scenario.site_configs}
    start = scenario.run.start_date
    people: list[BacklogPerson] = []
    seen: set[int] = set()
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise ConfigError(
                f"{path}: row {line}: expected {len(header)} values, got {len(row)}: {row!r}"
            )
        cells = {name: value.strip() for name, value in zip(header, row, strict=True)}

        def bad(column: str, why: str, cells: dict[str, str] = cells, line: int = line) -> None:
            raise ConfigError(f"{path}: row {line}, column {column}: {why}, got {cells[column]!r}")

        try:
            person_id = int(cells["person_id"])
        except ValueError:
            bad("person_id", "must be a whole number")
        if person_id < 0:
            bad("person_id", "must be >= 0")
        if person_id in seen:
            bad("person_id", "duplicate person_id")
        seen.add(person_id)
        site_name = cells["site"]
        if site_name not in sites:
            bad("site", f"unknown site (sites: {', '.join(sites)})")
        if cells["cohort"] not in sites[site_name].cohorts:
            bad("cohort", f"unknown cohort at site '{site_name}'")
        if cells["stage"] not in BACKLOG_STAGES:
            bad("stage", f"must be one of {', '.join(BACKLOG_STAGES)}")
        try:
            since = dt.date.fromisoformat(cells["waiting_since"])
        except ValueError:
            bad("waiting_since", "must be an ISO date such as 2016-03-01")
        if since > start:
            bad("waiting_since", f"must be on or before the start date {start}")
        people.append(
            BacklogPerson(
                person_id=person_id,
                site=site_name,
                cohort=cells["cohort"],
                stage=cells["stage"],
                waiting_since=since,
            )
        )
    return tuple(people)
