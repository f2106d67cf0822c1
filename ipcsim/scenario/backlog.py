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
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ipcsim.errors import ConfigError
from ipcsim.pathway import BACKLOG_STAGES
from ipcsim.scenario.bounds import EARLIEST_DATE
from ipcsim.scenario.scenario import Scenario

COLUMNS = ("person_id", "site", "cohort", "stage", "waiting_since")

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Largest backlog file read, bytes (64 MiB: about a million people)."""
MAX_CELL_CHARS = 1000
"""Longest value of one cell, characters (site and cohort names are short)."""
MAX_PERSON_ID = 2**53 - 1
"""Largest person id: ids travel through float columns, which hold whole numbers exactly to 2^53."""
_SHOWN_CHARS = 40
"""At most this much of a bad value is echoed in an error (never a whole line of the file)."""


def _shown(value: str) -> str:
    """``value`` quoted for an error message, cut to :data:`_SHOWN_CHARS` characters."""
    return repr(value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "...")


def read_text_file(
    path: Path, *, what: str = "initial_state", max_bytes: int = MAX_FILE_BYTES
) -> str:
    """The text of a regular file of at most ``max_bytes``, UTF-8 with or without BOM.

    Parameters
    ----------
    path
        The file.
    what
        How messages name the file (the key that names it: ``initial_state``, ``observed``).
    max_bytes
        Largest file read, bytes (default :data:`MAX_FILE_BYTES`).

    Raises
    ------
    ConfigError
        One line naming the file: missing, not a regular file, too large, unreadable, not UTF-8.
    """
    try:
        info = path.stat()
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: {what} file not found") from e
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the {what} file ({e.strerror})") from e
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{path}: {what} must be a regular file")
    if info.st_size > max_bytes:
        raise ConfigError(
            f"{path}: {what} file is {info.st_size:,} bytes, more than the {max_bytes:,} allowed"
        )
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the {what} file ({e.strerror})") from e
    if len(data) > max_bytes:  # it grew after the size check
        raise ConfigError(f"{path}: {what} file is more than the {max_bytes:,} bytes allowed")
    try:
        # utf-8-sig: a file saved by Excel as "CSV UTF-8" starts with a byte-order mark
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: {what} is not UTF-8 text (byte {e.start})") from e


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
    rows = csv_rows(path, read_text_file(path))
    header = next(rows, None)
    if header is None:
        raise ConfigError(f"{path}: empty file, expected a header {','.join(COLUMNS)}")
    header = [h.strip() for h in header]
    missing = [c for c in COLUMNS if c not in header]
    unknown = [_shown(c) for c in header if c not in COLUMNS]
    if missing or unknown:
        raise ConfigError(
            f"{path}: row 1: expected columns {','.join(COLUMNS)}, "
            f"missing {', '.join(missing) or 'none'}, unknown {', '.join(unknown[:5]) or 'none'}"
        )
    sites = {config.site.name: config for config in scenario.site_configs}
    start = scenario.run.start_date
    people: list[BacklogPerson] = []
    seen: set[int] = set()
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise ConfigError(f"{path}: row {line}: expected {len(header)} values, got {len(row)}")
        cells = {name: value.strip() for name, value in zip(header, row, strict=True)}

        def bad(column: str, why: str, cells: dict[str, str] = cells, line: int = line) -> None:
            shown = _shown(cells[column])
            raise ConfigError(f"{path}: row {line}, column {column}: {why}, got {shown}")

        try:
            person_id = int(cells["person_id"])
        except ValueError:
            bad("person_id", "must be a whole number")
        if not 0 <= person_id <= MAX_PERSON_ID:
            bad("person_id", f"must be 0 to {MAX_PERSON_ID}")
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
        if since < EARLIEST_DATE:
            bad("waiting_since", f"must be on or after {EARLIEST_DATE}")
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


def csv_rows(path: Path, text: str) -> Iterator[list[str]]:
    """CSV rows of ``text``; a malformed row or an over-long cell is a one-line error."""
    reader = csv.reader(text.splitlines())
    line = 0
    while True:
        line += 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise ConfigError(f"{path}: row {line}: malformed CSV ({e})") from e
        for number, cell in enumerate(row, start=1):
            if len(cell) > MAX_CELL_CHARS:
                raise ConfigError(
                    f"{path}: row {line}, value {number}: longer than {MAX_CELL_CHARS} characters"
                )
        yield row
