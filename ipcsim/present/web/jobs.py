"""Page runs in worker processes: one process per run, with progress and cancel.

The server never simulates: a run is a separate process (the model tunes the garbage collector
per process, and a run in a server thread would hold the interpreter the page needs). A process
per run, rather than a pool, is what makes *cancel* honest: a running
:class:`concurrent.futures.ProcessPoolExecutor` task cannot be stopped, a process can be
terminated. At most ``max_running`` runs go at once; later ones wait, queued.

The worker does what ``ipcsim run``, ``ipcsim experiment`` and ``ipcsim plot`` do, on the
files the page offers for download::

    job folder/scenario.toml -> load_scenario -> run_scenario -> write_run(job folder/run)
        -> build_figures -> save_figures(run/plots)
    job folder/experiment.toml (replications or a what-if over one factor, base scenario.toml)
        -> plan_experiment -> run_experiment(serial, in the worker) -> job folder/batch

The experiment's replications run one after another in the job's own process (the ``serial``
executor): the job process is what the page can terminate on *Cancel*, and ``--workers`` jobs
already share the machine's cores.

The HTML report takes longer than a small run (seconds: every figure and the STRESS-DES items),
so it is written only when asked for, by :meth:`JobRunner.report`, in a process pool of its own;
so is each capacity figure of a what-if (:meth:`JobRunner.capacity_figure`), when first shown.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import secrets
import shutil
from collections.abc import Mapping
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


def run_job(
    toml_path: str,
    out_dir: str,
    progress: Any,
    spec_path: str | None = None,
    single: bool = True,
) -> None:
    """Run a page job: the scenario once, an experiment over it, or both (worker side).

    Parameters
    ----------
    toml_path
        The scenario TOML, exactly as the page offers it for download.
    out_dir
        The run folder to write (``summary.json``, tables, ``plots/``); the experiment goes
        in its sibling ``batch/``.
    progress
        A shared ``multiprocessing.Value('d')``: the share of the job done, 0 to 1 (of the
        horizon simulated, for a single run).
    spec_path
        An experiment spec over ``toml_path`` (replications, or a what-if over one factor).
    single
        Run the scenario once and draw the page's figures (replication 0, as ``ipcsim
        run``).

    Notes
    -----
    A library error is written as one line to ``<out_dir>/../error.txt``; anything else is
    left to propagate (the process then exits non-zero and the page says the run failed).
    """
    out = Path(out_dir)
    try:
        cells = _count_cells(spec_path) if spec_path is not None else 0
        weight = 1.0 / (1 + cells) if single else 0.0
        if single:
            _run_once(toml_path, out, progress, weight)
        if spec_path is not None:
            _run_batch(spec_path, out.parent / "batch", progress, weight)
    except IpcsimError as e:
        (out.parent / ERROR_FILE).write_text(" ".join(str(e).split()), encoding="utf-8")
        raise SystemExit(2) from e
    progress.value = 1.0


def _count_cells(spec_path: str) -> int:
    from ipcsim.experiment import load_spec

    spec = load_spec(spec_path)
    return spec.scenario_count() * spec.replications.n


def _run_once(toml_path: str, out: Path, progress: Any, weight: float) -> None:
    """``ipcsim run`` of the scenario, then the page's figures of it."""
    # Imported here so the server process need not load the model to serve the page.
    from ipcsim.present.report import build_figures, read_folder, save_figures
    from ipcsim.run import run_scenario, write_run
    from ipcsim.scenario.load import load_scenario

    def _report(share: float) -> None:
        progress.value = weight * share

    scenario = load_scenario(toml_path)
    result = run_scenario(scenario, progress=_report)
    write_run(result, out, config_path=toml_path)
    figures = build_figures(read_folder(out), kinds=PAGE_FIGURES)
    save_figures(figures, out / "plots")
    for spec in figures:
        spec.figure.clear()


def _run_batch(spec_path: str, out: Path, progress: Any, done_before: float) -> None:
    """``ipcsim experiment`` of the spec, serial, in this worker."""
    from ipcsim.experiment import ProgressEvent, load_spec, plan_experiment, run_experiment

    def _report(event: ProgressEvent) -> None:
        if event.total:
            progress.value = done_before + (1.0 - done_before) * event.done / event.total

    spec = load_spec(spec_path)
    plan = plan_experiment(spec, spec_path=spec_path)
    run_experiment(plan, out, executor="serial", progress=_report)


TABLES_ZIP = "tables.zip"
"""The job's tables in one file, as *Download the tables* gives them."""


def write_tables_zip(job_folder: str) -> str:
    """Zip a finished job's tables, each also as CSV (worker side); the zip's path.

    The zip holds ``scenario.toml`` (and its ``backlog.csv``), the run folder's parquet
    tables, ``summary.json`` and ``manifest.json`` under ``run/``, and, when the job ran an
    experiment, its spec and its tables under ``batch/``; every parquet table is there as CSV
    too, beside it.
    """
    import zipfile

    import pandas as pd

    folder = Path(job_folder)
    target = folder / TABLES_ZIP
    partial = folder / f"{TABLES_ZIP}.partial"
    wanted = [folder / "scenario.toml", folder / "experiment.toml", folder / "backlog.csv"]
    for sub in ("run", "batch"):
        wanted += sorted((folder / sub).glob("*.parquet")) + sorted((folder / sub).glob("*.json"))
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in wanted:
            if not path.is_file():
                continue
            name = path.relative_to(folder).as_posix()
            archive.write(path, name)
            if path.suffix == ".parquet":
                text = pd.read_parquet(path).to_csv(index=False)
                archive.writestr(name.removesuffix(".parquet") + ".csv", text)
    partial.replace(target)
    return str(target)


