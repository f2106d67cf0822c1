"""Experiment specs: the TOML that describes a Monte Carlo experiment, validated.

Spec
----
::

    name = "planner_capacity"
    question = "How many planners keep the first-conversation wait under 8 weeks?"
    base = "../../configs/demonstrator_site.toml"   # or [bases] name = "path", ...
    master_seed = 20240401                           # default: the first base's run.seed
    kpis = ["wait_referral_to_first_conversation_mean", "plans_signed_off_per_year"]
    overrides = ["run.horizon_days=730"]             # applied to every scenario
    confidence = 0.95

    [grid]                                           # a full grid of levels ...
    "workforce.planner.headcount" = [2, 3, 4]
    [baseline]                                       # the scenario differences are paired with
    "workforce.planner.headcount" = 2

    [design]                                         # ... or a design over ranges
    method = "morris"                                # latin | morris | sobol
    samples = 10                                     # points | trajectories | base sample N
    [design.factors."pathway.incomplete_referral_probability"]
    low = 0.1
    high = 0.5

    [replications]
    mode = "auto"                                    # fixed (n) | auto (Hoad et al.)
    relative_precision = 0.05
    max = 50

    [warmup]
    mode = "mser5"                                   # none | fixed (days) | mser5

    ensemble = "../../outputs/my_calibration"       # optional: a posterior ensemble; replication
                                                     # r of every scenario runs on draw r mod n
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from ipcsim.errors import ConfigError
from ipcsim.scenario import Scenario
from ipcsim.scenario._strict import StrictModel
from ipcsim.scenario.bounds import LONGEST_DAYS
from ipcsim.scenario.load import apply_overrides, invalid, parse_override, read_toml

__all__ = [
    "DEFAULT_KPIS",
    "MAX_FACTORS",
    "MAX_QUESTION_CHARS",
    "MAX_REPLICATIONS",
    "MAX_SCENARIOS",
    "DesignSpec",
    "ExperimentSpec",
    "FactorRangeSpec",
    "ReplicationSettings",
    "WarmupSettings",
    "load_spec",
    "spec_from_dict",
]

DEFAULT_KPIS = (
    "wait_referral_to_first_conversation_mean",
    "wait_referral_to_sign_off_mean",
    "plans_signed_off_per_year",
    "staff_cost_per_person_gbp",
)
"""KPIs of a spec that names none."""
_SPEC_ONLY_KEYS = frozenset({"name", "description", "question"})

MAX_REPLICATIONS = 10_000
"""Most replications of one scenario (and most pilots, look-ahead replications)."""
MAX_SCENARIOS = 100_000
"""Most scenarios one experiment plans (bases x grid combinations, or design points)."""
MAX_RESAMPLES = 100_000
"""Most bootstrap resamples for the sensitivity indices' confidence intervals."""
MAX_FACTOR_MAGNITUDE = 1e15
"""Largest magnitude of a design factor's bounds (the scenario bounds each value further)."""
MIN_BIN_DAYS = 1.0
"""Shortest period of the series MSER-5 analyses, days."""
MAX_FACTORS = 1_000
"""Most factors of a design (and most keys one factor sets)."""
MAX_QUESTION_CHARS = 2_000
"""Longest question (and description) a spec may state, characters."""

Level = StrictBool | StrictInt | StrictFloat | StrictStr


class _Spec(StrictModel):
    """Frozen, unknown keys errors, finite numbers, no lax conversions (as scenario tables)."""


class ReplicationSettings(_Spec):
    """How many replications each scenario gets."""

    mode: Literal["fixed", "auto"] = Field(
        default="fixed",
        description="'fixed' (n replications) or 'auto' (Hoad-Robinson-Davies: add replications "
        "until the CI half-width of the chosen KPIs is within relative_precision of the mean)",
    )
    n: int = Field(
        default=10,
        ge=1,
        le=MAX_REPLICATIONS,
        description="replications per scenario, 1 to 10,000 (fixed mode)",
    )
    initial: int = Field(
        default=3,
        ge=2,
        le=MAX_REPLICATIONS,
        description="replications before the first check, 2 to 10,000 (auto)",
    )
    max: int = Field(
        default=50,
        ge=2,
        le=MAX_REPLICATIONS,
        description="cap on replications per scenario, 2 to 10,000 (auto)",
    )
    relative_precision: float = Field(
        default=0.05, gt=0, lt=1, description="target CI half-width / |mean|, 0 to 1 (auto)"
    )
    look_ahead: int = Field(
        default=5,
        ge=0,
        le=MAX_REPLICATIONS,
        description="replications that must keep the precision, 0 to 10,000 (auto; kLimit)",
    )
    kpis: tuple[str, ...] | None = Field(
        default=None, description="KPIs whose precision is checked (auto; default: kpis)"
    )

    @model_validator(mode="after")
    def _cap_above_initial(self) -> ReplicationSettings:
        if self.max < self.initial:
            raise ValueError(f"max ({self.max}) must be >= initial ({self.initial})")
        return self


