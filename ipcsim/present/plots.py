"""Figures of run and experiment outputs: one function per plot, matplotlib only.

Every plotting function takes data (DataFrames or dicts, never paths) and an optional
``ax``, draws on it (or on a new slide-sized figure when ``ax`` is ``None``) and returns the
Axes, so figures can be composed from Python. Nothing here reads files, prints or shows a
window: figures are built on :class:`matplotlib.figure.Figure` with the Agg canvas, never
through ``pyplot``, so no global figure state is created.

Run folders (``ipcsim run``):

- :func:`plot_throughput`: plans signed off and budgets released per month or quarter, with an
  optional target trajectory;
- :func:`plot_waits`: the distribution of waits per stage (violins) with the 90th percentile
  marked;
- :func:`plot_utilisation_heatmap`: utilisation by role x month;
- :func:`plot_queues`: people waiting for each role at month end;
- :func:`plot_cost_per_person`: staff cost per person stacked by role, with break-even or
  reference lines.

Experiment folders (``ipcsim experiment``):

- :func:`plot_capacity_whatif`: a KPI's mean and 95 % CI against a factor, a target line and
  the smallest level that meets it;
- :func:`plot_throughput_fan`: median and 50 %/90 % bands of monthly or quarterly throughput
  across replications, with an optional target trajectory;
- :func:`plot_tornado`: sensitivity indices, largest first.

The pathway diagram lives in :mod:`ipcsim.present.pathway_diagram`.

Notes
-----
Artists that carry a figure's data have a ``gid`` (e.g. ``"mean"``, ``"ci-band"``,
``"target"``, ``"smallest-level"``), so tests and callers can find them and check that what is
drawn equals the data.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ipcsim.analysis.labels import (
    LABELS,
    Direction,
    display_label,
    factor_label,
    kpi_axis_label,
    kpi_direction,
    kpi_label,
    kpi_scale,
    pretty_name,
)
from ipcsim.pathway import WAITS

__all__ = [
    "PALETTE",
    "SLIDE_SIZE_IN",
    "STYLE_RC",
    "cost_breakdown",
    "factor_label",
    "kpi_direction",
    "kpi_label",
    "linear_trajectory",
    "new_axes",
    "new_figure",
    "plot_capacity_whatif",
    "plot_cost_per_person",
    "plot_queues",
    "plot_throughput",
    "plot_throughput_fan",
    "plot_tornado",
    "plot_utilisation_heatmap",
    "plot_waits",
    "role_colors",
    "select_site",
    "smallest_level_meeting",
    "stage_waits",
    "style",
]

SLIDE_SIZE_IN = (11.0, 6.2)
"""Default figure size, inches: about 16:9, readable on a slide at 150 dpi."""

PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # green
    "#CC79A7",  # pink
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#8C6D31",  # brown
    "#332288",  # indigo
    "#999999",  # grey
)
"""Colour-blind safe colours (Okabe-Ito, extended), used in this order everywhere."""

TARGET_COLOR = "#C0392B"
"""Colour of target lines and trajectories."""

STYLE_RC: Mapping[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 13,
    "axes.titlesize": 16,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlepad": 12,
    "axes.labelsize": 14,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.8,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "legend.fontsize": 12,
    "legend.frameon": False,
    "lines.linewidth": 2.2,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "svg.fonttype": "path",
}
"""matplotlib settings every figure is drawn with (large type for slides, light grid)."""

TOTAL_SITE = "all"
"""``site`` of the rows that total all sites in a multi-site run (as in :mod:`ipcsim.run`)."""

Period = Literal["month", "quarter"]


# --------------------------------------------------------------------------- style
@contextmanager
def style() -> Iterator[None]:
    """Draw inside this context to get the package's figure style (:data:`STYLE_RC`)."""
    with matplotlib.rc_context(dict(STYLE_RC)):  # type: ignore[arg-type]
        yield


