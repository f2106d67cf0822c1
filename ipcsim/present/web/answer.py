"""The page's answer block: the run's question, overload warnings and headline figures.

A pure function of a run's ``summary.json`` and scenario: :func:`headline` gives the figures as
rows (label, shown text, exact value), :func:`answer_html` lays them out. Each value element
carries its exact number in ``data-value`` (JSON), so a test, or a person, can check the page
against ``summary.json`` of ``ipcsim run`` digit for digit. With several replications the
figures are means over them, with their 95 % CI in ``data-ci-low`` and ``data-ci-high``: the
``mean``, ``ci_low`` and ``ci_high`` of ``summary.parquet`` of ``ipcsim experiment``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from htmltools import Tag, TagList, tags

from ipcsim.present.report.stress import report_question
from ipcsim.present.web.batch import HEADLINE_KPIS, Estimate
from ipcsim.scenario import Scenario

__all__ = ["HeadlineRow", "answer_html", "format_value", "headline", "run_question"]

Kind = Literal["days", "count", "share", "gbp"]

WAIT = "referral_to_first_conversation"
"""The wait the page leads with (issue 19): referral to the first planning conversation."""


@dataclass(frozen=True)
class HeadlineRow:
    """One headline figure: element id, label, text shown, the exact value and its kind.

    ``estimate`` is the mean and 95 % CI over replications, when there were several.
    """

    id: str
    label: str
    text: str
    value: Any
    kind: Kind = "count"
    estimate: Estimate | None = None


def format_value(kind: Kind, value: float | None) -> str:
    """A headline value in words: ``16 days``, ``127``, ``97%``, ``£148.74``."""
    if value is None or not math.isfinite(value):
        return "not known"
    if kind == "days":
        return f"{value:.0f} days"
    if kind == "share":
        return f"{100 * value:.0f}%"
    if kind == "gbp":
        return f"£{value:,.2f}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _with_estimate(row: HeadlineRow, estimate: Estimate, replications: int) -> HeadlineRow:
    """The row showing the mean of the replications and its 95 % CI."""
    if estimate.n == 0:
        text = f"not known in any of {replications} replications"
    else:
        text = format_value(row.kind, estimate.mean)
        if estimate.n > 1:
            low = format_value(row.kind, estimate.ci_low)
            high = format_value(row.kind, estimate.ci_high)
            unit = " days" if row.kind == "days" else ""
            text += f" (95% CI {low.removesuffix(unit)} to {high})"
        if estimate.n < replications:
            text += f"; known in {estimate.n} of {replications} replications"
    mean = estimate.mean if estimate.n else None
    return replace(row, text=text, value=mean, estimate=estimate)


def run_question(scenario: Scenario) -> str:
    """The question the run answers: the scenario's own, its description, or ipcsim's."""
    return report_question(scenario.question, scenario.description)


def _days(value: float | None, known_to: float | None) -> str:
    if value is not None:
        return f"{value:.0f} days"
    # More people still wait than the percentile leaves room for: it is past the longest wait.
    return "not known" if known_to is None else f"over {known_to:.0f} days"


def headline(
    summary: Mapping[str, Any],
    estimates: Mapping[str, Estimate] | None = None,
    replications: int = 1,
) -> list[HeadlineRow]:
    """The headline figures of a run, in the order the page shows them.

    Parameters
    ----------
    summary
        A run's ``summary.json``.
    estimates
        KPI name -> mean and CI over ``replications`` replications (from
        :func:`ipcsim.present.web.batch.estimates`); the rows then show those.
    replications
        How many replications ``estimates`` are of.

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
    rows = [
        HeadlineRow(
            "kpi-wait-p50",
            "Median wait, referral to first conversation (counting people still waiting)",
            _days(wait.get("p50"), known_to),
            wait.get("p50"),
            "days",
        ),
        HeadlineRow(
            "kpi-wait-p90",
            "90th percentile of that wait (counting people still waiting)",
            _days(wait.get("p90"), known_to),
            wait.get("p90"),
            "days",
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
            "share",
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
            "gbp",
        ),
    ]
    if not estimates or replications < 2:
        return rows
    return [
        _with_estimate(row, estimates[HEADLINE_KPIS[row.id]], replications)
        if HEADLINE_KPIS[row.id] in estimates
        else row
        for row in rows
    ]


def answer_html(
    summary: Mapping[str, Any],
    scenario: Scenario,
    *,
    seed: int,
    config_hash: str,
    run_id: str,
    estimates: Mapping[str, Estimate] | None = None,
    replications: int = 1,
    overloaded: int = 0,
) -> Tag:
    """The answer block: question, warnings (or that none), then the headline table.

    Parameters
    ----------
    summary
        The run's ``summary.json`` (replication 0).
    scenario
        The scenario run.
    seed, config_hash
        From the run's ``manifest.json``, shown so the run can be traced.
    run_id
        The page run's id (``data-run`` of the section: it changes with each run shown).
    estimates, replications
        Means and CIs over several replications (see :func:`headline`).
    overloaded
        Of the replications, how many gave an overload warning.

    Returns
    -------
    Tag
        A ``<section id="answer-card">``.
    """
    several = bool(estimates) and replications > 1
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
    if several:
        lead = "The first replication's warnings: " if warnings else "In the first replication: "
        notes = tags.div(
            tags.p(
                f"Overload warnings in {overloaded} of {replications} replications. {lead}",
                id="overloaded",
                data_value=str(overloaded),
            ),
            notes,
        )
    rows = []
    for row in headline(summary, estimates if several else None, replications):
        extra = {}
        if row.estimate is not None:
            extra = {
                "data_ci_low": json.dumps(_finite(row.estimate.ci_low)),
                "data_ci_high": json.dumps(_finite(row.estimate.ci_high)),
                "data_n": str(row.estimate.n),
            }
        rows.append(
            tags.tr(
                tags.th(row.label, scope="row"),
                tags.td(row.text, id=row.id, data_value=json.dumps(row.value), **extra),
            )
        )
    what = (
        f"mean of {replications} replications (replication r with seed {seed} and "
        f"replication number r, r = 0 to {replications - 1}), 95% CI in brackets"
        if several
        else f"seed {seed}"
    )
    return tags.section(
        tags.h2("The answer"),
        tags.p(run_question(scenario), id="question", class_="question"),
        notes,
        tags.table(tags.tbody(*rows), class_="table table-sm headline"),
        tags.p(
            f"{scenario.name}: {scenario.run.horizon_days:g} days from {scenario.run.start_date}, "
            f"{what}; scenario hash {config_hash[:12]}.",
            id="run-identity",
            class_="text-muted",
            data_seed=str(seed),
            data_config_hash=config_hash,
            data_replications=str(replications if several else 1),
        ),
        id="answer-card",
        data_run=run_id,
    )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
