"""Scale-up dynamics: staffing plans, turnover, ramps, finite cohorts, envelopes, backlog, sites."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipcsim.errors import ConfigError
from ipcsim.run import TOTAL_SITE, run_scenario
from ipcsim.scenario import Scenario
from ipcsim.scenario.backlog import load_backlog
from ipcsim.scenario.load import load_scenario
from tests.conftest import BASE, deep_merge, make_scenario
from tests.engine.test_model import check_journeys

START = dt.date(2016, 4, 1)  # the default run start date


def date_after(days: int) -> str:
    return (START + dt.timedelta(days=days)).isoformat()


def strings(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its categorical columns as plain strings.

    A run's categories list every site and member it has, so frames of different runs are
    compared by their values, not their dtypes.
    """
    return frame.astype(dict.fromkeys(frame.select_dtypes("category").columns, str))


def comparable(frame: pd.DataFrame, drop: tuple[str, ...] = ("person_id",)) -> pd.DataFrame:
    return strings(frame.drop(columns=list(drop)).reset_index(drop=True))


def test_neutral_scale_up_settings_reproduce_the_core_results() -> None:
    """Zero turnover, a staffing 'change' to the same headcount, a one-step schedule at the
    same rate and an eligible population never reached give the core model's results."""
    base = run_scenario(make_scenario())
    neutral = run_scenario(
        make_scenario(
            {
                "workforce": {
                    "planner": {
                        "annual_turnover": 0.0,
                        "changes": [{"date": date_after(100), "headcount": 2}],
                    }
                },
                "cohorts": {"ltc": {"eligible_population": 10**8}},
                "learning": {"plans_to_learn": 0},
            }
        )
    )
    pd.testing.assert_frame_equal(base.people, neutral.people)
    pd.testing.assert_frame_equal(base.work, neutral.work)


def test_a_staffing_change_has_no_effect_before_its_date() -> None:
    day = 150
    base = run_scenario(make_scenario({"cohorts": {"ltc": {"referrals_per_month": 20.0}}}))
    changed = run_scenario(
        make_scenario(
            {
                "cohorts": {"ltc": {"referrals_per_month": 20.0}},
                "workforce": {"planner": {"changes": [{"date": date_after(day), "headcount": 6}]}},
            }
        )
    )
    before_base = base.work[base.work.start_day < day]
    before_changed = changed.work[changed.work.start_day < day]
    assert len(before_base) > 100
    pd.testing.assert_frame_equal(
        strings(before_base.reset_index(drop=True)), strings(before_changed.reset_index(drop=True))
    )
    # ... and an effect after it: more planners shorten the wait for a first conversation.
    late = base.people.referred_day > day + 30
    wait_base = (base.people.first_conversation_day - base.people.referred_day)[late].mean()
    late_c = changed.people.referred_day > day + 30
    wait_changed = (changed.people.first_conversation_day - changed.people.referred_day)[
        late_c
    ].mean()
    assert wait_changed < wait_base
    new_members = set(changed.work.member) - set(base.work.member)
    assert new_members, "the new starters did some work"
    first_new = changed.work[changed.work.member.isin(new_members)].start_day.min()
    assert first_new >= day + 1.0  # recruited on the day, then a training day (P61)


def test_an_envelope_of_zero_releases_no_budget_and_holds_them_all() -> None:
    result = run_scenario(make_scenario({"budget_envelope": {"amount_gbp": 0.0}}))
    people = result.people
    agreed = people[people.budget_agreed_day.notna()]
    assert len(agreed) > 20
    assert people.budget_released_day.isna().all()
    assert (agreed.end_state == "in_progress").all()
    assert result.summary["people"]["budget_in_place"] == 0
    # Every agreed budget is still held at the horizon: none has a held time recorded yet.
    assert agreed.budget_held_days.isna().all()


def test_a_monthly_envelope_holds_budgets_until_the_next_month() -> None:
    changes = {
        "cohorts": {
            name: {"budget_amount_gbp": {"dist": "fixed", "value": 1000}} for name in ("ltc", "mh")
        },
        "budget_envelope": {"period": "month", "amount_gbp": 2000.0},
    }
    people = run_scenario(make_scenario(changes)).people
    released = people[people.budget_released_day.notna()]
    months = pd.to_datetime(START) + pd.to_timedelta(released.budget_agreed_day, unit="D")
    # No more than two budgets of 1,000 are paid from one month's pot of 2,000.
    paid_day = released.budget_agreed_day + released.budget_held_days
    paid_month = (pd.to_datetime(START) + pd.to_timedelta(paid_day, unit="D")).dt.to_period("M")
    assert paid_month.value_counts().max() <= 2
    assert (released.budget_held_days > 0).any()
    assert len(months) > 5


