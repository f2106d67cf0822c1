"""Approximate Bayesian computation by sequential Monte Carlo (ABC-SMC): the numerical parts.

Pure functions on arrays: no simulation, no files, no printing. The loop that simulates
particles on an executor is :mod:`ipcsim.experiment.calibration.run`.

Parameters live in a *working space* ``z`` where every prior is uniform on a box: a uniform
prior's ``z`` is the value itself, a log-uniform prior's ``z`` is its natural logarithm. The
prior density is then constant inside the box, so a particle's importance weight depends only
on the perturbation kernel.

References
----------
Toni T, Welch D, Strelkowa N, Ipsen A, Stumpf MPH (2009). Approximate Bayesian computation
scheme for parameter inference and model selection in dynamical systems. J R Soc Interface
6:187-202.

Beaumont MA, Cornuet J-M, Marin J-M, Robert CP (2009). Adaptive approximate Bayesian
computation. Biometrika 96:983-990 (the component-wise normal kernel with twice the weighted
variance of the previous population, and the importance weights used here).

Del Moral P, Doucet A, Jasra A (2012). An adaptive sequential Monte Carlo method for
approximate Bayesian computation. Stat Comput 22:1009-1020 (thresholds set as a quantile of
the previous population's distances).

Kish L (1965). Survey Sampling. Wiley (the effective sample size ``(sum w)^2 / sum w^2``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import special

__all__ = [
    "Prior",
    "effective_sample_size",
    "kernel_scales",
    "perturb",
    "poisson_scaled_distance",
    "prior_draw",
    "scaled_distance",
    "smc_weights",
    "systematic_resample",
    "weighted_quantile",
    "weighted_sd",
]

PriorKind = Literal["uniform", "loguniform"]


@dataclass(frozen=True)
class Prior:
    """A parameter's prior: uniform or log-uniform on ``[low, high]``.

    Attributes
    ----------
    key
        The dotted scenario key it sets.
    kind
        ``uniform`` (every value between low and high equally likely) or ``loguniform``
        (every order of magnitude equally likely; low > 0).
    low, high
        Bounds, in the key's unit.
    """

    key: str
    kind: PriorKind
    low: float
    high: float

    @property
    def z_low(self) -> float:
        """Lower bound in the working space."""
        return math.log(self.low) if self.kind == "loguniform" else self.low

    @property
    def z_high(self) -> float:
        """Upper bound in the working space."""
        return math.log(self.high) if self.kind == "loguniform" else self.high

    @property
    def z_sd(self) -> float:
        """Standard deviation of the prior in the working space (uniform: width / sqrt 12)."""
        return (self.z_high - self.z_low) / math.sqrt(12.0)

    def to_value(self, z: float) -> float:
        """The parameter's value (in the key's unit) of a working-space coordinate."""
        return math.exp(z) if self.kind == "loguniform" else float(z)

    def to_z(self, value: float) -> float:
        """The working-space coordinate of a value."""
        return math.log(value) if self.kind == "loguniform" else float(value)


def _bounds(priors: tuple[Prior, ...]) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.array([p.z_low for p in priors], dtype=float),
        np.array([p.z_high for p in priors], dtype=float),
    )


def prior_draw(priors: tuple[Prior, ...], rng: np.random.Generator) -> np.ndarray:
    """One draw from the priors, in the working space (one coordinate per prior)."""
    low, high = _bounds(priors)
    return low + (high - low) * rng.random(len(priors))


def kernel_scales(
    population: np.ndarray, weights: np.ndarray, priors: tuple[Prior, ...]
) -> np.ndarray:
    """Standard deviations of the component-wise normal kernel: sqrt(2 x weighted variance).

    Parameters
    ----------
    population
        Particles in the working space, shape ``(n, k)``.
    weights
        Their normalised weights, shape ``(n,)``.
    priors
        One per column; a collapsed column gets a floor of 1e-6 of its prior's width.

    Returns
    -------
    ndarray
        Shape ``(k,)``.

    References
    ----------
    Beaumont et al. (2009), section 3.
    """
    mean = weights @ population
    variance = weights @ (population - mean) ** 2
    low, high = _bounds(priors)
    floor = 1e-6 * (high - low)
    return np.maximum(np.sqrt(2.0 * variance), floor)


def perturb(
    parent: np.ndarray, scales: np.ndarray, priors: tuple[Prior, ...], rng: np.random.Generator
) -> np.ndarray:
    """A particle moved by the kernel, each coordinate a normal truncated to its prior's box.

    Truncation is exact (inverse CDF), so no proposal falls outside the prior and none is
    wasted; :func:`smc_weights` divides by the truncated kernel's normalising constant.
    """
    low, high = _bounds(priors)
    a = special.ndtr((low - parent) / scales)
    b = special.ndtr((high - parent) / scales)
    u = rng.random(len(priors))
    moved = parent + scales * special.ndtri(a + u * (b - a))
    # The inverse CDF can step a rounding error outside the box far in a tail.
    return np.clip(moved, low, high)


def smc_weights(
    particles: np.ndarray,
    previous: np.ndarray,
    previous_weights: np.ndarray,
    scales: np.ndarray,
    priors: tuple[Prior, ...],
) -> np.ndarray:
    """Normalised importance weights of accepted particles proposed from ``previous``.

    ``w_i`` is proportional to ``prior(z_i) / sum_j W_j K(z_i | z_j)``, with ``K`` the
    truncated component-wise normal kernel; the prior is constant on the box in the working
    space, so only the denominator matters.

    Parameters
    ----------
    particles
        Accepted particles, shape ``(n, k)``.
    previous, previous_weights
        The previous population and its normalised weights.
    scales
        The kernel's standard deviations (:func:`kernel_scales`).
    priors
        One per column.

    Returns
    -------
    ndarray
        Shape ``(n,)``, summing to 1.
    """
    low, high = _bounds(priors)
    # Log density of each (particle i, parent j) pair, summed over coordinates.
    diff = (particles[:, None, :] - previous[None, :, :]) / scales
    log_phi = -0.5 * diff**2 - np.log(scales) - 0.5 * math.log(2 * math.pi)
    mass = special.ndtr((high - previous) / scales) - special.ndtr((low - previous) / scales)
    log_k = (log_phi - np.log(np.maximum(mass, 1e-300))[None, :, :]).sum(axis=2)
    log_denominator = special.logsumexp(log_k, axis=1, b=previous_weights[None, :])
    log_w = -log_denominator
    w = np.exp(log_w - log_w.max())
    return w / w.sum()


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2``."""
    w = np.asarray(weights, dtype=float)
    total = w.sum()
    return float(total**2 / (w**2).sum()) if total > 0 else 0.0


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The ``q`` quantile of a weighted sample (inverse of the weighted empirical CDF).

    The smallest value whose cumulative weight reaches ``q`` of the total.
    """
    order = np.argsort(values, kind="stable")
    v = np.asarray(values, dtype=float)[order]
    cumulative = np.cumsum(np.asarray(weights, dtype=float)[order])
    cumulative /= cumulative[-1]
    index = int(np.searchsorted(cumulative, q - 1e-12, side="left"))
    return float(v[min(index, len(v) - 1)])


def weighted_sd(values: np.ndarray, weights: np.ndarray) -> float:
    """Standard deviation of a weighted sample (weights normalised; no small-sample correction)."""
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    mean = float(w @ values)
    return float(math.sqrt(max(float(w @ (np.asarray(values) - mean) ** 2), 0.0)))


def systematic_resample(weights: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``count`` draws from a weighted sample, by systematic resampling.

    One uniform offset, then evenly spaced points through the cumulative weights: the least
    variable of the standard resampling schemes (Douc, Cappe and Moulines 2005).
    """
    w = np.asarray(weights, dtype=float)
    cumulative = np.cumsum(w / w.sum())
    cumulative[-1] = 1.0
    points = (rng.random() + np.arange(count)) / count
    return np.searchsorted(cumulative, points, side="left").astype(int)


