"""Shared fixtures: small scenarios built in code, so each test states what it depends on."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from ipcsim.experiment.calibration import (
    load_calibration_spec,
    prepare_calibration,
    run_calibration,
)
from ipcsim.scenario import Scenario
from ipcsim.scenario.load import scenario_from_dict
from tests.calibration_small import SmallCalibration, small_calibration_spec

# Property tests never flap: by default hypothesis is derandomised (the same examples on every
# run, on every machine) and keeps no example database, so a test passes or fails for the code,
# not for the day. Examples it once found are kept in the tests as explicit @example cases.
# HYPOTHESIS_PROFILE=explore searches afresh (more examples, random) when looking for bugs.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, max_examples=500, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# pytest-xdist's workers set COLUMNS=80 and LINES=24; rich's consoles fix their width from
# COLUMNS when the CLI module is first imported, so the tests that give the CLI a wider
# terminal would then depend on which test imported it first. Tests run as in a plain shell.
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").glob("*.toml"))


def deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with nested ``changes`` applied."""
    result = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = value
    return result


def _role(**changes: Any) -> dict[str, Any]:
    return {"contracted_hours_per_week": 37.5, **changes}


BASE: dict[str, Any] = {
    "name": "test",
    "run": {"horizon_days": 365, "seed": 11},
    "cohorts": {"ltc": {"referrals_per_month": 8.0}, "mh": {"referrals_per_month": 4.0}},
    "workforce": {
        "planner": _role(headcount=2, ipc_share=0.5),
        "finance_officer": _role(headcount=1, ipc_share=0.3),
        "admin": _role(headcount=1, ipc_share=0.2),
        "panel_member": _role(headcount=3, ipc_share=0.05),
    },
}


def make_scenario(changes: dict[str, Any] | None = None) -> Scenario:
    """The test base scenario with ``changes`` merged in."""
    return scenario_from_dict(deep_merge(BASE, changes or {}), source="<test>")


ALWAYS_ON = {"contracted_hours_per_week": 168.0, "ipc_share": 1.0, "leave_share": 0.0}


def deterministic_changes(headcount: int | str = "unlimited") -> dict[str, Any]:
    """Fixed durations, no randomness in decisions, staff working around the clock."""
    role = {"headcount": headcount, **ALWAYS_ON}
    cohort = {
        "referrals_per_month": 6.0,
        "offer_acceptance": 1.0,
        "sessions": {"dist": "fixed", "value": 3},
        "first_session_minutes": {"dist": "fixed", "value": 60},
        "later_session_minutes": {"dist": "fixed", "value": 45},
        "session_gap_days": {"dist": "fixed", "value": 2},
        "withdrawal_probability_before_first_session": 0.0,
        "withdrawal_hazard_per_month_waiting": 0.0,
        "disengagement_hazard_per_month": 0.0,
        "budget_probability": 1.0,
        "budget_type_split": {"direct_payment": 1.0, "notional": 0.0, "third_party": 0.0},
        "plan_renewal_probability": 0.0,
    }
    return {
        "run": {"calendar": "continuous", "horizon_days": 400},
        "cohorts": {"ltc": cohort, "mh": {**cohort, "referrals_per_month": 3.0}},
        "workforce": {name: dict(role) for name in BASE["workforce"]},
        "pathway": {
            "reviews": "none",
            "referral": {"delay_days": {"dist": "fixed", "value": 1}},
            "invitation": {"delay_days": {"dist": "fixed", "value": 2}},
            "incomplete_referral_probability": 0.0,
            "implementation_follow_up_probability": 0.0,
            "service_unavailable_probability": 0.0,
            "consent_to_first_appointment_days": {"dist": "fixed", "value": 7},
            "plan_writing": {"effort_hours": {"planner": 2.0}},
            "circulation": {
                "contacts": {"dist": "fixed", "value": 3},
                "minutes_per_contact": 20,
            },
            "budget_setting": {"effort_hours": {"finance_officer": 6.0}},
        },
        "signoff": {
            "mode": "panel",
            "rework_probability": 0.0,
            "budget_declined_share": 0.0,
            "panel": {"interval_days": 14, "first_sitting_day": 0.5},
        },
        "budget_release": {
            "direct_payment": {
                "effort_hours": {"admin": 1.0},
                "processing_delay_days": {"dist": "fixed", "value": 28},
                "release_probability": 1.0,
            }
        },
    }


@pytest.fixture
def base_scenario() -> Scenario:
    return make_scenario()


# --------------------------------------------------------------------------- calibration
@pytest.fixture(scope="session")
def small_calibration(tmp_path_factory: pytest.TempPathFactory) -> SmallCalibration:
    """The small calibration, run once per session (serial; about 100 short runs).

    Shared by the recovery, resume, plot and report tests, which only read it.
    """
    spec = small_calibration_spec(tmp_path_factory.mktemp("small_calibration_spec"))
    problem = prepare_calibration(load_calibration_spec(spec), spec_path=spec)
    out = tmp_path_factory.mktemp("small_calibration") / "out"
    run_calibration(problem, out, executor="serial")
    return SmallCalibration(spec=spec, out=out)
