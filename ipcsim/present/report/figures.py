"""The figures of a run or experiment folder: one table of figure kinds, built and saved.

Each figure kind is one row of :data:`RUN_FIGURES` or :data:`EXPERIMENT_FIGURES`: the function
that draws it (from :mod:`ipcsim.present.run_plots`, :mod:`ipcsim.present.experiment_plots`
or :mod:`ipcsim.present.pathway_diagram`), its title and its caption. Titles and captions may
hold ``{fields}`` that the drawing function fills (the KPI drawn, a note that no target was
given), so all the words of the figures are in the two tables.

    folder -> build_figures(folder, kinds, options) -> [FigureSpec]
           -> save_figures(figures, DIR/plots)       (``ipcsim plot``)
           -> figure_data_uri(spec)                   (embedded by the HTML report)
"""

from __future__ import annotations

import base64
import datetime as dt
import io as _io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ipcsim.analysis.labels import LABELS, Direction, factor_label, kpi_direction, kpi_label
from ipcsim.analysis.targets import main_factor
from ipcsim.errors import OutputError
from ipcsim.pathway import WAITS
from ipcsim.present import experiment_plots, run_plots
from ipcsim.present.pathway_diagram import draw_pathway
from ipcsim.present.report.folders import (
    AnyFolder,
    ExperimentFolder,
    Folder,
    PlanFolder,
    ReportError,
    RunFolder,
    manifest_spec,
    replication_timeseries,
)
from ipcsim.present.report.parameters import site_specs
from ipcsim.present.style import SLIDE_SIZE_IN, new_figure, style
from ipcsim.scenario import Scenario

__all__ = [
    "DEFAULT_COST_LINES",
    "EXPERIMENT_FIGURES",
    "EXPERIMENT_KINDS",
    "RUN_FIGURES",
    "RUN_KINDS",
    "Drawn",
    "FigureSpec",
    "PlotOptions",
    "build_figures",
    "default_factor",
    "figure_data_uri",
    "merged_targets",
    "recorded_options",
    "save_figures",
]

DEFAULT_COST_LINES: Mapping[str, float] = {
    "Evaluation's differential running cost, £265 per user (P65)": 265.0,
    "Pays back if 1 in 10 people avoid an admission, £160 (P70)": 1600.67 / 10.0,
}
"""Reference lines of the cost figure, pounds per person (evidence IDs P65 and P70)."""

_NO_TARGET_RUN = (
    " No target trajectory given (the evidence pack has no target numbers, §2.4): add "
    "[[targets]] to the scenario or pass --trajectory START:END plans a year."
)
_NO_TARGET_EXPERIMENT = (
    " No target given (--trajectory START:END plans a year, or --target "
    "plans_signed_off_per_year>=VALUE)."
)


@dataclass(frozen=True)
class PlotOptions:
    """What to draw beyond the data: targets, trajectory, factor, KPIs and reference lines.

    Attributes
    ----------
    targets
        KPI -> target value in the KPI's stored unit (a fraction for utilisation).
    directions
        KPI -> ``"lower"`` or ``"higher"`` is better (guessed from the name otherwise).
    trajectory
        ``(start, end)`` target for plans signed off, people per year, rising linearly over
        the run; drawn per quarter on the throughput figures.
    factor
        Experiment factor for the capacity what-if x axis (the one with most levels when
        ``None``).
    kpis
        KPIs for the capacity and tornado figures (targets' KPIs, else a default set).
    cost_lines
        Reference lines of the cost figure, label -> pounds per person.
    scenario
        Scenario of an experiment for the fan chart (the baseline when ``None``).
    criterion
        ``"mean"`` or ``"ci"``: how a level meets a target (see
        :func:`ipcsim.present.experiment_plots.plot_capacity_whatif`).
    """

    targets: Mapping[str, float] = field(default_factory=dict)
    directions: Mapping[str, Direction] = field(default_factory=dict)
    trajectory: tuple[float, float] | None = None
    factor: str | None = None
    kpis: Sequence[str] | None = None
    cost_lines: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_COST_LINES))
    scenario: str | None = None
    criterion: Literal["mean", "ci"] = "mean"


