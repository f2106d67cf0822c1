"""Reading and checking the sites table of the break-even analysis (:mod:`.breakeven`).

A sites CSV has one row per site and implementation year: ``site``, ``year``, ``patients``,
``setup_cost``, ``running_cost_per_patient``, and up to 20 descriptive text columns (e.g.
``adopter``) that ``ipcsim breakeven --group-by`` can group by. The file is read safely (see
:func:`read_sites_csv`); every bad value is one line naming the file, row and column.
"""

from __future__ import annotations

import csv
import math
import numbers
import os
import unicodedata
from collections.abc import Iterable, Sequence

import pandas as pd

from ipcsim.errors import IpcsimError

__all__ = [
    "COLUMNS",
    "MAX_CELL_CHARS",
    "MAX_DESCRIPTIVE_COLUMNS",
    "YEARS",
    "BreakevenInputError",
    "read_sites_csv",
    "show_value",
    "validated_frame",
]


#: Columns every sites table has, in the order of the frame :func:`read_sites_csv` returns.
#: Any other column is descriptive text (e.g. ``adopter``), kept after these.
COLUMNS: tuple[str, ...] = ("site", "year", "patients", "setup_cost", "running_cost_per_patient")
#: Most descriptive columns a sites table may add to :data:`COLUMNS`.
MAX_DESCRIPTIVE_COLUMNS = 20
#: Longest cell or column name of a sites table, characters (names and labels are short).
MAX_CELL_CHARS = 1000
#: Implementation years covered by the evaluation's cost questionnaire (2015/16 to 2017/18).
YEARS: tuple[int, ...] = (1, 2, 3)
_NUMBER_COLUMNS = ("patients", "setup_cost", "running_cost_per_patient")
_SHOWN_CHARS = 40
"""At most this much of a bad text value is echoed in a message."""


class BreakevenInputError(IpcsimError, ValueError):
    """Bad break-even input: a one-line message naming the file, row, column and bad value.

    A :class:`ValueError`, and an :class:`~ipcsim.errors.IpcsimError` so that the CLI reports
    it as one line with exit status 2.
    """


# --------------------------------------------------------------------------------------------
# Reading and validating the sites table
# --------------------------------------------------------------------------------------------


