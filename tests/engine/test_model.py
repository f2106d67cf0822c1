"""Functional and property tests of the pathway model (STYLE habit 8)."""

from __future__ import annotations

import math
from typing import get_args

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ipcsim.engine.model import PathwayModel
from ipcsim.engine.referrals import IDENTIFICATION_MODES
from ipcsim.engine.signoff import SIGNOFF_MODES
from ipcsim.pathway import END_STATES, MILESTONES
from ipcsim.run import run_scenario
from ipcsim.scenario import Cohort, Scenario, Signoff
from tests.conftest import ALWAYS_ON, deterministic_changes, make_scenario

HOUR = 1 / 24


def expected_milestones(referred: float) -> dict[str, float]:
    """Milestones implied by :func:`deterministic_changes`, worked out by hand.

    referral delay 1 + invitation delay 2 -> consent; + admin lag 7 -> first conversation
    (60 min); gap 2 days, 45 min; gap 2 days, 45 min; plan writing 2 h; circulation
    3 x 20 min = 1 h -> submission; next panel sitting (day 0.5 + 14 k) -> sign-off;
    budget setting 6 h -> agreed; payment set-up 1 h + 28 days -> released.
    """
    consented = referred + 3
    first = consented + 7
    third_start = first + 1 * HOUR + 2 + 0.75 * HOUR + 2
    written = third_start + 0.75 * HOUR + 2 * HOUR
    submitted = written + 1 * HOUR
    sitting = 0.5 + 14 * math.ceil((submitted - 0.5) / 14)
    agreed = sitting + 6 * HOUR
    released = agreed + 1 * HOUR + 28
    return {
        "consented_day": consented,
        "first_conversation_day": first,
        "plan_written_day": written,
        "signed_off_day": sitting,
        "budget_agreed_day": agreed,
        "budget_released_day": released,
    }


@pytest.mark.parametrize("headcount", ["unlimited", 60])
def test_fixed_durations_and_ample_capacity_give_exact_milestones(headcount: int | str) -> None:
    scenario = make_scenario(deterministic_changes(headcount))
    people = run_scenario(scenario).people
    done = people[people.end_state == "budget_in_place"]
    assert len(done) > 50
    for row in done.itertuples():
        expected = expected_milestones(row.referred_day)
        for column, value in expected.items():
            assert getattr(row, column) == pytest.approx(value, abs=1e-9), column
        assert row.sessions_held == 3
        assert row.rework_count == 0
    # Everyone referred early enough finishes; the rest are still in the pathway.
    late = people[people.end_state == "in_progress"]
    horizon = scenario.run.horizon_days
    assert all(expected_milestones(r)["budget_released_day"] > horizon for r in late.referred_day)


def test_unlimited_staff_gives_zero_queueing() -> None:
    changes = {
        "run": {"calendar": "continuous"},
        "workforce": {
            name: {"headcount": "unlimited", **ALWAYS_ON}
            for name in ("planner", "finance_officer", "admin", "panel_member")
        },
        "cohorts": {"ltc": {"referrals_per_month": 40.0}},
    }
    result = run_scenario(make_scenario(changes))
    waits = result.waits
    served = waits[waits.served]
    assert len(served) > 500
    np.testing.assert_array_equal(served.started_day.to_numpy(), served.requested_day.to_numpy())
    # No one gives up waiting when no one waits.
    assert not (result.people.exit_reason == "withdrew_while_waiting").any()


