"""The figures and the HTML report of a plan folder (``ipcsim plan``).

The report leads with the answer: the recommended configuration and its cost, each target
with its estimate, confidence interval and verdict, and the cheaper neighbours with why they
fail (for a plan over time, the staffing plan period by period and its dated changes first);
then the figures (:mod:`ipcsim.present.plan_plots`), the frontier table and the recommended
scenario's parameters. It is laid out by ``templates/plan.html.j2``, which uses the same
macros, parameter tables and style sheet as the run and experiment report.

    DIR -> read_folder(DIR) -> PlanFolder -> build_plan_figures / render_plan_report
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from ipcsim.analysis.labels import kpi_label, kpi_scale
from ipcsim.present import plan_plots
from ipcsim.present.report import templating
from ipcsim.present.report.figures import Drawn, FigureSpec, figure_data_uri
from ipcsim.present.report.folders import PlanFolder, ReportError
from ipcsim.present.report.parameters import parameter_tables

__all__ = ["PLAN_FIGURES", "PLAN_KINDS", "build_plan_figures", "render_plan_report"]


# --------------------------------------------------------------------------- numbers as text
def _number(kpi: str, value: Any) -> str:
    """A KPI value in its display unit: ``98.7%``, ``238.4`` (days), ``1,204``."""
    if value is None or not isinstance(value, int | float) or not math.isfinite(value):
        return "–"
    shown = float(value) * kpi_scale(kpi)
    if kpi_scale(kpi) == 100.0:
        return f"{shown:.1f}%"
    return f"{shown:,.1f}" if abs(shown) < 1000 else f"{shown:,.0f}"


def _interval(kpi: str, low: Any, high: Any, sep: str) -> str:
    return f"{_number(kpi, low)}{sep}{_number(kpi, high)}"


def _cost(value: Any, kind: str, *, per_year: bool = True) -> str:
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "–"
    if kind == "staff_cost":
        return f"£{value:,.0f}" + (" a year" if per_year else "")
    return f"{value:g} staff" if per_year else f"{value:.2f} staff-years"


def _levels(levels: Mapping[str, Any] | None) -> str:
    if not levels:
        return "none"
    return ", ".join(f"{role} = {float(value):g}" for role, value in levels.items())


def _cost_label(folder: PlanFolder) -> str:
    kind = folder.recommendation.get("cost_kind", "staff_cost")
    what = "each period's staffing" if folder.staffing_plan is not None else "the roles planned"
    if kind == "staff_cost" and "alternative" in folder.frontier.columns:
        return "Staff cost + the alternative's stated extra cost (£ a year)"
    if kind == "staff_cost":
        return f"Staff cost of {what} (£ a year)"
    return f"Staff of {what} (headcount or WTE)"


# --------------------------------------------------------------------------- figures
def _draw_frontier(folder: PlanFolder) -> list[Drawn]:
    if folder.frontier.empty or not folder.targets:
        return []
    count = len(folder.frontier)
    figure = plan_plots.plot_plan_frontier(
        folder.frontier,
        targets=folder.targets,
        roles=folder.roles,
        cost_label=_cost_label(folder),
        title=f"{count} configurations judged: {folder.targets[0]['text']}",
    )
    over_time = folder.staffing_plan is not None
    note = (
        " Colours: the period searched; each period's cost is its staffing's cost a year."
        if over_time
        else ""
    )
    return [Drawn("frontier", figure, {"count": str(count), "note": note})]


def _draw_staffing(folder: PlanFolder) -> list[Drawn]:
    staffing = folder.staffing_plan
    if staffing is None or staffing.empty:
        return []
    measures = set((folder.recommendation.get("measures") or {}).values())
    figure = plan_plots.plot_staffing_over_time(
        staffing,
        roles=folder.roles,
        targets=folder.targets,
        measure="fte" if measures == {"fte"} else "headcount",
    )
    count = int(folder.recommendation.get("check", {}).get("replications") or 0)
    return [Drawn("staffing", figure, {"replications": str(count)})]


PlanDraw = Callable[[PlanFolder], list[Drawn]]
"""Draws the figures of one kind for a plan folder (none when there is nothing to draw)."""

PLAN_FIGURES: Mapping[str, tuple[PlanDraw, str, str]] = {
    "frontier": (
        _draw_frontier,
        "The frontier: {count} configurations judged",
        "Each configuration the search judged: its cost against each target's mean over its "
        "replications, with the confidence interval of the mean. Filled: shown to meet every "
        "target; hollow: missed one or not shown either way. Star: the recommendation. "
        "Dashed: the target.{note}",
    ),
    "staffing": (
        _draw_staffing,
        "The staffing plan over time, against demand",
        "Each role's staff in each period of the plan (the level its dated changes reach), "
        "and the mean number of people referred in the period (dotted, right axis). Below: "
        "each target in each period as the check of the whole plan with {replications} "
        "replications judged it (green met, orange missed, grey not shown either way), with "
        "the period's mean.",
    ),
}
"""Figure kind of a plan folder -> (drawing function, title, caption), in report order."""

PLAN_KINDS = tuple(PLAN_FIGURES)
"""Figure kinds for a plan folder, in report order."""


def build_plan_figures(
    folder: PlanFolder, *, kinds: Sequence[str] | None = None
) -> list[FigureSpec]:
    """The figures of a plan folder.

    Parameters
    ----------
    folder
        From :func:`~ipcsim.present.report.folders.read_folder`.
    kinds
        Figure kinds (:data:`PLAN_KINDS`); all when ``None`` (then ``staffing`` only for a
        plan over time). A kind asked for by name must draw something.

    Raises
    ------
    ReportError
        For a kind that is not a plan's, or one asked for with nothing to draw.
    """
    figures: list[FigureSpec] = []
    for kind in list(kinds or PLAN_KINDS):
        if kind not in PLAN_FIGURES:
            raise ReportError(
                f"--kind {kind}: not a figure of a plan folder (use one of {', '.join(PLAN_KINDS)})"
            )
        draw, title, caption = PLAN_FIGURES[kind]
        drawn = draw(folder)
        if not drawn and kinds:
            for spec in figures:
                spec.figure.clear()
            why = (
                "a plan of one constant staffing has no staffing plan over time"
                if kind == "staffing"
                else "frontier.parquet has no configuration"
            )
            raise ReportError(f"--kind {kind}: nothing to draw ({why})")
        figures += [
            FigureSpec(d.name, kind, title.format(**d.fields), caption.format(**d.fields), d.figure)
            for d in drawn
        ]
    return figures


# --------------------------------------------------------------------------- the answer
def _target_rows(targets: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    rows = []
    for target in targets:
        kpi = str(target["kpi"])
        level = int(round(100 * float(target["confidence"])))
        if target.get("requirement") == "replications":
            how = f"in {float(target['share']):.0%} of replications"
            held = f"held in {target['replications_meeting']} of {target['replications']}"
        else:
            how = "the mean"
            held = ""
        rows.append(
            {
                "text": str(target["text"]),
                "how": f"{how}, {level}% confidence",
                "mean": _number(kpi, target.get("mean")),
                "ci": _interval(kpi, target.get("ci_low"), target.get("ci_high"), " to "),
                "bound": _number(kpi, target.get("bound")),
                "held": held,
                "status": str(target["status"]),
                "reason": str(target.get("reason") or ""),
            }
        )
    return rows


def _constant_answer(folder: PlanFolder) -> dict[str, Any]:
    answer = folder.recommendation
    kind = str(answer.get("cost_kind", "staff_cost"))
    configuration = answer.get("configuration")
    grid = int(answer.get("grid_size") or 0)
    final = int((folder.manifest.get("spec") or {}).get("replications", {}).get("final") or 0)
    named = f"alternative {answer['alternative']}: " if answer.get("alternative") else ""
    return {
        "met": bool(answer.get("met")),
        "configuration": named + _levels(configuration),
        "alternatives": [
            {
                "name": a["alternative"],
                "settings": ", ".join(f"{k} = {v!r}" for k, v in a["set"].items()) or "as the base",
                "configuration": _levels(a.get("configuration")),
                "cost": _cost(a.get("cost"), kind),
                "status": "met" if a["met"] else "missed",
                "why_not": a.get("why_not") or "meets every target",
            }
            for a in answer.get("alternatives") or []
        ],
        "cost": _cost(answer.get("cost"), kind),
        "replications": answer.get("replications"),
        "targets": _target_rows(answer.get("targets") or []),
        "neighbours": [
            {
                "configuration": _levels(n["configuration"]),
                "cost": _cost(n["cost"], kind),
                "replications": n["replications"],
                "status": n["status"],
                "why_not": n["why_not"] or "meets every target too",
            }
            for n in answer.get("cheaper_neighbours") or []
        ],
        "search": (
            f"{answer.get('configurations_judged', 0):,} of {grid:,} configurations judged, "
            f"{answer.get('replications_simulated', 0):,} replications"
            + (f" (a grid of them all at {final} each: {grid * final:,})" if final else "")
        ),
    }


def _over_time_answer(folder: PlanFolder) -> dict[str, Any]:
    answer = folder.recommendation
    staffing = folder.staffing_plan
    assert staffing is not None  # only for a plan over time
    kind = str(answer.get("cost_kind", "staff_cost"))
    roles = folder.roles
    periods = list(answer.get("periods") or [])
    rows = []
    for row in staffing.to_dict(orient="records"):
        rows.append(
            {
                "period": int(row["period"]),
                "start": str(row["start_date"])[:10],
                "end": str(row["end_date"])[:10],
                "levels": [f"{float(row[r]):g}" for r in roles],
                "cost": _cost(row["cost"], kind, per_year=False),
                "referred": f"{float(row['referred_mean']):,.0f}",
                "status": str(row["status"]),
            }
        )
    changes = [
        {
            "date": change["date"],
            "role": role,
            "level": f"{float(change.get('headcount', change.get('fte', math.nan))):g}",
            "period": change["period"],
            "late": float(change.get("late_days") or 0.0),
        }
        for role, entries in (answer.get("changes") or {}).items()
        for change in entries
    ]
    changes.sort(key=lambda c: (c["date"], c["role"]))
    checks = [
        {
            "period": p["period"],
            "label": f"{p['start_date']} to {p['end_date']}",
            "targets": _target_rows(p["check"]["targets"]),
        }
        for p in periods
    ]
    stopped = None
    if periods and (
        answer.get("periods_planned", len(periods)) < len(staffing)
        or any(p["search"]["status"] != "met" for p in periods)
    ):
        last = periods[-1]
        missed = [t for t in last["search"]["targets"] if t["status"] != "met"]
        total = int(answer.get("periods_total") or last["period"])
        stopped = {
            "later": (
                f"periods {last['period'] + 1} to {total} are not planned"
                if total > last["period"]
                else ""
            ),
            "period": last["period"],
            "label": f"{last['start_date']} to {last['end_date']}",
            "closest": _levels(last["levels"]),
            "targets": _target_rows(missed),
        }
    return {
        "met": bool(answer.get("met")),
        "total": _cost(answer.get("cost"), kind, per_year=False),
        "period_months": answer.get("period_months"),
        "ready": (
            "fully productive when their period starts"
            if answer.get("hires_ready") == "productive"
            else "arriving when their period starts"
        ),
        "follow_up": f"{float(answer.get('follow_up_days') or 0):g}",
        "replications": (answer.get("check") or {}).get("replications"),
        "roles": roles,
        "rows": rows,
        "changes": changes,
        "checks": checks,
        "stopped": stopped,
        "search": (
            f"{answer.get('configurations_judged', 0):,} configurations judged over "
            f"{answer.get('periods_planned', len(rows))} periods, "
            f"{answer.get('replications_simulated', 0):,} replications"
        ),
    }


def _frontier_table(folder: PlanFolder) -> dict[str, Any]:
    frame = folder.frontier
    kind = str(folder.recommendation.get("cost_kind", "staff_cost"))
    targets = folder.targets
    stems = plan_plots.column_stems(targets)
    over_time = "period" in frame.columns
    order = (["period"] if over_time else []) + ["cost", *folder.roles]
    frame = frame.sort_values(order, kind="stable")
    alternatives = "alternative" in frame.columns
    headers = [
        *(["period"] if over_time else []),
        *(["alternative"] if alternatives else []),
        *folder.roles,
        "cost (£ a year)" if kind == "staff_cost" else "cost (staff)",
        "replications",
        "verdict",
        *(
            f"{kpi_label(str(t['kpi']))[0]}"
            + (f" ({unit})" if (unit := kpi_label(str(t["kpi"]))[1]) in {"days", "%"} else "")
            for t in targets
        ),
        "why not",
    ]
    rows = []
    for row in frame.to_dict(orient="records"):
        cells = [
            {
                "value": _number(str(t["kpi"]), row.get(f"{stem}_mean")),
                "ci": _interval(
                    str(t["kpi"]), row.get(f"{stem}_ci_low"), row.get(f"{stem}_ci_high"), "–"
                ),
                "status": str(row.get(f"{stem}_status")),
            }
            for t, stem in zip(targets, stems, strict=True)
        ]
        rows.append(
            {
                "period": int(row["period"]) if over_time else None,
                "alternative": str(row["alternative"]) if alternatives else None,
                "levels": [f"{float(row[r]):g}" for r in folder.roles],
                "cost": f"{row['cost']:,.0f}" if kind == "staff_cost" else f"{row['cost']:g}",
                "replications": int(row["replications"]),
                "final": bool(row["final_check"]),
                "status": str(row["status"]),
                "recommended": bool(row["recommended"]),
                "kpis": cells,
                "why_not": str(row["why_not"] or ""),
            }
        )
    return {"headers": headers, "rows": rows, "over_time": over_time, "alternatives": alternatives}


# --------------------------------------------------------------------------- the page
def render_plan_report(
    folder: PlanFolder,
    *,
    image_format: Literal["png", "svg"] = "png",
    created: dt.datetime | None = None,
) -> str:
    """The report of a plan folder as one self-contained HTML page.

    Parameters
    ----------
    folder
        From :func:`~ipcsim.present.report.folders.read_folder`.
    image_format
        Embed figures as ``png`` or ``svg`` (base64 data URIs).
    created
        Time stamp printed in the footer (now, UTC, when ``None``).

    Returns
    -------
    str
        The HTML document: no scripts, nothing fetched.
    """
    figures = build_plan_figures(folder)
    try:
        shown = [
            {
                "name": f.name,
                "title": f.title,
                "caption": f.caption,
                "src": figure_data_uri(f, image_format),
            }
            for f in figures
        ]
    finally:
        for drawn in figures:
            drawn.figure.clear()
    manifest = folder.manifest
    recorded = manifest.get("spec")
    spec: Mapping[str, Any] = recorded if isinstance(recorded, Mapping) else {}
    over_time = folder.staffing_plan is not None
    name = str(manifest.get("plan") or folder.path.name)
    scenario = folder.scenario
    seed = manifest.get("seed")
    badges = [
        "Staffing plan over time" if over_time else "Capacity plan",
        f"base {spec.get('base')}" if spec.get("base") else "",
        f"{scenario.run.horizon_days:g} days from {scenario.run.start_date}" if scenario else "",
        f"seed {seed}" if seed is not None else "",
        f"ipcsim {manifest.get('ipcsim_version', '')}",
    ]
    toc = [("question", "Question"), ("answer", "Recommendation")]
    toc += [("figures", "Figures"), ("frontier", "Frontier"), ("parameters", "Parameters")]
    question = str(manifest.get("question") or folder.recommendation.get("question") or "")
    return templating.render(
        "plan.html.j2",
        css=templating.css(),
        name=name,
        description=str(spec.get("description") or ""),
        badges=[b for b in badges if b],
        toc=toc,
        question=question or "How few staff, and which, meet the service levels?",
        targets=[f"{t['text']}" for t in folder.targets],
        constant=None if over_time else _constant_answer(folder),
        over_time=_over_time_answer(folder) if over_time else None,
        figures=shown,
        frontier=_frontier_table(folder),
        parameters=parameter_tables(folder.config),
        folder=str(folder.path),
        created=(created or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
        config_hash=manifest.get("config_hash", "not recorded"),
    )
