"""Plan specs: the TOML that asks for the cheapest staffing meeting service levels, validated.

Spec
----
::

    name = "demonstrator_staffing"
    question = "How few planners and finance officers see 90 % of people within 8 weeks?"
    base = "../../configs/growing_service.toml"     # the scenario staffed
    overrides = ["run.horizon_days=730"]            # applied before planning
    master_seed = 20160401                          # default: the base's run.seed
    confidence = 0.95                               # default confidence of each target
    cost = "staff_cost"                             # or "headcount"
    warmup_days = 0                                 # KPIs leave out people referred earlier
    targets = [
      "share_seen_within_8w >= 0.9",                # in the mean, 95 % confidence
      "wait_sign_off_to_budget_agreed_p90 <= 28 in 80% of replications",
    ]

    [roles.planner]                                 # a decision variable per role
    low = 1                                         # levels low, low + step, ..., high
    high = 10
    # measure = "headcount"                         # or "fte" (then step, e.g. 0.5)

    [roles.finance_officer]
    low = 1
    high = 4

    [replications]
    initial = 5                                     # replications before the first verdict
    step = 5                                        # added while a verdict is undecided
    max = 20                                        # then "not shown": counted as not met
    final = 40                                      # the final check of the answer

    ensemble = "../../outputs/my_calibration"       # optional: a posterior ensemble; replication
                                                    # r of every configuration runs draw r mod n

    [alternatives.monthly_panel]                    # optional: sign-off arrangements
    extra_cost_per_year = 0                         # the base's own sign-off
    [alternatives.weekly_panel]                     # dotted scenario settings, as --set
    set = { "signoff.panel.cadence" = "weekly" }
    extra_cost_per_year = 6000                      # pounds a year, stated (not staff cost)

    [over_time]                                     # optional: a staffing plan over time
    period_months = 6                               # periods of 6 calendar months
    hires_ready = "productive"                      # or "on_arrival"
    # follow_up_days = 120                          # default: the targets' longest wait

The service-level language is :mod:`ipcsim.analysis.service_levels`; the plan over time is
:mod:`ipcsim.experiment.planning.over_time`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from ipcsim.analysis.service_levels import (
    ServiceLevel,
    longest_wait_days,
    min_replications,
    parse_service_level,
)
from ipcsim.errors import ConfigError
from ipcsim.experiment.spec import MAX_QUESTION_CHARS, MAX_REPLICATIONS
from ipcsim.scenario import Scenario
from ipcsim.scenario._strict import StrictModel
from ipcsim.scenario.bounds import LONGEST_DAYS, MAX_STAFF
from ipcsim.scenario.load import apply_overrides, invalid, parse_override, read_toml

__all__ = [
    "Alternative",
    "MAX_ALTERNATIVES",
    "MAX_CONFIGURATIONS",
    "MAX_LEVELS",
    "MAX_PERIODS",
    "OverTime",
    "PlanReplications",
    "PlanSpec",
    "RoleRange",
    "load_plan_spec",
    "plan_spec_from_dict",
]

MAX_LEVELS = 1_000
"""Most levels one role's range may hold."""
MAX_CONFIGURATIONS = 1_000_000
"""Most configurations (the product of the roles' level counts) a plan may search."""
MAX_ROLES = 10
"""Most roles a plan may vary."""
MAX_ALTERNATIVES = 20
"""Most alternatives (sign-off arrangements) a plan may compare."""
MAX_EXTRA_COST = 1e9
"""Largest stated extra cost of an alternative, pounds a year."""
MAX_PERIODS = 120
"""Most periods a staffing plan over time may have."""
_SPEC_ONLY_KEYS = frozenset({"name", "description", "question"})
RUN_WIDE_KPIS = ("overload_warnings",)
"""KPIs of the whole run, not of a period (with ``*_last_12m``): no target over time."""


class _Spec(StrictModel):
    """Frozen, unknown keys errors, finite numbers, no lax conversions (as scenario tables)."""