def draw_capacity_figure(batch_folder: str, factor: str, kpi: str) -> str:
    """Draw one KPI's capacity what-if figure of an experiment folder (worker side); its path.

    The figure ``ipcsim plot <folder> --kind capacity --factor <factor> --kpi <kpi>`` draws,
    saved as ``<folder>/plots/capacity-<kpi>.png``.
    """
    from ipcsim.present.report import PlotOptions, build_figures, read_folder, save_figures

    options = PlotOptions(factor=factor, kpis=[kpi])
    figures = build_figures(read_folder(batch_folder), kinds=["capacity"], options=options)
    paths = save_figures(figures, Path(batch_folder) / "plots")
    for figure in figures:
        figure.figure.clear()
    return str(paths[0])


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
    single: bool = True
    factor: str | None = None
    state: JobState = "queued"
    error: str = ""
    process: BaseProcess | None = field(default=None, repr=False)

    @property
    def toml_path(self) -> Path:
        """The scenario file the job runs."""
        return self.folder / "scenario.toml"

    @property
    def spec_path(self) -> Path:
        """The experiment spec the job runs, if any (``experiment.toml``)."""
        return self.folder / "experiment.toml"

    @property
    def run_folder(self) -> Path:
        """The run folder the job writes."""
        return self.folder / "run"

    @property
    def batch_folder(self) -> Path:
        """The experiment folder the job writes, when it has a spec."""
        return self.folder / "batch"

    @property
    def has_batch(self) -> bool:
        """Whether the job ran an experiment (replications or a what-if)."""
        return self.spec_path.exists()

    def summary(self) -> dict[str, Any]:
        """The finished run's ``summary.json``."""
        return dict(json.loads((self.run_folder / "summary.json").read_text(encoding="utf-8")))

    def batch_tables(self) -> Any:
        """The finished experiment's tables (read by :mod:`ipcsim.io.experiment_folder`)."""
        from ipcsim.io.experiment_folder import read_experiment_tables

        return read_experiment_tables(self.batch_folder)


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
                [
                    "ipcsim.present.web.jobs",
                    "ipcsim.run",
                    "ipcsim.present.report",
                    "ipcsim.experiment",
                ]
            )
        self.max_running = max_running
        self._reports = ProcessPoolExecutor(max_workers=1, mp_context=self._context)
        self._jobs: dict[str, Job] = {}

    def submit(
        self,
        toml_text: str,
        folder: Path,
        *,
        spec_text: str | None = None,
        single: bool = True,
        factor: str | None = None,
        files: Mapping[str, Path] | None = None,
    ) -> Job:
        """Queue a job over ``toml_text`` in a new job folder under ``folder``.

        Parameters
        ----------
        toml_text
            The scenario, as the page offers it for download.
        folder
            A folder the job may write in (the page session's temporary folder).
        spec_text
            An experiment spec whose ``base`` is ``scenario.toml`` (see :func:`run_job`).
        single
            As :func:`run_job`.
        factor
            The what-if's factor (its figures' x axis).
        files
            Files the scenario names (a backlog), copied beside ``scenario.toml`` under
            these names.

        Returns
        -------
        Job
            Queued; :meth:`poll` starts it when a worker is free.
        """
        job_id = secrets.token_hex(6)
        job_folder = folder / f"job-{job_id}"
        job_folder.mkdir(parents=True)
        job = Job(
            id=job_id,
            folder=job_folder,
            progress=self._context.Value("d", 0.0),
            single=single,
            factor=factor,
        )
        job.toml_path.write_text(toml_text, encoding="utf-8")
        if spec_text is not None:
            job.spec_path.write_text(spec_text, encoding="utf-8")
        for name, path in (files or {}).items():
            shutil.copyfile(path, job_folder / Path(name).name)
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
                    args=(
                        str(job.toml_path),
                        str(job.run_folder),
                        job.progress,
                        str(job.spec_path) if job.has_batch else None,
                        job.single,
                    ),
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

    async def tables_zip(self, job: Job) -> Path:
        """The finished job's tables as a zip (:func:`write_tables_zip`), made when first asked."""
        path = job.folder / TABLES_ZIP
        if not path.exists():
            await asyncio.wrap_future(self._reports.submit(write_tables_zip, str(job.folder)))
        return path

    async def capacity_figure(self, job: Job, kpi: str) -> Path:
        """A finished what-if's figure of ``kpi``, drawn in the report pool when first asked for.

        Raises
        ------
        IpcsimError
            When the figure cannot be drawn (from the worker).
        """
        path = job.batch_folder / "plots" / f"capacity-{kpi}.png"
        if not path.exists():
            future = self._reports.submit(
                draw_capacity_figure, str(job.batch_folder), str(job.factor), kpi
            )
            await asyncio.wrap_future(future)
        return path

    def shutdown(self) -> None:
        """Cancel every job and stop the report pool (the server is stopping)."""
        for job in list(self._jobs.values()):
            self.cancel(job)
        self._reports.shutdown(wait=False, cancel_futures=True)
