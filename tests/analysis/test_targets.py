"""Targets and the smallest level meeting them; readable scenario names (analysis layer)."""

from __future__ import annotations

import pandas as pd
import pytest

from ipcsim.analysis.labels import kpi_groups, level_words, scenario_label, scenario_labels
from ipcsim.analysis.targets import (
    Target,
    check_targets,
    main_factor,
    parse_target,
    recommend,
)
from ipcsim.errors import ConfigError

WAIT = "wait_referral_to_first_conversation_mean"
PLANS = "plans_signed_off_per_year"
FACTOR = "workforce.planner.headcount"
DEMAND = "cohorts.ltc.referrals_per_month"


def test_targets_read_the_direction_from_the_operator_or_the_name() -> None:
    assert parse_target(f"{WAIT}<=28") == Target(WAIT, 28.0, "lower", f"{WAIT}<=28")
    assert parse_target(f"{PLANS} >= 1,000").direction == "higher"
    assert parse_target(f"{PLANS}=500").direction == "higher"  # guessed from the name
    assert parse_target(f"{WAIT}=28").direction == "lower"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nonsense", "--target nonsense: expected KPI<=VALUE"),
        ("wait_x<=soon", "--target wait_x<=soon: 'soon' is not a number"),
        ("wait_x<=inf", "--target wait_x<=inf: 'inf' is not a finite number"),
    ],
)
def test_bad_targets_are_one_line_naming_the_option(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_target(text)
    assert "\n" not in str(info.value)


def test_a_target_on_an_unknown_kpi_suggests_the_closest() -> None:
    with pytest.raises(ConfigError, match=f"did you mean {WAIT}"):
        check_targets([parse_target("wait_referral_to_first_conversation_meen<=2")], [WAIT, PLANS])


def _summary() -> pd.DataFrame:
    """Planners 1-4 x demand 6 or 24: waits fall with planners, more at low demand."""
    rows = []
    for demand in (6.0, 24.0):
        for planners in (1, 2, 3, 4):
            wait = (40.0 if demand == 6 else 80.0) / planners
            sid = f"p{planners}-d{demand:g}"
            rows += [
                {"scenario": sid, "kpi": WAIT, "mean": wait, "ci_low": wait - 3,
                 "ci_high": wait + 3, FACTOR: planners, DEMAND: demand},
                {"scenario": sid, "kpi": PLANS, "mean": 10 * demand * min(1, planners / 2),
                 "ci_low": 0.0, "ci_high": 1e6, FACTOR: planners, DEMAND: demand},
            ]  # fmt: skip
    return pd.DataFrame(rows)


def test_recommend_gives_the_smallest_level_per_group_or_the_closest() -> None:
    summary = _summary()
    assert main_factor(summary, [DEMAND, FACTOR]) == FACTOR  # 4 levels beat 2
    target = parse_target(f"{WAIT}<=21")
    answers = recommend(summary, factor=FACTOR, targets=[target], others=[FACTOR, DEMAND])
    assert [dict(a.group) for a in answers] == [{DEMAND: 6.0}, {DEMAND: 24.0}]
    low, high = answers
    # 40 / 2 = 20 <= 21 at demand 6; 80 / 4 = 20 at demand 24.
    assert (low.met, low.level, low.scenario) == (True, 2.0, "p2-d6")
    assert low.estimates[WAIT] == (20.0, 17.0, 23.0)
    assert (high.met, high.level) == (True, 4.0)
    # By the whole CI (upper bound 23 > 21): 3 planners at demand 6, none at 24 (closest: 4).
    cautious = recommend(summary, factor=FACTOR, targets=[target], criterion="ci", others=[DEMAND])
    assert (cautious[0].met, cautious[0].level) == (True, 3.0)
    assert (cautious[1].met, cautious[1].level, cautious[1].scenario) == (False, 4.0, "p4-d24")


def test_recommend_answers_several_targets_together_first() -> None:
    targets = [parse_target(f"{WAIT}<=21"), parse_target(f"{PLANS}>=60")]
    answers = recommend(_summary(), factor=FACTOR, targets=targets, others=[DEMAND])
    first = answers[0]
    assert first.targets == tuple(targets) and dict(first.group) == {DEMAND: 6.0}
    # Plans >= 60 need 2 planners at demand 6 (60), the wait needs 2: together 2.
    assert (first.met, first.level) == (True, 2.0)
    assert [a.targets for a in answers[1:3]] == [(targets[0],), (targets[1],)]
    assert first.to_json()["estimates"][PLANS]["mean"] == 60.0


def test_scenario_names_are_words_built_from_the_levels_that_vary() -> None:
    assert level_words(FACTOR, 1) == "1 planner"
    assert level_words("workforce.mdt_coordinator.headcount", 3) == "3 MDT coordinators"
    assert level_words("signoff.panel.interval_days", 14.0) == "panel every 14 days"
    assert level_words("signoff.panel.max_plans_per_sitting", 6) == "6 plans a sitting"
    assert level_words("cohorts.ltc_frailty.referrals_per_month", 24.0) == (
        "24 LTC frailty referrals a month"
    )
    assert scenario_label({FACTOR: 3, "signoff.panel.interval_days": 14.0}) == (
        "3 planners, panel every 14 days"
    )
    frame = pd.DataFrame(
        {"scenario": ["s000", "s001"], FACTOR: [2, 3], "run.horizon_days": [365, 365]}
    )
    assert scenario_labels(frame, [FACTOR, "run.horizon_days"]) == {
        "s000": "2 planners",
        "s001": "3 planners",
    }
    many = pd.DataFrame({"scenario": ["s0", "s1"], **{f"a.b{i}": [0.1, 0.2] for i in range(4)}})
    assert scenario_labels(many, [f"a.b{i}" for i in range(4)]) == {"s0": "s0", "s1": "s1"}


def test_kpis_are_grouped_for_display() -> None:
    groups = kpi_groups(
        ["referred", PLANS, WAIT, "utilisation_planner", "staff_cost_per_person_gbp"]
    )
    assert [g for g, _ in groups] == [
        "People", "Throughput", "Waits", "Utilisation", "Staff time and cost",
    ]  # fmt: skip
