"""Validated probability distributions for durations, delays, counts and amounts.

Each distribution is a frozen pydantic model selected by its ``dist`` key, so a TOML table
such as ``{ dist = "lognormal", median = 1, p95 = 21 }`` validates into a
:class:`LogNormal` and draws with :meth:`sample` from a numpy ``Generator`` that the caller
owns (no global RNG).

Units are those of the field that holds the distribution (days, minutes, pounds, sessions);
the field bounds the parameters (:class:`ipcsim.scenario.bounds.DistributionBound`). The shape
is bounded here, so that no draw overflows and a draw far beyond the parameters is vanishingly
rare: a lognormal's 95th percentile is at most :data:`MAX_SPREAD` times its median, and a
standard deviation at most :data:`MAX_CV` times the mean (and, for a gamma, whose shape would
otherwise overflow, at least :data:`MIN_CV` times it).
"""

from __future__ import annotations

import bisect
import itertools
import math
from typing import Annotated, Literal

import numpy as np
from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from ipcsim.scenario._strict import StrictModel

# z for the 95th percentile of the standard normal, used by the median/p95 lognormal.
_Z95 = 1.6448536269514722

MAX_SPREAD = 1000.0
"""Largest ratio of a lognormal's 95th percentile to its median (sigma at most 4.2)."""
MAX_CV = 100.0
"""Largest standard deviation of a lognormal or gamma, as a multiple of its mean."""
MIN_CV = 0.001
"""Smallest standard deviation of a gamma, as a multiple of its mean (shape at most 10^6)."""
MAX_DISCRETE_VALUES = 1000
"""Most values a discrete distribution may list."""


