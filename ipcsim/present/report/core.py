"""Figures and a self-contained HTML report for a run folder or an experiment folder.

Data flow::

    DIR -> read_folder(DIR) -> RunFolder | ExperimentFolder
        -> build_figures(folder, kinds, options) -> [FigureSpec] (present.plots, pathway_diagram)
        -> save_figures(...)                       -> DIR/plots/*.png|svg      (ipcsim plot)
        -> render_report(folder, options)          -> HTML text
        -> write_report(DIR)                       -> DIR/report.html          (ipcsim report)

The report is one file: styles inline, images embedded as base64 PNG or SVG, no scripts and
no external requests, so it can be e-mailed or attached to board papers. It holds the
question, headline KPIs (with 95 % CIs for experiments), a table of key parameters with the
evidence IDs from the schema's field descriptions, the figures, and the STRESS-DES items
(Monks et al. 2019) filled from the config and manifest; items a person must still write are
marked "TO WRITE" and listed at the top.

References
----------
.. [1] Monks, T., Currie, C. S. M., Onggo, B. S., Robinson, S., Kunc, M. and Taylor, S. J. E.
   (2019). Strengthening the reporting of empirical simulation studies: Introducing the
   STRESS guidelines. *Journal of Simulation* 13(1), 55-67.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io as _io
import json
import math
import os
import re
import secrets
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from matplotlib.figure import Figure
from pydantic import BaseModel

from ipcsim.analysis import labels
from ipcsim.errors import ConfigError, IpcsimError, OutputError
from ipcsim.io.run_folder import read_run_outputs
from ipcsim.present import experiment_plots, run_plots, style
from ipcsim.present.pathway_diagram import describe_distribution, draw_pathway
from ipcsim.scenario import Scenario, SiteConfig
from ipcsim.scenario.load import scenario_from_dict

__all__ = [
    "EXPERIMENT_KINDS",
    "PROJECT_QUESTION",
    "RUN_KINDS",
    "ExperimentFolder",
    "FigureSpec",
    "PlotOptions",
    "ReportError",
    "RunFolder",
    "build_figures",
    "evidence_ids",
    "parameter_rows",
    "read_experiment_outputs",
    "read_folder",
    "render_report",
    "replication_timeseries",
    "save_figures",
    "stress_items",
    "write_report",
]

PROJECT_QUESTION = (
    "If we grow personalised care from 50 plans a year to 5,000, how many planners, panel "
    "sittings and finance officers do we need, how long will people wait, and what does it "
    "cost per person?"
)
"""The question ipcsim answers (README)."""

RUN_KINDS = ("pathway", "throughput", "waits", "utilisation", "queues", "cost")
"""Figure kinds for a run folder, in report order."""

EXPERIMENT_KINDS = ("capacity", "fan", "tornado", "pathway")
"""Figure kinds for an experiment folder, in report order."""

DEFAULT_COST_LINES: Mapping[str, float] = {
    "Evaluation's differential running cost, £265 per user (P65)": 265.0,
    "Pays back if 1 in 10 people avoid an admission, £160 (P70)": 1600.67 / 10.0,
}
"""Reference lines of the cost figure, pounds per person (evidence IDs P65 and P70)."""

TODO = "TO WRITE"
"""Marker of a report item a person must still write."""

_HEADLINE_KPIS = (
    "wait_referral_to_first_conversation_mean",
    "wait_referral_to_sign_off_mean",
    "wait_referral_to_budget_release_mean",
    "plans_signed_off_per_year",
    "budgets_released_per_year",
)
_EVIDENCE = re.compile(r"\bP\d{2}\b")
_SECTION = re.compile(r"§\s?\d+(?:\.\d+)*")


class ReportError(IpcsimError):
    """A folder cannot be plotted or reported (not an output folder, missing data, bad option)."""


# --------------------------------------------------------------------------- folders
@dataclass(frozen=True)
class RunFolder:
    """A run folder read back: frames, summary, manifest and the scenario (if it validates)."""

    path: Path
    frames: Mapping[str, pd.DataFrame]
    summary: Mapping[str, Any]
    manifest: Mapping[str, Any]
    config: Mapping[str, Any] | None
    scenario: Scenario | None
    kind: Literal["run"] = "run"


@dataclass(frozen=True)
class ExperimentFolder:
    """An experiment folder read back (see ``ipcsim experiment``)."""

    path: Path
    scenarios: pd.DataFrame
    replications: pd.DataFrame
    summary: pd.DataFrame
    paired: pd.DataFrame | None
    sensitivity: pd.DataFrame | None
    manifest: Mapping[str, Any]
    config: Mapping[str, Any] | None
    scenario: Scenario | None
    kind: Literal["experiment"] = "experiment"

    @property
    def factors(self) -> list[str]:
        """Factor columns (dotted config keys) of ``scenarios.parquet``."""
        return [c for c in self.scenarios.columns if "." in str(c)]

    @property
    def baseline(self) -> str:
        """The baseline scenario (the first flagged ``is_baseline``, else the first)."""
        frame = self.scenarios
        if "is_baseline" in frame.columns:
            flagged = frame[frame["is_baseline"].fillna(False).astype(bool)]
            if not flagged.empty:
                return str(flagged["scenario"].iloc[0])
        return str(frame["scenario"].iloc[0])


Folder = RunFolder | ExperimentFolder


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path, engine="pyarrow")
    except FileNotFoundError as e:
        raise OutputError(f"{path}: missing") from e
    except (OSError, ValueError, pa.ArrowException) as e:
        raise OutputError(f"{path}: unreadable parquet file ({' '.join(str(e).split())})") from e


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise OutputError(f"{path}: missing") from e
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise OutputError(f"{path}: unreadable or invalid JSON ({e})") from e
    if not isinstance(data, dict):
        raise OutputError(f"{path}: expected a JSON object")
    return data


def _find_config(data: Any, depth: int = 0) -> Mapping[str, Any] | None:
    """The first mapping that looks like a scenario (has cohorts and workforce)."""
    if isinstance(data, Mapping):
        if isinstance(data.get("cohorts"), Mapping) and isinstance(data.get("workforce"), Mapping):
            return data
        if depth < 3:
            for key in ("config", "base", "base_scenario", "scenario", "spec", "base_config"):
                if key in data:
                    found = _find_config(data[key], depth + 1)
                    if found is not None:
                        return found
            for value in data.values():
                if isinstance(value, Mapping | list):
                    found = _find_config(value, depth + 1)
                    if found is not None:
                        return found
    elif isinstance(data, list) and depth < 3:
        for value in data:
            found = _find_config(value, depth + 1)
            if found is not None:
                return found
    return None


def _scenario(config: Mapping[str, Any] | None) -> Scenario | None:
    if config is None:
        return None
    try:
        return scenario_from_dict(config, source="manifest.json config")
    except ConfigError:
        return None


def read_experiment_outputs(path: str | Path) -> ExperimentFolder:
    """Read an experiment folder: its parquet tables and manifest.

    Parameters
    ----------
    path
        Folder written by ``ipcsim experiment``.

    Returns
    -------
    ExperimentFolder

    Raises
    ------
    OutputError
        One line naming the file, when a required file (``scenarios.parquet``,
        ``replications.parquet``, ``summary.parquet``, ``manifest.json``) is missing or
        unreadable.
    """
    folder = Path(path)
    manifest = _read_json(folder / "manifest.json")
    scenarios = _read_parquet(folder / "scenarios.parquet")
    replications = _read_parquet(folder / "replications.parquet")
    summary = _read_parquet(folder / "summary.parquet")
    paired = (
        _read_parquet(folder / "paired.parquet") if (folder / "paired.parquet").exists() else None
    )
    sensitivity = (
        _read_parquet(folder / "sensitivity.parquet")
        if (folder / "sensitivity.parquet").exists()
        else None
    )
    for name, frame, columns in (
        ("scenarios", scenarios, ("scenario",)),
        ("summary", summary, ("scenario", "kpi", "mean", "ci_low", "ci_high")),
        ("replications", replications, ("scenario", "replication", "kpi", "value")),
    ):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise OutputError(
                f"{folder / (name + '.parquet')}: lacks column(s) {', '.join(missing)}"
            )
    if scenarios.empty:
        raise OutputError(f"{folder / 'scenarios.parquet'}: no scenarios")
    config = _find_config(manifest)
    if config is None:
        experiment = ExperimentFolder(
            folder, scenarios, replications, summary, paired, sensitivity, manifest, None, None
        )
        first_run = sorted((folder / "runs" / experiment.baseline).glob("rep-*/manifest.json"))
        if first_run:
            try:
                config = _find_config(_read_json(first_run[0]))
            except OutputError:
                config = None
    return ExperimentFolder(
        folder,
        scenarios,
        replications,
        summary,
        paired,
        sensitivity,
        manifest,
        config,
        _scenario(config),
    )


def read_folder(path: str | Path) -> RunFolder | ExperimentFolder:
    """Read a run folder or an experiment folder, whichever ``path`` is.

    Raises
    ------
    ReportError
        When ``path`` is neither (no ``summary.json`` nor ``summary.parquet``).
    OutputError
        When it is one but a file is missing, corrupt or modified (see
        :func:`ipcsim.io.read_run_outputs`).
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ReportError(f"{folder}: no such folder")
    if (folder / "summary.parquet").exists() or (folder / "replications.parquet").exists():
        return read_experiment_outputs(folder)
    if (folder / "summary.json").exists() or (folder / "manifest.json").exists():
        data = read_run_outputs(folder)
        missing = [n for n in ("people", "timeseries") if n not in data["frames"]]
        if missing:
            raise OutputError(
                f"{folder}: run folder lacks {', '.join(n + '.parquet' for n in missing)}"
            )
        config = _find_config(data["manifest"])
        return RunFolder(
            folder, data["frames"], data["summary"], data["manifest"], config, _scenario(config)
        )
    raise ReportError(
        f"{folder}: not an ipcsim run folder (no summary.json) or experiment folder "
        "(no summary.parquet)"
    )