class WarmupSettings(_Spec):
    """Which start of each run the KPIs leave out."""

    mode: Literal["none", "fixed", "mser5"] = Field(
        default="none",
        description="'none' (e.g. starting from a backlog), 'fixed' (days) or 'mser5' (automatic)",
    )
    days: float = Field(
        default=0.0, ge=0, le=LONGEST_DAYS, description="warm-up, days, 0 to 36,525 (fixed mode)"
    )
    pilot_replications: int = Field(
        default=5,
        ge=1,
        le=MAX_REPLICATIONS,
        description="baseline replications MSER-5 averages, 1 to 10,000 (mser5 mode)",
    )
    bin_days: float = Field(
        default=7.0,
        ge=MIN_BIN_DAYS,
        le=LONGEST_DAYS,
        description="period of the series MSER-5 analyses, days, 1 to 36,525 (mser5 mode)",
    )
    combine: Literal["per_kpi", "max"] = Field(
        default="per_kpi",
        description="each KPI its own warm-up, or every KPI the longest (mser5 mode)",
    )


class FactorRangeSpec(_Spec):
    """A factor's range in a design."""

    low: float = Field(
        ge=-MAX_FACTOR_MAGNITUDE,
        le=MAX_FACTOR_MAGNITUDE,
        description="lower bound, in the key's unit, -1e15 to 1e15",
    )
    high: float = Field(
        ge=-MAX_FACTOR_MAGNITUDE,
        le=MAX_FACTOR_MAGNITUDE,
        description="upper bound, in the key's unit, -1e15 to 1e15",
    )
    integer: bool = Field(default=False, description="round sampled values to whole numbers")
    also: tuple[str, ...] = Field(
        default=(),
        max_length=MAX_FACTORS,
        description="other dotted keys set to the same value (e.g. the same parameter of "
        "every cohort), at most 1,000",
    )

    @model_validator(mode="after")
    def _ordered(self) -> FactorRangeSpec:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError(f"low and high must be finite, got [{self.low}, {self.high}]")
        if self.low >= self.high:
            raise ValueError(f"need low < high, got low = {self.low:g}, high = {self.high:g}")
        return self


class DesignSpec(_Spec):
    """A design over factor ranges (SALib)."""

    method: Literal["latin", "morris", "sobol"] = Field(description="latin, morris or sobol")
    samples: int = Field(
        ge=1,
        le=MAX_SCENARIOS,
        description="latin: points; morris: trajectories (k + 1 points each); sobol: base "
        "sample N, a power of 2 (N (k + 2) points); at most 100,000 points in all",
    )
    levels: int = Field(
        default=4, ge=2, le=100, description="grid levels of a Morris design, 2 to 100 (even)"
    )
    seed: int | None = Field(
        default=None, ge=0, lt=2**32, description="design seed, 0 to 2^32 - 1 (default: master)"
    )
    resamples: int = Field(
        default=1000,
        ge=10,
        le=MAX_RESAMPLES,
        description="bootstrap resamples for the CIs, 10 to 100,000",
    )
    factors: dict[str, FactorRangeSpec] = Field(
        min_length=1,
        max_length=MAX_FACTORS,
        description="dotted scenario key -> its range, 1 to 1,000 factors",
    )

    @model_validator(mode="after")
    def _method_rules(self) -> DesignSpec:
        if self.method == "sobol" and self.samples & (self.samples - 1):
            raise ValueError(f"samples must be a power of 2 for sobol, got {self.samples}")
        if self.method == "morris" and self.levels % 2:
            raise ValueError(f"levels must be even for morris, got {self.levels}")
        if self.method == "latin" and self.samples < 2:
            raise ValueError(f"samples must be >= 2 for latin, got {self.samples}")
        return self


