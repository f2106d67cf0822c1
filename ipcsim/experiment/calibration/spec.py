"""Calibration specs: the TOML that fits a scenario to a site's observed counts, validated.

Spec
----
::

    name = "synthetic_site"
    question = "Which referral rate and offer acceptance reproduce the site's counts?"
    base = "site.toml"                              # the scenario calibrated
    overrides = ["run.horizon_days=365"]            # applied to the base first
    observed = "observed.csv"                       # month or quarter, counts per period
    series = ["referrals", "plans_signed_off"]      # default: every series in the file
                                                    # (counts, wait summaries: see series.py)
    master_seed = 20160401                          # default: the base's run.seed
    # truth = "truth.toml"                          # synthetic data: the scenario they came
                                                    # from (its values are marked as the truth)

    [parameters."cohorts.ltc.referrals_per_month"]  # dotted scenario key
    prior = "uniform"                               # or "loguniform"
    low = 5
    high = 80
    # integer = true                                # round before setting (e.g. headcount)
    # also = ["cohorts.frail.referrals_per_month"]  # keys set to the same value

    [abc]
    population = 100                                # particles per generation
    generations = 5                                 # generations after the prior's
    quantile = 0.5                                  # next threshold: this quantile of distances
    min_acceptance_rate = 0.02                      # stop when a generation accepts fewer
    max_simulations = 20000                         # stop before running more than this

    [outputs]
    predictive_draws = 100                          # posterior predictive runs (the 90 % band)
    ensemble_size = 20                              # scenarios in the posterior ensemble
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from ipcsim.errors import ConfigError
from ipcsim.experiment.calibration.series import COUNT_SERIES, parse_series, series_error
from ipcsim.experiment.spec import MAX_FACTORS, MAX_QUESTION_CHARS
from ipcsim.scenario import Scenario
from ipcsim.scenario._strict import StrictModel
from ipcsim.scenario.load import apply_overrides, invalid, parse_override, read_toml

__all__ = [
    "SERIES",
    "AbcSettings",
    "CalibrationOutputs",
    "CalibrationSpec",
    "ParameterPrior",
    "calibration_spec_from_dict",
    "load_calibration_spec",
]

SERIES: tuple[str, ...] = COUNT_SERIES
"""Count series an observed file may hold (wait summaries: :mod:`~.series`)."""

MAX_PARAMETERS = 20
"""Most uncertain parameters of one calibration (ABC needs many runs per dimension)."""
MAX_SERIES = 100
"""Most series fitted."""
MAX_POPULATION = 100_000
"""Most particles per generation."""
MAX_GENERATIONS = 100
"""Most generations after the prior's."""
MAX_SIMULATIONS = 10_000_000
"""Most simulations a calibration may run."""
MAX_MAGNITUDE = 1e15
"""Largest magnitude of a prior's bounds (the scenario bounds each value further)."""
_SPEC_ONLY_KEYS = frozenset({"name", "description", "question"})


class _Spec(StrictModel):
    """Frozen, unknown keys errors, finite numbers, no lax conversions (as scenario tables)."""


class ParameterPrior(_Spec):
    """An uncertain parameter: a dotted scenario key and its prior range."""

    prior: Literal["uniform", "loguniform"] = Field(
        default="uniform",
        description="'uniform' (every value between low and high equally likely) or "
        "'loguniform' (every order of magnitude equally likely; low > 0)",
    )
    low: float = Field(
        ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE, description="lower bound, in the key's unit"
    )
    high: float = Field(
        ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE, description="upper bound, in the key's unit"
    )
    integer: bool = Field(
        default=False, description="round the value to a whole number before setting it"
    )
    also: tuple[str, ...] = Field(
        default=(),
        max_length=MAX_FACTORS,
        description="other dotted keys set to the same value (e.g. the same rate of every "
        "cohort), at most 1,000",
    )

    @model_validator(mode="after")
    def _ordered(self) -> ParameterPrior:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError(f"low and high must be finite, got [{self.low}, {self.high}]")
        if self.low >= self.high:
            raise ValueError(f"need low < high, got low = {self.low:g}, high = {self.high:g}")
        if self.prior == "loguniform" and self.low <= 0:
            raise ValueError(f"a loguniform prior needs low > 0, got low = {self.low:g}")
        return self


class AbcSettings(_Spec):
    """How the sequential Monte Carlo runs."""

    population: int = Field(
        default=100, ge=4, le=MAX_POPULATION, description="particles per generation, 4 to 100,000"
    )
    generations: int = Field(
        default=5,
        ge=1,
        le=MAX_GENERATIONS,
        description="most generations after the prior's, 1 to 100",
    )
    quantile: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="each generation's threshold: this quantile of the previous generation's "
        "distances, 0 to 1 (smaller: faster shrinking, lower acceptance)",
    )
    min_acceptance_rate: float = Field(
        default=0.02,
        ge=0,
        lt=1,
        description="stop after a generation that accepted a smaller share of its proposals",
    )
    max_simulations: int = Field(
        default=20_000,
        ge=8,
        le=MAX_SIMULATIONS,
        description="stop before the calibration runs more simulations than this (the "
        "posterior predictive runs not counted)",
    )
    batch: int | None = Field(
        default=None,
        ge=1,
        le=MAX_POPULATION,
        description="proposals simulated per round within a generation (default: the "
        "population); results never depend on it being larger or smaller than the workers",
    )
    distance: Literal["poisson_scaled"] = Field(
        default="poisson_scaled",
        description="'poisson_scaled': root mean square of (simulated - observed) / "
        "sqrt(observed + 1) over every observed point",
    )


