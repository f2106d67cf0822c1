"""Figures of a plan folder (``ipcsim plan``): the frontier and the staffing plan over time.

Like :mod:`ipcsim.present.experiment_plots`, every function takes frames and plain data and
returns what it drew; nothing here reads files, prints or shows a window.

- :func:`plot_plan_frontier`: every configuration judged, its cost against each target's
  estimate with its confidence interval, feasible or not, the recommendation highlighted and
  the target drawn;
- :func:`plot_staffing_over_time`: a plan over time, each role's level per period (a step
  line) with the people referred per period on a second axis, and each target's verdict per
  period under it.

Notes
-----
Artists that carry a figure's data have a ``gid`` (``"target:<i>"``, ``"feasible:<i>"``,
``"infeasible:<i>"``, ``"ci:<i>"``, ``"recommended:<i>"``, ``"level:<role>"``,
``"demand"``, ``"verdict:<i>:<period>"``), so tests can check that what is drawn equals the
data. Values are in display units (percent for shares and utilisation).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ipcsim.analysis.labels import kpi_label, kpi_scale, kpi_short_label
from ipcsim.present.style import (
    PALETTE,
    SLIDE_SIZE_IN,
    TARGET_COLOR,
    date_axis,
    new_figure,
    percent_axis,
    role_colors,
    style,
)

__all__ = ["STATUS_COLORS", "column_stems", "plot_plan_frontier", "plot_staffing_over_time"]

STATUS_COLORS: Mapping[str, str] = {"met": "#009E73", "missed": "#D55E00", "undecided": "#999999"}
"""Colour of a verdict: met (green), missed (vermillion), not shown either way (grey)."""


def column_stems(targets: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each target's column stem in ``frontier.parquet``: its KPI, ``<kpi>_<i>`` when repeated."""
    kpis = [str(t["kpi"]) for t in targets]
    return [k if kpis.count(k) == 1 else f"{k}_{i}" for i, k in enumerate(kpis)]


def _levels_text(row: Mapping[Any, Any], roles: Sequence[str]) -> str:
    levels = ", ".join(f"{role} {float(row[role]):g}" for role in roles)
    return f"{row['alternative']}: {levels}" if "alternative" in row else levels


def _axis_title(target: Mapping[str, Any]) -> tuple[str, float]:
    """The panel's y label (with unit) and the KPI's display scale."""
    kpi = str(target["kpi"])
    label, unit = kpi_label(kpi)
    scale = kpi_scale(kpi)
    return (f"{label} ({unit})" if unit and not unit.startswith("per ") else label), scale


