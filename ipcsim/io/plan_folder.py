"""A plan's output folder: the frontier, the recommendation and the recommended scenario.

=======================  ===============================================================
``frontier.parquet``     every configuration judged: levels, cost, KPI means and CIs,
                         replications, feasible and why not
``recommendation.json``  the answer: configuration, cost, each target's estimate and CI
``plan.toml``            the recommended scenario, runnable with ``ipcsim run``
``staffing_plan.parquet`` a plan over time: one row per period (levels, dated changes,
                         cost, each target's estimate in the check of the whole plan)
``manifest.json``        provenance (written last: a folder with it is complete)
``plan_state.json``      the spec's hash and the code fingerprint (written first): what
                         ``--resume`` must match
``cells/<key>/rep-NNN.json`` each replication's KPIs, written the moment it finishes; ``key``
                         names the scenario run (its hash, seed and KPI windows)
=======================  ===============================================================

A plan starts by removing the previous outputs, ``manifest.json`` first, so a plan that is
killed leaves no folder that looks complete; ``--resume`` reuses the replications under
``cells/`` and ends with the same files as an uninterrupted run.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ipcsim._json import plain_json
from ipcsim.errors import OutputError
from ipcsim.io import files
from ipcsim.io.toml_text import toml_text

__all__ = [
    "CELLS",
    "FRONTIER",
    "MANIFEST",
    "OUTPUTS",
    "PLAN_TOML",
    "RECOMMENDATION",
    "STAFFING_PLAN",
    "STATE",
    "prepare_plan_folder",
    "read_cell",
    "read_plan_outputs",
    "write_cell",
    "write_plan_outputs",
]

FRONTIER = "frontier.parquet"
RECOMMENDATION = "recommendation.json"
PLAN_TOML = "plan.toml"
STAFFING_PLAN = "staffing_plan.parquet"
MANIFEST = "manifest.json"
STATE = "plan_state.json"
CELLS = "cells"
OUTPUTS = (MANIFEST, FRONTIER, RECOMMENDATION, PLAN_TOML, STAFFING_PLAN)
"""A finished plan's files, the manifest first: what a new or resumed plan removes."""


def _is_plan_folder(out_dir: Path) -> bool:
    if (out_dir / STATE).is_file():
        return True
    manifest = out_dir / MANIFEST
    try:
        return manifest.is_file() and files.read_json(manifest).get("kind") == "plan"
    except OutputError:
        return False


