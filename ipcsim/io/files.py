"""One set of file helpers: atomic writers, strict readers, checksums.

Every writer puts its bytes in a hidden temporary sibling (``.<name>.tmp-<pid>-<random>``),
flushes them to disk and renames the file into place, so a reader never sees half a file, and
turns a failed write (disk full, permission denied, read-only file system) into one
:class:`~ipcsim.errors.OutputError` line naming the file. Every reader turns a missing,
unreadable or malformed file into one such line too.

Leftovers
---------
A process killed while writing (SIGKILL, power cut) leaves its hidden temporary sibling behind.
The next write of the same file or folder removes such leftovers (:func:`remove_stale_siblings`)
by this rule: the name is exactly ``.<name>.tmp-<pid>-<8 hex digits>``, as
:func:`temporary_sibling` makes them, and no process with that ``<pid>`` runs on this machine
(a running one, which may be writing it, is left alone; so is anything else in the folder).
Where that cannot be told (not a POSIX system), nothing is removed.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from ipcsim.errors import OutputError

logger = logging.getLogger(__name__)

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
    "remove_stale_siblings",
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


def _pid_running(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (``True`` when it cannot be told)."""
    if os.name != "posix":
        return True  # os.kill(pid, 0) would end the process on Windows
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process: it exists
        return True
    return True


def remove_stale_siblings(path: Path, kinds: tuple[str, ...] = ("tmp",)) -> list[Path]:
    """Remove hidden siblings of ``path`` that killed ipcsim processes left behind.

    Parameters
    ----------
    path
        The file or folder about to be written.
    kinds
        Which siblings: ``tmp`` (:func:`temporary_sibling`'s ``.<name>.tmp-<pid>-<random>``);
        ``old`` (``.<name>.old-<pid>-<random>``, a previous output folder moved aside).

    Returns
    -------
    list of Path
        What was removed.

    Notes
    -----
    A sibling is removed only if its name has exactly that form and its ``<pid>`` runs no
    process on this machine (see the module notes). Removal is best effort: what cannot be
    removed is logged and left.
    """
    which = "|".join(map(re.escape, kinds))
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(?:{which})-(?P<pid>[0-9]+)-[0-9a-f]{{8}}")
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return []
    removed = []
    for entry in entries:
        found = pattern.fullmatch(entry.name)
        if found is None or _pid_running(int(found["pid"])):
            continue
        stale = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(stale)
            else:
                stale.unlink()
        except OSError as e:
            logger.warning("could not remove %s, left by a killed run: %s", stale, os_reason(e))
            continue
        logger.info("removed %s, left by a killed run (process %s)", stale, found["pid"])
        removed.append(stale)
    return removed


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

    Raises
    ------
    OutputError
        The file cannot be written (nothing is left behind).
    """
    remove_stale_siblings(path)
    tmp = temporary_sibling(path)
    try:
        frame.to_parquet(tmp, engine="pyarrow", index=False)
        fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException as e:
        _discard(tmp)
        if isinstance(e, OSError):
            raise write_error(path, e) from e
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
    OutputError
        The file cannot be written (nothing is left behind).
    """
    text = json_text(data, indent=indent)
    remove_stale_siblings(path)
    tmp = temporary_sibling(path)
    try:
        write_text_synced(tmp, text)
        os.replace(tmp, path)
    except BaseException as e:
        _discard(tmp)
        if isinstance(e, OSError):
            raise write_error(path, e) from e
        raise


def _discard(tmp: Path) -> None:
    """Remove a temporary file after a failed write (best effort: the write's error matters)."""
    try:
        tmp.unlink(missing_ok=True)
    except OSError as e:
        logger.warning("could not remove %s: %s", tmp, os_reason(e))


def write_error(path: Path, error: OSError) -> OutputError:
    """One line for a failed write of ``path``: what failed and, when the disk is full, why.

    Parameters
    ----------
    path
        The file or folder being written.
    error
        The operating system's error (pyarrow's I/O errors are ``OSError`` too).

    Returns
    -------
    OutputError
        ``cannot write <path>: <reason>``.
    """
    reason = " ".join(str(error.strerror or error).split()).lower() or type(error).__name__
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        reason = f"the disk is full ({reason})"
    elif error.errno == errno.EROFS:
        reason = f"read-only file system ({reason})"
    return OutputError(f"cannot write {path}: {reason}")


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
