"""Run output folders: tables as parquet, ``summary.json`` and ``manifest.json``.

A run's output folder holds one ``<name>.parquet`` per table (and ``<name>.csv`` on request),
``summary.json`` (the headline KPIs) and ``manifest.json`` (how the outputs were made: config,
its hash, seed, package versions, git commit, wall time, and the size and SHA-256 of every file
written). The folder is written atomically: everything goes into a hidden temporary sibling
folder, ``manifest.json`` last, which is then renamed into place. An interrupted write leaves at
most a hidden ``.<name>.tmp-*`` folder behind, never a folder that looks complete.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import re
import secrets
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from ipcsim.errors import OutputError

__all__ = ["MANIFEST", "SUMMARY", "build_manifest", "read_run_outputs", "write_run_outputs"]

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
SUMMARY = "summary.json"
FORMAT_VERSION = 1
"""Version of the output folder layout, recorded in the manifest."""

VERSIONED_PACKAGES = (
    "simpy",
    "numpy",
    "pandas",
    "pyarrow",
    "pydantic",
    "scipy",
    "matplotlib",
    "typer",
)
"""Packages whose versions every manifest records (besides Python and ipcsim)."""

_FRAME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_GIT_TIMEOUT_S = 5.0


# --------------------------------------------------------------------------- writing
def write_run_outputs(
    out_dir: Path,
    *,
    frames: Mapping[str, pd.DataFrame],
    summary: Mapping[str, Any],
    manifest: Mapping[str, Any],
    csv: bool = False,
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
        JSON-able provenance (see :func:`build_manifest`), written as ``manifest.json`` with a
        ``files`` entry added (size in bytes and SHA-256 of every other file written; an
        existing ``files`` entry is replaced).
    csv
        Also write ``<name>.csv`` copies of the tables.

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
    """
    out_dir = Path(out_dir)
    target = out_dir.absolute()
    for name in frames:
        if not _FRAME_NAME.fullmatch(name) or name.lower() in {"summary", "manifest"}:
            raise ValueError(f"frame name {name!r} is not a plain table name")
    summary_text = _json_text(summary, "summary")
    parent = target.parent
    tag = f"{os.getpid()}-{secrets.token_hex(4)}"
    tmp = parent / f".{target.name}.tmp-{tag}"
    try:
        _check_replaceable(target)
        parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
    except OSError as e:
        raise OutputError(f"cannot write outputs to {out_dir}: {_reason(e)}") from e
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
        _write_text(tmp / SUMMARY, summary_text)
        written.append(tmp / SUMMARY)
        for path in written:
            _fsync_file(path)
        full_manifest = dict(manifest)
        full_manifest["files"] = {p.name: _file_facts(p) for p in sorted(written)}
        _write_text(tmp / MANIFEST, _json_text(full_manifest, "manifest"))
        _fsync_dir(tmp)
        _swap_into_place(tmp, target, tag)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise OutputError(f"cannot write outputs to {out_dir}: {_reason(e)}") from e
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
    _fsync_dir(out_dir.parent)
    if aside is not None:
        try:
            shutil.rmtree(aside)
        except OSError as e:
            logger.warning("could not delete the previous outputs at %s: %s", aside, _reason(e))


def _json_text(data: Mapping[str, Any], what: str) -> str:
    try:
        return json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"
    except ValueError as e:
        raise ValueError(f"{what} holds a value JSON cannot store (NaN or infinity): {e}") from e


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    """Flush a folder's entries (POSIX only; best effort)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _file_facts(path: Path) -> dict[str, Any]:
    return {"bytes": path.stat().st_size, "sha256": sha256_file(path)}


PRESENTATION_PACKAGES = ("cli", "present")
"""Subpackages that only show results (changing them changes no number): every module
below them is left out of :func:`code_fingerprint`, so the list follows the folders."""


def _is_presentation(name: str) -> bool:
    """Whether a module path relative to the package (``present/plots.py``) only shows results."""
    return name.split("/", 1)[0] in PRESENTATION_PACKAGES


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 of the package's source files that can change a result.

    Every module outside the presentation subpackages (:data:`PRESENTATION_PACKAGES`), by
    path and content, so a new module counts by default. An experiment folder records it:
    resuming a batch with other model code would mix replications the two versions simulated
    differently.
    """
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent.parent
    for path in sorted(package.rglob("*.py")):
        name = path.relative_to(package).as_posix()
        if _is_presentation(name):
            continue
        digest.update(name.encode("utf-8") + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _reason(error: BaseException) -> str:
    """One line describing an OS error (without Python's ``[Errno n]`` prefix)."""
    if isinstance(error, OSError) and error.strerror:
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror.lower()}{where}"
    return " ".join(str(error).split()) or type(error).__name__


