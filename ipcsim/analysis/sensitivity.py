"""Experimental designs over scenario factors, and the sensitivity indices they give.

Designs: a full grid of levels, or a design over ranges drawn with SALib: Latin hypercube,
Morris (elementary effects, trajectories) or Sobol (Saltelli's scheme on a scrambled Sobol
sequence, first- and total-order indices). Factors are dotted scenario keys, e.g.
``workforce.planner.headcount``; the design only produces their values, which
:mod:`ipcsim.experiment` turns into scenarios.

Notes
-----
A factor marked ``integer`` is rounded to the nearest whole number after sampling (a
headcount of 2.6 is 3), so the indices describe the model as a function of the rounded
values. The analysis itself is given the unrounded design, as SALib's estimators expect.

References
----------
.. [1] Morris, M. D. (1991). Factorial sampling plans for preliminary computational
   experiments. *Technometrics* 33(2), 161-174; Campolongo, F., Cariboni, J. and Saltelli,
   A. (2007). An effective screening design for sensitivity analysis of large models.
   *Environmental Modelling & Software* 22(10), 1509-1518 (``mu_star``).
.. [2] Saltelli, A. et al. (2010). Variance based sensitivity analysis of model output.
   Design and estimator for the total sensitivity index. *Computer Physics Communications*
   181(2), 259-270.
.. [3] Herman, J. and Usher, W. (2017). SALib: an open-source Python library for
   sensitivity analysis. *Journal of Open Source Software* 2(9), 97.
.. [4] Fieller, E. C., Hartley, H. O. and Pearson, E. S. (1957). Tests for rank correlation
   coefficients I. *Biometrika* 44, 470-481 (variance of Fisher's z for Spearman's rho).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = [
    "METHODS",
    "FactorRange",
    "analyse",
    "design_matrix",
    "design_points",
    "full_grid",
    "problem",
]

Method = Literal["latin", "morris", "sobol"]
METHODS: tuple[Method, ...] = ("latin", "morris", "sobol")
"""Designs over ranges."""


@dataclass(frozen=True)
class FactorRange:
    """A factor varied over ``[low, high]``.

    Attributes
    ----------
    name
        Dotted scenario key.
    low, high
        Bounds, in the key's own unit (``low < high``).
    integer
        Round sampled values to whole numbers (headcounts, sessions).
    """

    name: str
    low: float
    high: float
    integer: bool = False


def full_grid(levels: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the factors' levels.

    Parameters
    ----------
    levels
        Factor -> its levels, in the order they should vary (the last factor fastest).

    Returns
    -------
    list of dict
        One ``{factor: level}`` per combination; ``[{}]`` for no factors.

    Raises
    ------
    ValueError
        If a factor has no levels.
    """
    for name, values in levels.items():
        if len(values) == 0:
            raise ValueError(f"factor {name!r} has no levels")
    names = list(levels)
    return [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(levels[n] for n in names))
    ]


def problem(ranges: Sequence[FactorRange]) -> dict[str, Any]:
    """The SALib problem description of the factors."""
    return {
        "num_vars": len(ranges),
        "names": [r.name for r in ranges],
        "bounds": [[r.low, r.high] for r in ranges],
    }


def _check(ranges: Sequence[FactorRange]) -> None:
    if not ranges:
        raise ValueError("a design needs at least one factor")
    for r in ranges:
        if not (math.isfinite(r.low) and math.isfinite(r.high) and r.low < r.high):
            raise ValueError(f"factor {r.name!r}: need low < high, got [{r.low}, {r.high}]")


def design_matrix(
    method: Method,
    ranges: Sequence[FactorRange],
    *,
    samples: int,
    seed: int,
    levels: int = 4,
) -> np.ndarray:
    """Design points over the ranges, unrounded, one row per point.

    Parameters
    ----------
    method
        ``latin`` (``samples`` points), ``morris`` (``samples`` trajectories of ``k + 1``
        points on a ``levels``-level grid) or ``sobol`` (``samples * (k + 2)`` points for
        first and total orders; ``samples`` a power of 2).
    ranges
        The factors.
    samples
        See ``method``.
    seed
        Seed of the design's own random numbers (not the simulation's).
    levels
        Grid levels of a Morris design (even).

    Returns
    -------
    ndarray
        Shape ``(points, k)``.
    """
    from SALib.sample import latin as latin_sample
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    _check(ranges)
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    spec = problem(ranges)
    if method == "latin":
        matrix = latin_sample.sample(spec, samples, seed=seed)
    elif method == "morris":
        matrix = morris_sample.sample(spec, samples, num_levels=levels, seed=seed)
    elif method == "sobol":
        if samples & (samples - 1):
            raise ValueError(f"a Sobol design needs samples = a power of 2, got {samples}")
        matrix = sobol_sample.sample(spec, samples, calc_second_order=False, seed=seed)
    else:
        raise ValueError(f"unknown design method {method!r}; expected one of {METHODS}")
    return np.asarray(matrix, dtype=float)