@dataclass(frozen=True)
class FigureSpec:
    """One figure, ready to save or embed."""

    name: str
    kind: str
    title: str
    caption: str
    figure: Figure = field(repr=False)


class Drawn(NamedTuple):
    """What a drawing function returns for one figure.

    Attributes
    ----------
    name
        File name without extension (``waits``, ``capacity-<kpi>``).
    figure
        The figure drawn.
    fields
        Values of the ``{fields}`` in the kind's title and caption.
    """

    name: str
    figure: Figure
    fields: Mapping[str, str] = MappingProxyType({})


def _fig(ax: Any) -> Figure:
    figure: Figure = ax.figure
    return figure


# --------------------------------------------------------------------------- targets
def _manifest_targets(
    manifest: Mapping[str, Any],
) -> tuple[dict[str, float], dict[str, Direction]]:
    """Targets recorded in an experiment manifest, if any (``targets`` anywhere one level down)."""
    found: Any = manifest.get("targets")
    if found is None:
        spec = manifest.get("spec")
        found = spec.get("targets") if isinstance(spec, Mapping) else None
    targets: dict[str, float] = {}
    directions: dict[str, Direction] = {}
    if isinstance(found, Mapping):
        for kpi, value in found.items():
            if isinstance(value, int | float):
                targets[str(kpi)] = float(value)
            elif isinstance(value, Mapping) and isinstance(value.get("value"), int | float):
                targets[str(kpi)] = float(value["value"])
                if value.get("direction") in ("lower", "higher"):
                    directions[str(kpi)] = value["direction"]
    return targets, directions


def merged_targets(
    folder: Folder, options: PlotOptions
) -> tuple[dict[str, float], dict[str, Direction]]:
    """The targets of a folder: those in its manifest, overridden by ``options``.

    Parameters
    ----------
    folder
        From :func:`~ipcsim.present.report.folders.read_folder`.
    options
        Targets and directions given with the command.

    Returns
    -------
    (dict, dict)
        KPI -> target value (the KPI's stored unit), and KPI -> ``"lower"`` or ``"higher"``
        where a direction was given.
    """
    targets, directions = _manifest_targets(folder.manifest)
    targets.update(options.targets)
    directions.update(options.directions)
    return targets, directions


def _target_points(scenario: Scenario | None) -> list[tuple[dt.date, float]]:
    """The scenario's ``[[targets]]`` for plans a year, all sites together, by date."""
    if scenario is None:
        return []
    points = []
    for target in getattr(scenario, "targets", ()) or ():
        plans = getattr(target, "plans_per_year", None)
        if plans is not None and getattr(target, "site", None) is None:
            points.append((target.date, float(plans)))
    return sorted(points)


def _trajectory(
    periods: Sequence[Any], options: PlotOptions, per_year: float, scenario: Scenario | None
) -> pd.Series | None:
    """Target plans per period: ``--trajectory``, else the scenario's ``[[targets]]``.

    Notes
    -----
    Scenario targets are plans in the 12 months to a date; between two dates the rate is
    interpolated linearly (per period start), and it is not drawn before the first or after
    the last date. A single target is drawn in the period that holds its date.
    """
    if not len(periods):
        return None
    if options.trajectory is not None:
        start, end = options.trajectory
        return experiment_plots.linear_trajectory(
            list(periods), start=start / per_year, end=end / per_year
        )
    points = _target_points(scenario)
    if not points:
        return None
    starts = [dt.date.fromisoformat(str(p)[:10]) for p in periods]
    days = np.array([d.toordinal() for d in starts], dtype=float)
    xs = np.array([d.toordinal() for d, _v in points], dtype=float)
    ys = np.array([v for _d, v in points], dtype=float) / per_year
    if len(points) == 1:
        values = np.full(len(days), np.nan)
        holding = np.flatnonzero(days <= xs[0])
        if holding.size:
            values[holding[-1]] = ys[0]
    else:
        values = np.interp(days, xs, ys, left=np.nan, right=np.nan)
    if not np.isfinite(values).any():
        return None
    return pd.Series(values, index=list(periods), dtype=float)


