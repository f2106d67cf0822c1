"""Break-even analysis of IPC costs, following the evaluation's method (CHE).

The evaluation asked eight sites for their set-up costs, their differential running cost per
patient and how many people received IPC in each of the first three years (Table 5-2 of the
evaluation; see ``../shared/evidence/ipc-evidence.md`` section 2.3 and section 6.8). With no
comparative outcome data, it asked instead how much benefit IPC would have to produce to pay for
itself: the QALYs gained per patient at a cost-effectiveness threshold, or the unplanned hospital
admissions avoided per patient.

Data flow::

    sites.csv -> read_sites_csv(path) -> DataFrame -> breakeven(frame, ...) -> dict
                                                   -> breakeven_by_group(frame, group_by=...)
              -> to_table_rows(result) / to_csv(result)

Everything here is a pure function: no printing, no logging of results, no global state.
"""

from __future__ import annotations

import csv
import io
import math
import numbers
import os
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Literal, TypedDict, cast

import pandas as pd

from ipcsim.errors import IpcsimError
from ipcsim.scenario.economics import (
    DEFAULT_ADMISSION_COST,
    DEFAULT_DISCOUNT_RATE,
    DEFAULT_THRESHOLDS,
)

__all__ = [
    "COLUMNS",
    "DEFAULT_ADMISSION_COST",
    "DEFAULT_DISCOUNT_RATE",
    "DEFAULT_THRESHOLDS",
    "MAX_CELL_CHARS",
    "MAX_DESCRIPTIVE_COLUMNS",
    "OVERALL_GROUP",
    "PANELS",
    "YEARS",
    "Approach1Row",
    "Approach2Row",
    "Approach2YearRow",
    "BreakevenGroup",
    "BreakevenInputError",
    "BreakevenResult",
    "GroupedBreakevenResult",
    "breakeven",
    "breakeven_by_group",
    "read_sites_csv",
    "to_csv",
    "to_table_rows",
]

#: Columns every sites table has, in the order of the frame :func:`read_sites_csv` returns.
#: Any other column is descriptive text (e.g. ``adopter``), kept after these.
COLUMNS: tuple[str, ...] = ("site", "year", "patients", "setup_cost", "running_cost_per_patient")
#: Most descriptive columns a sites table may add to :data:`COLUMNS`.
MAX_DESCRIPTIVE_COLUMNS = 20
#: Longest cell or column name of a sites table, characters (names and labels are short).
MAX_CELL_CHARS = 1000
#: The ``group`` of :func:`breakeven_by_group`'s overall rows (so no group may be called this).
OVERALL_GROUP = "all"
#: Implementation years covered by the evaluation's cost questionnaire (2015/16 to 2017/18).
YEARS: tuple[int, ...] = (1, 2, 3)
#: Cost panels, in report order: set-up costs only, differential running costs only, both.
PANELS: tuple[str, ...] = ("setup", "delivery", "both")


_NUMBER_COLUMNS = ("patients", "setup_cost", "running_cost_per_patient")
_SHOWN_CHARS = 40
"""At most this much of a bad text value is echoed in a message."""
_TABLE_COLUMNS_BEFORE_QALYS = (
    "approach",
    "panel",
    "year",
    "patients",
    "setup_cost",
    "running_cost",
    "cost_per_patient",
)


class BreakevenInputError(IpcsimError, ValueError):
    """Bad break-even input: a one-line message naming the file, row, column and bad value.

    A :class:`ValueError`, and an :class:`~ipcsim.errors.IpcsimError` so that the CLI reports
    it as one line with exit status 2.
    """


class Approach1Row(TypedDict):
    """One panel and year of approach 1 (each implementation year on its own).

    ``year`` is 1, 2 or 3, or ``"any"`` for the ``delivery`` panel, whose running cost per
    patient does not depend on the year. Money is in £ per patient, QALYs and admissions are
    per patient; ``None`` means no site had the data needed.
    """

    panel: str
    year: int | str
    cost_per_patient: float | None
    qalys: dict[str, float | None]
    admissions: float | None


class Approach2Row(TypedDict):
    """One panel of approach 2 (the three implementation years together, average site).

    ``patients`` is the average site's total number of patients over the years (people);
    ``setup_cost`` and ``running_cost`` are the average site's discounted totals that the
    panel counts (£, discounted to year 1; 0.0 for the component a panel leaves out).
    """

    panel: str
    patients: float | None
    setup_cost: float | None
    running_cost: float | None
    cost_per_patient: float | None
    qalys: dict[str, float | None]
    admissions: float | None