class RoleRange(_Spec):
    """A role's staffing: the decision variable the planner searches."""

    measure: Literal["headcount", "fte"] = Field(
        default="headcount",
        description="'headcount' (whole people) or 'fte' (whole-time equivalents)",
    )
    low: float = Field(ge=0, le=MAX_STAFF, description="fewest staff tried, 0 to 100,000")
    high: float = Field(ge=0, le=MAX_STAFF, description="most staff tried, 0 to 100,000")
    step: float | None = Field(
        default=None,
        gt=0,
        le=MAX_STAFF,
        description="distance between levels (default 1; whole for headcount)",
    )

    @model_validator(mode="after")
    def _levels_make_sense(self) -> RoleRange:
        step = self.step if self.step is not None else 1.0
        if self.low >= self.high:
            raise ValueError(f"need low < high, got low = {self.low:g}, high = {self.high:g}")
        if self.measure == "headcount":
            for name, value in (("low", self.low), ("high", self.high), ("step", step)):
                if value != int(value):
                    raise ValueError(f"{name}: a headcount must be whole, got {value:g}")
        elif self.low < 0.01:
            raise ValueError(f"low: an fte must be at least 0.01, got {self.low:g}")
        count = math.floor((self.high - self.low) / step + 1e-9) + 1
        if count > MAX_LEVELS:
            raise ValueError(f"{count:,} levels, more than {MAX_LEVELS:,} (raise step)")
        return self

    def levels(self) -> tuple[float, ...]:
        """The levels tried, ascending: ``low, low + step, ...`` up to ``high``."""
        step = self.step if self.step is not None else 1.0
        count = math.floor((self.high - self.low) / step + 1e-9) + 1
        values = [round(self.low + i * step, 9) for i in range(count)]
        if self.measure == "headcount":
            return tuple(float(int(v)) for v in values)
        return tuple(values)