def _trajectory_label(options: PlotOptions, scenario: Scenario | None) -> str:
    if options.trajectory is not None:
        start, end = options.trajectory
        return f"Target: {start:,.0f} rising to {end:,.0f} plans a year"
    points = _target_points(scenario)
    if points:
        first, last = points[0], points[-1]
        return f"Scenario target: {first[1]:,.0f} plans a year by {first[0]:%b %Y}" + (
            f", {last[1]:,.0f} by {last[0]:%b %Y}" if len(points) > 1 else ""
        )
    return "Target"


# --------------------------------------------------------------------------- run figures
def _draw_pathway(folder: Folder, options: PlotOptions) -> list[Drawn]:
    if folder.scenario is None:
        return []
    return [Drawn("pathway", _fig(draw_pathway(folder.scenario)))]


def _draw_throughput(run: RunFolder, options: PlotOptions) -> list[Drawn]:
    quarters = pd.DataFrame(run.summary.get("throughput_per_quarter") or [])
    if quarters.empty:
        return []
    target = _trajectory(list(quarters["quarter_start"]), options, 4.0, run.scenario)
    ax = run_plots.plot_throughput(
        quarters, target=target, target_label=_trajectory_label(options, run.scenario)
    )
    return [Drawn("throughput", _fig(ax), {"no_target": _NO_TARGET_RUN if target is None else ""})]


def _draw_waits(run: RunFolder, options: PlotOptions) -> list[Drawn]:
    horizon = run.scenario.run.horizon_days if run.scenario is not None else None
    return [Drawn("waits", _fig(run_plots.plot_waits(run.frames["people"], horizon_days=horizon)))]


def _draw_waits_by_month(run: RunFolder, options: PlotOptions) -> list[Drawn]:
    """The first waiting standard's wait by month of referral, if the run has the columns."""
    series = run.frames["timeseries"]
    stages = [stage for stage in WAITS if f"wait_{stage}_p50" in series.columns]
    if not stages:
        return []
    figure = run_plots.plot_waits_by_referral_month(series, stage=stages[0])
    return [Drawn("waits_by_month", figure, {"stage": LABELS[stages[0]].lower()})]


def _draw_utilisation(run: RunFolder, options: PlotOptions) -> list[Drawn]:
    ax = run_plots.plot_utilisation_heatmap(run.frames["timeseries"])
    return [Drawn("utilisation", _fig(ax))]


def _draw_queues(run: RunFolder, options: PlotOptions) -> list[Drawn]:
    return [Drawn("queues", _fig(run_plots.plot_queues(run.frames["timeseries"])))]


def _draw_cost(run: RunFolder, options: PlotOptions) -> list[Drawn]:
    """Cost per person by cohort (top) and by budget type (bottom), sharing the x axis."""
    summary, people = run.summary, run.frames["people"]
    roles = sorted(k for k in (summary.get("staff_cost_per_person_gbp") or {}) if k != "total")
    if not roles:
        return []
    labels = {}
    if run.scenario is not None:
        labels = {
            k: c.label or k for spec in site_specs(run.scenario) for k, c in spec.cohorts.items()
        }
    by_cohort = run_plots.cost_breakdown(people, roles, by="cohort", labels=labels)
    by_budget = run_plots.cost_breakdown(people, roles, by="budget_type")
    rows = (len(by_cohort), len(by_budget))
    figure = new_figure((SLIDE_SIZE_IN[0], 0.85 * sum(rows) + 3.0))
    with style():
        top, bottom = figure.subplots(2, 1, height_ratios=rows, sharex=True)
    run_plots.plot_cost_per_person(
        by_cohort,
        lines=options.cost_lines,
        ax=top,
        title="Staff cost per referred person, by cohort",
    )
    run_plots.plot_cost_per_person(
        by_budget, lines=options.cost_lines, ax=bottom, title="... and by budget type"
    )
    top.get_legend().remove()  # type: ignore[union-attr]
    top.set_xlabel("")
    return [Drawn("cost", figure)]


RunDraw = Callable[[RunFolder, PlotOptions], list[Drawn]]
"""Draws the figures of one kind for a run folder (none when there is nothing to draw)."""

