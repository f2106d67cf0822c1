"""The page's answer block: the run's question, overload warnings and headline figures.

A pure function of a run's ``summary.json`` and scenario: :func:`headline` gives the figures as
rows (label, shown text, exact value), :func:`answer_html` lays them out. Each value element
carries its exact number in ``data-value`` (JSON), so a test, or a person, can check the page
against ``summary.json`` of ``ipcsim run`` digit for digit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from htmltools import Tag, TagList, tags

from ipcsim.present.report.stress import report_question
from ipcsim.scenario import Scenario

__all__ = ["HeadlineRow", "answer_html", "headline", "run_question"]

WAIT = "referral_to_first_conversation"
"""The wait the page leads with (issue 19): referral to the first planning conversation."""


@dataclass(frozen=True)
class HeadlineRow:
    """One headline figure: element id, label, text shown and the exact value."""

    id: str
    label: str
    text: str
    value: Any


def run_question(scenario: Scenario) -> str:
    """The question the run answers: the scenario's own, its description, or ipcsim's."""
    return report_question(scenario.question, scenario.description)


def _days(value: float | None, known_to: float | None) -> str:
    if value is not None:
        return f"{value:.0f} days"
    # More people still wait than the percentile leaves room for: it is past the longest wait.
    return "not known" if known_to is None else f"over {known_to:.0f} days"


def headline(summary: Mapping[str, Any]) -> list[HeadlineRow]:
    """The headline figures of a run, in the order the page shows them.

    Parameters
    ----------
    summary
        A run's ``summary.json``.

    Returns
    -------
    list of HeadlineRow
        Median and 90th percentile wait from referral to first conversation, counting people
        still waiting (days); people still waiting at the end; share seen within 8 weeks;
        plans signed off and budgets released in the last 12 months; staff cost per referred
        person (pounds).
    """
    wait = summary["waits_days"][WAIT]
    known_to = wait.get("restricted_to_days")
    share = wait.get("share_within_8w")
    last = summary["last_12_months"]
    cost = (summary.get("staff_cost_per_person_gbp") or {}).get("total")
    return [
        HeadlineRow(
            "kpi-wait-p50",
            "Median wait, referral to first conversation (counting people still waiting)",
            _days(wait.get("p50"), known_to),
            wait.get("p50"),
        ),
        HeadlineRow(
            "kpi-wait-p90",
            "90th percentile of that wait (counting people still waiting)",
            _days(wait.get("p90"), known_to),
            wait.get("p90"),
        ),
        HeadlineRow(
            "kpi-still-waiting",
            "Still waiting for a first conversation at the end",
            f"{int(wait.get('still_waiting') or 0):,}",
            wait.get("still_waiting"),
        ),
        HeadlineRow(
            "kpi-within-8w",
            "Seen within 8 weeks of referral",
            "not known" if share is None else f"{100 * share:.0f}%",
            share,
        ),
        HeadlineRow(
            "kpi-plans-12m",
            f"Plans signed off in the last 12 months (from {last['start']})",
            f"{int(last['plans_signed_off']):,}",
            last["plans_signed_off"],
        ),
        HeadlineRow(
            "kpi-budgets-12m",
            "Personal budgets released in the last 12 months",
            f"{int(last['budgets_released']):,}",
            last["budgets_released"],
        ),
        HeadlineRow(
            "kpi-cost",
            "Staff cost per referred person",
            "not known" if cost is None else f"£{cost:,.2f}",
            cost,
        ),
    ]


def answer_html(
    summary: Mapping[str, Any], scenario: Scenario, *, seed: int, config_hash: str, run_id: str
) -> Tag:
    """The answer block: question, warnings (or that none), then the headline table.

    Parameters
    ----------
    summary
        The run's ``summary.json``.
    scenario
        The scenario run.
    seed, config_hash
        From the run's ``manifest.json``, shown so the run can be traced.
    run_id
        The page run's id (``data-run`` of the section: it changes with each run shown).

    Returns
    -------
    Tag
        A ``<section id="answer-card">``.
    """
    warnings = summary.get("warnings") or []
    if warnings:
        notes: Tag | TagList = tags.ul(
            *[tags.li(str(w["message"]), class_="warning") for w in warnings],
            id="warnings",
        )
    else:
        notes = tags.p(
            "No overload: every queue kept up to the horizon.", id="warnings", class_="calm"
        )
    rows = [
        tags.tr(
            tags.th(row.label, scope="row"),
            tags.td(row.text, id=row.id, data_value=json.dumps(row.value)),
        )
        for row in headline(summary)
    ]
    return tags.section(
        tags.h2("The answer"),
        tags.p(run_question(scenario), id="question", class_="question"),
        notes,
        tags.table(tags.tbody(*rows), class_="table table-sm headline"),
        tags.p(
            f"{scenario.name}: {scenario.run.horizon_days:g} days from {scenario.run.start_date}, "
            f"seed {seed}, scenario hash {config_hash[:12]}.",
            id="run-identity",
            class_="text-muted",
            data_seed=str(seed),
            data_config_hash=config_hash,
        ),
        id="answer-card",
        data_run=run_id,
    )