class ExperimentSpec(_Spec):
    """A Monte Carlo experiment: scenarios, replications, warm-up, KPIs and seed."""

    name: str | None = Field(default=None, description="experiment name (default: spec folder)")
    description: str = Field(
        default="",
        max_length=MAX_QUESTION_CHARS,
        description="what the experiment compares, at most 2,000 characters",
    )
    question: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_QUESTION_CHARS,
        description="the question the experiment answers, shown first in its report, at most "
        "2,000 characters (default: the description, else the base scenario's)",
    )
    base: str | None = Field(default=None, description="scenario file, relative to the spec")
    bases: dict[str, str] | None = Field(
        default=None, description="several scenario files by name, relative to the spec"
    )
    master_seed: int | None = Field(
        default=None,
        ge=0,
        lt=2**63,
        description="seed of every replication, 0 to 2^63 - 1 (default: the first base's)",
    )
    common_random_numbers: bool = Field(
        default=True, description="same streams for replication r of every scenario"
    )
    kpis: tuple[str, ...] = Field(
        default=DEFAULT_KPIS, min_length=1, description="KPIs shown and used for precision"
    )
    confidence: float = Field(
        default=0.95, gt=0, lt=1, description="confidence level of CIs, 0 to 1"
    )
    overrides: tuple[str, ...] = Field(
        default=(), description="key=value overrides applied to every scenario"
    )
    grid: dict[str, Annotated[list[Level], Field(min_length=1)]] | None = Field(
        default=None, description="dotted scenario key -> levels; every combination is run"
    )
    design: DesignSpec | None = Field(default=None, description="a design over ranges")
    baseline: dict[str, Level] = Field(
        default_factory=dict,
        description="factor levels of the baseline scenario (and 'base' with several bases)",
    )
    replications: ReplicationSettings = Field(default_factory=ReplicationSettings)
    warmup: WarmupSettings = Field(default_factory=WarmupSettings)
    save_tables: bool = Field(
        default=True, description="write each replication's people and timeseries tables"
    )
    ensemble: str | None = Field(
        default=None,
        min_length=1,
        description="a posterior ensemble written by `ipcsim calibrate` (its folder, its "
        "ensemble/ folder or draws.json), relative to the spec: replication r of every "
        "scenario runs on draw r mod n, so intervals carry parameter uncertainty",
    )

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
    def _consistent(self) -> ExperimentSpec:
        # Errors about the spec as a whole start with the key to look at (the message has
        # no other location).
        if (self.base is None) == (self.bases is None):
            raise ValueError("base: give exactly one of 'base' (a scenario file) or '[bases]'")
        if self.bases is not None and not self.bases:
            raise ValueError("bases: [bases] needs at least one scenario file")
        if self.grid is not None and self.design is not None:
            raise ValueError("grid: give either [grid] or [design], not both")
        if self.grid is not None and not self.grid:
            raise ValueError("grid: [grid] is empty: give at least one factor with its levels")
        planned = self.scenario_count()
        if planned > MAX_SCENARIOS:
            raise ValueError(
                f"{'grid' if self.grid is not None else 'design.samples'}: plans {planned:,} "
                f"scenarios, more than the {MAX_SCENARIOS:,} allowed (fewer levels, factors or "
                "samples)"
            )
        return self

    def scenario_count(self) -> int:
        """How many scenarios the spec plans: bases x grid combinations, or design points + 1."""
        bases = len(self.bases) if self.bases is not None else 1
        if self.grid is not None:
            return bases * math.prod(len(levels) for levels in self.grid.values())
        if self.design is not None:
            k = len(self.design.factors)
            per_sample = {"latin": 1, "morris": k + 1, "sobol": k + 2}[self.design.method]
            return self.design.samples * per_sample + 1
        return bases

    def base_files(self) -> dict[str, str]:
        """Base scenario files by name (a single ``base`` is named by its file stem)."""
        if self.bases is not None:
            return dict(self.bases)
        if self.base is None:
            raise ConfigError("give exactly one of 'base' (a scenario file) or '[bases]'")
        return {Path(self.base).stem: self.base}


def _route_override(text: str) -> str:
    """``spec`` for spec keys (replications.n=3), ``scenario`` for scenario keys (run.x=1)."""
    key = text.split("=", 1)[0].strip()
    first = key.split(".", 1)[0]
    scenario_tables = set(Scenario.model_fields) - _SPEC_ONLY_KEYS
    return "scenario" if first in scenario_tables else "spec"


def spec_from_dict(
    data: Mapping[str, Any], *, source: str = "<spec>", overrides: Iterable[str] = ()
) -> ExperimentSpec:
    """Validate a spec mapping, with ``key=value`` overrides.

    Parameters
    ----------
    data
        The spec as read from TOML.
    source
        Where it came from, for error messages.
    overrides
        ``key=value`` strings. Keys whose first part is a scenario table (``run``,
        ``workforce``, ``cohorts``, ...) are appended to the spec's ``overrides`` (they apply
        to every scenario); others set spec keys (``replications.n=3``, ``master_seed=7``).

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
        # checked here, so that a bad one is not blamed on the spec's own overrides
        apply_overrides({}, scenario_sets)
    except ConfigError as e:  # name the file too: the override may clash with it
        raise ConfigError(f"{source}: {e}") from e
    if scenario_sets:
        existing = merged.get("overrides", [])
        if not isinstance(existing, list):
            raise ConfigError(
                f"{source}: overrides: must be a list of key=value strings, got "
                f"{type(existing).__name__} (with --set {' '.join(scenario_sets)})"
            )
        merged["overrides"] = [*existing, *scenario_sets]
    where = source + (" with --set " + " ".join(overrides) if overrides else "")
    try:
        return ExperimentSpec.model_validate(merged)
    except ValidationError as e:
        raise invalid(e, merged, where) from e


def load_spec(path: str | Path, overrides: Iterable[str] = ()) -> ExperimentSpec:
    """Read and validate an experiment spec.

    Parameters
    ----------
    path
        The spec's TOML file.
    overrides
        ``key=value`` strings (see :func:`spec_from_dict`).

    Returns
    -------
    ExperimentSpec
        The validated spec.

    Raises
    ------
    ConfigError
        One line naming the file, the key and the value.
    """
    path = Path(path)
    return spec_from_dict(read_toml(path), source=str(path), overrides=overrides)