def read_sites_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read and validate a sites CSV file.

    Parameters
    ----------
    path
        CSV file with the columns ``site,year,patients,setup_cost,running_cost_per_patient``
        (any order) and one row per site and implementation year (1 to 3). ``patients`` is the
        number of people who received IPC at the site that year; ``setup_cost`` is the site's
        set-up cost that year (£); ``running_cost_per_patient`` is the site's differential
        running cost of IPC over standard care (£ per patient), the same in every year of a
        site. An empty cell is a missing value. Up to :data:`MAX_DESCRIPTIVE_COLUMNS` further
        columns are descriptive text (for example ``adopter``, to group by).

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`COLUMNS` in that order, then the descriptive columns in file
        order; one row per data row of the file in file order: ``site`` as text, ``year`` as
        int, the three numbers as float with NaN for missing, descriptive cells as text (``""``
        for an empty cell).

    Raises
    ------
    BreakevenInputError
        If the file is missing or unreadable, a column is missing, repeated or unnamed, there
        are too many columns, a row has the wrong number of values, a site is empty, a cell or
        column name is longer than :data:`MAX_CELL_CHARS` or a text cell holds a control
        character, a year is not 1, 2 or 3, a number is not a finite number >= 0, a (site,
        year) pair is repeated, or a site's running cost differs between its rows. The message
        names the file and the row (the file's line number, the header being row 1) and column.

    Notes
    -----
    Header names and cells are stripped of surrounding spaces, blank lines are skipped and a
    UTF-8 byte-order mark is ignored. A file with a header but no data rows is an error.
    Numbers are plain decimals (``2024``, not ``2,024`` or ``£2,024``).
    """
    source = os.fspath(path)
    lines = _read_csv_lines(source)
    if not lines:
        raise BreakevenInputError(
            f"{source}: file is empty; expected a header row {','.join(COLUMNS)}"
        )
    header_line, header = lines[0]
    names = [name.strip() for name in header]
    descriptive = _check_column_names(names, source=source, where=f"row {header_line}")
    rows: list[tuple[str, dict[str, object]]] = []
    for line_number, fields in lines[1:]:
        if len(fields) != len(names):
            raise BreakevenInputError(
                f"{source}: row {line_number}: expected {len(names)} values "
                f"({','.join(names)}), got {len(fields)}"
            )
        rows.append((f"row {line_number}", dict(zip(names, fields, strict=True))))
    if not rows:
        raise BreakevenInputError(f"{source}: no data rows after the header")
    return _build_frame(rows, source=source, descriptive=descriptive)


def _read_csv_lines(source: str) -> list[tuple[int, list[str]]]:
    """Return the non-blank records of a CSV file with the line number each ends on."""
    records: list[tuple[int, list[str]]] = []
    try:
        with open(source, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            try:
                for fields in reader:
                    if fields and any(field.strip() for field in fields):
                        records.append((reader.line_num, fields))
            except csv.Error as e:
                raise BreakevenInputError(
                    f"{source}: row {reader.line_num}: malformed CSV ({e})"
                ) from e
    except FileNotFoundError as e:
        raise BreakevenInputError(f"{source}: file not found") from e
    except UnicodeDecodeError as e:
        raise BreakevenInputError(f"{source}: not UTF-8 text ({e.reason})") from e
    except OSError as e:
        raise BreakevenInputError(f"{source}: cannot read file ({e.strerror})") from e
    return records


def _check_column_names(names: Sequence[str], *, source: str, where: str) -> list[str]:
    """Check a header: every name in :data:`COLUMNS` once, plus named descriptive columns.

    Returns the descriptive columns' names, in header order.
    """
    expected = ", ".join(COLUMNS)
    seen: set[str] = set()
    for number, name in enumerate(names, start=1):
        if not name:
            raise BreakevenInputError(f"{source}: {where}: column {number} has no name")
        _check_text(name, where=f"{source}: {where}, column {number} name")
        if name in seen:
            raise BreakevenInputError(
                f"{source}: {where}: column {show_value(name)} appears more than once"
            )
        seen.add(name)
    missing = [name for name in COLUMNS if name not in seen]
    if missing:
        raise BreakevenInputError(
            f"{source}: {where}: missing column {missing[0]!r}; expected columns: {expected} "
            "(and any descriptive columns)"
        )
    descriptive = [name for name in names if name not in COLUMNS]
    if len(descriptive) > MAX_DESCRIPTIVE_COLUMNS:
        raise BreakevenInputError(
            f"{source}: {where}: {len(descriptive)} descriptive columns besides {expected}; "
            f"at most {MAX_DESCRIPTIVE_COLUMNS} allowed"
        )
    return descriptive


def _check_text(text: str, *, where: str) -> None:
    """Raise if ``text`` (a cell or a column name) is over-long or holds a control character.

    Descriptive text ends up in terminal tables, where a control character (an escape
    sequence, a newline) would garble or restyle the output.
    """
    if len(text) > MAX_CELL_CHARS:
        raise BreakevenInputError(f"{where}: longer than {MAX_CELL_CHARS} characters")
    for char in text:
        if unicodedata.category(char) == "Cc":
            raise BreakevenInputError(
                f"{where}: must not contain control characters, got U+{ord(char):04X} "
                f"in {show_value(text)}"
            )


def _build_frame(
    rows: Iterable[tuple[str, dict[str, object]]],
    *,
    source: str,
    years: Sequence[int] = YEARS,
    descriptive: Sequence[str] = (),
) -> pd.DataFrame:
    """Validate labelled rows of raw cells and return the typed sites frame.

    Each row is ``(label, cells)`` where ``label`` names the row in messages (``"row 4"``) and
    ``cells`` maps every name in :data:`COLUMNS` and in ``descriptive`` to a raw value (text
    from a file, or anything a DataFrame holds).
    """
    first_seen: dict[tuple[str, int], str] = {}
    running_seen: dict[str, tuple[float, str]] = {}
    columns = [*COLUMNS, *descriptive]
    records: dict[str, list[object]] = {name: [] for name in columns}
    for label, cells in rows:
        where = f"{source}: {label}"
        site = _parse_site(cells["site"], where=where)
        year = _parse_year(cells["year"], where=where, years=years)
        numbers_ = {
            name: _parse_number(cells[name], where=f"{where}, column {name}")
            for name in _NUMBER_COLUMNS
        }
        key = (site, year)
        if key in first_seen:
            raise BreakevenInputError(
                f"{where}: site {site!r} year {year} given twice (first in {first_seen[key]})"
            )
        first_seen[key] = label
        running = numbers_["running_cost_per_patient"]
        if not math.isnan(running):
            if site in running_seen and running_seen[site][0] != running:
                earlier, earlier_label = running_seen[site]
                raise BreakevenInputError(
                    f"{where}, column running_cost_per_patient: site {site!r} has {running:g} "
                    f"here but {earlier:g} in {earlier_label}; a site's running cost per "
                    "patient must be the same every year"
                )
            running_seen.setdefault(site, (running, label))
        records["site"].append(site)
        records["year"].append(year)
        for name, value in numbers_.items():
            records[name].append(value)
        for name in descriptive:
            records[name].append(
                _parse_text(cells[name], where=f"{where}, column {show_value(name)}")
            )
    frame = pd.DataFrame(records, columns=columns)
    frame["year"] = frame["year"].astype("int64")
    for name in _NUMBER_COLUMNS:
        frame[name] = frame[name].astype("float64")
    return frame


def _is_missing(value: object) -> bool:
    """True for ``None``, NaN, pandas' NA and blank text."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    return isinstance(value, numbers.Real) and math.isnan(float(value))


def _parse_site(value: object, *, where: str) -> str:
    if _is_missing(value):
        raise BreakevenInputError(f"{where}, column site: must not be empty")
    return _parse_text(value, where=f"{where}, column site")


def _parse_text(value: object, *, where: str) -> str:
    """A text cell, stripped: ``""`` when missing; bounded and free of control characters."""
    if _is_missing(value):
        return ""
    text = str(value).strip()
    _check_text(text, where=where)
    return text


def _parse_year(value: object, *, where: str, years: Sequence[int] = YEARS) -> int:
    year: float | None = None
    if isinstance(value, str):
        try:
            year = float(value.strip())
        except ValueError:
            year = None
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        year = float(value)
    if year is None or year not in years:
        allowed = ", ".join(str(y) for y in years[:-1]) + f" or {years[-1]}"
        allowed = allowed.removeprefix(" or ")
        raise BreakevenInputError(
            f"{where}, column year: must be {allowed}, got {show_value(value)}"
        )
    return int(year)


def _parse_number(value: object, *, where: str) -> float:
    """Parse a cell that must be empty (missing, NaN) or a finite number >= 0."""
    if _is_missing(value):
        return math.nan
    number: float | None = None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
    if number is None or not math.isfinite(number) or number < 0:
        raise BreakevenInputError(f"{where}: must be a number >= 0, got {show_value(value)}")
    return number


def show_value(value: object) -> str:
    """A bad value as it appears in a message: text quoted (cut to 40 characters), numbers bare."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return repr(float(value))
    if isinstance(value, str) and len(value) > _SHOWN_CHARS:
        return repr(value[:_SHOWN_CHARS] + "...")
    return repr(value)


def validated_frame(sites: pd.DataFrame, years: Sequence[int] = YEARS) -> pd.DataFrame:
    """Apply the checks of :func:`read_sites_csv` to a frame built in code."""
    source = "sites"
    if not isinstance(sites, pd.DataFrame):
        raise BreakevenInputError(
            f"{source}: expected a pandas DataFrame, got {type(sites).__name__}"
        )
    names = [str(name) for name in sites.columns]
    descriptive = _check_column_names(names, source=source, where="columns")
    if sites.empty:
        raise BreakevenInputError(f"{source}: no rows")
    columns = [*COLUMNS, *descriptive]
    values = sites.set_axis(names, axis="columns")[columns].itertuples(index=False, name=None)
    rows = (
        (f"index {label}", dict(zip(columns, cells, strict=True)))
        for label, cells in zip(sites.index, values, strict=True)
    )
    return _build_frame(rows, source=source, years=years, descriptive=descriptive)
