"""Service levels: parsing and judging on hand-made replication values."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from ipcsim.analysis.service_levels import judge, min_replications, parse_service_level
from ipcsim.errors import ConfigError


def test_a_service_level_reads_its_requirement() -> None:
    level = parse_service_level("share_seen_within_8w >= 0.9")
    assert (level.kpi, level.target.value, level.target.direction) == (
        "share_seen_within_8w",
        0.9,
        "higher",
    )
    assert level.share is None and level.confidence == 0.95
    level = parse_service_level(
        "wait_referral_to_sign_off_p90 <= 56 in at least 90% of replications with 80% confidence"
    )
    assert level.target.direction == "lower" and level.target.value == 56
    assert level.share == pytest.approx(0.9) and level.confidence == pytest.approx(0.8)
    with pytest.raises(ConfigError, match="between 0 and 100"):
        parse_service_level("x <= 1 in 150% of replications")


def test_the_mean_is_met_when_its_one_sided_bound_meets_the_target() -> None:
    level = parse_service_level("wait_x_p90 <= 10")
    values = [8.0, 9.0, 8.5, 9.5]
    bound = 8.75 + stats.t.ppf(0.95, 3) * stats.tstd(values) / 2
    verdict = judge(level, values)
    assert verdict.status == "met"
    assert verdict.bound == pytest.approx(bound)
    assert judge(level, [11.0, 12.0, 11.5]).status == "missed"
    assert judge(level, [6.0, 14.0, 9.0]).status == "undecided"
    assert judge(level, [8.0, math.nan, 9.0]).status == "missed"


def test_a_share_of_replications_needs_its_clopper_pearson_bound() -> None:
    level = parse_service_level("wait_x_p90 <= 10 in 90% of replications")
    assert min_replications(0.9, 0.95) == 29
    assert judge(level, [5.0] * 28).status == "undecided"
    assert judge(level, [5.0] * 29).status == "met"
    assert judge(level, [5.0] * 5 + [20.0] * 5).status == "missed"