def poisson_scaled_distance(simulated: np.ndarray, observed: np.ndarray) -> float:
    """Distance between simulated and observed counts: root mean square Poisson-scaled residual.

    ``sqrt(mean(((s - o) / sqrt(o + 1))^2))`` over the observed points (NaN where no value was
    observed is skipped): a count of 100 off by 10 weighs as much as a count of 4 off by 2,
    so series of different sizes count alike, and the result reads as "typical residual in
    Poisson standard deviations".

    Parameters
    ----------
    simulated, observed
        Same shape; NaN in ``observed`` marks a point not observed.

    Returns
    -------
    float
        ``inf`` if a simulated value is missing where one was observed.
    """
    mask = np.isfinite(observed)
    s = np.asarray(simulated, dtype=float)[mask]
    o = np.asarray(observed, dtype=float)[mask]
    if not np.isfinite(s).all():
        return math.inf
    if o.size == 0:
        return 0.0
    residual = (s - o) / np.sqrt(o + 1.0)
    return float(math.sqrt(float(np.mean(residual**2))))


def scaled_distance(simulated: np.ndarray, observed: np.ndarray, scales: np.ndarray) -> float:
    """Root mean square of ``(simulated - observed) / scale`` over the observed points.

    :func:`poisson_scaled_distance` with each point's own scale (``sqrt(o + 1)`` for a count;
    a wait summary has its own, :mod:`ipcsim.experiment.calibration.series`).

    Parameters
    ----------
    simulated, observed, scales
        Same shape; NaN in ``observed`` marks a point not observed; ``scales`` > 0.

    Returns
    -------
    float
        ``inf`` if a simulated value is missing where one was observed.
    """
    mask = np.isfinite(observed)
    s = np.asarray(simulated, dtype=float)[mask]
    o = np.asarray(observed, dtype=float)[mask]
    if not np.isfinite(s).all():
        return math.inf
    if o.size == 0:
        return 0.0
    residual = (s - o) / np.asarray(scales, dtype=float)[mask]
    return float(math.sqrt(float(np.mean(residual**2))))


# --------------------------------------------------------------------------- diagnostics
IDENTIFIABLE_SD_RATIO = 0.8
"""A parameter whose posterior sd is more than this share of its prior sd (working space) is
reported as not identified by the data: posterior close to prior."""


def predictive_band(
    values: np.ndarray, *, low: float = 0.05, high: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per observed point: the ``low`` quantile, the median and the ``high`` quantile of runs.

    Parameters
    ----------
    values
        Simulated values, shape ``(runs, points)``.

    Returns
    -------
    tuple of ndarray
        Each of shape ``(points,)``; NaN where no run gave a value.
    """
    with np.errstate(all="ignore"):
        quantiles = np.nanquantile(values, [low, 0.5, high], axis=0)
    return quantiles[0], quantiles[1], quantiles[2]


def sd_ratio(z: np.ndarray, weights: np.ndarray, prior: Prior) -> float:
    """Posterior sd / prior sd of one working-space coordinate (1: the data taught nothing)."""
    return weighted_sd(z, weights) / prior.z_sd
