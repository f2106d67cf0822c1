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
from collections.abc import Sequence
from typing import Literal, TypedDict, cast

import pandas as pd

from ipcsim.analysis.breakeven_sites import (
    COLUMNS,
    MAX_CELL_CHARS,
    MAX_DESCRIPTIVE_COLUMNS,
    YEARS,
    BreakevenInputError,
    read_sites_csv,
    show_value,
    validated_frame,
)
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

#: The ``group`` of :func:`breakeven_by_group`'s overall rows (so no group may be called this).
OVERALL_GROUP = "all"
#: Cost panels, in report order: set-up costs only, differential running costs only, both.
PANELS: tuple[str, ...] = ("setup", "delivery", "both")


_TABLE_COLUMNS_BEFORE_QALYS = (
    "approach",
    "panel",
    "year",
    "patients",
    "setup_cost",
    "running_cost",
    "cost_per_patient",
)


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
    frame = validated_frame(sites, years)
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
    frame = validated_frame(sites, years)
    _check_options(discount_rate, thresholds, admission_cost)
    groupable = ["site", *(name for name in frame.columns if name not in COLUMNS)]
    if group_by not in frame.columns:
        raise BreakevenInputError(
            f"{source}: no column {show_value(group_by)} to group by; the columns to group by are "
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
                f"{source}: column {group_by!r} is empty for site {show_value(site)} year {year}; "
                "every row needs a value to group by"
            )
        if value == OVERALL_GROUP:
            raise BreakevenInputError(
                f"{source}: column {group_by!r} has the value {OVERALL_GROUP!r} (site "
                f"{show_value(site)} year {year}), which names the overall rows; rename that group"
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
