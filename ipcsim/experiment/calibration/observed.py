"""A site's observed counts, read from a CSV file as safely as a warm-start backlog.

Columns: ``month`` (``YYYY-MM``) or ``quarter`` (the quarter's first month, ``YYYY-MM``: a
quarter is three calendar months from it, so ``2016-04`` is April to June 2016 whether the
site reports calendar or financial quarters); optionally ``site`` (a site of the scenario;
without it the counts are the scenario's totals); and any of ``referrals``,
``plans_signed_off``, ``budgets_released`` (counts in the period) and ``open_cases_end``
(people in the pathway at the period's end), and wait summaries of the people referred in the
period, ``wait_<wait>_median`` (days) and ``wait_<wait>_share_within_<N>w`` (0 to 1; see
:mod:`~.series`). A cell left empty is a value not observed. An optional ``months`` column
makes a row span that many calendar months from its month (1 to 120; empty: the file's
period), for a figure published only as a total over a longer time (a year's recruits, nine
months of follow-up).

The file is read as :mod:`ipcsim.scenario.backlog` reads a backlog: a regular file of at most
1 MiB, UTF-8 (with or without a byte-order mark), every problem one line naming the file, the
row (file line) and the column.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from ipcsim.errors import ConfigError
from ipcsim.experiment.calibration.series import (
    COUNT_SERIES,
    MAX_WAIT_DAYS,
    SERIES_HELP,
    SeriesKind,
    parse_series,
)
from ipcsim.scenario.backlog import csv_rows, read_text_file
from ipcsim.scenario.bounds import EARLIEST_DATE, LATEST_DATE

__all__ = [
    "MAX_OBSERVED_BYTES",
    "MAX_OBSERVED_ROWS",
    "ObservedData",
    "ObservedRow",
    "read_observed",
]

MAX_OBSERVED_BYTES = 1024 * 1024
"""Largest observed file read, bytes (aggregate counts: a few hundred rows at most)."""
MAX_OBSERVED_ROWS = 10_000
"""Most rows of observed counts."""
MAX_COUNT = 1e9
"""Largest count in a cell."""
MAX_ROW_MONTHS = 120
"""Most calendar months one row may span."""
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_SHOWN_CHARS = 40


def _shown(value: str) -> str:
    return repr(value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "...")


@dataclass(frozen=True)
class ObservedRow:
    """One row of the file.

    Attributes
    ----------
    line
        Its line in the file (the header is line 1), for messages.
    site
        The site named, or ``None`` for the scenario's totals.
    period
        First day of the period's first month.
    values
        Series -> count (NaN where the cell was empty).
    months
        Calendar months the row spans (its ``months`` cell, else the file's period: 1 or 3).
    """

    line: int
    site: str | None
    period: dt.date
    values: dict[str, float]
    months: int = 1


@dataclass(frozen=True)
class ObservedData:
    """The observed counts of one file.

    Attributes
    ----------
    path
        The file.
    period
        ``month`` or ``quarter``.
    series
        Series columns of the file: counts in :data:`~.series.COUNT_SERIES` order, then
        wait summaries in file order.
    rows
        In file order.
    """

    path: Path
    period: str
    series: tuple[str, ...]
    rows: tuple[ObservedRow, ...]

    @property
    def months(self) -> int:
        """Calendar months in one period (1 or 3)."""
        return 3 if self.period == "quarter" else 1


def _month(text: str) -> dt.date | None:
    match = _MONTH.fullmatch(text)
    if match is None:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        return None
    return dt.date(year, month, 1)


def _invalid(kind: SeriesKind, text: str) -> str:
    """Why a cell's text is no valid value of the series (empty: valid)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if kind.kind == "median":
        if not (math.isfinite(value) and 0 <= value <= MAX_WAIT_DAYS):
            return f"must be a median wait in days, 0 to {MAX_WAIT_DAYS:,.0f}, or empty"
    elif kind.kind == "share":
        if not (math.isfinite(value) and 0 <= value <= 1):
            return "must be a share, 0 to 1 (not a percentage), or empty"
    elif not (math.isfinite(value) and value == int(value) and 0 <= value <= MAX_COUNT):
        return "must be a whole number of people, 0 to 1e9, or empty (not observed)"
    return ""


def read_observed(path: str | Path) -> ObservedData:
    """Read and check an observed-counts CSV (its sites and periods are checked later).

    Raises
    ------
    ConfigError
        One line naming the file, the row (file line) and column, and the value.
    """
    path = Path(path)
    rows = csv_rows(path, read_text_file(path, what="observed", max_bytes=MAX_OBSERVED_BYTES))
    header = next(rows, None)
    expected = (
        f"month or quarter, optional site, any of {', '.join(COUNT_SERIES)} and wait summaries"
    )
    if header is None:
        raise ConfigError(f"{path}: empty file, expected a header ({expected})")
    header = [h.strip() for h in header]
    parsed = {h: parse_series(h) for h in header if h not in ("month", "quarter", "site", "months")}
    unknown = [_shown(h) for h, kind in parsed.items() if kind is None]
    if unknown:
        raise ConfigError(
            f"{path}: row 1: unknown column {', '.join(unknown[:5])} (expected month or "
            f"quarter, optional site, and series: {SERIES_HELP})"
        )
    kinds = {h: kind for h, kind in parsed.items() if kind is not None}
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise ConfigError(f"{path}: row 1: column {', '.join(repeated)} given twice")
    periods = [h for h in header if h in ("month", "quarter")]
    if len(periods) != 1:
        raise ConfigError(
            f"{path}: row 1: give exactly one of the columns month or quarter, got "
            f"{', '.join(periods) or 'neither'}"
        )
    period = periods[0]
    series = tuple(s for s in COUNT_SERIES if s in header) + tuple(
        h for h, kind in kinds.items() if kind.is_wait
    )
    if not series:
        raise ConfigError(f"{path}: row 1: no series column ({expected})")
    found: list[ObservedRow] = []
    seen: dict[tuple[str | None, dt.date], int] = {}
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise ConfigError(f"{path}: row {line}: expected {len(header)} values, got {len(row)}")
        if len(found) >= MAX_OBSERVED_ROWS:
            raise ConfigError(f"{path}: more than {MAX_OBSERVED_ROWS:,} rows")
        cells = {name: value.strip() for name, value in zip(header, row, strict=True)}

        def bad(column: str, why: str, cells: dict[str, str] = cells, line: int = line) -> NoReturn:
            shown = _shown(cells[column])
            raise ConfigError(f"{path}: row {line}, column {column}: {why}, got {shown}")

        start = _month(cells[period])
        if start is None:
            bad(period, "must be a month written YYYY-MM, such as 2016-04")
        if not EARLIEST_DATE <= start <= LATEST_DATE:
            bad(period, f"must be between {EARLIEST_DATE:%Y-%m} and {LATEST_DATE:%Y-%m}")
        site = cells.get("site")
        if site is not None and not site:
            bad("site", "must name a site of the scenario (leave the column out for totals)")
        values: dict[str, float] = {}
        for name in series:
            text = cells[name]
            if not text:
                values[name] = math.nan
                continue
            why = _invalid(kinds[name], text)
            if why:
                bad(name, why)
            values[name] = float(text)
        months = 3 if period == "quarter" else 1
        if cells.get("months"):
            text = cells["months"]
            if not (text.isdigit() and 1 <= int(text) <= MAX_ROW_MONTHS):
                bad("months", f"must be a whole number of months, 1 to {MAX_ROW_MONTHS}")
            months = int(text)
        key = (site, start)
        if key in seen:
            bad(period, f"the same {period}{' and site' if site else ''} as row {seen[key]}")
        seen[key] = line
        found.append(ObservedRow(line=line, site=site, period=start, values=values, months=months))
    if not found:
        raise ConfigError(f"{path}: no rows of counts under the header")
    return ObservedData(path=path, period=period, series=series, rows=tuple(found))