RUN_FIGURES: Mapping[str, tuple[RunDraw, str, str]] = {
    "pathway": (
        _draw_pathway,
        "The pathway modelled",
        "Steps, the staff roles whose time each uses, sign-off, the rework loop and where "
        "people leave; drawn from the config.",
    ),
    "throughput": (
        _draw_throughput,
        "Throughput per quarter",
        "Plans signed off and budgets released in each quarter of the run.{no_target}",
    ),
    "waits": (
        _draw_waits,
        "Waiting times",
        "How long people waited between milestones. The violins show completed waits; the "
        "bar marks the median and the red diamond the 90th percentile, both counting the "
        "people still waiting at the end of the run (Kaplan-Meier), so they can lie beyond "
        "the violin. The first three rows are end-to-end spans, the rest consecutive stages.",
    ),
    "waits_by_month": (
        _draw_waits_by_month,
        "Waits by month of referral",
        "For the people referred in each month ({stage}): their median wait counting those "
        "still waiting, how many still wait at the end of the run, and the share seen within "
        "each waiting standard (months too close to the end to follow everyone are left "
        "out). A service that keeps up has flat lines; rising waits mean it is falling behind.",
    ),
    "utilisation": (
        _draw_utilisation,
        "Staff utilisation",
        "Hours of work done in each month (a task running across months shared between "
        "them) as a share of the IPC hours each role had available that month; grey: no "
        "capacity limit. A month can exceed 100%: staff bank up to a week of IPC hours they "
        "did not use and spend them later, on top of that month's hours.",
    ),
    "queues": (
        _draw_queues,
        "Queues for staff",
        "People waiting for each role's time at the end of each month.",
    ),
    "cost": (
        _draw_cost,
        "Staff cost per person",
        "Mean staff cost per referred person (hours x hourly cost, salary basis), stacked by "
        "role; everyone referred counts, including those who left early. Lines: reference "
        "costs from the evidence pack.",
    ),
}
"""Figure kind of a run folder -> (drawing function, title, caption), in report order."""

RUN_KINDS = tuple(RUN_FIGURES)
"""Figure kinds for a run folder, in report order."""


# --------------------------------------------------------------------------- experiment figures
def default_factor(experiment: ExperimentFolder) -> str | None:
    """The numeric factor with the most levels (the x axis of the what-if figures).

    Parameters
    ----------
    experiment
        From :func:`~ipcsim.present.report.folders.read_folder`.

    Returns
    -------
    str or None
        A dotted config key; ``None`` when no numeric factor has two or more levels.
    """
    return main_factor(experiment.summary, experiment.factors)


def _default_kpis(
    kpis: Iterable[str],
    targets: Mapping[str, float],
    lead: str | None,
    spec_kpis: Sequence[str] = (),
    *,
    most: int = 3,
) -> list[str]:
    """KPIs to draw: those with targets, then the headline three, then the spec's."""
    present = list(dict.fromkeys(kpis))
    chosen = [k for k in targets if k in present]
    wanted = ["wait_referral_to_first_conversation_mean", "plans_signed_off_per_year"]
    if lead:
        wanted.append(f"utilisation_{lead}")
    for kpi in [*wanted, *spec_kpis]:
        if kpi in present and kpi not in chosen and len(chosen) < most:
            chosen.append(kpi)
    return chosen or present[:most]


def _figure_kpis(experiment: ExperimentFolder, options: PlotOptions) -> list[str]:
    """KPIs of the capacity and tornado figures: ``options.kpis``, else a default set."""
    if options.kpis:
        return list(options.kpis)
    targets, _directions = merged_targets(experiment, options)
    lead = experiment.scenario.pathway.lead_role if experiment.scenario is not None else "planner"
    return _default_kpis(
        experiment.summary["kpi"].astype(str),
        targets,
        lead,
        list(manifest_spec(experiment.manifest).get("kpis") or ()),
    )


def _scenario_label(experiment: ExperimentFolder, name: str) -> str:
    """``3 planners, 6 LTC frailty referrals a month (s003, baseline)``."""
    label = experiment.names.get(name, name)
    notes = [name] if label != name else []
    if name == experiment.baseline:
        notes.append("baseline")
    return f"{label} ({', '.join(notes)})" if notes else label