def replication_timeseries(folder: ExperimentFolder, scenario: str) -> pd.DataFrame:
    """The per-replication ``timeseries.parquet`` of one scenario, stacked.

    Returns
    -------
    DataFrame
        The timeseries rows with a ``replication`` column (from ``rep-<NNN>``); empty when
        the folder keeps no per-replication runs.
    """
    frames = []
    for path in sorted((folder.path / "runs" / scenario).glob("rep-*/timeseries.parquet")):
        number = path.parent.name.removeprefix("rep-")
        frame = _read_parquet(path)
        frame.insert(0, "replication", int(number) if number.isdigit() else number)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# --------------------------------------------------------------------------- figures
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
        :func:`ipcsim.experiment_plots.plot_capacity_whatif`).
    """

    targets: Mapping[str, float] = field(default_factory=dict)
    directions: Mapping[str, labels.Direction] = field(default_factory=dict)
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


def _fig(ax: Any) -> Figure:
    figure: Figure = ax.figure
    return figure


def _manifest_targets(
    manifest: Mapping[str, Any],
) -> tuple[dict[str, float], dict[str, labels.Direction]]:
    """Targets recorded in an experiment manifest, if any (``targets`` anywhere one level down)."""
    found: Any = manifest.get("targets")
    if found is None:
        spec = manifest.get("spec")
        found = spec.get("targets") if isinstance(spec, Mapping) else None
    targets: dict[str, float] = {}
    directions: dict[str, labels.Direction] = {}
    if isinstance(found, Mapping):
        for kpi, value in found.items():
            if isinstance(value, int | float):
                targets[str(kpi)] = float(value)
            elif isinstance(value, Mapping) and isinstance(value.get("value"), int | float):
                targets[str(kpi)] = float(value["value"])
                if value.get("direction") in ("lower", "higher"):
                    directions[str(kpi)] = value["direction"]
    return targets, directions


def _merged_targets(
    folder: Folder, options: PlotOptions
) -> tuple[dict[str, float], dict[str, labels.Direction]]:
    targets, directions = _manifest_targets(folder.manifest)
    targets.update(options.targets)
    directions.update(options.directions)
    return targets, directions


def _start_date(folder: Folder) -> dt.date | None:
    config = folder.config or {}
    run = config.get("run") if isinstance(config, Mapping) else None
    if isinstance(run, Mapping) and run.get("start_date"):
        try:
            return dt.date.fromisoformat(str(run["start_date"]))
        except ValueError:
            return None
    return None


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


def _run_figures(run: RunFolder, kinds: Sequence[str], options: PlotOptions) -> list[FigureSpec]:
    frames, summary = run.frames, run.summary
    horizon = None
    if run.scenario is not None:
        horizon = run.scenario.run.horizon_days
    people, timeseries = frames["people"], frames["timeseries"]
    out: list[FigureSpec] = []
    for kind in kinds:
        if kind == "pathway":
            if run.scenario is None:
                continue
            ax = draw_pathway(run.scenario)
            out.append(
                FigureSpec(
                    "pathway",
                    kind,
                    "The pathway modelled",
                    "Steps, the staff roles whose time each uses, sign-off, the "
                    "rework loop and where people leave; drawn from the config.",
                    _fig(ax),
                )
            )
        elif kind == "throughput":
            quarters = pd.DataFrame(summary.get("throughput_per_quarter") or [])
            if quarters.empty:
                continue
            target = _trajectory(list(quarters["quarter_start"]), options, 4.0, run.scenario)
            ax = run_plots.plot_throughput(
                quarters, target=target, target_label=_trajectory_label(options, run.scenario)
            )
            caption = "Plans signed off and budgets released in each quarter of the run."
            if target is None:
                caption += (
                    " No target trajectory given (the evidence pack has no target "
                    "numbers, §2.4): add [[targets]] to the scenario or pass --trajectory "
                    "START:END plans a year."
                )
            out.append(FigureSpec("throughput", kind, "Throughput per quarter", caption, _fig(ax)))
        elif kind == "waits":
            ax = run_plots.plot_waits(people, horizon_days=horizon)
            out.append(
                FigureSpec(
                    "waits",
                    kind,
                    "Waiting times",
                    "How long people waited between milestones; the red diamond marks the 90th "
                    "percentile. The first three rows are end-to-end spans, the rest consecutive "
                    "stages. People still waiting at the end of the run are not included.",
                    _fig(ax),
                )
            )
        elif kind == "utilisation":
            ax = run_plots.plot_utilisation_heatmap(timeseries)
            out.append(
                FigureSpec(
                    "utilisation",
                    kind,
                    "Staff utilisation",
                    "Hours of work started in each month as a share of the IPC hours each role "
                    "had available that month; grey: no capacity limit.",
                    _fig(ax),
                )
            )
        elif kind == "queues":
            ax = run_plots.plot_queues(timeseries)
            out.append(
                FigureSpec(
                    "queues",
                    kind,
                    "Queues for staff",
                    "People waiting for each role's time at the end of each month.",
                    _fig(ax),
                )
            )
        elif kind == "cost":
            roles = sorted(
                k for k in (summary.get("staff_cost_per_person_gbp") or {}) if k != "total"
            )
            if not roles:
                continue
            labels = {}
            if run.scenario is not None:
                labels = {
                    k: c.label or k
                    for spec in _site_specs(run.scenario)
                    for k, c in spec.cohorts.items()
                }
            by_cohort = run_plots.cost_breakdown(people, roles, by="cohort", labels=labels)
            by_budget = run_plots.cost_breakdown(people, roles, by="budget_type")
            rows = (len(by_cohort), len(by_budget))
            figure = style.new_figure((style.SLIDE_SIZE_IN[0], 0.85 * sum(rows) + 3.0))
            with style.style():
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
            out.append(
                FigureSpec(
                    "cost",
                    kind,
                    "Staff cost per person",
                    "Mean staff cost per referred person (hours x hourly cost, salary basis), "
                    "stacked by role; everyone referred counts, including those who left early. "
                    "Lines: reference costs from the evidence pack.",
                    figure,
                )
            )
        else:
            raise ReportError(
                f"--kind {kind}: not a figure of a run folder (use one of {', '.join(RUN_KINDS)})"
            )
    return out


def _default_factor(experiment: ExperimentFolder) -> str | None:
    best, levels = None, 1
    for factor in experiment.factors:
        column = experiment.summary[factor] if factor in experiment.summary.columns else None
        if column is None or not pd.api.types.is_numeric_dtype(column):
            continue
        n = column.nunique()
        if n > levels:
            best, levels = factor, n
    return best


def _spec(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    """The experiment spec recorded in a manifest (empty when there is none)."""
    spec = manifest.get("spec")
    return spec if isinstance(spec, Mapping) else {}


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


def _scenario_label(experiment: ExperimentFolder, name: str) -> str:
    """``s003 (baseline): planners 2, LTC frailty: referrals per month 6``."""
    rows = experiment.scenarios[experiment.scenarios["scenario"].astype(str) == name]
    flag = " (baseline)" if name == experiment.baseline else ""
    if rows.empty or not experiment.factors:
        return name + flag
    levels = ", ".join(
        f"{labels.factor_label(f).split(' (')[0].lower()} {_format_value(rows.iloc[0][f])}"
        for f in experiment.factors
    )
    return f"{name}{flag}: {levels}"


def _experiment_figures(
    experiment: ExperimentFolder, kinds: Sequence[str], options: PlotOptions
) -> list[FigureSpec]:
    targets, directions = _merged_targets(experiment, options)
    lead = experiment.scenario.pathway.lead_role if experiment.scenario is not None else "planner"
    kpis = (
        list(options.kpis)
        if options.kpis
        else _default_kpis(
            experiment.summary["kpi"].astype(str),
            targets,
            lead,
            list(_spec(experiment.manifest).get("kpis") or ()),
        )
    )
    out: list[FigureSpec] = []
    for kind in kinds:
        if kind == "capacity":
            factor = options.factor or _default_factor(experiment)
            if factor is None:
                continue
            if factor not in experiment.summary.columns:
                raise ReportError(
                    f"--factor {factor}: not a factor of this experiment "
                    f"(has: {', '.join(experiment.factors) or 'none'})"
                )
            for kpi in kpis:
                if kpi not in set(experiment.summary["kpi"].astype(str)):
                    raise ReportError(f"--kpi {kpi}: not in summary.parquet")
                direction = directions.get(kpi) or labels.kpi_direction(kpi)
                ax = experiment_plots.plot_capacity_whatif(
                    experiment.summary,
                    kpi=kpi,
                    factor=factor,
                    target=targets.get(kpi),
                    direction=direction,
                    criterion=options.criterion,
                )
                label, _unit = labels.kpi_label(kpi)
                caption = (
                    f"Mean over replications with its 95% confidence band, against "
                    f"{labels.factor_label(factor).lower()}."
                )
                if kpi in targets:
                    rule = "whole 95% CI" if options.criterion == "ci" else "mean"
                    better = "at or below" if direction == "lower" else "at or above"
                    caption += (
                        f" Dashed: target; star: the smallest level whose {rule} is {better} it."
                    )
                else:
                    caption += f" No target given for {kpi} (--target {kpi}=VALUE)."
                out.append(
                    FigureSpec(f"capacity-{kpi}", kind, f"What-if: {label}", caption, _fig(ax))
                )
        elif kind == "fan":
            scenario = options.scenario or experiment.baseline
            frame = replication_timeseries(experiment, scenario)
            if frame.empty:
                continue
            months = sorted(frame["month"].astype(str).unique())
            quarters = months[::3]
            target = _trajectory(quarters, options, 4.0, experiment.scenario)
            ax = experiment_plots.plot_throughput_fan(
                frame,
                series="plans_signed_off",
                period="quarter",
                target=target,
                target_label=_trajectory_label(options, experiment.scenario),
                title=f"Plans signed off per quarter, {scenario}"
                + (" (baseline)" if scenario == experiment.baseline else ""),
            )
            caption = (
                f"Scenario {_scenario_label(experiment, scenario)}. Median over replications "
                "with the bands that hold the middle 50% and 90% of replications."
            )
            if target is None:
                caption += " No target trajectory given (--trajectory START:END plans a year)."
            out.append(FigureSpec("fan", kind, "Throughput across replications", caption, _fig(ax)))
        elif kind == "tornado":
            if experiment.sensitivity is None or experiment.sensitivity.empty:
                continue
            present = list(dict.fromkeys(experiment.sensitivity["kpi"].astype(str)))
            for kpi in [k for k in kpis if k in present] or present[:2]:
                ax = experiment_plots.plot_tornado(experiment.sensitivity, kpi=kpi)
                label, _unit = labels.kpi_label(kpi)
                out.append(
                    FigureSpec(
                        f"tornado-{kpi}",
                        kind,
                        f"Sensitivity: {label}",
                        "Sensitivity index of each uncertain parameter, largest first, with its "
                        "bootstrap 95% CI where the method gives one.",
                        _fig(ax),
                    )
                )
        elif kind == "pathway":
            if experiment.scenario is None:
                continue
            ax = draw_pathway(experiment.scenario)
            out.append(
                FigureSpec(
                    "pathway",
                    kind,
                    "The pathway modelled (base scenario)",
                    "Drawn from the experiment's base config.",
                    _fig(ax),
                )
            )
        else:
            raise ReportError(
                f"--kind {kind}: not a figure of an experiment folder (use one of "
                f"{', '.join(EXPERIMENT_KINDS)})"
            )
    return out


def build_figures(
    folder: Folder, *, kinds: Sequence[str] | None = None, options: PlotOptions | None = None
) -> list[FigureSpec]:
    """The figures of a folder.

    Parameters
    ----------
    folder
        From :func:`read_folder`.
    kinds
        Figure kinds (:data:`RUN_KINDS` or :data:`EXPERIMENT_KINDS`); all when ``None``, and
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
    options = options or PlotOptions()
    if isinstance(folder, RunFolder):
        figures = _run_figures(folder, list(kinds or RUN_KINDS), options)
    else:
        figures = _experiment_figures(folder, list(kinds or EXPERIMENT_KINDS), options)
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
) -> list[Path]:
    """Save figures as ``<out_dir>/<name>.<format>``; returns the paths written."""
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for spec in figures:
            path = folder / f"{spec.name}.{image_format}"
            with style.style():
                spec.figure.savefig(path, format=image_format, metadata=_metadata(image_format))
            paths.append(path)
    except OSError as e:
        raise OutputError(f"cannot write figures to {folder}: {e.strerror or e}") from e
    return paths


