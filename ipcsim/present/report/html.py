"""The HTML report of a run or experiment folder: one self-contained page.

Python gathers the facts (headline numbers, tables, figures as ``data:`` URIs, STRESS-DES
items); the page is laid out by the Jinja2 templates in ``templates/`` (``report.html.j2``,
``headline.html.j2``, ``parameters.html.j2``) and styled by ``templates/report.css``, which is
inlined into the page. The page has no scripts and fetches nothing, so it can be e-mailed or
attached to board papers.

    DIR -> read_folder(DIR) -> render_report(folder, options) -> HTML text
        -> write_report(DIR)                                  -> DIR/report.html
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from ipcsim.analysis.labels import (
    Direction,
    economics_table,
    factor_label,
    kpi_direction,
    kpi_label,
    kpi_scale,
    kpi_table,
    level_words,
    scenario_label,
)
from ipcsim.analysis.targets import Recommendation, Target, recommend
from ipcsim.errors import OutputError
from ipcsim.present.report import templating
from ipcsim.present.report.figures import (
    FigureSpec,
    PlotOptions,
    build_figures,
    default_factor,
    figure_data_uri,
    merged_targets,
)
from ipcsim.present.report.folders import (
    AnyFolder,
    ExperimentFolder,
    PlanFolder,
    RunFolder,
    manifest_spec,
    read_folder,
)
from ipcsim.present.report.parameters import format_value, parameter_tables
from ipcsim.present.report.plan_report import render_plan_report
from ipcsim.present.report.stress import folder_question, stress_items

__all__ = ["render_report", "write_report"]

_HEADLINE_KPIS = (
    "wait_referral_to_first_conversation_mean",
    "wait_referral_to_sign_off_mean",
    "wait_referral_to_budget_release_mean",
    "plans_signed_off_per_year",
    "budgets_released_per_year",
)
"""KPIs of an experiment's headline when its spec names none (with the lead role's utilisation)."""


# --------------------------------------------------------------------------- numbers as text
def _fmt_kpi(kpi: str, value: Any) -> str:
    """A KPI value in its display unit: ``12.3`` (days), ``85%``, ``£1,234``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    number = float(value) * kpi_scale(kpi)
    _label, unit = kpi_label(kpi)
    if unit == "days":
        return f"{number:,.1f}"
    if unit == "%":
        return f"{number:.0f}%"
    if unit == "£":
        return f"£{number:,.0f}"
    return f"{number:,.1f}" if abs(number) < 100 else f"{number:,.0f}"


def _ratio_text(value: Any) -> str:
    """``"3.2x"``, or an en dash when there is no finite value."""
    if value is None or not math.isfinite(float(value)):
        return "–"
    return f"{float(value):.1f}x"


def _ci_text(kpi: str, row: Mapping[Any, Any]) -> str:
    low, high = row.get("ci_low"), row.get("ci_high")
    if (
        low is None
        or high is None
        or not (math.isfinite(float(low)) and math.isfinite(float(high)))
    ):
        return ""
    return f"95% CI {_fmt_kpi(kpi, low)} to {_fmt_kpi(kpi, high)}"