def plot_plan_frontier(
    frontier: pd.DataFrame,
    *,
    targets: Sequence[Mapping[str, Any]],
    roles: Sequence[str],
    cost_label: str,
    title: str | None = None,
) -> Figure:
    """Every configuration judged: its cost against each target's estimate and CI.

    Parameters
    ----------
    frontier
        ``frontier.parquet``: ``cost``, ``feasible``, ``recommended``, a column per role and
        per target ``<stem>_mean``, ``_ci_low``, ``_ci_high``; with ``period`` (a plan over
        time) the points are coloured by period and the cost is each period's yearly cost.
    targets
        The plan's targets as in ``recommendation.json`` / ``manifest.json`` (``text``,
        ``kpi``, ``value``, ``direction``), in the frontier's column order.
    roles
        The roles planned (their level columns).
    cost_label
        The x axis label (``Staff cost (£ a year)``).
    title
        The first panel's title (default: one naming the number of configurations).

    Returns
    -------
    Figure
        One panel per target, sharing the cost axis. Per target ``i``: the target line
        ``gid="target:i"``, feasible points ``"feasible:i"`` (filled), the others
        ``"infeasible:i"`` (hollow), the CIs ``"ci:i"`` and the recommendation
        ``"recommended:i"`` (a star, labelled with its levels).
    """
    stems = column_stems(targets)
    for column in ("cost", "feasible", "recommended", *roles):
        if column not in frontier.columns:
            raise ValueError(f"frontier frame lacks column {column!r}")
    periods = (
        sorted(int(p) for p in frontier["period"].unique()) if "period" in frontier.columns else []
    )
    height = max(SLIDE_SIZE_IN[1], 3.3 * len(targets) + 1.0)
    figure = new_figure((SLIDE_SIZE_IN[0], height))
    with style():
        axes = figure.subplots(len(targets), 1, sharex=True, squeeze=False)[:, 0]
        for i, (target, stem, ax) in enumerate(zip(targets, stems, axes, strict=True)):
            ylabel, scale = _axis_title(target)
            x = frontier["cost"].to_numpy(dtype=float)
            mean = frontier[f"{stem}_mean"].to_numpy(dtype=float) * scale
            low = frontier[f"{stem}_ci_low"].to_numpy(dtype=float) * scale
            high = frontier[f"{stem}_ci_high"].to_numpy(dtype=float) * scale
            if _is_share(str(target["kpi"])):  # a t interval can pass 0 or 100 %; a share cannot
                low, high = np.clip(low, 0.0, 100.0), np.clip(high, 0.0, 100.0)
            feasible = frontier["feasible"].to_numpy(dtype=bool)
            if periods:
                index = {p: k for k, p in enumerate(periods)}
                colors = [PALETTE[index[int(p)] % len(PALETTE)] for p in frontier["period"]]
            else:
                colors = [PALETTE[0]] * len(frontier)
            shown = np.isfinite(low) & np.isfinite(high) & np.isfinite(mean)
            bars = ax.errorbar(
                x[shown],
                mean[shown],
                yerr=np.vstack([mean[shown] - low[shown], high[shown] - mean[shown]]),
                fmt="none",
                ecolor="#777777",
                elinewidth=1.2,
                capsize=3,
                zorder=2,
            )
            for artist in bars.get_children():
                artist.set_gid(f"ci:{i}")
            yes = ax.scatter(
                x[feasible],
                mean[feasible],
                c=[c for c, f in zip(colors, feasible, strict=True) if f],
                s=60,
                edgecolors="black",
                linewidths=0.6,
                zorder=3,
            )
            yes.set_gid(f"feasible:{i}")
            no = ax.scatter(
                x[~feasible],
                mean[~feasible],
                facecolors="white",
                edgecolors=[c for c, f in zip(colors, feasible, strict=True) if not f],
                s=60,
                linewidths=1.6,
                zorder=3,
            )
            no.set_gid(f"infeasible:{i}")
            line = ax.axhline(
                float(target["value"]) * scale, color=TARGET_COLOR, linestyle="--", linewidth=2
            )
            line.set_gid(f"target:{i}")
            for at in np.flatnonzero(frontier["recommended"].to_numpy(dtype=bool)):
                row = frontier.iloc[int(at)]
                y = float(row[f"{stem}_mean"]) * scale
                (star,) = ax.plot(
                    [float(row["cost"])],
                    [y],
                    marker="*",
                    markersize=22,
                    color=TARGET_COLOR if not periods else colors[int(at)],
                    markeredgecolor="black",
                    linestyle="none",
                    zorder=4,
                )
                star.set_gid(f"recommended:{i}")
                if not periods:
                    better_up = target.get("direction") == "higher"
                    ax.annotate(
                        _levels_text(row.to_dict(), roles),
                        xy=(float(row["cost"]), y),
                        xytext=(-16, -30 if better_up else 20),
                        textcoords="offset points",
                        ha="right",
                        fontsize=12,
                        fontweight="bold",
                        arrowprops={"arrowstyle": "-", "color": "#333333"},
                    )
            ax.set_ylabel("\n".join(_wrap(ylabel, 28)))
            ax.set_title(str(target["text"]) if i else (title or str(target["text"])))
            if scale == 100.0:
                percent_axis(ax)
        axes[-1].set_xlabel(cost_label)
        costs = frontier["cost"].to_numpy(dtype=float)
        if np.allclose(costs, np.round(costs)) and np.ptp(costs) < 50:
            axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
        handles: list[Any] = [
            Line2D([], [], color=TARGET_COLOR, linestyle="--", linewidth=2, label="Target"),
            Line2D(
                [], [], marker="o", linestyle="none", markerfacecolor=PALETTE[0],
                markeredgecolor="black", markersize=8, label="Meets every target",
            ),
            Line2D(
                [], [], marker="o", linestyle="none", markerfacecolor="white",
                markeredgecolor=PALETTE[0], markersize=8, label="Misses or not shown",
            ),
            Line2D(
                [], [], marker="*", linestyle="none", markerfacecolor=TARGET_COLOR,
                markeredgecolor="black", markersize=16, label="Recommended",
            ),
        ]  # fmt: skip
        if periods:
            handles += [
                Patch(color=PALETTE[k % len(PALETTE)], label=f"Period {p}")
                for k, p in enumerate(periods)
            ]
        axes[0].legend(
            handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0
        )
    return figure


def _target_words(target: Mapping[str, Any]) -> str:
    """``Wait to budget release, p90 (days) ≤ 90``: the KPI's short label, sign and value."""
    kpi = str(target["kpi"])
    sign = "≥" if target.get("direction") == "higher" else "≤"
    value = float(target["value"]) * kpi_scale(kpi)
    shown = f"{value:g}%" if kpi_scale(kpi) == 100.0 else f"{value:g}"
    return f"{kpi_short_label(kpi)} {sign} {shown}"


def _is_share(kpi: str) -> bool:
    """A share of people (``share_seen_within_8w``), which lies between 0 and 100 %."""
    return kpi.startswith("share_") or "_share_within_" in kpi


def _wrap(text: str, width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line] if line else lines


def _date(value: Any) -> np.datetime64:
    if isinstance(value, dt.date):
        return np.datetime64(value.isoformat(), "D")
    return np.datetime64(str(value)[:10], "D")