def write_backlog(path: Path, rows: list[tuple[Any, ...]]) -> Path:
    lines = ["person_id,site,cohort,stage,waiting_since"]
    lines += [",".join(str(value) for value in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_warm_start_backlog_appears_in_people_and_each_ends_in_one_state(
    tmp_path: Path,
) -> None:
    stages = ["referred", "consented", "plan_written", "signed_off", "budget_agreed"]
    rows = [
        (1000 + k, "site", "ltc" if k % 2 else "mh", stages[k % 5], "2016-02-15") for k in range(40)
    ]
    csv = write_backlog(tmp_path / "backlog.csv", rows)
    scenario = make_scenario({"initial_state": str(csv)})
    result = run_scenario(scenario)
    people = result.people
    backlog = people[people.backlog_stage != ""]
    assert sorted(backlog.person_id) == [row[0] for row in rows]
    check_journeys(people, scenario.run.horizon_days)
    assert (backlog.end_state != "in_progress").mean() > 0.8
    # New referrals get ids after the backlog's.
    assert people[people.backlog_stage == ""].person_id.min() > 1039
    # Those waiting for a first conversation were seen; the clear day is reported.
    consented = backlog[backlog.backlog_stage == "consented"]
    assert consented.first_conversation_day.notna().all()
    assert result.summary["backlog_clear_day"] is not None
    # Open cases at the end of the first month include the backlog.
    first = result.timeseries.iloc[0]
    assert first.open_cases_end >= (backlog.end_day.isna() | (backlog.end_day > 30)).sum()


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ("x,site,ltc,consented,2016-01-01", r"row 2, column person_id: must be a whole number"),
        ("1,elsewhere,ltc,consented,2016-01-01", r"row 2, column site: unknown site"),
        ("1,site,ltc,waiting,2016-01-01", r"row 2, column stage: must be one of"),
        ("1,site,ltc,consented,2016-13-01", r"row 2, column waiting_since: must be an ISO date"),
        ("1,site,ltc,consented,2017-01-01", r"row 2, column waiting_since: must be on or before"),
        ("1,site,ltc,consented", r"row 2: expected 5 values, got 4"),
    ],
)
def test_a_malformed_backlog_row_is_named(tmp_path: Path, row: str, match: str) -> None:
    path = tmp_path / "backlog.csv"
    path.write_text("person_id,site,cohort,stage,waiting_since\n" + row + "\n")
    with pytest.raises(ConfigError, match=match) as info:
        load_backlog(path, make_scenario())
    assert "backlog.csv" in str(info.value)


def site_tables() -> dict[str, Any]:
    a = {
        "cohorts": {"ltc": {"referrals_per_month": 10.0}},
        "workforce": {"planner": {"headcount": 2}},
    }
    b = {
        "site": {"start_date": date_after(60), "design_phase_months": 2},
        "cohorts": {"mh": {"referrals_per_month": 6.0}, "ltc": {"referrals_per_month": 2.0}},
        "workforce": {"planner": {"headcount": 1, "ipc_share": 0.8}},
    }
    return {"a": a, "b": b}


def multi_site(sites: dict[str, Any], **extra: Any) -> Any:
    template = {k: v for k, v in BASE.items() if k != "cohorts"}
    return make_scenario_from(deep_merge(template, {"sites": sites, **extra}))


def make_scenario_from(data: dict[str, Any]) -> Any:
    from ipcsim.scenario.load import scenario_from_dict

    return scenario_from_dict(data, source="<test>")