def test_a_tenth_of_the_time_delivers_about_a_tenth_of_the_work() -> None:
    """Saturated single planner: hours delivered scale with the IPC share."""
    hours = {}
    for share in (1.0, 0.1):
        changes = {
            "run": {"horizon_days": 365 * 2},
            "cohorts": {
                "ltc": {"referrals_per_month": 200.0, "withdrawal_hazard_per_month_waiting": 0.0},
                "mh": {"referrals_per_month": 0.0},
            },
            "workforce": {"planner": {"headcount": 1, "ipc_share": share}},
        }
        result = run_scenario(make_scenario(changes))
        work = result.work
        hours[share] = work[work.role == "planner"].hours.sum()
        # Sessions happen inside the working week (Mon-Fri 09:00-17:00 by default).
        sessions = work[(work.role == "planner") & (work.activity == "conversation")]
        start = pd.Timestamp(result.scenario.run.start_date) + pd.to_timedelta(
            sessions.start_day, unit="D"
        )
        assert (start.dt.day_of_week < 5).all()
        hour = start.dt.hour + start.dt.minute / 60
        assert ((hour >= 9 - 1e-6) & (hour <= 17 + 1e-6)).all()
    ratio = hours[0.1] / hours[1.0]
    assert ratio == pytest.approx(0.1, rel=0.1)


def test_lead_practitioner_is_kept_across_sessions_and_reviews() -> None:
    changes = {
        "workforce": {"planner": {"headcount": 4}},
        "pathway": {"review_site_probability": 1.0, "review_interval_days": 91},
    }
    result = run_scenario(make_scenario(changes))
    work = result.work[result.work.role == "planner"]
    per_person = work.groupby("person_id").member.nunique()
    assert len(per_person) > 50
    assert (per_person == 1).all()
    leads = result.people.set_index("person_id").lead_practitioner
    first = work.groupby("person_id").member.first()
    assert (leads.loc[first.index] == first).all()
    assert result.people.reviews_held.sum() > 0


def test_caseload_cap_is_respected() -> None:
    cap = 3
    changes = {
        "workforce": {"planner": {"headcount": 2, "caseload_cap": cap}},
        "cohorts": {"ltc": {"referrals_per_month": 30.0}},
    }
    people = run_scenario(make_scenario(changes)).people
    allocated = people.dropna(subset=["first_conversation_day"])
    # A disengaged case is noticed (and closed) at or after its end day: counting it
    # closed from the end day can only under-count the cases the pool held open.
    ended = allocated.exit_reason.isin(["plan_declined", "disengaged_during_planning"])
    closed = allocated.signed_off_day.fillna(allocated.end_day.where(ended))
    for member, group in allocated.groupby("lead_practitioner"):
        # Open cases at each allocation: allocated before and not yet closed.
        for t in group.first_conversation_day:
            open_cases = ((group.first_conversation_day <= t) & ~(closed[group.index] <= t)).sum()
            assert open_cases <= cap, member


def test_returned_plans_loop_back_to_the_planner() -> None:
    changes = {"signoff": {"rework_probability": 0.5, "max_submissions": 4}}
    result = run_scenario(make_scenario(changes))
    people = result.people
    assert people.rework_count.max() >= 2
    assert people.rework_count.max() <= 3
    rework_sessions = result.work[result.work.activity == "rework"].groupby("person_id").size()
    reworked = people.set_index("person_id").rework_count
    assert (rework_sessions == reworked.loc[rework_sessions.index]).all()


def test_individual_and_sequential_signoff_run() -> None:
    for mode in ("individual", "sequential"):
        people = run_scenario(make_scenario({"signoff": {"mode": mode}})).people
        signed = people.dropna(subset=["signed_off_day"])
        assert len(signed) > 20
        assert (signed.signed_off_day >= signed.plan_written_day).all()


def test_every_signoff_and_identification_mode_has_its_process() -> None:
    """A mode the schema accepts but the engine's registry lacks would fail only at run time."""
    assert set(SIGNOFF_MODES) == set(get_args(Signoff.model_fields["mode"].annotation))
    identification = Cohort.model_fields["identification"].annotation
    assert set(IDENTIFICATION_MODES) == set(get_args(identification))