# --------------------------------------------------------------------------- headlines
def _run_headline(run: RunFolder) -> dict[str, Any]:
    """A run's headline: cards, warnings, KPI rows, the years table and the economics rows.

    Cards are ``(label, value, note)``: plans and budgets in the last 12 months (the rate the
    service ended at, with each year's count), the median wait for a first conversation and
    the share seen within the first waiting standard (both counting the people still
    waiting), the lead role's utilisation and the staff cost per referred person (with its
    denominator).
    """
    summary = run.summary
    waits = summary.get("waits_days") or {}
    first = waits.get("referral_to_first_conversation") or {}
    util = summary.get("utilisation") or {}
    lead = run.scenario.pathway.lead_role if run.scenario is not None else "planner"
    cost = (summary.get("staff_cost_per_person_gbp") or {}).get("total")
    years = summary.get("per_year") or []
    last = summary.get("last_12_months")
    cards = []
    if last is not None:
        by_year = ", ".join(f"{y['plans_signed_off']:,} in year {y['year']}" for y in years)
        cards.append(
            ("plans signed off in the last 12 months", f"{last['plans_signed_off']:,}", by_year)
        )
        by_year = ", ".join(f"{y['budgets_released']:,} in year {y['year']}" for y in years)
        cards.append(
            ("budgets released in the last 12 months", f"{last['budgets_released']:,}", by_year)
        )
    if first.get("started"):
        median = first.get("p50")
        waiting = int(first.get("still_waiting") or 0)
        note = f"{waiting:,} still waiting at the end" if waiting else "nobody still waiting"
        if first.get("p90") is not None:
            note = f"90th percentile {first['p90']:.0f} days; {note}"
        cards.append(
            (
                "median days from referral to first conversation",
                "not yet known" if median is None else f"{median:.0f}",
                f"{note} (counted in the estimate)",
            )
        )
    standards = [(k, v) for k, v in first.items() if k.startswith("share_within_")]
    if standards and standards[0][1] is not None:
        key, share = standards[0]
        weeks = key.removeprefix("share_within_").removesuffix("w")
        cards.append(
            (
                f"seen within {weeks} weeks of referral",
                f"{100 * share:.0f}%",
                "first conversation; everyone referred that long before the end",
            )
        )
    if util.get(lead) is not None:
        cards.append((f"{lead} utilisation", f"{100 * util[lead]:.0f}%", "of IPC hours available"))
    if cost is not None:
        cards.append(
            (
                "staff cost per referred person",
                f"£{cost:,.0f}",
                "IPC staff time of everyone referred, including those who left early",
            )
        )
    return {
        "cards": cards,
        "rows": kpi_table(summary),
        "warnings": [str(w["message"]) for w in summary.get("warnings") or []],
        "years": years,
        "last_12_months": last,
        "economics": economics_table(summary),
    }


def _target_text(target: Target) -> str:
    """``Mean wait, referral to first conversation ≤ 28 days``."""
    sign = "≤" if target.direction == "lower" else "≥"
    label, unit = kpi_label(target.kpi)
    shown = _fmt_kpi(target.kpi, target.value) + (" days" if unit == "days" else "")
    return f"{label} {sign} {shown}"


def _answers(
    experiment: ExperimentFolder,
    targets: Mapping[str, float],
    directions: Mapping[str, Direction],
    options: PlotOptions,
) -> tuple[str | None, list[Recommendation]]:
    """The main factor, and the smallest level meeting each target per group of the others.

    See :func:`ipcsim.analysis.targets.recommend`.
    """
    factor = options.factor or default_factor(experiment)
    if factor is None or not targets or factor not in experiment.summary.columns:
        return factor, []
    wanted = [
        Target(kpi, float(value), directions.get(kpi) or kpi_direction(kpi))
        for kpi, value in targets.items()
    ]
    answers = recommend(
        experiment.summary,
        factor=factor,
        targets=wanted,
        criterion=options.criterion,
        others=experiment.factors,
    )
    return factor, answers


def _lead_group(
    experiment: ExperimentFolder, answers: Sequence[Recommendation]
) -> tuple[tuple[str, Any], ...]:
    """The group of the other factors' levels the headline answers for: the baseline's."""
    rows = experiment.scenarios[experiment.scenarios["scenario"].astype(str) == experiment.baseline]
    for answer in answers:
        if rows.empty or all(rows.iloc[0][f] == v for f, v in answer.group):
            return answer.group
    return answers[0].group if answers else ()


def _rule(criterion: str) -> str:
    return "the whole 95% CI" if criterion == "ci" else "the mean"


def _target_answers(
    experiment: ExperimentFolder, factor: str | None, answers: Sequence[Recommendation]
) -> dict[str, Any] | None:
    """The box under the headline: the smallest level per target (rows) and group (columns).

    ``None`` when there is no target or no factor to answer with.
    """
    if factor is None or not answers:
        return None
    groups = list(dict.fromkeys(a.group for a in answers))
    rows: dict[tuple[Target, ...], list[str | None]] = {}
    for answer in answers:
        cells = rows.setdefault(answer.targets, [None] * len(groups))
        if answer.met and answer.level is not None:
            cells[groups.index(answer.group)] = level_words(factor, _plain(answer.level))
    return {
        "factor": factor_label(factor).lower(),
        "rule": _rule(answers[0].criterion),
        "groups": [scenario_label(dict(g)) or "all scenarios" for g in groups],
        "rows": [
            (
                "every target" if len(chosen) > 1 else _target_text(chosen[0]),
                cells,
            )
            for chosen, cells in rows.items()
        ],
    }