def test_two_sites_without_shared_pools_equal_the_two_single_site_runs() -> None:
    tables = site_tables()
    both = run_scenario(multi_site(tables))
    for name, table in tables.items():
        alone = run_scenario(multi_site({name: table}))
        for frame in ("people", "work", "waits"):
            mine = getattr(both, frame)
            mine = mine[mine.site == name]
            pd.testing.assert_frame_equal(
                comparable(mine), comparable(getattr(alone, frame)), check_dtype=True
            )
    # Per-site rows and the totals in every output.
    assert set(both.timeseries.site) == {"a", "b", TOTAL_SITE}
    assert set(both.summary["sites"]) == {"a", "b"}
    total = both.summary["people"]["referred"]
    assert total == sum(s["people"]["referred"] for s in both.summary["sites"].values())
    ts = both.timeseries
    for column in ("referrals", "plans_signed_off", "budgets_released", "open_cases_end"):
        per_site = ts[ts.site != TOTAL_SITE].groupby("month")[column].sum()
        totals = ts[ts.site == TOTAL_SITE].set_index("month")[column]
        pd.testing.assert_series_equal(per_site, totals, check_names=False)
    # Site b refers no one before it joins and finishes its design phase.
    b = both.people[both.people.site == "b"]
    assert b.referred_day.min() >= 60 + 2 * 365.25 / 12


def test_a_shared_finance_team_serves_both_sites() -> None:
    tables = site_tables()
    shared = {
        "ics_finance": {"role": "finance_officer", "sites": ["a", "b"], "headcount": 1},
    }
    result = run_scenario(multi_site(tables, shared_pools=shared))
    finance = result.work[result.work.role == "finance_officer"]
    assert set(finance.site) == {"a", "b"}
    assert finance.member.nunique() == 1
    assert finance.member.iloc[0].startswith("ics_finance")


def test_a_shared_panel_sits_for_both_sites() -> None:
    tables = site_tables()
    panel = {"ics_panel": {"sites": ["a", "b"], "interval_days": 28, "first_sitting_day": 5}}
    people = run_scenario(multi_site(tables, shared_panels=panel)).people
    signed = people.signed_off_day.dropna()
    assert len(signed) > 20
    np.testing.assert_allclose(((signed - 5) / 28) % 1, 0.0, atol=1e-9)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    population=st.integers(0, 120),
    mode=st.sampled_from(["practitioner", "annual_review", "batch", "mass_invitation"]),
    rate=st.floats(1.0, 60.0),
    seed=st.integers(0, 2**31),
)
def test_referrals_never_exceed_the_eligible_population(
    population: int, mode: str, rate: float, seed: int
) -> None:
    cohort: dict[str, Any] = {
        "eligible_population": population,
        "identification": mode,
        "referrals_per_month": rate,
        "engagement_factor": 0.5,
    }
    if mode == "batch":
        cohort["batches"] = [
            {"date": date_after(10), "people": 80},
            {"date": date_after(200), "people": 80},
        ]
    scenario = make_scenario(
        {"run": {"seed": seed, "horizon_days": 300}, "cohorts": {"ltc": cohort}}
    )
    people = run_scenario(scenario).people
    assert (people.cohort == "ltc").sum() <= population


def test_a_referral_schedule_ramps_the_rate() -> None:
    changes = {
        "run": {"horizon_days": 720},
        "cohorts": {
            "ltc": {
                "referrals_per_month": 2.0,
                "referral_schedule": [{"date": date_after(360), "referrals_per_month": 20.0}],
            },
            "mh": {"referrals_per_month": 0.0},
        },
    }
    people = run_scenario(make_scenario(changes)).people
    early = (people.referred_day < 360).sum()
    late = (people.referred_day >= 360).sum()
    # Expected about 24 and 240 referrals: a tenfold rise.
    assert 10 <= early <= 45
    assert 180 <= late <= 300


def test_turnover_replaces_leavers_and_reassigns_their_cases() -> None:
    changes = {
        "run": {"horizon_days": 500},
        "workforce": {
            "planner": {"headcount": 3, "annual_turnover": 2.0, "replacement_lag_days": 20}
        },
        "pathway": {"review_site_probability": 1.0, "review_interval_days": 120},
    }
    scenario = make_scenario(changes)
    result = run_scenario(scenario)
    members = set(result.work[result.work.role == "planner"].member)
    assert len(members) > 3, "leavers were replaced by new starters"
    check_journeys(result.people, scenario.run.horizon_days)
    per_person = result.work[result.work.role == "planner"].groupby("person_id").member.nunique()
    assert (per_person > 1).any(), "some cases moved to a new lead practitioner"


