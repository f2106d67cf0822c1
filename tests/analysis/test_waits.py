"""Waits that count the people still waiting: product-limit estimates, by hand and by theorem."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import CensoredData, ecdf

from ipcsim.analysis.waits import (
    CensoredWaits,
    censored_waits,
    product_limit,
    share_within,
    wait_summary,
    waits_by_start_month,
)


def waits(
    lengths: list[float], completed: list[bool], starts: list[float] | None = None
) -> CensoredWaits:
    done = np.array(completed, dtype=bool)
    return CensoredWaits(
        start=np.zeros(len(lengths)) if starts is None else np.array(starts, dtype=float),
        length=np.array(lengths, dtype=float),
        completed=done,
        waiting=~done,
    )


# --------------------------------------------------------------------------- a known sample
# Seven waits: ended at 2, 4, 6 and 8 days; still waiting after 3, 5 and 7 days. By hand:
#   t = 2: 7 at risk, S = 6/7
#   t = 4: 5 at risk (2 ended, 3 censored), S = 6/7 * 4/5 = 24/35
#   t = 6: 3 at risk, S = 24/35 * 2/3 = 16/35 (first below 1/2: the median is 6)
#   t = 8: 1 at risk, S = 0 (first below 1/10: the 90th percentile is 8)
# Area under S to 8 days: 2 * (1 + 6/7 + 24/35 + 16/35) = 6 days.
KNOWN = waits([2, 3, 4, 5, 6, 7, 8], [True, False, True, False, True, False, True])


def test_product_limit_of_a_known_censored_sample() -> None:
    times, survival = product_limit(KNOWN.length, KNOWN.completed)
    assert list(times) == [2, 3, 4, 5, 6, 7, 8]
    expected = [6 / 7, 6 / 7, 24 / 35, 24 / 35, 16 / 35, 16 / 35, 0.0]
    assert survival == pytest.approx(expected)


def test_median_p90_and_restricted_mean_of_a_known_censored_sample() -> None:
    stats = wait_summary(KNOWN, horizon_days=100.0)
    assert stats["p50"] == 6.0
    assert stats["p90"] == 8.0
    assert stats["mean"] == pytest.approx(6.0)
    assert stats["restricted_to_days"] == 8.0
    assert (stats["started"], stats["completed"], stats["still_waiting"]) == (7, 4, 3)
    assert stats["longest_waiting"] == 7.0
    # the completed waits alone (2, 4, 6, 8) understate it: median 5
    assert stats["completed_only"] == pytest.approx({"mean": 5.0, "p50": 5.0, "p90": 7.4, "n": 4})


def test_a_percentile_not_reached_is_unknown_not_guessed() -> None:
    # half still waiting after 10 days: S never falls below 1/2
    stats = wait_summary(waits([1, 10, 10], [True, False, False]), horizon_days=10.0)
    assert stats["p50"] is None and stats["p90"] is None
    assert stats["mean"] == pytest.approx(1 + 9 * 2 / 3)  # a lower bound, to 10 days
    nobody = wait_summary(waits([4, 5], [False, False]), horizon_days=10.0)
    assert nobody["p50"] is None and nobody["mean"] is None and nobody["still_waiting"] == 2


@given(
    st.lists(
        st.floats(min_value=0.0, max_value=1e4, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=40,
    )
)
def test_without_censoring_the_estimates_are_the_sample_statistics(lengths: list[float]) -> None:
    # A theorem: with every wait observed, S is one minus the empirical distribution, so its
    # quantiles are the sample's (inverted CDF) and the area under it is the sample mean.
    stats = wait_summary(waits(lengths, [True] * len(lengths)), horizon_days=1e5)
    values = np.array(lengths)
    assert stats["p50"] == float(np.quantile(values, 0.5, method="inverted_cdf"))
    assert stats["p90"] == float(np.quantile(values, 0.9, method="inverted_cdf"))
    assert stats["mean"] == pytest.approx(float(values.mean()), rel=1e-9, abs=1e-9)


@given(
    st.lists(
        st.tuples(
            st.floats(min_value=0.0, max_value=1e3, allow_nan=False, allow_infinity=False),
            st.booleans(),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_counting_those_still_waiting_never_shortens_the_median(
    sample: list[tuple[float, bool]],
) -> None:
    # A theorem: treating every censored wait as ended at its censoring time gives a survival
    # curve below the product-limit one, so its quantiles are no later.
    lengths = [s[0] for s in sample]
    done = [s[1] for s in sample]
    censored = wait_summary(waits(lengths, done), horizon_days=1e4)
    naive = wait_summary(waits(lengths, [True] * len(lengths)), horizon_days=1e4)
    for q in ("p50", "p90"):
        if censored[q] is not None:
            assert censored[q] >= naive[q]


# --------------------------------------------------------------------------- from people
def people(rows: list[dict[str, float]]) -> pd.DataFrame:
    columns = ["referred_day", "first_conversation_day", "end_day"]
    return pd.DataFrame([{c: row.get(c, math.nan) for c in columns} for row in rows])


def test_censoring_at_the_horizon_and_when_leaving() -> None:
    frame = people(
        [
            {"referred_day": 0.0, "first_conversation_day": 10.0},
            {"referred_day": 0.0, "end_day": 4.0},  # withdrew on day 4
            {"referred_day": 30.0},  # still waiting at the horizon, 70 days so far
            {"referred_day": 90.0, "first_conversation_day": 120.0},  # booked after it
            {"referred_day": 150.0},  # referred after the horizon: not counted
        ]
    )
    found = censored_waits(frame, "referral_to_first_conversation", horizon_days=100.0)
    assert list(found.length) == [10.0, 4.0, 70.0, 10.0]
    assert list(found.completed) == [True, False, False, False]
    assert list(found.waiting) == [False, False, True, True]
    assert list(found.left) == [False, True, False, False]


def test_share_within_counts_only_people_followed_that_long() -> None:
    found = waits(
        [5, 20, 3, 12, 1],
        [True, True, False, False, False],
        starts=[0, 0, 0, 0, 95],
    )
    found = CensoredWaits(
        start=found.start,
        length=found.length,
        completed=found.completed,
        waiting=np.array([False, False, False, True, True]),
    )
    # within 7 days, followed: the first four (started by day 93). Person 3 left on day 3
    # unseen: not counted. Of 1, 2 and 4, only 1 was seen in 7 days.
    assert share_within(found, 7.0, horizon_days=100.0) == pytest.approx(1 / 3)
    assert share_within(found, 200.0, horizon_days=100.0) is None


def test_waits_by_month_of_referral() -> None:
    start = dt.date(2016, 4, 1)  # April has 30 days, May 31
    frame = people(
        [
            {"referred_day": 1.0, "first_conversation_day": 11.0},
            {"referred_day": 2.0, "first_conversation_day": 32.0},
            {"referred_day": 31.0, "first_conversation_day": 41.0},
            {"referred_day": 40.0},
        ]
    )
    series = waits_by_start_month(
        frame, "referral_to_first_conversation", start_date=start, horizon_days=65.0,
        within_weeks=(2.0, 8.0),
    )  # fmt: skip
    assert list(series["started"]) == [2, 2, 0]
    assert list(series["still_waiting"]) == [0, 1, 0]
    assert series["p50"][0] == 10.0 and series["p50"][1] == 10.0 and np.isnan(series["p50"][2])
    # April's people were followed for 2 weeks (April ends on day 30, 31 days before the end)
    assert series["share_within_2w"][0] == pytest.approx(0.5)
    # May ends on day 61, 4 days before the end: not followed 2 weeks; 8 weeks: no month
    assert np.isnan(series["share_within_2w"][1])
    assert np.isnan(series["share_within_8w"]).all()


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=30).map(float), st.booleans()),
        min_size=1,
        max_size=60,
    )
)
def test_the_curve_is_scipys_product_limit_estimate(sample: list[tuple[float, bool]]) -> None:
    # the same estimator as scipy.stats.ecdf on censored data (ties included: whole days)
    lengths = np.array([s[0] for s in sample])
    done = np.array([s[1] for s in sample])
    times, survival = product_limit(lengths, done)
    if not done.any():
        assert (survival == 1.0).all()
        return
    curve = ecdf(CensoredData(uncensored=lengths[done], right=lengths[~done])).sf
    assert times == pytest.approx(curve.quantiles)
    assert survival == pytest.approx(curve.probabilities, abs=1e-12)
