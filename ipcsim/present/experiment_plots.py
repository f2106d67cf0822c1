"""Figures of an experiment folder (``ipcsim experiment``): one function per plot.

Like :mod:`ipcsim.present.run_plots`, every function takes frames and an optional ``ax`` and
returns the Axes; nothing here reads files, prints or shows a window.

- :func:`plot_capacity_whatif`: a KPI's mean and 95 % CI against a factor, a target line and
  the smallest level that meets it;
- :func:`plot_throughput_fan`: median and 50 %/90 % bands of monthly or quarterly throughput
  across replications, with an optional target trajectory;
- :func:`plot_tornado`: sensitivity indices, largest first.

Notes
-----
Artists that carry a figure's data have a ``gid`` (e.g. ``"mean"``, ``"ci-band"``,
``"target"``, ``"smallest-level"``), so tests and callers can find them and check that what is
drawn equals the data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ipcsim.analysis.labels import (
    Direction,
    display_label,
    factor_label,
    kpi_axis_label,
    kpi_direction,
    kpi_label,
    kpi_scale,
    level_words,
)
from ipcsim.analysis.targets import smallest_level_meeting
from ipcsim.present.run_plots import select_site, target_per_period
from ipcsim.present.style import (
    PALETTE,
    SLIDE_SIZE_IN,
    TARGET_COLOR,
    add_note,
    axes_or_new,
    date_axis,
    legend_outside,
    month_dates,
    percent_axis,
    style,
)

__all__ = [
    "linear_trajectory",
    "plot_capacity_whatif",
    "plot_throughput_fan",
    "plot_tornado",
    "smallest_level_meeting",
]

Period = Literal["month", "quarter"]
"""Period of a throughput series."""


# --------------------------------------------------------------------------- experiments
def _level_text(value: float) -> str:
    return f"{value:g}"


def plot_capacity_whatif(
    summary: pd.DataFrame,
    *,
    kpi: str,
    factor: str,
    target: float | None = None,
    direction: Direction | None = None,
    criterion: Literal["mean", "ci"] = "mean",
    ax: Axes | None = None,
) -> Axes:
    """A KPI's mean and 95 % CI band against a factor, with a target and the level meeting it.

    Draws the target as a dashed line and stars the smallest level of the factor that meets
    the target.

    Parameters
    ----------
    summary
        ``summary.parquet`` of an experiment: ``scenario``, ``kpi``, ``mean``, ``ci_low``,
        ``ci_high`` and one column per factor (dotted config key).
    kpi
        The KPI to draw (y axis); utilisation is shown in percent.
    factor
        The factor column for the x axis (numeric). When other factor columns vary too, one
        line is drawn per combination of their values.
    target
        The target value of the KPI, in its stored unit (a fraction for utilisation).
    direction
        ``"lower"`` or ``"higher"`` is better; guessed from the KPI name when ``None``
        (:func:`~ipcsim.analysis.labels.kpi_direction`).
    criterion
        ``"mean"``: a level meets the target when its mean does; ``"ci"``: when the whole
        95 % CI does (the upper bound for "lower is better", the lower bound otherwise).
    ax
        Axes to draw on; a new figure when ``None``.

    Returns
    -------
    Axes
        Per line ``k`` (0, 1, ... in the sorted order of the other factors' values): the mean
        line ``gid="mean:k"``, the band ``gid="ci-band:k"`` and, when a level meets the
        target, a marker ``gid="smallest-level:k"`` at that level; the target line
        ``gid="target"``. Values are in display units (percent for utilisation).
    """
    for column in ("kpi", "mean", "ci_low", "ci_high", factor):
        if column not in summary.columns:
            raise ValueError(f"summary frame lacks column {column!r}")
    rows = summary[summary["kpi"] == kpi]
    if rows.empty:
        known = ", ".join(sorted(summary["kpi"].astype(str).unique()))
        raise ValueError(f"summary has no KPI {kpi!r}; it has: {known}")
    if not pd.api.types.is_numeric_dtype(rows[factor]):
        raise ValueError(f"factor {factor!r} must be numeric to plot a capacity curve")
    direction = direction or kpi_direction(kpi)
    scale = kpi_scale(kpi)
    others = [c for c in _factor_columns(summary) if c != factor and rows[c].nunique() > 1]
    groups = list(rows.groupby(others, sort=True)) if others else [((), rows)]
    starred = False
    with style():
        ax = axes_or_new(ax)
        if target is not None:
            line = ax.axhline(
                target * scale,
                color=TARGET_COLOR,
                linestyle="--",
                linewidth=2,
                label=f"Target {target * scale:g}",
            )
            line.set_gid("target")
        for k, (key, group) in enumerate(groups):
            group = group.sort_values(factor)
            x = group[factor].to_numpy(dtype=float)
            mean = group["mean"].to_numpy(dtype=float) * scale
            low = group["ci_low"].to_numpy(dtype=float) * scale
            high = group["ci_high"].to_numpy(dtype=float) * scale
            color = PALETTE[k % len(PALETTE)]
            keys = key if isinstance(key, tuple) else (key,)
            label = (
                "Mean"
                if not others
                else ", ".join(
                    level_words(o, v.item() if isinstance(v, np.generic) else v)
                    for o, v in zip(others, keys, strict=True)
                )
            )
            band = ax.fill_between(
                x,
                low,
                high,
                color=color,
                alpha=0.2,
                linewidth=0,
                label="95% CI" if not others else None,
            )
            band.set_gid(f"ci-band:{k}")
            (line,) = ax.plot(x, mean, marker="o", color=color, label=label)
            line.set_gid(f"mean:{k}")
            if target is None:
                continue
            bound = mean if criterion == "mean" else (high if direction == "lower" else low)
            best = smallest_level_meeting(x, bound, target * scale, direction=direction)
            if best is None:
                continue
            y_best = float(mean[x == best][0])
            (mark,) = ax.plot(
                [best],
                [y_best],
                marker="*",
                markersize=22,
                color=color,
                markeredgecolor="black",
                linestyle="none",
            )
            mark.set_gid(f"smallest-level:{k}")
            starred = True
            ax.annotate(
                f"{_level_text(best)} meets target",
                xy=(best, y_best),
                # Stack the labels of lines meeting the target at the same level.
                xytext=(14, (22 + 22 * k) if direction == "lower" else -(30 + 22 * k)),
                textcoords="offset points",
                fontsize=12,
                fontweight="bold",
                color=color,
                arrowprops={"arrowstyle": "-", "color": color},
            )
        levels = np.sort(rows[factor].unique().astype(float))
        if len(levels) <= 15 and np.allclose(levels, np.round(levels)):
            ax.set_xticks(levels)
        label, unit = kpi_label(kpi)
        ax.set_ylabel(kpi_axis_label(kpi) if unit != "%" else f"{label} (%)")
        ax.set_xlabel(factor_label(factor))
        better = "lower is better" if direction == "lower" else "higher is better"
        ax.set_title(f"{label}, by {factor_label(factor).split(' (')[0].lower()}")
        legend_outside(ax, title=better.capitalize(), title_fontsize=11)
        if scale == 100.0:
            percent_axis(ax)
        if criterion == "ci" and starred:
            add_note(ax, "Star: the smallest level whose whole 95% CI meets the target.")
    return ax


def _factor_columns(frame: pd.DataFrame) -> list[str]:
    """Factor columns of an experiment frame: dotted config keys."""
    return [c for c in frame.columns if "." in str(c)]


def linear_trajectory(
    periods: Sequence[Any] | np.ndarray, *, start: float, end: float
) -> pd.Series:
    """A target trajectory rising linearly from ``start`` to ``end`` over the periods.

    Parameters
    ----------
    periods
        Period start dates (ISO strings or dates), in order.
    start, end
        Target in the first and last period, people per period.

    Returns
    -------
    Series
        Target per period, indexed by the period start dates as given.
    """
    n = len(periods)
    values = np.linspace(start, end, n) if n > 1 else np.array([start] * n, dtype=float)
    return pd.Series(values, index=list(periods), dtype=float)


def _quarter_of_months(months: np.ndarray) -> np.ndarray:
    """Start month of the quarter each month falls in: blocks of three from the first month."""
    unique = np.unique(months)
    first = {m: unique[(i // 3) * 3] for i, m in enumerate(unique)}
    return np.array([first[m] for m in months], dtype="datetime64[D]")


def plot_throughput_fan(
    timeseries: pd.DataFrame,
    *,
    series: str = "plans_signed_off",
    period: Period = "month",
    site: str | None = None,
    target: pd.Series | Mapping[Any, float] | None = None,
    target_label: str = "Target trajectory",
    demand: str | None = None,
    name: str | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Throughput across replications as a fan chart: median, 50 % and 90 % bands.

    Parameters
    ----------
    timeseries
        The per-replication ``timeseries.parquet`` frames stacked, with a ``replication``
        column (``month``, ``site`` and ``series`` as in a run's timeseries).
    series
        Count column to draw, people per period.
    period
        ``"month"`` or ``"quarter"`` (blocks of three calendar months from the first month of
        the run; the last may be partial).
    site
        Draw one site; ``None`` for all sites: the total rows of a multi-site run, else the
        sum of the sites' rows (national).
    target
        Optional target trajectory, people per period, indexed by period start date.
    target_label
        Legend label of the target.
    demand
        Count column of the demand (``"referrals"``), drawn as its median over replications
        per period for comparison; none when ``None``.
    name
        The scenario's name in words, for the legend (``"3 planners (baseline)"``).
    title
        Axes title (the series, period and site when ``None``).
    ax
        Axes to draw on; a new figure when ``None``.

    Returns
    -------
    Axes
        Lines ``gid="median"`` (x: period start, y: median over replications) and bands
        ``gid="band-90"`` (5th to 95th percentile) and ``gid="band-50"`` (25th to 75th);
        the target ``gid="target"``, the demand ``gid="demand"``. The legend lies outside
        the plotting area (right of it), so it never hides data.

    Notes
    -----
    Quantiles interpolate linearly between replications (numpy's default).
    """
    for column in ("replication", "month", series, *([demand] if demand else [])):
        if column not in timeseries.columns:
            raise ValueError(f"replication timeseries lacks column {column!r}")
    frame = select_site(timeseries, site)
    months = month_dates(frame["month"])
    keys = _quarter_of_months(months) if period == "quarter" else months

    def per_period(column: str) -> pd.DataFrame:
        return (
            pd.DataFrame(
                {
                    "replication": frame["replication"].to_numpy(),
                    "period": keys,
                    "value": frame[column].to_numpy(dtype=float),
                }
            )
            .groupby(["period", "replication"], sort=True)["value"]
            .sum()
            .unstack("replication")
        )

    counts = per_period(series)
    periods = counts.index.to_numpy(dtype="datetime64[D]")
    values = counts.to_numpy(dtype=float)
    q = np.nanquantile(values, [0.05, 0.25, 0.5, 0.75, 0.95], axis=1)
    reps = counts.shape[1]
    with style():
        ax = axes_or_new(ax)
        band90 = ax.fill_between(
            periods,
            q[0],
            q[4],
            color=PALETTE[0],
            alpha=0.18,
            linewidth=0,
            label="90% of replications",
            step=None,
        )
        band90.set_gid("band-90")
        band50 = ax.fill_between(
            periods,
            q[1],
            q[3],
            color=PALETTE[0],
            alpha=0.35,
            linewidth=0,
            label="50% of replications",
        )
        band50.set_gid("band-50")
        (median,) = ax.plot(
            periods,
            q[2],
            color=PALETTE[0],
            marker="o",
            markersize=4,
            label=f"{name}: median of {reps} replications"
            if name
            else f"Median of {reps} replications",
        )
        median.set_gid("median")
        if demand:
            (line,) = ax.plot(
                periods,
                np.nanmedian(per_period(demand).to_numpy(dtype=float), axis=1),
                color=PALETTE[-1],
                linestyle=":",
                label=f"{display_label(demand)} (demand), median",
            )
            line.set_gid("demand")
        if target is not None:
            (line,) = ax.plot(
                periods,
                target_per_period(target, periods),
                color=TARGET_COLOR,
                linestyle="--",
                label=target_label,
            )
            line.set_gid("target")
        if len(periods) <= 16:
            ax.set_xticks(periods)
            ax.set_xticklabels([pd.Timestamp(p).strftime("%b %Y") for p in periods])
            if len(periods) > 8:
                for label in ax.get_xticklabels():
                    label.set_rotation(45)
                    label.set_horizontalalignment("right")
        else:
            date_axis(ax)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(f"{display_label(series)} per {period}")
        ax.set_xlabel(f"{period.capitalize()} starting")
        where = f"site {site}" if site is not None else "all sites"
        ax.set_title(title or f"{display_label(series)} per {period} ({where})")
        legend_outside(ax)
    return ax


_INDEX_NAMES = {
    "mu_star": "Morris μ*: mean absolute effect",
    "mu": "Morris μ: mean effect",
    "sigma": "Morris σ: spread of effects",
    "S1": "Sobol first-order index S1",
    "ST": "Sobol total-order index ST",
    "spearman": "Spearman rank correlation",
}
"""Axis text of sensitivity indices."""

_PREFERRED_INDEX = ("mu_star", "ST", "S1", "spearman", "mu", "sigma")


def plot_tornado(
    sensitivity: pd.DataFrame,
    *,
    kpi: str,
    method: str | None = None,
    index: str | None = None,
    top: int = 15,
    ax: Axes | None = None,
) -> Axes:
    """Sensitivity of a KPI to each parameter, largest first (a tornado chart).

    Parameters
    ----------
    sensitivity
        ``sensitivity.parquet``: ``method``, ``kpi``, ``parameter``, ``index``, ``value``,
        ``ci_low``, ``ci_high`` (NaN when the method gives no CI).
    kpi
        The KPI whose sensitivity to show.
    method
        Design method (e.g. ``"morris"``, ``"sobol"``); the first present when ``None``.
    index
        Which index to draw (e.g. ``"mu_star"``, ``"ST"``); ``mu_star``, ``ST``, ``S1``,
        ``mu`` or ``sigma`` (the first present) when ``None``.
    top
        Show at most this many parameters (the largest by absolute value).
    ax
        Axes to draw on; a new figure when ``None``.

    Returns
    -------
    Axes
        Bars ``gid="index"``, one per parameter from the top down in decreasing absolute
        value; error bars from ``ci_low``/``ci_high`` where finite.
    """
    for column in ("method", "kpi", "parameter", "index", "value"):
        if column not in sensitivity.columns:
            raise ValueError(f"sensitivity frame lacks column {column!r}")
    rows = sensitivity[sensitivity["kpi"] == kpi]
    if rows.empty:
        raise ValueError(f"sensitivity has no KPI {kpi!r}")
    method = method or str(rows["method"].iloc[0])
    rows = rows[rows["method"] == method]
    present = list(dict.fromkeys(rows["index"].astype(str)))
    if index is None:
        index = next((i for i in _PREFERRED_INDEX if i in present), present[0] if present else "")
    rows = rows[rows["index"] == index]
    if rows.empty:
        raise ValueError(f"sensitivity has no index {index!r} for {kpi!r} ({method})")
    rows = rows.assign(_abs=rows["value"].abs()).sort_values("_abs", ascending=False).head(top)
    values = rows["value"].to_numpy(dtype=float)
    y = np.arange(len(rows))[::-1].astype(float)
    with style():
        ax = axes_or_new(ax, (SLIDE_SIZE_IN[0], max(3.5, 0.5 * len(rows) + 2.0)))
        colors = [PALETTE[0] if v >= 0 else PALETTE[5] for v in values]
        bars = ax.barh(y, values, color=colors, height=0.65)
        for bar in bars:
            bar.set_gid("index")
        if {"ci_low", "ci_high"} <= set(rows.columns):
            low = rows["ci_low"].to_numpy(dtype=float)
            high = rows["ci_high"].to_numpy(dtype=float)
            ok = np.isfinite(low) & np.isfinite(high)
            if ok.any():
                err = np.vstack([values[ok] - low[ok], high[ok] - values[ok]]).clip(min=0)
                ax.errorbar(
                    values[ok],
                    y[ok],
                    xerr=err,
                    fmt="none",
                    ecolor="#333333",
                    capsize=4,
                    linewidth=1.3,
                )
        ax.set_yticks(y)
        ax.set_yticklabels([factor_label(str(p)) for p in rows["parameter"]])
        ax.grid(axis="y", visible=False)
        ax.axvline(0, color="#333333", linewidth=1)
        label, unit = kpi_label(kpi)
        name = _INDEX_NAMES.get(index, f"{method} {index}")
        in_units = unit and index in {"mu_star", "mu", "sigma"}
        ax.set_xlabel(name + (f" ({unit})" if in_units else ""))
        ax.set_title(f"What drives {label.lower()}")
    return ax
