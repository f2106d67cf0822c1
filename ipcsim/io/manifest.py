"""Provenance: ``manifest.json`` contents and the code fingerprint.

Every output folder carries a manifest (config, its hash, seed, package versions, git commit,
platform, wall time), so any figure can be traced back to how it was made. The code fingerprint
hashes every module that can change a result, so a resumed experiment refuses to mix
replications simulated by different model code.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import importlib.metadata
import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "PRESENTATION_PACKAGES",
    "VERSIONED_PACKAGES",
    "build_manifest",
    "code_fingerprint",
    "package_version",
]

MANIFEST = "manifest.json"
"""File name of the manifest in every output folder."""
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

_PACKAGE = Path(__file__).resolve().parent.parent
"""The ``ipcsim`` package folder."""
_GIT_TIMEOUT_S = 5.0


# --------------------------------------------------------------------------- fingerprint
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
    for path in sorted(_PACKAGE.rglob("*.py")):
        name = path.relative_to(_PACKAGE).as_posix()
        if _is_presentation(name):
            continue
        digest.update(name.encode("utf-8") + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


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
    # The checkout is the folder holding the package (an installed copy has none).
    commit, dirty = _git_state(_PACKAGE.parent)
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
