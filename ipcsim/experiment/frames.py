"""An experiment's tables, from its cells: replications, summary, paired and sensitivity.

``replications`` (scenario, replication, kpi, value); ``summary`` (scenario x KPI: mean, sd, n,
ci_low, ci_high, half_width, pi_low, pi_high, uncertainty, factor columns, is_baseline);
``paired`` (scenario - baseline: mean_diff, sd_diff, n, ci_low, ci_high, half_width,
variance_reduction, factor columns); ``sensitivity`` (designs: method, kpi, parameter, index,
value, ci_low, ci_high); ``scenarios`` (label, factor columns and is_baseline). Factor
columns are named by their dotted keys (and ``base`` when there are several bases).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ipcsim.analysis import labels, sensitivity, stats
from ipcsim.experiment.cell import CellResult
from ipcsim.experiment.ensemble import PARAMETER_UNCERTAINTY, PREDICTIVE_BAND, STOCHASTIC_ONLY
from ipcsim.experiment.plan import ExperimentPlan

__all__ = [
    "paired_frame",
    "replications_frame",
    "scenarios_frame",
    "sensitivity_frame",
    "summary_frame",
]

logger = logging.getLogger(__name__)


def scenarios_frame(plan: ExperimentPlan) -> pd.DataFrame:
    """Each scenario's factor levels and whether it is the baseline (``scenarios.parquet``).

    Parameters
    ----------
    plan
        The experiment's plan.

    Returns
    -------
    DataFrame
        ``scenario``, ``label`` (the scenario in words, from the levels of the factors that
        vary: :func:`ipcsim.analysis.labels.scenario_labels`), one column per factor (its
        level; ``None`` where a scenario has none) and ``is_baseline``, in plan order.
    """
    rows = []
    for p in plan.scenarios:
        row: dict[str, Any] = {"scenario": p.scenario_id}
        for factor in plan.factors:
            row[factor] = p.levels.get(factor)
        row["is_baseline"] = p.is_baseline
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["scenario", *plan.factors, "is_baseline"])
    names = labels.scenario_labels(frame, list(plan.factors))
    frame.insert(1, "label", [names[str(s)] for s in frame["scenario"]])
    return frame.astype({"scenario": "string", "label": "string", "is_baseline": "bool"})


def replications_frame(
    plan: ExperimentPlan, cells: Mapping[tuple[str, int], CellResult], runs: Mapping[str, int]
) -> pd.DataFrame:
    """Long table of every KPI of every replication, sorted by scenario, replication, KPI.

    Parameters
    ----------
    plan
        The experiment's plan (scenario order and KPI order).
    cells
        Finished cells by ``(scenario, replication)``.
    runs
        Replications of each scenario to include (``0 .. runs - 1``; all must be in
        ``cells``).

    Returns
    -------
    DataFrame
        ``scenario``, ``replication``, ``kpi``, ``value`` (NaN where undefined).
    """
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
    """Mean, sd, n and t CI of each KPI of each scenario, with the factor columns.

    Parameters
    ----------
    plan
        The experiment's plan (its confidence level, scenarios and KPIs).
    replications
        From :func:`replications_frame`.

    Returns
    -------
    DataFrame
        ``scenario``, ``kpi``, ``mean``, ``sd``, ``n``, ``ci_low``, ``ci_high``, ``half_width``
        (the mean's CI at the spec's confidence), ``pi_low``, ``pi_high`` (the 90 % predictive
        interval: 5th and 95th percentile of the replications, linear interpolation; where
        one more run may land), all in the KPI's unit; ``uncertainty`` (what the intervals
        carry: ``stochastic``, or ``stochastic and parameter`` when every replication ran on
        its own draw of a posterior ensemble), then the columns of :func:`scenarios_frame`.
    """
    rows = []
    carried = PARAMETER_UNCERTAINTY if plan.ensemble is not None else STOCHASTIC_ONLY
    values = _by_cell(replications[["scenario", "replication", "kpi", "value"]])
    for p in plan.scenarios:
        for kpi in plan.kpis:
            found = values.get((p.scenario_id, kpi))
            if found is None:
                continue
            ordered = [found[r] for r in sorted(found)]
            est = stats.mean_ci(ordered, confidence=plan.spec.confidence)
            kept = np.array([v for v in ordered if math.isfinite(v)])
            low, high = (
                np.quantile(kept, PREDICTIVE_BAND).tolist() if kept.size else (math.nan, math.nan)
            )
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
                    "pi_low": float(low),
                    "pi_high": float(high),
                    "uncertainty": carried,
                }
            )
    columns = [
        "scenario", "kpi", "mean", "sd", "n", "ci_low", "ci_high", "half_width", "pi_low",
        "pi_high", "uncertainty",
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns).astype(
        {"scenario": "string", "kpi": "string", "n": "int64", "uncertainty": "string"}
    )
    return frame.merge(
        scenarios_frame(plan).drop(columns="label"), on="scenario", how="left", sort=False
    )


def _by_cell(replications: pd.DataFrame) -> dict[tuple[str, str], dict[int, float]]:
    """(scenario, kpi) -> {replication: value}."""
    out: dict[tuple[str, str], dict[int, float]] = {}
    for scenario_id, replication, kpi, value in replications.itertuples(index=False):
        out.setdefault((str(scenario_id), str(kpi)), {})[int(replication)] = float(value)
    return out


def paired_frame(plan: ExperimentPlan, replications: pd.DataFrame) -> pd.DataFrame:
    """Each scenario minus the baseline, replication by replication, with the factor columns.

    Parameters
    ----------
    plan
        The experiment's plan (its baseline, confidence level, scenarios and KPIs).
    replications
        From :func:`replications_frame`.

    Returns
    -------
    DataFrame
        ``scenario``, ``baseline``, ``kpi``, ``mean_diff``, ``sd_diff``, ``n``, ``ci_low``,
        ``ci_high``, ``half_width`` (in the KPI's unit), ``variance_reduction`` (ratio), then
        the factor columns; no rows for the baseline itself.

    Notes
    -----
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
    factors = scenarios_frame(plan).drop(columns=["label", "is_baseline"])
    return frame.merge(factors, on="scenario", how="left", sort=False)


def sensitivity_frame(plan: ExperimentPlan, summary: pd.DataFrame) -> pd.DataFrame | None:
    """Sensitivity indices of the spec's KPIs over the design (``None`` without a design).

    Parameters
    ----------
    plan
        The experiment's plan (its design and the design's points).
    summary
        From :func:`summary_frame` (the mean of each KPI at each design point).

    Returns
    -------
    DataFrame or None
        ``method``, ``kpi``, ``parameter``, ``index``, ``value``, ``ci_low``, ``ci_high``; a
        KPI the method cannot analyse is left out with a warning logged.
    """
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