def _draw_capacity(experiment: ExperimentFolder, options: PlotOptions) -> list[Drawn]:
    """One what-if figure per KPI against the main factor."""
    targets, directions = merged_targets(experiment, options)
    kpis = _figure_kpis(experiment, options)
    factor = options.factor or default_factor(experiment)
    if factor is None:
        return []
    if factor not in experiment.summary.columns:
        raise ReportError(
            f"--factor {factor}: not a factor of this experiment "
            f"(has: {', '.join(experiment.factors) or 'none'})"
        )
    out = []
    for kpi in kpis:
        if kpi not in set(experiment.summary["kpi"].astype(str)):
            raise ReportError(f"--kpi {kpi}: not in summary.parquet")
        direction = directions.get(kpi) or kpi_direction(kpi)
        ax = experiment_plots.plot_capacity_whatif(
            experiment.summary,
            kpi=kpi,
            factor=factor,
            target=targets.get(kpi),
            direction=direction,
            criterion=options.criterion,
        )
        if kpi in targets:
            rule = "whole 95% CI" if options.criterion == "ci" else "mean"
            better = "at or below" if direction == "lower" else "at or above"
            note = (
                f" Dashed: target; star: the smallest level whose {rule} is {better} it."
                if _starred(ax)
                else f" Dashed: target; no level's {rule} is {better} it."
            )
        else:
            note = f" No target given for {kpi} (--target {kpi}=VALUE)."
        fields = {"label": kpi_label(kpi)[0], "factor": factor_label(factor).lower(), "note": note}
        out.append(Drawn(f"capacity-{kpi}", _fig(ax), fields))
    return out


def _fan_target(
    quarters: Sequence[Any], options: PlotOptions, experiment: ExperimentFolder
) -> tuple[pd.Series | None, str]:
    """The fan chart's target per quarter and its label, if any is known.

    The trajectory (``--trajectory``, else the base scenario's ``[[targets]]``), else a
    target for ``plans_signed_off_per_year`` (``--target``, or the experiment's own) as a
    quarter of it each quarter.
    """
    target = _trajectory(quarters, options, 4.0, experiment.scenario)
    if target is not None:
        return target, _trajectory_label(options, experiment.scenario)
    targets, _directions = merged_targets(experiment, options)
    yearly = targets.get("plans_signed_off_per_year")
    if yearly is None or not quarters:
        return None, ""
    flat = pd.Series(yearly / 4.0, index=list(quarters), dtype=float)
    return flat, f"Target: {yearly:,.0f} plans a year"


def _starred(ax: Any) -> bool:
    """Whether a what-if figure marks a level that meets its target."""
    return any(str(a.get_gid() or "").startswith("smallest-level") for a in ax.get_children())


def _draw_fan(experiment: ExperimentFolder, options: PlotOptions) -> list[Drawn]:
    scenario = options.scenario or experiment.baseline
    frame = replication_timeseries(experiment, scenario)
    if frame.empty:
        return []
    months = sorted(frame["month"].astype(str).unique())
    quarters = months[::3]
    target, target_label = _fan_target(quarters, options, experiment)
    name = experiment.names.get(scenario, scenario) + (
        " (baseline)" if scenario == experiment.baseline else ""
    )
    ax = experiment_plots.plot_throughput_fan(
        frame,
        series="plans_signed_off",
        period="quarter",
        target=target,
        target_label=target_label,
        demand="referrals" if "referrals" in frame.columns else None,
        name=name,
        title=f"Plans signed off per quarter: {name}",
    )
    fields = {
        "scenario": _scenario_label(experiment, scenario),
        "no_target": _NO_TARGET_EXPERIMENT if target is None else "",
    }
    return [Drawn("fan", _fig(ax), fields)]


def _draw_tornado(experiment: ExperimentFolder, options: PlotOptions) -> list[Drawn]:
    """One tornado per KPI asked for (or the first two of the sensitivity table)."""
    if experiment.sensitivity is None or experiment.sensitivity.empty:
        return []
    kpis = _figure_kpis(experiment, options)
    present = list(dict.fromkeys(experiment.sensitivity["kpi"].astype(str)))
    out = []
    for kpi in [k for k in kpis if k in present] or present[:2]:
        ax = experiment_plots.plot_tornado(experiment.sensitivity, kpi=kpi)
        out.append(Drawn(f"tornado-{kpi}", _fig(ax), {"label": kpi_label(kpi)[0]}))
    return out