class Alternative(_Spec):
    """A decision alternative: scenario settings (e.g. the sign-off) and their stated cost."""

    settings: dict[str, Any] = Field(
        default_factory=dict,
        alias="set",
        max_length=100,
        description="dotted scenario keys and their values, as --set takes them (e.g. "
        "'signoff.panel.cadence' = 'weekly'); empty: the base as it is",
    )
    extra_cost_per_year: float = Field(
        default=0.0,
        ge=0,
        le=MAX_EXTRA_COST,
        description="pounds a year the alternative costs beyond the roles' staff cost (panel "
        "sittings, reviewers' time): stated by the user, added to the staff cost, 0 to 1e9",
    )

    @field_validator("settings")
    @classmethod
    def _keys_are_dotted(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not key or any(not part.strip() for part in key.split(".")):
                raise ValueError(f"{key!r}: a key must be a dotted path such as signoff.mode")
        return value


class PlanReplications(_Spec):
    """How many replications judge a configuration."""

    initial: int = Field(
        default=5, ge=2, le=MAX_REPLICATIONS, description="replications before the first verdict"
    )
    step: int = Field(
        default=5,
        ge=1,
        le=MAX_REPLICATIONS,
        description="replications added while a verdict is undecided, 1 to 10,000",
    )
    max: int = Field(
        default=20,
        ge=2,
        le=MAX_REPLICATIONS,
        description="most replications in the search; still undecided then counts as not met",
    )
    final: int = Field(
        default=40,
        ge=2,
        le=MAX_REPLICATIONS,
        description="replications of the final check of the answer and its cheaper neighbours",
    )

    @model_validator(mode="after")
    def _ordered(self) -> PlanReplications:
        if self.max < self.initial:
            raise ValueError(f"max ({self.max}) must be >= initial ({self.initial})")
        if self.final < self.max:
            raise ValueError(f"final ({self.final}) must be >= max ({self.max})")
        return self


class OverTime(_Spec):
    """A staffing plan over time: the cheapest headcount per role in each period."""

    period_months: int = Field(
        ge=1,
        le=120,
        description="length of each period, calendar months from the run's start, 1 to 120 "
        "(the last period ends at the horizon)",
    )
    hires_ready: Literal["productive", "on_arrival"] = Field(
        default="productive",
        description="'productive': a period's new staff are decided early enough (recruitment "
        "lag + training + new-starter weeks) to be fully productive when it starts; "
        "'on_arrival': they arrive when it starts and train in it",
    )
    follow_up_days: float | None = Field(
        default=None,
        ge=0,
        le=LONGEST_DAYS,
        description="days each period's people are followed after it ends, 0 to 36,525 "
        "(default and least: the longest wait the targets name)",
    )


class PlanSpec(_Spec):
    """The cheapest staffing of a scenario that meets service levels."""

    name: str | None = Field(default=None, description="plan name (default: spec folder)")
    description: str = Field(default="", max_length=MAX_QUESTION_CHARS, description="what it asks")
    question: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_QUESTION_CHARS,
        description="the question the plan answers, at most 2,000 characters",
    )
    base: str = Field(description="scenario file, relative to the spec")
    overrides: tuple[str, ...] = Field(
        default=(), description="key=value overrides applied to the base"
    )
    master_seed: int | None = Field(
        default=None,
        ge=0,
        lt=2**63,
        description="seed of every replication, 0 to 2^63 - 1 (default: the base's run.seed)",
    )
    confidence: float = Field(
        default=0.95, gt=0, lt=1, description="default confidence of each target, 0 to 1"
    )
    cost: Literal["staff_cost", "headcount"] = Field(
        default="staff_cost",
        description="what is minimised: 'staff_cost' (pounds a year of the roles' IPC time: "
        "staff x contracted hours x IPC share x 52.18 weeks x hourly cost) or 'headcount'",
    )
    warmup_days: float = Field(
        default=0.0,
        ge=0,
        le=LONGEST_DAYS,
        description="KPIs leave out the start of each run, days, 0 to 36,525",
    )
    targets: tuple[str, ...] = Field(
        min_length=1,
        max_length=20,
        description="service levels, e.g. 'share_seen_within_8w >= 0.9' (1 to 20)",
    )
    roles: dict[str, RoleRange] = Field(
        min_length=1,
        max_length=MAX_ROLES,
        description="role -> its range of staff (1 to 10 roles)",
    )
    replications: PlanReplications = Field(default_factory=PlanReplications)
    ensemble: str | None = Field(
        default=None,
        min_length=1,
        description="a posterior ensemble written by `ipcsim calibrate` (its folder, its "
        "ensemble/ folder or draws.json), relative to the spec: replication r of every "
        "configuration runs on draw r mod n, so targets are judged over parameter "
        "uncertainty as well as stochastic noise",
    )
    over_time: OverTime | None = Field(
        default=None,
        description="plan the staffing period by period (a dated staffing plan) instead of "
        "one constant staffing",
    )
    alternatives: dict[str, Alternative] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_ALTERNATIVES,
        description="name -> an alternative (sign-off mode, panel cadence and capacity: any "
        "scenario settings) with its stated extra cost a year; the staffing is searched for "
        "each and the cheapest total meeting every target chosen (1 to 20)",
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

    @field_validator("targets")
    @classmethod
    def _targets_parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            try:
                parse_service_level(text, option="")
            except ConfigError as e:
                raise ValueError(str(e).strip()) from None
        return value

    @model_validator(mode="after")
    def _searchable(self) -> PlanSpec:
        count = math.prod(len(r.levels()) for r in self.roles.values())
        if count > MAX_CONFIGURATIONS:
            raise ValueError(
                f"roles: {count:,} configurations, more than the {MAX_CONFIGURATIONS:,} allowed "
                "(narrow the ranges or raise a step)"
            )
        for index, level in enumerate(self.service_levels()):
            if level.share is not None:
                needed = min_replications(level.share, level.confidence)
                if needed > self.replications.max:
                    raise ValueError(
                        f"replications.max: {self.replications.max} replications cannot show "
                        f"targets.{index} ({level.text!r}); it needs at least {needed}"
                    )
        if self.alternatives is not None:
            for name, alternative in self.alternatives.items():
                if self.cost == "headcount" and alternative.extra_cost_per_year:
                    raise ValueError(
                        f"alternatives.{name}.extra_cost_per_year: pounds a year add to "
                        f"cost = 'staff_cost' only, got {alternative.extra_cost_per_year:g} "
                        "with cost = 'headcount'"
                    )
                for key in alternative.settings:
                    parts = key.split(".")
                    if parts[0] == "workforce" and len(parts) > 1 and parts[1] in self.roles:
                        raise ValueError(
                            f"alternatives.{name}.set: {key} is a role the plan staffs "
                            "([roles]); an alternative may not set it"
                        )
            if self.over_time is not None:
                raise ValueError(
                    "alternatives: a plan over time keeps the base's settings for the whole "
                    "plan; plan each alternative in its own spec (or leave out [over_time])"
                )
        if self.over_time is not None:
            needed = math.ceil(
                max((longest_wait_days(v) for v in self.service_levels()), default=0)
            )
            chosen = self.over_time.follow_up_days
            if chosen is not None and chosen < needed:
                raise ValueError(
                    f"over_time.follow_up_days: the targets need each period's people followed "
                    f"for at least {needed:g} days, got {chosen:g}"
                )
            if self.warmup_days:
                raise ValueError(
                    f"warmup_days: a plan over time judges every period from day 0, so it "
                    f"takes no warm-up, got {self.warmup_days:g}"
                )
            for index, level in enumerate(self.service_levels()):
                if level.kpi.endswith("_last_12m") or level.kpi in RUN_WIDE_KPIS:
                    raise ValueError(
                        f"targets.{index}: {level.kpi} describes the whole run, not a period; "
                        "over time use a KPI of the period (e.g. plans_signed_off_per_year)"
                    )
        return self

    def to_json(self, *, exclude: Iterable[str] = ()) -> dict[str, Any]:
        """The spec as plain data (``alternatives`` only when given, as TOML spells them)."""
        leave_out = set(exclude) | ({"alternatives"} if self.alternatives is None else set())
        return self.model_dump(mode="json", by_alias=True, exclude=leave_out)

    def service_levels(self) -> tuple[ServiceLevel, ...]:
        """The targets, parsed, with the spec's confidence where they state none."""
        return tuple(
            parse_service_level(text, confidence=self.confidence, option=f"targets.{i}")
            for i, text in enumerate(self.targets)
        )


