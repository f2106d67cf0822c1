"""A calibration's results as tables and plain data: posterior, predictive band, diagnostics.

The diagnostics say in words when the calibration failed or taught little: parameters the data
cannot identify (posterior close to prior), observed points outside the posterior predictive
90 % band, a low effective sample size, a posterior piled against a prior bound, and why the
sequence stopped.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ipcsim.analysis import abc
from ipcsim.experiment.calibration.problem import CalibrationProblem
from ipcsim.experiment.calibration.run import SmcResult

__all__ = [
    "BAND",
    "diagnostics",
    "parameter_summary",
    "point_estimate",
    "posterior_frame",
    "predictive_frame",
]

BAND = (0.05, 0.95)
"""The posterior predictive band and the credible intervals: 5th to 95th percentile (90 %)."""
LOW_ESS_SHARE = 0.3
"""An effective sample size below this share of the population is reported."""
BOUND_SHARE = 0.02
"""A posterior whose 5th (95th) percentile lies within this share of the prior's width of its
lower (upper) bound is reported as pushing against the bound."""


def posterior_frame(problem: CalibrationProblem, smc: SmcResult) -> pd.DataFrame:
    """The final population: one row per particle (``posterior.parquet``).

    Columns ``particle``, ``weight``, ``distance``, ``replication``, then one per parameter (the
    value set in the scenario, rounded where the parameter is ``integer``).
    """
    final = smc.final
    rows = []
    for i in range(len(final.weights)):
        row: dict[str, Any] = {
            "particle": i,
            "weight": float(final.weights[i]),
            "distance": float(final.distances[i]),
            "replication": int(final.replications[i]),
        }
        row |= problem.values(final.z[i])
        rows.append(row)
    return pd.DataFrame(rows)


def predictive_frame(problem: CalibrationProblem, predictive: np.ndarray) -> pd.DataFrame:
    """Per observed point: observed, simulated median and 90 % band (``predictive.parquet``)."""
    low, median, high = abc.predictive_band(predictive, low=BAND[0], high=BAND[1])
    rows = []
    for i, target in enumerate(problem.targets):
        rows.append(
            {
                "series": target.series,
                "site": target.site_row,
                "period": target.period,
                "observed": target.observed,
                "simulated_p05": float(low[i]),
                "simulated_median": float(median[i]),
                "simulated_p95": float(high[i]),
                "outside_band": bool(
                    not (low[i] <= target.observed <= high[i]) if math.isfinite(low[i]) else True
                ),
            }
        )
    return pd.DataFrame(rows)


def parameter_summary(problem: CalibrationProblem, smc: SmcResult) -> dict[str, dict[str, Any]]:
    """Per parameter: prior, posterior median, 90 % credible interval, sd ratio, identifiable."""
    final = smc.final
    found: dict[str, dict[str, Any]] = {}
    for k, prior in enumerate(problem.priors):
        z = final.z[:, k]
        ratio = abc.sd_ratio(z, final.weights, prior)
        q = [prior.to_value(abc.weighted_quantile(z, final.weights, p)) for p in (*BAND, 0.5)]
        found[prior.key] = {
            "prior": prior.kind,
            "low": prior.low,
            "high": prior.high,
            "median": q[2],
            "ci90_low": q[0],
            "ci90_high": q[1],
            "sd_ratio": ratio,
            "identified": ratio <= abc.IDENTIFIABLE_SD_RATIO,
        }
        if prior.key in problem.truth:
            truth = problem.truth[prior.key]
            found[prior.key]["true_value"] = truth
            found[prior.key]["truth_in_ci90"] = q[0] <= truth <= q[1]
    return found


def point_estimate(problem: CalibrationProblem, smc: SmcResult) -> dict[str, int | float]:
    """Each parameter's weighted posterior median (rounded where ``integer``).

    Notes
    -----
    The medians are marginal: together they need not be a point of high joint posterior
    density when parameters trade off against each other (the ensemble keeps the joint draws).
    """
    final = smc.final
    medians = np.array(
        [
            abc.weighted_quantile(final.z[:, k], final.weights, 0.5)
            for k in range(len(problem.priors))
        ]
    )
    return problem.values(medians)


def diagnostics(
    problem: CalibrationProblem,
    smc: SmcResult,
    parameters: dict[str, dict[str, Any]],
    predictive: pd.DataFrame,
) -> list[dict[str, Any]]:
    """What the user must know, most serious first, each with a one-sentence ``message``.

    Kinds: ``not_identified``, ``outside_band``, ``at_bound``, ``low_ess``, ``stopped`` (the
    sequence stopped early), and ``ok`` when nothing else applies.
    """
    found: list[dict[str, Any]] = []
    final = smc.final
    outside = predictive[predictive["outside_band"]]
    points = len(predictive)
    if len(outside):
        shown = "; ".join(
            f"{r.series} {r.site} {r.period}: observed {r.observed:.4g}, band "
            f"{r.simulated_p05:.4g} to {r.simulated_p95:.4g}"
            for r in outside.head(5).itertuples()
        )
        more = f" and {len(outside) - 5} more" if len(outside) > 5 else ""
        found.append(
            {
                "kind": "outside_band",
                "points": int(len(outside)),
                "of": points,
                "message": f"{len(outside)} of {points} observed points lie outside the "
                f"posterior predictive 90 % band (about {0.1 * points:.1f} expected by "
                f"chance): {shown}{more}",
            }
        )
    for key, p in parameters.items():
        if not p["identified"]:
            found.append(
                {
                    "kind": "not_identified",
                    "parameter": key,
                    "sd_ratio": p["sd_ratio"],
                    "message": f"{key}: the data cannot identify it (posterior ≈ prior: its "
                    f"posterior sd is {p['sd_ratio']:.0%} of the prior's); its calibrated value "
                    "is the prior's, not the site's",
                }
            )
    for prior in problem.priors:
        p = parameters[prior.key]
        if not p["identified"]:
            continue
        width = prior.z_high - prior.z_low
        for end, value, bound in (
            ("lower", prior.to_z(p["ci90_low"]), prior.z_low),
            ("upper", prior.to_z(p["ci90_high"]), prior.z_high),
        ):
            near = abs(value - bound) <= BOUND_SHARE * width
            beyond = p["ci90_low"] <= prior.low if end == "lower" else p["ci90_high"] >= prior.high
            if near or beyond:
                found.append(
                    {
                        "kind": "at_bound",
                        "parameter": prior.key,
                        "bound": end,
                        "message": f"{prior.key}: the posterior presses against the prior's "
                        f"{end} bound ({bound if prior.kind == 'uniform' else math.exp(bound):g}); "
                        "widen the range if values beyond it are plausible",
                    }
                )
    ess = final.ess
    n = len(final.weights)
    if ess < LOW_ESS_SHARE * n:
        found.append(
            {
                "kind": "low_ess",
                "ess": ess,
                "message": f"effective sample size {ess:.0f} of {n} particles: the weights are "
                "uneven, so the posterior rests on few particles (raise abc.population)",
            }
        )
    asked = problem.spec.abc.generations
    if final.number < asked:
        found.append({"kind": "stopped", "message": smc.stop_reason})
    if not found:
        found.append(
            {
                "kind": "ok",
                "message": "every parameter is identified, every observed point lies in the "
                "posterior predictive 90 % band, and the sequence ran its generations",
            }
        )
    return found


def generation_rows(smc: SmcResult) -> list[dict[str, Any]]:
    """One row per generation: threshold, proposals, simulations, acceptance rate, ESS."""
    return [
        {
            "generation": g.number,
            "threshold": g.threshold if math.isfinite(g.threshold) else None,
            "proposed": g.proposed,
            "simulations": g.simulations,
            "accepted": len(g.weights),
            "acceptance_rate": g.acceptance_rate,
            "effective_sample_size": g.ess,
            "median_distance": float(np.median(g.distances)),
        }
        for g in smc.generations
    ]