def design_points(matrix: np.ndarray, ranges: Sequence[FactorRange]) -> list[dict[str, Any]]:
    """Rows of a design matrix as ``{factor: value}``, integer factors rounded.

    Returns
    -------
    list of dict
        Float values, or ``int`` for an integer factor (half rounds to even, like
        :func:`round`).
    """
    points = []
    for row in np.asarray(matrix, dtype=float):
        point: dict[str, Any] = {}
        for r, value in zip(ranges, row, strict=True):
            point[r.name] = int(round(float(value))) if r.integer else float(value)
        points.append(point)
    return points


def _row(method: str, parameter: str, index: str, value: float, half: float) -> dict[str, Any]:
    return {
        "method": method,
        "parameter": parameter,
        "index": index,
        "value": float(value),
        "ci_low": float(value - half),
        "ci_high": float(value + half),
    }


def analyse(
    method: Method,
    ranges: Sequence[FactorRange],
    matrix: np.ndarray,
    outputs: Sequence[float] | np.ndarray,
    *,
    seed: int,
    levels: int = 4,
    resamples: int = 1000,
    confidence: float = 0.95,
) -> list[dict[str, Any]]:
    """Sensitivity indices of one output over a design.

    Parameters
    ----------
    method
        The design's method (see :func:`design_matrix`).
    ranges
        The factors.
    matrix
        The unrounded design (from :func:`design_matrix`).
    outputs
        The output at each design point, e.g. the mean over replications of a KPI.
    seed
        Seed of the bootstrap.
    levels
        Levels of a Morris design.
    resamples
        Bootstrap resamples for the confidence intervals.
    confidence
        Confidence level of the intervals.

    Returns
    -------
    list of dict
        Rows ``method``, ``parameter``, ``index``, ``value``, ``ci_low``, ``ci_high``:

        - ``morris``: ``mu``, ``mu_star`` (with its bootstrap CI) and ``sigma`` per factor
          (NaN CI for ``mu`` and ``sigma``, which SALib does not bootstrap);
        - ``sobol``: ``S1`` and ``ST`` per factor with bootstrap CIs;
        - ``latin``: ``spearman``, the rank correlation of the factor with the output, with a
          Fisher-z interval [4]_.

    Raises
    ------
    ValueError
        If an output is NaN, or the outputs do not match the design.
    """
    from SALib.analyze import morris as morris_analyse
    from SALib.analyze import sobol as sobol_analyse
    from scipy import stats as sps

    x = np.asarray(matrix, dtype=float)
    y = np.asarray(outputs, dtype=float)
    if y.shape != (x.shape[0],):
        raise ValueError(f"expected {x.shape[0]} outputs, one per design point, got {y.shape}")
    if np.isnan(y).any():
        raise ValueError("an output is NaN (undefined at some design point)")
    spec = problem(ranges)
    names = spec["names"]
    rows: list[dict[str, Any]] = []
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        # A constant output makes variance-based indices 0/0; they come out as NaN.
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "morris":
            result = morris_analyse.analyze(
                spec, x, y, num_resamples=resamples, conf_level=confidence,
                num_levels=levels, seed=seed,
            )  # fmt: skip
            for i, name in enumerate(names):
                rows.append(_row(method, name, "mu", result["mu"][i], math.nan))
                rows.append(
                    _row(method, name, "mu_star", result["mu_star"][i], result["mu_star_conf"][i])
                )
                rows.append(_row(method, name, "sigma", result["sigma"][i], math.nan))
        elif method == "sobol":
            result = sobol_analyse.analyze(
                spec, y, calc_second_order=False, num_resamples=resamples,
                conf_level=confidence, seed=seed,
            )  # fmt: skip
            for i, name in enumerate(names):
                rows.append(_row(method, name, "S1", result["S1"][i], result["S1_conf"][i]))
                rows.append(_row(method, name, "ST", result["ST"][i], result["ST_conf"][i]))
        elif method == "latin":
            n = y.size
            z_crit = float(sps.norm.ppf(0.5 + confidence / 2.0))
            for i, name in enumerate(names):
                rho = float(sps.spearmanr(x[:, i], y).statistic) if n >= 2 else math.nan
                rows.append(_spearman_row(name, rho, n, z_crit))
        else:
            raise ValueError(f"unknown design method {method!r}; expected one of {METHODS}")
    return rows


def _spearman_row(name: str, rho: float, n: int, z_crit: float) -> dict[str, Any]:
    low = high = math.nan
    if n > 3 and math.isfinite(rho):
        z = math.atanh(max(min(rho, 1 - 1e-12), -1 + 1e-12))
        half = z_crit * math.sqrt(1.06 / (n - 3))
        low, high = math.tanh(z - half), math.tanh(z + half)
    return {
        "method": "latin",
        "parameter": name,
        "index": "spearman",
        "value": rho,
        "ci_low": low,
        "ci_high": high,
    }