def _metadata(image_format: str) -> dict[str, Any]:
    # No creation date in SVG/PNG metadata: the same outputs give the same files.
    return {"Date": None} if image_format == "svg" else {}


def _data_uri(spec: FigureSpec, image_format: str) -> str:
    buffer = _io.BytesIO()
    with style.style():
        spec.figure.savefig(
            buffer,
            format=image_format,
            dpi=110 if image_format == "png" else None,
            metadata=_metadata(image_format),
        )
    mime = "image/svg+xml" if image_format == "svg" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


# --------------------------------------------------------------------------- parameters
def evidence_ids(description: str) -> str:
    """Evidence IDs (``P12``, ``§1.6``) or ``"assumption"`` named in a field description.

    Parameters
    ----------
    description
        A pydantic field description from :mod:`ipcsim.scenario`.

    Returns
    -------
    str
        The IDs joined by ", " (``"P53, P54"``), ``"assumption"`` when the description says
        so and names no ID (both when it does both), or ``""`` when it names neither.
    """
    ids = list(dict.fromkeys(_EVIDENCE.findall(description)))
    ids += list(dict.fromkeys(s.replace(" ", "") for s in _SECTION.findall(description)))
    if "assumption" in description.lower():
        ids.append("assumption")
    return ", ".join(ids)


def _field_infos(path: Sequence[str]) -> list[Any]:
    """FieldInfos along a dotted path through :class:`Scenario` (dict keys skipped)."""
    infos: list[Any] = []
    model: Any = Scenario
    i = 0
    while i < len(path) and isinstance(model, type) and issubclass(model, BaseModel):
        info = model.model_fields.get(path[i])
        if info is None:
            break
        infos.append(info)
        annotation = info.annotation
        origin = typing.get_origin(annotation)
        i += 1
        if origin is dict:
            model = typing.get_args(annotation)[1]
            i += 1  # the dict key (cohort or role name)
        elif origin is tuple:
            model = typing.get_args(annotation)[0]
            i += 1
        else:
            model = annotation
    return infos


def _field_description(path: Sequence[str]) -> tuple[str, str]:
    """(description of the leaf, evidence: the leaf's IDs, else the nearest parent's)."""
    infos = _field_infos(path)
    if not infos:
        return "", ""
    leaf = infos[-1].description or ""
    for info in reversed(infos):
        found = evidence_ids(info.description or "")
        if found:
            return leaf, found
    return leaf, ""


def _default_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config every field would have by default, with the same cohorts and roles."""
    from ipcsim.scenario import Cohort, Role

    cohorts = {k: Cohort() for k in (config.get("cohorts") or {})}
    roles = {k: Role() for k in (config.get("workforce") or {})}
    dumped: dict[str, Any] = Scenario.model_construct(cohorts=cohorts, workforce=roles).model_dump(
        mode="json", by_alias=True
    )
    return dumped


def _lookup(data: Any, path: Sequence[str]) -> tuple[bool, Any]:
    for part in path:
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        else:
            return False, None
    return True, data


def _format_value(value: Any) -> str:
    if isinstance(value, Mapping) and "dist" in value:
        return describe_distribution(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_format_value(v)}" for k, v in value.items()) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, list | tuple):
        return "; ".join(_format_value(v) for v in value)
    if value is None:
        return "not set"
    return str(value)


def _flatten(data: Any, prefix: tuple[str, ...] = ()) -> Iterable[tuple[tuple[str, ...], Any]]:
    if (
        isinstance(data, Mapping)
        and "dist" not in data
        and not (prefix and prefix[-1] in {"effort_hours"})
    ):
        for key, value in data.items():
            yield from _flatten(value, (*prefix, str(key)))
    else:
        yield prefix, data


def _key_paths(config: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """The key parameters shown in the report's scenario table, in reading order."""
    paths: list[tuple[str, ...]] = [("run", "start_date"), ("run", "horizon_days"), ("run", "seed")]
    for name in config.get("cohorts") or {}:
        for key in (
            "referrals_per_month",
            "offer_acceptance",
            "sessions",
            "withdrawal_hazard_per_month_waiting",
            "budget_probability",
        ):
            paths.append(("cohorts", name, key))
    for name, role in (config.get("workforce") or {}).items():
        size = "fte" if isinstance(role, Mapping) and role.get("fte") is not None else "headcount"
        for key in (size, "ipc_share", "caseload_cap", "hourly_cost_gbp"):
            paths.append(("workforce", name, key))
    paths += [
        ("pathway", "lead_role"),
        ("pathway", "consent_to_first_appointment_days"),
        ("pathway", "plan_writing", "effort_hours"),
        ("pathway", "budget_setting", "effort_hours"),
        ("signoff", "mode"),
    ]
    mode = (config.get("signoff") or {}).get("mode", "panel")
    if mode == "panel":
        paths += [
            ("signoff", "panel", "interval_days"),
            ("signoff", "panel", "max_plans_per_sitting"),
        ]
    elif mode == "individual":
        paths += [("signoff", "individual", "delay_days")]
    paths += [("signoff", "rework_probability"), ("signoff", "budget_decline_probability")]
    for kind in ("direct_payment", "notional", "third_party"):
        paths += [("budget_release", kind, "processing_delay_days")]
    return paths