class _Dist(StrictModel):
    """A distribution: draws one value or a block of values from a numpy generator."""

    def sample(self, rng: np.random.Generator) -> float:  # pragma: no cover - abstract
        """One draw, in the unit of the field."""
        raise NotImplementedError

    def sample_block(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` independent draws at once (the model buffers them: one numpy call per block)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def mean(self) -> float:  # pragma: no cover - abstract
        """The distribution's mean, in the unit of the field."""
        raise NotImplementedError

    def parameters(self) -> list[tuple[str, float]]:  # pragma: no cover - abstract
        """``(name, value)`` of every parameter in the unit of the field (not sd or probs)."""
        raise NotImplementedError


class Fixed(_Dist):
    """Always the same value."""

    dist: Literal["fixed"] = "fixed"
    value: float = Field(ge=0, description="the value, in the unit of the field")

    def parameters(self) -> list[tuple[str, float]]:
        """``(name, value)`` of every parameter in the unit of the field."""
        return [("value", self.value)]

    def sample(self, rng: np.random.Generator) -> float:
        """One draw, in the unit of the field."""
        return self.value

    def mean(self) -> float:
        """The distribution's mean, in the unit of the field."""
        return self.value

    def sample_block(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` independent draws at once (one numpy call)."""
        return np.full(n, self.value, dtype=float)


class Exponential(_Dist):
    """Exponential with the given mean."""

    dist: Literal["exponential"] = "exponential"
    mean_value: float = Field(gt=0, alias="mean", description="mean, in the unit of the field")

    model_config = ConfigDict(
        frozen=True, extra="forbid", allow_inf_nan=False, populate_by_name=True
    )

    def parameters(self) -> list[tuple[str, float]]:
        """``(name, value)`` of every parameter in the unit of the field."""
        return [("mean", self.mean_value)]

    def sample(self, rng: np.random.Generator) -> float:
        """One draw, in the unit of the field."""
        return float(rng.exponential(self.mean_value))

    def mean(self) -> float:
        """The distribution's mean, in the unit of the field."""
        return self.mean_value

    def sample_block(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` independent draws at once (one numpy call)."""
        return rng.exponential(self.mean_value, n)


class Uniform(_Dist):
    """Continuous uniform on [low, high]."""

    dist: Literal["uniform"] = "uniform"
    low: float = Field(ge=0, description="lower bound, in the unit of the field")
    high: float = Field(ge=0, description="upper bound, in the unit of the field")

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high must be >= low, got low={self.low}, high={self.high}")
        return self

    def parameters(self) -> list[tuple[str, float]]:
        """``(name, value)`` of every parameter in the unit of the field."""
        return [("low", self.low), ("high", self.high)]

    def sample(self, rng: np.random.Generator) -> float:
        """One draw, in the unit of the field."""
        return float(rng.uniform(self.low, self.high))

    def mean(self) -> float:
        """The distribution's mean, in the unit of the field."""
        return (self.low + self.high) / 2

    def sample_block(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` independent draws at once (one numpy call)."""
        return rng.uniform(self.low, self.high, n)


class Triangular(_Dist):
    """Triangular on [low, high] with the given mode."""

    dist: Literal["triangular"] = "triangular"
    low: float = Field(ge=0, description="lower bound, in the unit of the field")
    mode: float = Field(ge=0, description="most likely value, in the unit of the field")
    high: float = Field(ge=0, description="upper bound, in the unit of the field")

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high:
            raise ValueError(
                f"need low <= mode <= high, got low={self.low}, mode={self.mode}, high={self.high}"
            )
        return self

    def parameters(self) -> list[tuple[str, float]]:
        """``(name, value)`` of every parameter in the unit of the field."""
        return [("low", self.low), ("mode", self.mode), ("high", self.high)]

    def sample(self, rng: np.random.Generator) -> float:
        """One draw, in the unit of the field."""
        if self.low == self.high:
            return self.low
        return float(rng.triangular(self.low, self.mode, self.high))

    def mean(self) -> float:
        """The distribution's mean, in the unit of the field."""
        return (self.low + self.mode + self.high) / 3

    def sample_block(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` independent draws at once (one numpy call)."""
        if self.low == self.high:
            return np.full(n, self.low, dtype=float)
        return rng.triangular(self.low, self.mode, self.high, n)


class LogNormal(_Dist):
    """Lognormal given either by ``mean`` and ``sd`` or by ``median`` and ``p95``.

    Notes
    -----
    By median m and 95th percentile q: mu = ln m, sigma = (ln q - ln m) / z_0.95.
    By mean and sd: sigma^2 = ln(1 + sd^2 / mean^2), mu = ln mean - sigma^2 / 2.
    """

    dist: Literal["lognormal"] = "lognormal"
    mean_value: float | None = Field(
        default=None, gt=0, alias="mean", description="mean, in the unit of the field"
    )
    sd: float | None = Field(default=None, gt=0, description="standard deviation, same unit")
    median: float | None = Field(default=None, gt=0, description="median, same unit")
    p95: float | None = Field(default=None, gt=0, description="95th percentile, same unit")

    model_config = ConfigDict(
        frozen=True, extra="forbid", allow_inf_nan=False, populate_by_name=True
    )

    @model_validator(mode="after")
    def _one_parameterisation(self) -> LogNormal:
        by_moments = self.mean_value is not None and self.sd is not None
        by_quantiles = self.median is not None and self.p95 is not None
        if by_moments == by_quantiles:
            raise ValueError("give either mean and sd, or median and p95")
        if self.p95 is not None and self.median is not None:
            if self.p95 <= self.median:
                raise ValueError(
                    f"p95 must exceed median, got median={self.median}, p95={self.p95}"
                )
            if self.p95 > MAX_SPREAD * self.median:
                raise ValueError(
                    f"p95 must be at most {MAX_SPREAD:,g} times the median, got "
                    f"median={self.median:g}, p95={self.p95:g}"
                )
        if self.sd is not None and self.mean_value is not None:
            _check_cv(self.mean_value, self.sd, low=0.0)
        return self

    @property
    def mu_sigma(self) -> tuple[float, float]:
        """Parameters of the underlying normal (mu, sigma)."""
        if self.median is not None and self.p95 is not None:
            return math.log(self.median), (math.log(self.p95) - math.log(self.median)) / _Z95
        assert self.mean_value is not None and self.sd is not None  # guaranteed by validator
        s2 = math.log1p((self.sd / self.mean_value) ** 2)
        return math.log(self.mean_value) - s2 / 2, math.sqrt(s2)

    def parameters(self) -> list[tuple[str, float]]:
        """``(name, value)`` of every parameter in the unit of the field (not sd)."""
        named = (("mean", self.mean_value), ("median", self.median), ("p95", self.p95))
        return [(name, value) for name, value in named if value is not None]

    def sample(self, rng: np.random.Generator) -> float:
        """One draw, in the unit of the field."""
        mu, sigma = self.mu_sigma
        return float(rng.lognormal(mu, sigma))

    def mean(self) -> float:
        """The distribution's mean, in the unit of the field."""
        mu, sigma = self.mu_sigma
        return math.exp(mu + sigma**2 / 2)

    def sample_block(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` independent draws at once (one numpy call)."""
        mu, sigma = self.mu_sigma
        return rng.lognormal(mu, sigma, n)


class Gamma(_Dist):
    """Gamma given by ``mean`` and ``sd``."""

    dist: Literal["gamma"] = "gamma"
    mean_value: float = Field(gt=0, alias="mean", description="mean, in the unit of the field")
    sd: float = Field(gt=0, description="standard deviation, same unit")

    model_config = ConfigDict(
        frozen=True, extra="forbid", allow_inf_nan=False, populate_by_name=True
    )

    @model_validator(mode="after")
    def _shape_in_range(self) -> Gamma:
        _check_cv(self.mean_value, self.sd, low=MIN_CV)
        return self

    def parameters(self) -> list[tuple[str, float]]:
        """``(name, value)`` of every parameter in the unit of the field (not sd)."""
        return [("mean", self.mean_value)]

    def sample(self, rng: np.random.Generator) -> float:
        """One draw, in the unit of the field."""
        shape = (self.mean_value / self.sd) ** 2
        return float(rng.gamma(shape, self.sd**2 / self.mean_value))

    def sample_block(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` independent draws at once (one numpy call)."""
        shape = (self.mean_value / self.sd) ** 2
        return rng.gamma(shape, self.sd**2 / self.mean_value, n)

    def mean(self) -> float:
        """The distribution's mean, in the unit of the field."""
        return self.mean_value


class Discrete(_Dist):
    """Empirical / discrete distribution: ``values`` with probabilities ``probs``."""

    dist: Literal["discrete"] = "discrete"
    values: tuple[float, ...] = Field(
        min_length=1, max_length=MAX_DISCRETE_VALUES, description="possible values (1 to 1,000)"
    )
    probs: tuple[float, ...] = Field(
        min_length=1, max_length=MAX_DISCRETE_VALUES, description="probability of each value"
    )
    _cumulative: list[float] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _valid(self) -> Discrete:
        if len(self.values) != len(self.probs):
            raise ValueError(
                f"values and probs need the same length, got {len(self.values)} "
                f"and {len(self.probs)}"
            )
        if any(p < 0 or p > 1 for p in self.probs):
            raise ValueError(f"probs must lie in [0, 1], got {list(self.probs)}")
        if abs(sum(self.probs) - 1.0) > 1e-6:
            raise ValueError(f"probs must sum to 1, got {sum(self.probs):.6g}")
        if any(v < 0 for v in self.values):
            raise ValueError(f"values must be >= 0, got {list(self.values)}")
        return self

    def parameters(self) -> list[tuple[str, float]]:
        """``(name, value)`` of every parameter in the unit of the field (each value)."""
        return [("values", value) for value in self.values]

    def sample(self, rng: np.random.Generator) -> float:
        """One draw, in the unit of the field."""
        bounds = self._bounds
        index = bisect.bisect_right(bounds, rng.random())
        return self.values[min(index, len(self.values) - 1)]

    def sample_block(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` independent draws at once (one numpy call)."""
        index = np.searchsorted(np.asarray(self._bounds), rng.random(n), side="right")
        return np.asarray(self.values, dtype=float)[np.minimum(index, len(self.values) - 1)]

    @property
    def _bounds(self) -> list[float]:
        # Cumulative probabilities, computed once (the model samples on a hot path).
        if self._cumulative is None:
            self._cumulative = list(itertools.accumulate(self.probs))
        return self._cumulative

    def mean(self) -> float:
        """The distribution's mean, in the unit of the field."""
        return float(sum(v * p for v, p in zip(self.values, self.probs, strict=True)))


def _check_cv(mean: float, sd: float, *, low: float) -> None:
    """A ValueError unless ``sd`` lies within ``low`` to :data:`MAX_CV` times ``mean``."""
    if sd > MAX_CV * mean:
        raise ValueError(
            f"sd must be at most {MAX_CV:g} times the mean, got mean={mean:g}, sd={sd:g}"
        )
    if sd < low * mean:
        raise ValueError(
            f"sd must be at least {low:g} times the mean, got mean={mean:g}, sd={sd:g}"
        )


DISTRIBUTIONS = ("fixed", "exponential", "uniform", "triangular", "lognormal", "gamma", "discrete")
"""The ``dist`` names a distribution table may give."""

Distribution = Annotated[
    Fixed | Exponential | Uniform | Triangular | LogNormal | Gamma | Discrete,
    Field(discriminator="dist"),
]
"""Any of the supported distributions, chosen by the ``dist`` key."""


def fixed(value: float) -> Fixed:
    """Shorthand for a fixed value (used for defaults)."""
    return Fixed(value=value)
