"""A calibration's output folder: its journal while it runs, its results when it is done.

==========================  ===============================================================
``calibration.json``        the spec, its hash and the code fingerprint (written first): what
                            ``--resume`` must match
``simulations/``            the journal: one ``g<GGG>-<IIIIIII>.json`` per round of
                            simulations (generation, first proposal, each proposal's
                            particle, simulated values and random streams), written the moment
                            the round finishes
``posterior.parquet``       the final population: particle, weight, distance, replication,
                            one column per parameter
``predictive.parquet``      per observed point: observed, simulated median and 90 % band
``summary.json``            diagnostics in words, generations, parameters, predictive check
``calibrated.toml``         the base scenario at the posterior medians (``ipcsim run`` runs it)
``ensemble/``               posterior draws as scenario files, ``draws.json`` (each draw's
                            parameter values: what ``ensemble = ...`` in an experiment or plan
                            spec reads) and ``experiment.toml`` running the calibrated scenario
                            over the draws (``ipcsim experiment`` runs it)
``manifest.json``           provenance and every result file's size and SHA-256 (written last)
==========================  ===============================================================

Every file is written atomically (:mod:`ipcsim.io.files`) and ``manifest.json`` last, after
any earlier one is removed: a folder is a finished calibration exactly when it has a manifest
of kind ``calibration``, so a calibration killed at any moment leaves no folder that looks
complete. A folder may be used when it is missing, empty, a calibration's (finished or not,
see :func:`folder_state`); anything else is refused, never deleted.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from ipcsim._json import plain_json
from ipcsim.errors import OutputError
from ipcsim.io import files
from ipcsim.io.manifest import MANIFEST
from ipcsim.io.toml_text import toml_text

__all__ = [
    "CALIBRATED_TOML",
    "DRAWS",
    "ENSEMBLE_DIR",
    "FORMAT_VERSION",
    "POSTERIOR",
    "PREDICTIVE",
    "SIMULATIONS_DIR",
    "STATE_FILE",
    "SUMMARY",
    "check_calibration_folder",
    "clear_calibration_folder",
    "find_ensemble_draws",
    "folder_state",
    "is_calibration_folder",
    "read_calibration_outputs",
    "read_round",
    "read_state",
    "round_path",
    "write_calibration_outputs",
    "write_round",
    "write_state",
]

POSTERIOR = "posterior.parquet"
PREDICTIVE = "predictive.parquet"
SUMMARY = "summary.json"
CALIBRATED_TOML = "calibrated.toml"
ENSEMBLE_DIR = "ensemble"
DRAWS = "draws.json"
STATE_FILE = "calibration.json"
"""The spec, its hash and the code fingerprint of the calibration the folder holds."""
SIMULATIONS_DIR = "simulations"
"""The journal of simulated rounds."""
FORMAT_VERSION = 1
"""Version of the calibration folder layout, recorded in ``calibration.json``."""
KIND = "calibration"

FolderState = Literal["missing", "empty", "finished", "unfinished", "other"]


def _manifest_kind(out_dir: Path) -> str | None:
    manifest = out_dir / MANIFEST
    if not manifest.is_file():
        return None
    try:
        kind = files.read_json(manifest).get("kind")
    except OutputError:
        return None
    return kind if isinstance(kind, str) else None


def is_calibration_folder(out_dir: str | Path) -> bool:
    """Whether a folder is a finished calibration's (its manifest says ``calibration``)."""
    return _manifest_kind(Path(out_dir)) == KIND


def folder_state(out_dir: Path) -> FolderState:
    """What a folder holds.

    ``missing``, ``empty``, a ``finished`` calibration, an ``unfinished`` one (its state file,
    no manifest), or ``other`` (anything else).
    """
    if not out_dir.exists() and not out_dir.is_symlink():
        return "missing"
    if out_dir.is_symlink() or not out_dir.is_dir():
        return "other"
    if not any(out_dir.iterdir()):
        return "empty"
    kind = _manifest_kind(out_dir)
    if kind == KIND:
        return "finished"
    if kind is None and not (out_dir / MANIFEST).exists() and read_state(out_dir) is not None:
        return "unfinished"
    return "other"


def check_calibration_folder(out_dir: Path) -> FolderState:
    """The folder's state, refusing one that is neither missing, empty, nor a calibration's.

    Raises
    ------
    OutputError
        ``out_dir`` is a file, or holds something else.
    """
    state = folder_state(out_dir)
    if state == "other":
        if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
            raise OutputError(f"{out_dir}: exists and is not a folder; choose another --out")
        raise OutputError(
            f"{out_dir}: not empty and not a calibration's folder; choose another --out"
        )
    return state