class Approach2YearRow(TypedDict):
    """One implementation year of approach 2: the average site's figures that year.

    ``patients`` is the average site's number of patients that year (people, not discounted);
    ``setup_cost`` and ``running_cost`` are its set-up and running costs that year (£),
    discounted to year 1 by dividing by ``discount_factor`` = ``(1 + r) ** (year - 1)``.
    Summed over the years they give the ``both`` panel's totals in :class:`Approach2Row`
    (``None`` for a year without the data, which adds nothing to the totals).
    """

    year: int
    discount_factor: float
    patients: float | None
    setup_cost: float | None
    running_cost: float | None


class BreakevenResult(TypedDict):
    """Both approaches, JSON-serialisable as is (numbers unrounded, missing as ``None``).

    ``approach2_years`` breaks approach 2's totals down by implementation year, as the
    evaluation's approach-2 table prints them.
    """

    approach1: list[Approach1Row]
    approach2: list[Approach2Row]
    approach2_years: list[Approach2YearRow]


class BreakevenGroup(TypedDict):
    """The break-even of one group of rows (or of all rows: ``group`` is ``"all"``).

    ``sites`` is the number of different sites with a row in the group.
    """

    group: str
    sites: int
    result: BreakevenResult


class GroupedBreakevenResult(TypedDict):
    """:func:`breakeven_by_group`'s result, JSON-serialisable as is.

    ``groups`` holds one entry per value of the ``group_by`` column, in order of first
    appearance, then the overall entry (group :data:`OVERALL_GROUP`).
    """

    group_by: str
    groups: list[BreakevenGroup]


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
                f"{source}: {where}: column {_show(name)} appears more than once"
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
                f"in {_show(text)}"
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
            records[name].append(_parse_text(cells[name], where=f"{where}, column {_show(name)}"))
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
        raise BreakevenInputError(f"{where}, column year: must be {allowed}, got {_show(value)}")
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
        raise BreakevenInputError(f"{where}: must be a number >= 0, got {_show(value)}")
    return number