def new_figure(figsize: tuple[float, float] = SLIDE_SIZE_IN) -> Figure:
    """A fresh figure on the Agg canvas (no pyplot, no window), in the package style.

    Parameters
    ----------
    figsize
        Figure size, inches.

    Returns
    -------
    Figure
        With constrained layout; save it with ``figure.savefig``.
    """
    with style():
        figure = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def new_axes(figsize: tuple[float, float] = SLIDE_SIZE_IN) -> Axes:
    """A fresh Axes on its own Agg-backed figure (no pyplot state).

    Parameters
    ----------
    figsize
        Figure size, inches.

    Returns
    -------
    Axes
        The figure's only Axes; ``ax.figure`` can be saved with ``savefig``.
    """
    figure = new_figure(figsize)
    with style():
        return figure.add_subplot()


def _axes(ax: Axes | None, figsize: tuple[float, float] = SLIDE_SIZE_IN) -> Axes:
    return new_axes(figsize) if ax is None else ax


def role_colors(roles: Sequence[str]) -> dict[str, str]:
    """A stable colour per role: roles sorted by name take :data:`PALETTE` in order.

    Parameters
    ----------
    roles
        Role names (any order; duplicates ignored).

    Returns
    -------
    dict
        Role -> hex colour; the same role gets the same colour whatever else is in ``roles``
        as long as the sorted set is the same, so every figure of one scenario agrees.
    """
    ordered = sorted(set(roles))
    return {role: PALETTE[i % len(PALETTE)] for i, role in enumerate(ordered)}


def _months(values: Sequence[Any] | pd.Series | pd.Index) -> np.ndarray:
    """ISO date strings (or dates) as numpy datetime64[D]."""
    return pd.to_datetime(pd.Series(list(values))).to_numpy(dtype="datetime64[D]")


def _date_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _percent_axis(ax: Axes, axis: Literal["x", "y"] = "y") -> None:
    formatter = FuncFormatter(lambda v, _pos: f"{v:.0f}%")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


def _note(ax: Axes, text: str) -> None:
    """A small grey note under the plot area (sources, definitions)."""
    ax.annotate(
        text,
        xy=(0.0, 0.0),
        xycoords="axes fraction",
        xytext=(0, -52),
        textcoords="offset points",
        ha="left",
        va="top",
        fontsize=10.5,
        color="#555555",
        annotation_clip=False,
    )


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


def _target_values(target: pd.Series | Mapping[Any, float], periods: np.ndarray) -> np.ndarray:
    """Target per period, aligned on period start dates (NaN where not given)."""
    series = pd.Series(target, dtype=float)
    series.index = _months(list(series.index))
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
    periods = _months(grouped.index)
    with style():
        ax = _axes(ax)
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
            values = _target_values(target, periods)
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
            _note(ax, "Hatched: partial quarter at the end of the run.")
    return ax


