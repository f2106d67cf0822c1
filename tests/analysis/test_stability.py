"""Overload warnings on hand-built monthly series: a queue still growing, a saturated role,
referrals stuck in progress (:mod:`ipcsim.analysis.stability`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ipcsim.analysis.stability import role_trends, warnings
from ipcsim.scenario.reporting import Reporting

SETTINGS = Reporting()


def series(queue: list[float], busy: list[float], role: str = "planner") -> pd.DataFrame:
    months = pd.date_range("2016-04-01", periods=len(queue), freq="MS").strftime("%Y-%m-%d")
    return pd.DataFrame({"month": months, f"queue_{role}": queue, f"utilisation_{role}": busy})


def waits(per_month: int, months: int, role: str = "planner") -> pd.DataFrame:
    """``per_month`` tasks started evenly in each of ``months`` months of 30.4375 days."""
    days = np.arange(per_month * months) * (30.4375 / per_month)
    return pd.DataFrame({"role": role, "requested_day": days, "started_day": days})


def people(in_progress: int, done: int, referred: float = 0.0) -> pd.DataFrame:
    states = ["in_progress"] * in_progress + ["plan_in_place"] * done
    return pd.DataFrame({"referred_day": referred, "end_state": states})


HORIZON = 12 * 30.4375


def test_a_steady_queue_and_busy_months_without_a_backlog_give_no_warning() -> None:
    # 10 tasks a month; a queue of 3 to 6, and 3 months above 95 % busy: a well-used role
    frame = series([3, 5, 4, 6, 3, 5, 4, 6, 5, 3, 4, 5], [0.8] * 9 + [0.97, 1.02, 0.99])
    found = warnings(frame, waits(10, 12), people(1, 20), horizon_days=HORIZON, settings=SETTINGS)
    assert found == []


def test_a_growing_queue_is_named_with_its_growth() -> None:
    queue = [0, 0, 0, 0, 0, 0, 10, 20, 30, 40, 50, 60]  # +10 a month over the last 6
    frame = series(queue, [0.5] * 12)
    (found,) = warnings(
        frame, waits(10, 12), people(1, 20), horizon_days=HORIZON, settings=SETTINGS
    )
    assert found["kind"] == "queue_growing" and found["role"] == "planner"
    assert found["queue_growth_per_month"] == pytest.approx(10.0)
    assert found["months_of_work_waiting"] == pytest.approx(6.0)
    assert (
        "planner queue still growing" in found["message"]
        and "+10.0 tasks a month" in found["message"]
    )


def test_a_saturated_role_with_a_backlog_is_flagged_once() -> None:
    queue = [0, 0, 0, 0, 0, 0, 30, 30, 30, 30, 10, 0]  # a month's work (10) waiting, then not
    busy = [0.5] * 6 + [0.99, 1.0, 0.98, 0.97, 0.9, 0.8]
    (found,) = warnings(
        series(queue, busy), waits(10, 12), people(1, 20), horizon_days=HORIZON,
        settings=SETTINGS,
    )  # fmt: skip
    assert found["kind"] == "role_saturated" and found["busy_months"] == 4
    assert found["busy_until"] == "2017-01-01"
    fewer = Reporting(busy_months=5)
    assert (
        warnings(
            series(queue, busy), waits(10, 12), people(1, 20), horizon_days=HORIZON, settings=fewer
        )
        == []
    )


def test_referrals_stuck_in_progress_name_the_bottleneck() -> None:
    frame = series([3] * 12, [0.5] * 12)
    found = warnings(frame, waits(10, 12), people(30, 70), horizon_days=HORIZON, settings=SETTINGS)
    (stuck,) = found
    assert stuck["kind"] == "in_progress" and stuck["share"] == pytest.approx(0.3)
    assert stuck["role"] == "planner" and "bottleneck: planner" in stuck["message"]
    # people referred in the last six months do not count
    recent = people(30, 70, referred=HORIZON - 30.0)
    assert warnings(frame, waits(10, 12), recent, horizon_days=HORIZON, settings=SETTINGS) == []


def test_a_run_shorter_than_three_months_has_no_trend() -> None:
    assert role_trends(series([5, 9], [1.0, 1.0]), waits(10, 2), horizon_days=60.0,
                       settings=SETTINGS) == {}  # fmt: skip


def test_a_role_booked_beyond_its_hours_is_over_capacity() -> None:
    """A reviewer role (counted, not queued) booked at 180 % of its hours over the trend
    months is named; 115 % (a queued role's banked hours can reach that) is not."""
    frame = series([0] * 12, [1.8] * 12, role="panel_member")
    (found,) = warnings(
        frame, waits(10, 12, role="panel_member"), people(1, 20), horizon_days=HORIZON,
        settings=SETTINGS,
    )  # fmt: skip
    assert found["kind"] == "over_capacity" and found["role"] == "panel_member"
    assert found["utilisation"] == pytest.approx(1.8)
    assert "panel_member booked 180% of its IPC hours" in found["message"]
    within = series([0] * 12, [1.15] * 12, role="panel_member")
    assert (
        warnings(within, waits(10, 12, role="panel_member"), people(1, 20), horizon_days=HORIZON,
                 settings=SETTINGS)
        == []
    )  # fmt: skip


def test_a_scenario_whose_reviewers_lack_the_hours_warns() -> None:
    """One individual reviewer with a hundredth of a 37.5-hour week (about 1.6 h a month)
    and 30 minutes per plan for about 40 plans a month: booked far beyond its hours."""
    from ipcsim import run_scenario
    from tests.conftest import make_scenario

    scenario = make_scenario(
        {
            "run": {"horizon_days": 365},
            "cohorts": {"ltc": {"referrals_per_month": 40.0}},
            "workforce": {
                "planner": {"headcount": 8},
                "panel_member": {"headcount": 1, "ipc_share": 0.01},
            },
            "signoff": {"mode": "individual", "individual": {"reviewer_minutes_per_plan": 30}},
        }
    )
    found = run_scenario(scenario).summary["warnings"]
    assert any(w["kind"] == "over_capacity" and w["role"] == "panel_member" for w in found)
