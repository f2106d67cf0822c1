"""Replications and the capacity what-if of the page, as ``ipcsim experiment`` specs.

Pure functions, no server and no files. The page never computes a mean or an interval of its
own: more than one replication, or a factor's levels, become an experiment spec
(:mod:`ipcsim.experiment.spec`) over the page's scenario TOML; a worker runs that spec with
:func:`ipcsim.experiment.run_experiment` and the page reads its ``summary.parquet``. The same
two files, downloaded, give the same figures with ``ipcsim experiment``::

    scenario TOML (whatif.scenario_toml) + experiment_spec(...) -> spec TOML
        -> worker: plan_experiment -> run_experiment -> summary.parquet, replications.parquet
        -> estimates(summary) -> the page's means and 95 % CIs

Replication ``r`` runs with the page's seed as master seed and ``replication = r``, so
replication 0 is the run ``ipcsim run`` makes of the scenario TOML (same seed), and every level
of a factor shares the replications' random streams (common random numbers).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import tomli_w

from ipcsim.analysis.kpis import kpi_names
from ipcsim.errors import ConfigError
from ipcsim.experiment.spec import spec_from_dict
from ipcsim.present.web.whatif import BOUNDS, Bound
from ipcsim.scenario import Scenario
from ipcsim.scenario.load import dotted_get, scenario_from_dict

__all__ = [
    "HEADLINE_KPIS",
    "MAX_BATCH_REFERRALS",
    "MAX_LEVELS",
    "REPLICATIONS",
    "WHATIF_REPLICATIONS",
    "Estimate",
    "Factor",
    "capacity_factors",
    "check_batch",
    "default_levels",
    "estimates",
    "experiment_spec",
    "headline_kpis",
    "parse_levels",
    "replication_counts",
    "spec_toml",
]

HEADLINE_KPIS: Mapping[str, str] = {
    "kpi-wait-p50": "wait_referral_to_first_conversation_p50",
    "kpi-wait-p90": "wait_referral_to_first_conversation_p90",
    "kpi-still-waiting": "wait_referral_to_first_conversation_still_waiting",
    "kpi-within-8w": "share_seen_within_8w",
    "kpi-plans-12m": "plans_signed_off_last_12m",
    "kpi-budgets-12m": "budgets_released_last_12m",
    "kpi-cost": "staff_cost_per_person_gbp",
}
"""Headline row of the page (:func:`ipcsim.present.web.answer.headline`) -> its KPI name
(:func:`ipcsim.analysis.kpis.compute_kpis`: the same number as the run's ``summary.json``)."""

OVERLOAD = "overload_warnings"
"""KPI counting a replication's overload warnings."""

REPLICATIONS = Bound(1, 20, "replications")
"""Replications of a page run."""
WHATIF_REPLICATIONS = Bound(2, 20, "replications")
"""Replications of each level of a what-if (two at least, for a CI)."""
MAX_LEVELS = 8
"""Most levels of a what-if factor."""
MAX_BATCH_REFERRALS = 1_000_000
"""Most referrals a batch may expect over all its runs (levels x replications)."""
PANEL_CAP = Bound(1, 10_000, "plans a sitting")


@dataclass(frozen=True)
class Factor:
    """A what-if factor: its dotted scenario key, label, bound and whether it is a count."""

    key: str
    label: str
    bound: Bound
    integer: bool


@dataclass(frozen=True)
class Estimate:
    """A KPI over replications: mean, its 95 % CI (NaN with one value) and values counted."""

    mean: float
    ci_low: float
    ci_high: float
    n: int


def headline_kpis(scenario: Scenario) -> list[str]:
    """The headline KPIs a replication of ``scenario`` reports (and its overload count).

    A scenario without an 8-week standard for the first conversation has no
    ``share_seen_within_8w``; it is left out.
    """
    known = set(kpi_names(scenario))
    return [k for k in (*HEADLINE_KPIS.values(), OVERLOAD) if k in known]


def capacity_factors(raw: Mapping[str, Any], scenario: Scenario) -> dict[str, Factor]:
    """The factors a capacity what-if can vary in this scenario, by dotted key.

    Parameters
    ----------
    raw
        The scenario's TOML tables (as the page changed them).
    scenario
        The same, validated.

    Returns
    -------
    dict
        Each role of ``[workforce]`` not unlimited (its headcount, or WTE for a role given in
        WTE); with a panel signing off, the panel's plans a sitting and, unless its cadence
        is given in words, its days between sittings.
    """
    found: dict[str, Factor] = {}
    for role, table in (raw.get("workforce") or {}).items():
        if not isinstance(table, dict) or table.get("headcount") == "unlimited":
            continue
        if "fte" in table:
            found[f"workforce.{role}.fte"] = Factor(
                f"workforce.{role}.fte", f"{role} (WTE)", BOUNDS["fte"], integer=False
            )
        else:
            found[f"workforce.{role}.headcount"] = Factor(
                f"workforce.{role}.headcount", f"{role} (headcount)", BOUNDS["headcount"], True
            )
    if scenario.signoff.mode == "panel":
        key = "signoff.panel.max_plans_per_sitting"
        found[key] = Factor(key, "Panel: plans a sitting", PANEL_CAP, integer=True)
        if scenario.signoff.panel.cadence is None:
            key = "signoff.panel.interval_days"
            found[key] = Factor(
                key, "Panel: days between sittings", BOUNDS["panel_interval_days"], False
            )
    return found


def default_levels(factor: Factor, data: Mapping[str, Any]) -> str:
    """Levels offered for a factor, around its value in the scenario: ``"1, 2, 3, 4"``.

    Parameters
    ----------
    factor
        From :func:`capacity_factors`.
    data
        The scenario's TOML tables (as the page changed them).
    """
    dump = scenario_from_dict(data).model_dump(mode="json", by_alias=True)
    _, now = dotted_get(dump, factor.key)
    if now is None:  # a panel with no cap on plans a sitting
        values: list[float] = [5, 10, 20, 40]
    elif factor.integer:
        values = [now - 1, now, now + 1, now + 2] if now >= 1 else [0, 1, 2, 3]
    else:
        values = [round(now * m, 2) for m in (0.5, 1.0, 1.5, 2.0)]
    kept = [v for v in values if factor.bound.low <= v <= factor.bound.high]
    return ", ".join(f"{v:g}" for v in sorted(set(kept)))


def parse_levels(text: str, factor: Factor) -> tuple[int | float, ...]:
    """The levels typed for a factor (``"1, 2, 3"``), checked and sorted.

    Raises
    ------
    ConfigError
        One line: not numbers, fewer than two or more than :data:`MAX_LEVELS` distinct
        levels, a level out of the factor's bound, or not whole for a count.
    """
    words = [w for w in re.split(r"[,;\s]+", text.strip()) if w]
    name = f"levels of {factor.label}"
    try:
        values = sorted({float(w) for w in words})
    except ValueError:
        raise ConfigError(f"{name}: numbers separated by commas, got {text[:60]!r}") from None
    if not 2 <= len(values) <= MAX_LEVELS:
        raise ConfigError(f"{name}: give 2 to {MAX_LEVELS} different levels, got {len(values)}")
    for value in values:
        factor.bound.check(name, value)
        if factor.integer and not value.is_integer():
            raise ConfigError(f"{name}: whole numbers only, got {value:g}")
    return tuple(int(v) if factor.integer else v for v in values)


def check_batch(expected_referrals: float, runs: int) -> None:
    """Refuse a batch expecting more than :data:`MAX_BATCH_REFERRALS` referrals in all.

    Raises
    ------
    ConfigError
        One line, saying how many it would expect.
    """
    total = expected_referrals * runs
    if total > MAX_BATCH_REFERRALS:
        raise ConfigError(
            f"replications: {runs:,} runs of up to {expected_referrals:,.0f} referrals each; "
            f"the page runs at most {MAX_BATCH_REFERRALS:,} referrals in all (fewer "
            "replications or levels, or use `ipcsim experiment`)"
        )


def experiment_spec(
    *,
    base_file: str,
    name: str,
    seed: int,
    replications: int,
    kpis: Sequence[str],
    factor: str | None = None,
    levels: Sequence[int | float] = (),
) -> dict[str, Any]:
    """The experiment spec of a page batch, validated.

    Parameters
    ----------
    base_file
        The scenario TOML, relative to the spec's folder.
    name
        The experiment's name.
    seed
        The page's seed: the master seed (replication 0 is then ``ipcsim run`` of the TOML).
    replications
        Replications of each scenario (:data:`REPLICATIONS`).
    kpis
        KPIs ``ipcsim experiment`` prints (every KPI is in its tables either way).
    factor, levels
        A capacity what-if: the dotted key and its levels (a one-factor ``[grid]``, the
        first level the baseline); none for replications of the scenario alone.

    Returns
    -------
    dict
        Spec tables; :func:`spec_toml` writes them.

    Raises
    ------
    ConfigError
        One line, for replications out of bound or a spec that does not validate.
    """
    if not float(replications).is_integer():
        raise ConfigError(f"replications: a whole number, got {replications:g}")
    n = int(REPLICATIONS.check("replications", replications))
    spec: dict[str, Any] = {
        "name": name,
        "base": base_file,
        "master_seed": int(seed),
        "kpis": list(kpis),
        "save_tables": False,
        "replications": {"mode": "fixed", "n": n},
    }
    if factor is not None:
        spec["grid"] = {factor: list(levels)}
    spec_from_dict(spec, source="the page's experiment")
    return spec


def spec_toml(spec: Mapping[str, Any], *, comment: str = "") -> str:
    """The spec as TOML text, led by ``comment`` lines."""
    lead = "".join(f"# {line}\n" if line else "#\n" for line in comment.splitlines())
    return lead + tomli_w.dumps(dict(spec))


def _number(value: Any) -> float:
    number = float(value)
    return number if math.isfinite(number) else math.nan


def estimates(summary: Any, scenario_id: str) -> dict[str, Estimate]:
    """Each KPI's estimate for one scenario of an experiment's ``summary.parquet``.

    Parameters
    ----------
    summary
        The summary frame (``scenario``, ``kpi``, ``mean``, ``ci_low``, ``ci_high``, ``n``).
    scenario_id
        ``s000`` for replications of the page's scenario alone.

    Returns
    -------
    dict
        KPI name -> :class:`Estimate` (``n`` counts replications where the KPI is known:
        a percentile still unknown at the horizon is left out).
    """
    rows = summary[summary["scenario"].astype(str) == scenario_id]
    return {
        str(row["kpi"]): Estimate(
            _number(row["mean"]), _number(row["ci_low"]), _number(row["ci_high"]), int(row["n"])
        )
        for row in rows.to_dict(orient="records")
    }


def replication_counts(replications: Any, scenario_id: str) -> tuple[int, int]:
    """Replications of one scenario in ``replications.parquet``, and how many were overloaded.

    Returns
    -------
    tuple of int
        ``(replications, replications with at least one overload warning)``.
    """
    rows = replications[replications["scenario"].astype(str) == scenario_id]
    overload = rows[rows["kpi"].astype(str) == OVERLOAD]
    return int(rows["replication"].nunique()), int((overload["value"] > 0).sum())