def _plain(level: float) -> int | float:
    return int(level) if float(level).is_integer() else level


def _headline_kpis(experiment: ExperimentFolder, targets: Mapping[str, float]) -> list[str]:
    """The spec's KPIs, else the headline set; then those with targets."""
    kpis_present = list(dict.fromkeys(experiment.summary["kpi"].astype(str)))
    lead = experiment.scenario.pathway.lead_role if experiment.scenario is not None else "planner"
    spec_kpis = [
        k for k in manifest_spec(experiment.manifest).get("kpis") or () if k in kpis_present
    ]
    kpis = spec_kpis or [k for k in (*_HEADLINE_KPIS, f"utilisation_{lead}") if k in kpis_present]
    kpis += [k for k in targets if k in kpis_present and k not in kpis]
    return kpis or kpis_present[:6]


def _kpi_header(kpi: str) -> str:
    label, unit = kpi_label(kpi)
    return label + (f" ({unit})" if unit in {"days", "%", "£"} else "")


def _named(experiment: ExperimentFolder, scenario: str) -> str:
    """``3 planners, 6 LTC frailty referrals a month (s006)``, or the id alone."""
    name = experiment.names.get(scenario, scenario)
    return f"{name} ({scenario})" if name != scenario else scenario


def _scenario_cards(
    experiment: ExperimentFolder, scenario: str, kpis: Sequence[str], most: int
) -> list[tuple[str, str, str]]:
    """Cards of one scenario's KPIs: mean, label and CI."""
    summary = experiment.summary
    rows = summary[summary["scenario"].astype(str) == scenario]
    cards = []
    for kpi in kpis[:most]:
        row = rows[rows["kpi"] == kpi]
        if row.empty:
            continue
        record = row.iloc[0].to_dict()
        label, unit = kpi_label(kpi)
        suffix = f" ({unit})" if unit in {"days"} else ""
        cards.append((f"{label}{suffix}", _fmt_kpi(kpi, record["mean"]), _ci_text(kpi, record)))
    return cards


def _answer_card(factor: str, answer: Recommendation) -> tuple[str, str, str]:
    """The headline's first card: the smallest level meeting the targets, or that none does."""
    what = (
        "every target"
        if len(answer.targets) > 1
        else "the target " + _target_text(answer.targets[0])
    )
    where = scenario_label(dict(answer.group))
    at = f" at {where}" if where else ""
    rule = _rule(answer.criterion)
    if answer.met and answer.level is not None:
        return (
            f"recommended: the smallest level of {factor_label(factor).lower()} whose "
            f"{rule[4:]} meets "
            f"{what}{at}",
            level_words(factor, _plain(answer.level)),
            "",
        )
    closest = (
        f"closest: {level_words(factor, _plain(answer.level))}" if answer.level is not None else ""
    )
    return (f"no level of {factor_label(factor).lower()} tried meets {what}{at}", "none", closest)