def prepare_plan_folder(
    out_dir: Path,
    *,
    spec_hash: str = "",
    code_hash: str = "",
    resume: bool = False,
) -> None:
    """Start a plan folder, or check that a resumed one is for the same plan.

    The previous plan's outputs are removed, ``manifest.json`` first, so the folder looks
    complete only once the plan has finished again. Without ``resume`` its replications
    (``cells/``) go too; with it they are kept for reuse.

    Parameters
    ----------
    out_dir
        The folder: missing, empty, or a plan's (finished or not).
    spec_hash, code_hash
        The plan's hash (spec, base scenario and model code) and the code fingerprint,
        recorded in ``plan_state.json``; a resumed folder must carry the same.
    resume
        Keep the replications of an unfinished (or finished) plan of the same spec.

    Raises
    ------
    OutputError
        ``out_dir`` is a file, or a non-empty folder that is not a plan's; or, resuming, a
        folder started with another spec or other model code.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir}: exists and is not a folder; choose another --out")
    non_empty = out_dir.is_dir() and any(out_dir.iterdir())
    if non_empty and not _is_plan_folder(out_dir):
        raise OutputError(f"{out_dir}: not empty and not a plan's folder; choose another --out")
    if non_empty and resume:
        state = files.read_json(out_dir / STATE) if (out_dir / STATE).is_file() else None
        if state is None:
            raise OutputError(
                f"{out_dir}: no {STATE} (a plan written before plans could resume); cannot "
                "resume there: run without --resume to start it again"
            )
        if state.get("spec_hash") != spec_hash:
            if state.get("code_hash") != code_hash:
                started = str(state.get("code_hash") or "unrecorded")[:12]
                raise OutputError(
                    f"{out_dir}: ipcsim's model code changed since this plan was started (code "
                    f"{started} != {code_hash[:12]}); results would mix: use a new --out"
                )
            raise OutputError(
                f"{out_dir}: the plan spec (or its base scenario, or --set/--target) changed "
                f"since this plan was started (hash {str(state.get('spec_hash'))[:12]} != "
                f"{spec_hash[:12]}); results would mix: use a new --out"
            )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in OUTPUTS:
            (out_dir / name).unlink(missing_ok=True)
        if not resume:
            shutil.rmtree(out_dir / CELLS, ignore_errors=True)
    except OSError as e:
        raise files.write_error(out_dir, e) from e
    if not (resume and (out_dir / STATE).is_file()):
        files.atomic_write_json(
            out_dir / STATE,
            {
                "spec_hash": spec_hash,
                "code_hash": code_hash,
                "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            },
        )


def _cell_path(out_dir: Path, key: str, replication: int) -> Path:
    return out_dir / CELLS / key / f"rep-{replication:03d}.json"


def _encode(value: float) -> float | str | None:
    """A number as exact strict JSON: NaN as null, infinities as strings."""
    if math.isnan(value):
        return None
    return float(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")


def _decode(value: Any) -> float:
    return math.nan if value is None else float(value)


def write_cell(out_dir: Path, key: str, replication: int, record: Mapping[str, Any]) -> None:
    """Save one finished replication of a plan (atomically): its KPIs, per window, and streams.

    Parameters
    ----------
    out_dir
        The plan folder.
    key
        The scenario run (see the module notes).
    replication
        Its number.
    record
        ``kpis`` (name -> number), ``window_kpis`` (a list of such), ``rng_streams``; numbers
        are kept exactly (NaN and infinities too), so a resumed plan judges the same values.
    """
    path = _cell_path(out_dir, key, replication)
    data = {
        "kpis": {k: _encode(v) for k, v in record["kpis"].items()},
        "window_kpis": [{k: _encode(v) for k, v in w.items()} for w in record["window_kpis"]],
        "rng_streams": list(record["rng_streams"]),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise files.write_error(path.parent, e) from e
    files.atomic_write_json(path, data)


def read_cell(out_dir: Path, key: str, replication: int) -> dict[str, Any] | None:
    """A saved replication (as :func:`write_cell` took it), or ``None`` if none can be read."""
    path = _cell_path(out_dir, key, replication)
    if not path.is_file():
        return None
    try:
        data = files.read_json(path)
        return {
            "kpis": {k: _decode(v) for k, v in data["kpis"].items()},
            "window_kpis": [{k: _decode(v) for k, v in w.items()} for w in data["window_kpis"]],
            "rng_streams": [str(s) for s in data["rng_streams"]],
        }
    except (OutputError, KeyError, TypeError, ValueError, AttributeError):
        return None  # unreadable (cut short by a kill): simulated again


def write_plan_outputs(
    out_dir: Path,
    *,
    frontier: pd.DataFrame,
    recommendation: Mapping[str, Any],
    scenario_data: Mapping[str, Any],
    scenario_header: str,
    manifest: Mapping[str, Any],
    staffing_plan: pd.DataFrame | None = None,
) -> dict[str, dict[str, Any]]:
    """Write the four files (five over time), ``manifest.json`` last.

    Parameters
    ----------
    out_dir
        The plan folder (see :func:`prepare_plan_folder`).
    frontier
        One row per configuration judged.
    recommendation
        The answer (numpy scalars and NaN are made plain JSON).
    scenario_data
        The recommended scenario as TOML data.
    scenario_header
        Comment lines at the top of ``plan.toml``.
    manifest
        Provenance; the files' sizes and digests are added under ``files``.
    staffing_plan
        A plan over time: one row per period (``staffing_plan.parquet``); ``None`` removes
        a previous plan's.

    Returns
    -------
    dict
        File name -> ``{"bytes", "sha256"}``.
    """
    files.atomic_write_parquet(out_dir / FRONTIER, frontier)
    files.atomic_write_json(out_dir / RECOMMENDATION, plain_json(recommendation))
    text = toml_text(scenario_data, header=scenario_header)
    path = out_dir / PLAN_TOML
    files.remove_stale_siblings(path)
    tmp = files.temporary_sibling(path)
    try:
        files.write_text_synced(tmp, text)
        tmp.replace(path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise files.write_error(path, e) from e
    written: tuple[str, ...] = (FRONTIER, RECOMMENDATION, PLAN_TOML)
    if staffing_plan is not None:
        files.atomic_write_parquet(out_dir / STAFFING_PLAN, staffing_plan)
        written += (STAFFING_PLAN,)
    else:
        (out_dir / STAFFING_PLAN).unlink(missing_ok=True)
    facts = {name: files.file_facts(out_dir / name) for name in written}
    files.atomic_write_json(out_dir / MANIFEST, plain_json({**manifest, "files": facts}))
    return facts


def read_plan_outputs(out_dir: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The frontier and the recommendation of a plan folder.

    Raises
    ------
    OutputError
        A file is missing or unreadable.
    """
    out_dir = Path(out_dir)
    if not (out_dir / MANIFEST).is_file():
        raise OutputError(f"{out_dir}: no {MANIFEST}: not a finished plan folder")
    return files.read_parquet(out_dir / FRONTIER), files.read_json(out_dir / RECOMMENDATION)