def clear_calibration_folder(out_dir: Path) -> None:
    """Empty a calibration's folder, its manifest first (so it never looks complete).

    Raises
    ------
    OutputError
        The folder is not a calibration's, or cannot be emptied.
    """
    if check_calibration_folder(out_dir) in ("missing", "empty"):
        return
    try:
        (out_dir / MANIFEST).unlink(missing_ok=True)
        files.fsync_dir(out_dir)
        for child in sorted(out_dir.iterdir()):
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    except OSError as e:
        raise files.write_error(out_dir, e) from e


# --------------------------------------------------------------------------- state, journal
def read_state(out_dir: Path) -> dict[str, Any] | None:
    """``calibration.json`` of a folder, or ``None`` when it has no readable one."""
    path = out_dir / STATE_FILE
    if not path.is_file():
        return None
    try:
        return files.read_json(path)
    except OutputError:
        return None


def write_state(out_dir: Path, state: Mapping[str, Any]) -> None:
    """Create the folder (and its parents) and write ``calibration.json``.

    Raises
    ------
    OutputError
        The folder or file cannot be written.
    """
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise files.write_error(out_dir, e) from e
    # The state file first: a folder holding anything of a calibration is known as one.
    files.atomic_write_json(out_dir / STATE_FILE, plain_json(state))
    try:
        (out_dir / SIMULATIONS_DIR).mkdir(exist_ok=True)
    except OSError as e:
        raise files.write_error(out_dir, e) from e


def round_path(out_dir: Path, generation: int, first: int) -> Path:
    """The journal file of the round of ``generation`` whose first proposal is ``first``."""
    return out_dir / SIMULATIONS_DIR / f"g{generation:03d}-{first:07d}.json"


def write_round(out_dir: Path, generation: int, first: int, record: Mapping[str, Any]) -> None:
    """Journal one finished round (NaN written as null).

    Raises
    ------
    OutputError
        The file cannot be written.
    """
    files.atomic_write_json(round_path(out_dir, generation, first), plain_json(record))


def read_round(out_dir: Path, generation: int, first: int) -> dict[str, Any] | None:
    """A journalled round, or ``None`` when it is missing or unreadable (then simulated again)."""
    path = round_path(out_dir, generation, first)
    if not path.is_file():
        return None
    try:
        return files.read_json(path)
    except OutputError:
        return None


# --------------------------------------------------------------------------- results
def _write_text(path: Path, text: str) -> Path:
    tmp = files.temporary_sibling(path)
    try:
        files.write_text_synced(tmp, text)
        tmp.replace(path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise files.write_error(path, e) from e
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
    """Write the results into the calibration's folder, atomically, ``manifest.json`` last.

    Parameters
    ----------
    out_dir
        The calibration's folder (holding its state file and journal).
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
        The folder cannot be written.
    """
    try:
        (out_dir / MANIFEST).unlink(missing_ok=True)
        written = []
        for name, frame in ((POSTERIOR, posterior), (PREDICTIVE, predictive)):
            files.atomic_write_parquet(out_dir / name, frame)
            written.append(out_dir / name)
        text = files.json_text(plain_json(summary), indent=2)
        written.append(_write_text(out_dir / SUMMARY, text))
        text = toml_text(calibrated, header=calibrated_header)
        written.append(_write_text(out_dir / CALIBRATED_TOML, text))
        if ensemble_spec is not None:
            folder = out_dir / ENSEMBLE_DIR
            folder.mkdir(exist_ok=True)
            for stem, data in ensemble.items():
                header = f"Posterior draw {stem} of `ipcsim calibrate` (see ../{SUMMARY})."
                path = folder / f"{stem}.toml"
                written.append(_write_text(path, toml_text(data, header=header)))
            if ensemble_draws is not None:
                text = files.json_text(plain_json(ensemble_draws), indent=2)
                written.append(_write_text(folder / DRAWS, text))
            header = (
                "Written by `ipcsim calibrate`: the calibrated scenario run over the posterior "
                "ensemble\n(replication r on draw r mod n; see draws.json)."
            )
            path = folder / "experiment.toml"
            written.append(_write_text(path, toml_text(ensemble_spec, header=header)))
    except OSError as e:
        raise files.write_error(out_dir, e) from e
    facts = {p.relative_to(out_dir).as_posix(): files.file_facts(p) for p in written}
    full = plain_json({**manifest, "files": facts})
    files.atomic_write_json(out_dir / MANIFEST, full, indent=2)
    files.fsync_dir(out_dir)
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
