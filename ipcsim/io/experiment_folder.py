"""Experiment folders: every file name, and the writers and readers of its files.

Layout
------
::

    experiment.json                 the spec, its hash and the code fingerprint (written first)
    warmup.json                     the warm-up found by MSER-5 (mser5 mode)
    pilot/<scenario>/rep-NNN.json   each warm-up pilot's KPIs and series
    runs/<scenario>/rep-NNN/        one folder per replication:
        people.parquet, timeseries.parquet   written by the worker (unless save_tables = false)
        kpis.json                   written the moment the cell returns: the marker it is done
    replications.parquet            (scenario, replication, kpi, value)
    summary.parquet                 scenario x KPI: mean, sd, n, ci_low, ci_high, half_width, ...
    paired.parquet                  scenario - baseline, replication by replication
    sensitivity.parquet             sensitivity indices (designs only)
    scenarios.parquet               each scenario's factor levels
    manifest.json                   provenance and every table's size and SHA-256 (written last)

Every file is written atomically (:mod:`ipcsim.io.files`); a write that fails (disk full,
permission denied) raises one :class:`~ipcsim.errors.OutputError` line naming the file or
folder, and leaves every file written before it in place. The functions here take and return
plain data (frames, dicts, paths); :mod:`ipcsim.experiment` decides what goes in them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ipcsim._json import plain_json
from ipcsim.errors import OutputError
from ipcsim.io import files
from ipcsim.io.manifest import MANIFEST

__all__ = [
    "CELL_RECORD",
    "FORMAT_VERSION",
    "STATE_FILE",
    "TABLES",
    "WARMUP_FILE",
    "ExperimentTables",
    "cell_dir",
    "pilot_path",
    "read_cell_records",
    "read_experiment_tables",
    "read_pilot_record",
    "read_state",
    "read_warmup",
    "replication_paths",
    "write_cell_record",
    "write_cell_tables",
    "write_manifest",
    "write_pilot_record",
    "write_state",
    "write_tables",
    "write_warmup",
]

FORMAT_VERSION = 1
"""Version of the experiment folder layout, recorded in ``experiment.json``."""
STATE_FILE = "experiment.json"
"""The spec, its hash and the code fingerprint: what a resumed batch must match."""
WARMUP_FILE = "warmup.json"
"""The warm-up MSER-5 found (mser5 mode)."""
CELL_RECORD = "kpis.json"
"""A finished replication's KPIs, in its folder under ``runs/``."""
TABLES = ("replications", "summary", "paired", "sensitivity", "scenarios")
"""The experiment's tables, each ``<name>.parquet`` in the folder."""


# --------------------------------------------------------------------------- paths
def _rep_name(replication: int) -> str:
    return f"rep-{replication:03d}"


def cell_dir(out_dir: Path, scenario_id: str, replication: int) -> Path:
    """Folder of one replication: ``runs/<scenario>/rep-NNN``.

    Parameters
    ----------
    out_dir
        The experiment folder.
    scenario_id
        The scenario (``s000``, ...).
    replication
        The replication number, from 0.

    Returns
    -------
    Path
        The folder (not created).
    """
    return out_dir / "runs" / scenario_id / _rep_name(replication)


def pilot_path(out_dir: Path, scenario_id: str, replication: int) -> Path:
    """Record of one warm-up pilot: ``pilot/<scenario>/rep-NNN.json``.

    Parameters
    ----------
    out_dir
        The experiment folder.
    scenario_id
        The scenario the pilots run (the baseline).
    replication
        The pilot replication number, from 0.

    Returns
    -------
    Path
        The file (not created).
    """
    return out_dir / "pilot" / scenario_id / f"{_rep_name(replication)}.json"


def replication_paths(out_dir: Path, scenario_id: str, name: str) -> list[Path]:
    """One file of every replication of a scenario, e.g. each ``timeseries.parquet``.

    Parameters
    ----------
    out_dir
        The experiment folder.
    scenario_id
        The scenario.
    name
        The file name within each replication's folder.

    Returns
    -------
    list of Path
        The files that exist, in replication order (``rep-NNN`` sorts by number).
    """
    return sorted((out_dir / "runs" / scenario_id).glob(f"rep-*/{name}"))


