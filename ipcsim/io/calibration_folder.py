"""A calibration's output folder, written atomically.

==========================  ===============================================================
``posterior.parquet``       the final population: particle, weight, distance, replication,
                            one column per parameter
``predictive.parquet``      per observed point: observed, simulated median and 90 % band
``summary.json``            diagnostics in words, generations, parameters, predictive check
``calibrated.toml``         the base scenario at the posterior medians (``ipcsim run`` runs it)
``ensemble/``               posterior draws as scenario files, ``draws.json`` (each draw's
                            parameter values: what ``ensemble = ...`` in an experiment or plan
                            spec reads) and ``experiment.toml`` running the calibrated scenario
                            over the draws (``ipcsim experiment`` runs it)
``manifest.json``           provenance (written last)
==========================  ===============================================================

Everything goes into a hidden temporary sibling folder, ``manifest.json`` last, which is then
swapped into place (as a run's folder, :mod:`ipcsim.io.run_folder`): an interrupted write never
leaves a folder that looks complete. An existing folder is replaced only if it is empty or an
earlier calibration's.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ipcsim._json import plain_json
from ipcsim.errors import OutputError
from ipcsim.io import files
from ipcsim.io.manifest import MANIFEST
from ipcsim.io.run_folder import _swap_into_place
from ipcsim.io.toml_text import toml_text

__all__ = [
    "CALIBRATED_TOML",
    "DRAWS",
    "ENSEMBLE_DIR",
    "POSTERIOR",
    "PREDICTIVE",
    "SUMMARY",
    "check_calibration_folder",
    "find_ensemble_draws",
    "read_calibration_outputs",
    "write_calibration_outputs",
]

POSTERIOR = "posterior.parquet"
PREDICTIVE = "predictive.parquet"
SUMMARY = "summary.json"
CALIBRATED_TOML = "calibrated.toml"
ENSEMBLE_DIR = "ensemble"
DRAWS = "draws.json"
KIND = "calibration"


def check_calibration_folder(out_dir: Path) -> None:
    """Refuse a folder that is neither missing, empty, nor an earlier calibration's.

    Raises
    ------
    OutputError
        ``out_dir`` is a file, or holds something else.
    """
    if not out_dir.exists() and not out_dir.is_symlink():
        return
    if out_dir.is_symlink() or not out_dir.is_dir():
        raise OutputError(f"{out_dir}: exists and is not a folder; choose another --out")
    if not any(out_dir.iterdir()):
        return
    manifest = out_dir / MANIFEST
    kind = files.read_json(manifest).get("kind") if manifest.is_file() else None
    if kind != KIND:
        raise OutputError(
            f"{out_dir}: not empty and not a calibration's folder; choose another --out"
        )


def _write_text(path: Path, text: str) -> Path:
    files.write_text_synced(path, text)
    return path


def write_calibration_outputs(
    out_dir: Path,
    *,
    posterior: pd.DataFrame,
    predictive: pd.DataFrame,
    summary: Mapping[str, Any],
    calibrated: Mapping[str, Any],
    calibrated_header: str,
    ensemble: Mapping[str, Mapping[str, Any]],
    ensemble_spec: Mapping[str, Any] | None,
    manifest: Mapping[str, Any],
    ensemble_draws: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Write the folder atomically, ``manifest.json`` last.

    Parameters
    ----------
    out_dir
        The folder (see :func:`check_calibration_folder`).
    posterior, predictive
        The tables.
    summary
        Diagnostics and figures (numpy scalars and NaN are made plain JSON).
    calibrated, calibrated_header
        The point-estimate scenario as TOML data, and comment lines put first.
    ensemble
        File stem -> scenario data of each posterior draw (empty: no ensemble).
    ensemble_spec
        The experiment spec that runs the calibrated scenario over the draws (``None``: no
        ensemble).
    ensemble_draws
        ``draws.json``: each draw's parameter values (``None``: none written).
    manifest
        Provenance; the files' sizes and digests are added under ``files``.

    Returns
    -------
    dict
        File name (relative to the folder) -> ``{"bytes", "sha256"}``.

    Raises
    ------
    OutputError
        The folder cannot be written or swapped into place.
    """
    target = out_dir.absolute()
    check_calibration_folder(target)
    tag = f"{os.getpid()}-{secrets.token_hex(4)}"
    tmp = files.temporary_sibling(target, tag)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        files.remove_stale_siblings(target, ("tmp",))
        tmp.mkdir()
    except OSError as e:
        raise files.write_error(out_dir, e) from e
    try:
        written = []
        for name, frame in ((POSTERIOR, posterior), (PREDICTIVE, predictive)):
            frame.to_parquet(tmp / name, engine="pyarrow", index=False)
            written.append(tmp / name)
        written.append(_write_text(tmp / SUMMARY, files.json_text(plain_json(summary), indent=2)))
        text = toml_text(calibrated, header=calibrated_header)
        written.append(_write_text(tmp / CALIBRATED_TOML, text))
        if ensemble_spec is not None:
            (tmp / ENSEMBLE_DIR).mkdir()
            for stem, data in ensemble.items():
                header = f"Posterior draw {stem} of `ipcsim calibrate` (see ../{SUMMARY})."
                path = tmp / ENSEMBLE_DIR / f"{stem}.toml"
                written.append(_write_text(path, toml_text(data, header=header)))
            if ensemble_draws is not None:
                text = files.json_text(plain_json(ensemble_draws), indent=2)
                written.append(_write_text(tmp / ENSEMBLE_DIR / DRAWS, text))
            header = (
                "Written by `ipcsim calibrate`: the calibrated scenario run over the posterior "
                "ensemble\n(replication r on draw r mod n; see draws.json)."
            )
            path = tmp / ENSEMBLE_DIR / "experiment.toml"
            written.append(_write_text(path, toml_text(ensemble_spec, header=header)))
        for path in written:
            files.fsync_file(path)
        facts = {p.relative_to(tmp).as_posix(): files.file_facts(p) for p in written}
        full = plain_json({**manifest, "files": facts})
        files.write_text_synced(tmp / MANIFEST, files.json_text(full, indent=2, what="manifest"))
        files.fsync_dir(tmp)
        _swap_into_place(tmp, target, tag)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise files.write_error(out_dir, e) from e
        raise
    return facts


def read_calibration_outputs(
    out_dir: str | Path,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The posterior, the predictive table and the summary of a calibration folder.

    Raises
    ------
    OutputError
        A file is missing or unreadable, or the folder is not a finished calibration.
    """
    out_dir = Path(out_dir)
    if not (out_dir / MANIFEST).is_file():
        raise OutputError(f"{out_dir}: no {MANIFEST}: not a finished calibration folder")
    return (
        files.read_parquet(out_dir / POSTERIOR),
        files.read_parquet(out_dir / PREDICTIVE),
        files.read_json(out_dir / SUMMARY),
    )


def find_ensemble_draws(path: Path) -> Path:
    """The ``draws.json`` of a posterior ensemble, given its folder or its calibration's.

    Parameters
    ----------
    path
        ``draws.json`` itself, the ``ensemble/`` folder, or the calibration folder holding it.

    Returns
    -------
    Path
        The file (it exists).

    Raises
    ------
    OutputError
        None of these holds a ``draws.json``.
    """
    for candidate in (path, path / DRAWS, path / ENSEMBLE_DIR / DRAWS):
        if candidate.is_file():
            return candidate
    raise OutputError(
        f"{path}: no {DRAWS} there nor in {ENSEMBLE_DIR}/: not a posterior ensemble (name the "
        "folder `ipcsim calibrate` wrote, or its ensemble/ folder)"
    )
