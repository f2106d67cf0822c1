"""Page runs in worker processes: one process per run, with progress and cancel.

The server never simulates: a run is a separate process (the model tunes the garbage collector
per process, and a run in a server thread would hold the interpreter the page needs). A process
per run, rather than a pool, is what makes *cancel* honest: a running
:class:`concurrent.futures.ProcessPoolExecutor` task cannot be stopped, a process can be
terminated. At most ``max_running`` runs go at once; later ones wait, queued.

The worker does what ``ipcsim run`` then ``ipcsim report`` do, on the TOML file the page offers
for download::

    job folder/scenario.toml -> load_scenario -> run_scenario -> write_run(job folder/run)
        -> build_figures -> save_figures(run/plots)

The HTML report takes longer than a small run (seconds: every figure and the STRESS-DES items),
so it is written only when asked for, by :meth:`JobRunner.report`, in a process pool of its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import secrets
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any, Literal

from ipcsim.errors import IpcsimError

__all__ = ["PAGE_FIGURES", "Job", "JobRunner", "JobState", "run_job"]

log = logging.getLogger(__name__)

PAGE_FIGURES = ("throughput", "waits_by_month", "utilisation")
"""Figure kinds the page shows (rows of the report's figure table), in order."""

JobState = Literal["queued", "running", "done", "failed", "cancelled"]

ERROR_FILE = "error.txt"
"""One-line error a failed worker leaves in its job folder."""


def run_job(toml_path: str, out_dir: str, progress: Any) -> None:
    """Run one scenario file and write its run folder, figures and report (worker side).

    Parameters
    ----------
    toml_path
        The scenario TOML, exactly as the page offers it for download.
    out_dir
        The run folder to write (``summary.json``, tables, ``plots/``).
    progress
        A shared ``multiprocessing.Value('d')`` set to the share of the horizon simulated.

    Notes
    -----
    A library error is written as one line to ``<out_dir>/../error.txt``; anything else is
    left to propagate (the process then exits non-zero and the page says the run failed).
    """
    # Imported here so the server process need not load the model to serve the page.
    from ipcsim.present.report import build_figures, read_folder, save_figures
    from ipcsim.run import run_scenario, write_run
    from ipcsim.scenario.load import load_scenario

    def _report(share: float) -> None:
        progress.value = share

    out = Path(out_dir)
    try:
        scenario = load_scenario(toml_path)
        result = run_scenario(scenario, progress=_report)
        write_run(result, out, config_path=toml_path)
        figures = build_figures(read_folder(out), kinds=PAGE_FIGURES)
        save_figures(figures, out / "plots")
        for spec in figures:
            spec.figure.clear()
    except IpcsimError as e:
        (out.parent / ERROR_FILE).write_text(" ".join(str(e).split()), encoding="utf-8")
        raise SystemExit(2) from e
    progress.value = 1.0


def write_report_file(run_folder: str) -> str:
    """Write ``report.html`` of a run folder (worker side); its path."""
    from ipcsim.present.report import write_report

    return str(write_report(run_folder))


@dataclass
class Job:
    """One page run: its folder, process and state.

    Attributes
    ----------
    folder
        The job's own folder: ``scenario.toml`` and the run folder ``run/``.
    state
        ``queued``, ``running``, ``done``, ``failed`` or ``cancelled``.
    error
        One line saying why a run failed.
    """

    id: str
    folder: Path
    progress: Synchronized[float]
    state: JobState = "queued"
    error: str = ""
    process: BaseProcess | None = field(default=None, repr=False)

    @property
    def toml_path(self) -> Path:
        """The scenario file the job runs."""
        return self.folder / "scenario.toml"

    @property
    def run_folder(self) -> Path:
        """The run folder the job writes."""
        return self.folder / "run"

    def summary(self) -> dict[str, Any]:
        """The finished run's ``summary.json``."""
        return dict(json.loads((self.run_folder / "summary.json").read_text(encoding="utf-8")))


class JobRunner:
    """Starts, watches and cancels page runs; each in its own worker process.

    Parameters
    ----------
    max_running
        Runs going at once; later ones are queued.
    start_method
        ``multiprocessing`` start method of the workers: ``forkserver`` (default where the
        platform has it: workers start from a clean process with ipcsim already imported,
        not from a copy of the threaded server) else ``spawn``.
    """

    def __init__(self, *, max_running: int = 2, start_method: str | None = None) -> None:
        methods = multiprocessing.get_all_start_methods()
        method = start_method or ("forkserver" if "forkserver" in methods else "spawn")
        # A spawn or forkserver context (typeshed's BaseContext lacks .Process).
        self._context: Any = multiprocessing.get_context(method)
        if method == "forkserver":
            self._context.set_forkserver_preload(
                ["ipcsim.present.web.jobs", "ipcsim.run", "ipcsim.present.report"]
            )
        self.max_running = max_running
        self._reports = ProcessPoolExecutor(max_workers=1, mp_context=self._context)
        self._jobs: dict[str, Job] = {}

    def submit(self, toml_text: str, folder: Path) -> Job:
        """Queue a run of ``toml_text`` in a new job folder under ``folder``.

        Parameters
        ----------
        toml_text
            The scenario, as the page offers it for download.
        folder
            A folder the job may write in (the page session's temporary folder).

        Returns
        -------
        Job
            Queued; :meth:`poll` starts it when a worker is free.
        """
        job_id = secrets.token_hex(6)
        job_folder = folder / f"job-{job_id}"
        job_folder.mkdir(parents=True)
        job = Job(id=job_id, folder=job_folder, progress=self._context.Value("d", 0.0))
        job.toml_path.write_text(toml_text, encoding="utf-8")
        self._jobs[job_id] = job
        self._start_queued()
        return job

    def _start_queued(self) -> None:
        running = sum(1 for job in self._jobs.values() if job.state == "running")
        for job in self._jobs.values():
            if running >= self.max_running:
                return
            if job.state == "queued":
                job.process = self._context.Process(
                    target=run_job,
                    args=(str(job.toml_path), str(job.run_folder), job.progress),
                    daemon=True,
                )
                job.process.start()
                job.state = "running"
                running += 1

    def poll(self, job: Job) -> JobState:
        """The job's state now; finished processes are collected and queued runs started."""
        for each in list(self._jobs.values()):
            process = each.process
            if each.state == "running" and process is not None and not process.is_alive():
                process.join()
                if process.exitcode == 0:
                    each.state = "done"
                else:
                    each.state = "failed"
                    error = each.folder / ERROR_FILE
                    each.error = (
                        error.read_text(encoding="utf-8")
                        if error.exists()
                        else f"the run stopped unexpectedly (exit status {process.exitcode})"
                    )
            if each.state in ("done", "failed", "cancelled"):
                self._jobs.pop(each.id, None)
        self._start_queued()
        return job.state

    def cancel(self, job: Job) -> None:
        """Stop a queued or running job; its folder is removed."""
        if job.state in ("done", "failed", "cancelled"):
            return
        if job.process is not None and job.process.is_alive():
            job.process.terminate()
            job.process.join(timeout=5)
            if job.process.is_alive():
                job.process.kill()
                job.process.join()
        job.state = "cancelled"
        self._jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)
        self._start_queued()

    async def report(self, job: Job) -> Path:
        """The finished job's ``report.html``, written in the report pool when first asked for.

        Raises
        ------
        IpcsimError
            When the report cannot be written (from the worker).
        """
        path = job.run_folder / "report.html"
        if not path.exists():
            await asyncio.wrap_future(self._reports.submit(write_report_file, str(job.run_folder)))
        return path

    def shutdown(self) -> None:
        """Cancel every job and stop the report pool (the server is stopping)."""
        for job in list(self._jobs.values()):
            self.cancel(job)
        self._reports.shutdown(wait=False, cancel_futures=True)
