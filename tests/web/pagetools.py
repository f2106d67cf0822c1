"""Helpers of the browser tests: type a number, press Run, read the figures the page shows."""

from __future__ import annotations

import json
from typing import Any

RUN_TIMEOUT_MS = 60_000


def _inputs_seen(page: Any) -> str:
    return str(page.get_attribute("#expected [data-inputs]", "data-inputs"))


def set_number(page: Any, selector: str, value: float) -> None:
    """Type a number and wait until the server has seen it (the inputs' digest changes)."""
    before = _inputs_seen(page)
    page.fill(selector, str(value))
    page.press(selector, "Tab")
    _wait_seen(page, before)


def choose(page: Any, selector: str, value: str) -> None:
    """Choose an option of a select and wait until the server has seen it."""
    before = _inputs_seen(page)
    page.select_option(selector, value)
    _wait_seen(page, before)


def tick(page: Any, selector: str) -> None:
    """Tick a checkbox and wait until the server has seen it."""
    before = _inputs_seen(page)
    page.check(selector)
    _wait_seen(page, before)


def _wait_seen(page: Any, before: str) -> None:
    page.wait_for_function(
        "before => document.querySelector('#expected [data-inputs]')"
        "?.getAttribute('data-inputs') !== before",
        arg=before,
    )


def run(page: Any) -> dict[str, Any]:
    """Press Run, wait for a new answer, return its figures' exact values by element id."""
    before = page.get_attribute("#answer-card", "data-run") or ""
    page.click("#run")
    page.wait_for_function(
        "before => { const a = document.querySelector('#answer-card[data-run]');"
        " return a && a.getAttribute('data-run') && a.getAttribute('data-run') !== before; }",
        arg=before,
        timeout=RUN_TIMEOUT_MS,
    )
    return shown_values(page)


def shown_values(page: Any) -> dict[str, Any]:
    values = page.eval_on_selector_all(
        "#answer-card [data-value]", "els => els.map(e => [e.id, e.getAttribute('data-value')])"
    )
    return {key: json.loads(value) for key, value in values}