def check_journeys(people: pd.DataFrame, horizon: float) -> None:
    """Every referral in exactly one end state, milestones in pathway order."""
    assert set(people.end_state.unique()) <= set(END_STATES)
    counts = people.end_state.value_counts()
    assert int(counts.sum()) == len(people)
    order = list(MILESTONES[:5])
    values = people[order].to_numpy()
    for a in range(len(order) - 1):
        both = ~np.isnan(values[:, a]) & ~np.isnan(values[:, a + 1])
        assert (values[both, a] <= values[both, a + 1] + 1e-12).all()
    ended = people[people.end_state != "in_progress"]
    assert ended.end_day.notna().all()
    assert (ended.end_day <= horizon).all()
    assert people[people.end_state == "in_progress"].end_day.isna().all()
    released = people[people.end_state == "budget_in_place"]
    assert released.budget_released_day.notna().all()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31),
    planners=st.integers(1, 4),
    rate=st.floats(0.5, 30.0),
    rework=st.floats(0.0, 0.9),
    mode=st.sampled_from(["panel", "individual", "sequential"]),
    cap=st.one_of(st.none(), st.integers(1, 10)),
)
def test_every_referral_ends_in_exactly_one_state(
    seed: int, planners: int, rate: float, rework: float, mode: str, cap: int | None
) -> None:
    changes = {
        "run": {"seed": seed, "horizon_days": 200},
        "cohorts": {"ltc": {"referrals_per_month": rate}},
        "workforce": {"planner": {"headcount": planners, "caseload_cap": cap}},
        "signoff": {"mode": mode, "rework_probability": rework},
    }
    scenario = make_scenario(changes)
    people = run_scenario(scenario).people
    check_journeys(people, scenario.run.horizon_days)


def planner_scenario(
    seed: int,
    planners: int | str,
    rate: float,
    *,
    withdrawal: bool = True,
    cap: int | None = None,
    priority: str = "fifo",
) -> Scenario:
    """The test scenario at ``rate`` referrals a month per cohort, with ``planners`` planners."""
    cohort: dict[str, float] = {"referrals_per_month": rate}
    if not withdrawal:
        cohort["withdrawal_hazard_per_month_waiting"] = 0.0
        cohort["withdrawal_probability_before_first_session"] = 0.0
    changes = {
        "run": {"seed": seed, "horizon_days": 270},
        "cohorts": {name: dict(cohort) for name in ("ltc", "mh")},
        "workforce": {"planner": {"headcount": planners, "caseload_cap": cap}},
        "pathway": {"priority": priority},
    }
    return make_scenario(changes)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(seed=4, planners=4, rate=7.125, withdrawal=False, cap=None, priority="fifo")  # Notes
@example(seed=4, planners=5, rate=7.125, withdrawal=False, cap=None, priority="fifo")
@given(
    seed=st.integers(0, 2**31),
    planners=st.integers(1, 5),
    rate=st.floats(4.0, 40.0),
    withdrawal=st.booleans(),
    cap=st.one_of(st.none(), st.integers(1, 10)),
    priority=st.sampled_from(["fifo", "new_first", "reviews_first"]),
)
def test_no_one_has_a_first_conversation_sooner_than_with_unlimited_planners(
    seed: int, planners: int, rate: float, withdrawal: bool, cap: int | None, priority: str
) -> None:
    """Common random numbers: each person's first conversation with any finite number of
    planners starts no earlier than the same person's with unlimited planners.

    Why it holds: everything before allocation (referral and invitation delays, consent,
    the admin lag) uses no planner time, so with common random numbers each person asks for
    a lead practitioner at the same time ``r`` in both runs. With unlimited planners the
    request is granted at ``r`` by a planner with a full bank of hours (a week's, far more
    than a chase and a first session), so the chase, if any, starts at the first working
    instant at or after ``r`` and the session at the first working instant after the chase
    ends: the earliest the calendar allows. With finite planners the grant comes at some
    ``g >= r``, and :meth:`~ipcsim.engine.staff.StaffMember.book` never starts a task
    before the first working instant at or after its earliest day, nor ends it sooner than
    its hours after its start. Whatever the allocation rule (caseload cap, priority), the
    first session cannot start sooner. Those who withdraw while waiting or are still
    waiting at the horizon have no first conversation and are left out.

    Notes
    -----
    The mean wait is *not* monotone in the number of planners: a new case goes to the
    planner with the fewest open cases and then the most banked hours, which can make one
    more planner very slightly worse on average. Seed 4 at 7.125 referrals a month per
    cohort (no withdrawal) gives a mean wait of 14.7318 days with four planners and 14.7322
    with five, which broke the property this test replaces; both are kept as examples.
    """
    results = {
        headcount: run_scenario(
            planner_scenario(
                seed, headcount, rate, withdrawal=withdrawal, cap=cap, priority=priority
            )
        )
        for headcount in (planners, "unlimited")
    }
    finite, ample = results[planners], results["unlimited"]
    seen = finite.people.set_index("person_id").first_conversation_day.dropna()
    earliest = ample.people.set_index("person_id").first_conversation_day.reindex(seen.index)
    assert earliest.notna().all()
    assert (seen >= earliest - 1e-9).all()


