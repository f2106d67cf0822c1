"""The page's capacity what-if: one factor at a few levels, each level replicated.

The tab's inputs (factor, levels, replications per level) make an ``ipcsim experiment`` spec
with a one-factor ``[grid]`` over the page's scenario (:func:`ipcsim.present.web.batch.
experiment_spec`); a worker process runs it. The server reads the finished ``summary.parquet``
and shows the table of the KPI chosen, with its mean and 95 % CI band against the factor (the
report's capacity figure, :func:`ipcsim.present.experiment_plots.plot_capacity_whatif`, drawn
in the runner's report pool when first shown).
"""

from __future__ import annotations

import base64
import json
import math
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from htmltools import Tag, TagList, tags
from shiny import Inputs, reactive, render, ui

from ipcsim.analysis.labels import factor_label, kpi_label
from ipcsim.errors import ConfigError, IpcsimError
from ipcsim.present.web.answer import format_value
from ipcsim.present.web.batch import (
    HEADLINE_KPIS,
    WHATIF_REPLICATIONS,
    capacity_factors,
    check_batch,
    default_levels,
    experiment_spec,
    headline_kpis,
    parse_levels,
    spec_toml,
)
from ipcsim.present.web.jobs import Job, JobRunner
from ipcsim.scenario.load import scenario_from_dict

__all__ = ["capacity_server", "capacity_ui"]

POLL_S = 0.25
"""Seconds between looks at a running what-if."""

KINDS = {
    "kpi-wait-p50": "days",
    "kpi-wait-p90": "days",
    "kpi-within-8w": "share",
    "kpi-cost": "gbp",
}
"""How the table writes each headline KPI (counts otherwise)."""

Current = Callable[[], tuple[str, str, float]]
"""The page's inputs now: ``(scenario TOML text, error, expected referrals)``."""


def capacity_ui() -> Tag:
    """The what-if tab's inputs, status, figure, table and download."""
    return tags.div(
        tags.p(
            "Run the scenario as set on the left at a few levels of one factor, each level "
            "replicated with the same random streams (common random numbers), and see each "
            "headline figure's mean and 95% CI against the level.",
            class_="text-muted",
        ),
        tags.div(
            ui.input_select("whatif_factor", "Factor", {}),
            ui.input_text("whatif_levels", "Levels (2 to 8, commas)", ""),
            ui.input_numeric(
                "whatif_replications",
                "Replications per level",
                3,
                min=WHATIF_REPLICATIONS.low,
                max=WHATIF_REPLICATIONS.high,
            ),
            class_="d-flex flex-wrap gap-3",
        ),
        tags.div(
            ui.input_action_button("whatif_run", "Run the what-if", class_="btn-primary"),
            ui.input_action_button("whatif_cancel", "Cancel", disabled=True),
            ui.download_button("download_whatif_spec", "Download the what-if spec"),
            class_="d-flex gap-2 align-items-center",
        ),
        ui.output_ui("whatif_check"),
        ui.output_ui("whatif_status"),
        ui.input_select(
            "whatif_kpi",
            "Show",
            {kpi: kpi_label(kpi)[0] for kpi in HEADLINE_KPIS.values()},
            selected=HEADLINE_KPIS["kpi-wait-p90"],
        ),
        ui.output_ui("whatif_result"),
        ui.output_ui("whatif_note"),
    )


def _estimate_text(kind: str, mean: float, low: float, high: float) -> str:
    text = format_value(kind, mean)  # type: ignore[arg-type]
    if math.isfinite(low) and math.isfinite(high):
        text += f" ({format_value(kind, low)} to {format_value(kind, high)})"  # type: ignore[arg-type]
    return text


def _json(value: float) -> str:
    return json.dumps(value if math.isfinite(value) else None)


