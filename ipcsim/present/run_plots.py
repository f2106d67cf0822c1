"""Figures of a run folder (``ipcsim run``): one function per plot, matplotlib only.

Every plotting function takes data (DataFrames or dicts, never paths) and an optional
``ax``, draws on it (or on a new slide-sized figure when ``ax`` is ``None``) and returns the
Axes, so figures can be composed from Python. Nothing here reads files, prints or shows a
window (see :mod:`ipcsim.present.style`).

- :func:`plot_throughput`: plans signed off and budgets released per month or quarter, with an
  optional target trajectory;
- :func:`plot_waits`: the distribution of waits per stage (violins) with the 90th percentile
  marked;
- :func:`plot_waits_by_referral_month`: how the wait of each month's referrals evolved;
- :func:`plot_utilisation_heatmap`: utilisation by role x month;
- :func:`plot_queues`: people waiting for each role at month end;
- :func:`plot_cost_per_person`: staff cost per person stacked by role, with break-even or
  reference lines.

Notes
-----
Artists that carry a figure's data have a ``gid`` (e.g. ``"target"``, ``"p90"``), so tests and
callers can find them and check that what is drawn equals the data.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ipcsim.analysis.labels import LABELS, display_label, pretty_name
from ipcsim.analysis.waits import censored_waits, wait_summary
from ipcsim.pathway import WAITS
from ipcsim.present.style import (
    PALETTE,
    SLIDE_SIZE_IN,
    TARGET_COLOR,
    add_note,
    axes_or_new,
    date_axis,
    month_dates,
    new_figure,
    role_colors,
    style,
)

__all__ = [
    "TOTAL_SITE",
    "cost_breakdown",
    "plot_cost_per_person",
    "plot_queues",
    "plot_throughput",
    "plot_utilisation_heatmap",
    "plot_waits",
    "plot_waits_by_referral_month",
    "select_site",
    "stage_waits",
    "target_per_period",
]

TOTAL_SITE = "all"
"""``site`` of the rows that total all sites in a multi-site run (as in :mod:`ipcsim.run`)."""


# --------------------------------------------------------------------------- run plots
def select_site(frame: pd.DataFrame, site: str | None) -> pd.DataFrame:
    """The rows of one site, or of all sites together.

    Parameters
    ----------
    frame
        A frame with a ``site`` column (timeseries), or without one (taken whole).
    site
        A site name; ``None`` for all sites: the rows that total them (``site`` equal to
        :data:`TOTAL_SITE`) when the frame has them, else every row (to be added up).

    Raises
    ------
    ValueError
        If ``site`` has no rows.
    """
    if "site" not in frame.columns:
        if site is not None:
            raise ValueError(f"no 'site' column to select site {site!r} from")
        return frame
    sites = frame["site"].astype(str)
    if site is None:
        return frame[sites == TOTAL_SITE] if (sites == TOTAL_SITE).any() else frame
    chosen = frame[sites == site]
    if chosen.empty:
        known = ", ".join(sorted(set(sites)))
        raise ValueError(f"no timeseries rows for site {site!r} (has: {known})")
    return chosen


def _period_frame(frame: pd.DataFrame) -> tuple[str, str]:
    """The date column of a throughput frame and its period."""
    if "month" in frame.columns:
        return "month", "month"
    if "quarter_start" in frame.columns:
        return "quarter_start", "quarter"
    raise ValueError(
        "throughput frame needs a 'month' column (timeseries.parquet) or a 'quarter_start' "
        "column (summary.json throughput_per_quarter)"
    )


def target_per_period(target: pd.Series | Mapping[Any, float], periods: np.ndarray) -> np.ndarray:
    """A target trajectory aligned on period start dates.

    Parameters
    ----------
    target
        Target per period, people per period, indexed by period start (ISO string or date).
    periods
        Period start dates, ``datetime64[D]``.

    Returns
    -------
    ndarray
        The target of each period in ``periods``; NaN where ``target`` gives none.
    """
    series = pd.Series(target, dtype=float)
    series.index = month_dates(list(series.index))
    return series.reindex(periods).to_numpy(dtype=float)


def plot_throughput(
    frame: pd.DataFrame,
    *,
    series: Sequence[str] = ("plans_signed_off", "budgets_released"),
    target: pd.Series | Mapping[Any, float] | None = None,
    target_label: str = "Target trajectory",
    site: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Plans signed off and budgets released in each month or quarter (grouped bars).

    Parameters
    ----------
    frame
        Either ``timeseries.parquet`` (one row per month, column ``month``) or the summary's
        ``throughput_per_quarter`` as a DataFrame (column ``quarter_start``, and ``days``,
        the quarter's length, to mark a partial last quarter).
    series
        Count columns to draw, people per period.
    target
        Optional target trajectory for the first series, people per period, indexed by
        period start date (ISO string or date); drawn as a dashed step line.
    target_label
        Legend label of the target.
    site
        One site of a multi-site timeseries; ``None`` for all sites (see :func:`select_site`).
    ax
        Axes to draw on; a new slide-sized figure when ``None``.

    Returns
    -------
    Axes
        Each bar (patch) carries ``gid`` = its series name; the target line ``gid="target"``.
    """
    frame = select_site(frame, site)
    date_col, period = _period_frame(frame)
    missing = [s for s in series if s not in frame.columns]
    if missing:
        raise ValueError(f"throughput frame lacks column(s) {', '.join(missing)}")
    grouped = frame.groupby(date_col, sort=True)[list(series)].sum()
    periods = month_dates(grouped.index)
    with style():
        ax = axes_or_new(ax)
        x = np.arange(len(periods))
        width = 0.8 / max(len(series), 1)
        partial = np.zeros(len(periods), dtype=bool)
        if period == "quarter" and "days" in frame.columns:
            days = frame.groupby(date_col, sort=True)["days"].first().to_numpy(dtype=float)
            partial = days < 85.0
        for i, name in enumerate(series):
            values = grouped[name].to_numpy(dtype=float)
            bars = ax.bar(
                x + (i - (len(series) - 1) / 2) * width,
                values,
                width=width * 0.95,
                color=PALETTE[i % len(PALETTE)],
                label=display_label(name),
            )
            for bar, is_partial in zip(bars, partial, strict=True):
                bar.set_gid(name)
                if is_partial:
                    bar.set_hatch("//")
                    bar.set_alpha(0.6)
        if target is not None:
            values = target_per_period(target, periods)
            (line,) = ax.step(
                np.r_[x - 0.5, x[-1] + 0.5] if len(x) else x,
                np.r_[values, values[-1:]] if len(x) else values,
                where="post",
                color=TARGET_COLOR,
                linestyle="--",
                label=target_label,
            )
            line.set_gid("target")
        step = max(1, len(periods) // 12)
        ax.set_xticks(x[::step])
        fmt = "%b %Y"
        ax.set_xticklabels([pd.Timestamp(p).strftime(fmt) for p in periods[::step]], rotation=0)
        if len(periods) > 8:
            for label in ax.get_xticklabels():
                label.set_rotation(45)
                label.set_horizontalalignment("right")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(f"People per {period}")
        ax.set_xlabel(f"{period.capitalize()} starting")
        ax.set_title(f"Throughput per {period}")
        ax.legend(loc="upper left")
        if partial.any():
            add_note(ax, "Hatched: partial quarter at the end of the run.")
    return ax


def stage_waits(
    people: pd.DataFrame, *, stages: Sequence[str] | None = None, horizon_days: float | None = None
) -> dict[str, np.ndarray]:
    """Waits between milestones per stage, days, as the run summary counts them.

    The same people and the same milestones as :func:`~ipcsim.analysis.metrics.wait_stats`.

    Parameters
    ----------
    people
        People frame.
    stages
        Names of :data:`ipcsim.pathway.WAITS` (all, in order, when ``None``).
    horizon_days
        If given, milestones dated after it count as not reached (as in the summary).

    Returns
    -------
    dict
        Stage -> array of waits in days of the people who reached both milestones.
    """
    names = list(WAITS) if stages is None else list(stages)
    unknown = [s for s in names if s not in WAITS]
    if unknown:
        raise ValueError(f"unknown stage(s) {', '.join(unknown)}; known: {', '.join(WAITS)}")
    out: dict[str, np.ndarray] = {}
    for name in names:
        first, second = WAITS[name]
        a = pd.to_numeric(people[first]).to_numpy(dtype=float, na_value=np.nan)
        b = pd.to_numeric(people[second]).to_numpy(dtype=float, na_value=np.nan)
        reached = np.isfinite(a) & np.isfinite(b)
        if horizon_days is not None:
            with np.errstate(invalid="ignore"):
                reached &= b <= horizon_days
        out[name] = b[reached] - a[reached]
    return out


def plot_waits(
    people: pd.DataFrame,
    *,
    stages: Sequence[str] | None = None,
    horizon_days: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Distribution of waits per stage (horizontal violins), median and 90th percentile marked.

    Parameters
    ----------
    people
        People frame (milestone columns, float days).
    stages
        Stages of :data:`ipcsim.pathway.WAITS` to show, top to bottom (all when ``None``).
    horizon_days
        Leave out milestones dated after the horizon, as the summary does.
    ax
        Axes to draw on; a new figure when ``None``.

    Returns
    -------
    Axes
        The 90th percentile markers are one line with ``gid="p90"`` (x: p90 in days, y: row,
        in the order of ``stages``; NaN for a stage nobody reached); the medians
        ``gid="p50"``.

    Notes
    -----
    The violins show completed waits; the markers are the product-limit median and 90th
    percentile that count the people still waiting (:mod:`ipcsim.analysis.waits`), so they
    equal ``summary.json``'s ``waits_days`` ``p50`` and ``p90`` and may lie beyond the
    violin. A percentile the run cannot estimate yet (too many still waiting) has no marker.
    """
    waits = stage_waits(people, stages=stages, horizon_days=horizon_days)
    names = list(waits)
    end = horizon_days if horizon_days is not None else _last_day(people)
    estimates = {
        name: wait_summary(censored_waits(people, name, horizon_days=end), horizon_days=end)
        for name in names
    }
    height = max(3.5, 0.62 * len(names) + 1.8)
    with style():
        ax = axes_or_new(ax, (SLIDE_SIZE_IN[0], height))
        rows = np.arange(len(names))[::-1].astype(float)
        p50 = np.full(len(names), np.nan)
        p90 = np.full(len(names), np.nan)
        for i, name in enumerate(names):
            values = waits[name]
            if values.size == 0:
                ax.text(0.5, rows[i], "none reached", va="center", color="#777777", fontsize=11)
                continue
            p50[i] = np.nan if estimates[name]["p50"] is None else estimates[name]["p50"]
            p90[i] = np.nan if estimates[name]["p90"] is None else estimates[name]["p90"]
            if values.size > 1 and np.ptp(values) > 0:
                parts = ax.violinplot(
                    values,
                    positions=[rows[i]],
                    orientation="horizontal",
                    widths=0.8,
                    showextrema=False,
                )
                for body in parts["bodies"]:  # type: ignore[attr-defined]
                    body.set_facecolor(PALETTE[0])
                    body.set_edgecolor(PALETTE[0])
                    body.set_alpha(0.35)
            else:
                ax.plot([values.min()] * 2, [rows[i] - 0.3, rows[i] + 0.3], color=PALETTE[0])
            waiting = int(estimates[name]["still_waiting"])
            text = f" p90 {p90[i]:.0f} d" if np.isfinite(p90[i]) else " p90 beyond the run"
            text += f" (n={values.size:,}" + (f", {waiting:,} waiting)" if waiting else ")")
            ax.text(
                p90[i] if np.isfinite(p90[i]) else float(values.max()),
                rows[i] + 0.28,
                text,
                va="bottom",
                ha="left",
                fontsize=10.5,
                color="#333333",
            )
        (median_line,) = ax.plot(
            p50,
            rows,
            linestyle="none",
            marker="|",
            markersize=18,
            mew=2.5,
            color="#222222",
            label="Median",
        )
        median_line.set_gid("p50")
        (p90_line,) = ax.plot(
            p90,
            rows,
            linestyle="none",
            marker="D",
            markersize=8,
            color=TARGET_COLOR,
            label="90th percentile",
        )
        p90_line.set_gid("p90")
        ax.set_yticks(rows)
        ax.set_yticklabels([LABELS.get(n, n) for n in names])
        ax.set_xlim(left=0)
        ax.set_xlabel("Wait (days)")
        ax.set_title("Waiting time by stage")
        ax.grid(axis="y", visible=False)
        ax.legend(loc="lower right")
    return ax


def _last_day(people: pd.DataFrame) -> float:
    """The latest milestone or end day in ``people`` (a horizon when none is given)."""
    columns = [c for c in (*{c for pair in WAITS.values() for c in pair}, "end_day") if c in people]
    days = people[columns].to_numpy(dtype=float, na_value=np.nan)
    return float(np.nanmax(days)) if np.isfinite(days).any() else 0.0


def plot_waits_by_referral_month(
    timeseries: pd.DataFrame,
    *,
    stage: str = "referral_to_first_conversation",
    site: str | None = None,
    figure: Any = None,
) -> Any:
    """How the wait of the people who started it in each month evolved (two panels).

    Parameters
    ----------
    timeseries
        ``timeseries.parquet`` with the wait's columns by month of referral
        (``wait_<stage>_p50``, ``wait_<stage>_still_waiting``,
        ``wait_<stage>_share_within_<N>w``; see
        :func:`ipcsim.analysis.metrics.with_waits_by_referral_month`).
    stage
        The wait (a name of :data:`ipcsim.pathway.WAITS` with a waiting standard).
    site
        One site; ``None`` for all sites (the total rows; a multi-site run without them is an
        error).
    figure
        Figure to draw on; a new one when ``None``.

    Returns
    -------
    Figure
        Top: the median wait of each month's referrals, days, counting those still waiting
        (line ``gid="p50"``; no point where not yet estimable), and how many of them are still
        waiting (bars, each ``gid="still_waiting"``, right axis). Bottom: the share seen within each
        standard (lines ``gid="within_<N>w"``, percent; only months whose people could all
        be followed that long).
    """
    timeseries = select_site(timeseries, site)
    prefix = f"wait_{stage}_"
    if f"{prefix}p50" not in timeseries.columns:
        raise ValueError(f"timeseries has no waits by month of referral for {stage!r}")
    series = timeseries.sort_values("month")
    months = month_dates(series["month"])
    within = [c for c in series.columns if c.startswith(f"{prefix}share_within_")]
    with style():
        figure = figure if figure is not None else new_figure((SLIDE_SIZE_IN[0], 7.0))
        top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
        count = top.twinx()
        bars = count.bar(
            months,
            series[f"{prefix}still_waiting"].to_numpy(dtype=float),
            width=20,
            color="#bbbbbb",
            alpha=0.6,
            label="Still waiting at the end of the run",
        )
        for patch in bars:
            patch.set_gid("still_waiting")
        count.set_ylabel("Still waiting (people)")
        count.grid(visible=False)
        (line,) = top.plot(
            months,
            series[f"{prefix}p50"].to_numpy(dtype=float),
            marker="o",
            color=PALETTE[0],
            label="Median wait, counting those still waiting",
        )
        line.set_gid("p50")
        top.set_zorder(count.get_zorder() + 1)
        top.patch.set_visible(False)
        top.set_ylim(bottom=0)
        top.set_ylabel("Median wait (days)")
        top.set_title(f"{LABELS.get(stage, stage)}: by month of referral")
        top.legend(
            [line, bars], [line.get_label(), bars.get_label()], loc="upper left", fontsize=10
        )
        for i, column in enumerate(within):
            weeks = column.removeprefix(f"{prefix}share_within_")
            (share,) = bottom.plot(
                months,
                100.0 * series[column].to_numpy(dtype=float),
                marker="o",
                color=PALETTE[(i + 1) % len(PALETTE)],
                label=f"Within {weeks.removesuffix('w')} weeks",
            )
            share.set_gid(f"within_{weeks}")
        bottom.set_ylim(0, 105)
        bottom.set_ylabel("Seen in time (%)")
        bottom.set_xlabel("Month of referral")
        if within:
            bottom.legend(loc="lower left", fontsize=10)
        date_axis(bottom)
    return figure


def _role_columns(frame: pd.DataFrame, prefix: str, roles: Sequence[str] | None) -> list[str]:
    found = [c.removeprefix(prefix) for c in frame.columns if c.startswith(prefix)]
    if roles is None:
        return sorted(found)
    missing = [r for r in roles if r not in found]
    if missing:
        raise ValueError(f"timeseries lacks {prefix}<role> column(s) for {', '.join(missing)}")
    return list(roles)


def plot_utilisation_heatmap(
    timeseries: pd.DataFrame,
    *,
    roles: Sequence[str] | None = None,
    site: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Utilisation by role x month as a heatmap, percent of the IPC hours available.

    Parameters
    ----------
    timeseries
        ``timeseries.parquet`` (columns ``month`` and ``utilisation_<role>``, fractions).
    roles
        Roles to show, top to bottom (all with a column, sorted, when ``None``).
    site
        One site; ``None`` for all sites: the total rows of a multi-site run, else the mean
        over the rows of each month (see :func:`select_site`).
    ax
        Axes to draw on; a new figure when ``None``.

    Returns
    -------
    Axes
        The image (``gid="utilisation"``) holds percent values, rows in ``roles`` order,
        columns in month order; NaN (unlimited roles) is drawn grey.
    """
    timeseries = select_site(timeseries, site)
    names = _role_columns(timeseries, "utilisation_", roles)
    columns = [f"utilisation_{r}" for r in names]
    grouped = timeseries.groupby("month", sort=True)[columns].mean()
    months = month_dates(grouped.index)
    data = 100.0 * grouped.to_numpy(dtype=float).T
    with style():
        ax = axes_or_new(ax, (SLIDE_SIZE_IN[0], max(3.2, 0.55 * len(names) + 2.2)))
        finite = data[np.isfinite(data)]
        vmax = max(100.0, float(finite.max())) if finite.size else 100.0
        cmap = matplotlib.colormaps["YlOrRd"].with_extremes(bad="#eeeeee")
        image = ax.imshow(
            np.ma.masked_invalid(data),
            aspect="auto",
            cmap=cmap,
            vmin=0.0,
            vmax=vmax,
            interpolation="nearest",
        )
        image.set_gid("utilisation")
        if data.size <= 400:
            for (i, j), value in np.ndenumerate(data):
                if math.isfinite(value):
                    ax.text(
                        j,
                        i,
                        f"{value:.0f}",
                        ha="center",
                        va="center",
                        fontsize=8.5,
                        color="white" if value > 0.6 * vmax else "#333333",
                    )
        ax.set_yticks(np.arange(len(names)))
        ax.set_yticklabels([pretty_name(r) for r in names])
        step = max(1, len(months) // 12)
        ax.set_xticks(np.arange(len(months))[::step])
        ax.set_xticklabels([pd.Timestamp(m).strftime("%b %Y") for m in months[::step]])
        for label in ax.get_xticklabels():
            label.set_rotation(45)
            label.set_horizontalalignment("right")
        ax.grid(False)
        ax.set_xlabel("Month")
        ax.set_title("Staff utilisation by role and month")
        bar = ax.figure.colorbar(image, ax=ax, pad=0.01, fraction=0.04)
        bar.set_label("Utilisation (% of IPC hours available)")
    return ax


def plot_queues(
    timeseries: pd.DataFrame,
    *,
    roles: Sequence[str] | None = None,
    site: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """People waiting for each role at the end of each month (lines).

    Parameters
    ----------
    timeseries
        ``timeseries.parquet`` (columns ``month`` and ``queue_<role>``, people).
    roles
        Roles to show; when ``None``, every role with a column that had a queue at some month
        end (sorted), the others named in a note.
    site
        One site; ``None`` for all sites (the total rows, or the sum of the sites' rows).
    ax
        Axes to draw on; a new figure when ``None``.

    Returns
    -------
    Axes
        One line per role drawn with ``gid="queue_<role>"``: x month start, y people waiting
        at the end of that month.
    """
    timeseries = select_site(timeseries, site)
    names = _role_columns(timeseries, "queue_", roles)
    grouped = timeseries.groupby("month", sort=True)[[f"queue_{r}" for r in names]].sum()
    months = month_dates(grouped.index)
    colors = role_colors(names)
    never = [r for r in names if not grouped[f"queue_{r}"].to_numpy().any()]
    drawn = [r for r in names if r not in never] if roles is None else names
    with style():
        ax = axes_or_new(ax)
        for role in drawn:
            (line,) = ax.plot(
                months,
                grouped[f"queue_{role}"].to_numpy(dtype=float),
                marker="o",
                markersize=4,
                color=colors[role],
                label=pretty_name(role),
            )
            line.set_gid(f"queue_{role}")
        date_axis(ax)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("People waiting at month end")
        ax.set_xlabel("Month")
        ax.set_title("Queues for staff time")
        if drawn:
            ax.legend(loc="upper left", ncols=min(3, len(drawn)))
        if grouped.to_numpy().max(initial=0) == 0:
            ax.set_ylim(0, 1)
            ax.text(
                0.5,
                0.5,
                "Nobody waited for staff at any month end",
                transform=ax.transAxes,
                ha="center",
                va="center",
                color="#555555",
            )
        elif never and roles is None:
            never_text = ", ".join(pretty_name(r).lower() for r in never)
            add_note(ax, f"Nobody waited at any month end for: {never_text}.")
    return ax


def cost_breakdown(
    people: pd.DataFrame,
    roles: Sequence[str],
    *,
    by: Literal["cohort", "budget_type"] | None = None,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Mean staff cost per referred person by role, pounds, for all people and per group.

    Parameters
    ----------
    people
        People frame (columns ``cost_<role>_gbp``, and ``cohort`` or ``budget_type``).
    roles
        Roles to break the cost down by.
    by
        Group people by ``cohort`` or by ``budget_type`` (people without a budget form the
        group "No budget"); ``None`` for one row, all people.
    labels
        Display names of groups (e.g. cohort labels from the scenario).

    Returns
    -------
    DataFrame
        Index: ``"All referred"`` then each group (largest first); columns: roles, pounds per
        person (means over the people in the row, including those who left early); plus
        ``people`` (how many).
    """
    columns = [f"cost_{r}_gbp" for r in roles]
    missing = [c for c in columns if c not in people.columns]
    if missing:
        raise ValueError(f"people frame lacks column(s) {', '.join(missing)}")
    rows = {"All referred": people}
    if by is not None:
        keys = people[by].astype(object).where(people[by].astype(object).ne(""), "none")
        keys = keys.fillna("none")
        names = (
            {
                "none": "No budget",
                "direct_payment": "Direct payment",
                "notional": "Notional",
                "third_party": "Third party",
            }
            if by == "budget_type"
            else {}
        )
        names.update(labels or {})
        for key, count in keys.value_counts().items():
            if count:
                rows[names.get(str(key), pretty_name(str(key)))] = people[keys == key]
    out = pd.DataFrame(
        {
            role: [float(frame[f"cost_{role}_gbp"].mean()) for frame in rows.values()]
            for role in roles
        },
        index=list(rows),
    )
    out["people"] = [len(frame) for frame in rows.values()]
    return out


def plot_cost_per_person(
    costs: pd.DataFrame,
    *,
    lines: Mapping[str, float] | None = None,
    title: str = "Staff cost per referred person",
    ax: Axes | None = None,
) -> Axes:
    """Staff cost per person stacked by role (horizontal bars), with break-even lines.

    Parameters
    ----------
    costs
        One row per bar (index: the bar's label), one column per role, pounds per person
        (e.g. :func:`cost_breakdown`); an optional ``people`` column is shown as ``n``.
    lines
        Vertical reference lines, label -> pounds per person (e.g. a break-even cost or the
        evaluation's differential running cost).
    title
        Axes title.
    ax
        Axes to draw on; a new figure when ``None``.

    Returns
    -------
    Axes
        One bar container per role (``gid`` = role) with one bar per row, top to bottom in
        the order of ``costs``; reference lines have ``gid="line:<label>"``.
    """
    roles = [c for c in costs.columns if c != "people"]
    colors = role_colors(roles)
    with style():
        ax = axes_or_new(ax, (SLIDE_SIZE_IN[0], max(3.2, 0.7 * len(costs) + 2.4)))
        y = np.arange(len(costs))[::-1].astype(float)
        left = np.zeros(len(costs))
        for role in roles:
            values = costs[role].fillna(0.0).to_numpy(dtype=float)
            bars = ax.barh(
                y, values, left=left, color=colors[role], label=pretty_name(role), height=0.65
            )
            for bar in bars:
                bar.set_gid(role)
            left = left + values
        for yi, total in zip(y, left, strict=True):
            ax.text(
                total,
                yi,
                f"  £{total:,.0f}",
                va="center",
                ha="left",
                fontsize=12,
                fontweight="bold",
            )
        labels = [textwrap.fill(str(label), 30) for label in costs.index]
        if "people" in costs.columns:
            labels = [
                f"{lab}\n(n={int(n):,})" for lab, n in zip(labels, costs["people"], strict=True)
            ]
        ax.set_yticks(y)
        ax.set_yticklabels(labels)
        ax.grid(axis="y", visible=False)
        styles = ("--", ":", "-.", (0, (5, 1, 1, 1)))
        for i, (label, value) in enumerate((lines or {}).items()):
            line = ax.axvline(
                value,
                color=TARGET_COLOR if i == 0 else "#555555",
                linestyle=styles[i % len(styles)],
                linewidth=1.8,
                label=label,
            )
            line.set_gid(f"line:{label}")
        reach = max([float(left.max(initial=0.0)), *(lines or {}).values()])
        ax.set_xlim(0, reach * 1.18 if reach > 0 else 1)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"£{v:,.0f}"))
        ax.set_xlabel("Staff cost per person (£)")
        ax.set_title(title)
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.14 if len(costs) > 3 else -0.2),
            ncols=min(4, len(roles) + len(lines or {})),
        )
    return ax
