"""Where replications run: one ``concurrent.futures.Executor`` seam for every back end.

=====================  ======================================================================
``serial``             in this process, one cell at a time (the reference)
``process:N``          a local pool of ``N`` worker processes (``ProcessPoolExecutor``)
``dask:local:N``       a Dask ``LocalCluster`` of ``N`` single-threaded worker processes, its
                       scheduler bound to 127.0.0.1 (loopback only)
``dask:ADDRESS``       a running Dask scheduler, e.g. ``dask:tcp://10.0.0.5:8786``
=====================  ======================================================================

Whatever the back end, the caller submits a picklable top-level function with picklable
arguments and orders the results itself, so results do not depend on the executor or on how
many workers it has.

Notes
-----
The process pool uses the ``spawn`` start method through its own context (the global start
method is never set): workers then start the same way on every platform, and no fork happens
while the caller's progress-bar thread is running. Pool workers ignore SIGINT, so Ctrl-C
reaches only the main process, which stops the pool; on Linux they end when the main process
dies, even when it is killed outright.

So do a local Dask cluster's workers: they start with SIGINT ignored (POSIX), so a terminal's
Ctrl-C (sent to the whole process group) interrupts only the main process. That process then
cancels the batch's futures and closes the client before the cluster, with Dask's and
tornado's loggers silenced meanwhile: a closing cluster logs lost connections
(``CommClosedError``) and forgotten keys, which say nothing about the results (every finished
cell is saved).

A remote Dask cluster needs ipcsim installed on its workers, and a file system shared with the
client for the per-replication tables (or ``save_tables = false`` in the spec).

With the ``spawn`` start method a script that runs a batch on ``process:N`` must guard its
entry point with ``if __name__ == "__main__":`` (the ``ipcsim`` command does).

A run assumes it is the only simulation in its process: while it runs, the model freezes the
objects alive before it and raises the cyclic garbage collector's threshold
(``quiet_cyclic_gc`` in :mod:`ipcsim.engine.model`), process-wide settings that two runs in
threads of one process would undo for each other. So every local back end runs one cell at a
time per process (``serial``, the process pool, and ``dask:local:N`` with one thread per
worker), a thread pool would not be safe, and a remote Dask cluster should start its workers
with one thread each (``dask worker --nthreads 1``).

Two levels use these back ends: ``ipcsim run --executor`` sends the groups of sites of one
replication (:mod:`ipcsim.scenario.partition`) as tasks, and ``ipcsim experiment`` sends
replications, each running its groups one after another in its worker. An experiment never
nests the two, so it keeps at most one simulation per worker.
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import logging
import multiprocessing
import os
import re
import signal
import socket
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from ipcsim.errors import IpcsimError

__all__ = [
    "ExecutorError",
    "ExecutorHandle",
    "ExecutorSpec",
    "SerialExecutor",
    "open_executor",
    "parse_executor",
]

logger = logging.getLogger(__name__)

Kind = Literal["serial", "process", "dask-local", "dask-remote"]

_COUNT = re.compile(r"[1-9][0-9]*")


class ExecutorError(IpcsimError):
    """An executor option is malformed, or its back end cannot be reached or started."""


@dataclass(frozen=True)
class ExecutorSpec:
    """A parsed ``--executor`` option.

    Attributes
    ----------
    kind
        ``serial``, ``process``, ``dask-local`` or ``dask-remote``.
    workers
        Worker processes (``process`` and ``dask-local``; 1 for ``serial``; 0 for a remote
        cluster, whose size is read when connecting).
    address
        Scheduler address of a remote cluster.
    text
        The option as given.
    """

    kind: Kind
    workers: int
    address: str | None
    text: str


def parse_executor(text: str) -> ExecutorSpec:
    """Parse ``serial``, ``process:N``, ``dask:local:N`` or ``dask:ADDRESS``.

    Raises
    ------
    ExecutorError
        One line naming the option and what was expected.
    """
    value = text.strip()
    expected = "expected serial, process:N, dask:local:N or dask:ADDRESS"
    if value == "serial":
        return ExecutorSpec("serial", 1, None, value)
    if value.startswith("process:"):
        count = value.removeprefix("process:")
        if not _COUNT.fullmatch(count):
            raise ExecutorError(f"--executor {text}: N must be a whole number >= 1 ({expected})")
        return ExecutorSpec("process", int(count), None, value)
    if value.startswith("dask:local:"):
        count = value.removeprefix("dask:local:")
        if not _COUNT.fullmatch(count):
            raise ExecutorError(f"--executor {text}: N must be a whole number >= 1 ({expected})")
        return ExecutorSpec("dask-local", int(count), None, value)
    if value.startswith("dask:"):
        address = value.removeprefix("dask:")
        if not address or address == "local" or any(c.isspace() for c in address):
            raise ExecutorError(f"--executor {text}: missing scheduler address ({expected})")
        return ExecutorSpec("dask-remote", 0, address, value)
    raise ExecutorError(f"--executor {text}: {expected}")


class SerialExecutor(cf.Executor):
    """Runs each call at submission, in the calling process (the reference back end)."""

    def __init__(self) -> None:
        self._shutdown = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        """Run ``fn(*args, **kwargs)`` now; return a finished future.

        ``KeyboardInterrupt`` and ``SystemExit`` propagate at once, so Ctrl-C stops the
        batch in the middle of a replication.
        """
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        future: cf.Future[Any] = cf.Future()
        future.set_running_or_notify_cancel()
        try:
            result = fn(*args, **kwargs)
        except Exception as e:
            future.set_exception(e)
        else:
            future.set_result(result)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse further submissions (nothing runs in the background)."""
        self._shutdown = True


