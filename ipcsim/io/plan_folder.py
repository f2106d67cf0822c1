"""A plan's output folder: the frontier, the recommendation and the recommended scenario.

=======================  ===============================================================
``frontier.parquet``     every configuration judged: levels, cost, KPI means and CIs,
                         replications, feasible and why not
``recommendation.json``  the answer: configuration, cost, each target's estimate and CI
``plan.toml``            the recommended scenario, runnable with ``ipcsim run``
``staffing_plan.parquet`` a plan over time: one row per period (levels, dated changes,
                         cost, each target's estimate in the check of the whole plan)
``manifest.json``        provenance (written last: a folder with it is complete)
=======================  ===============================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ipcsim._json import plain_json
from ipcsim.errors import OutputError
from ipcsim.io import files
from ipcsim.io.toml_text import toml_text

__all__ = [
    "FRONTIER",
    "MANIFEST",
    "PLAN_TOML",
    "RECOMMENDATION",
    "STAFFING_PLAN",
    "prepare_plan_folder",
    "read_plan_outputs",
    "write_plan_outputs",
]

FRONTIER = "frontier.parquet"
RECOMMENDATION = "recommendation.json"
PLAN_TOML = "plan.toml"
STAFFING_PLAN = "staffing_plan.parquet"
MANIFEST = "manifest.json"


def prepare_plan_folder(out_dir: Path) -> None:
    """Create the output folder, refusing one that holds anything but a previous plan.

    Raises
    ------
    OutputError
        ``out_dir`` is a file, or a non-empty folder without a plan's ``manifest.json``.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir}: exists and is not a folder; choose another --out")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        manifest = out_dir / MANIFEST
        kind = files.read_json(manifest).get("kind") if manifest.is_file() else None
        if kind != "plan":
            raise OutputError(f"{out_dir}: not empty and not a plan's folder; choose another --out")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise files.write_error(out_dir, e) from e


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