# --------------------------------------------------------------------------- manifest
def build_manifest(
    *,
    scenario_json: Mapping[str, Any],
    config_hash: str,
    seed: int,
    wall_time_s: float,
    config_path: str | None,
    streams: Sequence[str],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Provenance of a run: what made the outputs, so any figure can be traced back.

    Parameters
    ----------
    scenario_json
        The resolved scenario as JSON data (``Scenario.model_dump(mode="json")``).
    config_hash
        SHA-256 of the resolved scenario.
    seed
        Master seed of the run.
    wall_time_s
        Wall-clock time of the run, seconds.
    config_path
        The scenario file, or ``None`` when the scenario did not come from a file.
    streams
        Names of the random-number streams used.
    extra
        More top-level entries (e.g. ``replication``); they may not replace standard ones.

    Returns
    -------
    dict
        ``format_version``, ``ipcsim_version``, ``versions`` (python and the packages of
        :data:`VERSIONED_PACKAGES`; "not installed" if missing), ``git_commit`` and
        ``git_dirty`` (``None`` outside a git checkout), ``platform`` (machine, system,
        python_implementation, cpu_count), ``created_utc`` (ISO 8601), ``wall_time_s``,
        ``seed``, ``config_hash``, ``config_path``, ``config`` and ``rng_streams``.

    Raises
    ------
    ValueError
        If ``extra`` repeats a standard key.
    """
    commit, dirty = _git_state(Path(__file__).resolve().parent.parent)
    manifest: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "ipcsim_version": package_version("ipcsim", missing="unknown"),
        "versions": {
            "python": platform.python_version(),
            **{name: package_version(name, missing="not installed") for name in VERSIONED_PACKAGES},
        },
        "git_commit": commit,
        "git_dirty": dirty,
        "platform": {
            "machine": platform.machine(),
            "system": platform.system(),
            "python_implementation": platform.python_implementation(),
            "cpu_count": os.cpu_count(),
        },
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "wall_time_s": float(wall_time_s),
        "seed": int(seed),
        "config_hash": config_hash,
        "config_path": config_path,
        "config": dict(scenario_json),
        "rng_streams": list(streams),
    }
    for key, value in (extra or {}).items():
        if key in manifest or key == "files":
            raise ValueError(f"manifest extra key {key!r} would replace a standard entry")
        manifest[key] = value
    return manifest


def package_version(package: str, *, missing: str = "not installed") -> str:
    """Installed version of ``package``, or ``missing``."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return missing


def _git_state(folder: Path) -> tuple[str | None, bool | None]:
    """``(commit, dirty)`` of the git checkout whose top level is ``folder``; Nones otherwise.

    Notes
    -----
    The top level must be ``folder`` itself, so an installed copy of the package inside some
    other repository (a virtualenv in a project folder) does not report that repository.
    Never raises.
    """
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        found = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--show-toplevel", "HEAD"],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            env=env,
            check=True,
        )
        lines = found.stdout.splitlines()
        if len(lines) != 2 or Path(lines[0]).resolve() != folder.resolve():
            return None, None
        status = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain"],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            env=env,
            check=True,
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None, None
    return lines[1], bool(status.stdout.strip())


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
    manifest = _read_json(manifest_path)
    files = manifest.get("files")
    recorded: Mapping[str, Any] = files if isinstance(files, Mapping) else {}
    for name in sorted(recorded):
        if not (out_dir / name).is_file():
            raise OutputError(f"{out_dir / name}: listed in {MANIFEST} but missing")
    summary_path = out_dir / SUMMARY
    _verify(summary_path, recorded)
    summary = _read_json(summary_path)
    frames: dict[str, pd.DataFrame] = {}
    for path in sorted(out_dir.glob("*.parquet")):
        _verify(path, recorded)
        try:
            frames[path.stem] = pd.read_parquet(path, engine="pyarrow")
        except (OSError, ValueError, pa.ArrowException) as e:
            raise OutputError(f"{path}: unreadable parquet file ({_reason(e)})") from e
    return {"frames": frames, "summary": summary, "manifest": manifest}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise OutputError(f"{path}: missing") from e
    except (OSError, UnicodeDecodeError) as e:
        raise OutputError(f"{path}: unreadable ({_reason(e)})") from e
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise OutputError(f"{path}: invalid JSON ({e.msg} at line {e.lineno})") from e
    if not isinstance(data, dict):
        raise OutputError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


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
        if "sha256" in facts and sha256_file(path) != facts["sha256"]:
            raise OutputError(f"{path}: checksum differs from {MANIFEST} (corrupt or modified)")
    except OSError as e:
        raise OutputError(f"{path}: unreadable ({_reason(e)})") from e