@dataclass
class ExecutorHandle:
    """An open executor and what the caller needs to drive it.

    Attributes
    ----------
    executor
        The ``concurrent.futures.Executor``.
    spec
        The parsed option.
    workers
        Workers available (for the number of cells to keep in flight).
    description
        One line for the manifest and the console, e.g. ``dask LocalCluster (2 workers,
        tcp://127.0.0.1:40539)``.
    """

    executor: cf.Executor
    spec: ExecutorSpec
    workers: int
    description: str

    @property
    def max_in_flight(self) -> int:
        """Cells to keep submitted at once: enough to keep every worker busy, no more.

        Keeping the window small makes Ctrl-C prompt and keeps results persisted in
        order of submission.
        """
        return 1 if self.spec.kind == "serial" else 2 * max(1, self.workers)


_PR_SET_PDEATHSIG = 1
"""``prctl`` option: the signal a process gets when its parent dies (``<linux/prctl.h>``)."""


def _pool_worker_init(parent_pid: int) -> None:
    """Pool-worker initializer: Ctrl-C is for the main process alone; end with it on Linux.

    A worker ignores SIGINT (the main process stops the pool). On Linux it also asks for
    SIGTERM when the main process dies (``PR_SET_PDEATHSIG``): a main process killed outright
    (SIGKILL, out of memory) would otherwise leave its workers behind, idle.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError) as e:  # best effort: no prctl, no clean-up on a kill
        logger.debug("prctl(PR_SET_PDEATHSIG) unavailable: %s", e)
        return
    if os.getppid() != parent_pid:  # the main process died before prctl took effect
        os._exit(1)


def _stop_pool(pool: cf.ProcessPoolExecutor) -> None:
    """Cancel queued work and end the workers now, without waiting for running cells."""
    pool.shutdown(wait=False, cancel_futures=True)
    # The public API has no way to stop a running call; a worker may hold a replication
    # that takes minutes, and its results are not wanted any more.
    processes = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        if process.is_alive():
            process.terminate()
    for process in list(processes.values()):
        process.join(timeout=5)


@contextmanager
def open_executor(text: str, *, connect_timeout_s: float = 10.0) -> Iterator[ExecutorHandle]:
    """Open the executor an ``--executor`` option names; close it on exit.

    Parameters
    ----------
    text
        ``serial``, ``process:N``, ``dask:local:N`` or ``dask:ADDRESS``.
    connect_timeout_s
        How long to wait for a remote Dask scheduler, seconds.

    Yields
    ------
    ExecutorHandle
        The executor and its size.

    Raises
    ------
    ExecutorError
        If the option is malformed, Dask is not installed, or the scheduler cannot be
        reached or the local cluster cannot start.

    Notes
    -----
    On a normal exit the executor finishes its work; on an exception (including
    ``KeyboardInterrupt``) queued work is cancelled and worker processes are stopped at once.
    """
    spec = parse_executor(text)
    if spec.kind == "serial":
        serial = SerialExecutor()
        yield ExecutorHandle(serial, spec, 1, "serial (this process)")
        serial.shutdown()
        return
    if spec.kind == "process":
        pool = cf.ProcessPoolExecutor(
            max_workers=spec.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_pool_worker_init,
            initargs=(os.getpid(),),
        )
        try:
            yield ExecutorHandle(
                pool, spec, spec.workers, f"process pool ({spec.workers} workers, spawn)"
            )
        except BaseException:
            _stop_pool(pool)
            raise
        pool.shutdown(wait=True)
        return
    with _dask_executor(spec, connect_timeout_s=connect_timeout_s) as handle:
        yield handle


@contextmanager
def _dask_executor(spec: ExecutorSpec, *, connect_timeout_s: float) -> Iterator[ExecutorHandle]:
    try:
        from distributed import Client, LocalCluster
    except ImportError as e:
        raise ExecutorError(
            f"--executor {spec.text}: Dask is not installed (pip install 'dask[distributed]')"
        ) from e
    cluster: Any = None
    client: Any = None
    try:
        if spec.kind == "dask-local":
            with _children_ignore_sigint(), warnings.catch_warnings():
                # The scheduler's HTTP server moves off 8787 when another cluster (another
                # batch, a test) holds it; that is expected, not worth a warning.
                warnings.filterwarnings("ignore", "Port .* is already in use", UserWarning)
                cluster = LocalCluster(
                    n_workers=spec.workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    # Workers log at CRITICAL only: a failed cell reaches the batch as its
                    # exception, and a worker stopped mid-cell logs lost connections.
                    silence_logs=logging.CRITICAL,
                )
            client = Client(cluster, timeout=f"{connect_timeout_s}s")
            where = f"dask LocalCluster ({spec.workers} workers, {cluster.scheduler_address})"
            workers = spec.workers
        else:
            _check_reachable(spec.address or "", connect_timeout_s)
            client = Client(spec.address, timeout=f"{connect_timeout_s}s")
            workers = max(1, sum(client.nthreads().values()))
            where = f"dask scheduler {spec.address} ({workers} worker threads)"
    except (OSError, TimeoutError, ValueError, RuntimeError) as e:
        with _dask_silenced():
            _close_quietly(client, cluster)
        reason = " ".join(str(e).split()) or type(e).__name__
        raise ExecutorError(f"--executor {spec.text}: cannot reach Dask: {reason}") from e
    except BaseException:  # Ctrl-C while the cluster starts
        with _dask_silenced():
            _close_quietly(client, cluster)
        raise
    executor = client.get_executor(pure=False)
    try:
        yield ExecutorHandle(executor, spec, workers, where)
    except BaseException:
        # Interrupted (or failed): cancel what is queued or running, then close the client
        # before the cluster, so no pending gather meets a closed connection; what a closing
        # cluster logs meanwhile is noise.
        with _dask_silenced():
            try:
                executor.shutdown(wait=False)
            except Exception as e:  # best effort: the batch is being abandoned
                logger.debug("cancelling the Dask futures failed: %s", e)
            _close_quietly(client, cluster)
        raise
    executor.shutdown(wait=True)
    _close_quietly(client, cluster)


@contextmanager
def _children_ignore_sigint() -> Iterator[None]:
    """Start processes meanwhile with SIGINT ignored; this process keeps its own handler.

    A process started with SIGINT ignored keeps ignoring it (Python leaves an inherited
    ``SIG_IGN`` alone), so a Dask worker never sees a Ctrl-C meant for the main process. The
    main thread holds SIGINT back meanwhile and gets it afterwards (on Linux, unless another
    thread of this process took it while it was ignored). Nothing changes off POSIX or outside
    the main thread.
    """
    if os.name != "posix" or threading.current_thread() is not threading.main_thread():
        yield
        return
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler if handler is not None else signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


_NOISY_LOGGERS = ("distributed", "tornado", "asyncio")


@contextmanager
def _dask_silenced() -> Iterator[None]:
    """Silence Dask's, tornado's and asyncio's loggers (and their children) meanwhile."""
    names = [
        name
        for name in [*_NOISY_LOGGERS, *logging.root.manager.loggerDict]
        if name.split(".")[0] in _NOISY_LOGGERS
    ]
    loggers = [logging.getLogger(name) for name in dict.fromkeys(names)]
    levels = [(log, log.level, log.disabled) for log in loggers]
    for log in loggers:
        log.disabled = True
    try:
        yield
    finally:
        for log, level, disabled in levels:
            log.setLevel(level)
            log.disabled = disabled


def _check_reachable(address: str, timeout_s: float) -> None:
    """Fail at once on a refused TCP address (Dask itself retries until its timeout)."""
    scheme, _, rest = address.rpartition("://")
    if scheme not in ("", "tcp"):
        return
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        raise OSError(f"expected HOST:PORT, got {address!r}")
    with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
        pass


def _close_quietly(client: Any, cluster: Any) -> None:
    for thing in (client, cluster):
        if thing is None:
            continue
        try:
            thing.close()
        except Exception as e:  # closing is best effort; the results are already saved
            logger.debug("closing %s failed: %s", type(thing).__name__, e)


def cpu_count() -> int:
    """CPUs this process may use (for defaults and messages)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1
