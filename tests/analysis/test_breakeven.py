"""Tests for ipcsim.analysis.breakeven: the evaluation's break-even method and its input file."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipcsim.analysis.breakeven import (
    COLUMNS,
    DEFAULT_ADMISSION_COST,
    BreakevenInputError,
    BreakevenResult,
    breakeven,
    read_sites_csv,
    to_csv,
    to_table_rows,
)
from ipcsim.errors import IpcsimError

SHIPPED_CSV = (
    Path(__file__).resolve().parents[2] / "experiments" / "ipc_evaluation_breakeven" / "sites.csv"
)
HEADER = ",".join(COLUMNS)

Cell = str | int | float | None


def make_frame(rows: list[tuple[Cell, ...]]) -> pd.DataFrame:
    """Sites frame from (site, year, patients, setup_cost, running_cost_per_patient) tuples."""
    return pd.DataFrame(rows, columns=list(COLUMNS))


def write_csv(tmp_path: Path, text: str, name: str = "sites.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def approach1(result: BreakevenResult, panel: str, year: int | str) -> float | None:
    (row,) = [r for r in result["approach1"] if r["panel"] == panel and r["year"] == year]
    return row["cost_per_patient"]


def approach2_row(result: BreakevenResult, panel: str) -> dict[str, object]:
    (row,) = [r for r in result["approach2"] if r["panel"] == panel]
    return dict(row)


# Two sites, two years, with gaps: site B reports no patients in year 2 and no set-up cost
# is missing anywhere; nobody reports year 3.
SMALL_ROWS: list[tuple[Cell, ...]] = [
    ("A", 1, 10, 1000, 50),
    ("A", 2, 20, 600, 50),
    ("B", 1, 40, 2000, 30),
    ("B", 2, None, 400, 30),
]


# --------------------------------------------------------------------------------------------
# Approach 1, hand-computed
# --------------------------------------------------------------------------------------------


def test_approach1_setup_panel_averages_cost_per_patient_over_sites_with_patients() -> None:
    result = breakeven(make_frame(SMALL_ROWS))
    # Year 1: A 1000/10 = 100, B 2000/40 = 50, mean (100 + 50) / 2 = 75.
    assert approach1(result, "setup", 1) == pytest.approx((1000 / 10 + 2000 / 40) / 2)
    assert approach1(result, "setup", 1) == pytest.approx(75.0)
    # Year 2: only A reports patients: 600/20 = 30 (B's set-up cost of 400 has no patients).
    assert approach1(result, "setup", 2) == pytest.approx(30.0)
    # Year 3: no site reports anything.
    assert approach1(result, "setup", 3) is None


def test_approach1_delivery_panel_is_mean_running_cost_over_sites_once() -> None:
    result = breakeven(make_frame(SMALL_ROWS))
    delivery = [r for r in result["approach1"] if r["panel"] == "delivery"]
    assert [r["year"] for r in delivery] == ["any"]
    # (50 + 30) / 2 = 40; each site counts once although it has two rows.
    assert delivery[0]["cost_per_patient"] == pytest.approx(40.0)


def test_approach1_both_panel_adds_each_sites_running_cost_before_averaging() -> None:
    result = breakeven(make_frame(SMALL_ROWS))
    # Year 1: A 100 + 50 = 150, B 50 + 30 = 80, mean 115.
    assert approach1(result, "both", 1) == pytest.approx(((100 + 50) + (50 + 30)) / 2)
    # Year 2: A only, 30 + 50 = 80.
    assert approach1(result, "both", 2) == pytest.approx(80.0)
    assert approach1(result, "both", 3) is None


def test_approach1_rows_come_in_report_order() -> None:
    result = breakeven(make_frame(SMALL_ROWS))
    order = [(r["panel"], r["year"]) for r in result["approach1"]]
    assert order == [
        ("setup", 1),
        ("setup", 2),
        ("setup", 3),
        ("delivery", "any"),
        ("both", 1),
        ("both", 2),
        ("both", 3),
    ]


def test_qalys_and_admissions_divide_cost_by_threshold_and_admission_cost() -> None:
    result = breakeven(make_frame(SMALL_ROWS), thresholds=(10000, 25000.5), admission_cost=2000)
    row = result["approach1"][0]  # setup, year 1: 75 per patient
    assert row["qalys"] == {
        "10000": pytest.approx(75 / 10000),
        "25000.5": pytest.approx(75 / 25000.5),
    }
    assert row["admissions"] == pytest.approx(75 / 2000)


# --------------------------------------------------------------------------------------------
# Approach 2, hand-computed
# --------------------------------------------------------------------------------------------


def test_approach2_hand_computed_with_ten_percent_discount() -> None:
    result = breakeven(make_frame(SMALL_ROWS), discount_rate=0.10)
    # Average patients: year 1 (10 + 40) / 2 = 25; year 2 only A reports: 20. Not discounted.
    patients = 25 + 20
    # Average set-up cost: year 1 (1000 + 2000) / 2 = 1500; year 2 (600 + 400) / 2 = 500,
    # discounted by 1.1.
    setup_total = 1500 + 500 / 1.1
    # Running: mean running cost (50 + 30) / 2 = 40 times each year's average patients.
    running_total = 40 * 25 + 40 * 20 / 1.1

    setup = approach2_row(result, "setup")
    assert setup["patients"] == pytest.approx(patients)
    assert setup["setup_cost"] == pytest.approx(setup_total)
    assert setup["running_cost"] == 0.0
    assert setup["cost_per_patient"] == pytest.approx(setup_total / patients)

    delivery = approach2_row(result, "delivery")
    assert delivery["setup_cost"] == 0.0
    assert delivery["running_cost"] == pytest.approx(running_total)
    assert delivery["cost_per_patient"] == pytest.approx(running_total / patients)

    both = approach2_row(result, "both")
    assert both["setup_cost"] == pytest.approx(setup_total)
    assert both["running_cost"] == pytest.approx(running_total)
    assert both["cost_per_patient"] == pytest.approx((setup_total + running_total) / patients)
    assert both["qalys"] == {
        key: pytest.approx((setup_total + running_total) / patients / lam)
        for key, lam in [("13000", 13000), ("20000", 20000), ("30000", 30000), ("50000", 50000)]
    }
    assert both["admissions"] == pytest.approx((setup_total + running_total) / patients / 1600.67)


def test_approach2_discounts_years_two_and_three_to_year_one() -> None:
    rows: list[tuple[Cell, ...]] = [("S", year, 10, 1000, 5) for year in (1, 2, 3)]
    result = breakeven(make_frame(rows), discount_rate=0.035)
    both = approach2_row(result, "both")
    assert both["setup_cost"] == pytest.approx(1000 + 1000 / 1.035 + 1000 / 1.035**2)
    assert both["running_cost"] == pytest.approx(5 * 10 * (1 + 1 / 1.035 + 1 / 1.035**2))
    assert both["patients"] == pytest.approx(30.0)


def test_approach2_without_discounting_sums_yearly_averages() -> None:
    rows: list[tuple[Cell, ...]] = [("S", year, 10, 1000, 5) for year in (1, 2, 3)]
    both = approach2_row(breakeven(make_frame(rows), discount_rate=0.0), "both")
    assert both["setup_cost"] == pytest.approx(3000.0)
    assert both["running_cost"] == pytest.approx(150.0)
    # (3000 + 150) / 30 = 105 per patient.
    assert both["cost_per_patient"] == pytest.approx(105.0)


def test_approach2_year_rows_hand_computed_with_ten_percent_discount() -> None:
    result = breakeven(make_frame(SMALL_ROWS), discount_rate=0.10)
    # Year 1: 25 patients, set-up 1500, running 40 * 25; year 2: 20 patients, set-up 500 and
    # running 40 * 20, both divided by 1.1; year 3: nobody reports anything.
    assert result["approach2_years"] == [
        {
            "year": 1,
            "discount_factor": 1.0,
            "patients": 25.0,
            "setup_cost": 1500.0,
            "running_cost": 1000.0,
        },
        {
            "year": 2,
            "discount_factor": pytest.approx(1.1),
            "patients": 20.0,
            "setup_cost": pytest.approx(500 / 1.1),
            "running_cost": pytest.approx(800 / 1.1),
        },
        {
            "year": 3,
            "discount_factor": pytest.approx(1.21),
            "patients": None,
            "setup_cost": None,
            "running_cost": None,
        },
    ]


def test_approach2_year_rows_add_up_to_the_both_panel() -> None:
    rows: list[tuple[Cell, ...]] = [
        *SMALL_ROWS,
        ("A", 3, 35, 250, 50),
        ("C", 1, 0, 900, 70),
        ("C", 3, 15, None, 70),
    ]
    result = breakeven(make_frame(rows), discount_rate=0.035)
    both = approach2_row(result, "both")
    years = result["approach2_years"]
    assert [row["year"] for row in years] == [1, 2, 3]
    for name in ("patients", "setup_cost", "running_cost"):
        terms = [row[name] for row in years]
        assert all(isinstance(term, float) for term in terms)
        assert sum(terms) == pytest.approx(both[name])


def test_discounting_leaves_approach1_unchanged() -> None:
    frame = make_frame(SMALL_ROWS)
    assert (
        breakeven(frame, discount_rate=0.0)["approach1"]
        == breakeven(frame, discount_rate=0.5)["approach1"]
    )


# --------------------------------------------------------------------------------------------
# Missing cells and the documented decisions
# --------------------------------------------------------------------------------------------


def test_site_with_patients_but_no_setup_cost_is_left_out_of_setup_and_both() -> None:
    rows: list[tuple[Cell, ...]] = [("A", 1, 10, 1000, 20), ("B", 1, 50, None, 40)]
    result = breakeven(make_frame(rows))
    # Only A: 1000/10 = 100; both 100 + 20 = 120. Missing set-up is not taken as zero.
    assert approach1(result, "setup", 1) == pytest.approx(100.0)
    assert approach1(result, "both", 1) == pytest.approx(120.0)
    # B's running cost still counts in delivery: (20 + 40) / 2 = 30.
    assert approach1(result, "delivery", "any") == pytest.approx(30.0)


def test_site_without_running_cost_is_left_out_of_both_but_not_setup() -> None:
    rows: list[tuple[Cell, ...]] = [("A", 1, 10, 1000, 20), ("B", 1, 10, 3000, None)]
    result = breakeven(make_frame(rows))
    # setup: (100 + 300) / 2 = 200; both: A only, 100 + 20 = 120.
    assert approach1(result, "setup", 1) == pytest.approx(200.0)
    assert approach1(result, "both", 1) == pytest.approx(120.0)


def test_running_cost_on_one_row_applies_to_all_years_of_the_site() -> None:
    rows: list[tuple[Cell, ...]] = [("A", 1, 10, 100, 7), ("A", 2, 10, 200, None)]
    result = breakeven(make_frame(rows))
    # Year 2: 200/10 + 7 = 27.
    assert approach1(result, "both", 2) == pytest.approx(27.0)


def test_zero_patients_excluded_in_approach1_but_averaged_in_approach2() -> None:
    rows: list[tuple[Cell, ...]] = [("A", 1, 0, 500, 10), ("B", 1, 20, 1000, 10)]
    result = breakeven(make_frame(rows))
    # Approach 1: A has no cost per patient; B 1000/20 = 50.
    assert approach1(result, "setup", 1) == pytest.approx(50.0)
    # Approach 2: patients (0 + 20) / 2 = 10; set-up (500 + 1000) / 2 = 750; 750 / 10 = 75.
    assert approach2_row(result, "setup")["cost_per_patient"] == pytest.approx(75.0)


def test_no_running_cost_anywhere_makes_delivery_and_both_missing() -> None:
    rows: list[tuple[Cell, ...]] = [("A", 1, 10, 1000, None)]
    result = breakeven(make_frame(rows))
    assert approach1(result, "delivery", "any") is None
    assert approach1(result, "both", 1) is None
    assert approach2_row(result, "delivery")["running_cost"] is None
    assert approach2_row(result, "both")["cost_per_patient"] is None
    assert approach2_row(result, "both")["qalys"] == dict.fromkeys(
        ["13000", "20000", "30000", "50000"]
    )
    assert approach2_row(result, "setup")["cost_per_patient"] == pytest.approx(100.0)


def test_no_patients_anywhere_makes_every_per_patient_cost_missing() -> None:
    rows: list[tuple[Cell, ...]] = [("A", 1, None, 1000, 10)]
    result = breakeven(make_frame(rows))
    assert approach1(result, "setup", 1) is None
    assert all(row["patients"] is None for row in result["approach2"])
    assert all(row["cost_per_patient"] is None for row in result["approach2"])
    assert all(row["admissions"] is None for row in result["approach2"])
    # The running cost does not need patients.
    assert approach1(result, "delivery", "any") == pytest.approx(10.0)


def test_empty_cells_in_csv_are_missing(tmp_path: Path) -> None:
    path = write_csv(tmp_path, f"{HEADER}\nA,1,10,,20\nA,2, ,300,\n")
    frame = read_sites_csv(path)
    assert frame["setup_cost"].isna().tolist() == [True, False]
    assert frame["patients"].isna().tolist() == [False, True]
    assert frame["running_cost_per_patient"].tolist()[0] == 20.0
    assert math.isnan(frame["running_cost_per_patient"].tolist()[1])


def test_read_sites_csv_types_and_order(tmp_path: Path) -> None:
    text = "running_cost_per_patient,site,year,patients,setup_cost\n5,B,2,3,4\n\n5,A,1,1.5,2\n"
    frame = read_sites_csv(write_csv(tmp_path, text))
    assert list(frame.columns) == list(COLUMNS)
    assert frame["site"].tolist() == ["B", "A"]
    assert frame["year"].tolist() == [2, 1]
    assert frame["year"].dtype == "int64"
    assert frame["patients"].tolist() == [3.0, 1.5]


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(BreakevenInputError, match=re.escape(f"{path}: file not found")):
        read_sites_csv(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "file is empty"),
        (f"{HEADER}\n", "no data rows"),
        (
            "site,year,patients,setup_cost\nA,1,2,3\n",
            "row 1: missing column 'running_cost_per_patient'",
        ),
        (f"{HEADER},site\nA,1,2,3,4,A\n", "row 1: column 'site' appears more than once"),
        (f"{HEADER}\nA,1,2,3\n", "row 2: expected 5 values"),
        (f"{HEADER}\n,1,2,3,4\n", "row 2, column site: must not be empty"),
    ],
)
def test_file_structure_errors(tmp_path: Path, text: str, message: str) -> None:
    path = write_csv(tmp_path, text)
    with pytest.raises(BreakevenInputError, match=re.escape(f"{path}: {message}")):
        read_sites_csv(path)


def test_non_numeric_value_names_file_row_column_and_value(tmp_path: Path) -> None:
    text = f"{HEADER}\nA,1,10,100,5\nA,2,10,100,5\nA,3,abc,100,5\n"
    path = write_csv(tmp_path, text)
    expected = f"{path}: row 4, column patients: must be a number >= 0, got 'abc'"
    with pytest.raises(BreakevenInputError, match=f"^{re.escape(expected)}$"):
        read_sites_csv(path)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("patients", "-1"),
        ("setup_cost", "-0.5"),
        ("running_cost_per_patient", "-3"),
        ("setup_cost", "nan"),
        ("patients", "inf"),
        ("setup_cost", "2,024"),
        ("running_cost_per_patient", "£5"),
    ],
)
def test_negative_or_non_numeric_values(tmp_path: Path, column: str, value: str) -> None:
    cells = {"site": "A", "year": "1", "patients": "1", "setup_cost": "1"}
    cells["running_cost_per_patient"] = "1"
    cells[column] = f'"{value}"'
    path = write_csv(tmp_path, f"{HEADER}\n{','.join(cells[name] for name in COLUMNS)}\n")
    expected = f"row 2, column {column}: must be a number >= 0, got {value!r}"
    with pytest.raises(BreakevenInputError, match=re.escape(expected)):
        read_sites_csv(path)


@pytest.mark.parametrize("year", ["0", "4", "1.5", "x", ""])
def test_year_outside_one_to_three(tmp_path: Path, year: str) -> None:
    path = write_csv(tmp_path, f"{HEADER}\nA,{year},1,1,1\n")
    expected = f"row 2, column year: must be 1, 2 or 3, got {year!r}"
    with pytest.raises(BreakevenInputError, match=re.escape(expected)):
        read_sites_csv(path)


def test_duplicate_site_and_year(tmp_path: Path) -> None:
    path = write_csv(tmp_path, f"{HEADER}\nA,1,1,1,1\nB,1,1,1,1\nA,1,2,2,1\n")
    expected = f"{path}: row 4: site 'A' year 1 given twice (first in row 2)"
    with pytest.raises(BreakevenInputError, match=re.escape(expected)):
        read_sites_csv(path)


def test_running_cost_differing_across_years(tmp_path: Path) -> None:
    path = write_csv(tmp_path, f"{HEADER}\nA,1,1,1,135\nA,2,1,1,\nA,3,1,1,136\n")
    expected = (
        f"{path}: row 4, column running_cost_per_patient: site 'A' has 136 here but 135 in row 2"
    )
    with pytest.raises(BreakevenInputError, match=re.escape(expected)):
        read_sites_csv(path)


def test_dataframe_input_is_validated_like_a_file() -> None:
    with pytest.raises(BreakevenInputError, match=re.escape("sites: columns: missing column")):
        breakeven(make_frame(SMALL_ROWS).drop(columns="setup_cost"))
    bad = make_frame([("A", 1, 10, 5, 1), ("A", 2, 10, -5, 1)])
    expected = "sites: index 1, column setup_cost: must be a number >= 0, got -5"
    with pytest.raises(BreakevenInputError, match=f"^{re.escape(expected)}$"):
        breakeven(bad)
    with pytest.raises(BreakevenInputError, match=re.escape("index 0, column year: must be 1, 2")):
        breakeven(make_frame([("A", 7, 10, 5, 1)]))
    with pytest.raises(BreakevenInputError, match=re.escape("sites: no rows")):
        breakeven(make_frame([]))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"discount_rate": -0.01}, "discount rate: must be a number >= 0"),
        ({"discount_rate": math.nan}, "discount rate: must be a number >= 0"),
        ({"thresholds": ()}, "thresholds: must be one or more numbers > 0"),
        ({"thresholds": (13000, 0)}, "thresholds: must be numbers > 0, got 0"),
        ({"thresholds": (13000, 13000.0)}, "thresholds: 13000 given more than once"),
        ({"admission_cost": 0}, "admission cost: must be a number > 0"),
    ],
)
def test_option_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(BreakevenInputError, match=re.escape(message)):
        breakeven(make_frame(SMALL_ROWS), **options)  # type: ignore[arg-type]


def test_input_error_is_a_value_error_and_a_cli_reported_error() -> None:
    assert issubclass(BreakevenInputError, ValueError)
    assert issubclass(BreakevenInputError, IpcsimError)


# --------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------


def test_table_rows_flatten_both_approaches() -> None:
    result = breakeven(make_frame(SMALL_ROWS), thresholds=(13000, 20000))
    rows = to_table_rows(result)
    n_rows = len(result["approach1"]) + len(result["approach2"]) + len(result["approach2_years"])
    assert len(rows) == n_rows
    assert list(rows[0]) == [
        "approach",
        "panel",
        "year",
        "patients",
        "setup_cost",
        "running_cost",
        "cost_per_patient",
        "qalys_13000",
        "qalys_20000",
        "admissions",
    ]
    first, last = rows[0], rows[-1]
    assert (first["approach"], first["panel"], first["year"]) == ("approach1", "setup", 1)
    assert first["patients"] is None
    assert first["cost_per_patient"] == result["approach1"][0]["cost_per_patient"]
    assert (last["approach"], last["panel"], last["year"]) == ("approach2", "both", "all")
    both = result["approach2"][-1]
    assert last["setup_cost"] == both["setup_cost"]
    assert last["qalys_20000"] == both["qalys"]["20000"]


def test_table_rows_put_approach2_years_before_the_both_total() -> None:
    result = breakeven(make_frame(SMALL_ROWS), discount_rate=0.10, thresholds=(13000,))
    approach2 = [row for row in to_table_rows(result) if row["approach"] == "approach2"]
    assert [(row["panel"], row["year"]) for row in approach2] == [
        ("setup", "all"),
        ("delivery", "all"),
        ("both", 1),
        ("both", 2),
        ("both", 3),
        ("both", "all"),
    ]
    for table_row, year_row in zip(approach2[2:5], result["approach2_years"], strict=True):
        for name in ("patients", "setup_cost", "running_cost"):
            assert table_row[name] == year_row[name]
        # The method gives a cost per patient, QALYs and admissions for the years together only.
        assert table_row["cost_per_patient"] is None
        assert table_row["qalys_13000"] is None
        assert table_row["admissions"] is None


def test_csv_round_trips_unrounded_numbers_and_blanks_for_missing() -> None:
    result = breakeven(make_frame(SMALL_ROWS), discount_rate=0.035)
    text = to_csv(result)
    parsed = list(csv.DictReader(io.StringIO(text)))
    rows = to_table_rows(result)
    assert len(parsed) == len(rows)
    for written, row in zip(parsed, rows, strict=True):
        assert list(written) == list(row)
        for name, value in row.items():
            if value is None:
                assert written[name] == ""
            elif isinstance(value, float):
                assert float(written[name]) == value
            else:
                assert written[name] == str(value)


def test_result_is_json_serialisable_without_nan() -> None:
    result = breakeven(make_frame(SMALL_ROWS))
    assert json.loads(json.dumps(result, allow_nan=False)) == result


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

money = st.one_of(st.none(), st.floats(min_value=1.0, max_value=1e6))
volume = st.one_of(st.none(), st.floats(min_value=1.0, max_value=5000.0))


@st.composite
def site_frames(draw: st.DrawFn) -> pd.DataFrame:
    rows: list[tuple[Cell, ...]] = []
    for site in range(draw(st.integers(min_value=1, max_value=5))):
        running = draw(money)
        years = draw(st.lists(st.sampled_from([1, 2, 3]), min_size=1, max_size=3, unique=True))
        for year in years:
            rows.append((f"s{site}", year, draw(volume), draw(money), running))
    return make_frame(rows)


def cost_per_patient_values(result: BreakevenResult) -> list[float | None]:
    return [row["cost_per_patient"] for row in [*result["approach1"], *result["approach2"]]]


@settings(max_examples=60, deadline=None)
@given(frame=site_frames(), factor=st.floats(min_value=0.1, max_value=10.0))
def test_scaling_all_costs_scales_every_cost_per_patient(
    frame: pd.DataFrame, factor: float
) -> None:
    scaled = frame.copy()
    scaled["setup_cost"] = scaled["setup_cost"] * factor
    scaled["running_cost_per_patient"] = scaled["running_cost_per_patient"] * factor
    before = cost_per_patient_values(breakeven(frame))
    after = cost_per_patient_values(breakeven(scaled))
    for old, new in zip(before, after, strict=True):
        if old is None:
            assert new is None
        else:
            assert new == pytest.approx(old * factor, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(frame=site_frames())
def test_qalys_times_threshold_and_admissions_times_unit_cost_give_the_cost(
    frame: pd.DataFrame,
) -> None:
    result = breakeven(frame)
    for row in [*result["approach1"], *result["approach2"]]:
        cost = row["cost_per_patient"]
        if cost is None:
            assert set(row["qalys"].values()) == {None}
            assert row["admissions"] is None
            continue
        for key, qalys in row["qalys"].items():
            assert qalys is not None
            assert qalys * float(key) == pytest.approx(cost, rel=1e-12)
        assert row["admissions"] is not None
        assert row["admissions"] * DEFAULT_ADMISSION_COST == pytest.approx(cost, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(frame=site_frames())
def test_approach2_cost_per_patient_is_components_over_patients(frame: pd.DataFrame) -> None:
    for row in breakeven(frame)["approach2"]:
        cost = row["cost_per_patient"]
        if cost is None:
            continue
        assert row["patients"] is not None
        assert row["setup_cost"] is not None
        assert row["running_cost"] is not None
        total = row["setup_cost"] + row["running_cost"]
        assert cost * row["patients"] == pytest.approx(total, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(frame=site_frames(), low=st.floats(0.0, 0.2), extra=st.floats(0.001, 0.2))
def test_higher_discount_rate_never_raises_approach2_costs(
    frame: pd.DataFrame, low: float, extra: float
) -> None:
    cheap = breakeven(frame, discount_rate=low + extra)["approach2"]
    dear = breakeven(frame, discount_rate=low)["approach2"]
    for high_rate, low_rate in zip(cheap, dear, strict=True):
        if low_rate["cost_per_patient"] is not None:
            assert high_rate["cost_per_patient"] is not None
            assert high_rate["cost_per_patient"] <= low_rate["cost_per_patient"] * (1 + 1e-12)


@settings(max_examples=40, deadline=None)
@given(frame=site_frames(), seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(frame: pd.DataFrame, seed: int) -> None:
    shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    expected = cost_per_patient_values(breakeven(frame))
    for got, want in zip(cost_per_patient_values(breakeven(shuffled)), expected, strict=True):
        if want is None:
            assert got is None
        else:
            assert got == pytest.approx(want, rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(frame=site_frames())
def test_csv_file_round_trip(tmp_path_factory: pytest.TempPathFactory, frame: pd.DataFrame) -> None:
    lines = [HEADER]
    for site, year, *values in frame.itertuples(index=False, name=None):
        cells = ["" if value is None or pd.isna(value) else repr(float(value)) for value in values]
        lines.append(",".join([site, str(year), *cells]))
    path = tmp_path_factory.mktemp("roundtrip") / "sites.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    numeric = {name: "float64" for name in COLUMNS[2:]}
    expected = frame.astype({"year": "int64", **numeric})
    got = read_sites_csv(path)
    assert got["site"].tolist() == expected["site"].tolist()
    pd.testing.assert_frame_equal(got.drop(columns="site"), expected.drop(columns="site"))


# --------------------------------------------------------------------------------------------
# The shipped transcription of Table 5-2
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    return read_sites_csv(SHIPPED_CSV)


@pytest.mark.validation
def test_shipped_csv_has_eight_sites_by_three_years(shipped: pd.DataFrame) -> None:
    assert sorted(shipped["site"].unique()) == [str(site) for site in range(1, 9)]
    assert len(shipped) == 24
    # Site 4 reports costs but no volumes ("-" in Table 5-2).
    assert shipped.loc[shipped["site"] == "4", "patients"].isna().all()


@pytest.mark.validation
def test_shipped_csv_reproduces_table_5_2_setup_cost_summaries(shipped: pd.DataFrame) -> None:
    by_year = shipped.groupby("year")["setup_cost"]
    # Evidence pack 6.8: £151,586 / £162,348 / £146,240 by year; SD 58,222 / 59,267 / 45,541.
    assert [round(v) for v in by_year.mean()] == [151586, 162348, 146240]
    assert by_year.std().tolist() == pytest.approx([58222, 59267, 45541], abs=1)
    # Average year: mean over sites of each site's mean, £161,919 (SD £50,430).
    site_means = shipped.groupby("site")["setup_cost"].mean()
    assert round(site_means.mean()) == 161919
    assert site_means.std() == pytest.approx(50430, abs=1)
    assert (shipped["setup_cost"].min(), shipped["setup_cost"].max()) == (59196, 246777)


@pytest.mark.validation
def test_shipped_csv_reproduces_table_5_2_volumes(shipped: pd.DataFrame) -> None:
    by_year = shipped.groupby("year")["patients"]
    # Evidence pack 2.3: 119 / 835 / 2,070 by year, from 7, 4 and 4 sites.
    assert [round(v) for v in by_year.mean()] == [119, 835, 2070]
    assert by_year.count().tolist() == [7, 4, 4]
    assert by_year.std().tolist() == pytest.approx([174, 890, 1535], abs=1)
    # Average year 602 (range 21-2,050).
    site_means = shipped.groupby("site")["patients"].mean().dropna()
    assert round(site_means.mean()) == 602
    assert (round(site_means.min()), round(site_means.max())) == (21, 2050)


@pytest.mark.validation
def test_shipped_csv_gives_the_265_pound_mean_running_cost(shipped: pd.DataFrame) -> None:
    result = breakeven(shipped)
    delivery = approach1(result, "delivery", "any")
    assert delivery is not None
    assert round(delivery) == 265
    running = shipped.groupby("site")["running_cost_per_patient"].first()
    assert round(running.std()) == 150
    assert (running.min(), running.max()) == (121, 486)


@pytest.mark.validation
def test_shipped_csv_average_site_three_year_total_matches_table_c_4(
    shipped: pd.DataFrame,
) -> None:
    # Evidence pack 2.3: the average site's three-year total is 3,023 people (Table C-4).
    both = approach2_row(breakeven(shipped), "both")
    assert isinstance(both["patients"], float)
    assert round(both["patients"]) == 3023


@pytest.mark.validation
def test_shipped_csv_approach2_years_discount_table_5_2s_yearly_means(
    shipped: pd.DataFrame,
) -> None:
    # The evidence pack withholds the evaluation's approach-2 table (Table C-4) except its
    # 3,023 patients, so the year rows are checked against a hand computation from the yearly
    # means Table 5-2 prints: set-up £151,586 / £162,348 / £146,240 and patients 119 / 835 /
    # 2,070, with the £265 mean running cost, discounted at 3.5% to year 1.
    years = breakeven(shipped)["approach2_years"]
    factors = [1.0, 1.035, 1.035**2]
    assert [row["discount_factor"] for row in years] == pytest.approx(factors)
    printed_setup = [151586, 162348, 146240]
    assert [row["setup_cost"] for row in years] == pytest.approx(
        [cost / factor for cost, factor in zip(printed_setup, factors, strict=True)], abs=1
    )
    printed_patients = [119, 835, 2070]
    assert [row["patients"] for row in years] == pytest.approx(printed_patients, abs=0.5)
    running = [row["running_cost"] for row in years]
    hand = [
        265.375 * patients / factor
        for patients, factor in zip([row["patients"] for row in years], factors, strict=True)
    ]
    assert running == pytest.approx(hand)
    # Rounded as the experiment's README prints them.
    assert [round(row["setup_cost"]) for row in years] == [151586, 156858, 136517]
    assert [round(row["running_cost"]) for row in years] == [31542, 214031, 512678]


@pytest.mark.validation
def test_shipped_csv_runs_end_to_end_to_json_and_csv(shipped: pd.DataFrame) -> None:
    result = breakeven(shipped)
    assert all(value is not None for value in cost_per_patient_values(result))
    assert json.loads(json.dumps(result, allow_nan=False)) == result
    n_rows = len(result["approach1"]) + len(result["approach2"]) + len(result["approach2_years"])
    assert to_csv(result).count("\n") == 1 + n_rows
