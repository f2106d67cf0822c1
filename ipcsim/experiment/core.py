"""Monte Carlo experiments: scenario grids and designs, replications with confidence intervals,
common random numbers, any executor, resumable batches.

An experiment is described by a TOML spec (:class:`ExperimentSpec`), turned into a plan of
scenarios (:func:`plan_experiment`) and run cell by cell, a cell being one replication of one
scenario (:func:`run_experiment`). Each cell runs :func:`ipcsim.runner.run_scenario` in a
worker (:func:`run_cell`), which writes the replication's tables and returns only its KPIs.

Spec
----
::

    name = "planner_capacity"
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

Seeds and common random numbers
-------------------------------
Replication ``r`` of every scenario runs with ``seed = master_seed`` and ``replication = r``,
so it derives its streams from the master seed and ``r`` alone, never from the scenario; the
model draws each person's randomness from named streams when they are referred, so the same
referral gets the same draws in every scenario (common random numbers) and differences from
the baseline are paired. ``common_random_numbers = false`` gives each scenario its own seed
instead (for comparison). One cell is reproduced with
``run_scenario(scenario, seed=master_seed, replication=r)``.

KPIs
----
Flat snake_case names, one value per replication (NaN where undefined, e.g. a wait nobody
completed, or the utilisation of an unlimited role):

- ``referred`` and the end states ``declined``, ``withdrawn``, ``plan_in_place``,
  ``budget_in_place``, ``in_progress``: people (counts);
- ``plans_signed_off``, ``budgets_released``: events in the window (counts);
  ``plans_signed_off_per_year``, ``budgets_released_per_year``: the same per 365.25 days;
- ``wait_<stage>_mean``, ``wait_<stage>_p50``, ``wait_<stage>_p90`` (days) and
  ``wait_<stage>_n`` (people) for each stage of :data:`ipcsim.pathway.WAITS`:
  ``referral_to_first_conversation``, ``referral_to_sign_off``, ``referral_to_budget_release``,
  ``referral_to_consent``, ``consent_to_first_conversation``,
  ``first_conversation_to_plan_written``, ``plan_written_to_sign_off``,
  ``sign_off_to_budget_agreed``, ``budget_agreed_to_budget_released``;
- ``utilisation_<role>``: hours worked / IPC hours available (fraction);
- ``staff_hours_per_person`` (hours) and ``staff_cost_per_person_gbp`` (pounds), totals per
  referred person, and ``staff_hours_per_person_<role>``, ``staff_cost_per_person_gbp_<role>``.

Warm-up
-------
With a warm-up of ``W`` days, people KPIs (counts, waits, staff time per person) use only
people referred on or after day ``W``; throughput counts sign-offs and releases dated in
``[W, horizon]`` (the steady-state rate, including people referred earlier), per year of that
window; utilisation counts work starting in ``[W, horizon]`` over the hours available then.
``mser5`` runs pilot replications of the baseline, averages each KPI's weekly series over them
and truncates each series by MSER-5 (:func:`ipcsim.stats.mser`): every KPI gets its own
warm-up (``combine = "per_kpi"``) or all the longest (``combine = "max"``). Series built by
the period people were referred in are cut short near the horizon (late referrals have not had
time to withdraw or reach a milestone), which can push MSER-5's truncation of those KPIs late;
``warmup.json`` records every truncation, and a fixed warm-up or a longer run avoids it.

Output folder
-------------
``replications.parquet`` (scenario, replication, kpi, value), ``summary.parquet`` (scenario x
KPI: mean, sd, n, ci_low, ci_high, half_width, factor columns, is_baseline),
``paired.parquet`` (scenario - baseline: mean_diff, sd_diff, n, ci_low, ci_high, half_width,
variance_reduction, factor columns), ``sensitivity.parquet`` (designs: method, kpi, parameter,
index, value, ci_low, ci_high), ``scenarios.parquet`` and ``manifest.json`` (written last).
Factor columns are named by their dotted keys (and ``base`` when there are several bases).
Each replication leaves ``runs/<scenario>/rep-<NNN>/`` with ``people.parquet`` and
``timeseries.parquet`` (written by the worker) and ``kpis.json`` (written by this process the
moment the cell returns, atomically: the marker that the cell is done). ``experiment.json``
holds the spec and its hash, so a resumed batch with a changed spec is refused.
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import datetime as dt
import difflib
import hashlib
import json
import logging
import math
import os
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from ipcsim.analysis import metrics, sensitivity, stats
from ipcsim.errors import ConfigError, OutputError
from ipcsim.experiment.executors import open_executor
from ipcsim.io import run_folder as io
from ipcsim.pathway import END_STATES, WAITS
from ipcsim.periods import month_starts
from ipcsim.run import RunResult, run_scenario
from ipcsim.scenario import Scenario
from ipcsim.scenario.load import (
    apply_overrides,
    read_toml,
    scenario_from_dict,
    scenario_hash,
    validation_message,
)
from ipcsim.units import DAYS_PER_YEAR

__all__ = [
    "STATE_FILE",
    "CellResult",
    "CellTask",
    "ExperimentPlan",
    "ExperimentResult",
    "ExperimentSpec",
    "PlannedScenario",
    "ProgressEvent",
    "compute_kpis",
    "flatten_summary",
    "kpi_names",
    "kpi_series",
    "load_spec",
    "plan_experiment",
    "run_cell",
    "run_experiment",
    "spec_from_dict",
]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
"""Version of the experiment folder layout, recorded in ``experiment.json``."""
STATE_FILE = "experiment.json"
WARMUP_FILE = "warmup.json"
WAIT_STATS = ("mean", "p50", "p90", "n")
DEFAULT_KPIS = (
    "wait_referral_to_first_conversation_mean",
    "wait_referral_to_sign_off_mean",
    "plans_signed_off_per_year",
    "staff_cost_per_person_gbp",
)
OUTPUT_TABLES = ("replications", "summary", "paired", "sensitivity", "scenarios")
_SPEC_ONLY_KEYS = frozenset({"name", "description"})


# =========================================================================== spec
Level = StrictBool | StrictInt | StrictFloat | StrictStr


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReplicationSettings(_Spec):
    """How many replications each scenario gets."""

    mode: Literal["fixed", "auto"] = Field(
        default="fixed",
        description="'fixed' (n replications) or 'auto' (Hoad-Robinson-Davies: add replications "
        "until the CI half-width of the chosen KPIs is within relative_precision of the mean)",
    )
    n: int = Field(default=10, ge=1, description="replications per scenario (fixed mode)")
    initial: int = Field(default=3, ge=2, description="replications before the first check (auto)")
    max: int = Field(default=50, ge=2, description="cap on replications per scenario (auto)")
    relative_precision: float = Field(
        default=0.05, gt=0, lt=1, description="target CI half-width / |mean| (auto)"
    )
    look_ahead: int = Field(
        default=5, ge=0, description="replications that must keep the precision (auto; kLimit)"
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
    days: float = Field(default=0.0, ge=0, description="warm-up, days (fixed mode)")
    pilot_replications: int = Field(
        default=5, ge=1, description="baseline replications MSER-5 averages (mser5 mode)"
    )
    bin_days: float = Field(
        default=7.0, gt=0, description="period of the series MSER-5 analyses, days (mser5 mode)"
    )
    combine: Literal["per_kpi", "max"] = Field(
        default="per_kpi",
        description="each KPI its own warm-up, or every KPI the longest (mser5 mode)",
    )


class FactorRangeSpec(_Spec):
    """A factor's range in a design."""

    low: float = Field(description="lower bound, in the key's unit")
    high: float = Field(description="upper bound, in the key's unit")
    integer: bool = Field(default=False, description="round sampled values to whole numbers")
    also: tuple[str, ...] = Field(
        default=(),
        description="other dotted keys set to the same value (e.g. the same parameter of "
        "every cohort)",
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
        description="latin: points; morris: trajectories (k + 1 points each); sobol: base "
        "sample N, a power of 2 (N (k + 2) points)",
    )
    levels: int = Field(default=4, ge=2, description="grid levels of a Morris design (even)")
    seed: int | None = Field(default=None, ge=0, description="design seed (default: master)")
    resamples: int = Field(default=1000, ge=10, description="bootstrap resamples for the CIs")
    factors: dict[str, FactorRangeSpec] = Field(
        min_length=1, description="dotted scenario key -> its range"
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
    description: str = Field(default="", description="the question the experiment answers")
    base: str | None = Field(default=None, description="scenario file, relative to the spec")
    bases: dict[str, str] | None = Field(
        default=None, description="several scenario files by name, relative to the spec"
    )
    master_seed: int | None = Field(
        default=None, ge=0, description="seed of every replication (default: the first base's)"
    )
    common_random_numbers: bool = Field(
        default=True, description="same streams for replication r of every scenario"
    )
    kpis: tuple[str, ...] = Field(
        default=DEFAULT_KPIS, min_length=1, description="KPIs shown and used for precision"
    )
    confidence: float = Field(default=0.95, gt=0, lt=1, description="confidence level of CIs")
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

    @model_validator(mode="after")
    def _consistent(self) -> ExperimentSpec:
        if (self.base is None) == (self.bases is None):
            raise ValueError("give exactly one of 'base' (a scenario file) or '[bases]'")
        if self.bases is not None and not self.bases:
            raise ValueError("[bases] needs at least one scenario file")
        if self.grid is not None and self.design is not None:
            raise ValueError("give either [grid] or [design], not both")
        if self.grid is not None and not self.grid:
            raise ValueError("[grid] is empty: give at least one factor with its levels")
        return self

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
    merged = apply_overrides(data, spec_sets)
    if scenario_sets:
        existing = merged.get("overrides", [])
        if not isinstance(existing, list):
            raise ConfigError(f"{source}: overrides: must be a list of key=value strings")
        merged["overrides"] = [*existing, *scenario_sets]
    where = source + (" with --set " + " ".join(overrides) if overrides else "")
    try:
        return ExperimentSpec.model_validate(merged)
    except ValidationError as e:
        raise ConfigError(validation_message(e, merged, where)) from e


def load_spec(path: str | Path, overrides: Iterable[str] = ()) -> ExperimentSpec:
    """Read and validate an experiment spec (see :func:`spec_from_dict`)."""
    path = Path(path)
    return spec_from_dict(read_toml(path), source=str(path), overrides=overrides)


# =========================================================================== KPIs
def kpi_names(scenario: Scenario) -> list[str]:
    """Every KPI a replication of ``scenario`` reports, in output order (see module notes)."""
    roles = list(scenario.role_names)
    names = ["referred", *END_STATES]
    names += [
        "plans_signed_off",
        "budgets_released",
        "plans_signed_off_per_year",
        "budgets_released_per_year",
    ]
    names += [f"wait_{stage}_{stat}" for stage in WAITS for stat in WAIT_STATS]
    names += [f"utilisation_{role}" for role in roles]
    names += ["staff_hours_per_person", "staff_cost_per_person_gbp"]
    names += [f"staff_hours_per_person_{role}" for role in roles]
    names += [f"staff_cost_per_person_gbp_{role}" for role in roles]
    return names


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def flatten_summary(
    summary: Mapping[str, Any], *, horizon_days: float, window_start_day: float = 0.0
) -> dict[str, float]:
    """A run summary (:func:`ipcsim.metrics.summary`) as flat KPIs (see module notes).

    Parameters
    ----------
    summary
        The summary dict of a run.
    horizon_days
        Length of the run, days.
    window_start_day
        Start of the window the throughput counts cover (for the per-year rates), days.

    Returns
    -------
    dict
        KPI -> value (float; NaN where the summary has ``None``).
    """
    people = summary["people"]
    out: dict[str, float] = {"referred": float(people["referred"])}
    for state in END_STATES:
        out[state] = float(people.get(state, 0))
    quarters = summary["throughput_per_quarter"]
    years = (horizon_days - window_start_day) / DAYS_PER_YEAR
    for key in ("plans_signed_off", "budgets_released"):
        out[key] = float(sum(int(q[key]) for q in quarters))
    for key in ("plans_signed_off", "budgets_released"):
        out[f"{key}_per_year"] = out[key] / years
    for stage in WAITS:
        waits = summary["waits_days"][stage]
        for stat in WAIT_STATS:
            out[f"wait_{stage}_{stat}"] = _number(waits[stat])
    utilisation = summary["utilisation"]
    for role in sorted(utilisation):
        out[f"utilisation_{role}"] = _number(utilisation[role])
    hours = summary["staff_hours_per_person"]
    cost = summary["staff_cost_per_person_gbp"]
    out["staff_hours_per_person"] = _number(hours["total"])
    out["staff_cost_per_person_gbp"] = _number(cost["total"])
    for role in sorted(k for k in hours if k != "total"):
        out[f"staff_hours_per_person_{role}"] = _number(hours[role])
    for role in sorted(k for k in cost if k != "total"):
        out[f"staff_cost_per_person_gbp_{role}"] = _number(cost[role])
    return out


def _month_edges(scenario: Scenario) -> np.ndarray:
    months = month_starts(scenario.run.start_date, scenario.run.horizon_days)
    return np.array([m[1] for m in months] + [months[-1][2]], dtype=float)


def _worked_by_bin(work: pd.DataFrame, role: str, edges: np.ndarray) -> np.ndarray:
    """Hours of ``role``'s work starting in each bin (bins ``[lo, hi)``, the last closed)."""
    mine = work["role"].astype(object).to_numpy() == role
    starts = work["start_day"].to_numpy(dtype=float)[mine]
    hours = work["hours"].to_numpy(dtype=float)[mine]
    keep = np.isfinite(starts)
    counts, _ = np.histogram(starts[keep], bins=edges, weights=hours[keep])
    return counts.astype(float)


def _available_by_month(result: RunResult) -> dict[str, np.ndarray | None] | None:
    """IPC hours each role could deliver in each calendar month of the run.

    Returns
    -------
    dict or None
        Role -> hours per month (``None`` for an unlimited role); ``None`` when they cannot
        be recovered from the run's outputs.

    Notes
    -----
    The runner does not return its capacity frame, so the hours are recovered from the
    monthly utilisation (hours worked / hours available): exactly for months with work, and
    for months without work by sharing out the rest of the run's total (hours worked / the
    run's utilisation) in proportion to their length. A ``capacity`` frame in
    ``result.frames`` is used as it is.
    """
    scenario = result.scenario
    edges = _month_edges(scenario)
    roles = list(result.summary["utilisation"])
    capacity = result.frames.get("capacity")
    if capacity is not None and {"month_start_day", "role", "available_hours"} <= set(
        capacity.columns
    ):
        out_cap: dict[str, np.ndarray | None] = {}
        for role in roles:
            rows = capacity[capacity["role"].astype(object) == role]
            hours = (
                rows.groupby("month_start_day")["available_hours"].sum().reindex(edges[:-1])
            ).to_numpy(dtype=float)
            out_cap[role] = None if np.isnan(hours).all() else np.nan_to_num(hours)
        return out_cap
    series = result.timeseries
    if "site" in series.columns and series["site"].nunique() > 1:
        return None
    lengths = np.diff(edges)
    out: dict[str, np.ndarray | None] = {}
    for role in roles:
        total_share = result.summary["utilisation"][role]
        column = f"utilisation_{role}"
        if total_share is None or column not in series.columns or len(series) != lengths.size:
            out[role] = None
            continue
        worked = _worked_by_bin(result.work, role, edges)
        if worked.sum() == 0 or total_share == 0:
            out[role] = np.zeros_like(lengths)  # no work: any availability gives 0 use
            continue
        share = series[column].to_numpy(dtype=float)
        known = (worked > 0) & np.isfinite(share) & (share > 0)
        available = np.zeros_like(lengths)
        available[known] = worked[known] / share[known]
        rest = worked.sum() / total_share - available[known].sum()
        unknown = ~known
        if unknown.any() and lengths[unknown].sum() > 0:
            available[unknown] = max(rest, 0.0) * lengths[unknown] / lengths[unknown].sum()
        out[role] = available
    return out


def _available_in(monthly: np.ndarray, edges: np.ndarray, start: float, end: float) -> float:
    """Hours available in ``[start, end]`` from monthly totals (pro rata within a month)."""
    lo = np.clip(start, edges[:-1], edges[1:])
    hi = np.clip(end, edges[:-1], edges[1:])
    lengths = np.diff(edges)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(lengths > 0, (hi - lo) / lengths, 0.0)
    return float(np.sum(monthly * fraction))


def compute_kpis(result: RunResult, *, warmup_days: float = 0.0) -> dict[str, float]:
    """KPIs of one replication after a warm-up (see module notes).

    Parameters
    ----------
    result
        The replication's run.
    warmup_days
        Days at the start to leave out (``0`` for the whole run; below the horizon).

    Returns
    -------
    dict
        KPI -> value, in :func:`kpi_names` order; with no warm-up, exactly
        :func:`flatten_summary` of the run's summary.
    """
    horizon = result.scenario.run.horizon_days
    if warmup_days == 0:
        return flatten_summary(result.summary, horizon_days=horizon)
    if not 0 < warmup_days < horizon:
        raise ValueError(f"warm-up must be in [0, {horizon:g}) days, got {warmup_days:g}")
    people = result.people
    work = result.work
    people_after = people[people["referred_day"].to_numpy(dtype=float) >= warmup_days]
    work_after = work[work["start_day"].to_numpy(dtype=float) >= warmup_days]
    monthly = _available_by_month(result)
    edges = _month_edges(result.scenario)
    available: dict[str, float | None] = {}
    for role, whole in result.summary["utilisation"].items():
        hours = None if monthly is None else monthly.get(role)
        if whole is None or hours is None:
            available[role] = None
        else:
            available[role] = _available_in(hours, edges, warmup_days, horizon)
    summary = metrics.summary(
        people_after,
        work_after,
        role_names=[k for k in result.summary["staff_hours_per_person"] if k != "total"],
        available_hours=available,
        start_date=result.scenario.run.start_date,
        horizon_days=horizon,
    )
    kpis = flatten_summary(summary, horizon_days=horizon, window_start_day=warmup_days)
    if monthly is None:
        # Utilisation after the warm-up is not recoverable here; keep the whole run's.
        for role, whole in result.summary["utilisation"].items():
            kpis[f"utilisation_{role}"] = _number(whole)
    # Throughput is the rate in the window, whoever the events belong to.
    years = (horizon - warmup_days) / DAYS_PER_YEAR
    for key, column in (
        ("plans_signed_off", "signed_off_day"),
        ("budgets_released", "budget_released_day"),
    ):
        days = people[column].to_numpy(dtype=float)
        count = float(np.sum((days >= warmup_days) & (days <= horizon)))
        kpis[key] = count
        kpis[f"{key}_per_year"] = count / years
    return kpis


def _wait_columns(stage: str) -> tuple[str, str]:
    return WAITS[stage]


def kpi_series(result: RunResult, *, bin_days: float) -> dict[str, list[float]]:
    """Each KPI as a series over periods of ``bin_days``, for warm-up detection.

    Parameters
    ----------
    result
        A replication's run (no warm-up).
    bin_days
        Period length, days; the periods are ``[k b, (k + 1) b)`` for whole periods within
        the horizon (a partial last period is dropped).

    Returns
    -------
    dict
        KPI -> one value per period (NaN where undefined): counts of people by the period
        they were referred in (``referred``, end states); events dated in the period
        (``plans_signed_off``, ``budgets_released``; ``_per_year`` scaled to a year); waits
        by the period the stage began in (the mean, for ``_mean``, ``_p50`` and ``_p90``;
        the count for ``_n``); utilisation of the period; staff time per person as hours
        (or their cost) worked in the period over people referred in it.
    """
    horizon = result.scenario.run.horizon_days
    n_bins = int(horizon // bin_days)
    if n_bins < 1:
        return {}
    edges = np.arange(n_bins + 1, dtype=float) * bin_days
    people = result.people
    referred = people["referred_day"].to_numpy(dtype=float)

    def counts(mask: np.ndarray, day: np.ndarray) -> np.ndarray:
        keep = mask & np.isfinite(day) & (day <= horizon)
        found, _ = np.histogram(day[keep], bins=edges)
        return found.astype(float)

    def means(values: np.ndarray, day: np.ndarray, mask: np.ndarray) -> np.ndarray:
        keep = mask & np.isfinite(values) & np.isfinite(day)
        bins = np.floor(day[keep] / bin_days).astype(int)
        inside = bins < n_bins
        sums = np.bincount(bins[inside], weights=values[keep][inside], minlength=n_bins)
        num = np.bincount(bins[inside], minlength=n_bins).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(num > 0, sums / np.maximum(num, 1), np.nan)

    everyone = np.ones(len(people), dtype=bool)
    out: dict[str, np.ndarray] = {"referred": counts(everyone, referred)}
    states = people["end_state"].astype(object).to_numpy()
    for state in END_STATES:
        out[state] = counts(states == state, referred)
    per_year = DAYS_PER_YEAR / bin_days
    for key, column in (
        ("plans_signed_off", "signed_off_day"),
        ("budgets_released", "budget_released_day"),
    ):
        events = counts(everyone, people[column].to_numpy(dtype=float))
        out[key] = events
        out[f"{key}_per_year"] = events * per_year
    for stage in WAITS:
        first, second = _wait_columns(stage)
        a = people[first].to_numpy(dtype=float)
        b = people[second].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            reached = np.isfinite(a) & np.isfinite(b) & (b <= horizon)
        mean = means(b - a, a, reached)
        for stat in ("mean", "p50", "p90"):
            out[f"wait_{stage}_{stat}"] = mean
        out[f"wait_{stage}_n"] = counts(reached, a)
    monthly = _available_by_month(result)
    month_edges = _month_edges(result.scenario)
    for role in result.summary["utilisation"]:
        hours = None if monthly is None else monthly.get(role)
        if hours is None:
            out[f"utilisation_{role}"] = np.full(n_bins, np.nan)
            continue
        worked = _worked_by_bin(result.work, role, edges)
        available = np.array(
            [
                _available_in(hours, month_edges, lo, hi)
                for lo, hi in zip(edges[:-1], edges[1:], strict=True)
            ]
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"utilisation_{role}"] = np.where(available > 0, worked / available, np.nan)
    # Staff time per person as a rate: hours worked in the period over people referred in
    # it. A person's own total is cut short at the horizon (reviews a year on), which would
    # read as a transient at the end of the series.
    referrals = out["referred"]
    total_hours = np.zeros(n_bins)
    total_cost = np.zeros(n_bins)
    for role in result.summary["staff_hours_per_person"]:
        if role == "total":
            continue
        hours = _worked_by_bin(result.work, role, edges)
        hours_column, cost_column = f"hours_{role}", f"cost_{role}_gbp"
        rate = 0.0
        if hours_column in people.columns and cost_column in people.columns:
            spent = float(people[hours_column].sum())
            rate = float(people[cost_column].sum()) / spent if spent > 0 else 0.0
        total_hours += hours
        total_cost += hours * rate
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"staff_hours_per_person_{role}"] = np.where(
                referrals > 0, hours / referrals, np.nan
            )
            out[f"staff_cost_per_person_gbp_{role}"] = np.where(
                referrals > 0, hours * rate / referrals, np.nan
            )
    with np.errstate(invalid="ignore", divide="ignore"):
        out["staff_hours_per_person"] = np.where(referrals > 0, total_hours / referrals, np.nan)
        out["staff_cost_per_person_gbp"] = np.where(referrals > 0, total_cost / referrals, np.nan)
    return {key: [float(v) for v in values] for key, values in out.items()}


# =========================================================================== plan
@dataclass(frozen=True)
class PlannedScenario:
    """One scenario of an experiment.

    Attributes
    ----------
    scenario_id
        ``s000``, ``s001``, ... in plan order.
    base
        Name of the base scenario file it starts from.
    levels
        Factor (dotted key, and ``base`` with several bases) -> level.
    is_baseline
        The scenario differences are paired with.
    scenario
        The validated scenario.
    seed
        Seed of its replications (the master seed with common random numbers).
    design_row
        Row of the design matrix it is (designs only; ``None`` for the nominal baseline).
    """

    scenario_id: str
    base: str
    levels: dict[str, Any]
    is_baseline: bool
    scenario: Scenario
    seed: int
    design_row: int | None = None


@dataclass(frozen=True)
class ExperimentPlan:
    """What an experiment runs, resolved and validated.

    Attributes
    ----------
    spec
        The validated spec (with any command-line overrides).
    spec_path
        The spec file (``None`` for a spec built in code).
    name
        Experiment name.
    scenarios
        Every scenario, in plan order.
    factors
        Factor column names, in order.
    baseline_id
        Id of the baseline scenario.
    master_seed
        Master seed.
    kpis
        Every KPI name (union over scenarios, in order).
    spec_hash
        SHA-256 of the spec, every resolved scenario and the model code
        (:func:`ipcsim.io.code_fingerprint`): what a resumed batch must match.
    design_matrix
        The unrounded design (designs only).
    design_ranges
        The design's factor ranges (designs only).
    """

    spec: ExperimentSpec
    spec_path: Path | None
    name: str
    scenarios: tuple[PlannedScenario, ...]
    factors: tuple[str, ...]
    baseline_id: str
    master_seed: int
    kpis: tuple[str, ...]
    spec_hash: str
    design_matrix: np.ndarray | None = field(default=None, repr=False)
    design_ranges: tuple[sensitivity.FactorRange, ...] = ()

    def scenario(self, scenario_id: str) -> PlannedScenario:
        """The planned scenario with this id."""
        for planned in self.scenarios:
            if planned.scenario_id == scenario_id:
                return planned
        raise KeyError(scenario_id)


def _dotted_get(data: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _dotted_set(raw: dict[str, Any], full: Mapping[str, Any], key: str, value: Any) -> None:
    """Set ``key`` in ``raw``; a table missing from ``raw`` is copied from ``full`` first.

    Copying the resolved table keeps a partial override valid (setting ``high`` of a
    distribution the file left at its default keeps its ``dist`` and ``low``).
    """
    parts = key.split(".")
    node: dict[str, Any] = raw
    resolved: Any = full
    for part in parts[:-1]:
        resolved = resolved[part] if isinstance(resolved, Mapping) else None
        if part not in node or not isinstance(node[part], dict):
            node[part] = copy.deepcopy(resolved) if isinstance(resolved, Mapping) else {}
        node = node[part]
    node[parts[-1]] = value


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def _check_factor_key(key: str, dumps: Mapping[str, Mapping[str, Any]], where: str) -> None:
    if key == "run.seed":
        raise ConfigError(
            f"{where}: run.seed cannot be a factor (replications take their seeds from "
            "master_seed; set common_random_numbers = false for independent streams)"
        )
    for base, dump in dumps.items():
        found, value = _dotted_get(dump, key)
        if not found:
            raise ConfigError(f"{where}: unknown factor key (not a setting of base '{base}')")
        if not _scalar(value):
            raise ConfigError(
                f"{where}: a factor must be a single value, but it is a table in base '{base}' "
                "(vary one of its entries, e.g. a distribution's mean)"
            )


def _quote(key: str) -> str:
    return f'"{key}"' if "." in key else key


def _stable_hash(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _independent_seed(master_seed: int, index: int) -> int:
    """A scenario's own seed when common random numbers are off."""
    state = np.random.SeedSequence(master_seed, spawn_key=(index,)).generate_state(1)
    return int(state[0])


def plan_experiment(
    spec: ExperimentSpec, *, spec_path: str | Path | None = None, base_dir: str | Path | None = None
) -> ExperimentPlan:
    """Resolve a spec into scenarios.

    Parameters
    ----------
    spec
        The validated spec.
    spec_path
        The spec file, for messages and the default name; base files are relative to its
        folder.
    base_dir
        Folder base files are relative to, when there is no ``spec_path`` (default: the
        current folder).

    Returns
    -------
    ExperimentPlan
        Scenarios in plan order: bases in the order given, then the grid's combinations
        (the last factor varying fastest) or the design's nominal baseline followed by its
        points.

    Raises
    ------
    ConfigError
        One line naming the spec, the key and the value: a missing or invalid base, an
        unknown factor key, a level the scenario rejects, a baseline not in the grid, an
        unknown KPI, a warm-up past the horizon.
    """
    where = str(spec_path) if spec_path is not None else "<spec>"
    folder = Path(spec_path).parent if spec_path is not None else Path(base_dir or ".")
    raws: dict[str, dict[str, Any]] = {}
    dumps: dict[str, dict[str, Any]] = {}
    sources: dict[str, str] = {}
    for base, relative in spec.base_files().items():
        path = folder / relative
        try:
            raw = apply_overrides(read_toml(path), spec.overrides)
        except ConfigError as e:
            raise ConfigError(f"{where}: base '{base}': {e}") from e
        source = str(path) + (
            f" with overrides {' '.join(spec.overrides)}" if spec.overrides else ""
        )
        resolved = scenario_from_dict(raw, source=source)
        raws[base] = raw
        dumps[base] = resolved.model_dump(mode="json", by_alias=True)
        sources[base] = source
    base_names = list(raws)
    several = len(base_names) > 1
    first_base = scenario_from_dict(raws[base_names[0]], source=sources[base_names[0]])
    master_seed = spec.master_seed if spec.master_seed is not None else first_base.run.seed

    points: list[tuple[str, dict[str, Any], int | None]] = []
    factor_keys: list[str] = []
    links: dict[str, tuple[str, ...]] = {}
    matrix: np.ndarray | None = None
    ranges: tuple[sensitivity.FactorRange, ...] = ()
    baseline_levels = dict(spec.baseline)
    baseline_base = baseline_levels.pop("base", base_names[0])
    if baseline_base not in raws:
        raise ConfigError(
            f"{where}: baseline.base: not one of the bases ({', '.join(base_names)}), "
            f"got {baseline_base!r}"
        )
    if spec.grid is not None:
        factor_keys = list(spec.grid)
        for key in factor_keys:
            _check_factor_key(key, dumps, f"{where}: grid.{_quote(key)}")
        for key, level in baseline_levels.items():
            if key not in spec.grid:
                raise ConfigError(f"{where}: baseline.{_quote(key)}: not a factor of [grid]")
            if level not in spec.grid[key]:
                raise ConfigError(
                    f"{where}: baseline.{_quote(key)}: not one of the grid's levels "
                    f"{spec.grid[key]}, got {level!r}"
                )
        combos = sensitivity.full_grid(spec.grid)
        for base in base_names:
            points += [(base, combo, None) for combo in combos]
        wanted = {key: baseline_levels.get(key, spec.grid[key][0]) for key in factor_keys}
        baseline_index = next(
            i
            for i, (base, levels, _) in enumerate(points)
            if base == baseline_base and levels == wanted
        )
    elif spec.design is not None:
        design = spec.design
        factor_keys = list(design.factors)
        for key in factor_keys:
            _check_factor_key(key, dumps, f"{where}: design.factors.{_quote(key)}")
            for other in design.factors[key].also:
                _check_factor_key(other, dumps, f"{where}: design.factors.{_quote(key)}.also")
                links[key] = (*links.get(key, ()), other)
        ranges = tuple(
            sensitivity.FactorRange(key, r.low, r.high, r.integer)
            for key, r in design.factors.items()
        )
        for key in baseline_levels:
            if key not in design.factors:
                raise ConfigError(f"{where}: baseline.{_quote(key)}: not a factor of [design]")
        try:
            matrix = sensitivity.design_matrix(
                design.method,
                ranges,
                samples=design.samples,
                seed=design.seed if design.seed is not None else master_seed,
                levels=design.levels,
            )
        except ValueError as e:
            raise ConfigError(f"{where}: design: {e}") from e
        nominal = {
            key: baseline_levels.get(key, _dotted_get(dumps[baseline_base], key)[1])
            for key in factor_keys
        }
        points.append((baseline_base, nominal, None))
        for design_row, values in enumerate(sensitivity.design_points(matrix, ranges)):
            points.append((baseline_base, values, design_row))
        baseline_index = 0
    else:
        if baseline_levels:
            raise ConfigError(f"{where}: baseline: needs [grid] or [design] factors to choose from")
        points = [(base, {}, None) for base in base_names]
        baseline_index = base_names.index(baseline_base)

    width = max(3, len(str(len(points) - 1)))
    planned: list[PlannedScenario] = []
    for index, (base, levels, row) in enumerate(points):
        scenario_id = f"s{index:0{width}d}"
        raw = copy.deepcopy(raws[base])
        for key, level in levels.items():
            for target in (key, *links.get(key, ())):
                _dotted_set(raw, dumps[base], target, level)
        shown = ", ".join(f"{k}={v!r}" for k, v in levels.items())
        source = f"{where}: scenario {scenario_id} (base '{base}'{', ' + shown if shown else ''})"
        scenario = scenario_from_dict(raw, source=source)
        seed = master_seed if spec.common_random_numbers else _independent_seed(master_seed, index)
        columns = ({"base": base} if several else {}) | dict(levels)
        planned.append(
            PlannedScenario(
                scenario_id=scenario_id,
                base=base,
                levels=columns,
                is_baseline=index == baseline_index,
                scenario=scenario,
                seed=seed,
                design_row=row,
            )
        )

    names: list[str] = []
    for item in planned:
        names += [k for k in kpi_names(item.scenario) if k not in names]
    _check_kpis(spec.kpis, names, f"{where}: kpis")
    if spec.replications.kpis is not None:
        _check_kpis(spec.replications.kpis, names, f"{where}: replications.kpis")
    if spec.warmup.mode == "fixed":
        shortest = min(item.scenario.run.horizon_days for item in planned)
        if spec.warmup.days >= shortest:
            raise ConfigError(
                f"{where}: warmup.days: must be shorter than the horizon ({shortest:g} days), "
                f"got {spec.warmup.days:g}"
            )
    payload = {
        "format": FORMAT_VERSION,
        "spec": spec.model_dump(mode="json"),
        "scenarios": [[p.scenario_id, scenario_hash(p.scenario), p.seed] for p in planned],
        # Other model code simulates the same spec differently: its results must not mix.
        "code": io.code_fingerprint(),
    }
    name = spec.name or (Path(spec_path).resolve().parent.name if spec_path else "experiment")
    return ExperimentPlan(
        spec=spec,
        spec_path=Path(spec_path) if spec_path is not None else None,
        name=name,
        scenarios=tuple(planned),
        factors=(("base",) if several else ()) + tuple(factor_keys),
        baseline_id=planned[baseline_index].scenario_id,
        master_seed=master_seed,
        kpis=tuple(names),
        spec_hash=_stable_hash(payload),
        design_matrix=matrix,
        design_ranges=ranges,
    )


def _check_kpis(wanted: Sequence[str], known: Sequence[str], where: str) -> None:
    for kpi in wanted:
        if kpi not in known:
            close = difflib.get_close_matches(kpi, known, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ConfigError(f"{where}: unknown KPI, got {kpi!r}{hint}")


# =========================================================================== worker
@dataclass(frozen=True)
class CellTask:
    """One replication of one scenario, as sent to a worker (picklable, no callables).

    Attributes
    ----------
    scenario_id, replication, seed
        Which cell, and the seed its streams derive from (with ``replication``).
    scenario
        The validated scenario.
    warmup_days
        KPI -> days left out (KPIs not listed: ``default_warmup_days``).
    default_warmup_days
        Warm-up of KPIs not in ``warmup_days``.
    tables_dir
        Folder for ``people.parquet`` and ``timeseries.parquet``; ``None`` to write nothing.
    series_bin_days
        Also return each KPI's series over periods of this many days (warm-up pilots).
    """

    scenario_id: str
    replication: int
    seed: int
    scenario: Scenario
    warmup_days: dict[str, float] = field(default_factory=dict)
    default_warmup_days: float = 0.0
    tables_dir: str | None = None
    series_bin_days: float | None = None


@dataclass(frozen=True)
class CellResult:
    """What a worker sends back: KPIs, never the per-person tables."""

    scenario_id: str
    replication: int
    seed: int
    kpis: dict[str, float]
    rng_streams: tuple[str, ...]
    wall_time_s: float
    series: dict[str, list[float]] | None = None


def run_cell(task: CellTask) -> CellResult:
    """Run one replication, write its tables, return its KPIs (runs in a worker).

    Parameters
    ----------
    task
        The cell.

    Returns
    -------
    CellResult
        KPIs after each KPI's warm-up, in :func:`kpi_names` order.
    """
    began = time.perf_counter()
    result = run_scenario(task.scenario, seed=task.seed, replication=task.replication)
    windows = {task.default_warmup_days, *task.warmup_days.values()}
    by_window = {w: compute_kpis(result, warmup_days=w) for w in sorted(windows)}
    whole = by_window[task.default_warmup_days]
    kpis = {
        kpi: by_window[task.warmup_days.get(kpi, task.default_warmup_days)].get(kpi, value)
        for kpi, value in whole.items()
    }
    series = None
    if task.series_bin_days is not None:
        series = kpi_series(result, bin_days=task.series_bin_days)
    if task.tables_dir is not None:
        folder = Path(task.tables_dir)
        folder.mkdir(parents=True, exist_ok=True)
        write_parquet_atomic(folder / "people.parquet", result.people)
        write_parquet_atomic(folder / "timeseries.parquet", result.timeseries)
    return CellResult(
        scenario_id=task.scenario_id,
        replication=task.replication,
        seed=task.seed,
        kpis=kpis,
        rng_streams=tuple(result.rng_streams),
        wall_time_s=time.perf_counter() - began,
        series=series,
    )


# =========================================================================== files
def _temporary(path: Path) -> Path:
    return path.parent / f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"


def _replace_atomic(tmp: Path, path: Path) -> None:
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_parquet_atomic(path: Path, frame: pd.DataFrame) -> None:
    """Write ``frame`` to ``path`` via a temporary sibling and ``os.replace``."""
    tmp = _temporary(path)
    try:
        frame.to_parquet(tmp, engine="pyarrow", index=False)
        _replace_atomic(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    """Write strict JSON (NaN as null is the caller's job) via a temporary sibling."""
    tmp = _temporary(path)
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n")
        _replace_atomic(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _json_number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _rep_name(replication: int) -> str:
    return f"rep-{replication:03d}"


def _cell_dir(out_dir: Path, scenario_id: str, replication: int) -> Path:
    return out_dir / "runs" / scenario_id / _rep_name(replication)


def _pilot_path(out_dir: Path, scenario_id: str, replication: int) -> Path:
    return out_dir / "pilot" / scenario_id / f"{_rep_name(replication)}.json"


def _record(plan: ExperimentPlan, result: CellResult) -> dict[str, Any]:
    return {
        "spec_hash": plan.spec_hash,
        "scenario": result.scenario_id,
        "replication": result.replication,
        "seed": result.seed,
        "kpis": {k: _json_number(v) for k, v in result.kpis.items()},
        "rng_streams": list(result.rng_streams),
        "wall_time_s": result.wall_time_s,
    }


def _from_record(record: Mapping[str, Any]) -> CellResult:
    return CellResult(
        scenario_id=str(record["scenario"]),
        replication=int(record["replication"]),
        seed=int(record["seed"]),
        kpis={k: _number(v) for k, v in record["kpis"].items()},
        rng_streams=tuple(record.get("rng_streams", ())),
        wall_time_s=float(record.get("wall_time_s", 0.0)),
        series=(
            {k: [_number(x) for x in v] for k, v in record["series"].items()}
            if record.get("series") is not None
            else None
        ),
    )


def _load_cells(out_dir: Path, plan: ExperimentPlan) -> dict[tuple[str, int], CellResult]:
    """Finished cells on disk that belong to this plan."""
    cells: dict[tuple[str, int], CellResult] = {}
    runs = out_dir / "runs"
    ids = {p.scenario_id for p in plan.scenarios}
    if not runs.is_dir():
        return cells
    for path in sorted(runs.glob("*/rep-*/kpis.json")):
        record = _read_json(path)
        if record is None or record.get("spec_hash") != plan.spec_hash:
            continue
        result = _from_record(record)
        if result.scenario_id in ids:
            cells[(result.scenario_id, result.replication)] = result
    return cells


def _prepare_folder(out_dir: Path, plan: ExperimentPlan, *, resume: bool) -> None:
    """Start a new experiment folder, or check that a resumed one is for the same spec."""
    state = out_dir / STATE_FILE
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir}: exists and is not a folder; choose another --out")
    non_empty = out_dir.is_dir() and any(out_dir.iterdir())
    if non_empty and not resume:
        raise OutputError(
            f"{out_dir}: not empty; pass --resume to continue the experiment there, or choose "
            "another --out"
        )
    if non_empty:
        recorded = _read_json(state)
        if recorded is None:
            raise OutputError(
                f"{out_dir}: not an experiment folder (no readable {STATE_FILE}); cannot resume "
                "there, choose another --out"
            )
        if recorded.get("spec_hash") != plan.spec_hash:
            if recorded.get("code_hash") != io.code_fingerprint():
                started = str(recorded.get("code_hash") or "unrecorded")[:12]
                raise OutputError(
                    f"{out_dir}: ipcsim's model code changed since this folder was started "
                    f"(code {started} != {io.code_fingerprint()[:12]}); results would mix: "
                    "use a new --out"
                )
            raise OutputError(
                f"{out_dir}: the spec (or a base scenario, or --set/--replications) changed since "
                f"this folder was started (hash {str(recorded.get('spec_hash'))[:12]} != "
                f"{plan.spec_hash[:12]}); results would mix: use a new --out"
            )
        return
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(
            state,
            {
                "format_version": FORMAT_VERSION,
                "spec_hash": plan.spec_hash,
                "code_hash": io.code_fingerprint(),
                "spec": plan.spec.model_dump(mode="json"),
                "spec_path": str(plan.spec_path) if plan.spec_path else None,
                "master_seed": plan.master_seed,
                "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            },
        )
    except OSError as e:
        raise OutputError(f"cannot write to {out_dir}: {e.strerror or e}") from e


# =========================================================================== running
@dataclass(frozen=True)
class ProgressEvent:
    """Progress of a batch, reported to the caller's callback.

    Attributes
    ----------
    phase
        ``warm-up pilot`` or ``replications``.
    done
        Cells finished in this phase (including those found on disk).
    total
        Cells the phase needs as far as known (grows in automatic replication mode).
    reused
        Cells of this phase found on disk (not recomputed).
    scenario_id, replication
        The cell that just finished (``None`` for the phase's first report).
    """

    phase: str
    done: int
    total: int
    reused: int
    scenario_id: str | None = None
    replication: int | None = None


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class ExperimentResult:
    """Everything an experiment produced (also written to ``out_dir``)."""

    out_dir: Path
    plan: ExperimentPlan
    replications: pd.DataFrame
    summary: pd.DataFrame
    paired: pd.DataFrame
    scenarios: pd.DataFrame
    sensitivity: pd.DataFrame | None
    replications_run: dict[str, int]
    replications_recommended: dict[str, int | None]
    warmup_days: dict[str, float]
    computed: int
    reused: int
    wall_time_s: float
    executor: str


def _execute(
    tasks: Sequence[CellTask],
    handle: Any,
    on_done: Callable[[CellResult], None],
) -> None:
    """Run ``tasks`` on the executor, keeping a few in flight, handling each as it finishes."""
    queue = iter(tasks)
    pending: dict[cf.Future[CellResult], CellTask] = {}
    window = handle.max_in_flight
    try:
        while True:
            while len(pending) < window:
                task = next(queue, None)
                if task is None:
                    break
                pending[handle.executor.submit(run_cell, task)] = task
            if not pending:
                return
            done, _ = cf.wait(list(pending), timeout=0.5, return_when=cf.FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: _order(pending[f])):
                del pending[future]
                on_done(future.result())
    except BaseException:
        for future in pending:
            future.cancel()
        raise


def _order(task: CellTask) -> tuple[int, str]:
    return (task.replication, task.scenario_id)


def _values(
    cells: Mapping[tuple[str, int], CellResult], scenario_id: str, kpi: str, count: int
) -> np.ndarray:
    return np.array([cells[(scenario_id, r)].kpis.get(kpi, math.nan) for r in range(count)])


def _contiguous(cells: Mapping[tuple[str, int], CellResult], scenario_id: str) -> int:
    count = 0
    while (scenario_id, count) in cells:
        count += 1
    return count


def _replication_targets(
    plan: ExperimentPlan, cells: Mapping[tuple[str, int], CellResult]
) -> tuple[dict[str, int], dict[str, bool], dict[str, int | None]]:
    """Replications each scenario needs now, whether it is finished, and Hoad's ``Nsol``."""
    settings = plan.spec.replications
    targets: dict[str, int] = {}
    finished: dict[str, bool] = {}
    recommended: dict[str, int | None] = {}
    for planned in plan.scenarios:
        sid = planned.scenario_id
        if settings.mode == "fixed":
            targets[sid] = settings.n
            finished[sid] = _contiguous(cells, sid) >= settings.n
            recommended[sid] = None
            continue
        have = min(_contiguous(cells, sid), settings.max)
        watched = settings.kpis if settings.kpis is not None else plan.spec.kpis
        series = [_values(cells, sid, kpi, have) for kpi in watched]
        bound = max(
            stats.hoad_lower_bound(
                values,
                precision=settings.relative_precision,
                confidence=plan.spec.confidence,
                initial=settings.initial,
                k_limit=settings.look_ahead,
            )
            for values in series
        )
        solutions = [
            stats.hoad_solution(
                values,
                precision=settings.relative_precision,
                confidence=plan.spec.confidence,
                initial=settings.initial,
                k_limit=settings.look_ahead,
            )
            for values in series
        ]
        if bound <= have:
            targets[sid] = bound
            finished[sid] = True
            recommended[sid] = max(s for s in solutions if s is not None)
        else:
            targets[sid] = min(bound, settings.max)
            finished[sid] = have >= settings.max
            recommended[sid] = None
    return targets, finished, recommended


def _warmup_days(
    plan: ExperimentPlan,
    out_dir: Path,
    handle: Any,
    progress: ProgressCallback | None,
    counters: dict[str, int],
) -> tuple[dict[str, float], float, dict[str, Any]]:
    """Per-KPI warm-ups, the default for KPIs without one, and what to record about them."""
    settings = plan.spec.warmup
    if settings.mode == "none":
        return {}, 0.0, {"mode": "none"}
    if settings.mode == "fixed":
        return {}, settings.days, {"mode": "fixed", "days": settings.days}
    saved = _read_json(out_dir / WARMUP_FILE)
    if saved is not None and saved.get("spec_hash") == plan.spec_hash:
        days = {k: float(v) for k, v in saved["days"].items()}
        return days, float(saved["default_days"]), saved
    baseline = plan.scenario(plan.baseline_id)
    pilots: dict[int, CellResult] = {}
    for r in range(settings.pilot_replications):
        record = _read_json(_pilot_path(out_dir, baseline.scenario_id, r))
        if record is not None and record.get("spec_hash") == plan.spec_hash:
            pilots[r] = _from_record(record)
    total = settings.pilot_replications
    reused = len(pilots)
    tracker = _Tracker(progress, "warm-up pilot", reused, total)
    tracker.start()

    def done(result: CellResult) -> None:
        path = _pilot_path(out_dir, result.scenario_id, result.replication)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = _record(plan, result)
        record["series"] = {
            k: [_json_number(x) for x in v] for k, v in (result.series or {}).items()
        }
        write_json_atomic(path, record)
        pilots[result.replication] = result
        counters["computed"] += 1
        tracker.finished(result)

    tasks = [
        CellTask(
            scenario_id=baseline.scenario_id,
            replication=r,
            seed=baseline.seed,
            scenario=baseline.scenario,
            series_bin_days=settings.bin_days,
        )
        for r in range(total)
        if r not in pilots
    ]
    _execute(tasks, handle, done)
    counters["reused"] += reused
    per_kpi: dict[str, float] = {}
    details: dict[str, Any] = {}
    bin_days = settings.bin_days
    for kpi in plan.kpis:
        rows = [
            series[kpi]
            for series in (pilots[r].series for r in range(total))
            if series is not None and kpi in series
        ]
        if not rows:
            continue
        averaged = stats.mean_series(rows)
        kept = np.flatnonzero(~np.isnan(averaged))
        if kept.size < 10:
            continue
        found = stats.mser(averaged[kept], batch_size=5)
        day = 0.0 if found.truncation == 0 else float(kept[found.truncation] * bin_days)
        per_kpi[kpi] = day
        details[kpi] = {"days": day, "at_limit": found.at_limit}
        if found.at_limit:
            logger.warning(
                "MSER-5 truncates %s at half the run (%g days): the run may be too short to "
                "reach steady state",
                kpi,
                day,
            )
    longest = max(per_kpi.values(), default=0.0)
    if settings.combine == "max":
        days = dict.fromkeys(plan.kpis, longest)
    else:
        # A KPI whose series could not be analysed takes the longest warm-up found.
        days = {kpi: per_kpi.get(kpi, longest) for kpi in plan.kpis}
    record = {
        "spec_hash": plan.spec_hash,
        "mode": "mser5",
        "scenario": baseline.scenario_id,
        "pilot_replications": total,
        "bin_days": bin_days,
        "combine": settings.combine,
        "days": days,
        "default_days": longest,
        "mser": details,
    }
    write_json_atomic(out_dir / WARMUP_FILE, record)
    return days, longest, record


def run_experiment(
    plan: ExperimentPlan,
    out_dir: str | Path,
    *,
    executor: str = "serial",
    resume: bool = False,
    progress: ProgressCallback | None = None,
    connect_timeout_s: float = 10.0,
) -> ExperimentResult:
    """Run every cell of a plan that is not yet on disk, then write the outputs.

    Parameters
    ----------
    plan
        From :func:`plan_experiment`.
    out_dir
        Output folder. It must be missing or empty unless ``resume``.
    executor
        ``serial``, ``process:N``, ``dask:local:N`` or ``dask:ADDRESS``
        (see :mod:`ipcsim.experiment.executors`).
    resume
        Continue in a folder started with the same spec: only missing cells are computed.
    progress
        Called in this process after each finished cell (and at the start of each phase).
    connect_timeout_s
        How long to wait for a remote Dask scheduler, seconds.

    Returns
    -------
    ExperimentResult
        The tables written, and how many cells were computed or reused.

    Raises
    ------
    OutputError
        ``out_dir`` is not empty without ``resume``, or was started with another spec.
    ExecutorError
        The executor option is malformed or its back end unreachable.
    KeyboardInterrupt
        On Ctrl-C, after stopping the workers; every finished cell is already on disk.

    Notes
    -----
    Outputs do not depend on the executor, its number of workers, the order cells finish
    in, or on interruptions and resumptions: cells are keyed and sorted by (scenario,
    replication), and automatic replication decides from each scenario's replications in
    order (see :func:`ipcsim.stats.hoad_lower_bound`).
    """
    began = time.perf_counter()
    out_dir = Path(out_dir)
    _prepare_folder(out_dir, plan, resume=resume)
    counters = {"computed": 0, "reused": 0}
    with open_executor(executor, connect_timeout_s=connect_timeout_s) as handle:
        warmups, default_warmup, warmup_record = _warmup_days(
            plan, out_dir, handle, progress, counters
        )
        cells = _load_cells(out_dir, plan)
        counters["reused"] += len(cells)
        targets, finished, recommended = _replication_targets(plan, cells)
        tracker = _Tracker(progress, "replications", len(cells), sum(targets.values()))
        tracker.start()

        def done(result: CellResult) -> None:
            folder = _cell_dir(out_dir, result.scenario_id, result.replication)
            folder.mkdir(parents=True, exist_ok=True)
            write_json_atomic(folder / "kpis.json", _record(plan, result))
            cells[(result.scenario_id, result.replication)] = result
            counters["computed"] += 1
            tracker.finished(result)

        while True:
            tasks = [
                CellTask(
                    scenario_id=p.scenario_id,
                    replication=r,
                    seed=p.seed,
                    scenario=p.scenario,
                    warmup_days=warmups,
                    default_warmup_days=default_warmup,
                    tables_dir=(
                        str(_cell_dir(out_dir, p.scenario_id, r)) if plan.spec.save_tables else None
                    ),
                )
                for r in range(max(targets.values()))
                for p in plan.scenarios
                if r < targets[p.scenario_id]
                and not finished[p.scenario_id]
                and (p.scenario_id, r) not in cells
            ]
            if not tasks:
                break
            _execute(tasks, handle, done)
            targets, finished, recommended = _replication_targets(plan, cells)
            tracker.total = max(tracker.total, sum(targets.values()))
        description = handle.description
    runs = {
        p.scenario_id: min(targets[p.scenario_id], _contiguous(cells, p.scenario_id))
        for p in plan.scenarios
    }
    return _write_outputs(
        plan,
        out_dir,
        cells=cells,
        runs=runs,
        recommended=recommended,
        warmup=warmup_record,
        warmup_days={k: warmups.get(k, default_warmup) for k in plan.kpis},
        counters=counters,
        executor=description,
        wall_time_s=time.perf_counter() - began,
    )


class _Tracker:
    """Counts a phase's finished cells and reports them to the progress callback."""

    def __init__(self, callback: ProgressCallback | None, phase: str, reused: int, total: int):
        self.callback = callback
        self.phase = phase
        self.reused = reused
        self.done = reused
        self.total = total

    def start(self) -> None:
        if self.callback:
            self.callback(ProgressEvent(self.phase, self.done, self.total, self.reused))

    def finished(self, result: CellResult) -> None:
        self.done += 1
        self.total = max(self.total, self.done)
        if self.callback:
            self.callback(
                ProgressEvent(
                    self.phase, self.done, self.total, self.reused, result.scenario_id,
                    result.replication,
                )
            )  # fmt: skip


# =========================================================================== outputs
def _factor_frame(plan: ExperimentPlan) -> pd.DataFrame:
    rows = []
    for p in plan.scenarios:
        row: dict[str, Any] = {"scenario": p.scenario_id}
        for factor in plan.factors:
            row[factor] = p.levels.get(factor)
        row["is_baseline"] = p.is_baseline
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["scenario", *plan.factors, "is_baseline"])
    return frame.astype({"scenario": "string", "is_baseline": "bool"})


def replications_frame(
    plan: ExperimentPlan, cells: Mapping[tuple[str, int], CellResult], runs: Mapping[str, int]
) -> pd.DataFrame:
    """Long table of every KPI of every replication, sorted by scenario, replication, KPI."""
    order = {kpi: i for i, kpi in enumerate(plan.kpis)}
    rows: list[tuple[str, int, str, float]] = []
    for p in plan.scenarios:
        for r in range(runs[p.scenario_id]):
            kpis = cells[(p.scenario_id, r)].kpis
            for kpi in sorted(kpis, key=lambda k: order.get(k, len(order))):
                rows.append((p.scenario_id, r, kpi, float(kpis[kpi])))
    frame = pd.DataFrame(rows, columns=["scenario", "replication", "kpi", "value"])
    return frame.astype(
        {"scenario": "string", "replication": "int64", "kpi": "string", "value": "float64"}
    )


def summary_frame(plan: ExperimentPlan, replications: pd.DataFrame) -> pd.DataFrame:
    """Mean, sd, n and t CI of each KPI of each scenario, with the factor columns."""
    rows = []
    values = _by_cell(replications[["scenario", "replication", "kpi", "value"]])
    for p in plan.scenarios:
        for kpi in plan.kpis:
            found = values.get((p.scenario_id, kpi))
            if found is None:
                continue
            est = stats.mean_ci([found[r] for r in sorted(found)], confidence=plan.spec.confidence)
            rows.append(
                {
                    "scenario": p.scenario_id,
                    "kpi": kpi,
                    "mean": est.mean,
                    "sd": est.sd,
                    "n": est.n,
                    "ci_low": est.ci_low,
                    "ci_high": est.ci_high,
                    "half_width": est.half_width,
                }
            )
    columns = ["scenario", "kpi", "mean", "sd", "n", "ci_low", "ci_high", "half_width"]
    frame = pd.DataFrame(rows, columns=columns).astype(
        {"scenario": "string", "kpi": "string", "n": "int64"}
    )
    return frame.merge(_factor_frame(plan), on="scenario", how="left", sort=False)


def _by_cell(replications: pd.DataFrame) -> dict[tuple[str, str], dict[int, float]]:
    """(scenario, kpi) -> {replication: value}."""
    out: dict[tuple[str, str], dict[int, float]] = {}
    for scenario_id, replication, kpi, value in replications.itertuples(index=False):
        out.setdefault((str(scenario_id), str(kpi)), {})[int(replication)] = float(value)
    return out


def paired_frame(plan: ExperimentPlan, replications: pd.DataFrame) -> pd.DataFrame:
    """Each scenario minus the baseline, replication by replication, with the factor columns.

    Pairs are the replications both have (the same replication number: the same streams).
    """
    rows = []
    base = plan.baseline_id
    values = _by_cell(replications[["scenario", "replication", "kpi", "value"]])
    for p in plan.scenarios:
        if p.scenario_id == base:
            continue
        for kpi in plan.kpis:
            mine = values.get((p.scenario_id, kpi))
            theirs = values.get((base, kpi))
            if mine is None or theirs is None:
                continue
            common = sorted(set(mine) & set(theirs))
            est = stats.paired_ci(
                [mine[r] for r in common],
                [theirs[r] for r in common],
                confidence=plan.spec.confidence,
            )
            rows.append(
                {
                    "scenario": p.scenario_id,
                    "baseline": base,
                    "kpi": kpi,
                    "mean_diff": est.mean_diff,
                    "sd_diff": est.sd_diff,
                    "n": est.n,
                    "ci_low": est.ci_low,
                    "ci_high": est.ci_high,
                    "half_width": est.half_width,
                    "variance_reduction": est.variance_reduction,
                }
            )
    columns = [
        "scenario", "baseline", "kpi", "mean_diff", "sd_diff", "n", "ci_low", "ci_high",
        "half_width", "variance_reduction",
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns).astype(
        {"scenario": "string", "baseline": "string", "kpi": "string", "n": "int64"}
    )
    factors = _factor_frame(plan).drop(columns="is_baseline")
    return frame.merge(factors, on="scenario", how="left", sort=False)


def sensitivity_frame(plan: ExperimentPlan, summary: pd.DataFrame) -> pd.DataFrame | None:
    """Sensitivity indices of the spec's KPIs over the design (``None`` without a design)."""
    design = plan.spec.design
    if design is None or plan.design_matrix is None:
        return None
    points = sorted(
        (p for p in plan.scenarios if p.design_row is not None), key=lambda p: p.design_row or 0
    )
    rows: list[dict[str, Any]] = []
    for kpi in plan.spec.kpis:
        means = summary[summary["kpi"] == kpi].set_index("scenario")["mean"]
        outputs = np.array([means.get(p.scenario_id, math.nan) for p in points], dtype=float)
        try:
            found = sensitivity.analyse(
                design.method,
                plan.design_ranges,
                plan.design_matrix,
                outputs,
                seed=design.seed if design.seed is not None else plan.master_seed,
                levels=design.levels,
                resamples=design.resamples,
                confidence=plan.spec.confidence,
            )
        except ValueError as e:
            logger.warning("no sensitivity indices for %s: %s", kpi, e)
            continue
        rows += [{"kpi": kpi, **row} for row in found]
    columns = ["method", "kpi", "parameter", "index", "value", "ci_low", "ci_high"]
    return pd.DataFrame(rows, columns=columns).astype(
        {"method": "string", "kpi": "string", "parameter": "string", "index": "string"}
    )


def _write_outputs(
    plan: ExperimentPlan,
    out_dir: Path,
    *,
    cells: Mapping[tuple[str, int], CellResult],
    runs: dict[str, int],
    recommended: dict[str, int | None],
    warmup: dict[str, Any],
    warmup_days: dict[str, float],
    counters: dict[str, int],
    executor: str,
    wall_time_s: float,
) -> ExperimentResult:
    replications = replications_frame(plan, cells, runs)
    summary = summary_frame(plan, replications)
    paired = paired_frame(plan, replications)
    scenarios = _factor_frame(plan)
    sens = sensitivity_frame(plan, summary)
    tables = {
        "replications": replications,
        "summary": summary,
        "paired": paired,
        "scenarios": scenarios,
    }
    if sens is not None:
        tables["sensitivity"] = sens
    files: dict[str, Any] = {}
    for name, frame in tables.items():
        path = out_dir / f"{name}.parquet"
        write_parquet_atomic(path, frame)
        files[path.name] = {"bytes": path.stat().st_size, "sha256": io.sha256_file(path)}
    baseline = plan.scenario(plan.baseline_id)
    streams = sorted({s for cell in cells.values() for s in cell.rng_streams})
    manifest = io.build_manifest(
        scenario_json=baseline.scenario.model_dump(mode="json", by_alias=True),
        config_hash=scenario_hash(baseline.scenario),
        seed=plan.master_seed,
        wall_time_s=wall_time_s,
        config_path=str(plan.spec_path) if plan.spec_path else None,
        streams=streams,
        extra={
            "kind": "experiment",
            "experiment": plan.name,
            "spec": plan.spec.model_dump(mode="json"),
            "spec_hash": plan.spec_hash,
            "code_hash": io.code_fingerprint(),
            "spec_path": str(plan.spec_path) if plan.spec_path else None,
            "executor": executor,
            "common_random_numbers": plan.spec.common_random_numbers,
            "baseline": plan.baseline_id,
            "scenarios": {
                p.scenario_id: {
                    "base": p.base,
                    "levels": p.levels,
                    "seed": p.seed,
                    "config_hash": scenario_hash(p.scenario),
                }
                for p in plan.scenarios
            },
            "replications": runs,
            "replications_recommended": recommended,
            "warmup": warmup,
            "warmup_days": warmup_days,
            "cells": dict(counters),
            "experiment_versions": {
                name: io.package_version(name) for name in ("dask", "distributed", "SALib")
            },
        },
    )
    manifest["files"] = files
    write_json_atomic(out_dir / io.MANIFEST, _jsonable(manifest))
    return ExperimentResult(
        out_dir=out_dir,
        plan=plan,
        replications=replications,
        summary=summary,
        paired=paired,
        scenarios=scenarios,
        sensitivity=sens,
        replications_run=runs,
        replications_recommended=recommended,
        warmup_days=warmup_days,
        computed=counters["computed"],
        reused=counters["reused"],
        wall_time_s=wall_time_s,
        executor=executor,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float | np.floating):
        return _json_number(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value