def _make_folder(folder: Path) -> None:
    """Create ``folder`` and its parents; one :class:`OutputError` line when that fails."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise files.write_error(folder, e) from e


# --------------------------------------------------------------------------- reading leniently
def _read_or_none(path: Path) -> dict[str, Any] | None:
    """A JSON object, or ``None`` when the file is missing, unreadable or not an object.

    A cell or pilot record that cannot be read is simply computed again.
    """
    try:
        return files.read_json(path)
    except OutputError:
        return None


# --------------------------------------------------------------------------- state
def read_state(out_dir: Path) -> dict[str, Any] | None:
    """``experiment.json`` of a folder, or ``None`` when it has no readable one."""
    return _read_or_none(out_dir / STATE_FILE)


def write_state(out_dir: Path, state: Mapping[str, Any]) -> None:
    """Create the folder (and its parents) and write ``experiment.json``.

    Parameters
    ----------
    out_dir
        The experiment folder.
    state
        JSON-able data (the spec, its hash, the code fingerprint, ...).

    Raises
    ------
    OutputError
        The folder or file cannot be written.
    """
    _make_folder(out_dir)
    files.atomic_write_json(out_dir / STATE_FILE, state)


def read_warmup(out_dir: Path) -> dict[str, Any] | None:
    """``warmup.json`` of a folder, or ``None`` when it has no readable one."""
    return _read_or_none(out_dir / WARMUP_FILE)


def write_warmup(out_dir: Path, record: Mapping[str, Any]) -> None:
    """Write ``warmup.json`` (strict JSON)."""
    files.atomic_write_json(out_dir / WARMUP_FILE, record)


# --------------------------------------------------------------------------- cells
def write_cell_tables(folder: Path, *, people: pd.DataFrame, timeseries: pd.DataFrame) -> None:
    """Write a replication's ``people.parquet`` and ``timeseries.parquet`` (in a worker).

    Parameters
    ----------
    folder
        The replication's folder (see :func:`cell_dir`); created if missing.
    people, timeseries
        The run's people and monthly series frames.
    """
    _make_folder(folder)
    files.atomic_write_parquet(folder / "people.parquet", people)
    files.atomic_write_parquet(folder / "timeseries.parquet", timeseries)


def write_cell_record(
    out_dir: Path, scenario_id: str, replication: int, record: Mapping[str, Any]
) -> None:
    """Write a finished replication's ``kpis.json``: the marker that the cell is done.

    Parameters
    ----------
    out_dir
        The experiment folder.
    scenario_id, replication
        The cell.
    record
        Strict JSON data (NaN as null).
    """
    folder = cell_dir(out_dir, scenario_id, replication)
    _make_folder(folder)
    files.atomic_write_json(folder / CELL_RECORD, record)


def read_cell_records(out_dir: Path) -> list[dict[str, Any]]:
    """Every readable ``kpis.json`` under ``runs/``, in path order.

    Parameters
    ----------
    out_dir
        The experiment folder.

    Returns
    -------
    list of dict
        The records; unreadable ones are left out (their cells are computed again).
    """
    runs = out_dir / "runs"
    if not runs.is_dir():
        return []
    found = (_read_or_none(path) for path in sorted(runs.glob(f"*/rep-*/{CELL_RECORD}")))
    return [record for record in found if record is not None]


def write_pilot_record(
    out_dir: Path, scenario_id: str, replication: int, record: Mapping[str, Any]
) -> None:
    """Write a warm-up pilot's record (its KPIs and series) under ``pilot/``."""
    path = pilot_path(out_dir, scenario_id, replication)
    _make_folder(path.parent)
    files.atomic_write_json(path, record)


def read_pilot_record(out_dir: Path, scenario_id: str, replication: int) -> dict[str, Any] | None:
    """A warm-up pilot's record, or ``None`` when it has none that can be read."""
    return _read_or_none(pilot_path(out_dir, scenario_id, replication))


# --------------------------------------------------------------------------- tables
def write_tables(out_dir: Path, tables: Mapping[str, pd.DataFrame]) -> dict[str, dict[str, Any]]:
    """Write each table as ``<name>.parquet``, atomically, in the order given.

    Parameters
    ----------
    out_dir
        The experiment folder.
    tables
        Tables by name (see :data:`TABLES`).

    Returns
    -------
    dict
        File name -> ``{"bytes": size, "sha256": digest}``, for the manifest.
    """
    facts: dict[str, dict[str, Any]] = {}
    for name, frame in tables.items():
        path = out_dir / f"{name}.parquet"
        files.atomic_write_parquet(path, frame)
        facts[path.name] = files.file_facts(path)
    return facts


def write_manifest(out_dir: Path, manifest: Mapping[str, Any]) -> None:
    """Write ``manifest.json`` (last: a folder with it is complete).

    Parameters
    ----------
    out_dir
        The experiment folder.
    manifest
        Provenance (see :func:`ipcsim.io.manifest.build_manifest`); numpy scalars become
        Python ones and NaN becomes null.
    """
    files.atomic_write_json(out_dir / MANIFEST, plain_json(manifest))


@dataclass(frozen=True)
class ExperimentTables:
    """An experiment folder's manifest and tables, as read back.

    Attributes
    ----------
    manifest
        ``manifest.json``.
    scenarios, replications, summary
        The required tables.
    paired, sensitivity
        The optional tables (``None`` when the folder has none).
    """

    manifest: dict[str, Any]
    scenarios: pd.DataFrame
    replications: pd.DataFrame
    summary: pd.DataFrame
    paired: pd.DataFrame | None
    sensitivity: pd.DataFrame | None


def read_experiment_tables(out_dir: str | Path) -> ExperimentTables:
    """Read an experiment folder's manifest and tables.

    Parameters
    ----------
    out_dir
        Folder written by ``ipcsim experiment``.

    Returns
    -------
    ExperimentTables
        The manifest and the tables, as written.

    Raises
    ------
    OutputError
        One line naming the file, when ``manifest.json``, ``scenarios.parquet``,
        ``replications.parquet`` or ``summary.parquet`` is missing or unreadable, or an
        optional table is unreadable.
    """
    folder = Path(out_dir)

    def optional(name: str) -> pd.DataFrame | None:
        path = folder / f"{name}.parquet"
        return files.read_parquet(path) if path.exists() else None

    return ExperimentTables(
        manifest=files.read_json(folder / MANIFEST),
        scenarios=files.read_parquet(folder / "scenarios.parquet"),
        replications=files.read_parquet(folder / "replications.parquet"),
        summary=files.read_parquet(folder / "summary.parquet"),
        paired=optional("paired"),
        sensitivity=optional("sensitivity"),
    )
