"""Costing a run, the standard-care comparison and the run's break-even, on hand-built frames.

Every expected number is worked out by hand in the test (the arithmetic is written out), from
people and work frames built here and a scenario from ``tests/conftest.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import tomllib
import typing
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ipcsim.analysis import breakeven as be
from ipcsim.analysis.costs import EVALUATION_EXTRA_PER_PATIENT, cost_columns, cost_run
from ipcsim.errors import ConfigError
from ipcsim.periods import RunYear, run_years
from ipcsim.scenario import Economics, Scenario, StandardCare
from tests.conftest import make_scenario

NAN = math.nan
RATES = {"planner": 20.0, "finance_officer": 30.0, "admin": 10.0, "panel_member": 40.0}
ROLES = sorted(RATES)
SITE = "site"  # the conftest scenario's site name
START = "2017-04-01"  # years of the run: 365, 365 and (with 29 February 2020) 366 days
YEAR = 365.0  # the first two years from START
NO_EXTRAS: dict[str, Any] = {
    "non_staff_cost_per_patient_gbp": 0.0,
    "setup_cost_per_site_year_gbp": 0,
}


def scenario(
    *,
    horizon_days: float = 365.0,
    start_date: str = START,
    rates: dict[str, float] | None = None,
    minutes_per_contact: float = 30.0,
    **changes: Any,
) -> Scenario:
    """The conftest scenario with known hourly costs, horizon and contact length."""
    rates = RATES if rates is None else rates
    return make_scenario(
        {
            "run": {"horizon_days": horizon_days, "start_date": start_date},
            "workforce": {role: {"hourly_cost_gbp": rate} for role, rate in rates.items()},
            "pathway": {"circulation": {"minutes_per_contact": minutes_per_contact}},
            **changes,
        }
    )


def people_frame(*rows: dict[str, Any]) -> pd.DataFrame:
    """People with ids 0, 1, ...; unset milestones are NaN, counts 0."""
    defaults: dict[str, Any] = {
        "site": SITE,
        "referred_day": 0.0,
        "consented_day": NAN,
        "first_conversation_day": NAN,
        "signed_off_day": NAN,
        "budget_agreed_day": NAN,
        "budget_released_day": NAN,
        "budget_amount_gbp": NAN,
        "sessions_held": 0,
        "reviews_held": 0,
    }
    return pd.DataFrame([{"person_id": i, **defaults, **row} for i, row in enumerate(rows)])


def work_frame(*rows: tuple[int, str, str, float, float]) -> pd.DataFrame:
    """Work from ``(person_id, role, activity, start_day, hours)``."""
    frame = pd.DataFrame(rows, columns=["person_id", "role", "activity", "start_day", "hours"])
    return frame.astype({"person_id": "int64", "start_day": "float64", "hours": "float64"})


def run(
    people: pd.DataFrame, work: pd.DataFrame, sc: Scenario, **economics: Any
) -> tuple[pd.DataFrame, dict[str, Any]]:
    return cost_run(people, work, scenario=sc, economics=Economics(**economics))


# Three people: a full journey with a budget, one who had a conversation, one who declined.
JOURNEY_PEOPLE = people_frame(
    {
        "first_conversation_day": 10.0,
        "signed_off_day": 30.0,
        "budget_agreed_day": 40.0,
        "budget_released_day": 60.0,
        "budget_amount_gbp": 750.0,
        "sessions_held": 2,
        "reviews_held": 1,
    },
    {"first_conversation_day": 12.0, "sessions_held": 1},
    {},
)
JOURNEY_WORK = work_frame(
    (0, "planner", "conversation", 10.0, 1.0),
    (0, "planner", "plan_writing", 20.0, 2.0),
    (0, "planner", "circulation", 21.0, 1.5),
    (0, "panel_member", "sign_off", 30.0, 0.375),
    (0, "finance_officer", "budget_setting", 35.0, 6.0),
    (0, "admin", "payment_setup", 40.0, 1.0),
    (1, "planner", "referral_chase", 11.0, 0.5),
)
# Person 0: planner (1 + 2 + 1.5) h x 20 = 90; panel 0.375 h x 40 = 15; finance 6 h x 30 = 180;
# admin 1 h x 10 = 10; total 295. Person 1: planner 0.5 h x 20 = 10. Person 2: nothing.
P0_STAFF = (1 + 2 + 1.5) * 20 + 0.375 * 40 + 6 * 30 + 1 * 10
P1_STAFF = 0.5 * 20


# --------------------------------------------------------------------------------------------
# Costing: staff, non-staff, budgets
# --------------------------------------------------------------------------------------------


def test_staff_cost_by_role_and_person_is_hours_times_hourly_cost() -> None:
    costed, summary = run(JOURNEY_PEOPLE, JOURNEY_WORK, scenario())
    assert costed["running_staff_cost_planner_gbp"].tolist() == pytest.approx([90.0, 10.0, 0.0])
    assert costed["running_staff_cost_panel_member_gbp"].tolist() == pytest.approx([15, 0, 0])
    assert costed["running_staff_cost_finance_officer_gbp"].tolist() == pytest.approx([180, 0, 0])
    assert costed["running_staff_cost_admin_gbp"].tolist() == pytest.approx([10, 0, 0])
    assert costed["running_staff_cost_gbp"].tolist() == pytest.approx([P0_STAFF, P1_STAFF, 0.0])
    totals = summary["totals_gbp"]
    assert totals["staff"] == pytest.approx(P0_STAFF + P1_STAFF)
    assert totals["staff_by_role"] == pytest.approx(
        {"admin": 10.0, "finance_officer": 180.0, "panel_member": 15.0, "planner": 100.0}
    )


def test_people_get_the_cost_columns_and_the_input_is_left_alone() -> None:
    before = JOURNEY_PEOPLE.copy()
    costed, _ = run(JOURNEY_PEOPLE, JOURNEY_WORK, scenario())
    assert list(costed.columns) == [*JOURNEY_PEOPLE.columns, *cost_columns(ROLES)]
    pd.testing.assert_frame_equal(JOURNEY_PEOPLE, before)
    assert costed["patient"].tolist() == [True, True, False]
    assert costed["ipc_appointments"].tolist() == [2 + 1, 1, 0]


def test_non_staff_cost_is_charged_per_patient_and_running_cost_adds_it() -> None:
    costed, summary = run(JOURNEY_PEOPLE, JOURNEY_WORK, scenario(), setup_cost_per_site_year_gbp=0)
    non_staff = Economics().non_staff_cost_per_patient_gbp
    assert costed["non_staff_cost_gbp"].tolist() == [non_staff, non_staff, 0.0]
    assert costed["running_cost_gbp"].tolist() == pytest.approx(
        [P0_STAFF + non_staff, P1_STAFF + non_staff, 0.0]
    )
    assert summary["patients"] == 2
    assert summary["referred"] == 3
    assert summary["per_patient"]["running_cost_gbp"] == pytest.approx(
        (P0_STAFF + P1_STAFF + 2 * non_staff) / 2
    )
    assert summary["per_patient"]["staff_cost_by_role_gbp"]["planner"] == pytest.approx(100 / 2)


def test_full_cost_basis_multiplies_by_on_costs_and_overheads() -> None:
    sc = scenario()
    _, salary = run(JOURNEY_PEOPLE, JOURNEY_WORK, sc, on_cost_multiplier=1.3)
    costed, full = run(
        JOURNEY_PEOPLE,
        JOURNEY_WORK,
        sc,
        cost_basis="full",
        on_cost_multiplier=1.3,
        overhead_multiplier=1.1,
    )
    assert salary["staff_cost_multiplier"] == 1.0
    assert salary["totals_gbp"]["staff"] == pytest.approx(P0_STAFF + P1_STAFF)
    assert full["staff_cost_multiplier"] == pytest.approx(1.3 * 1.1)
    assert full["totals_gbp"]["staff"] == pytest.approx((P0_STAFF + P1_STAFF) * 1.3 * 1.1)
    assert costed["running_staff_cost_planner_gbp"][0] == pytest.approx(90.0 * 1.43)


def test_budgets_are_reported_apart_from_the_running_cost_by_default() -> None:
    people = people_frame(
        {"first_conversation_day": 1.0, "budget_agreed_day": 50.0, "budget_amount_gbp": 600.0},
        {
            "first_conversation_day": 2.0,
            "budget_agreed_day": 60.0,
            "budget_released_day": 90.0,
            "budget_amount_gbp": 900.0,
        },
    )
    work = work_frame((0, "planner", "conversation", 1.0, 1.0))
    sc = scenario()
    costed, summary = run(people, work, sc, **NO_EXTRAS)
    assert costed["budget_agreed_gbp"].tolist() == [600.0, 900.0]
    assert costed["budget_released_gbp"].tolist() == [0.0, 900.0]
    assert costed["running_cost_gbp"].tolist() == [20.0, 0.0]
    assert summary["totals_gbp"]["budgets_agreed"] == 600.0 + 900.0
    assert summary["totals_gbp"]["budgets_released"] == 900.0
    assert summary["per_patient"]["budgets_agreed_gbp"] == (600.0 + 900.0) / 2

    _, agreed = run(people, work, sc, budgets_in_running_cost="agreed", **NO_EXTRAS)
    _, released = run(people, work, sc, budgets_in_running_cost="released", **NO_EXTRAS)
    assert agreed["totals_gbp"]["running"] == 20.0 + 600.0 + 900.0
    assert released["totals_gbp"]["running"] == 20.0 + 900.0
    assert released["site_years"][0]["running_cost_gbp"] == 20.0 + 900.0


@pytest.mark.parametrize(
    ("milestone", "patients"),
    [("referred", 3), ("first_conversation", 2), ("signed_off", 1)],
)
def test_patient_milestone_chooses_who_counts(milestone: str, patients: int) -> None:
    _, summary = run(JOURNEY_PEOPLE, JOURNEY_WORK, scenario(), patient_milestone=milestone)
    assert summary["patients"] == patients
    assert summary["patient_milestone"] == milestone
    assert summary["per_patient"]["staff_cost_gbp"] == pytest.approx(
        (P0_STAFF + P1_STAFF) / patients
    )


# --------------------------------------------------------------------------------------------
# Appointments, staff contacts and the standard-care comparator
# --------------------------------------------------------------------------------------------


def test_staff_contacts_come_from_the_lead_roles_circulation_hours() -> None:
    work = work_frame(
        (0, "planner", "circulation", 21.0, 1.5),  # 1.5 h x 60 / 30 min = 3 contacts
        (0, "admin", "circulation", 21.0, 5.0),  # not the lead role: not a contact
        (1, "planner", "circulation", 22.0, 0.5),  # 1 contact
    )
    costed, summary = run(JOURNEY_PEOPLE, work, scenario(minutes_per_contact=30.0))
    assert costed["staff_contacts"].tolist() == pytest.approx([3.0, 1.0, 0.0])
    assert summary["per_patient"]["staff_contacts"] == pytest.approx((3 + 1) / 2)


def test_a_staff_contacts_column_in_people_is_used_as_it_is() -> None:
    people = JOURNEY_PEOPLE.assign(staff_contacts=[4.0, 2.0, 0.0])
    costed, summary = run(people, JOURNEY_WORK, scenario())
    assert costed["staff_contacts"].tolist() == [4.0, 2.0, 0.0]
    assert summary["per_patient"]["staff_contacts"] == pytest.approx((4 + 2) / 2)


def test_staff_contacts_are_unknown_when_contacts_take_no_time() -> None:
    costed, summary = run(JOURNEY_PEOPLE, JOURNEY_WORK, scenario(minutes_per_contact=0.0))
    assert costed["staff_contacts"].isna().all()
    assert summary["per_patient"]["staff_contacts"] is None
    assert summary["extra_per_patient"]["staff_contacts"] is None
    json.dumps(summary, allow_nan=False)


def test_by_default_standard_care_replaces_nothing_so_extras_are_the_runs_own() -> None:
    _, summary = run(JOURNEY_PEOPLE, JOURNEY_WORK, scenario())
    per_patient = summary["per_patient"]
    extra = summary["extra_per_patient"]
    assert summary["standard_care_per_patient"] == {
        "appointments": 0.0,
        "staff_contacts": 0.0,
        "cost_gbp": 0.0,
    }
    assert extra["appointments"] == per_patient["appointments"] == (3 + 1) / 2
    assert extra["staff_contacts"] == per_patient["staff_contacts"] == pytest.approx(3 / 2)
    assert extra["running_cost_gbp"] == pytest.approx(per_patient["running_cost_gbp"])
    assert summary["evaluation_extra_per_patient"] == dict(EVALUATION_EXTRA_PER_PATIENT)


def test_comparator_differences_per_patient() -> None:
    care = {
        "appointments_per_person": 1.0,
        "hours_per_appointment": 1.5,
        "appointment_role": "admin",  # 1 x 1.5 h x £10 = £15
        "staff_contacts_per_person": 2.0,
        "hours_per_staff_contact": 0.25,
        "staff_contact_hourly_cost_gbp": 40.0,  # 2 x 0.25 h x £40 = £20
    }
    costed, summary = run(JOURNEY_PEOPLE, JOURNEY_WORK, scenario(), standard_care=care, **NO_EXTRAS)
    standard = 1 * 1.5 * 10 + 2 * 0.25 * 40
    assert summary["standard_care_per_patient"]["cost_gbp"] == pytest.approx(standard)
    assert costed["standard_care_cost_gbp"].tolist() == pytest.approx([standard, standard, 0.0])
    assert costed["differential_running_cost_gbp"].tolist() == pytest.approx(
        [P0_STAFF - standard, P1_STAFF - standard, 0.0]
    )
    extra = summary["extra_per_patient"]
    # Appointments (3 + 1) / 2 = 2; contacts 1.5 h x 60 / 30 min = 3 over 2 patients.
    assert extra["appointments"] == pytest.approx((3 + 1) / 2 - 1.0)
    assert extra["staff_contacts"] == pytest.approx(3 / 2 - 2.0)
    assert extra["running_cost_gbp"] == pytest.approx((P0_STAFF + P1_STAFF) / 2 - standard)


def test_comparator_defaults_to_the_lead_role_and_circulation_minutes_at_the_cost_basis() -> None:
    care = {"appointments_per_person": 2.0, "staff_contacts_per_person": 3.0}
    _, summary = run(
        JOURNEY_PEOPLE,
        JOURNEY_WORK,
        scenario(minutes_per_contact=30.0),
        standard_care=care,
        cost_basis="full",
        on_cost_multiplier=1.25,
    )
    # Planner £20/h x 1.25: 2 appointments x 1 h + 3 contacts x 0.5 h.
    expected = (2 * 1.0 * 20 + 3 * 0.5 * 20) * 1.25
    assert summary["standard_care_per_patient"]["cost_gbp"] == pytest.approx(expected)


def test_comparator_role_must_be_in_the_workforce() -> None:
    economics = Economics(standard_care={"appointment_role": "gp"})
    with pytest.raises(ConfigError, match=r"appointment_role.*'gp' is not in the workforce"):
        cost_run(JOURNEY_PEOPLE, JOURNEY_WORK, scenario=scenario(), economics=economics)


# --------------------------------------------------------------------------------------------
# Years of the run and set-up costs
# --------------------------------------------------------------------------------------------


def test_run_years_go_from_anniversary_to_anniversary_of_the_start_date() -> None:
    start = dt.date(2017, 4, 1)
    assert run_years(start, 800.0) == [
        RunYear(1, 0.0, 365.0, 365.0),
        RunYear(2, 365.0, 730.0, 365.0),
        RunYear(3, 730.0, 800.0, 366.0),  # 2019/20 has 29 February
    ]
    assert run_years(start, 730.0) == [RunYear(1, 0.0, 365.0, 365.0), RunYear(2, 365, 730, 365)]
    # 29 February's anniversary in other years is 28 February.
    assert run_years(dt.date(2016, 2, 29), 400.0)[0] == RunYear(1, 0.0, 365.0, 365.0)
    with pytest.raises(ValueError, match="horizon_days"):
        run_years(start, 0.0)


def test_a_three_calendar_year_run_over_a_leap_day_has_three_years() -> None:
    # 1 April 2019 to 1 April 2022 is 1096 days (ics_scale_up.toml).
    _, summary = run(BE_PEOPLE, BE_WORK, scenario(horizon_days=1096, start_date="2019-04-01"))
    assert [y["year"] for y in summary["site_years"]] == [1, 2, 3]
    assert summary["breakeven"]["note"] is None
    assert summary["breakeven"]["cost_per_patient_gbp"] is not None


def test_site_years_put_costs_and_people_in_the_year_they_happen() -> None:
    people = people_frame(
        {"referred_day": 0.0, "first_conversation_day": 10.0},
        {"referred_day": 300.0, "first_conversation_day": YEAR},  # exactly the start of year 2
        {
            "referred_day": 740.0,
            "first_conversation_day": 760.0,
            "budget_agreed_day": 790.0,
            "budget_amount_gbp": 500.0,
        },
    )
    work = work_frame(
        (0, "planner", "conversation", 10.0, 1.0),  # £20 in year 1
        (0, "planner", "review", 400.0, 2.0),  # £40 in year 2 (a year-1 patient's review)
        (1, "planner", "conversation", YEAR, 1.0),  # £20 in year 2
        (2, "admin", "payment_setup", 799.0, 3.0),  # £30 in year 3
        (2, "admin", "payment_setup", 820.0, 1.0),  # past the horizon: £10 in the last year
    )
    _, summary = run(
        people,
        work,
        scenario(horizon_days=800.0),
        setup_cost_per_site_year_gbp=[100.0, 200.0, 300.0],
        non_staff_cost_per_patient_gbp=5.0,
    )
    years = summary["site_years"]
    assert [y["year"] for y in years] == [1, 2, 3]
    assert [y["site"] for y in years] == [SITE] * 3
    assert [y["referred"] for y in years] == [2, 0, 1]
    assert [y["patients"] for y in years] == [1, 1, 1]
    assert [y["staff_cost_gbp"] for y in years] == pytest.approx([20.0, 40 + 20, 30 + 10])
    assert [y["non_staff_cost_gbp"] for y in years] == [5.0, 5.0, 5.0]
    assert [y["running_cost_gbp"] for y in years] == pytest.approx([25.0, 65.0, 45.0])
    assert [y["running_cost_per_patient_gbp"] for y in years] == pytest.approx([25, 65, 45])
    assert [y["budgets_agreed_gbp"] for y in years] == [0.0, 0.0, 500.0]
    # Year 3 covers days 730 to 800: 70 of its 366 days.
    expected_setup = [100.0, 200.0, 300.0 * 70 / 366]
    assert [y["setup_cost_gbp"] for y in years] == pytest.approx(expected_setup)
    assert summary["totals_gbp"]["setup"] == pytest.approx(sum(expected_setup))
    assert summary["per_patient"]["setup_cost_gbp"] == pytest.approx(sum(expected_setup) / 3)


def test_one_setup_cost_applies_to_every_year() -> None:
    _, summary = run(JOURNEY_PEOPLE, JOURNEY_WORK, scenario(horizon_days=1.5 * YEAR))  # default P66
    annual = Economics().setup_cost_per_site_year_gbp
    assert isinstance(annual, float)
    assert [y["setup_cost_gbp"] for y in summary["site_years"]] == pytest.approx(
        [annual, annual * 0.5]
    )


def test_a_setup_cost_list_shorter_than_the_run_is_an_error() -> None:
    economics = Economics(setup_cost_per_site_year_gbp=[100.0, 200.0])
    with pytest.raises(ConfigError, match=r"setup_cost_per_site_year_gbp: gives 2 year.*year 3"):
        cost_run(
            JOURNEY_PEOPLE, JOURNEY_WORK, scenario=scenario(horizon_days=800), economics=economics
        )


# --------------------------------------------------------------------------------------------
# Break-even of the run (approach 2)
# --------------------------------------------------------------------------------------------

# Two full years: two patients in year 1, one in year 2; £240 of planner time in all.
BE_PEOPLE = people_frame(
    {"first_conversation_day": 10.0},
    {"first_conversation_day": 100.0},
    {"first_conversation_day": 400.0},
)
BE_WORK = work_frame(
    (0, "planner", "conversation", 10.0, 3.0),
    (1, "planner", "conversation", 100.0, 3.0),
    (2, "planner", "conversation", 400.0, 6.0),
)


def test_breakeven_by_approach_2_discounted_by_year_of_the_run() -> None:
    _, summary = run(
        BE_PEOPLE,
        BE_WORK,
        scenario(horizon_days=2 * YEAR),
        setup_cost_per_site_year_gbp=[1000.0, 2000.0],
        non_staff_cost_per_patient_gbp=0.0,
        discount_rate=0.035,
        thresholds_gbp_per_qaly=[13000, 20000],
        admission_cost_gbp=1600.67,
    )
    running_per_patient = (3 + 3 + 6) * 20 / 3  # £240 over 3 patients
    setup = 1000 + 2000 / 1.035
    running = running_per_patient * (2 + 1 / 1.035)
    cost = (setup + running) / 3
    result = summary["breakeven"]
    assert result["note"] is None
    assert result["years"] == 2
    assert result["cost_per_patient_gbp"] == pytest.approx(cost)
    assert result["qalys"] == pytest.approx({"13000": cost / 13000, "20000": cost / 20000})
    assert result["admissions"] == pytest.approx(cost / 1600.67)
    rows = {row["panel"]: row for row in result["approach2"]}
    assert rows["setup"]["cost_per_patient"] == pytest.approx(setup / 3)
    assert rows["delivery"]["cost_per_patient"] == pytest.approx(running / 3)
    assert rows["both"]["patients"] == 3


def test_breakeven_uses_the_differential_running_cost() -> None:
    care = {"appointments_per_person": 1.0, "appointment_hourly_cost_gbp": 30.0}  # £30 each
    _, summary = run(
        BE_PEOPLE,
        BE_WORK,
        scenario(horizon_days=2 * YEAR),
        setup_cost_per_site_year_gbp=0.0,
        non_staff_cost_per_patient_gbp=0.0,
        standard_care=care,
    )
    differential = (240 - 3 * 30) / 3
    rows = {row["panel"]: row for row in summary["breakeven"]["approach2"]}
    assert rows["delivery"]["cost_per_patient"] == pytest.approx(differential * (2 + 1 / 1.035) / 3)


def test_lambda_twice_as_large_halves_the_qalys() -> None:
    _, summary = run(BE_PEOPLE, BE_WORK, scenario(), thresholds_gbp_per_qaly=[15000, 30000])
    qalys = summary["breakeven"]["qalys"]
    assert qalys["30000"] == pytest.approx(qalys["15000"] / 2)
    assert qalys["15000"] > 0


def test_doubling_every_cost_doubles_every_breakeven_figure() -> None:
    settings_ = {
        "setup_cost_per_site_year_gbp": [1000.0, 3000.0],
        "non_staff_cost_per_patient_gbp": 4.0,
    }
    doubled = {
        "setup_cost_per_site_year_gbp": [2000.0, 6000.0],
        "non_staff_cost_per_patient_gbp": 8.0,
    }
    sc = scenario(horizon_days=2 * YEAR)
    sc2 = scenario(horizon_days=2 * YEAR, rates={k: 2 * v for k, v in RATES.items()})
    _, once = run(BE_PEOPLE, BE_WORK, sc, **settings_)
    _, twice = run(BE_PEOPLE, BE_WORK, sc2, **doubled)
    for row, row2 in zip(
        once["breakeven"]["approach2"], twice["breakeven"]["approach2"], strict=True
    ):
        assert row2["cost_per_patient"] == pytest.approx(2 * row["cost_per_patient"])
        assert row2["admissions"] == pytest.approx(2 * row["admissions"])
        for key, value in row["qalys"].items():
            assert row2["qalys"][key] == pytest.approx(2 * value)


def test_a_four_year_run_is_discounted_over_its_four_years() -> None:
    days = (10.0, 400.0, 800.0, 1150.0)  # one patient in each year
    people = people_frame(*({"first_conversation_day": day} for day in days))
    work = work_frame(*((i, "planner", "conversation", day, 1.0) for i, day in enumerate(days)))
    _, summary = run(
        people,
        work,
        scenario(horizon_days=1200),
        setup_cost_per_site_year_gbp=[100.0, 200.0, 300.0, 400.0],
        non_staff_cost_per_patient_gbp=0.0,
    )
    # Years of 365, 365, 366 and 365 days; the run covers 1200 - 1096 = 104 days of year 4.
    setup = 100 + 200 / 1.035 + 300 / 1.035**2 + 400 * 104 / 365 / 1.035**3
    running = 20 * (1 + 1 / 1.035 + 1 / 1.035**2 + 1 / 1.035**3)
    assert summary["breakeven"]["years"] == 4
    assert summary["breakeven"]["cost_per_patient_gbp"] == pytest.approx((setup + running) / 4)


def test_a_negative_differential_gets_no_breakeven_and_says_why() -> None:
    thresholds = [13000, 12500.5]
    care = {"appointments_per_person": 10.0, "appointment_hourly_cost_gbp": 100.0}
    _, summary = run(
        BE_PEOPLE, BE_WORK, scenario(), standard_care=care, thresholds_gbp_per_qaly=thresholds
    )
    _, positive = run(BE_PEOPLE, BE_WORK, scenario(), thresholds_gbp_per_qaly=thresholds)
    assert summary["extra_per_patient"]["running_cost_gbp"] < 0
    result = summary["breakeven"]
    assert "negative" in result["note"]
    assert result["admissions"] is None
    # The same threshold keys as ipcsim.analysis.breakeven writes, with unknown values.
    assert list(result["qalys"]) == list(positive["breakeven"]["qalys"]) == ["13000", "12500.5"]
    assert set(result["qalys"].values()) == {None}


def test_without_economics_given_the_scenarios_own_are_used() -> None:
    sc = scenario()
    if "economics" in Scenario.model_fields:
        _, summary = cost_run(JOURNEY_PEOPLE, JOURNEY_WORK, scenario=sc)
        _, explicit = run(JOURNEY_PEOPLE, JOURNEY_WORK, sc, **sc.model_dump()["economics"])
        # the same figures; only whether the set-up cost was given differs
        assert summary.pop("setup_cost_configured") is False
        assert explicit.pop("setup_cost_configured") is True
        assert summary == explicit
    else:
        with pytest.raises(TypeError, match="pass economics="):
            cost_run(JOURNEY_PEOPLE, JOURNEY_WORK, scenario=sc)


def test_a_run_without_patients_reports_none_per_patient() -> None:
    people = people_frame({}, {})
    work = work_frame((0, "planner", "referral_chase", 3.0, 0.5))
    costed, summary = run(people, work, scenario())
    assert summary["patients"] == 0
    assert summary["totals_gbp"]["staff"] == pytest.approx(10.0)
    assert summary["per_patient"]["running_cost_gbp"] is None
    assert summary["extra_per_patient"]["running_cost_gbp"] is None
    assert summary["breakeven"]["cost_per_patient_gbp"] is None
    assert summary["breakeven"]["note"] == "no patients in the run"
    assert not costed["patient"].any()
    json.dumps(summary, allow_nan=False)


def test_a_run_with_nobody_referred_is_costed_without_error() -> None:
    costed, summary = run(people_frame({}).iloc[0:0], work_frame(), scenario(horizon_days=500))
    assert len(costed) == 0
    assert list(costed.columns)[-len(cost_columns(ROLES)) :] == cost_columns(ROLES)
    assert summary["referred"] == summary["patients"] == 0
    assert [y["referred"] for y in summary["site_years"]] == [0, 0]
    assert summary["breakeven"]["cost_per_patient_gbp"] is None
    # The site still pays its set-up cost.
    annual = Economics().setup_cost_gbp(1)
    assert summary["totals_gbp"]["setup"] == pytest.approx(annual * (1 + (500 - 365) / 365))
    json.dumps(summary, allow_nan=False)


# --------------------------------------------------------------------------------------------
# Properties and JSON
# --------------------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    hours=st.lists(
        st.tuples(
            st.integers(0, 2),
            st.sampled_from(ROLES),
            st.floats(0.0, 700.0),
            st.floats(0.0, 10.0),
        ),
        max_size=12,
    ),
    factor=st.sampled_from([2.0, 0.5, 3.0]),
)
def test_scaling_every_hourly_cost_scales_every_staff_cost(
    hours: list[tuple[int, str, float, float]], factor: float
) -> None:
    work = work_frame(*[(p, role, "conversation", day, h) for p, role, day, h in hours])
    sc = scenario(horizon_days=730)
    scaled = scenario(horizon_days=730, rates={k: factor * v for k, v in RATES.items()})
    costed, summary = run(JOURNEY_PEOPLE, work, sc, **NO_EXTRAS)
    costed2, summary2 = run(JOURNEY_PEOPLE, work, scaled, **NO_EXTRAS)
    for column in ["running_staff_cost_gbp", *(f"running_staff_cost_{r}_gbp" for r in ROLES)]:
        np.testing.assert_allclose(costed2[column], factor * costed[column], rtol=1e-12)
    assert summary2["totals_gbp"]["staff"] == pytest.approx(factor * summary["totals_gbp"]["staff"])
    for year, year2 in zip(summary["site_years"], summary2["site_years"], strict=True):
        assert year2["staff_cost_gbp"] == pytest.approx(factor * year["staff_cost_gbp"])
    # The per-person and per-year views add up to the same total.
    total = sum(y["staff_cost_gbp"] for y in summary["site_years"])
    assert costed["running_staff_cost_gbp"].sum() == pytest.approx(total)


def test_person_costs_add_up_to_the_totals() -> None:
    costed, summary = run(
        JOURNEY_PEOPLE,
        JOURNEY_WORK,
        scenario(),
        budgets_in_running_cost="released",
        standard_care={"appointments_per_person": 1.0},
    )
    parts = costed["running_staff_cost_gbp"] + costed["non_staff_cost_gbp"]
    parts += costed["budget_released_gbp"]
    np.testing.assert_allclose(costed["running_cost_gbp"], parts)
    np.testing.assert_allclose(
        costed["differential_running_cost_gbp"],
        costed["running_cost_gbp"] - costed["standard_care_cost_gbp"],
    )
    totals = summary["totals_gbp"]
    assert totals["running"] == pytest.approx(costed["running_cost_gbp"].sum())
    assert totals["differential_running"] == pytest.approx(
        totals["running"] - totals["standard_care"]
    )
    assert sum(y["running_cost_gbp"] for y in summary["site_years"]) == pytest.approx(
        totals["running"]
    )


@pytest.mark.parametrize(
    "economics",
    [
        {},
        {"cost_basis": "full", "budgets_in_running_cost": "agreed"},
        {"patient_milestone": "signed_off", "standard_care": {"staff_contacts_per_person": 9}},
    ],
)
def test_summary_is_strict_json(economics: dict[str, Any]) -> None:
    _, summary = run(JOURNEY_PEOPLE, JOURNEY_WORK, scenario(horizon_days=500), **economics)
    text = json.dumps(summary, allow_nan=False)
    assert json.loads(text) == summary


# --------------------------------------------------------------------------------------------
# The Economics settings
# --------------------------------------------------------------------------------------------


def test_defaults_follow_the_evidence() -> None:
    economics = Economics()
    assert economics.cost_basis == "salary"
    assert economics.setup_cost_per_site_year_gbp == 161919.0  # P66
    assert economics.discount_rate == be.DEFAULT_DISCOUNT_RATE  # P68
    assert economics.thresholds_gbp_per_qaly == tuple(be.DEFAULT_THRESHOLDS)  # P69
    assert economics.admission_cost_gbp == be.DEFAULT_ADMISSION_COST  # P70
    assert economics.budgets_in_running_cost == "none"


EVIDENCE_TAG = re.compile(r"\bP\d{2}\b|\bassumption\b|\bDer\b")
"""An evidence ID (P01-P80, whole: "P1" is not one), the word assumption, or Der (derived)."""
UNIT_WORDS = ("pounds", "hours", "minutes", "days", "fraction", "factor", "per patient")
"""How a numeric setting's description states its unit."""