def _route_override(text: str) -> str:
    """``scenario`` for scenario keys (run.x=1), ``spec`` for the spec's own (replications.max)."""
    first = text.split("=", 1)[0].strip().split(".", 1)[0]
    return "scenario" if first in set(Scenario.model_fields) - _SPEC_ONLY_KEYS else "spec"


def plan_spec_from_dict(
    data: Mapping[str, Any],
    *,
    source: str = "<plan>",
    overrides: Iterable[str] = (),
    targets: Iterable[str] = (),
) -> PlanSpec:
    """Validate a plan spec mapping, with ``key=value`` overrides and replacement targets.

    Parameters
    ----------
    data
        The spec as read from TOML.
    source
        Where it came from, for messages.
    overrides
        ``key=value`` strings: scenario keys (``run.horizon_days=365``) are appended to the
        spec's ``overrides``; others set spec keys (``replications.max=30``).
    targets
        Service levels that replace the spec's ``targets`` (the ``--target`` option).

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
    targets = list(targets)
    if targets:
        for text in targets:
            try:
                parse_service_level(text)
            except ConfigError as e:
                raise ConfigError(f"{source}: {e}") from e
        merged["targets"] = targets
    where = source + (" with --set " + " ".join(overrides) if overrides else "")
    try:
        return PlanSpec.model_validate(merged)
    except ValidationError as e:
        raise invalid(e, merged, where) from e


def load_plan_spec(
    path: str | Path, overrides: Iterable[str] = (), targets: Iterable[str] = ()
) -> PlanSpec:
    """Read and validate a plan spec (see :func:`plan_spec_from_dict`).

    Raises
    ------
    ConfigError
        One line naming the file, the key and the value.
    """
    path = Path(path)
    return plan_spec_from_dict(
        read_toml(path), source=str(path), overrides=overrides, targets=targets
    )
