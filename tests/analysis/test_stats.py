"""Across-replication statistics and sensitivity designs, on constructed data with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from ipcsim.analysis import sensitivity, stats

# --------------------------------------------------------------------------- t intervals


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_mean_ci_matches_scipy_t_interval(confidence: float) -> None:
    values = np.random.default_rng(3).normal(40.0, 6.0, size=12)
    est = stats.mean_ci(values, confidence=confidence)
    low, high = sps.t.interval(
        confidence, df=values.size - 1, loc=values.mean(), scale=sps.sem(values)
    )
    assert est.n == 12
    assert est.mean == pytest.approx(values.mean(), rel=1e-12)
    assert est.sd == pytest.approx(values.std(ddof=1), rel=1e-12)
    assert est.ci_low == pytest.approx(low, rel=1e-12)
    assert est.ci_high == pytest.approx(high, rel=1e-12)
    assert est.half_width == pytest.approx((high - low) / 2, rel=1e-12)


def test_mean_ci_ignores_nan_and_handles_tiny_samples() -> None:
    est = stats.mean_ci([1.0, np.nan, 3.0])
    assert est.n == 2
    assert est.mean == 2.0
    one = stats.mean_ci([5.0])
    assert (one.n, one.mean) == (1, 5.0)
    assert math.isnan(one.sd) and math.isnan(one.half_width)
    none = stats.mean_ci([np.nan])
    assert none.n == 0 and math.isnan(none.mean)
    flat = stats.mean_ci([2.0, 2.0, 2.0])
    assert flat.half_width == 0.0 and flat.ci_low == flat.ci_high == 2.0


def test_mean_ci_rejects_bad_confidence() -> None:
    with pytest.raises(ValueError, match="confidence"):
        stats.mean_ci([1.0, 2.0], confidence=95)


# --------------------------------------------------------------------------- paired


def test_paired_ci_is_a_t_interval_of_the_differences() -> None:
    rng = np.random.default_rng(8)
    common = rng.normal(30.0, 5.0, size=10)
    baseline = common + rng.normal(0.0, 0.5, size=10)
    scenario = common - 3.0 + rng.normal(0.0, 0.5, size=10)
    est = stats.paired_ci(scenario, baseline)
    diff = scenario - baseline
    low, high = sps.t.interval(0.95, df=9, loc=diff.mean(), scale=sps.sem(diff))
    assert est.mean_diff == pytest.approx(diff.mean(), rel=1e-12)
    assert (est.ci_low, est.ci_high) == (pytest.approx(low), pytest.approx(high))
    expected = (scenario.var(ddof=1) + baseline.var(ddof=1)) / diff.var(ddof=1)
    assert est.variance_reduction == pytest.approx(expected, rel=1e-12)
    # Strongly correlated outputs: pairing removes most of the variance.
    assert est.variance_reduction > 10


def test_paired_ci_drops_incomplete_pairs_and_flags_degenerate_variance() -> None:
    est = stats.paired_ci([1.0, 2.0, np.nan, 4.0], [0.0, 1.0, 5.0, 3.0])
    assert est.n == 3
    assert est.mean_diff == 1.0 and est.half_width == 0.0
    assert est.variance_reduction == math.inf
    assert math.isnan(stats.paired_ci([1.0], [1.0]).variance_reduction)


def test_paired_ci_differences_equal_up_to_rounding_have_no_variance() -> None:
    # 0.1 + x - x is not exactly 0.1 for every x: the differences differ by an ulp or two,
    # which gave a variance reduction of about 1e31 instead of "infinite".
    baseline = np.array([0.3, 1.7, 2.9, 11.3])
    scenario = baseline + 0.1
    assert np.ptp(scenario - baseline) > 0  # the rounding this is about
    assert stats.paired_ci(scenario, baseline).variance_reduction == math.inf
    with pytest.raises(ValueError, match="equal"):
        stats.paired_ci([1.0, 2.0], [1.0])


# --------------------------------------------------------------------------- Hoad et al.


def _sequential_hoad(
    values: np.ndarray, *, precision: float, initial: int, k_limit: int
) -> tuple[int, int] | None:
    """Hoad, Robinson and Davies' algorithm as published: one replication at a time.

    Returns ``(Nsol, replications run when it stops)``, or ``None`` if it has not stopped.
    """
    n_sol: int | None = None
    for n in range(initial, values.size + 1):
        x = values[:n]
        half = sps.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n)
        d = 0.0 if half == 0 else half / abs(x.mean())
        if d <= precision:
            if n_sol is None:
                n_sol = n
            if n >= n_sol + stats.hoad_look_ahead(n_sol, k_limit):
                return n_sol, n
        else:
            n_sol = None
    return None


def test_hoad_constant_output_stops_after_initial_plus_look_ahead() -> None:
    values = np.full(20, 7.0)
    assert stats.hoad_solution(values[:7], precision=0.01) is None
    assert stats.hoad_solution(values[:8], precision=0.01) == 3
    assert stats.hoad_lower_bound(values[:4], precision=0.01) == 8
    assert stats.hoad_lower_bound(values[:8], precision=0.01) == 8


def test_hoad_look_ahead_function() -> None:
    assert stats.hoad_look_ahead(3) == 5
    assert stats.hoad_look_ahead(100) == 5
    assert stats.hoad_look_ahead(240) == 12
    assert stats.hoad_look_ahead(240, k_limit=10) == 24


def test_hoad_outlier_resets_the_candidate() -> None:
    # Precise from n = 3, then an outlier at replication 6 breaks the precision for a while:
    # the first candidate (3) is ruled out and a later one must be confirmed.
    values = np.array([100.0, 101.0, 99.0, 100.0, 100.5, 160.0] + [100.0] * 60)
    oracle = _sequential_hoad(values, precision=0.05, initial=3, k_limit=5)
    assert oracle is not None
    n_sol, stop = oracle
    assert n_sol > 6
    assert stats.hoad_solution(values[:stop], precision=0.05) == n_sol
    assert stats.hoad_solution(values[: stop - 1], precision=0.05) is None


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("precision", [0.03, 0.06])
def test_hoad_matches_the_sequential_algorithm(seed: int, precision: float) -> None:
    rng = np.random.default_rng(seed)
    values = rng.lognormal(mean=3.0, sigma=0.15, size=200)
    oracle = _sequential_hoad(values, precision=precision, initial=3, k_limit=5)
    assert oracle is not None
    n_sol, stop = oracle
    assert stats.hoad_solution(values[:stop], precision=precision) == n_sol
    # The lower bound never overshoots the stop, so batches of replications give the same
    # answer as adding them one at a time; it reaches the stop exactly when converged.
    for m in [*range(0, stop, 7), stop - 1]:
        bound = stats.hoad_lower_bound(values[:m], precision=precision)
        assert m < bound <= stop
    assert stats.hoad_lower_bound(values[:stop], precision=precision) == stop
    # It stops at the precision asked, over the whole look-ahead.
    for n in range(n_sol, stop + 1):
        assert stats.relative_half_width(values[:n]) <= precision


def test_relative_half_width_edge_cases() -> None:
    assert stats.relative_half_width([1.0]) == math.inf
    assert stats.relative_half_width([0.0, 0.0, 0.0]) == 0.0
    assert stats.relative_half_width([-1.0, 1.0, 0.0]) == math.inf


# --------------------------------------------------------------------------- MSER-5


def test_mser_finds_the_end_of_a_step_transient() -> None:
    rng = np.random.default_rng(1)
    series = np.concatenate([np.full(50, 10.0), rng.normal(0.0, 1.0, size=250)])
    found = stats.mser(series)
    assert found.truncation == 50
    assert found.batches == 10
    assert not found.at_limit


def test_mser_on_constant_batches_has_an_exact_minimum() -> None:
    # Batch means 5, 5, 0, 0, 0, 0, 0, 0: deleting two batches leaves zero variance.
    series = np.repeat([5.0, 5.0, 0, 0, 0, 0, 0, 0], 5)
    found = stats.mser(series)
    assert found.batches == 2 and found.truncation == 10
    assert found.statistic[2] == 0.0
    assert len(found.statistic) == 5  # d = 0 .. m / 2


def test_mser_finds_a_decaying_transient() -> None:
    rng = np.random.default_rng(5)
    t = np.arange(400)
    series = 30.0 * np.exp(-t / 15.0) + rng.normal(0.0, 1.0, size=t.size)
    found = stats.mser(series)
    # 30 exp(-t/15) falls below the noise sd (1) at t = 15 ln 30 = 51.
    assert 25 <= found.truncation <= 75


def test_mser_flags_a_transient_longer_than_half_the_run() -> None:
    series = np.linspace(100.0, 0.0, 100)
    assert stats.mser(series).at_limit


def test_mser_rejects_nan_and_short_series() -> None:
    with pytest.raises(ValueError, match="NaN"):
        stats.mser([1.0] * 9 + [np.nan])
    with pytest.raises(ValueError, match="at least 10"):
        stats.mser([1.0] * 9)


def test_mean_series_averages_replications_ignoring_nan() -> None:
    averaged = stats.mean_series([[1.0, np.nan, 3.0], [3.0, np.nan, np.nan]])
    assert averaged[0] == 2.0 and np.isnan(averaged[1]) and averaged[2] == 3.0


# --------------------------------------------------------------------------- designs


def test_full_grid_varies_the_last_factor_fastest() -> None:
    grid = sensitivity.full_grid({"a": [1, 2], "b": ["x", "y", "z"]})
    assert len(grid) == 6
    assert grid[0] == {"a": 1, "b": "x"} and grid[1] == {"a": 1, "b": "y"}
    assert grid[-1] == {"a": 2, "b": "z"}
    assert sensitivity.full_grid({}) == [{}]
    with pytest.raises(ValueError, match="no levels"):
        sensitivity.full_grid({"a": []})


RANGES = (
    sensitivity.FactorRange("a", 0.0, 1.0),
    sensitivity.FactorRange("b", 10.0, 20.0),
    sensitivity.FactorRange("c", -1.0, 1.0),
)
COEFFICIENTS = np.array([2.0, 0.5, -3.0])


def test_latin_hypercube_puts_one_point_in_each_stratum() -> None:
    matrix = sensitivity.design_matrix("latin", RANGES, samples=8, seed=4)
    assert matrix.shape == (8, 3)
    for column, r in enumerate(RANGES):
        strata = np.floor((matrix[:, column] - r.low) / (r.high - r.low) * 8).astype(int)
        assert sorted(strata) == list(range(8))


def test_morris_on_a_linear_model_gives_the_exact_elementary_effects() -> None:
    matrix = sensitivity.design_matrix("morris", RANGES, samples=6, seed=2, levels=4)
    assert matrix.shape == (6 * (3 + 1), 3)
    outputs = matrix @ COEFFICIENTS
    rows = sensitivity.analyse("morris", RANGES, matrix, outputs, seed=1, levels=4, resamples=50)
    found = {(r["parameter"], r["index"]): r["value"] for r in rows}
    for r, a in zip(RANGES, COEFFICIENTS, strict=True):
        assert found[(r.name, "mu_star")] == pytest.approx(abs(a) * (r.high - r.low), rel=1e-9)
        assert found[(r.name, "mu")] == pytest.approx(a * (r.high - r.low), rel=1e-9)
        assert found[(r.name, "sigma")] == pytest.approx(0.0, abs=1e-9)


def test_sobol_on_a_linear_model_matches_the_analytic_shares() -> None:
    matrix = sensitivity.design_matrix("sobol", RANGES, samples=1024, seed=3)
    assert matrix.shape == (1024 * (3 + 2), 3)
    outputs = matrix @ COEFFICIENTS
    rows = sensitivity.analyse("sobol", RANGES, matrix, outputs, seed=3, resamples=200)
    variances = np.array(
        [a**2 * (r.high - r.low) ** 2 / 12 for r, a in zip(RANGES, COEFFICIENTS, strict=True)]
    )
    shares = variances / variances.sum()
    for row in rows:
        share = shares[[r.name for r in RANGES].index(row["parameter"])]
        # An additive model: first-order and total indices are both the variance share.
        assert row["ci_low"] <= share <= row["ci_high"]
        assert row["value"] == pytest.approx(share, abs=0.03)


def test_sobol_on_ishigami_matches_the_analytic_indices() -> None:
    from SALib.test_functions import Ishigami

    pi = math.pi
    ranges = tuple(sensitivity.FactorRange(f"x{i}", -pi, pi) for i in (1, 2, 3))
    matrix = sensitivity.design_matrix("sobol", ranges, samples=4096, seed=11)
    rows = sensitivity.analyse(
        "sobol", ranges, matrix, Ishigami.evaluate(matrix), seed=11, resamples=200
    )
    # Analytic values for a = 7, b = 0.1 (Ishigami and Homma 1990; Sobol' 2003).
    analytic = {
        ("x1", "S1"): 0.3139,
        ("x2", "S1"): 0.4424,
        ("x3", "S1"): 0.0,
        ("x1", "ST"): 0.5576,
        ("x2", "ST"): 0.4424,
        ("x3", "ST"): 0.2437,
    }
    assert len(rows) == 6
    for row in rows:
        assert row["ci_low"] <= analytic[(row["parameter"], row["index"])] <= row["ci_high"]


def test_latin_analysis_ranks_factors_by_rank_correlation() -> None:
    matrix = sensitivity.design_matrix("latin", RANGES, samples=40, seed=9)
    rows = sensitivity.analyse("latin", RANGES, matrix, matrix @ COEFFICIENTS, seed=0)
    rho = {r["parameter"]: r["value"] for r in rows}
    assert rho["c"] < -0.5 < 0.5 < rho["b"]
    assert all(r["ci_low"] <= r["value"] <= r["ci_high"] for r in rows)


def test_integer_factors_are_rounded_and_bad_designs_refused() -> None:
    ranges = (sensitivity.FactorRange("n", 1.0, 4.0, integer=True),)
    matrix = sensitivity.design_matrix("latin", ranges, samples=5, seed=0)
    points = sensitivity.design_points(matrix, ranges)
    assert all(isinstance(p["n"], int) and 1 <= p["n"] <= 4 for p in points)
    with pytest.raises(ValueError, match="power of 2"):
        sensitivity.design_matrix("sobol", ranges, samples=6, seed=0)
    with pytest.raises(ValueError, match="low < high"):
        sensitivity.design_matrix("latin", (sensitivity.FactorRange("x", 2, 1),), samples=4, seed=0)
    with pytest.raises(ValueError, match="NaN"):
        sensitivity.analyse("latin", ranges, matrix, [1.0, np.nan, 1, 1, 1], seed=0)