def test_priority_to_reviews_shortens_review_waits() -> None:
    def mean_review_wait(priority: str) -> float:
        changes = {
            "run": {"horizon_days": 730},
            "workforce": {"planner": {"headcount": 1, "ipc_share": 0.4}},
            "pathway": {
                "priority": priority,
                "review_site_probability": 1.0,
                "review_interval_days": 91,
            },
        }
        waits = run_scenario(make_scenario(changes)).waits
        reviews = waits[(waits.activity == "review") & waits.served]
        return float((reviews.started_day - reviews.requested_day).mean())

    assert mean_review_wait("reviews_first") < mean_review_wait("new_first")


def test_the_learning_curve_shortens_sessions_and_cuts_rework() -> None:
    changes = {
        "run": {"horizon_days": 600},
        "signoff": {"rework_probability": 0.3},
        "learning": {
            "plans_to_learn": 20,
            "final_session_multiplier": 0.5,
            "final_rework_probability": 0.0,
        },
    }
    result = run_scenario(make_scenario(changes))
    people = result.people
    late = people[people.referred_day > 300]
    assert late.rework_count.sum() == 0
    assert people[people.referred_day < 30].rework_count.sum() > 0
    conversations = result.work[result.work.activity == "conversation"]
    early_hours = conversations[conversations.start_day < 20].hours.mean()
    late_hours = conversations[conversations.start_day > 400].hours.mean()
    assert late_hours < 0.6 * early_hours