def stage_waits(
    people: pd.DataFrame, *, stages: Sequence[str] | None = None, horizon_days: float | None = None
) -> dict[str, np.ndarray]:
    """Waits between milestones per stage, days, as :func:`ipcsim.metrics.wait_stats` counts them.

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
    Percentiles interpolate linearly (numpy's default), as in the summary, so the markers
    equal ``summary.json``'s ``waits_days`` values. People still waiting at the horizon are
    not in the distributions.
    """
    waits = stage_waits(people, stages=stages, horizon_days=horizon_days)
    names = list(waits)
    height = max(3.5, 0.62 * len(names) + 1.8)
    with style():
        ax = _axes(ax, (SLIDE_SIZE_IN[0], height))
        rows = np.arange(len(names))[::-1].astype(float)
        p50 = np.full(len(names), np.nan)
        p90 = np.full(len(names), np.nan)
        for i, name in enumerate(names):
            values = waits[name]
            if values.size == 0:
                ax.text(0.5, rows[i], "none reached", va="center", color="#777777", fontsize=11)
                continue
            p50[i] = float(np.quantile(values, 0.5))
            p90[i] = float(np.quantile(values, 0.9))
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
            ax.text(
                p90[i],
                rows[i] + 0.28,
                f" p90 {p90[i]:.0f} d (n={values.size:,})",
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
    months = _months(grouped.index)
    data = 100.0 * grouped.to_numpy(dtype=float).T
    with style():
        ax = _axes(ax, (SLIDE_SIZE_IN[0], max(3.2, 0.55 * len(names) + 2.2)))
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
    months = _months(grouped.index)
    colors = role_colors(names)
    never = [r for r in names if not grouped[f"queue_{r}"].to_numpy().any()]
    drawn = [r for r in names if r not in never] if roles is None else names
    with style():
        ax = _axes(ax)
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
        _date_axis(ax)
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
            _note(ax, f"Nobody waited at any month end for: {never_text}.")
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
        ax = _axes(ax, (SLIDE_SIZE_IN[0], max(3.2, 0.7 * len(costs) + 2.4)))
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


# --------------------------------------------------------------------------- experiments
def smallest_level_meeting(
    levels: Sequence[float] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    target: float,
    *,
    direction: Direction,
) -> float | None:
    """The smallest factor level whose value meets a target.

    Parameters
    ----------
    levels
        Factor levels (any order).
    values
        The KPI at each level (a mean, or a CI bound for a cautious choice); NaN never meets.
    target
        The target value.
    direction
        ``"lower"``: a value meets the target when ``<= target``; ``"higher"``: when
        ``>= target``.

    Returns
    -------
    float or None
        The smallest level that meets the target, ``None`` if none does.
    """
    lv = np.asarray(levels, dtype=float)
    vv = np.asarray(values, dtype=float)
    if lv.shape != vv.shape:
        raise ValueError(f"levels and values differ in length ({lv.size} vs {vv.size})")
    if direction not in ("lower", "higher"):
        raise ValueError(f"direction must be 'lower' or 'higher', got {direction!r}")
    with np.errstate(invalid="ignore"):
        ok = (vv <= target) if direction == "lower" else (vv >= target)
    ok &= np.isfinite(vv)
    return float(lv[ok].min()) if ok.any() else None


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
    """A KPI's mean and 95 % CI band against a factor, a target line and the smallest level
    that meets the target.

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
        (:func:`kpi_direction`).
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
    with style():
        ax = _axes(ax)
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
                    f"{factor_label(o)} = {v:g}"
                    if isinstance(v, int | float)
                    else f"{factor_label(o)} = {v}"
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
        ax.legend(loc="best", title=better.capitalize(), title_fontsize=11)
        if scale == 100.0:
            _percent_axis(ax)
        if criterion == "ci":
            _note(ax, "Star: the smallest level whose whole 95% CI meets the target.")
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
    title
        Axes title (the series, period and site when ``None``).
    ax
        Axes to draw on; a new figure when ``None``.

    Returns
    -------
    Axes
        Lines ``gid="median"`` (x: period start, y: median over replications) and bands
        ``gid="band-90"`` (5th to 95th percentile) and ``gid="band-50"`` (25th to 75th);
        the target ``gid="target"``.

    Notes
    -----
    Quantiles interpolate linearly between replications (numpy's default).
    """
    for column in ("replication", "month", series):
        if column not in timeseries.columns:
            raise ValueError(f"replication timeseries lacks column {column!r}")
    frame = select_site(timeseries, site)
    months = _months(frame["month"])
    keys = _quarter_of_months(months) if period == "quarter" else months
    counts = (
        pd.DataFrame(
            {
                "replication": frame["replication"].to_numpy(),
                "period": keys,
                "value": frame[series].to_numpy(dtype=float),
            }
        )
        .groupby(["period", "replication"], sort=True)["value"]
        .sum()
        .unstack("replication")
    )
    periods = counts.index.to_numpy(dtype="datetime64[D]")
    values = counts.to_numpy(dtype=float)
    q = np.nanquantile(values, [0.05, 0.25, 0.5, 0.75, 0.95], axis=1)
    reps = counts.shape[1]
    with style():
        ax = _axes(ax)
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
            label=f"Median of {reps} replications",
        )
        median.set_gid("median")
        if target is not None:
            (line,) = ax.plot(
                periods,
                _target_values(target, periods),
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
            _date_axis(ax)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(f"{display_label(series)} per {period}")
        ax.set_xlabel(f"{period.capitalize()} starting")
        where = f"site {site}" if site is not None else "all sites"
        ax.set_title(title or f"{display_label(series)} per {period} ({where})")
        ax.legend(loc="upper left")
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
        ax = _axes(ax, (SLIDE_SIZE_IN[0], max(3.5, 0.5 * len(rows) + 2.0)))
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
