"""One set of file helpers: atomic writers, strict readers, checksums.

Every writer puts its bytes in a hidden temporary sibling (``.<name>.tmp-<pid>-<random>``),
flushes them to disk and renames the file into place, so a reader never sees half a file. Every
reader turns a missing, unreadable or malformed file into one :class:`~ipcsim.errors.OutputError`
line naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from ipcsim.errors import OutputError

__all__ = [
    "atomic_write_json",
    "atomic_write_parquet",
    "file_facts",
    "fsync_dir",
    "fsync_file",
    "json_text",
    "os_reason",
    "read_json",
    "read_parquet",
    "sha256_file",
    "temporary_sibling",
    "write_text_synced",
]


# --------------------------------------------------------------------------- writing
def temporary_sibling(path: Path, tag: str | None = None) -> Path:
    """A hidden temporary name next to ``path``: ``.<name>.tmp-<pid>-<random>``.

    Parameters
    ----------
    path
        The file or folder to be written.
    tag
        The ``<pid>-<random>`` part (default: a fresh one).

    Returns
    -------
    Path
        The temporary path, in ``path``'s folder.
    """
    tag = tag if tag is not None else f"{os.getpid()}-{secrets.token_hex(4)}"
    return path.parent / f".{path.name}.tmp-{tag}"


def json_text(data: Any, *, indent: int, what: str | None = None) -> str:
    """Strict JSON text of ``data`` (sorted keys, a final newline, no NaN).

    Parameters
    ----------
    data
        JSON-able data (NaN as null is the caller's job).
    indent
        Spaces per level.
    what
        What the data is, for the error message (``None``: let ``json`` speak).

    Returns
    -------
    str
        The text.

    Raises
    ------
    ValueError
        The data holds NaN or infinity.
    """
    try:
        return json.dumps(data, indent=indent, sort_keys=True, allow_nan=False) + "\n"
    except ValueError as e:
        if what is None:
            raise
        raise ValueError(f"{what} holds a value JSON cannot store (NaN or infinity): {e}") from e


def write_text_synced(path: Path, text: str) -> None:
    """Write UTF-8 text with Unix line ends and flush it to disk before returning."""
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def fsync_file(path: Path) -> None:
    """Flush a file already written to disk."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
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


def atomic_write_parquet(path: Path, frame: pd.DataFrame) -> None:
    """Write ``frame`` to ``path`` (pyarrow, no index) via a temporary sibling and a rename.

    Parameters
    ----------
    path
        The parquet file; its folder must exist.
    frame
        The table.
    """
    tmp = temporary_sibling(path)
    try:
        frame.to_parquet(tmp, engine="pyarrow", index=False)
        fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, data: Any, *, indent: int = 1) -> None:
    """Write strict JSON (sorted keys, no NaN) via a temporary sibling and a rename.

    Parameters
    ----------
    path
        The JSON file; its folder must exist.
    data
        JSON-able data (NaN as null is the caller's job).
    indent
        Spaces per level.

    Raises
    ------
    ValueError
        The data holds NaN or infinity (nothing is written).
    """
    tmp = temporary_sibling(path)
    try:
        write_text_synced(tmp, json_text(data, indent=indent))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- reading
def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON object.

    Parameters
    ----------
    path
        The JSON file.

    Returns
    -------
    dict
        Its contents.

    Raises
    ------
    OutputError
        One line naming the file: missing, unreadable, invalid JSON or not a JSON object.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise OutputError(f"{path}: missing") from e
    except (OSError, UnicodeDecodeError) as e:
        raise OutputError(f"{path}: unreadable ({os_reason(e)})") from e
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise OutputError(f"{path}: invalid JSON ({e.msg} at line {e.lineno})") from e
    if not isinstance(data, dict):
        raise OutputError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def read_parquet(path: Path) -> pd.DataFrame:
    """Read a parquet table (pyarrow).

    Parameters
    ----------
    path
        The parquet file.

    Returns
    -------
    DataFrame
        The table.

    Raises
    ------
    OutputError
        One line naming the file: missing, or unreadable as parquet.
    """
    try:
        return pd.read_parquet(path, engine="pyarrow")
    except FileNotFoundError as e:
        raise OutputError(f"{path}: missing") from e
    except (OSError, ValueError, pa.ArrowException) as e:
        raise OutputError(f"{path}: unreadable parquet file ({os_reason(e)})") from e


# --------------------------------------------------------------------------- facts
def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_facts(path: Path) -> dict[str, Any]:
    """Size (``bytes``) and ``sha256`` of a file, as a manifest records them."""
    return {"bytes": path.stat().st_size, "sha256": sha256_file(path)}


def os_reason(error: BaseException) -> str:
    """One line describing an OS error (without Python's ``[Errno n]`` prefix)."""
    if isinstance(error, OSError) and error.strerror:
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror.lower()}{where}"
    return " ".join(str(error).split()) or type(error).__name__
