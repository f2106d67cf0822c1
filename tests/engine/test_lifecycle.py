"""The plan in place: plan lives, reviews by site policy, exits and budget renewals (issue 12).

The claims are statistical, made on fixed seeds: each test names its seeds and tolerance.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ipcsim import load_scenario, run_scenario
from ipcsim.engine.reviews import NoReviews, ScheduledReviews, site_review_policy
from ipcsim.scenario import Pathway
from ipcsim.units import DAYS_PER_MONTH, DAYS_PER_YEAR
from tests.conftest import make_scenario

DEMONSTRATOR = Path(__file__).resolve().parents[2] / "configs" / "demonstrator_site.toml"

# The demonstrator four times over, for ten years at constant referral rates: every site
# reviews half-yearly (P49 range), and there are enough planners and finance officers that
# no queue grows without end (planners about 55 % busy, finance officers about 75 %).
TEN_YEARS = {
    "run.horizon_days": 3652,
    "economics.setup_cost_per_site_year_gbp": 150000,
    "pathway.review_site_probability": 1.0,
    "pathway.review_interval_days": 182,
    "cohorts.ltc_frailty.referrals_per_month": 24.0,
    "cohorts.mental_health.referrals_per_month": 16.0,
    "cohorts.learning_disability.referrals_per_month": 6.0,
    "cohorts.children.referrals_per_month": 2.0,
    "workforce.planner.headcount": 12,
    "workforce.finance_officer.headcount": 4,
    "workforce.finance_officer.ipc_share": 0.6,
    "workforce.admin.headcount": 4,
}
SEEDS = (1000, 1001, 1002, 1003)


def _planner_hours_by_year(overrides: dict[str, Any], seed: int, years: int) -> np.ndarray:
    settings = {**overrides, "run.seed": seed}
    scenario = load_scenario(DEMONSTRATOR, overrides=[f"{k}={v}" for k, v in settings.items()])
    work = run_scenario(scenario).work
    planner = work[work.role == "planner"]
    year = (planner.start_day // DAYS_PER_YEAR).astype(int)
    return planner.hours.groupby(year).sum().reindex(range(years), fill_value=0.0).to_numpy()


def test_reviews_and_renewals_reach_a_steady_share_of_planner_time() -> None:
    """Planner hours of years 8, 9 and 10 differ by less than 5 % (mean of four seeds).

    Without plan lives (before issue 12) review hours grew every year of such a run. Now a
    plan lives a year and is renewed with probability 0.5 and people leave at 5-15 % a year,
    so the caseload of plans in place settles within about five years. Year-to-year noise of
    one seed's planner hours is about 3-4 % (Poisson referrals); the mean of four seeds has
    about half of that, so a spread under 5 % is what a settled caseload gives and a caseload
    still growing by more than a couple of per cent a year would not.
    """
    hours = np.array([_planner_hours_by_year(TEN_YEARS, seed, 10) for seed in SEEDS])
    mean = hours.mean(axis=0)
    last_three = mean[-3:]
    spread = (last_three.max() - last_three.min()) / last_three.mean()
    assert spread < 0.05, f"planner hours by year {np.round(mean)}: spread {spread:.1%}"
    # Reviews and renewals are a real part of the load: year 10 is well above year 1.
    assert mean[-1] > 1.8 * mean[0]


def test_a_short_lived_caseload_settles_fast() -> None:
    """The same claim, time-scaled: two-month plans, reviews every three weeks, two years.

    The caseload turns over in a few months, so the planner hours of the last three
    quarters of a two-year run differ by less than 5 % (mean of three seeds, fixed).
    """
    changes: dict[str, Any] = {
        "run": {"horizon_days": 730},
        "cohorts": {
            "ltc": {"referrals_per_month": 30.0, "plan_duration_months": 2.0},
            "mh": {"referrals_per_month": 15.0, "plan_duration_months": 2.0},
        },
        "workforce": {"planner": {"headcount": 6}, "finance_officer": {"headcount": 3}},
        "pathway": {"review_site_probability": 1.0, "review_interval_days": 21},
    }
    quarters = []
    for seed in (1, 2, 3):
        changes["run"]["seed"] = seed
        work = run_scenario(make_scenario(changes)).work
        planner = work[work.role == "planner"]
        quarter = (planner.start_day // (DAYS_PER_YEAR / 4)).astype(int)
        quarters.append(planner.hours.groupby(quarter).sum().reindex(range(8)).to_numpy())
    mean = np.mean(quarters, axis=0)
    last_three = mean[-4:-1]  # the eighth quarter is cut short by the horizon
    spread = (last_three.max() - last_three.min()) / last_three.mean()
    assert spread < 0.05, f"planner hours by quarter {np.round(mean)}: spread {spread:.1%}"
    assert (work.activity == "review").sum() > 100


def test_a_site_with_reviews_none_holds_no_reviews() -> None:
    changes = {
        "run": {"horizon_days": 900},
        "cohorts": {"ltc": {"plan_duration_months": "ongoing"}},
        "pathway": {"reviews": "none", "review_site_probability": 1.0},
    }
    result = run_scenario(make_scenario(changes))
    assert (result.work.activity != "review").all()
    assert (result.people.reviews_held == 0).all()
    # Plans still have lives: the mental-health cohort's one-year plans are renewed.
    assert (result.work.activity == "replanning").any()


def test_a_site_that_turns_out_not_to_review_holds_no_reviews() -> None:
    changes = {
        "run": {"horizon_days": 900},
        "cohorts": {"ltc": {"plan_duration_months": "ongoing"}},
        "pathway": {"review_site_probability": 0.0, "review_interval_days": 30},
    }
    assert (run_scenario(make_scenario(changes)).people.reviews_held == 0).all()
    changes["pathway"]["review_site_probability"] = 1.0
    assert (run_scenario(make_scenario(changes)).people.reviews_held > 0).any()


def test_review_policy_is_drawn_once_per_site() -> None:
    scheduled = Pathway(reviews="scheduled", review_site_probability=0.25)
    assert isinstance(site_review_policy(scheduled, lambda: 0.2), ScheduledReviews)
    assert isinstance(site_review_policy(scheduled, lambda: 0.3), NoReviews)
    never = Pathway(reviews="none", review_site_probability=1.0)
    assert isinstance(site_review_policy(never, lambda: 0.0), NoReviews)
    # Reviews due in a plan's last week are taken by the end-of-plan conversation.
    assert list(ScheduledReviews(91.0).due(0.0, 365.25)) == [91.0, 182.0, 273.0]
    assert list(ScheduledReviews(365.0).due(0.0, 365.25)) == []


def test_the_realised_exit_share_matches_the_exit_hazard() -> None:
    """Annual exit share 0.2 realised within 0.03 (seed 11, about 600 exits, SE about 0.008).

    Exposure is each signed-off person's time in the caseload until they leave, their plan
    ends or the run does; the realised annual share is ``1 - exp(-exits / person-years)``.
    """
    changes = {
        "run": {"horizon_days": 1461, "seed": 11},
        "cohorts": {
            name: {
                "referrals_per_month": 20.0,
                "plan_duration_months": "ongoing",
                "exit_hazard_per_year": 0.2,
            }
            for name in ("ltc", "mh")
        },
        "workforce": {"planner": {"headcount": "unlimited"}},
        "pathway": {"reviews": "none"},
    }
    scenario = make_scenario(changes)
    people = run_scenario(scenario).people
    signed = people[people.signed_off_day.notna()]
    left = signed.plan_end_reason == "left_caseload"
    assert (signed.plan_end_reason.isin(["", "left_caseload"])).all()  # ongoing plans
    end = signed.plan_end_day.fillna(scenario.run.horizon_days)
    person_years = float((end - signed.signed_off_day).sum()) / DAYS_PER_YEAR
    share = 1 - math.exp(-left.sum() / person_years)
    assert left.sum() > 400
    assert share == pytest.approx(0.2, abs=0.03)


def test_plans_end_after_their_lives_and_renewals_are_counted() -> None:
    changes = {
        "run": {"horizon_days": 1461},
        "cohorts": {
            name: {"plan_duration_months": 6.0, "exit_hazard_per_year": 0.0}
            for name in ("ltc", "mh")
        },
    }
    people = run_scenario(make_scenario(changes)).people
    ended = people[people.plan_end_reason == "plan_ended"]
    assert len(ended) > 50
    assert (people.plan_end_reason != "left_caseload").all()
    # A plan ends at sign-off plus a whole number of six-month lives (renewals + 1, when
    # every renewal before the end was held in the run).
    lives = (ended.plan_end_day - ended.signed_off_day) / (6 * DAYS_PER_MONTH)
    assert np.allclose(lives, lives.round())
    assert (lives.round() >= ended.plan_renewals + 1).all()
    assert (ended.plan_renewals > 0).any()
    # Columns of the journey keep their meaning: a plan in place is still an end state.
    assert set(ended.end_state.astype(str)) <= {"plan_in_place", "budget_in_place"}


def test_recurring_budgets_are_renewed_with_finance_effort_and_money() -> None:
    changes = {
        "run": {"horizon_days": 1461},
        "cohorts": {
            name: {"plan_renewal_probability": 1.0, "exit_hazard_per_year": 0.0}
            for name in ("ltc", "mh")
        },
        "workforce": {"finance_officer": {"headcount": "unlimited"}},
    }
    result = run_scenario(make_scenario(changes))
    people, work = result.people, result.work
    renewals = work[work.activity == "budget_renewal"]
    assert (renewals.role == "finance_officer").all()
    holders = people[people.budget_released_day.notna()]
    assert holders.budget_renewals.sum() > 100
    assert renewals.person_id.isin(holders.person_id).all()
    # Each renewal pays the person's budget again, and costs see the recurring money.
    renewed = holders.budget_renewals * holders.budget_amount_gbp
    assert np.allclose(holders.budget_renewed_gbp, renewed)
    assert np.allclose(
        people.budget_released_gbp,
        people.budget_renewed_gbp
        + np.where(people.budget_released_day.notna(), people.budget_amount_gbp, 0.0),
    )
    totals = result.summary["economics"]["totals_gbp"]
    years = result.summary["economics"]["site_years"]
    assert totals["budgets_released"] == pytest.approx(people.budget_released_gbp.sum())
    assert sum(y["budgets_released_gbp"] for y in years) == pytest.approx(
        totals["budgets_released"]
    )
    # Nobody leaves: each year pays the budgets of every earlier year's holders again.
    assert years[-1]["budgets_released_gbp"] > 3 * years[0]["budgets_released_gbp"]


def test_one_off_budgets_stay_one_off() -> None:
    changes = {
        "run": {"horizon_days": 1461},
        "cohorts": {
            name: {"plan_renewal_probability": 1.0, "budget_renewal": "one_off"}
            for name in ("ltc", "mh")
        },
    }
    result = run_scenario(make_scenario(changes))
    assert (result.people.budget_renewals == 0).all()
    assert (result.work.activity != "budget_renewal").all()
    assert (result.work.activity == "replanning").any()