def plot_staffing_over_time(
    staffing: pd.DataFrame,
    *,
    roles: Sequence[str],
    targets: Sequence[Mapping[str, Any]],
    measure: str = "headcount",
    title: str = "Staffing plan over time, against demand",
) -> Figure:
    """A plan over time: each role's level per period, the demand, each target's verdict.

    Parameters
    ----------
    staffing
        ``staffing_plan.parquet``: ``period``, ``start_date``, ``end_date`` (its last day),
        a column per role, ``referred_mean`` and per target ``<stem>_status`` and
        ``<stem>_mean``.
    roles
        The roles planned.
    targets
        The plan's targets (``text``, ``kpi``), in the frame's column order.
    measure
        ``headcount`` or ``fte`` (the left axis label).
    title
        The top panel's title.

    Returns
    -------
    Figure
        Top: each role's level as a step line ``gid="level:<role>"`` (left axis) and the mean
        people referred per period ``gid="demand"`` (dotted, right axis); below it, a row per
        target with a cell per period coloured by the whole plan's verdict
        ``gid="verdict:<i>:<period>"``, the estimate written in it.
    """
    if staffing.empty:
        raise ValueError("staffing plan frame has no periods")
    stems = column_stems(targets)
    starts = np.array([_date(v) for v in staffing["start_date"]])
    ends = np.array([_date(v) for v in staffing["end_date"]]) + np.timedelta64(1, "D")
    edges = np.append(starts, ends[-1])
    colors = role_colors(roles)
    rows = max(1, len(targets))
    figure = new_figure((SLIDE_SIZE_IN[0], SLIDE_SIZE_IN[1] + 0.55 * rows))
    with style():
        top, bottom = figure.subplots(
            2, 1, sharex=True, height_ratios=(5.0, 0.45 * rows + 0.4), gridspec_kw={"hspace": 0.05}
        )
        for role in roles:
            levels = staffing[role].to_numpy(dtype=float)
            (line,) = top.step(
                edges,
                np.append(levels, levels[-1]),
                where="post",
                color=colors[role],
                linewidth=2.6,
                label=f"{role} ({measure})",
            )
            line.set_gid(f"level:{role}")
        unit = "whole-time equivalents" if measure == "fte" else "people"
        top.set_ylabel(f"Staff ({unit})")
        top.set_ylim(bottom=0, top=1.15 * float(np.nanmax(staffing[list(roles)].to_numpy(float))))
        if measure == "headcount":
            top.yaxis.set_major_locator(MaxNLocator(integer=True))
        top.set_title(title)
        demand_ax = top.twinx()
        demand = staffing["referred_mean"].to_numpy(dtype=float)
        middle = starts + (ends - starts) / 2
        (dline,) = demand_ax.plot(
            middle,
            demand,
            color="#555555",
            linestyle=":",
            marker="o",
            linewidth=2,
            label="People referred per period (mean, right axis)",
        )
        dline.set_gid("demand")
        demand_ax.set_ylim(bottom=0, top=1.15 * float(np.nanmax(demand)))
        demand_ax.set_ylabel("People referred per period")
        demand_ax.grid(False)
        demand_ax.spines["right"].set_visible(True)
        handles = [*top.get_legend_handles_labels()[0], dline]
        top.legend(
            handles=handles,
            labels=[h.get_label() for h in handles],
            loc="upper left",
            frameon=True,
            framealpha=0.9,
            edgecolor="white",
        )
        for i, (target, stem) in enumerate(zip(targets, stems, strict=True)):
            scale = kpi_scale(str(target["kpi"]))
            y = rows - 1 - i
            for k, row in enumerate(staffing.to_dict(orient="records")):
                status = str(row[f"{stem}_status"])
                value = float(row[f"{stem}_mean"]) * scale
                width = ends[k] - starts[k]
                cell = bottom.barh(
                    y,
                    width,
                    left=starts[k],
                    height=0.8,
                    color=STATUS_COLORS.get(status, STATUS_COLORS["undecided"]),
                    edgecolor="white",
                )
                cell.patches[0].set_gid(f"verdict:{i}:{int(row['period'])}")
                shown = f"{value:.0f}%" if scale == 100.0 else f"{value:,.3g}"
                bottom.text(
                    starts[k] + width / 2,
                    y,
                    shown if math.isfinite(value) else "n/a",
                    ha="center",
                    va="center",
                    color="white",
                    fontsize=11,
                    fontweight="bold",
                )
        bottom.set_yticks(
            list(range(rows)), ["\n".join(_wrap(_target_words(t), 26)) for t in targets][::-1]
        )
        bottom.set_ylim(-0.5, rows - 0.5)
        bottom.grid(False)
        bottom.tick_params(axis="y", length=0, labelsize=10)
        for spine in ("left", "bottom"):
            bottom.spines[spine].set_visible(False)
        bottom.set_title(
            "Whole-plan check: green met, orange missed, grey not shown; the period's mean",
            fontsize=11,
            fontweight="normal",
            color="#555555",
            pad=4,
        )
        date_axis(bottom)
        bottom.set_xlim(edges[0], edges[-1])
    return figure
