"""Output folders read back for figures and the report: a run, an experiment or a plan folder.

:func:`read_folder` tells them apart and returns a :class:`RunFolder` (frames, summary,
manifest), an :class:`ExperimentFolder` (scenarios, replications, summary, paired and
sensitivity tables, manifest) or a :class:`PlanFolder` (``ipcsim plan``: the frontier, the
recommendation, the staffing plan over time); each carries the scenario config found in the
manifest and, when it still validates, the :class:`~ipcsim.scenario.Scenario`.

Readers only: nothing here draws, formats or writes. This module depends on the scenario, the
errors, :mod:`ipcsim.io` and the labels of :mod:`ipcsim.analysis` alone (no presentation
module), so it can move into ``io/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from ipcsim.analysis.labels import scenario_labels
from ipcsim.errors import ConfigError, IpcsimError, OutputError
from ipcsim.io import calibration_folder, plan_folder
from ipcsim.io.files import read_json, read_parquet
from ipcsim.io.run_folder import read_run_outputs
from ipcsim.scenario import Scenario
from ipcsim.scenario.load import scenario_from_dict

__all__ = [
    "AnyFolder",
    "ExperimentFolder",
    "Folder",
    "PlanFolder",
    "ReportError",
    "RunFolder",
    "manifest_spec",
    "read_experiment_outputs",
    "read_folder",
    "read_plan_folder",
    "replication_timeseries",
]


class ReportError(IpcsimError):
    """A folder cannot be plotted or reported (not an output folder, missing data, bad option)."""


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
    def names(self) -> dict[str, str]:
        """Scenario id -> its name in words (``3 planners, panel every 14 days``).

        From ``scenarios.parquet``'s ``label`` column; folders written before it existed get
        names made the same way (:func:`ipcsim.analysis.labels.scenario_labels`). A scenario
        whose name is its id (a design point) has no better name.
        """
        frame = self.scenarios
        if "label" in frame.columns:
            return {str(s): str(n) for s, n in zip(frame["scenario"], frame["label"], strict=True)}
        return scenario_labels(frame, self.factors)

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
"""A run folder or an experiment folder, read back."""


@dataclass(frozen=True)
class PlanFolder:
    """A plan folder read back (see ``ipcsim plan``).

    Attributes
    ----------
    frontier
        ``frontier.parquet``: every configuration judged.
    recommendation
        ``recommendation.json``: the answer.
    staffing_plan
        ``staffing_plan.parquet`` of a plan over time, else ``None``.
    manifest
        ``manifest.json`` (``targets``: the service levels, ``spec``: the plan spec).
    config, scenario
        The recommended scenario (``plan.toml``'s data) as recorded in the manifest, and
        validated when it still validates.
    """

    path: Path
    frontier: pd.DataFrame
    recommendation: Mapping[str, Any]
    staffing_plan: pd.DataFrame | None
    manifest: Mapping[str, Any]
    config: Mapping[str, Any] | None
    scenario: Scenario | None
    kind: Literal["plan"] = "plan"

    @property
    def roles(self) -> list[str]:
        """The roles planned, in the spec's order (the frontier's columns before ``cost``)."""
        measures = self.recommendation.get("measures") or {}
        columns = [str(c) for c in self.frontier.columns]
        if "cost" in columns:
            ordered = [c for c in columns[: columns.index("cost")] if c in measures]
            if len(ordered) == len(measures):
                return ordered
        return list(measures)

    @property
    def targets(self) -> list[dict[str, Any]]:
        """The service levels (``text``, ``kpi``, ``value``, ``direction``, ...)."""
        found = self.manifest.get("targets")
        return [dict(t) for t in found] if isinstance(found, list) else []


AnyFolder = RunFolder | ExperimentFolder | PlanFolder
"""Any output folder, read back."""


def _find_config(data: Any, depth: int = 0) -> Mapping[str, Any] | None:
    """The scenario config recorded in a manifest.

    Parameters
    ----------
    data
        A manifest (or any JSON value).
    depth
        Nesting level reached so far; the search stops three levels down.

    Returns
    -------
    Mapping or None
        The first mapping that looks like a scenario (has ``cohorts`` and ``workforce``
        tables), looking first under ``config``, ``base``, ``scenario``, ``spec`` and the like.
    """
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
    manifest = read_json(folder / "manifest.json")
    scenarios = read_parquet(folder / "scenarios.parquet")
    replications = read_parquet(folder / "replications.parquet")
    summary = read_parquet(folder / "summary.parquet")
    paired = (
        read_parquet(folder / "paired.parquet") if (folder / "paired.parquet").exists() else None
    )
    sensitivity = (
        read_parquet(folder / "sensitivity.parquet")
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
                config = _find_config(read_json(first_run[0]))
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


def read_plan_folder(path: str | Path) -> PlanFolder:
    """Read a finished plan folder (``manifest.json`` of kind ``plan``).

    Raises
    ------
    OutputError
        A file is missing or unreadable, or the plan did not finish (no manifest).
    """
    folder = Path(path)
    frontier, recommendation = plan_folder.read_plan_outputs(folder)
    manifest = read_json(folder / plan_folder.MANIFEST)
    staffing_path = folder / plan_folder.STAFFING_PLAN
    staffing = read_parquet(staffing_path) if staffing_path.exists() else None
    config = manifest.get("config")
    config = config if isinstance(config, Mapping) else _find_config(manifest)
    return PlanFolder(
        folder, frontier, recommendation, staffing, manifest, config, _scenario(config)
    )


def _is_plan(folder: Path) -> bool:
    """A plan's folder: its manifest says so, or its resume state is there (unfinished)."""
    manifest = folder / plan_folder.MANIFEST
    if manifest.is_file():
        try:
            return read_json(manifest).get("kind") == "plan"
        except OutputError:
            return False
    return (folder / plan_folder.STATE).is_file()


def read_folder(path: str | Path) -> AnyFolder:
    """Read a run, experiment or plan folder, whichever ``path`` is.

    Raises
    ------
    ReportError
        When ``path`` is none of them (no ``summary.json``, ``summary.parquet`` or plan
        manifest).
    OutputError
        When it is one but a file is missing, corrupt or modified (see
        :func:`ipcsim.io.read_run_outputs`).
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ReportError(f"{folder}: no such folder")
    if calibration_folder.folder_state(folder) in ("finished", "unfinished"):
        raise ReportError(
            f"{folder}: a calibration folder, not a run or experiment folder (see "
            "ipcsim.present.report.read_calibration_folder)"
        )
    if (folder / "summary.parquet").exists() or (folder / "replications.parquet").exists():
        return read_experiment_outputs(folder)
    if _is_plan(folder):
        return read_plan_folder(folder)
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
        f"{folder}: not an ipcsim run folder (no summary.json), experiment folder "
        "(no summary.parquet) or plan folder (no manifest.json of a plan)"
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
        frame = read_parquet(path)
        frame.insert(0, "replication", int(number) if number.isdigit() else number)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def manifest_spec(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    """The experiment spec recorded in a manifest.

    Parameters
    ----------
    manifest
        A folder's ``manifest.json``.

    Returns
    -------
    Mapping
        Its ``spec`` table; empty when there is none (a run folder).
    """
    spec = manifest.get("spec")
    return spec if isinstance(spec, Mapping) else {}