def capacity_server(
    input: Inputs,
    *,
    runner: JobRunner,
    folder: Path,
    current: Current,
    name: Callable[[], str],
    on_end: Callable[[Callable[[], None]], Any],
    files: Callable[[], dict[str, Path]],
) -> None:
    """The what-if tab's server side, inside the page's session.

    Parameters
    ----------
    input
        The session's inputs.
    runner
        Runs the what-if in a worker process.
    folder
        The session's temporary folder.
    current
        The page's inputs now (scenario TOML text, error, expected referrals).
    name
        The scenario's name (download file names).
    on_end
        Registers a clean-up for the end of the session.
    files
        Files the scenario names (its backlog), for each job.
    """
    job: reactive.Value[Job | None] = reactive.value(None)
    shown: reactive.Value[Job | None] = reactive.value(None)
    status = reactive.value(("idle", 0.0, ""))

    def _cancel_running() -> None:
        with reactive.isolate():
            running = job.get()
        if running is not None:
            runner.cancel(running)

    on_end(_cancel_running)

    @reactive.calc
    def factors() -> dict[str, Any]:
        text, error, _ = current()
        if error:
            return {}
        data = tomllib.loads(text)
        return dict(capacity_factors(data, scenario_from_dict(data, source=name())))

    @reactive.effect
    def _choices() -> None:
        found = factors()
        with reactive.isolate():
            chosen = input.whatif_factor()
        selected = chosen if chosen in found else next(iter(found), None)
        ui.update_select(
            "whatif_factor",
            choices={key: factor.label for key, factor in found.items()},
            selected=selected,
        )

    @reactive.effect
    @reactive.event(input.whatif_factor)
    def _levels() -> None:
        key = input.whatif_factor()
        text, error, _ = current()
        if error or key not in factors():
            return
        ui.update_text("whatif_levels", value=default_levels(factors()[key], tomllib.loads(text)))

    def _spec(base_file: str) -> tuple[str, str]:
        """``(spec text, factor key)`` of the tab's inputs; raises a one-line ConfigError."""
        text, error, expected = current()
        if error:
            raise ConfigError(error)
        key = input.whatif_factor()
        if key not in factors():
            raise ConfigError("factor: choose one")
        levels = parse_levels(input.whatif_levels() or "", factors()[key])
        n = input.whatif_replications()
        if n is None:
            raise ConfigError("replications per level: give a number, 2 to 20")
        WHATIF_REPLICATIONS.check("replications per level", n)
        scenario = scenario_from_dict(tomllib.loads(text), source=name())
        spec = experiment_spec(
            base_file=base_file,
            name=f"{name()}-capacity",
            seed=scenario.run.seed,
            replications=n,
            kpis=headline_kpis(scenario),
            factor=key,
            levels=levels,
        )
        check_batch(expected, len(levels) * int(n))
        comment = (
            f"Made by the ipcsim what-if page: {factors()[key].label} at {len(levels)} "
            f"levels, {n} replications each.\n"
            f"Save it next to {name()}-whatif.toml, then reproduce the page's what-if with:\n"
            f"  ipcsim experiment {name()}-capacity.toml --out capacity\n"
            f"  ipcsim plot capacity --kind capacity --factor {key}"
        )
        return spec_toml(spec, comment=comment), key

    @reactive.calc
    def checked() -> str:
        try:
            _spec("scenario.toml")
        except IpcsimError as e:
            return " ".join(str(e).split())
        return ""

    @render.ui
    def whatif_check() -> Tag | None:
        error = checked()
        if not error:
            return None
        return tags.p(error, id="whatif-error", class_="one-line-error", title=error)

    def _buttons(running: bool) -> None:
        ui.update_action_button("whatif_run", disabled=running)
        ui.update_action_button("whatif_cancel", disabled=not running)

    @reactive.effect
    @reactive.event(input.whatif_run)
    def _run() -> None:
        try:
            spec, key = _spec("scenario.toml")
        except IpcsimError as e:
            status.set(("failed", 0.0, " ".join(str(e).split())))
            return
        text, _, _ = current()
        _cancel_running()
        job.set(
            runner.submit(text, folder, spec_text=spec, single=False, factor=key, files=files())
        )
        status.set(("queued", 0.0, ""))
        _buttons(True)

    @reactive.effect
    @reactive.event(input.whatif_cancel)
    def _cancel() -> None:
        _cancel_running()
        job.set(None)
        status.set(("cancelled", 0.0, "What-if cancelled."))
        _buttons(False)

    @reactive.effect
    def _watch() -> None:
        running = job.get()
        if running is None:
            return
        state = runner.poll(running)
        if state in ("queued", "running"):
            status.set((state, float(running.progress.value), ""))
            reactive.invalidate_later(POLL_S)
            return
        job.set(None)
        _buttons(False)
        if state == "done":
            shown.set(running)
            status.set(("done", 1.0, ""))
        else:
            status.set((state, 0.0, running.error))

    @render.ui
    def whatif_status() -> Tag:
        state, share, text = status.get()
        if state == "running":
            return tags.div(
                tags.progress(value=f"{share:.3f}", max="1", class_="w-100"),
                tags.p(f"Running… {100 * share:.0f}% of the what-if's runs done"),
                id="whatif-status",
                data_state=state,
            )
        words = {
            "idle": "",
            "queued": "Queued: waiting for a free worker…",
            "done": "Done.",
            "cancelled": text,
            "failed": f"The what-if failed: {text}",
        }[state]
        css = "one-line-error" if state == "failed" else ""
        return tags.div(tags.p(words, class_=css), id="whatif-status", data_state=state)

    @render.ui
    async def whatif_result() -> TagList:
        done = shown.get()
        if done is None:
            return TagList()
        kpi = input.whatif_kpi()
        key = str(done.factor)
        summary = done.batch_tables().summary
        rows = summary[summary["kpi"].astype(str) == kpi].sort_values(key)
        element = next((e for e, k in HEADLINE_KPIS.items() if k == kpi), "")
        kind = KINDS.get(element, "count")
        image = await runner.capacity_figure(done, kpi)
        data = base64.b64encode(image.read_bytes()).decode("ascii")
        figure = tags.figure(
            tags.img(src=f"data:image/png;base64,{data}", alt=kpi_label(kpi)[0]),
            class_="figure",
            id="whatif-figure",
        )
        body = [
            tags.tr(
                tags.td(f"{row[key]:g}"),
                tags.td(
                    _estimate_text(kind, row["mean"], row["ci_low"], row["ci_high"]),
                    class_="whatif-value",
                    data_level=json.dumps(row[key]),
                    data_value=_json(row["mean"]),
                    data_ci_low=_json(row["ci_low"]),
                    data_ci_high=_json(row["ci_high"]),
                    data_n=str(int(row["n"])),
                ),
            )
            for row in rows.to_dict(orient="records")
        ]
        table = tags.table(
            tags.thead(
                tags.tr(tags.th(factor_label(key)), tags.th(f"{kpi_label(kpi)[0]}: mean (95% CI)"))
            ),
            tags.tbody(*body),
            class_="table table-sm",
            id="whatif-table",
            data_run=done.id,
            data_kpi=kpi,
        )
        return TagList(figure, table)

    @render.ui
    def whatif_note() -> Tag:
        return tags.p(
            ui.HTML(
                f"To reproduce: save <code>{name()}-whatif.toml</code> (the answer tab's "
                f"<em>Download the scenario TOML</em>) and <code>{name()}-capacity.toml</code> "
                f"in one folder, then <code>ipcsim experiment {name()}-capacity.toml --out "
                "capacity</code>: its <code>summary.parquet</code> holds these means and CIs, "
                "and <code>ipcsim plot capacity --kind capacity</code> draws them."
            ),
            class_="text-muted small",
            id="whatif-note",
        )

    @render.download_button(filename=lambda: f"{name()}-capacity.toml", media_type="text/plain")
    def download_whatif_spec() -> Any:
        spec, _ = _spec(f"{name()}-whatif.toml")
        yield spec
