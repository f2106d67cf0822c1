"""The what-if page: a Shiny app over one scenario, its runs in worker processes.

Each browser tab is its own Shiny session with its own temporary folder, inputs, run and
results, so tabs never mix. The server only validates inputs, writes TOML and reads finished
run folders; simulation, figures and the report are made by :mod:`ipcsim.present.web.jobs`
workers.

    scenario file or upload -> raw tables -> apply_what_if(inputs) -> TOML text
        -> (download)  or  JobRunner.submit -> worker -> run folder
        -> answer_html(summary) + the worker's figures + report.html (download)
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import tempfile
import tomllib
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from htmltools import Tag, TagList, tags
from shiny import App, Inputs, Outputs, Session, reactive, render, ui

from ipcsim.errors import ConfigError, IpcsimError
from ipcsim.present.web.answer import answer_html
from ipcsim.present.web.backlog import BACKLOG_NAME, backlog_server
from ipcsim.present.web.batch import (
    check_batch,
    experiment_spec,
    headline_kpis,
    spec_toml,
)
from ipcsim.present.web.capacity import capacity_server, capacity_ui
from ipcsim.present.web.compare import RunView, compare_html, read_view
from ipcsim.present.web.inputs import (
    initial_values,
    read_what_if,
    sidebar,
    site_staff,
    site_staff_rows,
    staff_rows,
)
from ipcsim.present.web.jobs import PAGE_FIGURES, Job, JobRunner
from ipcsim.present.web.whatif import (
    WhatIf,
    apply_what_if,
    expected_referrals,
    scenario_toml,
)
from ipcsim.scenario.load import load_scenario, read_toml, scenario_from_dict

__all__ = ["MAX_UPLOAD_BYTES", "bounded_uploads", "create_app"]

MAX_UPLOAD_BYTES = 256 * 1024
"""Largest scenario file the page accepts (the shipped ones are under 10 kB)."""

POLL_S = 0.25
"""Seconds between looks at a running job."""

FIGURE_TITLES: Mapping[str, str] = {
    "throughput": "Plans signed off and budgets released per quarter",
    "waits_by_month": "Wait to first conversation by month of referral",
    "utilisation": "Staff utilisation by role and month",
}

UPLOAD = "upload"
"""Choice key of the uploaded scenario in the scenario list."""

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


def one_line(text: str) -> str:
    """``text`` with its white space, new lines included, collapsed to single spaces."""
    return " ".join(text.split())


@dataclass(frozen=True)
class BaseScenario:
    """A scenario the page starts from: its name, raw TOML tables and where it came from."""

    name: str
    raw: Mapping[str, Any]
    origin: str


def read_base(path: Path, *, name: str, origin: str) -> BaseScenario:
    """Validate a scenario file as ``ipcsim run`` does and keep its raw tables.

    Raises
    ------
    ConfigError
        One line, naming ``origin`` rather than the file's path; also for a scenario that
        names a warm-start file (``initial_state``): the page takes it as an upload of its
        own (:mod:`ipcsim.present.web.backlog`).
    """
    try:
        load_scenario(path)
        raw = read_toml(path)
    except ConfigError as e:
        raise ConfigError(one_line(str(e).replace(str(path), origin))) from e
    sites = [t for t in (raw.get("sites") or {}).values() if isinstance(t, dict)]
    if any("initial_state" in table for table in [raw, *sites]):
        raise ConfigError(
            f"{origin}: initial_state: the page takes the backlog as an upload of its own: "
            "remove initial_state from the scenario and upload the CSV as the backlog"
        )
    return BaseScenario(name=name, raw=raw, origin=origin)


def bounded_uploads(app: ASGIApp, max_bytes: int) -> ASGIApp:
    """Wrap an ASGI app so that upload requests larger than ``max_bytes`` are refused (413).

    Shiny itself puts no limit on an upload; this stops a large one before it reaches disk.
    """

    async def wrapped(
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] == "http" and "/upload/" in scope.get("path", ""):
            headers = dict(scope.get("headers") or [])
            length = headers.get(b"content-length", b"")
            if not length.isdigit() or int(length) > max_bytes:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 413,
                        "headers": [(b"content-type", b"text/plain")],
                    }
                )
                await send({"type": "http.response.body", "body": b"scenario file too large"})
                return
        await app(scope, receive, send)

    return wrapped


STYLE = """
#answer .question { font-style: italic; font-size: 1.1rem; }
#answer .warning { color: #8a4b00; font-weight: 600; }
#answer .headline td { text-align: right; font-weight: 600; }
.one-line-error { color: #b00020; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.figure img { max-width: 100%; }
"""


def create_app(
    scenarios: Mapping[str, Path], *, selected: str, runner: JobRunner, workdir: Path
) -> App:
    """The what-if page as a Shiny app.

    Parameters
    ----------
    scenarios
        Scenario files the page offers, by name (shipped ``configs/*.toml`` and the one given
        to ``ipcsim serve``).
    selected
        The name shown first.
    runner
        Runs the simulations in worker processes.
    workdir
        A temporary folder: each session makes its own folder in it, removed when the tab
        closes.

    Returns
    -------
    App
        The Shiny app (an ASGI application).
    """
    names = {f"s{i}": name for i, name in enumerate(scenarios)}
    paths = {key: scenarios[name] for key, name in names.items()}
    first = next(key for key, name in names.items() if name == selected)
    page = ui.page_sidebar(
        sidebar(names, first, load_scenario(paths[first])),
        tags.style(STYLE),
        ui.navset_tab(
            ui.nav_panel(
                "The answer",
                ui.output_ui("answer"),
                tags.div(
                    ui.input_action_button("keep_a", "Keep this answer as A", disabled=True),
                    ui.output_ui("kept_note"),
                    class_="d-flex gap-2 align-items-center mb-2",
                ),
                ui.output_ui("compare"),
                ui.output_ui("figures"),
                tags.div(
                    ui.download_button("download_toml", "Download the scenario TOML"),
                    ui.download_button("download_spec", "Download the experiment spec"),
                    ui.download_button("download_report", "Download the HTML report"),
                    ui.download_button("download_tables", "Download the tables (zip)"),
                    ui.output_ui("stale"),
                    class_="d-flex flex-wrap gap-2 align-items-center",
                ),
                ui.output_ui("download_note"),
                value="answer",
            ),
            ui.nav_panel("Capacity what-if", capacity_ui(), value="capacity"),
            id="tabs",
        ),
        title="ipcsim: what if?",
    )

    def server(input: Inputs, output: Outputs, session: Session) -> None:
        folder = Path(tempfile.mkdtemp(prefix="session-", dir=workdir))
        uploaded: reactive.Value[BaseScenario | None] = reactive.value(None)
        upload_message = reactive.value("")
        job: reactive.Value[Job | None] = reactive.value(None)
        shown: reactive.Value[Job | None] = reactive.value(None)
        kept: reactive.Value[RunView | None] = reactive.value(None)
        run_status = reactive.value(("idle", 0.0, ""))

        def _end() -> None:
            with reactive.isolate():
                current = job.get()
            if current is not None:
                runner.cancel(current)
            shutil.rmtree(folder, ignore_errors=True)

        session.on_ended(_end)

        @reactive.calc
        def base() -> BaseScenario:
            key = input.scenario()
            if key == UPLOAD and uploaded.get() is not None:
                return uploaded.get()  # type: ignore[return-value]
            path = paths.get(key, paths[first])
            return read_base(path, name=names.get(key, names[first]), origin=path.name)

        @reactive.calc
        def roles() -> list[tuple[str, Mapping[str, Any]]]:
            return list((base().raw.get("workforce") or {}).items())

        started = [False]  # the page opens with the first scenario's values already

        @reactive.effect
        def _defaults() -> None:
            raw = base().raw
            if not started[0]:
                started[0] = True
                return
            values = initial_values(scenario_from_dict(raw, source=base().origin))
            with reactive.isolate():
                for id, value in values.items():
                    if isinstance(value, bool):
                        ui.update_checkbox(id, value=value)
                    elif isinstance(value, str):
                        ui.update_select(id, selected=value)
                    else:
                        ui.update_numeric(id, value=value)
                ui.update_radio_buttons("demand_mode", selected="as_is")

        @render.ui
        def staff_inputs() -> TagList:
            return staff_rows(roles())

        @render.ui
        def site_staff_inputs() -> TagList:
            return site_staff_rows(site_staff(scenario_from_dict(base().raw, source=base().origin)))

        backlog = backlog_server(
            input,
            folder=folder,
            scenario=lambda: scenario_from_dict(base().raw, source=base().origin),
            max_bytes=MAX_UPLOAD_BYTES,
        )

        def files() -> dict[str, Path]:
            path = backlog()[0]
            return {} if path is None else {BACKLOG_NAME: path}

        @reactive.calc
        def what_if() -> WhatIf:
            scenario = scenario_from_dict(base().raw, source=base().origin)
            what = read_what_if(lambda id: input[id]() if id in input else None, roles(), scenario)
            return replace(what, initial_state=BACKLOG_NAME) if files() else what

        @reactive.calc
        def current() -> tuple[str, str, float]:
            """``(toml text, error, expected referrals)`` of the inputs as they are now."""
            chosen = base()
            if backlog()[1]:
                return "", backlog()[1], 0.0
            try:
                data = apply_what_if(chosen.raw, what_if(), source=chosen.origin)
            except IpcsimError as e:
                return "", one_line(str(e)), 0.0
            comment = (
                f"Made by the ipcsim what-if page from {chosen.origin}.\n"
                f"Reproduce the page's figures with: ipcsim run {chosen.name}-whatif.toml"
            )
            expected = expected_referrals(scenario_from_dict(data, source=chosen.origin))
            return scenario_toml(data, comment=comment), "", expected

        def _spec(base_file: str) -> str:
            """The experiment spec of the inputs as they are now (replications of them).

            Raises
            ------
            ConfigError
                One line: the scenario's error, or replications out of bound or too many.
            """
            text, error, expected = current()
            if error:
                raise ConfigError(error)
            n = input.replications()
            if n is None:
                raise ConfigError("replications: give a number, 1 to 20")
            scenario = scenario_from_dict(tomllib.loads(text), source=base().origin)
            spec = experiment_spec(
                base_file=base_file,
                name=f"{base().name}-whatif",
                seed=scenario.run.seed,
                replications=n,
                kpis=headline_kpis(scenario),
            )
            check_batch(expected, int(n))
            name = base().name
            comment = (
                f"Made by the ipcsim what-if page: {n} replications of {name}-whatif.toml.\n"
                f"Save it next to {name}-whatif.toml, then reproduce the page's means and 95% "
                f"CIs with:\n  ipcsim experiment {name}-experiment.toml\n"
                "(summary.parquet, scenario s000)."
            )
            return spec_toml(spec, comment=comment)

        @reactive.calc
        def batch() -> tuple[str | None, str]:
            """``(spec text for a job or None for one replication, error)``."""
            try:
                text = _spec("scenario.toml")
            except IpcsimError as e:
                return None, one_line(str(e))
            return (text if input.replications() > 1 else None), ""

        @render.ui
        def expected() -> Tag:
            text, error, count = current()
            spec, spec_error = batch()
            error = error or spec_error
            # data-inputs changes with every input the server has seen: tests wait on it.
            seen = f"{text}{error}{spec}"
            digest = hashlib.sha256(seen.encode()).hexdigest()[:16]
            if error:
                return tags.p(
                    error,
                    id="input-error",
                    class_="one-line-error",
                    title=error,
                    data_inputs=digest,
                )
            return tags.p(
                f"Up to {count:,.0f} referrals expected.",
                id="expected-referrals",
                data_inputs=digest,
            )

        capacity_server(
            input,
            runner=runner,
            folder=folder,
            current=current,
            name=lambda: base().name,
            on_end=session.on_ended,
            files=files,
        )

        @reactive.effect
        @reactive.event(input.upload)
        def _upload() -> None:
            files = input.upload() or []
            if not files:
                return
            info = files[0]
            name = Path(str(info["name"])).name
            if int(info["size"]) > MAX_UPLOAD_BYTES:
                upload_message.set(f"{name}: larger than {MAX_UPLOAD_BYTES // 1024} kB")
                return
            target = folder / "upload.toml"
            shutil.copyfile(info["datapath"], target)
            try:
                chosen = read_base(target, name=Path(name).stem, origin=name)
            except ConfigError as e:
                upload_message.set(str(e))
                return
            upload_message.set("")
            uploaded.set(chosen)
            choices = {**names, UPLOAD: f"{chosen.name} (uploaded)"}
            ui.update_select("scenario", choices=choices, selected=UPLOAD)

        @render.ui
        def upload_error() -> Tag | None:
            text = upload_message.get()
            if not text:
                return None
            return tags.p(text, id="upload-error", class_="one-line-error", title=text)

        @reactive.effect
        @reactive.event(input.run)
        def _run() -> None:
            text, error, _ = current()
            spec, spec_error = batch()
            if error or spec_error:
                run_status.set(("failed", 0.0, error or spec_error))
                return
            running = job.get()
            if running is not None:
                runner.cancel(running)
            job.set(runner.submit(text, folder, spec_text=spec, files=files()))
            run_status.set(("queued", 0.0, ""))
            ui.update_action_button("run", disabled=True)
            ui.update_action_button("cancel", disabled=False)

        @reactive.effect
        @reactive.event(input.cancel)
        def _cancel() -> None:
            running = job.get()
            if running is not None:
                runner.cancel(running)
                job.set(None)
                run_status.set(("cancelled", 0.0, "Run cancelled."))
            ui.update_action_button("run", disabled=False)
            ui.update_action_button("cancel", disabled=True)

        @reactive.effect
        def _watch() -> None:
            running = job.get()
            if running is None:
                return
            state = runner.poll(running)
            if state in ("queued", "running"):
                run_status.set((state, float(running.progress.value), ""))
                reactive.invalidate_later(POLL_S)
                return
            job.set(None)
            ui.update_action_button("run", disabled=False)
            ui.update_action_button("cancel", disabled=True)
            if state == "done":
                shown.set(running)
                run_status.set(("done", 1.0, ""))
            else:
                run_status.set((state, 0.0, running.error))

        @render.ui
        def status() -> Tag:
            state, share, text = run_status.get()
            if state == "running":
                return tags.div(
                    tags.progress(value=f"{share:.3f}", max="1", class_="w-100"),
                    tags.p(f"Running… {100 * share:.0f}% of the horizon simulated"),
                    id="run-status",
                    data_state=state,
                )
            words = {
                "idle": "",
                "queued": "Queued: waiting for a free worker…",
                "done": "Done.",
                "cancelled": text,
                "failed": f"The run failed: {text}",
            }[state]
            css = "one-line-error" if state == "failed" else ""
            return tags.div(tags.p(words, class_=css), id="run-status", data_state=state)

        @reactive.calc
        def view() -> RunView | None:
            done = shown.get()
            return None if done is None else read_view(done)

        @render.ui
        def answer() -> Tag:
            seen = view()
            if seen is None:
                return tags.section(
                    tags.h2("The answer"),
                    tags.p("Choose the inputs on the left and press Run."),
                    id="answer-card",
                    data_run="",
                )
            return answer_html(
                seen.summary,
                seen.scenario,
                seed=seen.seed,
                config_hash=str(seen.manifest.get("config_hash", "")),
                run_id=seen.job_id,
                estimates=seen.estimates,
                replications=seen.replications,
                overloaded=seen.overloaded,
            )

        @reactive.effect
        def _keep_enabled() -> None:
            ui.update_action_button("keep_a", disabled=view() is None)

        @reactive.effect
        @reactive.event(input.keep_a)
        def _keep() -> None:
            kept.set(view())

        @render.ui
        def kept_note() -> Tag | None:
            a, b = kept.get(), view()
            if a is None:
                return None
            words = (
                "This answer is A: change the inputs and Run to compare B with it."
                if b is not None and a.job_id == b.job_id
                else f"A: {a.identity()}."
            )
            return tags.span(words, id="kept-note", class_="text-muted small")

        @render.ui
        def compare() -> Tag | None:
            a, b = kept.get(), view()
            if a is None or b is None or a.job_id == b.job_id:
                return None
            return compare_html(a, b)

        @render.ui
        def figures() -> TagList:
            done = shown.get()
            if done is None:
                return TagList()
            figures = []
            for kind in PAGE_FIGURES:
                path = done.run_folder / "plots" / f"{kind}.png"
                if not path.exists():
                    continue
                data = base64.b64encode(path.read_bytes()).decode("ascii")
                figures.append(
                    tags.figure(
                        tags.img(src=f"data:image/png;base64,{data}", alt=FIGURE_TITLES[kind]),
                        tags.figcaption(FIGURE_TITLES[kind]),
                        class_="figure",
                        id=f"figure-{kind}",
                    )
                )
            return TagList(*figures)

        @render.ui
        def stale() -> Tag | None:
            done = shown.get()
            text, _, _ = current()
            if done is None or text == done.toml_path.read_text(encoding="utf-8"):
                return None
            return tags.span(
                "The inputs changed since the run shown: the TOML has the new inputs.",
                id="stale-note",
                class_="text-muted small",
            )

        @render.download_button(
            filename=lambda: f"{base().name}-whatif.toml", media_type="text/plain"
        )
        def download_toml() -> Any:
            text, error, _ = current()
            if error:
                raise ConfigError(error)
            yield text

        @render.download_button(
            filename=lambda: f"{base().name}-experiment.toml", media_type="text/plain"
        )
        def download_spec() -> Any:
            yield _spec(f"{base().name}-whatif.toml")

        @render.ui
        def download_note() -> Tag:
            name = base().name
            n = input.replications() or 1
            how = (
                f"<code>ipcsim run {name}-whatif.toml</code> (the seed is in the file) gives "
                "the page's figures exactly"
            )
            if n > 1:
                how = (
                    f"with {n} replications, save <code>{name}-whatif.toml</code> and "
                    f"<code>{name}-experiment.toml</code> in one folder: <code>ipcsim "
                    f"experiment {name}-experiment.toml</code> gives the page's means and 95% "
                    "CIs (its <code>summary.parquet</code>, scenario s000), and "
                    f"<code>ipcsim run {name}-whatif.toml</code> the first replication"
                )
            if files():
                how += (
                    f" (with your backlog CSV saved as <code>{BACKLOG_NAME}</code> beside "
                    "the TOML: the scenario names it so; the scenario hash then differs, as it "
                    "records where the file lies, but not the figures)"
                )
            return tags.p(
                ui.HTML(f"To reproduce the answer: {how}."),
                id="download-note",
                class_="text-muted small",
            )

        @render.download_button(
            filename=lambda: f"{base().name}-report.html", media_type="text/html"
        )
        async def download_report() -> Any:
            done = shown.get()
            if done is None:
                raise ConfigError("run the scenario first: the report is of the run shown")
            path = await runner.report(done)
            yield path.read_bytes()

        @render.download_button(
            filename=lambda: f"{base().name}-tables.zip", media_type="application/zip"
        )
        async def download_tables() -> Any:
            done = shown.get()
            if done is None:
                raise ConfigError("run the scenario first: the tables are of the run shown")
            path = await runner.tables_zip(done)
            yield path.read_bytes()

    return App(page, server)