def parameter_rows(config: Mapping[str, Any], *, key_only: bool = True) -> list[dict[str, str]]:
    """Rows of the scenario table: parameter, value, meaning, evidence and who set it.

    Parameters
    ----------
    config
        A resolved scenario as JSON data (``manifest.json``'s ``config``).
    key_only
        Only the key parameters (run, cohorts' demand, staffing, sign-off, payment delays);
        every leaf of the config when ``False``.

    Returns
    -------
    list of dict
        ``parameter`` (dotted key), ``value`` (formatted), ``meaning`` (the schema's field
        description), ``evidence`` (IDs from the description, see :func:`evidence_ids`; the
        nearest parent field's when the leaf names none), ``set_by`` (``"default"`` when the
        value is the schema default, else ``"scenario"``).
    """
    defaults = _default_config(config)
    if key_only:
        paths = [p for p in _key_paths(config) if _lookup(config, p)[0]]
    else:
        paths = [p for p, _ in _flatten(config) if p and p[0] not in {"name", "description"}]
    rows = []
    for path in paths:
        _found, value = _lookup(config, path)
        has_default, default = _lookup(defaults, path)
        meaning, evidence = _field_description(path)
        rows.append(
            {
                "parameter": ".".join(path),
                "value": _format_value(value),
                "meaning": meaning,
                "evidence": evidence,
                "set_by": "default" if has_default and default == value else "scenario",
            }
        )
    return rows


# --------------------------------------------------------------------------- text helpers
def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _todo(text: str) -> str:
    return f'<span class="todo">✎ {TODO}</span> <span class="todo-text">{_e(text)}</span>'