@pytest.mark.parametrize(
    ("text", "tagged"),
    [("(P60 rates)", True), ("(P1 rates)", False), ("P100", False), ("(assumption)", True)],
)
def test_the_evidence_tag_pattern_matches_whole_ids_only(text: str, tagged: bool) -> None:
    assert bool(EVIDENCE_TAG.search(text)) is tagged


@pytest.mark.parametrize("model", [Economics, StandardCare])
def test_every_setting_names_its_unit_and_source_or_says_assumption(model: type) -> None:
    for name, field in model.model_fields.items():
        if name == "standard_care":  # a nested table: its own fields are checked
            continue
        text = field.description or ""
        assert EVIDENCE_TAG.search(text), f"{model.__name__}.{name}: no evidence ID: {text!r}"
        numeric = {float, int} & set(typing.get_args(field.annotation) or (field.annotation,))
        if numeric or "tuple" in str(field.annotation):
            assert any(word in text for word in UNIT_WORDS), f"{model.__name__}.{name}: no unit"


@pytest.mark.parametrize(
    ("settings_", "match"),
    [
        ({"cost_basis": "gross"}, "cost_basis"),
        ({"on_cost_multiplier": 0.8}, "on_cost_multiplier"),
        ({"setup_cost_per_site_year_gbp": [100.0, -1.0]}, r"must be 0 to 1e\+12 pounds"),
        ({"setup_cost_per_site_year_gbp": []}, "one or more numbers"),
        ({"thresholds_gbp_per_qaly": [13000, 13000]}, "must all be different"),
        ({"thresholds_gbp_per_qaly": [0]}, "must be > 0"),
        ({"discount_rate": -0.01}, "discount_rate"),
        ({"admission_cost_gbp": 0}, "admission_cost_gbp"),
        (
            {"standard_care": {"appointment_role": "a", "appointment_hourly_cost_gbp": 5}},
            "not both",
        ),
        ({"standard_care": {"visits": 3}}, "visits"),
        ({"setup_cost": 5}, "setup_cost"),
    ],
)
def test_bad_settings_are_rejected(settings_: dict[str, Any], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        Economics.model_validate(settings_)


def test_settings_are_frozen() -> None:
    with pytest.raises(ValidationError):
        Economics().discount_rate = 0.0  # type: ignore[misc]


PROPOSED_CONFIG_TABLES = {
    "demonstrator_site": """
[economics]
cost_basis = "salary"
non_staff_cost_per_patient_gbp = 7.5
setup_cost_per_site_year_gbp = [162348, 146240]
""",
    "lone_practitioner": """
[economics]
setup_cost_per_site_year_gbp = 59196
""",
    "mdt_vcse": """
[economics]
setup_cost_per_site_year_gbp = 161919
""",
}


@pytest.mark.parametrize("name", sorted(PROPOSED_CONFIG_TABLES))
def test_the_tables_proposed_for_the_shipped_configs_validate(name: str) -> None:
    table = tomllib.loads(PROPOSED_CONFIG_TABLES[name])["economics"]
    economics = Economics.model_validate(table)
    assert economics.model_dump(exclude_unset=True).keys() == table.keys()


# --------------------------------------------------------------------------------------------
# Several sites (the multi-site schema)
# --------------------------------------------------------------------------------------------


def test_several_sites_are_costed_at_their_own_rates_and_averaged_for_breakeven() -> None:
    sc = make_scenario(
        {
            "run": {"horizon_days": 2 * YEAR, "start_date": "2016-04-01"},
            "workforce": {"planner": {"hourly_cost_gbp": 20.0}},
            "sites": {
                "a": {},
                "b": {
                    "site": {"start_date": "2016-07-10"},  # joins on day 100
                    "workforce": {"planner": {"hourly_cost_gbp": 40.0}},
                },
            },
        }
    )
    people = people_frame(
        {"site": "a", "first_conversation_day": 10.0},
        {"site": "b", "first_conversation_day": 110.0},
        {"site": "b", "first_conversation_day": 400.0},
    )
    work = work_frame(
        (0, "planner", "conversation", 10.0, 1.0),  # a: £20
        (1, "planner", "conversation", 110.0, 1.0),  # b: £40
        (2, "planner", "conversation", 400.0, 1.0),  # b: £40
    )
    costed, summary = cost_run(
        people,
        work,
        scenario=sc,
        economics=Economics(
            setup_cost_per_site_year_gbp=[1000.0, 2000.0], non_staff_cost_per_patient_gbp=0.0
        ),
    )
    assert costed["running_staff_cost_gbp"].tolist() == [20.0, 40.0, 40.0]
    years = {(y["site"], y["year"]): y for y in summary["site_years"]}
    assert years[("b", 1)]["setup_cost_gbp"] == pytest.approx(1000.0 * (YEAR - 100) / YEAR)
    assert years[("a", 1)]["setup_cost_gbp"] == pytest.approx(1000.0)
    assert summary["totals_gbp"]["setup"] == pytest.approx(
        1000 + 1000 * (YEAR - 100) / YEAR + 2 * 2000
    )
    # The average site: patients 1 (year 1) and 0.5 (year 2); running cost per patient is the
    # mean of a's £20 and b's £80 / 2 = £40.
    setup = (1000 + 1000 * (YEAR - 100) / YEAR) / 2 + 2000 / 1.035
    running = (20 + 40) / 2 * (1 + 0.5 / 1.035)
    assert summary["breakeven"]["sites"] == 2
    assert summary["breakeven"]["cost_per_patient_gbp"] == pytest.approx((setup + running) / 1.5)


def test_people_at_an_unknown_site_are_an_error() -> None:
    people = people_frame({"site": "elsewhere"})
    with pytest.raises(ValueError, match="site"):
        run(people, work_frame(), scenario())


@pytest.mark.parametrize(
    ("work", "match"),
    [
        (work_frame((0, "gp", "conversation", 1.0, 1.0)), "role"),
        (work_frame((7, "planner", "conversation", 1.0, 1.0)), "person_id"),
    ],
)
def test_work_the_run_cannot_place_is_an_error(work: pd.DataFrame, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        run(JOURNEY_PEOPLE, work, scenario())


def test_missing_columns_are_named() -> None:
    with pytest.raises(ValueError, match="people frame lacks column.*sessions_held"):
        run(JOURNEY_PEOPLE.drop(columns="sessions_held"), JOURNEY_WORK, scenario())
    with pytest.raises(ValueError, match="work frame lacks column.*hours"):
        run(JOURNEY_PEOPLE, JOURNEY_WORK.drop(columns="hours"), scenario())
