"""Two answers side by side: the one kept as A and the one shown (B), with B - A.

:func:`read_view` reads what the page shows of a finished job (its run's ``summary.json`` and
manifest, and the means, CIs and per-replication values of its experiment when it had several
replications); :func:`compare_html` lays two of them out. When A and B are replications of the
same seed, replication ``r`` of each drew the same random numbers (common random numbers), so
the difference has a paired 95 % CI (:func:`ipcsim.analysis.stats.paired_ci`), usually much
narrower than the two CIs suggest.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from htmltools import Tag, tags

from ipcsim.analysis import stats
from ipcsim.present.web.answer import HeadlineRow, headline
from ipcsim.present.web.batch import HEADLINE_KPIS, Estimate, estimates, replication_counts
from ipcsim.present.web.jobs import Job
from ipcsim.scenario import Scenario
from ipcsim.scenario.load import scenario_from_dict

__all__ = ["RunView", "compare_html", "read_view"]

BASE_ID = "s000"
"""Scenario id of the page's scenario in its experiment (the only one)."""


@dataclass(frozen=True)
class RunView:
    """What the page shows of a finished job.

    Attributes
    ----------
    job_id
        The page job.
    summary, manifest
        The run's (replication 0) ``summary.json`` and ``manifest.json``.
    scenario
        The scenario run.
    estimates
        KPI -> mean and CI over the replications (empty with one replication).
    replications, overloaded
        Replications run, and of them how many gave an overload warning.
    values
        KPI -> its value in each replication, in replication order (empty with one).
    """

    job_id: str
    summary: Mapping[str, Any]
    manifest: Mapping[str, Any]
    scenario: Scenario
    estimates: Mapping[str, Estimate] = field(default_factory=dict)
    replications: int = 1
    overloaded: int = 0
    values: Mapping[str, list[float]] = field(default_factory=dict)

    @property
    def seed(self) -> int:
        """The run's seed (the experiment's master seed)."""
        return int(self.manifest["seed"])

    def rows(self) -> list[HeadlineRow]:
        """The headline rows the page shows for this answer."""
        return headline(self.summary, self.estimates or None, self.replications)

    def identity(self) -> str:
        """``demonstrator_site, 730 days, seed 20160401, 3 replications, hash 1a2b3c4d5e6f``."""
        reps = f", {self.replications} replications" if self.replications > 1 else ""
        return (
            f"{self.scenario.name}, {self.scenario.run.horizon_days:g} days, seed {self.seed}"
            f"{reps}, scenario hash {str(self.manifest.get('config_hash', ''))[:12]}"
        )


def read_view(job: Job) -> RunView:
    """What the page shows of a finished job (reads its folder)."""
    text = job.toml_path.read_text(encoding="utf-8")
    scenario = scenario_from_dict(tomllib.loads(text), source="the page's run")
    manifest = json.loads((job.run_folder / "manifest.json").read_text("utf-8"))
    if not job.has_batch:
        return RunView(job.id, job.summary(), manifest, scenario)
    tables = job.batch_tables()
    replications, overloaded = replication_counts(tables.replications, BASE_ID)
    frame = tables.replications
    frame = frame[frame["scenario"].astype(str) == BASE_ID].sort_values("replication")
    values: dict[str, list[float]] = {}
    for kpi, value in zip(frame["kpi"].astype(str), frame["value"], strict=True):
        values.setdefault(kpi, []).append(float(value))
    return RunView(
        job.id,
        job.summary(),
        manifest,
        scenario,
        estimates(tables.summary, BASE_ID),
        replications,
        overloaded,
        values,
    )


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _paired(a: RunView, b: RunView, kpi: str) -> stats.PairedEstimate | None:
    """The paired CI of B - A, when both are the same replications of the same seed."""
    if a.seed != b.seed or a.replications < 2 or a.replications != b.replications:
        return None
    found = stats.paired_ci(b.values.get(kpi, []), a.values.get(kpi, []))
    # Only when every pair is known: then its mean is the difference of the means shown.
    return found if found.n == a.replications else None


def _signed(kind: str, value: float) -> str:
    """A difference in words: ``+0.4 days``, ``−1.5 percentage points``, ``+£3.10``, ``+12``."""
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    size = abs(value)
    if kind == "days":
        return f"{sign}{size:.1f} days"
    if kind == "share":
        return f"{sign}{100 * size:.1f} percentage points"
    if kind == "gbp":
        return f"{sign}£{size:,.2f}"
    return sign + (f"{size:,.0f}" if float(size).is_integer() else f"{size:,.1f}")


def _difference(kind: str, diff: float | None, paired: stats.PairedEstimate | None) -> str:
    if diff is None:
        return "not known"
    text = _signed(kind, diff)
    if paired is not None and math.isfinite(paired.ci_low):
        low, high = (_signed(kind, v) for v in (paired.ci_low, paired.ci_high))
        text += f" (paired 95% CI {low} to {high})"
    return text


def compare_html(a: RunView, b: RunView) -> Tag:
    """The headline figures of A and B side by side, with B - A.

    Returns
    -------
    Tag
        A ``<section id="compare">``; each difference cell carries ``data-a``, ``data-b``
        and ``data-diff`` (JSON numbers, ``null`` when not known) and, when paired,
        ``data-ci-low`` and ``data-ci-high``.
    """
    body = []
    for row_a, row_b in zip(a.rows(), b.rows(), strict=True):
        value_a, value_b = _number(row_a.value), _number(row_b.value)
        diff = None if value_a is None or value_b is None else value_b - value_a
        paired = _paired(a, b, HEADLINE_KPIS[row_a.id])
        extra = {}
        if paired is not None and math.isfinite(paired.ci_low):
            extra = {
                "data_ci_low": json.dumps(paired.ci_low),
                "data_ci_high": json.dumps(paired.ci_high),
            }
        body.append(
            tags.tr(
                tags.th(row_a.label, scope="row"),
                tags.td(row_a.text),
                tags.td(row_b.text),
                tags.td(
                    _difference(row_a.kind, diff, paired),
                    id=f"diff-{row_a.id.removeprefix('kpi-')}",
                    data_a=json.dumps(value_a),
                    data_b=json.dumps(value_b),
                    data_diff=json.dumps(diff),
                    **extra,
                ),
            )
        )
    return tags.section(
        tags.h3("A and B side by side"),
        tags.p(
            tags.strong("A: "),
            a.identity(),
            tags.br(),
            tags.strong("B (shown above): "),
            b.identity(),
            class_="small",
        ),
        tags.table(
            tags.thead(tags.tr(tags.th(""), tags.th("A"), tags.th("B"), tags.th("B − A"))),
            tags.tbody(*body),
            class_="table table-sm compare",
        ),
        id="compare",
        data_a=a.job_id,
        data_b=b.job_id,
    )