def test_targets_report_when_they_are_first_met() -> None:
    changes = {
        "run": {"horizon_days": 730},
        "targets": [
            {"date": date_after(700), "plans_per_year": 50},
            {"date": date_after(700), "plans_per_year": 10**6},
        ],
    }
    result = run_scenario(make_scenario(changes))
    met, unmet = result.summary["targets"]
    ts = result.timeseries
    first = ts[ts.plans_rolling_12m >= 50].month.iloc[0]
    assert met["first_met_month"] == first
    assert met["met_by_target_date"] is True
    assert unmet["first_met_month"] is None and unmet["met_by_target_date"] is False


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        (
            {"workforce": {"planner": {"changes": [{"date": "2015-01-01", "headcount": 3}]}}},
            r"workforce\.planner\.changes: date 2015-01-01 is before the site starts",
        ),
        ({"cohorts": {"ltc": {"referrals_per_month": -2}}}, r"referrals_per_month.*-2"),
        (
            {"shared_pools": {"f": {"role": "finance_officer", "sites": ["nowhere"]}}},
            r"shared_pools\.f\.sites: unknown site 'nowhere'",
        ),
        (
            {"cohorts": {"ltc": {"identification": "annual_review"}}},
            r"annual_review' needs eligible_population",
        ),
    ],
)
def test_bad_scale_up_input_is_one_line(changes: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        make_scenario(changes)
    assert "\n" not in str(info.value)


def test_shipped_national_scenario_reports_sites_and_totals() -> None:
    root = Path(__file__).resolve().parents[2]
    scenario = load_scenario(root / "configs" / "national_ipc_2015.toml", ["run.horizon_days=400"])
    assert len(scenario.site_names) == 17
    result = run_scenario(scenario)
    assert set(result.summary["sites"]) == set(scenario.site_names)
    assert set(result.timeseries.site) == {*scenario.site_names, TOTAL_SITE}


# --------------------------------------------------------------------------- linear ramps
def ramp(interpolation: str) -> Scenario:
    """One cohort from 30 referrals a month on day 0 to 90 on day 360 (mh switched off)."""
    start = dt.date(2016, 4, 1)
    return make_scenario(
        {
            "run": {"start_date": start, "horizon_days": 360},
            "cohorts": {
                "ltc": {
                    "referral_interpolation": interpolation,
                    "referral_schedule": [
                        {"date": start, "referrals_per_month": 30.0},
                        {"date": start + dt.timedelta(days=360), "referrals_per_month": 90.0},
                    ],
                },
                "mh": {"referrals_per_month": 0.0},
            },
        }
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_linear_ramp_refers_the_area_under_the_line(seed: int) -> None:
    # A Poisson process at rate r(t) rising linearly from 30 to 90 a month over 360 days
    # (11.83 months) refers on average the area under the line in each half: 45 and 75 a
    # month x 5.91 months = 266.1 and 443.5. Counts are Poisson: a check 4 sd wide fails with
    # probability 6e-5, so the six checks here with about 4e-4 together (fixed seeds: they
    # either pass for good or not at all). A step schedule would refer 30 a month throughout.
    months = 180 / (365.25 / 12)
    referred = run_scenario(ramp("linear"), seed=seed).people["referred_day"].to_numpy()
    for lo, hi, rate in ((0, 180, 45.0), (180, 360, 75.0)):
        expected = rate * months
        count = int(((referred >= lo) & (referred < hi)).sum())
        assert abs(count - expected) <= 4 * expected**0.5, (lo, count, expected)


def test_a_step_schedule_keeps_the_first_rate_until_the_next_point() -> None:
    referred = run_scenario(ramp("step"), seed=1).people["referred_day"].to_numpy()
    expected = 30.0 * 360 / (365.25 / 12)  # 355: the 90 a month starts only at the horizon
    assert abs(len(referred) - expected) <= 4 * expected**0.5


def test_delivery_growth_multiplies_every_cohort_from_the_end_of_the_design_phase() -> None:
    """A site joins on day 0 with a 60-day design phase; its referrals (ltc 20 a month, mh 10)
    are multiplied by 1 for the first 120 days of delivery, then 3 (a step), then 0 after 240
    days (stalled). Expected counts are the rate times the months; Poisson counts, checks 4 sd
    wide (each fails by chance with probability 6e-5; a fixed seed: they pass for good or not).
    """
    growth = [
        {"months_after_delivery": 0, "multiplier": 1.0},
        {"months_after_delivery": 120 / (365.25 / 12), "multiplier": 3.0},
        {"months_after_delivery": 240 / (365.25 / 12), "multiplier": 0.0},
    ]
    scenario = make_scenario(
        {
            "run": {"horizon_days": 400},
            "site": {"design_phase_months": 60 / (365.25 / 12)},
            "cohorts": {"ltc": {"referrals_per_month": 20.0}, "mh": {"referrals_per_month": 10.0}},
            "delivery": {"growth": growth, "interpolation": "step"},
        }
    )
    referred = run_scenario(scenario, seed=3).people["referred_day"].to_numpy()
    months = 120 / (365.25 / 12)
    assert not ((referred < 60) | (referred >= 300)).any()
    for lo, hi, rate in ((60, 180, 30.0), (180, 300, 90.0)):
        expected = rate * months
        count = int(((referred >= lo) & (referred < hi)).sum())
        assert abs(count - expected) <= 4 * expected**0.5, (lo, count, expected)


def test_delivery_growth_points_must_be_in_order() -> None:
    growth = [
        {"months_after_delivery": 12, "multiplier": 2.0},
        {"months_after_delivery": 6, "multiplier": 1.0},
    ]
    with pytest.raises(ConfigError, match=r"delivery.*months_after_delivery must be in increasing"):
        make_scenario({"delivery": {"growth": growth}})


# --------------------------------------------------------------------------- panel cadence
def panel_days(signoff: dict[str, Any]) -> list[float]:
    scenario = make_scenario(
        {
            "run": {"start_date": dt.date(2016, 1, 31), "horizon_days": 200},
            "cohorts": {"ltc": {"referrals_per_month": 40.0}},
            "signoff": {"mode": "panel", "panel": signoff},
        }
    )
    work = run_scenario(scenario, seed=5).work
    sittings = work.loc[work["role"].astype(str) == "panel_member", "start_day"]
    assert len(sittings) > 0
    return sorted(set(sittings))


def test_a_monthly_panel_sits_on_the_same_day_of_each_month() -> None:
    days = panel_days({"cadence": "monthly", "first_sitting_day": 0})
    start = dt.date(2016, 1, 31)
    dates = [start + dt.timedelta(days=d) for d in days]
    # from 31 January (nothing to sign off yet): the last day of each shorter month, then
    # the 31st again
    assert dates[:4] == [
        dt.date(2016, 2, 29),
        dt.date(2016, 3, 31),
        dt.date(2016, 4, 30),
        dt.date(2016, 5, 31),
    ]


def test_a_panel_on_the_first_tuesday_sits_on_the_first_tuesday_of_each_month() -> None:
    """Sittings with plans to decide (from February 2016) fall on the first Tuesday (the last
    Friday) of consecutive months: 1 March, 5 April, 3 May, 7 June, 5 July 2016, ..."""
    start = dt.date(2016, 1, 31)
    for monthly_on, weekday, week_ok in (
        ("first Tuesday", 1, lambda d: d.day <= 7),
        ("last Friday", 4, lambda d: (d + dt.timedelta(days=7)).month != d.month),
    ):
        panel = {"cadence": "monthly", "monthly_on": monthly_on, "first_sitting_day": 0}
        dates = [start + dt.timedelta(days=d) for d in panel_days(panel)]
        assert len(dates) >= 5
        assert all(d.weekday() == weekday and week_ok(d) for d in dates), (monthly_on, dates)
        months = [d.year * 12 + d.month for d in dates]
        assert months == list(range(months[0], months[0] + len(months)))
    first_tuesdays = panel_days({"cadence": "monthly", "monthly_on": "first Tuesday",
                                 "first_sitting_day": 0})  # fmt: skip
    assert [start + dt.timedelta(days=d) for d in first_tuesdays][:3] == [
        dt.date(2016, 3, 1),
        dt.date(2016, 4, 5),
        dt.date(2016, 5, 3),
    ]


@pytest.mark.parametrize(
    ("panel", "match"),
    [
        ({"cadence": "monthly", "monthly_on": "first Tuesdy"}, "expected a week and a weekday"),
        ({"cadence": "weekly", "monthly_on": "first Tuesday"}, "needs cadence = 'monthly'"),
    ],
)
def test_a_bad_monthly_on_is_one_named_error(panel: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        make_scenario({"signoff": {"mode": "panel", "panel": panel}})
    assert "\n" not in str(info.value) and "signoff.panel" in str(info.value)


def test_a_fortnightly_cadence_is_every_14_days() -> None:
    assert panel_days({"cadence": "fortnightly", "first_sitting_day": 3}) == panel_days(
        {"interval_days": 14, "first_sitting_day": 3}
    )


def test_cadence_and_interval_together_are_refused() -> None:
    with pytest.raises(ConfigError, match="signoff.panel: .*cadence 'weekly' and interval_days"):
        make_scenario({"signoff": {"mode": "panel", "panel": {"cadence": "weekly",
                                                              "interval_days": 7}}})  # fmt: skip


def test_the_declined_share_of_the_budget_reduces_the_amount_and_refuses_no_one() -> None:
    """P35 is a share of the requested amount (issue 12, item 4), not a refusal of the budget."""
    fixed = {"budget_amount_gbp": {"dist": "fixed", "value": 1000}, "budget_probability": 1.0}
    base = {"cohorts": {"ltc": fixed, "mh": fixed}}
    people = run_scenario(make_scenario(base)).people
    declining = {**base, "signoff": {"budget_declined_share": 0.15}}
    cut = run_scenario(make_scenario(declining)).people
    assert "budget_declined" not in set(cut.exit_reason.astype(str))
    # The same people reach the same milestones; only the agreed amount is smaller.
    assert cut.budget_agreed_day.equals(people.budget_agreed_day)
    agreed = cut.budget_agreed_day.notna()
    assert agreed.sum() > 20
    assert cut.budget_amount_gbp[agreed].to_numpy() == pytest.approx(850.0)


@pytest.mark.parametrize("gap_days", [10, 60])
def test_increases_closer_than_the_recruitment_lag_hire_the_difference_once(
    gap_days: int,
) -> None:
    """1 planner, then 3 posts from day 31 and 5 from day 31 + gap, with a 30-day lag: 5 in
    post once both waves arrive, whether the second is decided during the first's lag (the
    posts being recruited count towards it) or after it."""
    first = 31
    role = {
        "headcount": 1,
        "contracted_hours_per_week": 168.0,
        "ipc_share": 1.0,
        "leave_share": 0.0,
        "recruitment_lag_days": 30.0,
        "training_days": 0.0,
        "new_starter_productivity": 1.0,
        "changes": [
            {"date": date_after(first), "headcount": 3},
            {"date": date_after(first + gap_days), "headcount": 5},
        ],
    }
    result = run_scenario(
        make_scenario(
            {"run": {"calendar": "continuous", "horizon_days": 214}, "workforce": {"planner": role}}
        )
    )
    capacity = result.frames["capacity"]
    planner = capacity[capacity["role"] == "planner"]
    last = planner.iloc[-1]  # October 2016: both waves arrived by day 121 at the latest
    hours_per_person = 24.0 * (last["month_end_day"] - last["month_start_day"])
    assert last["month_start_day"] >= first + gap_days + 30
    assert last["available_hours"] == pytest.approx(5 * hours_per_person)
