"""The page's warm start: a backlog CSV uploaded beside the scenario.

The file is kept in the session's temporary folder as ``backlog.csv`` and checked against the
scenario as ``ipcsim run`` checks it (:func:`ipcsim.scenario.backlog.load_backlog`: columns,
sites, cohorts, stages, dates; an error is one line naming the person's own file, row and
column). The page's scenario then says ``initial_state = "backlog.csv"``, and each job gets a
copy beside its ``scenario.toml``, so the downloaded TOML, saved next to the same CSV under that
name, runs the same people.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from htmltools import Tag, TagList, tags
from shiny import Inputs, reactive, render, ui

from ipcsim.errors import ConfigError
from ipcsim.scenario import Scenario
from ipcsim.scenario.backlog import load_backlog

__all__ = ["BACKLOG_NAME", "Backlog", "backlog_server", "backlog_ui", "count_backlog"]

BACKLOG_NAME = "backlog.csv"
"""The backlog's name beside the scenario TOML (its ``initial_state``)."""

Backlog = tuple[Path | None, str, int]
"""The backlog now: ``(file, error, people)``; no file and no error without a backlog."""


def backlog_ui() -> TagList:
    """The backlog upload and its note (people found, or the one-line error)."""
    return TagList(
        ui.input_file(
            "backlog",
            "Backlog CSV (people already waiting, optional)",
            accept=[".csv"],
            button_label="Upload",
        ),
        ui.output_ui("backlog_note"),
    )


def count_backlog(path: Path, scenario: Scenario, *, origin: str) -> int:
    """People in a backlog file, checked against ``scenario``.

    Raises
    ------
    ConfigError
        One line naming ``origin`` (the person's own name for the file), not the server's path.
    """
    try:
        return len(load_backlog(path, scenario))
    except ConfigError as e:
        raise ConfigError(" ".join(str(e).replace(str(path), origin).split())) from e


def backlog_server(
    input: Inputs, *, folder: Path, scenario: Callable[[], Scenario], max_bytes: int
) -> Callable[[], Backlog]:
    """The backlog upload's server side; returns the reactive backlog state.

    Parameters
    ----------
    input
        The session's inputs.
    folder
        The session's temporary folder (the file is kept there as ``backlog.csv``).
    scenario
        The scenario the page starts from (the backlog is checked against its sites and
        cohorts, again whenever it changes).
    max_bytes
        Largest file taken.
    """
    stored: reactive.Value[tuple[str, Path] | None] = reactive.value(None)
    refused = reactive.value("")

    @reactive.effect
    @reactive.event(input.backlog)
    def _upload() -> None:
        files = input.backlog() or []
        if not files:
            return
        name = Path(str(files[0]["name"])).name
        if int(files[0]["size"]) > max_bytes:
            refused.set(f"{name}: larger than {max_bytes // 1024} kB")
            return
        target = folder / BACKLOG_NAME
        shutil.copyfile(files[0]["datapath"], target)
        refused.set("")
        stored.set((name, target))

    @reactive.effect
    @reactive.event(input.backlog_forget)
    def _forget() -> None:
        stored.set(None)
        refused.set("")

    @reactive.calc
    def state() -> Backlog:
        if refused.get():
            return None, refused.get(), 0
        found = stored.get()
        if found is None:
            return None, "", 0
        name, path = found
        try:
            return path, "", count_backlog(path, scenario(), origin=name)
        except ConfigError as e:
            return None, str(e), 0

    @render.ui
    def backlog_note() -> Tag | None:
        path, error, people = state()
        if error:
            return tags.p(error, id="backlog-error", class_="one-line-error", title=error)
        found = stored.get()
        if path is None or found is None:
            return None
        return tags.div(
            tags.span(
                f"{found[0]}: {people:,} people waiting at the start (initial_state = "
                f'"{BACKLOG_NAME}")',
                id="backlog-people",
                data_people=str(people),
                class_="small",
            ),
            ui.input_action_button("backlog_forget", "Forget it", class_="btn-sm"),
            class_="d-flex gap-2 align-items-center mb-2",
        )

    return state
