"""Run output folders: tables as parquet, ``summary.json`` and ``manifest.json``.

A run's output folder holds one ``<name>.parquet`` per table (and ``<name>.csv`` on request),
``summary.json`` (the headline KPIs) and ``manifest.json`` (how the outputs were made: config,
its hash, seed, package versions, git commit, wall time, and the size and SHA-256 of every file
written). The folder is written atomically: everything goes into a hidden temporary sibling
folder, ``manifest.json`` last, which is then renamed into place. An interrupted write leaves at
most a hidden ``.<name>.tmp-*`` folder behind, never a folder that looks complete, and the next
write to the same folder removes it (the rule is :func:`ipcsim.io.files.remove_stale_siblings`':
only ``.<name>.tmp-<pid>-<8 hex digits>`` whose process no longer runs).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ipcsim.errors import OutputError
from ipcsim.io import files
from ipcsim.io.manifest import MANIFEST
from ipcsim.io.workbook import WORKBOOK_NAME, write_workbook

__all__ = ["MANIFEST", "SUMMARY", "read_run_outputs", "write_run_outputs"]

logger = logging.getLogger(__name__)

SUMMARY = "summary.json"

_FRAME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


# --------------------------------------------------------------------------- writing
def write_run_outputs(
    out_dir: Path,
    *,
    frames: Mapping[str, pd.DataFrame],
    summary: Mapping[str, Any],
    manifest: Mapping[str, Any],
    csv: bool = False,
    workbook: Mapping[str, pd.DataFrame] | None = None,
) -> Path:
    """Write a run's tables, summary and manifest to ``out_dir``, atomically.

    Parameters
    ----------
    out_dir
        Output folder. Its parent is created if missing. An existing ``out_dir`` is replaced
        only if it is empty or is an earlier output folder (holds ``manifest.json``).
    frames
        Tables by name; each is written as ``<name>.parquet`` (pyarrow, no index).
    summary
        JSON-able headline KPIs, written as ``summary.json`` (strict JSON: no NaN).
    manifest
        JSON-able provenance (see :func:`ipcsim.io.manifest.build_manifest`), written as
        ``manifest.json`` with a ``files`` entry added (size in bytes and SHA-256 of every other
        file written; an existing ``files`` entry is replaced).
    csv
        Also write ``<name>.csv`` copies of the tables.
    workbook
        Sheets of an Excel workbook to write as ``results.xlsx``
        (:func:`ipcsim.io.workbook.workbook_sheets`); none if ``None``.

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    OutputError
        If the folder cannot be written or swapped into place (the parent is a file, permission
        denied, disk full, ...) or ``out_dir`` exists and is not an output folder. An existing
        ``out_dir`` is then left untouched and no temporary folder is left behind.
    ValueError
        If a frame name is not a plain file name, or the summary or manifest holds NaN.

    Notes
    -----
    Everything is written into a fresh hidden sibling ``.<name>.tmp-<pid>-<random>``,
    ``manifest.json`` last, each file flushed to disk. Then an existing ``out_dir`` is renamed
    aside, the temporary folder renamed into place and the old one deleted. A crash between
    the two renames leaves no ``out_dir`` and the previous outputs in ``.<name>.old-*``.

    Siblings a killed write left behind are removed (see
    :func:`ipcsim.io.files.remove_stale_siblings`): temporary folders before writing, folders
    moved aside only once the new outputs are in place.
    """
    out_dir = Path(out_dir)
    target = out_dir.absolute()
    for name in frames:
        if not _FRAME_NAME.fullmatch(name) or name.lower() in {"summary", "manifest"}:
            raise ValueError(f"frame name {name!r} is not a plain table name")
    summary_text = files.json_text(summary, indent=2, what="summary")
    parent = target.parent
    tag = f"{os.getpid()}-{secrets.token_hex(4)}"
    tmp = files.temporary_sibling(target, tag)
    try:
        _check_replaceable(target)
        parent.mkdir(parents=True, exist_ok=True)
        files.remove_stale_siblings(target, ("tmp",))
        tmp.mkdir()
    except OSError as e:
        raise OutputError(f"cannot write outputs to {out_dir}: {files.os_reason(e)}") from e
    try:
        written: list[Path] = []
        for name, frame in frames.items():
            path = tmp / f"{name}.parquet"
            frame.to_parquet(path, engine="pyarrow", index=False)
            written.append(path)
            if csv:
                path = tmp / f"{name}.csv"
                frame.to_csv(path, index=False)
                written.append(path)
        files.write_text_synced(tmp / SUMMARY, summary_text)
        written.append(tmp / SUMMARY)
        if workbook is not None:
            written.append(write_workbook(tmp / WORKBOOK_NAME, workbook))
        for path in written:
            files.fsync_file(path)
        full_manifest = dict(manifest)
        full_manifest["files"] = {p.name: files.file_facts(p) for p in sorted(written)}
        manifest_text = files.json_text(full_manifest, indent=2, what="manifest")
        files.write_text_synced(tmp / MANIFEST, manifest_text)
        files.fsync_dir(tmp)
        _swap_into_place(tmp, target, tag)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise OutputError(f"cannot write outputs to {out_dir}: {files.os_reason(e)}") from e
        raise
    return out_dir


def _check_replaceable(out_dir: Path) -> None:
    """Refuse to replace anything but an empty folder or an earlier output folder."""
    if not out_dir.exists() and not out_dir.is_symlink():
        return
    if out_dir.is_symlink() or not out_dir.is_dir():
        raise OutputError(f"cannot write outputs to {out_dir}: it exists and is not a folder")
    if (out_dir / MANIFEST).is_file() or not any(out_dir.iterdir()):
        return
    raise OutputError(
        f"refusing to replace {out_dir}: it exists and is not an ipcsim output folder "
        f"(no {MANIFEST}); choose another --out or remove it"
    )


def _swap_into_place(tmp: Path, out_dir: Path, tag: str) -> None:
    aside: Path | None = None
    if out_dir.exists():
        aside = out_dir.parent / f".{out_dir.name}.old-{tag}"
        os.rename(out_dir, aside)
    try:
        os.rename(tmp, out_dir)
    except BaseException:
        if aside is not None:
            os.rename(aside, out_dir)
        raise
    files.fsync_dir(out_dir.parent)
    files.remove_stale_siblings(out_dir, ("old",))
    if aside is not None:
        try:
            shutil.rmtree(aside)
        except OSError as e:
            logger.warning(
                "could not delete the previous outputs at %s: %s", aside, files.os_reason(e)
            )


# --------------------------------------------------------------------------- reading
def read_run_outputs(out_dir: str | Path) -> dict[str, Any]:
    """Read back an output folder written by :func:`write_run_outputs`.

    Parameters
    ----------
    out_dir
        The output folder.

    Returns
    -------
    dict
        ``{"frames": {name: DataFrame}, "summary": dict, "manifest": dict}``; the frames are
        every ``<name>.parquet`` in the folder, in name order.

    Raises
    ------
    OutputError
        One line naming the folder or file, when the folder is missing, has no
        ``manifest.json`` (an incomplete or foreign folder), or a file is unreadable, is not
        valid JSON or parquet, or differs in size or checksum from the manifest's record.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise OutputError(f"{out_dir}: no such output folder")
    manifest_path = out_dir / MANIFEST
    if not manifest_path.is_file():
        raise OutputError(
            f"{manifest_path}: missing; {out_dir} is not a complete ipcsim output folder"
        )
    manifest = files.read_json(manifest_path)
    listed = manifest.get("files")
    recorded: Mapping[str, Any] = listed if isinstance(listed, Mapping) else {}
    for name in sorted(recorded):
        if not (out_dir / name).is_file():
            raise OutputError(f"{out_dir / name}: listed in {MANIFEST} but missing")
    summary_path = out_dir / SUMMARY
    _verify(summary_path, recorded)
    summary = files.read_json(summary_path)
    frames: dict[str, pd.DataFrame] = {}
    for path in sorted(out_dir.glob("*.parquet")):
        _verify(path, recorded)
        frames[path.stem] = files.read_parquet(path)
    return {"frames": frames, "summary": summary, "manifest": manifest}


def _verify(path: Path, recorded: Mapping[str, Any]) -> None:
    """Check ``path`` against the manifest's size and SHA-256, when it has a record of it."""
    facts = recorded.get(path.name)
    if not isinstance(facts, Mapping):
        return
    try:
        size = path.stat().st_size
        if "bytes" in facts and size != facts["bytes"]:
            raise OutputError(
                f"{path}: {size} bytes, but {MANIFEST} recorded {facts['bytes']} "
                "(truncated or modified)"
            )
        if "sha256" in facts and files.sha256_file(path) != facts["sha256"]:
            raise OutputError(f"{path}: checksum differs from {MANIFEST} (corrupt or modified)")
    except OSError as e:
        raise OutputError(f"{path}: unreadable ({files.os_reason(e)})") from e
