"""Attrition once planning has started, and putting a plan into action (issue 12, item 3).

People may disengage between conversations, while their plan waits for sign-off and while a
budget is set (P53 family); a signed-off plan may be followed up by the lead practitioner
(P48), and the service chosen may be unavailable, so the person waits and re-plans (P52).
Statistical claims are made on fixed seeds; each names its tolerance.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ipcsim import run_scenario
from ipcsim.units import DAYS_PER_MONTH
from tests.conftest import deep_merge, deterministic_changes, make_scenario

FIXED_ZERO = {"dist": "fixed", "value": 0}


def _deterministic(changes: dict[str, Any]) -> Any:
    """The deterministic test pathway (unlimited staff, fixed durations) with ``changes``."""
    return make_scenario(deep_merge(deterministic_changes(), changes))


def _cohorts(**values: Any) -> dict[str, Any]:
    return {"cohorts": {"ltc": dict(values), "mh": dict(values)}}


def test_a_certain_disengagement_ends_everyone_at_their_first_conversation() -> None:
    """With a monthly probability of 1 everyone disengages at once after the first
    conversation: nobody has a plan written, and each person leaves on that day."""
    people = run_scenario(_deterministic(_cohorts(disengagement_hazard_per_month=1.0))).people
    started = people.dropna(subset=["first_conversation_day"])
    assert len(started) > 50
    left = started[started.exit_reason == "disengaged_during_planning"]
    # Everyone whose next step came before the horizon was noticed leaving.
    assert len(left) >= len(started) - 5
    assert (left.end_state == "withdrawn").all()
    assert left.plan_written_day.isna().all()
    first_session_days = 1.0 / 24.0  # the first conversation lasts an hour, around the clock
    np.testing.assert_allclose(
        left.end_day, left.first_conversation_day + first_session_days, atol=1e-9
    )


def test_no_disengagement_leaves_nobody_disengaged() -> None:
    people = run_scenario(_deterministic(_cohorts(disengagement_hazard_per_month=0.0))).people
    assert not people.exit_reason.str.startswith("disengaged").any()


def test_the_share_who_disengage_matches_the_hazard_over_the_planning_time() -> None:
    """P(disengage before the decision) = 1 - (1 - h) ** (D / month), D the fixed planning time.

    The deterministic pathway holds three conversations (60, 45 and 45 minutes) two days
    apart, then writes and circulates the plan (3 hours) and an individual signs it off at
    once: D = 4 days and 3.5 hours after the first conversation ends. With h = 0.6 a month
    that is 11.8 %; over three seeds about 2,000 people start planning early enough to have
    their decision in the run, so the binomial standard error of the share is about 0.7
    points, and a band of 4 standard errors fails by chance about once in 15,000.
    """
    hazard = 0.6
    changes = deep_merge(
        _cohorts(disengagement_hazard_per_month=hazard, referrals_per_month=150.0),
        {
            "run": {"horizon_days": 120},
            "signoff": {
                "mode": "individual",
                "individual": {"delay_days": FIXED_ZERO, "reviewer_minutes_per_plan": 0.0},
            },
        },
    )
    started = left = 0
    for seed in (1, 2, 3):
        scenario = _deterministic(deep_merge(changes, {"run": {"seed": seed}}))
        people = run_scenario(scenario).people
        # Everyone who starts planning 10 days or more before the horizon has their
        # decision within the run (choosing by the end state instead would favour leavers).
        decided = people[people.first_conversation_day <= 110.0]
        started += len(decided)
        left += int((decided.exit_reason == "disengaged_during_planning").sum())
    planning_days = 4.0 + 3.5 / 24.0  # gaps, two later conversations, writing, circulation
    expected = 1.0 - (1.0 - hazard) ** (planning_days / DAYS_PER_MONTH)
    share = left / started
    standard_error = math.sqrt(expected * (1.0 - expected) / started)
    assert started > 1200
    assert abs(share - expected) < 4.0 * standard_error, (share, expected, started)


def test_people_who_disengage_after_sign_off_keep_their_plan_without_a_budget() -> None:
    """Disengaging while a slow budget is set leaves the plan in place and no budget."""
    changes = deep_merge(
        _cohorts(disengagement_hazard_per_month=0.5),
        {"pathway": {"budget_setting": {"delay_days": {"dist": "fixed", "value": 60}}}},
    )
    people = run_scenario(_deterministic(changes)).people
    gave_up = people[people.exit_reason == "disengaged_before_budget"]
    assert len(gave_up) > 5
    assert (gave_up.end_state == "plan_in_place").all()
    assert gave_up.signed_off_day.notna().all()
    assert gave_up.budget_agreed_day.isna().all()
    assert (gave_up.end_day >= gave_up.signed_off_day).all()
    assert (gave_up.end_day <= gave_up.signed_off_day + 60).all()


def test_follow_up_and_unavailable_services_are_planner_work_after_the_plan() -> None:
    """Every plan in place gets one follow-up (P48 = 1), and a service wait of 10 days then a
    re-planning conversation (P52 = 1), both by the lead practitioner, after the outcome."""
    changes = {
        "pathway": {
            "implementation_follow_up_probability": 1.0,
            "implementation_follow_up_hours": 1.5,
            "service_unavailable_probability": 1.0,
            "service_unavailable_wait_days": {"dist": "fixed", "value": 10},
            "service_replan_hours": 0.75,
        }
    }
    result = run_scenario(_deterministic(changes))
    people, work = result.people.set_index("person_id"), result.work
    in_place = people[people.end_state.isin(["plan_in_place", "budget_in_place"])]
    follow_ups = work[work.activity == "implementation_follow_up"]
    replans = work[work.activity == "service_replanning"]
    assert len(in_place) > 50
    assert (follow_ups.role == "planner").all() and (replans.role == "planner").all()
    np.testing.assert_allclose(follow_ups.hours, 1.5)
    np.testing.assert_allclose(replans.hours, 0.75)
    # One follow-up for each plan in place whose outcome came before the horizon (less a few
    # still being worked at the horizon), each after that person's outcome.
    assert set(follow_ups.person_id) <= set(in_place.index)
    assert len(follow_ups) >= len(in_place) - 5
    ends = people.end_day.reindex(follow_ups.person_id).to_numpy()
    assert (follow_ups.start_day.to_numpy() >= ends - 1e-9).all()
    ends = people.end_day.reindex(replans.person_id).to_numpy()
    assert (replans.start_day.to_numpy() >= ends + 10.0 - 1e-9).all()
    assert len(replans) > 0.8 * len(follow_ups)
