"""Statistics across replications: CIs, paired differences, replications, warm-up.

Confidence intervals, paired differences, how many replications, and how long a warm-up.

Pure functions on arrays of per-replication values (one value per replication, NaN where a
KPI is undefined in that replication, e.g. a wait nobody completed). Nothing here runs the
model, prints or keeps state.

Notes
-----
Confidence intervals are Student-t intervals on the mean of independent replications. A paired
difference uses the replications both scenarios have (same replication number, so with common
random numbers the same referrals with the same draws), and its variance reduction is the
variance the difference would have with independent streams, ``s_a^2 + s_b^2``, over the
variance of the paired differences, ``s_d^2``; with positive correlation between the two
scenarios' outputs it exceeds 1.

References
----------
.. [1] Law, A. M. (2015). *Simulation Modeling and Analysis*, 5th ed., ch. 9-10 (t intervals,
   paired-t comparisons, common random numbers).
.. [2] Hoad, K., Robinson, S. and Davies, R. (2010). Automated selection of the number of
   replications for a discrete-event simulation. *Journal of the Operational Research
   Society* 61(11), 1632-1644.
.. [3] White, K. P., Cobb, M. J. and Spratt, S. C. (2000). A comparison of five steady-state
   truncation heuristics for simulation. *Proceedings of the 2000 Winter Simulation
   Conference*, 755-760 (MSER-5).
.. [4] Hoad, K., Robinson, S. and Davies, R. (2011). AutoSimOA: a framework for automated
   analysis of simulation output. *Journal of Simulation* 5(1), 9-24 (MSER-5 on the mean of
   replications, truncation restricted to the first half of the series).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "IntervalEstimate",
    "MserResult",
    "PairedEstimate",
    "hoad_lower_bound",
    "hoad_look_ahead",
    "hoad_solution",
    "mean_ci",
    "mean_series",
    "mser",
    "paired_ci",
    "relative_half_width",
]


@dataclass(frozen=True)
class IntervalEstimate:
    """Mean of replications with its t confidence interval.

    Attributes
    ----------
    mean, sd
        Sample mean and standard deviation (``ddof=1``; NaN with fewer than 2 values).
    n
        Number of replications with a value (NaN values are left out).
    ci_low, ci_high, half_width
        The interval ``mean -/+ t_{n-1, 1-alpha/2} sd / sqrt(n)`` (NaN with fewer than 2
        values; zero width when every value is equal).
    """

    mean: float
    sd: float
    n: int
    ci_low: float
    ci_high: float
    half_width: float


@dataclass(frozen=True)
class PairedEstimate:
    """Mean of paired differences (scenario minus baseline) with its t interval.

    Attributes
    ----------
    mean_diff, sd_diff, n, ci_low, ci_high, half_width
        As :class:`IntervalEstimate`, for the differences of the ``n`` complete pairs.
    variance_reduction
        ``(s_a^2 + s_b^2) / s_d^2`` over the same pairs: how many times smaller the variance
        of the difference is than it would be with independent streams (NaN with fewer than
        2 pairs or when every variance is 0; infinity when only ``s_d`` is 0).
    """

    mean_diff: float
    sd_diff: float
    n: int
    ci_low: float
    ci_high: float
    half_width: float
    variance_reduction: float


def _finite(values: Sequence[float] | np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"expected a 1-D sequence of values, got shape {array.shape}")
    return array[~np.isnan(array)]


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")


def _t_quantile(n: int, confidence: float) -> float:
    # Imported here: scipy.stats takes a second to import, and workers never need it.
    from scipy import stats as sps

    return float(sps.t.ppf(0.5 + confidence / 2.0, df=n - 1))


def mean_ci(values: Sequence[float] | np.ndarray, *, confidence: float = 0.95) -> IntervalEstimate:
    """Mean of replications and its Student-t confidence interval.

    Parameters
    ----------
    values
        One value per replication; NaN values are left out.
    confidence
        Confidence level of the interval, e.g. 0.95.

    Returns
    -------
    IntervalEstimate
        Mean, sd, n and the interval (NaN where fewer than 2 values make it undefined).
    """
    _check_confidence(confidence)
    x = _finite(values)
    n = int(x.size)
    if n == 0:
        return IntervalEstimate(math.nan, math.nan, 0, math.nan, math.nan, math.nan)
    mean = float(np.mean(x))
    if n == 1:
        return IntervalEstimate(mean, math.nan, 1, math.nan, math.nan, math.nan)
    sd = float(np.std(x, ddof=1))
    half = _t_quantile(n, confidence) * sd / math.sqrt(n)
    return IntervalEstimate(mean, sd, n, mean - half, mean + half, half)


def paired_ci(
    scenario: Sequence[float] | np.ndarray,
    baseline: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.95,
) -> PairedEstimate:
    """Paired-t interval of ``scenario - baseline`` and the variance reduction achieved.

    Parameters
    ----------
    scenario, baseline
        Values of the same replications (element ``i`` of each is replication ``i``); a pair
        with a NaN on either side is left out.
    confidence
        Confidence level, e.g. 0.95.

    Returns
    -------
    PairedEstimate
        The mean difference, its interval and ``variance_reduction``.
    """
    a = np.asarray(scenario, dtype=float)
    b = np.asarray(baseline, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired values need equal 1-D shapes, got {a.shape} and {b.shape}")
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    diff = mean_ci(a - b, confidence=confidence)
    reduction = math.nan
    if a.size >= 2:
        independent = float(np.var(a, ddof=1) + np.var(b, ddof=1))
        d = a - b
        # Differences equal up to rounding (a spread within a few ulps of the values) have no
        # variance: their float noise would give a ratio of about 1e31.
        scale = float(max(np.abs(a).max(), np.abs(b).max()))
        rounding = float(np.ptp(d)) <= 8 * np.finfo(float).eps * scale
        paired = 0.0 if rounding else float(np.var(d, ddof=1))
        if paired > 0:
            reduction = independent / paired
        elif independent > 0:
            reduction = math.inf
    return PairedEstimate(
        mean_diff=diff.mean,
        sd_diff=diff.sd,
        n=diff.n,
        ci_low=diff.ci_low,
        ci_high=diff.ci_high,
        half_width=diff.half_width,
        variance_reduction=reduction,
    )


# --------------------------------------------------------------------------- replications
def relative_half_width(values: Sequence[float] | np.ndarray, *, confidence: float = 0.95) -> float:
    """Half-width of the t interval over the absolute mean: ``d_n`` of Hoad et al. [2]_.

    Returns
    -------
    float
        ``t s / (sqrt(n) |mean|)``; 0 when every value is equal; infinity when the mean is 0
        and the values are not all equal, or with fewer than 2 values.
    """
    estimate = mean_ci(values, confidence=confidence)
    if estimate.n < 2:
        return math.inf
    if estimate.half_width == 0:
        return 0.0
    if estimate.mean == 0:
        return math.inf
    return estimate.half_width / abs(estimate.mean)


def hoad_look_ahead(n_solution: int, k_limit: int = 5) -> int:
    """Replications past a candidate solution that must keep the precision: ``f(Nsol)``.

    ``k_limit`` while ``Nsol <= 100``, then ``floor(k_limit * Nsol / 100)`` (Hoad et al. [2]_).
    """
    if n_solution <= 100:
        return k_limit
    return (k_limit * n_solution) // 100


def _precise(
    values: np.ndarray, *, precision: float, confidence: float, initial: int
) -> np.ndarray:
    """``ok[n]`` is True when the first ``n`` replications meet the precision (``n >= initial``)."""
    ok = np.zeros(values.size + 1, dtype=bool)
    for n in range(max(initial, 2), values.size + 1):
        ok[n] = relative_half_width(values[:n], confidence=confidence) <= precision
    return ok


def hoad_solution(
    values: Sequence[float] | np.ndarray,
    *,
    precision: float,
    confidence: float = 0.95,
    initial: int = 3,
    k_limit: int = 5,
) -> int | None:
    """Replications the Hoad-Robinson-Davies algorithm recommends, if it has converged.

    Parameters
    ----------
    values
        One output per replication, in replication order (NaN counts as a replication
        without a value).
    precision
        Largest acceptable relative half-width ``d_n`` of the confidence interval, e.g. 0.05.
    confidence
        Confidence level of the interval.
    initial
        Replications run before the first check (the algorithm starts at 3).
    k_limit
        Look-ahead: the solution must keep the precision for ``f(Nsol)`` more replications
        (:func:`hoad_look_ahead`).

    Returns
    -------
    int or None
        The smallest ``Nsol >= initial`` such that ``d_n <= precision`` for every ``n`` in
        ``Nsol .. Nsol + f(Nsol)``, all within ``len(values)``; ``None`` when no candidate has
        been confirmed yet (run more replications).

    Notes
    -----
    Run sequentially, the algorithm adds one replication at a time and stops at the first
    ``n`` at which a candidate is confirmed; this function gives the same answer from the
    whole sequence, so it can be re-run on the replications a resumed batch finds on disk.
    """
    x = np.asarray(values, dtype=float)
    ok = _precise(x, precision=precision, confidence=confidence, initial=initial)
    for n_sol in range(max(initial, 2), x.size + 1):
        end = n_sol + hoad_look_ahead(n_sol, k_limit)
        if end > x.size:
            return None
        if bool(np.all(ok[n_sol : end + 1])):
            return n_sol
    return None


def hoad_lower_bound(
    values: Sequence[float] | np.ndarray,
    *,
    precision: float,
    confidence: float = 0.95,
    initial: int = 3,
    k_limit: int = 5,
) -> int:
    """Fewest replications the algorithm can still stop at, given the ones run so far.

    Returns
    -------
    int
        ``N + f(N)`` for the earliest candidate ``N >= initial`` not yet ruled out (a
        candidate is ruled out once some ``n`` in ``N .. N + f(N)`` already run misses the
        precision). The sequential algorithm cannot stop before it, so every replication
        below the bound can be submitted at once with the same result as adding them one at
        a time. A bound ``<= len(values)`` means the algorithm has converged and stopped
        exactly there.

    Notes
    -----
    ``N + f(N)`` increases with ``N``, so the earliest surviving candidate gives the earliest
    possible stop.
    """
    x = np.asarray(values, dtype=float)
    start = max(initial, 2)
    if x.size < start:
        return start + hoad_look_ahead(start, k_limit)
    ok = _precise(x, precision=precision, confidence=confidence, initial=initial)
    for n_sol in range(start, x.size + 2):
        end = n_sol + hoad_look_ahead(n_sol, k_limit)
        seen = ok[n_sol : min(end, x.size) + 1]
        if bool(np.all(seen)):
            return max(end, start)
    return x.size + 1 + hoad_look_ahead(x.size + 1, k_limit)


# --------------------------------------------------------------------------- warm-up
@dataclass(frozen=True)
class MserResult:
    """Where MSER truncates a series.

    Attributes
    ----------
    truncation
        Observations to delete from the start (a multiple of the batch size).
    batches
        Batches deleted, ``d*``.
    statistic
        ``MSER(d)`` for ``d = 0 .. len(statistic) - 1`` (the half of the batches searched).
    at_limit
        True when ``d*`` is the last batch searched: the series may still be in its
        transient, and a longer run is advisable.
    """

    truncation: int
    batches: int
    statistic: tuple[float, ...]
    at_limit: bool


def mser(series: Sequence[float] | np.ndarray, *, batch_size: int = 5) -> MserResult:
    """Truncation point of the initial transient by MSER (MSER-5 with ``batch_size=5``).

    Parameters
    ----------
    series
        An output series in time order, e.g. the mean over replications of a weekly KPI. It
        must not hold NaN (drop empty periods first).
    batch_size
        Observations per batch; the batch means ``Z_1 .. Z_m`` are analysed (a remainder
        at the end of the series is dropped).

    Returns
    -------
    MserResult
        ``d* = argmin_d MSER(d)`` over ``d = 0 .. floor(m / 2)``, where
        ``MSER(d) = sum_{j > d} (Z_j - mean(Z_{d+1..m}))^2 / (m - d)^2``, and the truncation
        ``batch_size * d*``. Ties go to the smallest ``d``.

    Raises
    ------
    ValueError
        If the series holds NaN, or has fewer than two batches.

    Notes
    -----
    The search stops at half the batches, because the statistic becomes unstable as few
    batches remain [4]_.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    y = np.asarray(series, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"expected a 1-D series, got shape {y.shape}")
    if np.isnan(y).any():
        raise ValueError("the series holds NaN; drop empty periods before MSER")
    m = y.size // batch_size
    if m < 2:
        raise ValueError(
            f"MSER needs at least {2 * batch_size} observations ({batch_size} per batch), "
            f"got {y.size}"
        )
    batches = y[: m * batch_size].reshape(m, batch_size).mean(axis=1)
    last = m // 2
    statistic = []
    for d in range(last + 1):
        tail = batches[d:]
        statistic.append(float(np.sum((tail - tail.mean()) ** 2) / tail.size**2))
    best = int(np.argmin(statistic))
    return MserResult(
        truncation=best * batch_size,
        batches=best,
        statistic=tuple(statistic),
        at_limit=best == last and last > 0,
    )


def mean_series(
    replications: Sequence[Sequence[float]] | Mapping[int, Sequence[float]],
) -> np.ndarray:
    """Mean over replications of equally long series, period by period (NaN ignored).

    Returns
    -------
    ndarray
        One value per period; NaN where no replication has a value.
    """
    rows = list(replications.values()) if isinstance(replications, Mapping) else replications
    if not rows:
        return np.zeros(0)
    matrix = np.asarray(rows, dtype=float)
    if matrix.ndim != 2:
        raise ValueError("every replication's series must have the same length")
    counts = np.sum(~np.isnan(matrix), axis=0)
    sums = np.nansum(matrix, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