ExperimentDraw = Callable[[ExperimentFolder, PlotOptions], list[Drawn]]
"""Draws the figures of one kind for an experiment folder (none when nothing to draw)."""

EXPERIMENT_FIGURES: Mapping[str, tuple[ExperimentDraw, str, str]] = {
    "capacity": (
        _draw_capacity,
        "What-if: {label}",
        "Mean over replications with its 95% confidence band, against {factor}.{note}",
    ),
    "fan": (
        _draw_fan,
        "Throughput across replications",
        "Scenario {scenario}. Median over replications with the bands that hold the middle "
        "50% and 90% of replications; dotted: the median number referred in each quarter "
        "(the demand).{no_target}",
    ),
    "tornado": (
        _draw_tornado,
        "Sensitivity: {label}",
        "Sensitivity index of each uncertain parameter, largest first, with its bootstrap "
        "95% CI where the method gives one.",
    ),
    "pathway": (
        _draw_pathway,
        "The pathway modelled (base scenario)",
        "Drawn from the experiment's base config.",
    ),
}
"""Figure kind of an experiment folder -> (drawing function, title, caption), in report order."""

EXPERIMENT_KINDS = tuple(EXPERIMENT_FIGURES)
"""Figure kinds for an experiment folder, in report order."""


# --------------------------------------------------------------------------- build and save
def _specs(kind: str, drawn: Iterable[Drawn], title: str, caption: str) -> list[FigureSpec]:
    return [
        FigureSpec(d.name, kind, title.format(**d.fields), caption.format(**d.fields), d.figure)
        for d in drawn
    ]


def build_figures(
    folder: AnyFolder, *, kinds: Sequence[str] | None = None, options: PlotOptions | None = None
) -> list[FigureSpec]:
    """The figures of a folder.

    Parameters
    ----------
    folder
        From :func:`~ipcsim.present.report.folders.read_folder`.
    kinds
        Figure kinds (:data:`RUN_KINDS`, :data:`EXPERIMENT_KINDS` or, for a plan folder,
        :data:`~ipcsim.present.report.plan_report.PLAN_KINDS`); all when ``None``, and
        then kinds with nothing to draw (no sensitivity table, no per-replication runs) are
        left out. A kind asked for by name must draw something.
    options
        Targets, trajectory, factor, KPIs and reference lines.

    Returns
    -------
    list of FigureSpec
        In the order of ``kinds``.

    Raises
    ------
    ReportError
        For a kind that does not belong to the folder's type, a kind asked for that has
        nothing to draw, or an unknown factor or KPI.
    """
    if isinstance(folder, PlanFolder):  # its own table (imported here: it builds on this one)
        from ipcsim.present.report.plan_report import build_plan_figures

        return build_plan_figures(folder, kinds=kinds)
    options = options or PlotOptions()
    figures: list[FigureSpec] = []
    if isinstance(folder, RunFolder):
        for kind in list(kinds or RUN_KINDS):
            if kind not in RUN_FIGURES:
                raise ReportError(
                    f"--kind {kind}: not a figure of a run folder (use one of "
                    f"{', '.join(RUN_KINDS)})"
                )
            run_draw, title, caption = RUN_FIGURES[kind]
            figures += _specs(kind, run_draw(folder, options), title, caption)
    else:
        for kind in list(kinds or EXPERIMENT_KINDS):
            if kind not in EXPERIMENT_FIGURES:
                raise ReportError(
                    f"--kind {kind}: not a figure of an experiment folder (use one of "
                    f"{', '.join(EXPERIMENT_KINDS)})"
                )
            experiment_draw, title, caption = EXPERIMENT_FIGURES[kind]
            figures += _specs(kind, experiment_draw(folder, options), title, caption)
    drawn = {spec.kind for spec in figures}
    for kind in kinds or ():
        if kind not in drawn:
            for spec in figures:
                spec.figure.clear()
            raise ReportError(
                f"--kind {kind}: nothing to draw ({_why_empty(folder, kind, options)})"
            )
    return figures