class CalibrationOutputs(_Spec):
    """What the calibration writes beyond the posterior sample."""

    predictive_draws: int | None = Field(
        default=None,
        ge=10,
        le=MAX_POPULATION,
        description="runs from the posterior for the predictive 90 % band, 10 to 100,000 "
        "(default: the population)",
    )
    ensemble_size: int = Field(
        default=20,
        ge=0,
        le=1_000,
        description="posterior draws written as scenario files with an experiment spec "
        "(0: none), at most 1,000",
    )


class CalibrationSpec(_Spec):
    """A calibration: base scenario, uncertain parameters, observed counts, ABC settings."""

    name: str | None = Field(default=None, description="calibration name (default: spec folder)")
    description: str = Field(default="", max_length=MAX_QUESTION_CHARS, description="what it fits")
    question: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_QUESTION_CHARS,
        description="the question the calibration answers, at most 2,000 characters",
    )
    base: str = Field(description="scenario file, relative to the spec")
    overrides: tuple[str, ...] = Field(
        default=(), description="key=value overrides applied to the base"
    )
    observed: str = Field(description="observed counts (CSV), relative to the spec")
    truth: str | None = Field(
        default=None,
        min_length=1,
        description="for synthetic data: the scenario file (relative to the spec) the observed "
        "file was generated from; its value at each parameter's key is shown as the truth in "
        "the summary, plots and report",
    )
    series: tuple[str, ...] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_SERIES,
        description="series fitted: counts (referrals, plans_signed_off, budgets_released, "
        "open_cases_end) or wait summaries (wait_<wait>_median, "
        "wait_<wait>_share_within_<N>w); default: every series column of the observed file",
    )
    master_seed: int | None = Field(
        default=None,
        ge=0,
        lt=2**63,
        description="seed of every proposal and simulation, 0 to 2^63 - 1 (default: the "
        "base's run.seed)",
    )
    parameters: dict[str, ParameterPrior] = Field(
        min_length=1,
        max_length=MAX_PARAMETERS,
        description="dotted scenario key -> its prior, 1 to 20 parameters",
    )
    abc: AbcSettings = Field(default_factory=AbcSettings)
    outputs: CalibrationOutputs = Field(default_factory=CalibrationOutputs)

    @field_validator("series")
    @classmethod
    def _known_series(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for name in value or ():
            if parse_series(name) is None:
                raise ValueError(series_error(name))
        return value

    @field_validator("overrides")
    @classmethod
    def _overrides_parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            try:
                parse_override(text)
            except ConfigError as e:
                raise ValueError(f"{text!r}: {e}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CalibrationSpec:
        if self.series is not None and len(set(self.series)) != len(self.series):
            raise ValueError(f"series: a series is named twice, got {list(self.series)}")
        if self.abc.max_simulations < self.abc.population:
            raise ValueError(
                f"abc.max_simulations ({self.abc.max_simulations}) must be >= abc.population "
                f"({self.abc.population}): the prior's generation alone runs a population"
            )
        return self

    @property
    def predictive_draws(self) -> int:
        """Posterior predictive runs (default: the population)."""
        return self.outputs.predictive_draws or self.abc.population


def _route_override(text: str) -> str:
    """``scenario`` for scenario keys (run.x=1), ``spec`` for the spec's own (abc.population)."""
    first = text.split("=", 1)[0].strip().split(".", 1)[0]
    return "scenario" if first in set(Scenario.model_fields) - _SPEC_ONLY_KEYS else "spec"


def calibration_spec_from_dict(
    data: Mapping[str, Any], *, source: str = "<calibration>", overrides: Iterable[str] = ()
) -> CalibrationSpec:
    """Validate a calibration spec mapping, with ``key=value`` overrides.

    Parameters
    ----------
    data
        The spec as read from TOML.
    source
        Where it came from, for messages.
    overrides
        ``key=value`` strings: scenario keys (``run.horizon_days=365``) are appended to the
        spec's ``overrides``; others set spec keys (``abc.population=200``).

    Raises
    ------
    ConfigError
        One line naming the source, the key and the value.
    """
    overrides = list(overrides)
    spec_sets = [o for o in overrides if _route_override(o) == "spec"]
    scenario_sets = [o for o in overrides if _route_override(o) == "scenario"]
    try:
        merged = apply_overrides(data, spec_sets)
        apply_overrides({}, scenario_sets)
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from e
    if scenario_sets:
        existing = merged.get("overrides", [])
        if not isinstance(existing, list):
            raise ConfigError(
                f"{source}: overrides: must be a list of key=value strings, got "
                f"{type(existing).__name__}"
            )
        merged["overrides"] = [*existing, *scenario_sets]
    where = source + (" with --set " + " ".join(overrides) if overrides else "")
    try:
        return CalibrationSpec.model_validate(merged)
    except ValidationError as e:
        raise invalid(e, merged, where) from e


def load_calibration_spec(path: str | Path, overrides: Iterable[str] = ()) -> CalibrationSpec:
    """Read and validate a calibration spec (see :func:`calibration_spec_from_dict`).

    Raises
    ------
    ConfigError
        One line naming the file, the key and the value.
    """
    path = Path(path)
    return calibration_spec_from_dict(read_toml(path), source=str(path), overrides=overrides)