def test_three_planners_cut_the_mean_wait_under_heavy_load() -> None:
    """In expectation over replications, with common random numbers: going from one planner
    to three under heavy load lowers the mean wait for a first conversation.

    Notes
    -----
    At 12 referrals a month per cohort one planner (half their time for IPC) is close to
    saturated. The claim is about the mean over ``R = 5`` replications of the paired
    difference (one planner minus three, same seed), tested on FIXED seeds, so the test is
    deterministic; its error rate is the chance that a change which only redraws the random
    numbers makes it fail. In a pilot of 200 replications (seeds 1000-1199) the difference
    had mean 13.5 days, standard deviation 4.3 days and minimum 3.6 days (none <= 0). The
    mean of 5 has a standard deviation of about 4.3 / sqrt(5) = 1.9 days, so it reaches 0
    only about 7 standard deviations below its expectation: a chance below 1e-11 under a
    normal approximation. Seed 4 is the seed of the counterexample to "one more planner
    never raises the mean" (see the test above).
    """
    seeds = (1, 2, 3, 4, 5)

    def mean_wait(seed: int, planners: int) -> float:
        scenario = planner_scenario(seed, planners, 12.0, withdrawal=False)
        people = run_scenario(scenario).people
        return float((people.first_conversation_day - people.referred_day).mean())

    differences = [mean_wait(seed, 1) - mean_wait(seed, 3) for seed in seeds]
    assert float(np.mean(differences)) > 0


def test_same_seed_gives_identical_records_and_other_seeds_differ() -> None:
    scenario = make_scenario()
    a = run_scenario(scenario).people
    b = run_scenario(scenario).people
    pd.testing.assert_frame_equal(a, b)
    c = run_scenario(scenario, seed=scenario.run.seed + 1).people
    assert not a.equals(c)


def test_model_does_not_change_the_scenario() -> None:
    scenario = make_scenario()
    before = scenario.model_dump()
    PathwayModel(scenario).run()
    assert scenario.model_dump() == before


def test_every_activity_delay_applies() -> None:
    """Plan-writing and budget-setting delays shift their milestones by exactly the delay."""
    changes = deterministic_changes()
    changes["pathway"]["plan_writing"]["delay_days"] = {"dist": "fixed", "value": 3}
    changes["pathway"]["budget_setting"]["delay_days"] = {"dist": "fixed", "value": 5}
    people = run_scenario(make_scenario(changes)).people
    done = people[people.end_state == "budget_in_place"]
    assert len(done) > 30
    for row in done.itertuples():
        expected = expected_milestones(row.referred_day)
        assert row.plan_written_day == pytest.approx(expected["plan_written_day"] + 3, abs=1e-9)
        signed = row.signed_off_day
        assert row.budget_agreed_day == pytest.approx(signed + 5 + 6 * HOUR, abs=1e-9)


def test_progress_reporting_does_not_change_the_records() -> None:
    scenario = make_scenario()
    shares: list[float] = []
    with_progress = run_scenario(scenario, progress=shares.append)
    plain = run_scenario(scenario)
    pd.testing.assert_frame_equal(with_progress.people, plain.people)
    pd.testing.assert_frame_equal(with_progress.work, plain.work)
    assert shares == sorted(shares) and shares[-1] == 1.0 and len(shares) >= 50