def _why_empty(folder: Folder, kind: str, options: PlotOptions) -> str:
    if kind == "pathway":
        return "the config in manifest.json does not validate against this ipcsim"
    if kind == "tornado":
        return f"no sensitivity.parquet in {folder.path}"
    if kind == "fan" and isinstance(folder, ExperimentFolder):
        scenario = options.scenario or folder.baseline
        return f"no {folder.path / 'runs' / scenario}/rep-*/timeseries.parquet"
    if kind == "capacity":
        return "the experiment has no numeric factor with two or more levels"
    return "the folder holds no data for it"


def save_figures(
    figures: Sequence[FigureSpec],
    out_dir: str | Path,
    *,
    image_format: Literal["png", "svg"] = "png",
    options: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Save figures as ``<out_dir>/<name>.<format>``.

    Parameters
    ----------
    figures
        From :func:`build_figures`.
    out_dir
        Folder to write to (made when missing).
    image_format
        ``png`` (150 dpi) or ``svg``; neither records a creation date.
    options
        The options the figures were drawn with, as plain JSON values (``ipcsim plot``
        records its command-line options, which ``ipcsim report`` then reuses); kept in the
        folder's ``plots.json`` (:func:`recorded_options`).

    Returns
    -------
    list of Path
        The files written, in the order of ``figures``.

    Raises
    ------
    OutputError
        When the folder or a file cannot be written.

    Notes
    -----
    The folder's ``plots.json`` lists what the last call wrote; the next call first removes
    those files (and only those, by plain name inside the folder), so figures of an earlier
    call with other kinds or another format do not linger beside the new ones.
    """
    folder = Path(out_dir)
    record = folder / PLOTS_RECORD
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in _recorded(record):
            (folder / name).unlink(missing_ok=True)
        paths = []
        for spec in figures:
            path = folder / f"{spec.name}.{image_format}"
            with style():
                spec.figure.savefig(path, format=image_format, metadata=_metadata(image_format))
            paths.append(path)
        written = {"files": [p.name for p in paths], "options": dict(options or {})}
        record.write_text(json.dumps(written, indent=2) + "\n")
    except OSError as e:
        raise OutputError(f"cannot write figures to {folder}: {e.strerror or e}") from e
    return paths


PLOTS_RECORD = "plots.json"
"""What :func:`save_figures` last wrote in a folder."""


def recorded_options(out_dir: str | Path) -> dict[str, Any]:
    """The options the last :func:`save_figures` into ``out_dir`` recorded.

    Parameters
    ----------
    out_dir
        A folder of figures (``DIR/plots``).

    Returns
    -------
    dict
        Option name -> value as recorded; empty when the folder has no readable record.
    """
    try:
        options = json.loads((Path(out_dir) / PLOTS_RECORD).read_text()).get("options", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return dict(options) if isinstance(options, Mapping) else {}


def _recorded(record: Path) -> list[str]:
    """Plain file names a plots record lists (none if it is missing or unreadable)."""
    try:
        names = json.loads(record.read_text()).get("files", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [n for n in names if isinstance(n, str) and n == Path(n).name and n != PLOTS_RECORD]


def _metadata(image_format: str) -> dict[str, Any]:
    # No creation date in SVG/PNG metadata: the same outputs give the same files.
    return {"Date": None} if image_format == "svg" else {}


def figure_data_uri(spec: FigureSpec, image_format: Literal["png", "svg"]) -> str:
    """A figure as a ``data:`` URI, to embed in a page with no other file.

    Parameters
    ----------
    spec
        The figure.
    image_format
        ``png`` (110 dpi) or ``svg``.

    Returns
    -------
    str
        ``data:image/png;base64,...`` or ``data:image/svg+xml;base64,...``.
    """
    buffer = _io.BytesIO()
    with style():
        spec.figure.savefig(
            buffer,
            format=image_format,
            dpi=110 if image_format == "png" else None,
            metadata=_metadata(image_format),
        )
    mime = "image/svg+xml" if image_format == "svg" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"
