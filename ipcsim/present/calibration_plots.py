"""Figures of a calibration folder (``ipcsim calibrate``): one function per plot, matplotlib only.

As in :mod:`ipcsim.present.run_plots`, every function takes data (the folder's tables and
summary, never paths) and an optional ``ax``, draws on it (or on a new slide-sized figure) and
returns the Axes; nothing reads files, prints or opens a window.

- :func:`plot_observed_vs_simulated`: one series of one site, period by period: the observed
  points, the posterior predictive median and its 90 % band; points outside the band marked;
- :func:`plot_marginal_posterior`: one parameter's weighted posterior (histogram) against its
  prior density, with the median, the 90 % credible interval and, for synthetic data, the
  true value.

Notes
-----
Artists carrying data have a ``gid`` (``observed``, ``outside``, ``median``, ``band``,
``posterior``, ``prior``, ``ci90``, ``truth``) so tests can check that what is drawn equals the
data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, NullFormatter

from ipcsim.analysis.labels import display_label
from ipcsim.experiment.calibration.series import parse_series
from ipcsim.present.style import (
    PALETTE,
    TARGET_COLOR,
    add_note,
    axes_or_new,
    date_axis,
    month_dates,
    style,
)

__all__ = [
    "POSTERIOR_BINS",
    "plot_marginal_posterior",
    "plot_observed_vs_simulated",
    "prior_density",
    "series_label",
]

POSTERIOR_BINS = 20
"""Bins of a posterior histogram (over the prior's range)."""
_OUTSIDE_COLOR = TARGET_COLOR


def series_label(series: str) -> str:
    """A series name in words: ``Plans signed off``, ``Referral to plan sign-off: median wait``."""
    kind = parse_series(series)
    if kind is None or kind.stage is None:
        return display_label(series)
    stage = display_label(kind.stage)
    if kind.weeks is not None:
        return f"{stage}: share within {kind.weeks} weeks"
    return f"{stage}: median wait (days)"


def plot_observed_vs_simulated(
    predictive: pd.DataFrame,
    *,
    series: str,
    site: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Observed values of one series against the posterior predictive median and 90 % band.

    Parameters
    ----------
    predictive
        ``predictive.parquet``: ``series``, ``site``, ``period`` (``YYYY-MM``), ``observed``,
        ``simulated_p05``, ``simulated_median``, ``simulated_p95``, ``outside_band``.
    series
        The series drawn.
    site
        Its site (the ``site`` column); ``None``: the only site the series has.
    ax
        Axes to draw on; a new slide-sized figure when ``None``.

    Returns
    -------
    Axes
        The band ``gid="band"``, the median line ``gid="median"``, the observed points
        ``gid="observed"`` and those outside the band ``gid="outside"``.

    Raises
    ------
    ValueError
        When the table has no row of the series (and site), or several sites and none named.
    """
    rows = predictive[predictive["series"].astype(str) == series]
    sites = sorted({str(s) for s in rows["site"]})
    if site is None and len(sites) > 1:
        raise ValueError(f"series {series} has several sites ({', '.join(sites)}); name one")
    if site is not None:
        rows = rows[rows["site"].astype(str) == site]
    if rows.empty:
        raise ValueError(
            f"no observed point of series {series!r}" + (f" at {site}" if site else "")
        )
    rows = rows.sort_values("period", kind="stable")
    dates = month_dates([f"{p}-01" for p in rows["period"].astype(str)])
    observed = rows["observed"].to_numpy(dtype=float)
    outside = rows["outside_band"].to_numpy(dtype=bool)
    low = rows["simulated_p05"].to_numpy(dtype=float)
    high = rows["simulated_p95"].to_numpy(dtype=float)
    # A bar per period for the band, so one point or a gap between periods draws as plainly.
    quarterly = len(dates) > 1 and int(np.min(np.diff(dates)).astype(int)) > 40
    width = np.timedelta64(50 if quarterly else 18, "D")
    with style():
        ax = axes_or_new(ax)
        bars = ax.bar(
            dates,
            high - low,
            bottom=low,
            width=width,
            color=PALETTE[0],
            alpha=0.3,
            label="Posterior predictive 90% band",
        )
        for bar in bars:
            bar.set_gid("band")
        (median,) = ax.plot(
            dates,
            rows["simulated_median"].to_numpy(dtype=float),
            color=PALETTE[0],
            marker="_",
            markersize=22,
            markeredgewidth=2.5,
            linewidth=1.2,
            label="Posterior predictive median",
        )
        median.set_gid("median")
        points = ax.scatter(
            dates, observed, color="black", zorder=3, s=36, label="Observed", marker="o"
        )
        points.set_gid("observed")
        if outside.any():
            marked = ax.scatter(
                dates[outside],
                observed[outside],
                s=160,
                facecolors="none",
                edgecolors=_OUTSIDE_COLOR,
                linewidths=2.2,
                zorder=4,
                label="Observed, outside the band",
            )
            marked.set_gid("outside")
        date_axis(ax)
        pad = np.timedelta64(45 if quarterly else 20, "D")
        ax.set_xlim(dates.min() - pad, dates.max() + pad)
        label = series_label(series)
        ax.set_ylabel(label)
        where = f" ({site})" if site is not None and len(sites) > 1 else ""
        ax.set_title(f"{label}{where}: observed and simulated")
        ax.legend(loc="best")
        ax.set_ylim(bottom=0)
        add_note(
            ax,
            f"{int(outside.sum())} of {len(outside)} observed points outside the band "
            f"(about {0.1 * len(outside):.1f} expected by chance). Band: 5th to 95th "
            "percentile of runs from the posterior.",
        )
    return ax


def prior_density(parameter: Mapping[str, Any], x: np.ndarray) -> np.ndarray:
    """The prior's density at ``x``, per unit of the value (uniform) or of its log (log-uniform).

    Parameters
    ----------
    parameter
        A parameter of ``summary.json``: ``prior`` (``uniform`` or ``loguniform``), ``low``,
        ``high``.
    x
        Values, in the parameter's unit.
    """
    low, high = float(parameter["low"]), float(parameter["high"])
    inside = (x >= low) & (x <= high)
    if parameter["prior"] == "loguniform":
        return np.where(inside, 1.0 / math.log(high / low), 0.0)
    return np.where(inside, 1.0 / (high - low), 0.0)


def plot_marginal_posterior(
    posterior: pd.DataFrame,
    *,
    key: str,
    parameter: Mapping[str, Any],
    ax: Axes | None = None,
) -> Axes:
    """One parameter's weighted posterior (histogram) against its prior density.

    Parameters
    ----------
    posterior
        ``posterior.parquet``: ``weight`` and one column per parameter.
    key
        The parameter (its dotted key).
    parameter
        Its entry in ``summary.json``'s ``parameters``: prior, bounds, median, 90 % interval,
        ``identified`` and, for synthetic data, ``true_value``.
    ax
        Axes to draw on; a new slide-sized figure when ``None``.

    Returns
    -------
    Axes
        The histogram's bars ``gid="posterior"``, the prior line ``gid="prior"``, the 90 %
        interval ``gid="ci90"``, the median ``gid="median"``, the truth ``gid="truth"``.

    Notes
    -----
    A log-uniform prior is drawn on a logarithmic axis with densities per unit of the natural
    log of the value, so the prior is flat on both kinds of axis.
    """
    values = posterior[key].to_numpy(dtype=float)
    weights = posterior["weight"].to_numpy(dtype=float)
    low, high = float(parameter["low"]), float(parameter["high"])
    log = parameter["prior"] == "loguniform"
    scale = np.log if log else (lambda v: v)
    edges_z = np.linspace(scale(low), scale(high), POSTERIOR_BINS + 1)
    density, _ = np.histogram(scale(values), bins=edges_z, weights=weights, density=True)
    edges = np.exp(edges_z) if log else edges_z
    with style():
        ax = axes_or_new(ax)
        bars = ax.bar(
            edges[:-1],
            density,
            width=np.diff(edges),
            align="edge",
            color=PALETTE[0],
            alpha=0.6,
            label="Posterior (weighted)",
        )
        for bar in bars:
            bar.set_gid("posterior")
        x = np.array([low, high])
        (prior,) = ax.plot(
            x,
            prior_density(parameter, x),
            color=PALETTE[1],
            linestyle="--",
            label=f"Prior ({parameter['prior']} {low:g} to {high:g})",
        )
        prior.set_gid("prior")
        span = ax.axvspan(
            float(parameter["ci90_low"]),
            float(parameter["ci90_high"]),
            color=PALETTE[2],
            alpha=0.12,
            label="90% credible interval",
        )
        span.set_gid("ci90")
        median = ax.axvline(
            float(parameter["median"]), color=PALETTE[2], label=f"Median {parameter['median']:.4g}"
        )
        median.set_gid("median")
        truth = parameter.get("true_value")
        if truth is not None:
            line = ax.axvline(
                float(truth), color="black", linestyle=":", label=f"True value {truth:.4g}"
            )
            line.set_gid("truth")
        if log:
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.3g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xticks(np.geomspace(low, high, 5))
        ax.set_xlim(low, high)
        ax.set_xlabel(key)
        ax.set_ylabel("Density" + (" per unit of ln(value)" if log else ""))
        verdict = (
            "identified by the data"
            if parameter.get("identified", True)
            else "NOT identified by the data (posterior ≈ prior)"
        )
        ax.set_title(f"{key}: {verdict}")
        ax.legend(loc="best")
        add_note(
            ax,
            f"Posterior sd is {float(parameter['sd_ratio']):.0%} of the prior's"
            + (" (on the log scale)" if log else "")
            + "; above 80% the data are reported as unable to identify the parameter.",
        )
    return ax