def _experiment_headline(
    experiment: ExperimentFolder,
    targets: Mapping[str, float],
    factor: str | None,
    answers: Sequence[Recommendation],
) -> dict[str, Any]:
    """Headline cards, the scenario x KPI table with CIs and the paired differences.

    With targets the cards lead with the recommended option (the smallest level of the main
    factor meeting every target, at the baseline's levels of the other factors) and its
    figures; without, they show the baseline.
    """
    summary = experiment.summary
    kpis = _headline_kpis(experiment, targets)
    group = _lead_group(experiment, answers)
    lead = next((a for a in answers if a.group == group), None)
    recommended: str | None = None
    if lead is not None and factor is not None:
        recommended = lead.scenario if lead.met else None
        shown = lead.scenario
        cards = [_answer_card(factor, lead)]
        if shown is not None:
            cards += _scenario_cards(experiment, shown, kpis, 4)
            word = "recommended option" if lead.met else "closest option"
            caption = f"The {word}: {_named(experiment, shown)}; mean over replications."
        else:
            caption = ""
    else:
        cards = _scenario_cards(experiment, experiment.baseline, kpis, 5)
        caption = (
            f"The baseline: {_named(experiment, experiment.baseline)}; mean over replications."
        )
    by_scenario = {str(s): g for s, g in summary.groupby(summary["scenario"].astype(str))}
    scen_rows = experiment.scenarios.set_index(experiment.scenarios["scenario"].astype(str))
    names = experiment.names
    named = any(names.get(s, s) != s for s in names)
    rows = []
    for name in dict.fromkeys(experiment.scenarios["scenario"].astype(str)):
        group_rows = by_scenario.get(name)
        cells: list[dict[str, Any] | None] = []
        for kpi in kpis:
            found = (
                group_rows[group_rows["kpi"] == kpi] if group_rows is not None else pd.DataFrame()
            )
            if found.empty:
                cells.append(None)
                continue
            record = found.iloc[0].to_dict()
            target = targets.get(kpi)
            met = False
            if target is not None and math.isfinite(float(record["mean"])):
                direction = kpi_direction(kpi)
                met = record["mean"] <= target if direction == "lower" else record["mean"] >= target
            cells.append(
                {
                    "value": _fmt_kpi(kpi, record["mean"]),
                    "met": met,
                    "low": _fmt_kpi(kpi, record["ci_low"]),
                    "high": _fmt_kpi(kpi, record["ci_high"]),
                }
            )
        rows.append(
            {
                "name": name,
                "label": names.get(name, name) if named else "",
                "baseline": name == experiment.baseline,
                "recommended": name == recommended,
                "factors": (
                    []
                    if named
                    else [format_value(scen_rows.loc[name, f]) for f in experiment.factors]
                ),
                "kpis": cells,
            }
        )
    paired = []
    if experiment.paired is not None and not experiment.paired.empty:
        chosen = experiment.paired[experiment.paired["kpi"].astype(str).isin(kpis)]
        for _, r in chosen.iterrows():
            kpi = str(r["kpi"])
            paired.append(
                {
                    "scenario": _named(experiment, str(r["scenario"])),
                    "kpi": kpi_label(kpi)[0],
                    "diff": _fmt_kpi(kpi, r["mean_diff"]),
                    "low": _fmt_kpi(kpi, r["ci_low"]),
                    "high": _fmt_kpi(kpi, r["ci_high"]),
                    "ratio": _ratio_text(r.get("variance_reduction")),
                }
            )
    return {
        "cards": cards,
        "caption": caption,
        "headers": [
            "id" if named else "scenario",
            *(["scenario"] if named else [factor_label(f) for f in experiment.factors]),
            *[_kpi_header(k) for k in kpis],
        ],
        "rows": rows,
        "paired": paired,
        "has_targets": bool(targets),
    }


# --------------------------------------------------------------------------- the page
def _figure(spec: FigureSpec, image_format: Literal["png", "svg"]) -> dict[str, str]:
    return {
        "name": spec.name,
        "title": spec.title,
        "caption": spec.caption,
        "src": figure_data_uri(spec, image_format),
    }