def _fmt_kpi(kpi: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    number = float(value) * labels.kpi_scale(kpi)
    _label, unit = labels.kpi_label(kpi)
    if unit == "days":
        return f"{number:,.1f}"
    if unit == "%":
        return f"{number:.0f}%"
    if unit == "£":
        return f"£{number:,.0f}"
    return f"{number:,.1f}" if abs(number) < 100 else f"{number:,.0f}"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _versions(manifest: Mapping[str, Any]) -> str:
    versions = manifest.get("versions")
    if not isinstance(versions, Mapping):
        return ""
    python = versions.get("python")
    parts = [f"Python {python}"] if python else []
    parts += [f"{k} {v}" for k, v in versions.items() if k != "python"]
    return ", ".join(parts)


def _search(data: Any, names: Sequence[str], depth: int = 0) -> Any:
    """The first value under any of ``names`` in nested mappings (breadth-first by level)."""
    if not isinstance(data, Mapping) or depth > 3:
        return None
    for name in names:
        if name in data and data[name] is not None:
            return data[name]
    for value in data.values():
        if isinstance(value, Mapping) and value is not data.get("config"):
            found = _search(value, names, depth + 1)
            if found is not None:
                return found
    return None


# --------------------------------------------------------------------------- STRESS-DES
@dataclass(frozen=True)
class StressItem:
    """One STRESS-DES item: its number, name, HTML content and whether it is still to write."""

    number: str
    name: str
    content: str
    todo: bool = False


def _warmup_text(warmup: Any, manifest: Mapping[str, Any]) -> str:
    """What warm-up was removed, from the manifest's ``warmup`` record."""
    if not isinstance(warmup, Mapping):
        return f"Warm-up: {_e(_format_value(warmup))}."
    mode = str(warmup.get("mode", "")).lower()
    if mode in {"none", ""} and not warmup.get("days"):
        return "No warm-up period is removed (the spec asks for none)."
    if mode == "fixed":
        return f"A fixed warm-up of {_e(_format_value(warmup.get('days')))} days is removed."
    days = manifest.get("warmup_days") or warmup.get("days")
    text = (
        "Warm-up chosen by MSER-5 (White et al.) on the mean weekly series of "
        f"{_e(_format_value(_spec(manifest).get('warmup', {}).get('pilot_replications', 'pilot')))}"
        " pilot replications of the baseline"
        if "mser" in mode
        else f"Warm-up mode {_e(mode)}"
    )
    if isinstance(days, Mapping) and days:
        values = [float(v) for v in days.values() if isinstance(v, int | float)]
        spec_kpis = [k for k in _spec(manifest).get("kpis") or () if k in days]
        shown = ", ".join(f"{_e(k)} {float(days[k]):g} d" for k in spec_kpis)
        text += (
            f", one truncation per KPI from {min(values):g} to {max(values):g} days"
            + (f" ({shown})" if shown else "")
            if values
            else ""
        )
    elif isinstance(days, int | float):
        text += f": {float(days):g} days"
    return text + ". Each KPI then uses only the time after its warm-up."


def _site_specs(scenario: Scenario) -> list[SiteConfig]:
    """Every site of a scenario, resolved (the scenario itself when it has one site)."""
    return list(getattr(scenario, "site_configs", None) or [scenario])


def _sites_note(scenario: Scenario) -> str:
    """``""``, or which site a multi-site description shows."""
    specs = _site_specs(scenario)
    if len(specs) == 1:
        return ""
    return f" (site {specs[0].site.name}, the first of {len(specs)}; see the parameter table)"


def _cohort_text(scenario: Scenario) -> str:
    specs = _site_specs(scenario)
    rows = [
        f"{_e(c.label or name)} ({_e(name)}): {c.referrals_per_month:g} referrals a month"
        for name, c in specs[0].cohorts.items()
    ]
    text = "People referred to IPC, one SimPy process each, in cohorts: "
    if len(specs) > 1:
        total = sum(c.referrals_per_month for spec in specs for c in spec.cohorts.values())
        text = (
            f"People referred to IPC at {len(specs)} sites ({total:g} referrals a month in "
            f"all), one SimPy process each; at {_e(specs[0].site.name)}: "
        )
    return text + "; ".join(rows) + "."


def _resource_text(scenario: Scenario) -> str:
    rows = []
    for name, role in sorted(_site_specs(scenario)[0].workforce.items()):
        if role.unlimited:
            rows.append(f"{_e(name)}: unlimited")
            continue
        fte = sum(role.member_fte())
        cap = f", caseload cap {role.caseload_cap}" if role.caseload_cap else ""
        rows.append(
            f"{_e(name)}: {fte:g} WTE, {role.ipc_hours_per_week():.1f} IPC hours a week "
            f"per WTE, £{role.hourly_cost_gbp:g}/h{cap}"
        )
    return (
        "Staff pools in working hours: each person earns IPC hours while their working "
        "window is open (contracted hours x IPC share x (1 - leave share)) and banks at "
        f"most one week of them{_e(_sites_note(scenario))}. " + "; ".join(rows) + "."
    )


def _signoff_text(scenario: Scenario) -> str:
    """Sign-off as the active mode describes itself, and the shares returned or declined."""
    s = _site_specs(scenario)[0].signoff
    return (
        f"Sign-off by {s.describe().text}; {s.rework_probability:.0%} of plans are returned "
        f"for rework (one more conversation, then resubmission), "
        f"{s.plan_decline_probability:.0%} declined; {s.budget_decline_probability:.0%} of "
        f"budget requests declined{_sites_note(scenario)}."
    )


def stress_items(folder: Folder, *, pathway_image: str | None = None) -> list[StressItem]:
    """The STRESS-DES items, filled from the folder's config and manifest.

    Parameters
    ----------
    folder
        From :func:`read_folder`.
    pathway_image
        HTML of the pathway diagram for item 2.1 (an ``<img>``), if drawn.

    Returns
    -------
    list of StressItem
        Items 1.1-6.1 of STRESS-DES; ``todo`` is True where the content must still be written
        by a person (its text then says what to write).
    """
    manifest = folder.manifest
    scenario = folder.scenario
    items: list[StressItem] = []

    def add(number: str, name: str, content: str, todo: bool = False) -> None:
        items.append(StressItem(number, name, content, todo))

    # 1 Objectives
    purpose = f"<p>{_e(PROJECT_QUESTION)}</p>"
    if scenario is not None and scenario.description:
        purpose += f"<p>This scenario: {_e(scenario.description)}</p>"
    add("1.1", "Purpose of the model", purpose)
    if isinstance(folder, ExperimentFolder):
        kpis = sorted(set(folder.summary["kpi"].astype(str)))
        outputs = ", ".join(_e(labels.kpi_label(k)[0]) for k in kpis)
        add(
            "1.2",
            "Model outputs",
            f"<p>Per scenario, mean and 95% CI over replications of: {outputs}.</p>",
        )
    else:
        add(
            "1.2",
            "Model outputs",
            "<p>Per run: referrals, plans signed off and budgets released per month and "
            "quarter; how every referral ended; waits between milestones (mean, median, 90th "
            "percentile, days); staff utilisation and queues by role and month; staff hours "
            "and cost per referred person by role.</p>",
        )
    question = _search(manifest, ("question", "objective", "objectives"))
    if not (isinstance(question, str) and question.strip()):
        question = _spec(manifest).get("description")
    if isinstance(folder, ExperimentFolder):
        factor_text = (
            "; ".join(
                f"{_e(labels.factor_label(f))} ({_e(f)}): "
                + ", ".join(
                    _e(_format_value(v))
                    for v in sorted(folder.scenarios[f].dropna().unique(), key=str)
                )
                for f in folder.factors
            )
            or "no factors recorded"
        )
        aims = f"<p>Factors varied: {factor_text}. Baseline: {_e(folder.baseline)}.</p>"
        if isinstance(question, str) and question.strip():
            add("1.3", "Experimentation aims", f"<p>{_e(question)}</p>{aims}")
        else:
            add(
                "1.3",
                "Experimentation aims",
                aims
                + "<p>"
                + _todo(
                    "State the question these scenarios answer and what "
                    "result would change a decision."
                )
                + "</p>",
                todo=True,
            )
    else:
        add(
            "1.3",
            "Experimentation aims",
            "<p>One scenario, one replication.</p><p>"
            + _todo(
                "State what this run is for (a base case, a check against the evaluation's "
                "figures, a demonstration) and what would count as a useful answer."
            )
            + "</p>",
            todo=True,
        )

    # 2 Logic
    if pathway_image:
        add("2.1", "Base model overview diagram", pathway_image)
    else:
        add(
            "2.1",
            "Base model overview diagram",
            "<p>"
            + _todo(
                "The config did not validate against this version of ipcsim, so no "
                "diagram was drawn; add one."
            )
            + "</p>",
            todo=True,
        )
    if scenario is not None:
        logic = (
            "<p>One SimPy process per referred person follows the pathway in order: referral "
            "and information gathering; invitation and consent (or decline); an admin lag; "
            "allocation to a lead practitioner (first come, first served, withdrawing at a "
            "monthly hazard while waiting); planning conversations with the same "
            "practitioner; writing and circulating the plan; sign-off; budget setting; "
            "payment set-up and release by budget type; reviews with the same practitioner, "
            f"competing with new planning for their time. Lead role: "
            f"{_e(scenario.pathway.lead_role)}.</p><p>{_e(_signoff_text(scenario))}</p>"
        )
        add("2.2", "Base model logic", logic)
    else:
        add(
            "2.2",
            "Base model logic",
            "<p>"
            + _todo("Describe the model logic (the config in manifest.json did not validate).")
            + "</p>",
            todo=True,
        )
    if isinstance(folder, ExperimentFolder):
        rows = []
        for _, row in folder.scenarios.iterrows():
            values = ", ".join(f"{_e(f)} = {_e(_format_value(row[f]))}" for f in folder.factors)
            flag = " (baseline)" if str(row["scenario"]) == folder.baseline else ""
            rows.append([_e(row["scenario"]) + flag, values or "–"])
        add(
            "2.3",
            "Scenario logic",
            "<p>Each scenario is the base config with the overrides below; the logic is "
            "unchanged.</p>" + _table(["scenario", "overrides"], rows, cls="compact"),
        )
    else:
        add(
            "2.3",
            "Scenario logic",
            "<p>A single scenario: the config as shown in the "
            '<a href="#parameters">parameter table</a>; no alternative logic.</p>',
        )
    add(
        "2.4",
        "Algorithms",
        "<p>Poisson arrivals per cohort; each person's random quantities (sessions, durations, "
        "decisions) drawn when they are referred, from the distributions in the config "
        "(fixed, exponential, uniform, triangular, lognormal by median and 95th percentile or "
        "mean and sd, gamma, discrete). Staff time from working-hours banks on a working "
        "calendar. Percentiles interpolate linearly. Confidence intervals: Student-t on the "
        "mean of independent replications; paired-t for differences under common random "
        "numbers.</p>",
    )
    if scenario is not None:
        add("2.5.1", "Entities", f"<p>{_cohort_text(scenario)}</p>")
        add(
            "2.5.2",
            "Activities",
            "<p>Referral, invitation, conversations, plan writing and circulation, sign-off, "
            "budget setting, payment set-up, reviews; their staff hours and delays are in the "
            'diagram (2.1) and the <a href="#parameters">parameter table</a>.</p>',
        )
        add("2.5.3", "Resources", f"<p>{_resource_text(scenario)}</p>")
        first = _site_specs(scenario)[0]
        lead_role = first.workforce.get(first.pathway.lead_role)
        cap = lead_role.caseload_cap if lead_role is not None else None
        add(
            "2.5.4",
            "Queues",
            "<p>One first-come-first-served queue per staff role; a person keeps the same lead "
            "practitioner"
            + (f", who holds at most {cap} open planning cases" if cap else "")
            + ". Plans wait for the next panel sitting"
            + (
                f", which reviews at most {per_sitting}"
                if (per_sitting := first.signoff.describe().max_plans_per_sitting)
                else ""
            )
            + ".</p>",
        )
        add(
            "2.5.5",
            "Entry and exit points",
            "<p>Entry: Poisson referrals per cohort from day 0. Exit: offer declined, withdrew "
            "(at once or while waiting), plan declined, no budget, budget declined, payment "
            "not operational, budget released; people still in the pathway at the horizon are "
            "counted as in progress.</p>",
        )

    # 3 Data
    config = folder.config or {}
    all_rows = parameter_rows(config, key_only=False) if config else []
    with_ids = sum(1 for r in all_rows if _EVIDENCE.search(r["evidence"]))
    assumed = [r for r in all_rows if r["evidence"] == "assumption"]
    add(
        "3.1",
        "Data sources",
        "<p>Every default comes from the IPC evidence pack (parameter IDs P01-P80), which "
        "collects the figures of the SQW-led final evaluation of the IPC programme (2019), "
        "the South West regional evaluation, the PIRU/ESHCRU advisory note and the DHSC and "
        "RAND summaries, or is marked as an assumption. "
        f"Of this scenario's {len(all_rows)} parameters, {with_ids} cite evidence IDs and "
        f"{len(assumed)} are assumptions only.</p>",
    )
    add(
        "3.2",
        "Pre-processing",
        "<p>"
        + _todo(
            "Describe how source figures were turned into inputs for this study "
            "(scaling referral rates to the site, choosing distribution shapes), "
            "beyond the derivations recorded in the evidence pack."
        )
        + "</p>",
        todo=True,
    )
    add(
        "3.3",
        "Input parameters",
        'See the <a href="#parameters">parameter table</a>: value, meaning and unit, evidence '
        "ID and whether the scenario file or the default set it.",
    )
    shown = ", ".join(_e(r["parameter"]) for r in assumed[:12])
    more = f" and {len(assumed) - 12} more" if len(assumed) > 12 else ""
    add(
        "3.4",
        "Assumptions",
        f"<p>{len(assumed)} parameters rest on assumptions alone: {shown or 'none'}{more}. "
        "Staff capacity is in working hours; panel members' availability is represented by "
        "the panel's cadence"
        + (
            "."
            if scenario is not None and getattr(scenario, "initial_state", None)
            else "; the model starts empty."
        )
        + "</p>",
    )

    # 4 Experimentation
    if scenario is not None:
        start = scenario.run.start_date.isoformat()
        horizon = scenario.run.horizon_days
    else:
        start, horizon = "unknown", math.nan
    backlog = getattr(scenario, "initial_state", None) if scenario is not None else None
    starts = (
        f"The model starts on {_e(start)} with the people listed in <code>{_e(backlog)}</code> "
        "already in the pathway (a backlog)"
        if backlog
        else f"The model starts empty on {_e(start)} (no one in the pathway, no backlog)"
    )
    warmup = _search(manifest, ("warmup", "warm_up", "warmup_days", "warm_up_days"))
    if isinstance(folder, ExperimentFolder) and warmup is not None:
        add(
            "4.1",
            "Initialisation",
            f"<p>{starts}. {_warmup_text(warmup, manifest)}</p>",
        )
    elif isinstance(folder, ExperimentFolder):
        add(
            "4.1",
            "Initialisation",
            f"<p>{starts}.</p><p>"
            + _todo(
                "Say whether a warm-up period was removed and how it was chosen (the "
                "manifest records none)."
            )
            + "</p>",
            todo=True,
        )
    else:
        add(
            "4.1",
            "Initialisation",
            f"<p>{starts}; no warm-up period is removed: results include the start-up"
            + ("." if backlog else ", as a new service would.")
            + "</p>",
        )
    years = horizon / 365.25 if math.isfinite(horizon) else math.nan
    add("4.2", "Run length", f"<p>{horizon:g} days ({years:.1f} years) from {_e(start)}.</p>")
    if isinstance(folder, ExperimentFolder):
        reps = folder.replications.groupby("scenario")["replication"].nunique()
        rep_text = (
            f"{int(reps.min())}"
            if reps.min() == reps.max()
            else f"{int(reps.min())}-{int(reps.max())}"
        )
        seed = _search(manifest, ("master_seed", "seed"))
        rule = _spec(manifest).get("replications") or _search(
            manifest, ("replication_rule", "precision", "relative_precision")
        )
        text = (
            f"<p>{rep_text} replications per scenario ({len(reps)} scenarios), master seed "
            f"{_e(seed if seed is not None else 'not recorded')}; 95% Student-t CIs of the "
            "mean; paired differences against the baseline under common random numbers "
            "(the same referral gets the same draws in every scenario)."
        )
        if isinstance(rule, Mapping) and rule.get("mode") == "fixed":
            text += f" Replications fixed at {_e(rule.get('n'))} by the spec."
        elif isinstance(rule, Mapping) and rule.get("mode"):
            text += (
                f" Replications added until the 95% CI half-width is within "
                f"{_e(_format_value(rule.get('relative_precision')))} of the mean (Hoad, "
                f"Robinson and Davies), at most {_e(rule.get('max'))}."
            )
        elif rule is not None:
            text += f" Replications rule: {_e(_format_value(rule))}."
        add("4.3", "Estimation approach", text + "</p>")
    else:
        add(
            "4.3",
            "Estimation approach",
            f"<p>One replication, seed {_e(manifest.get('seed', 'not recorded'))}. A single "
            "run is one sample: its figures carry no confidence interval. Use "
            "<code>ipcsim experiment</code> for replications and CIs.</p>",
        )

    # 5 Implementation
    add(
        "5.1",
        "Software",
        f"<p>ipcsim {_e(manifest.get('ipcsim_version', 'unknown'))} "
        f"(Python, SimPy); {_e(_versions(manifest)) or 'versions not recorded'}.</p>",
    )
    streams = manifest.get("rng_streams")
    n_streams = f"{len(streams)} named" if isinstance(streams, list) else "named"
    add(
        "5.2",
        "Random sampling",
        f"<p>numpy PCG64 generators from <code>SeedSequence</code>: {n_streams} streams, one "
        "per stochastic process and cohort, spawned in sorted-name order from the master seed, "
        "so each referral gets the same draws in every scenario with the same seed (common "
        "random numbers).</p>",
    )
    add(
        "5.3",
        "Model execution",
        "<p>Process-based discrete-event simulation (SimPy): one generator per referred "
        "person; staff pools release work when a member is free and has banked enough hours "
        "inside working time. Times are float days since the start date.</p>",
    )
    found_platform = manifest.get("platform")
    platform: Mapping[str, Any] = found_platform if isinstance(found_platform, Mapping) else {}
    wall = _search(manifest, ("wall_time_s",))
    system = ", ".join(
        str(v)
        for v in (
            platform.get("system"),
            platform.get("machine"),
            f"{platform.get('cpu_count')} CPUs" if platform.get("cpu_count") else None,
        )
        if v
    )
    wall_text = f"{float(wall):.1f} s" if isinstance(wall, int | float) else "not recorded"
    add(
        "5.4",
        "System specification",
        f"<p>{_e(system or 'platform not recorded')}; wall time {_e(wall_text)}; made "
        f"{_e(manifest.get('created_utc', _search(manifest, ('created_utc',)) or 'unknown'))}"
        " (UTC). Processor model and memory are not recorded.</p>",
    )

    # 6 Code access
    commit = _search(manifest, ("git_commit",))
    dirty = _search(manifest, ("git_dirty",))
    state = ("with uncommitted changes" if dirty else "clean") if dirty is not None else ""
    code = (
        f"<p>ipcsim (MIT licence), git commit <code>{_e(commit)}</code> {state}.</p>"
        if commit
        else "<p>Git commit not recorded.</p>"
    )
    add(
        "6.1",
        "Computer model sharing statement",
        code + "<p>" + _todo("Give the repository's public location and how to cite it.") + "</p>",
        todo=True,
    )
    return items


# --------------------------------------------------------------------------- HTML
_CSS = """
:root { --ink:#1d2733; --muted:#5b6573; --line:#dfe3e8; --accent:#0072B2; --warn:#b54708;
        --warnbg:#fff4e5; --card:#f6f8fa; }
* { box-sizing: border-box; }
body { margin:0; font-family:"DejaVu Sans", "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color:var(--ink); background:#fff; line-height:1.5; font-size:16px; }
main { max-width:1180px; margin:0 auto; padding:28px 32px 60px; }
header.top { background:#0b3c5d; color:#fff; padding:26px 32px 22px; }
header.top .inner { max-width:1180px; margin:0 auto; }
header.top h1 { margin:0 0 6px; font-size:30px; }
header.top p { margin:4px 0; color:#d7e3ee; }
.badges span { display:inline-block; margin:10px 8px 0 0; padding:3px 10px; border-radius:12px;
               background:rgba(255,255,255,.15); font-size:14px; }
.question { font-size:20px; border-left:5px solid var(--accent); padding:6px 16px;
            margin:8px 0 20px; background:var(--card); }
h2 { font-size:23px; margin:38px 0 12px; padding-bottom:6px; border-bottom:2px solid var(--line); }
h3 { font-size:18px; margin:22px 0 8px; }
.cards { display:grid; grid-template-columns:repeat(auto-fit, minmax(200px, 1fr)); gap:14px;
         margin:14px 0; }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px;
        padding:14px 16px; }
.card .value { font-size:30px; font-weight:bold; color:var(--accent); }
.card .label { font-size:14px; color:var(--muted); }
.card .ci { font-size:13px; color:var(--muted); }
.callout { border:2px solid var(--warn); background:var(--warnbg); border-radius:10px;
           padding:12px 18px; margin:18px 0; }
.callout.info { border-color:#9ab; background:#f2f7fb; }
.callout.answer { border-color:#0072B2; background:#eef6fc; }
.callout.answer table { margin:8px 0 2px; background:#fff; }
.todo { display:inline-block; background:var(--warn); color:#fff; font-weight:bold;
        border-radius:4px; padding:1px 7px; font-size:13px; letter-spacing:.03em; }
.todo-text { color:var(--warn); font-style:italic; }
table { border-collapse:collapse; width:100%; margin:10px 0 16px; font-size:14.5px; }
th, td { text-align:left; padding:6px 10px; border-bottom:1px solid var(--line);
         vertical-align:top; }
thead th { background:#eef2f6; font-size:13.5px; text-transform:uppercase; letter-spacing:.03em; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
table.params td:nth-child(4) { white-space:nowrap; font-weight:bold; color:#0b3c5d; }
table.compact { font-size:13.5px; }
table.stress { table-layout:fixed; }
table.stress th:nth-child(1) { width:70px; }
table.stress th:nth-child(2) { width:230px; }
table.stress img { max-width:100%; }
table.stress td p { margin:0 0 6px; }
.kpi-columns { display:grid; grid-template-columns:1fr 1fr; gap:0 28px; }
tr.todo-row td { background:var(--warnbg); }
.set-scenario { color:#0b3c5d; font-weight:bold; }
table.pivot td.num { text-align:right; }
table.pivot thead th:not(:first-child) { text-align:right; }
table.pivot tr.evidence td { background:#f6f8fa; color:#0b3c5d; font-size:13px; font-weight:bold;
  text-align:right; border-bottom:2px solid var(--line); }
table.pivot tr.evidence td:first-child { text-align:left; color:var(--muted); font-weight:normal; }
.set-default { color:var(--muted); }
figure { margin:18px 0 30px; }
figure img { width:100%; height:auto; border:1px solid var(--line); border-radius:8px; }
figcaption { color:var(--muted); font-size:14.5px; margin-top:6px; }
nav.toc { font-size:15px; margin:6px 0 18px; }
nav.toc a { margin-right:16px; color:var(--accent); text-decoration:none; }
details summary { cursor:pointer; color:var(--accent); margin:8px 0; }
code { background:#eef2f6; padding:1px 5px; border-radius:4px; font-size:90%; }
footer { color:var(--muted); font-size:13px; margin-top:40px; border-top:1px solid var(--line);
         padding-top:10px; }
"""


def _img(spec: FigureSpec, image_format: str) -> str:
    return (
        f'<img src="{_data_uri(spec, image_format)}" alt="{_e(spec.title)}" '
        f'id="img-{_e(spec.name)}">'
    )


def _card(label: str, value: str, note: str = "") -> str:
    extra = f'<div class="ci">{_e(note)}</div>' if note else ""
    return (
        f'<div class="card"><div class="value">{_e(value)}</div>'
        f'<div class="label">{_e(label)}</div>{extra}</div>'
    )


def _run_headline(run: RunFolder) -> tuple[str, str]:
    """(cards HTML, full KPI table HTML) of a run."""
    summary = run.summary
    per_quarter = summary.get("throughput_mean_per_quarter") or {}
    waits = summary.get("waits_days") or {}
    first = waits.get("referral_to_first_conversation") or {}
    util = summary.get("utilisation") or {}
    lead = run.scenario.pathway.lead_role if run.scenario is not None else "planner"
    cost = (summary.get("staff_cost_per_person_gbp") or {}).get("total")
    cards = []
    if per_quarter.get("plans_signed_off") is not None:
        cards.append(
            _card("plans signed off per year", f"{4 * per_quarter['plans_signed_off']:,.0f}")
        )
    if per_quarter.get("budgets_released") is not None:
        cards.append(
            _card("budgets released per year", f"{4 * per_quarter['budgets_released']:,.0f}")
        )
    if first.get("mean") is not None:
        cards.append(
            _card(
                "days from referral to first conversation (mean)",
                f"{first['mean']:.1f}",
                f"90th percentile {first['p90']:.1f} days",
            )
        )
    if util.get(lead) is not None:
        cards.append(
            _card(f"{lead} utilisation", f"{100 * util[lead]:.0f}%", "of IPC hours available")
        )
    if cost is not None:
        cards.append(_card("staff cost per referred person", f"£{cost:,.0f}"))
    rows = [
        [_e(label), f'<span class="num">{_e(value)}</span>']
        for label, value in labels.kpi_table(summary)
    ]
    half = (len(rows) + 1) // 2
    table = (
        '<div class="kpi-columns">'
        + _table(["KPI", "value"], rows[:half], cls="compact")
        + _table(["KPI", "value"], rows[half:], cls="compact")
        + "</div>"
    )
    return '<div class="cards">' + "".join(cards) + "</div>", table


def _ratio_text(value: Any) -> str:
    """``"3.2x"``, or an en dash when there is no finite value."""
    if value is None or not math.isfinite(float(value)):
        return "–"
    return f"{float(value):.1f}x"


def _ci_text(kpi: str, row: Mapping[Any, Any]) -> str:
    low, high = row.get("ci_low"), row.get("ci_high")
    if (
        low is None
        or high is None
        or not (math.isfinite(float(low)) and math.isfinite(float(high)))
    ):
        return ""
    return f"95% CI {_fmt_kpi(kpi, low)} to {_fmt_kpi(kpi, high)}"


def _target_answers(
    experiment: ExperimentFolder,
    targets: Mapping[str, float],
    directions: Mapping[str, labels.Direction],
    options: PlotOptions,
) -> str:
    """A box saying, per target, the smallest level of the main factor that meets it."""
    factor = options.factor or _default_factor(experiment)
    summary = experiment.summary
    if factor is None or not targets or factor not in summary.columns:
        return ""
    others = [f for f in experiment.factors if f != factor and f in summary.columns]
    others = [f for f in others if summary[f].nunique() > 1]
    rule = "the whole 95% CI" if options.criterion == "ci" else "the mean"
    rows = []
    groups_seen: list[str] = []
    for kpi, target in targets.items():
        data = summary[summary["kpi"].astype(str) == kpi]
        if data.empty:
            continue
        direction = directions.get(kpi) or labels.kpi_direction(kpi)
        groups = list(data.groupby(others, sort=True)) if others else [((), data)]
        cells = []
        for key, group in groups:
            keys = key if isinstance(key, tuple) else (key,)
            label = (
                ", ".join(
                    f"{labels.factor_label(o).split(' (')[0].lower()} {_format_value(v)}"
                    for o, v in zip(others, keys, strict=True)
                )
                or "all scenarios"
            )
            if label not in groups_seen:
                groups_seen.append(label)
            x = group[factor].to_numpy(dtype=float)
            mean = group["mean"].to_numpy(dtype=float)
            bound = group["ci_high" if direction == "lower" else "ci_low"].to_numpy(dtype=float)
            best = experiment_plots.smallest_level_meeting(
                x, mean if options.criterion == "mean" else bound, target, direction=direction
            )
            cells.append("none tried" if best is None else f"<b>{best:g}</b>")
        sign = "≤" if direction == "lower" else "≥"
        label, unit = labels.kpi_label(kpi)
        shown = _fmt_kpi(kpi, target) + (f" {unit}" if unit == "days" else "")
        rows.append([f"{_e(label)} {sign} {_e(shown)}", *cells])
    if not rows:
        return ""
    headers = ["target", *groups_seen]
    return (
        '<div class="callout answer"><b>Smallest level of '
        f"{_e(labels.factor_label(factor).lower())} that meets each target</b> ({_e(rule)} "
        "of the scenario must meet it; targets given with the report):"
        + _table(headers, rows, cls="compact")
        + "</div>"
    )


def _experiment_headline(
    experiment: ExperimentFolder, targets: Mapping[str, float]
) -> tuple[str, str]:
    """(cards of the baseline, scenario x KPI table with CIs, paired differences)."""
    summary = experiment.summary
    kpis_present = list(dict.fromkeys(summary["kpi"].astype(str)))
    lead = experiment.scenario.pathway.lead_role if experiment.scenario is not None else "planner"
    spec_kpis = [k for k in _spec(experiment.manifest).get("kpis") or () if k in kpis_present]
    kpis = spec_kpis or [k for k in (*_HEADLINE_KPIS, f"utilisation_{lead}") if k in kpis_present]
    kpis += [k for k in targets if k in kpis_present and k not in kpis]
    kpis = kpis or kpis_present[:6]
    base = summary[summary["scenario"].astype(str) == experiment.baseline]
    cards = []
    for kpi in kpis[:5]:
        row = base[base["kpi"] == kpi]
        if row.empty:
            continue
        record = row.iloc[0].to_dict()
        label, unit = labels.kpi_label(kpi)
        suffix = f" ({unit})" if unit in {"days"} else ""
        cards.append(
            _card(
                f"{label}{suffix}, baseline", _fmt_kpi(kpi, record["mean"]), _ci_text(kpi, record)
            )
        )
    order = list(dict.fromkeys(experiment.scenarios["scenario"].astype(str)))
    headers = ["scenario", *[labels.factor_label(f) for f in experiment.factors]]
    headers += [
        labels.kpi_label(k)[0]
        + (f" ({labels.kpi_label(k)[1]})" if labels.kpi_label(k)[1] in {"days", "%", "£"} else "")
        for k in kpis
    ]
    rows = []
    by_scenario = {str(s): g for s, g in summary.groupby(summary["scenario"].astype(str))}
    scen_rows = experiment.scenarios.set_index(experiment.scenarios["scenario"].astype(str))
    for name in order:
        group = by_scenario.get(name)
        cells = [_e(name) + (" <b>(baseline)</b>" if name == experiment.baseline else "")]
        cells += [
            f'<span class="num">{_e(_format_value(scen_rows.loc[name, f]))}</span>'
            for f in experiment.factors
        ]
        for kpi in kpis:
            found = group[group["kpi"] == kpi] if group is not None else pd.DataFrame()
            if found.empty:
                cells.append("–")
                continue
            record = found.iloc[0].to_dict()
            value = _fmt_kpi(kpi, record["mean"])
            target = targets.get(kpi)
            mark = ""
            if target is not None and math.isfinite(float(record["mean"])):
                direction = labels.kpi_direction(kpi)
                ok = record["mean"] <= target if direction == "lower" else record["mean"] >= target
                mark = " ✓" if ok else ""
            ci = (
                f"<br><small>{_e(_fmt_kpi(kpi, record['ci_low']))}–"
                f"{_e(_fmt_kpi(kpi, record['ci_high']))}</small>"
            )
            cells.append(f'<span class="num">{_e(value)}{mark}{ci}</span>')
        rows.append(cells)
    table = _table(headers, rows, cls="compact")
    table = (
        "<p>Mean over replications; below it the 95% confidence interval."
        + (" ✓: mean meets the target." if targets else "")
        + "</p>"
        + table
    )
    if experiment.paired is not None and not experiment.paired.empty:
        paired = experiment.paired[experiment.paired["kpi"].astype(str).isin(kpis)]
        prow = []
        for _, r in paired.iterrows():
            kpi = str(r["kpi"])
            vr = r.get("variance_reduction")
            prow.append(
                [
                    _e(r["scenario"]),
                    _e(labels.kpi_label(kpi)[0]),
                    f'<span class="num">{_e(_fmt_kpi(kpi, r["mean_diff"]))}</span>',
                    f'<span class="num">{_e(_fmt_kpi(kpi, r["ci_low"]))} to '
                    f"{_e(_fmt_kpi(kpi, r['ci_high']))}</span>",
                    f'<span class="num">{_e(_ratio_text(vr))}</span>',
                ]
            )
        if prow:
            table += (
                f"<details><summary>Differences from the baseline, {len(prow)} paired "
                "comparisons (common random numbers)</summary>"
                + _table(
                    ["scenario", "KPI", "mean difference", "95% CI", "variance reduction"],
                    prow,
                    cls="compact",
                )
                + "</details>"
            )
    return '<div class="cards">' + "".join(cards) + "</div>", table


_COHORT_COLUMNS = (
    ("referrals_per_month", "referrals a month"),
    ("offer_acceptance", "accept the offer"),
    ("sessions", "planning sessions"),
    ("withdrawal_hazard_per_month_waiting", "withdraw per month waiting"),
    ("budget_probability", "P(budget | plan)"),
)
_ROLE_COLUMNS = (
    ("headcount", "people"),
    ("fte", "WTE"),
    ("ipc_share", "share of time for IPC"),
    ("caseload_cap", "caseload cap"),
    ("hourly_cost_gbp", "£ per hour"),
)


def _pivot(
    rows: Mapping[str, Mapping[str, str]],
    table: str,
    config: Mapping[str, Any],
    columns: Sequence[tuple[str, str]],
    what: str,
) -> str:
    """Cohorts or roles as rows and their key fields as columns, evidence under each header."""
    names = list(config.get(table) or {})
    used = [
        (key, label) for key, label in columns if any(f"{table}.{n}.{key}" in rows for n in names)
    ]
    if not names or not used:
        return ""
    head = "".join(f"<th>{_e(label)}</th>" for _key, label in used)
    evidence = "".join(
        "<td>"
        + _e(
            next(
                (
                    rows[f"{table}.{n}.{key}"]["evidence"]
                    for n in names
                    if f"{table}.{n}.{key}" in rows
                ),
                "",
            )
            or "–"
        )
        + "</td>"
        for key, _label in used
    )
    body = []
    for name in names:
        cells = []
        for key, _label in used:
            row = rows.get(f"{table}.{name}.{key}")
            if row is None:
                cells.append('<td class="num set-default">–</td>')
                continue
            cells.append(f'<td class="num set-{row["set_by"]}">{_e(row["value"])}</td>')
        body.append(f"<tr><td><b>{_e(name)}</b></td>{''.join(cells)}</tr>")
    title = "Cohorts" if table == "cohorts" else "Workforce"
    return (
        f'<h3>{title}</h3><table class="pivot"><thead><tr><th>{_e(what)}</th>{head}</tr>'
        f'<tr class="evidence"><td>evidence</td>{evidence}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _parameter_table(config: Mapping[str, Any] | None) -> str:
    if not config:
        return "<p>" + _todo("The manifest holds no config; list the parameters.") + "</p>"

    def rows(key_only: bool) -> list[list[str]]:
        out = []
        for r in parameter_rows(config, key_only=key_only):
            set_by = (
                f'<span class="set-{r["set_by"]}">'
                f"{'scenario file' if r['set_by'] == 'scenario' else 'default'}</span>"
            )
            out.append(
                [
                    f"<code>{_e(r['parameter'])}</code>",
                    _e(r["value"]),
                    _e(r["meaning"]),
                    _e(r["evidence"] or "–"),
                    set_by,
                ]
            )
        return out

    headers = ["parameter", "value", "meaning and unit", "evidence", "set by"]
    key_rows = parameter_rows(config)
    by_name = {r["parameter"]: r for r in key_rows}
    grouped = _pivot(by_name, "cohorts", config, _COHORT_COLUMNS, "cohort") + _pivot(
        by_name, "workforce", config, _ROLE_COLUMNS, "role"
    )
    others = [r for r in rows(True) if not r[0].startswith(("<code>cohorts.", "<code>workforce."))]
    key = (
        grouped
        + "<h3>Run, pathway, sign-off and payment</h3>"
        + _table(headers, others, cls="params")
    )
    full = rows(False)
    return (
        key
        + f"<details><summary>All {len(full)} parameters</summary>"
        + _table(headers, full, cls="params compact")
        + "</details>"
        "<p><small>Evidence: parameter IDs of the evidence pack (P01-P80) or its sections "
        "(§), taken from the schema's field descriptions; they document the default value. "
        "<b>Bold</b> values are set by the scenario file, whose comments give their source; "
        "grey values are defaults.</small></p>"
    )


def render_report(
    folder: Folder,
    *,
    options: PlotOptions | None = None,
    image_format: Literal["png", "svg"] = "png",
    created: dt.datetime | None = None,
) -> str:
    """The report of a folder as one self-contained HTML page.

    Parameters
    ----------
    folder
        From :func:`read_folder`.
    options
        Targets, trajectory, factor, KPIs and reference lines for the figures.
    image_format
        Embed figures as ``png`` or ``svg`` (both base64 data URIs).
    created
        Time stamp printed in the footer (now, UTC, when ``None``).

    Returns
    -------
    str
        The HTML document: no scripts, no external links to fetch (only ``data:`` images and
        in-page anchors).
    """
    options = options or PlotOptions()
    figures = build_figures(folder, options=options)
    try:
        pathway = next((f for f in figures if f.kind == "pathway"), None)
        pathway_img = _img(pathway, image_format) if pathway is not None else None
        items = stress_items(folder, pathway_image=pathway_img)
        figure_html = "".join(
            f'<figure id="fig-{_e(f.name)}">{_img(f, image_format)}'
            f"<figcaption>{_e(f.caption)}</figcaption></figure>"
            for f in figures
            if f.kind != "pathway"
        )
    finally:
        for spec in figures:
            spec.figure.clear()
    scenario = folder.scenario
    config = folder.config or {}
    name = str(config.get("name") or (scenario.name if scenario else folder.path.name))
    site = scenario.site.name if scenario else ""
    targets, directions = _merged_targets(folder, options)
    answer = ""
    if isinstance(folder, RunFolder):
        kind_text = "Single run"
        cards, table = _run_headline(folder)
        note = (
            '<div class="callout info">One replication: these figures are a single '
            "sample, without confidence intervals. Run an experiment for CIs.</div>"
        )
    else:
        kind_text = "Experiment"
        cards, table = _experiment_headline(folder, targets)
        note = ""
        answer = _target_answers(folder, targets, directions, options)
        experiment_name = folder.manifest.get("experiment") or _spec(folder.manifest).get("name")
        if experiment_name:
            name = str(experiment_name)
            kind_text = f"Experiment on {config.get('name') or 'its base scenario'}"
    todos = [i for i in items if i.todo]
    todo_html = ""
    if todos:
        links = ", ".join(
            f'<a href="#stress-{_e(i.number)}">{_e(i.number)} {_e(i.name)}</a>' for i in todos
        )
        todo_html = (
            f'<div class="callout"><span class="todo">✎ {TODO}</span> '
            f"<b>{len(todos)} STRESS-DES item{'s' if len(todos) != 1 else ''} still to "
            f"write before this report is shared:</b> {links}.</div>"
        )
    stress_rows = [
        (
            f'<tr id="stress-{_e(i.number)}" class="{"todo-row" if i.todo else ""}">'
            f"<td><b>{_e(i.number)}</b></td><td><b>{_e(i.name)}</b></td><td>{i.content}</td></tr>"
        )
        for i in items
    ]
    stress = (
        '<table class="stress"><thead><tr><th>item</th><th>STRESS-DES</th>'
        "<th>this study</th></tr></thead><tbody>" + "".join(stress_rows) + "</tbody></table>"
    )
    created = created or dt.datetime.now(dt.UTC)
    horizon = (
        f"{scenario.run.horizon_days:g} days from {scenario.run.start_date}" if scenario else ""
    )
    badges = [
        kind_text,
        f"site {site}" if site else "",
        horizon,
        f"seed {folder.manifest.get('seed')}" if folder.manifest.get("seed") is not None else "",
        f"ipcsim {folder.manifest.get('ipcsim_version', '')}",
    ]
    description = scenario.description if scenario and scenario.description else ""
    if isinstance(folder, ExperimentFolder) and _spec(folder.manifest).get("description"):
        description = str(_spec(folder.manifest)["description"])
    pathway_section = (
        f'<h2 id="pathway">The pathway modelled</h2><figure>{pathway_img}'
        f"<figcaption>{_e(pathway.caption)}</figcaption></figure>"
        if pathway is not None and pathway_img
        else ""
    )
    figures_section = (
        f'<h2 id="figures">Figures</h2>{figure_html or "<p>No figures for this folder.</p>"}'
    )
    toc = [("question", "Question"), ("headline", "Headline results")]
    if isinstance(folder, RunFolder):
        # A run: its KPI table is short; the pathway explains the figures that follow.
        body = table + pathway_section + figures_section
        toc += [("pathway", "Pathway"), ("figures", "Figures")]
    else:
        # An experiment: the answer and its figures first, every scenario's numbers after.
        body = figures_section + f'<h2 id="scenarios">All scenarios</h2>{table}' + pathway_section
        toc += [("figures", "Figures"), ("scenarios", "All scenarios"), ("pathway", "Pathway")]
    if not pathway_section:
        toc.remove(("pathway", "Pathway"))
    toc += [("parameters", "Parameters"), ("stress", "STRESS-DES")]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ipcsim report: {_e(name)}</title>
<style>{_CSS}</style></head>
<body>
<header class="top"><div class="inner">
<h1>{_e(name)}</h1>
<p>{_e(description)}</p>
<div class="badges">{"".join(f"<span>{_e(b)}</span>" for b in badges if b)}</div>
</div></header>
<main>
<nav class="toc">{"".join(f'<a href="#{key}">{_e(text)}</a>' for key, text in toc)}</nav>
{todo_html}
<h2 id="question">The question</h2>
<div class="question">{_e(PROJECT_QUESTION)}</div>
<h2 id="headline">Headline results</h2>
{answer}
{cards}
{note}
{body}
<h2 id="parameters">Scenario: key parameters and their evidence</h2>
{_parameter_table(folder.config)}
<h2 id="stress">How the model was made (STRESS-DES)</h2>
<p>The STRESS-DES reporting items (Monks et al. 2019), filled in from the config and
manifest. <span class="todo">✎ {TODO}</span> marks what a person must still write.</p>
{stress}
<footer>Made by ipcsim from <code>{_e(folder.path)}</code> on
{_e(created.isoformat(timespec="seconds"))}. Config hash
<code>{_e(folder.manifest.get("config_hash", "not recorded"))}</code>.</footer>
</main></body></html>
"""


def write_report(
    path: str | Path,
    *,
    options: PlotOptions | None = None,
    image_format: Literal["png", "svg"] = "png",
    out: str | Path | None = None,
) -> Path:
    """Write ``report.html`` for a run or experiment folder, atomically.

    Parameters
    ----------
    path
        The run or experiment folder.
    options
        See :class:`PlotOptions`.
    image_format
        ``png`` or ``svg`` images (embedded).
    out
        Where to write (default ``<path>/report.html``).

    Returns
    -------
    Path
        The report written.

    Raises
    ------
    ReportError, OutputError
        When the folder cannot be read or the report cannot be written.
    """
    folder = read_folder(path)
    text = render_report(folder, options=options, image_format=image_format)
    target = Path(out) if out is not None else folder.path / "report.html"
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {target}: {e.strerror or e}") from e
    return target