def _show(value: object) -> str:
    """A bad value as it appears in a message: text quoted (cut to 40 characters), numbers bare."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return repr(float(value))
    if isinstance(value, str) and len(value) > _SHOWN_CHARS:
        return repr(value[:_SHOWN_CHARS] + "...")
    return repr(value)


def _validated_frame(sites: pd.DataFrame, years: Sequence[int] = YEARS) -> pd.DataFrame:
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


# --------------------------------------------------------------------------------------------
# The break-even method
# --------------------------------------------------------------------------------------------


def breakeven(
    sites: pd.DataFrame,
    *,
    discount_rate: float = DEFAULT_DISCOUNT_RATE,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    admission_cost: float = DEFAULT_ADMISSION_COST,
    years: Sequence[int] = YEARS,
) -> BreakevenResult:
    """Break-even QALYs and admissions avoided per patient, by the evaluation's two approaches.

    Parameters
    ----------
    sites
        Sites table as returned by :func:`read_sites_csv` (a frame built in code is validated
        the same way; rows are then named by their index label in error messages).
    discount_rate
        Annual discount rate (fraction, e.g. 0.035 for 3.5%); approach 2 divides year ``y``'s
        costs by ``(1 + discount_rate) ** (y - 1)``. Must be >= 0.
    thresholds
        Cost-effectiveness thresholds λ (£ per QALY), each > 0 and all different.
    admission_cost
        Unit cost of an unplanned hospital admission (£), > 0.
    years
        Implementation years the table may hold: ``1, 2, ..., n`` (default :data:`YEARS`, the
        evaluation's three questionnaire years). A simulated run passes its own years.

    Returns
    -------
    BreakevenResult
        ``{"approach1": [...], "approach2": [...], "approach2_years": [...]}``,
        JSON-serialisable, numbers unrounded. ``approach1`` has rows ``setup`` years 1-3,
        ``delivery`` year ``"any"``, ``both`` years 1-3; ``approach2`` has one row per panel
        ``setup``, ``delivery``, ``both``; ``approach2_years`` has one row per year with the
        average site's patients and discounted set-up and running costs that year
        (:class:`Approach2YearRow`). In every panel row ``cost_per_patient`` is in £ per
        patient, ``qalys`` maps each threshold (as text, e.g. ``"13000"``) to
        ``cost_per_patient / λ`` (QALYs per patient), and ``admissions`` is
        ``cost_per_patient / admission_cost`` (admissions avoided per patient). A value that
        cannot be computed from the data is ``None``.

    Raises
    ------
    BreakevenInputError
        If ``sites`` fails the checks of :func:`read_sites_csv`, or an option is out of range.

    Notes
    -----
    Approach 1 (each year separately). In year ``y``, for each site with ``patients > 0``:
    set-up cost per patient = ``setup_cost / patients``; ``both`` adds the site's running cost
    per patient. The panel's cost per patient is the unweighted mean over those sites.
    ``delivery`` is the mean running cost per patient over all sites reporting one, whether or
    not they report patients, given once as year ``"any"``. No discounting.

    Approach 2 (the three years together, for an average site). For each year, average the
    patients over the sites reporting patients that year and the set-up cost over the sites
    reporting a set-up cost that year. Total patients = sum of the yearly averages (not
    discounted). Set-up total = sum of yearly average set-up costs, each divided by
    ``(1 + r) ** (y - 1)``. Running total = sum over years of mean running cost per patient
    (all sites) times that year's average patients, discounted the same way. Cost per patient:
    ``setup`` = set-up total / patients, ``delivery`` = running total / patients, ``both`` =
    (set-up + running total) / patients. The year rows hold each year's terms of these sums:
    the average patients, the discounted average set-up cost and the discounted running cost
    (mean running cost per patient times that year's average patients).

    Decisions where the method is silent:

    - Missing is never zero. In approach 1, a site with patients but no set-up cost that year
      is left out of ``setup`` and ``both`` for that year; a site with no running cost is
      left out of ``both``. So ``both`` can average fewer sites than ``setup`` and need not
      equal ``setup`` plus ``delivery``.
    - A site's running cost is a site attribute: a value given on any of its rows applies to
      all its years (rows that give it must agree).
    - In approach 1 a site reporting 0 patients is left out (its cost per patient is
      undefined). In approach 2 a reported 0 counts in that year's average.
    - In approach 2 a year for which no site reports patients (or set-up cost) adds nothing to
      the patient (or set-up) total. If no site reports set-up cost in any year, the set-up
      total is ``None``; if none reports a running cost, or none reports patients, the
      running total is ``None``; if the total patients is ``None`` or 0 the cost per patient
      is ``None``.
    - In approach 2 each row reports the components its panel counts: ``setup`` has
      ``running_cost`` 0.0 and ``delivery`` has ``setup_cost`` 0.0, so in every row
      ``cost_per_patient == (setup_cost + running_cost) / patients``.
    - Averages are unweighted means over sites, as in the evaluation's tables.

    References
    ----------
    Evaluation of Integrated Personal Commissioning, economics chapter (Tables 5-2 and 5-4 to
    5-7, Appendix C); inputs in ``../shared/evidence/ipc-evidence.md`` sections 2.3 and 6.8.
    """
    years = _checked_years(years)
    frame = _validated_frame(sites, years)
    _check_options(discount_rate, thresholds, admission_cost)
    keys = [_threshold_key(threshold) for threshold in thresholds]
    lambdas = [float(threshold) for threshold in thresholds]

    def outcomes(cost: float | None) -> tuple[dict[str, float | None], float | None]:
        if cost is None:
            return {key: None for key in keys}, None
        return (
            {key: cost / lam for key, lam in zip(keys, lambdas, strict=True)},
            cost / admission_cost,
        )

    approach1: list[Approach1Row] = []
    for panel, year, cost in _approach1_costs(frame, years):
        qalys, admissions = outcomes(cost)
        approach1.append(
            {
                "panel": panel,
                "year": year,
                "cost_per_patient": cost,
                "qalys": qalys,
                "admissions": admissions,
            }
        )

    approach2_years = _approach2_years(frame, discount_rate, years)
    approach2: list[Approach2Row] = []
    for panel, patients, setup_cost, running_cost in _approach2_totals(frame, discount_rate, years):
        cost = None
        if patients and setup_cost is not None and running_cost is not None:
            cost = (setup_cost + running_cost) / patients
        qalys, admissions = outcomes(cost)
        approach2.append(
            {
                "panel": panel,
                "patients": patients,
                "setup_cost": setup_cost,
                "running_cost": running_cost,
                "cost_per_patient": cost,
                "qalys": qalys,
                "admissions": admissions,
            }
        )
    return {"approach1": approach1, "approach2": approach2, "approach2_years": approach2_years}


def breakeven_by_group(
    sites: pd.DataFrame,
    *,
    group_by: str,
    source: str = "sites",
    discount_rate: float = DEFAULT_DISCOUNT_RATE,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    admission_cost: float = DEFAULT_ADMISSION_COST,
    years: Sequence[int] = YEARS,
) -> GroupedBreakevenResult:
    """:func:`breakeven` for each group of rows sharing a value of one column, and for all rows.

    Parameters
    ----------
    sites
        Sites table as for :func:`breakeven`, with the column to group by.
    group_by
        The column: ``site`` or a descriptive column of the table (for example ``adopter``,
        early or late by the year implementation started). Not a number column.
    source
        Where the table came from (the CSV path), to name it in error messages.
    discount_rate, thresholds, admission_cost, years
        As for :func:`breakeven`, the same for every group.

    Returns
    -------
    GroupedBreakevenResult
        ``{"group_by": group_by, "groups": [...]}``: one :class:`BreakevenGroup` per value of
        the column in order of first appearance, each the :func:`breakeven` of that value's
        rows alone, then one for all rows (group :data:`OVERALL_GROUP`, equal to
        ``breakeven(sites, ...)``).

    Raises
    ------
    BreakevenInputError
        If ``sites`` or an option fails the checks of :func:`breakeven`; if the table has no
        column ``group_by`` or it holds numbers; or if a row's value is empty or is
        :data:`OVERALL_GROUP`. The message names ``source`` and the column.

    Notes
    -----
    Each group is analysed as if its rows were the whole table: its averages are over its own
    sites, and its years are implementation years (a site that started late has its first
    implementation year as year 1). A site whose rows fall in two groups counts in both.
    """
    years = _checked_years(years)
    frame = _validated_frame(sites, years)
    _check_options(discount_rate, thresholds, admission_cost)
    groupable = ["site", *(name for name in frame.columns if name not in COLUMNS)]
    if group_by not in frame.columns:
        raise BreakevenInputError(
            f"{source}: no column {_show(group_by)} to group by; the columns to group by are "
            f"{', '.join(groupable)}"
        )
    if group_by not in groupable:
        raise BreakevenInputError(
            f"{source}: cannot group by column {group_by!r}, which holds numbers; the columns "
            f"to group by are {', '.join(groupable)}"
        )
    values = frame[group_by]
    for site, year, value in zip(frame["site"], frame["year"], values, strict=True):
        if value == "":
            raise BreakevenInputError(
                f"{source}: column {group_by!r} is empty for site {_show(site)} year {year}; "
                "every row needs a value to group by"
            )
        if value == OVERALL_GROUP:
            raise BreakevenInputError(
                f"{source}: column {group_by!r} has the value {OVERALL_GROUP!r} (site "
                f"{_show(site)} year {year}), which names the overall rows; rename that group"
            )

    def group(name: str, rows: pd.DataFrame) -> BreakevenGroup:
        result = breakeven(
            rows,
            discount_rate=discount_rate,
            thresholds=thresholds,
            admission_cost=admission_cost,
            years=years,
        )
        return {"group": name, "sites": int(rows["site"].nunique()), "result": result}

    groups = [group(str(value), frame[values == value]) for value in values.unique()]
    groups.append(group(OVERALL_GROUP, frame))
    return {"group_by": group_by, "groups": groups}


def _checked_years(years: Sequence[int]) -> tuple[int, ...]:
    checked = tuple(int(y) for y in years)
    if not checked or checked != tuple(range(1, len(checked) + 1)):
        raise BreakevenInputError(f"years: must be 1, 2, ..., n, got {list(checked)}")
    return checked


def _check_options(
    discount_rate: float, thresholds: Sequence[float], admission_cost: float
) -> None:
    if not _is_finite_number(discount_rate) or discount_rate < 0:
        raise BreakevenInputError(f"discount rate: must be a number >= 0, got {discount_rate!r}")
    if isinstance(thresholds, str) or len(thresholds) == 0:
        raise BreakevenInputError(
            f"thresholds: must be one or more numbers > 0, got {thresholds!r}"
        )
    keys: set[str] = set()
    for threshold in thresholds:
        if not _is_finite_number(threshold) or threshold <= 0:
            raise BreakevenInputError(f"thresholds: must be numbers > 0, got {threshold!r}")
        key = _threshold_key(threshold)
        if key in keys:
            raise BreakevenInputError(f"thresholds: {key} given more than once")
        keys.add(key)
    if not _is_finite_number(admission_cost) or admission_cost <= 0:
        raise BreakevenInputError(f"admission cost: must be a number > 0, got {admission_cost!r}")


def _is_finite_number(value: object) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _threshold_key(threshold: float) -> str:
    """Threshold as a JSON key: ``13000`` for whole numbers, else the shortest float text."""
    value = float(threshold)
    return str(int(value)) if value.is_integer() else repr(value)


def _mean_or_none(values: pd.Series) -> float | None:
    present = values.dropna()
    return float(present.mean()) if len(present) else None


def _site_running_costs(frame: pd.DataFrame) -> pd.Series:
    """Running cost per patient (£) by site, for the sites that report one."""
    known = frame.dropna(subset=["running_cost_per_patient"])
    return known.groupby("site", sort=False)["running_cost_per_patient"].first()


def _approach1_costs(
    frame: pd.DataFrame, years: Sequence[int]
) -> list[tuple[str, int | str, float | None]]:
    """(panel, year, cost per patient in £) for approach 1, in report order."""
    running_by_site = _site_running_costs(frame)
    setup_rows: list[tuple[str, int | str, float | None]] = []
    both_rows: list[tuple[str, int | str, float | None]] = []
    for year in years:
        with_patients = frame[(frame["year"] == year) & (frame["patients"] > 0)]
        setup_per_patient = with_patients["setup_cost"] / with_patients["patients"]
        running = with_patients["site"].map(running_by_site).astype("float64")
        setup_rows.append(("setup", year, _mean_or_none(setup_per_patient)))
        both_rows.append(("both", year, _mean_or_none(setup_per_patient + running)))
    delivery = ("delivery", "any", _mean_or_none(running_by_site))
    return [*setup_rows, delivery, *both_rows]


def _approach2_years(
    frame: pd.DataFrame, discount_rate: float, years: Sequence[int]
) -> list[Approach2YearRow]:
    """The average site's patients and discounted costs in each year (approach 2's terms)."""
    running_per_patient = _mean_or_none(_site_running_costs(frame))
    rows: list[Approach2YearRow] = []
    for year in years:
        in_year = frame[frame["year"] == year]
        discount_factor = (1.0 + discount_rate) ** (year - 1)
        patients = _mean_or_none(in_year["patients"])
        setup = _mean_or_none(in_year["setup_cost"])
        running = None
        if running_per_patient is not None and patients is not None:
            running = running_per_patient * (patients / discount_factor)
        rows.append(
            {
                "year": year,
                "discount_factor": discount_factor,
                "patients": patients,
                "setup_cost": None if setup is None else setup / discount_factor,
                "running_cost": running,
            }
        )
    return rows


def _approach2_totals(
    frame: pd.DataFrame, discount_rate: float, years: Sequence[int]
) -> list[tuple[str, float | None, float | None, float | None]]:
    """(panel, patients, set-up £, running £) for approach 2's average site, in panel order."""
    patients_total: float | None = None
    discounted_patients: float | None = None
    setup_total: float | None = None
    for year in years:
        in_year = frame[frame["year"] == year]
        discount_factor = (1.0 + discount_rate) ** (year - 1)
        patients = _mean_or_none(in_year["patients"])
        if patients is not None:
            patients_total = (patients_total or 0.0) + patients
            discounted_patients = (discounted_patients or 0.0) + patients / discount_factor
        setup = _mean_or_none(in_year["setup_cost"])
        if setup is not None:
            setup_total = (setup_total or 0.0) + setup / discount_factor
    running_per_patient = _mean_or_none(_site_running_costs(frame))
    running_total = None
    if running_per_patient is not None and discounted_patients is not None:
        running_total = running_per_patient * discounted_patients
    return [
        ("setup", patients_total, setup_total, 0.0),
        ("delivery", patients_total, 0.0, running_total),
        ("both", patients_total, setup_total, running_total),
    ]


# --------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------

TableValue = str | int | float | None


def to_table_rows(
    result: BreakevenResult | GroupedBreakevenResult,
) -> list[dict[str, TableValue]]:
    """Flatten a :func:`breakeven` or :func:`breakeven_by_group` result into table rows.

    Parameters
    ----------
    result
        The dictionary returned by :func:`breakeven` or :func:`breakeven_by_group` (or the
        same structure read back from JSON).

    Returns
    -------
    list of dict
        One row per approach-1 row, then the approach-2 rows: ``setup`` and ``delivery``
        (year ``"all"``), then ``both`` year by year (1, 2, 3: the average site's patients and
        discounted costs that year, from ``approach2_years``, with no cost per patient, QALYs
        or admissions, which the method gives only for the years together), then ``both``
        year ``"all"``. Each row has the keys ``approach`` (``"approach1"`` or
        ``"approach2"``), ``panel``, ``year`` (1-3 or ``"any"`` in approach 1, 1-3 or
        ``"all"`` in approach 2), ``patients`` (people), ``setup_cost`` and ``running_cost``
        (£, discounted to year 1; approach 2 only, ``None`` in approach 1),
        ``cost_per_patient`` (£), ``qalys_<λ>`` for each threshold in the result's order
        (QALYs per patient) and ``admissions`` (admissions avoided per patient). Numbers are
        unrounded. For a grouped result, each group's rows in turn, the overall rows last,
        each row starting with the key ``group`` (the group's value, or ``"all"``).
    """
    if "groups" in result:
        grouped = cast(GroupedBreakevenResult, result)
        return [
            {"group": entry["group"], **row}
            for entry in grouped["groups"]
            for row in _result_rows(entry["result"])
        ]
    return _result_rows(cast(BreakevenResult, result))


def _result_rows(result: BreakevenResult) -> list[dict[str, TableValue]]:
    keys = _qaly_keys(result)
    rows: list[dict[str, TableValue]] = []
    for row1 in result["approach1"]:
        rows.append(
            _table_row(
                approach="approach1",
                panel=row1["panel"],
                year=row1["year"],
                patients=None,
                setup_cost=None,
                running_cost=None,
                cost_per_patient=row1["cost_per_patient"],
                qalys=row1["qalys"],
                admissions=row1["admissions"],
                keys=keys,
            )
        )
    no_outcomes: dict[str, float | None] = dict.fromkeys(keys)
    for row2 in result["approach2"]:
        if row2["panel"] == "both":
            # A result read back from an older JSON file may lack the year rows.
            for year_row in result.get("approach2_years", []):
                rows.append(
                    _table_row(
                        approach="approach2",
                        panel="both",
                        year=year_row["year"],
                        patients=year_row["patients"],
                        setup_cost=year_row["setup_cost"],
                        running_cost=year_row["running_cost"],
                        cost_per_patient=None,
                        qalys=no_outcomes,
                        admissions=None,
                        keys=keys,
                    )
                )
        rows.append(
            _table_row(
                approach="approach2",
                panel=row2["panel"],
                year="all",
                patients=row2["patients"],
                setup_cost=row2["setup_cost"],
                running_cost=row2["running_cost"],
                cost_per_patient=row2["cost_per_patient"],
                qalys=row2["qalys"],
                admissions=row2["admissions"],
                keys=keys,
            )
        )
    return rows


def to_csv(result: BreakevenResult | GroupedBreakevenResult) -> str:
    r"""Render a break-even result as CSV text, one line per row of :func:`to_table_rows`.

    A grouped result (:func:`breakeven_by_group`) has a first column ``group``. Missing values
    are empty cells; numbers are written unrounded (shortest round-trip text); lines end with
    ``\n``.
    """
    header = []
    if "groups" in result:
        grouped = cast(GroupedBreakevenResult, result)
        header.append("group")
        first = grouped["groups"][0]["result"]
    else:
        first = cast(BreakevenResult, result)
    header += [*_TABLE_COLUMNS_BEFORE_QALYS, *(f"qalys_{key}" for key in _qaly_keys(first))]
    header.append("admissions")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in to_table_rows(result):
        writer.writerow(["" if row[name] is None else row[name] for name in header])
    return buffer.getvalue()


def _qaly_keys(result: BreakevenResult) -> list[str]:
    rows: list[Approach1Row | Approach2Row] = [*result["approach1"], *result["approach2"]]
    return list(rows[0]["qalys"]) if rows else []


def _table_row(
    *,
    approach: Literal["approach1", "approach2"],
    panel: str,
    year: int | str,
    patients: float | None,
    setup_cost: float | None,
    running_cost: float | None,
    cost_per_patient: float | None,
    qalys: dict[str, float | None],
    admissions: float | None,
    keys: Sequence[str],
) -> dict[str, TableValue]:
    row: dict[str, TableValue] = {
        "approach": approach,
        "panel": panel,
        "year": year,
        "patients": patients,
        "setup_cost": setup_cost,
        "running_cost": running_cost,
        "cost_per_patient": cost_per_patient,
    }
    for key in keys:
        row[f"qalys_{key}"] = qalys.get(key)
    row["admissions"] = admissions
    return row