def render_report(
    folder: AnyFolder,
    *,
    options: PlotOptions | None = None,
    image_format: Literal["png", "svg"] = "png",
    created: dt.datetime | None = None,
) -> str:
    """The report of a folder as one self-contained HTML page.

    Parameters
    ----------
    folder
        From :func:`~ipcsim.present.report.folders.read_folder` (a plan folder's report is
        :func:`~ipcsim.present.report.plan_report.render_plan_report`'s).
    options
        Targets, trajectory, factor, KPIs and reference lines for the figures (not used
        for a plan folder: its targets are the plan's).
    image_format
        Embed figures as ``png`` or ``svg`` (both base64 data URIs).
    created
        Time stamp printed in the footer (now, UTC, when ``None``).

    Returns
    -------
    str
        The HTML document: no scripts, no external links to fetch (only ``data:`` images and
        in-page anchors).
    """
    if isinstance(folder, PlanFolder):
        return render_plan_report(folder, image_format=image_format, created=created)
    options = options or PlotOptions()
    figures = build_figures(folder, options=options)
    try:
        spec = next((f for f in figures if f.kind == "pathway"), None)
        pathway = _figure(spec, image_format) if spec is not None else None
        image = templating.macros("_macros.html.j2").image(pathway) if pathway else None
        question = folder_question(folder)
        items = stress_items(folder, pathway_image=str(image) if image else None, question=question)
        shown = [_figure(f, image_format) for f in figures if f.kind != "pathway"]
    finally:
        for figure in figures:
            figure.figure.clear()
    scenario = folder.scenario
    config = folder.config or {}
    name = str(config.get("name") or (scenario.name if scenario else folder.path.name))
    description = scenario.description if scenario and scenario.description else ""
    targets, directions = merged_targets(folder, options)
    run = experiment = answer = None
    if isinstance(folder, RunFolder):
        kind_text = "Single run"
        run = _run_headline(folder)
    else:
        kind_text = "Experiment"
        recorded = folder.manifest.get("criterion")
        if not options.targets and recorded in ("mean", "ci"):
            # Targets stored by ``experiment --target`` keep the criterion they were given with.
            options = dataclasses.replace(options, criterion=recorded)
        factor, answers = _answers(folder, targets, directions, options)
        experiment = _experiment_headline(folder, targets, factor, answers)
        answer = _target_answers(folder, factor, answers)
        experiment_name = folder.manifest.get("experiment") or manifest_spec(folder.manifest).get(
            "name"
        )
        if experiment_name:
            name = str(experiment_name)
            kind_text = f"Experiment on {config.get('name') or 'its base scenario'}"
        if manifest_spec(folder.manifest).get("description"):
            description = str(manifest_spec(folder.manifest)["description"])
    seed = folder.manifest.get("seed")
    badges = [
        kind_text,
        f"site {scenario.site.name}" if scenario and scenario.site.name else "",
        f"{scenario.run.horizon_days:g} days from {scenario.run.start_date}" if scenario else "",
        f"seed {seed}" if seed is not None else "",
        f"ipcsim {folder.manifest.get('ipcsim_version', '')}",
    ]
    toc = [("question", "Question"), ("headline", "Headline results")]
    if run is not None:
        # A run: its KPI table is short; the pathway explains the figures that follow.
        toc += [("pathway", "Pathway"), ("figures", "Figures")]
    else:
        # An experiment: the answer and its figures first, every scenario's numbers after.
        toc += [("figures", "Figures"), ("scenarios", "All scenarios"), ("pathway", "Pathway")]
    if pathway is None:
        toc.remove(("pathway", "Pathway"))
    toc += [("parameters", "Parameters"), ("stress", "STRESS-DES")]
    return templating.render(
        "report.html.j2",
        css=templating.css(),
        name=name,
        description=description,
        badges=[b for b in badges if b],
        toc=toc,
        todos=[i for i in items if i.todo],
        question=question,
        answer=answer,
        run=run,
        experiment=experiment,
        figures=shown,
        pathway=pathway,
        parameters=parameter_tables(folder.config),
        stress=items,
        folder=str(folder.path),
        created=(created or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
        config_hash=folder.manifest.get("config_hash", "not recorded"),
    )


def write_report(
    path: str | Path,
    *,
    options: PlotOptions | None = None,
    image_format: Literal["png", "svg"] = "png",
    out: str | Path | None = None,
) -> Path:
    """Write ``report.html`` for a run, experiment or plan folder, atomically.

    Parameters
    ----------
    path
        The run, experiment or plan folder.
    options
        See :class:`~ipcsim.present.report.figures.PlotOptions`.
    image_format
        ``png`` or ``svg`` images (embedded).
    out
        Where to write (default ``<path>/report.html``).

    Returns
    -------
    Path
        The report written.

    Raises
    ------
    ReportError, OutputError
        When the folder cannot be read or the report cannot be written.
    """
    folder = read_folder(path)
    text = render_report(folder, options=options, image_format=image_format)
    target = Path(out) if out is not None else folder.path / "report.html"
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {target}: {e.strerror or e}") from e
    return target
