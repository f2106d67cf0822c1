"""``ipcsim plot`` and ``ipcsim report``: figures and the HTML report of an output folder.

A thin layer: it parses options, calls :mod:`ipcsim.present.report` and prints what it
wrote. Library errors become one line and exit status 2 (:func:`ipcsim.cli._app.user_errors`).
"""

from __future__ import annotations

import shlex
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ipcsim.analysis.targets import parse_number, parse_target
from ipcsim.cli._app import Criterion, CriterionOption, console, user_errors
from ipcsim.present.report import (
    CALIBRATION_KINDS,
    DEFAULT_COST_LINES,
    EXPERIMENT_KINDS,
    PLAN_KINDS,
    RUN_KINDS,
    PlotOptions,
    ReportError,
    build_calibration_figures,
    build_figures,
    is_calibration,
    read_calibration_folder,
    read_folder,
    recorded_options,
    save_figures,
    write_calibration_report,
    write_report,
)

__all__ = [
    "PLOT_OPTIONS",
    "given_options",
    "parse_options",
    "register",
    "remembered_options",
    "report_options",
]


class ImageFormat(StrEnum):
    """Image format of saved or embedded figures."""

    png = "png"
    svg = "svg"


def _number(text: str, option: str, whole: str) -> float:
    return parse_number(text, option, whole)


def parse_options(
    *,
    targets: list[str] | None = None,
    trajectory: str | None = None,
    factor: str | None = None,
    kpis: list[str] | None = None,
    scenario: str | None = None,
    cost_lines: list[str] | None = None,
    no_cost_lines: bool = False,
    criterion: str = "mean",
) -> PlotOptions:
    """Turn command-line strings into :class:`ipcsim.report.PlotOptions`.

    Parameters
    ----------
    targets
        ``KPI<=VALUE`` (lower is better), ``KPI>=VALUE`` (higher is better) or ``KPI=VALUE``
        (direction guessed from the KPI name); values in the KPI's stored unit.
    trajectory
        ``START:END``, plans a year at the start and the end of the run.
    factor, kpis, scenario, criterion
        Passed through.
    cost_lines
        ``LABEL=GBP`` reference lines for the cost figure (replace the defaults).
    no_cost_lines
        Draw no reference lines on the cost figure.

    Raises
    ------
    ReportError, ConfigError
        One line naming the option and the value, for a malformed value (targets are read by
        :func:`ipcsim.analysis.targets.parse_target`, as ``ipcsim experiment --target`` reads
        them).
    """
    parsed_targets: dict[str, float] = {}
    directions: dict[str, str] = {}
    for text in targets or []:
        target = parse_target(text)
        parsed_targets[target.kpi] = target.value
        if "<=" in text or ">=" in text:
            directions[target.kpi] = target.direction
    span = None
    if trajectory is not None:
        parts = trajectory.split(":")
        if len(parts) != 2:
            raise ReportError(
                f"--trajectory {trajectory}: expected START:END plans a year, e.g. 50:5000"
            )
        span = (
            _number(parts[0], "--trajectory", trajectory),
            _number(parts[1], "--trajectory", trajectory),
        )
    lines: dict[str, float] = dict(DEFAULT_COST_LINES)
    if cost_lines:
        lines = {}
        for text in cost_lines:
            label, sep, value = text.rpartition("=")
            if not sep or not label.strip():
                raise ReportError(f"--cost-line {text}: expected LABEL=GBP, e.g. 'Break-even=160'")
            lines[label.strip()] = _number(value, "--cost-line", text)
    if no_cost_lines:
        lines = {}
    if criterion not in ("mean", "ci"):
        raise ReportError(f"--criterion {criterion}: expected mean or ci")
    return PlotOptions(
        targets=parsed_targets,
        directions=directions,  # type: ignore[arg-type]
        trajectory=span,
        factor=factor,
        kpis=kpis or None,
        cost_lines=lines,
        scenario=scenario,
        criterion=criterion,  # type: ignore[arg-type]
    )


TargetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--target",
        help="Target of a KPI: KPI<=VALUE (lower is better), KPI>=VALUE or KPI=VALUE, in the "
        "KPI's unit (fractions for utilisation). Repeatable.",
    ),
]
TrajectoryOption = Annotated[
    str | None,
    typer.Option(help="Target trajectory START:END, plans signed off a year, rising linearly."),
]
FactorOption = Annotated[
    str | None,
    typer.Option(
        help="Experiment factor (dotted key) for the what-if x axis "
        "(default: the one with most levels)."
    ),
]
KpiOption = Annotated[
    list[str] | None,
    typer.Option("--kpi", help="KPI for the what-if and tornado figures (repeatable)."),
]
ScenarioOption = Annotated[
    str | None, typer.Option(help="Experiment scenario for the fan chart (default: the baseline).")
]
CostLineOption = Annotated[
    list[str] | None,
    typer.Option(
        "--cost-line",
        help="Reference line on the cost figure, LABEL=GBP per person (repeatable; replaces "
        "the evidence-pack lines P65 and P70).",
    ),
]
NoCostLinesOption = Annotated[
    bool, typer.Option("--no-cost-lines", help="No reference lines on the cost figure.")
]
FormatOption = Annotated[ImageFormat, typer.Option("--format", help="png or svg.")]


PLOT_OPTIONS = (
    "target",
    "trajectory",
    "factor",
    "kpi",
    "scenario",
    "cost_line",
    "no_cost_lines",
    "criterion",
)
"""The options ``plot`` and ``report`` share, by parameter name (``--cost-line``: cost_line)."""

_LISTS = frozenset({"target", "kpi", "cost_line"})


def given_options(**values: Any) -> dict[str, Any]:
    """The shared options given on the command line, as plain JSON values (unset ones left out)."""
    given: dict[str, Any] = {}
    for name in PLOT_OPTIONS:
        value = values.get(name)
        if isinstance(value, Criterion):
            value = value.value
        if value is not None and value is not False and value != []:
            given[name] = list(value) if name in _LISTS else value
    return given


def remembered_options(folder: Path) -> dict[str, Any]:
    """The shared options the folder's last ``ipcsim plot`` recorded in ``DIR/plots/plots.json``.

    Values of the wrong type (a hand-edited record) are left out; the rest are read again by
    :func:`parse_options`, which names a bad one.
    """
    kept: dict[str, Any] = {}
    for name, value in recorded_options(folder / "plots").items():
        if name not in PLOT_OPTIONS:
            continue
        if name in _LISTS:
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        else:
            ok = isinstance(value, bool if name == "no_cost_lines" else str)
        if ok:
            kept[name] = value
    return kept


def options_from(given: dict[str, Any]) -> PlotOptions:
    """:class:`PlotOptions` from shared options by parameter name (see :data:`PLOT_OPTIONS`)."""
    return parse_options(
        targets=given.get("target"),
        trajectory=given.get("trajectory"),
        factor=given.get("factor"),
        kpis=given.get("kpi"),
        scenario=given.get("scenario"),
        cost_lines=given.get("cost_line"),
        no_cost_lines=bool(given.get("no_cost_lines", False)),
        criterion=given.get("criterion", "mean"),
    )


def report_options(folder: Path, given: dict[str, Any]) -> tuple[PlotOptions, dict[str, Any]]:
    """The options of ``ipcsim report``: those given, the rest as the folder's last plot.

    Parameters
    ----------
    folder
        The run or experiment folder.
    given
        The shared options given to ``report`` (:func:`given_options`).

    Returns
    -------
    (PlotOptions, dict)
        The options to draw with, and the remembered ones used (to tell the user).
    """
    remembered = {k: v for k, v in remembered_options(folder).items() if k not in given}
    if "cost_line" in given:
        remembered.pop("no_cost_lines", None)
    if "no_cost_lines" in given:
        remembered.pop("cost_line", None)
    return options_from({**remembered, **given}), remembered


def _as_flags(options: dict[str, Any]) -> str:
    """Options as they would be typed: ``--target 'wait<=28' --criterion ci``."""
    words = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            words.append(flag)
            continue
        for item in value if isinstance(value, list) else [value]:
            words.append(f"{flag} {shlex.quote(str(item))}")
    return " ".join(words)


ReportCriterionOption = Annotated[
    Criterion | None,
    typer.Option(
        help="A level meets a target by its mean, or by its whole 95% CI (ci) "
        "(default: as the folder's last plot, else mean)."
    ),
]


def register(app: typer.Typer) -> None:
    """Add the ``plot`` and ``report`` commands to ``app``."""

    @app.command("plot")
    @user_errors
    def plot_command(
        folder: Annotated[
            Path, typer.Argument(help="A run, experiment, plan or calibration folder.")
        ],
        kind: Annotated[
            list[str] | None,
            typer.Option(
                "--kind",
                help=f"Figures to draw (repeatable). Run folders: {', '.join(RUN_KINDS)}; "
                f"experiment folders: {', '.join(EXPERIMENT_KINDS)}; plan folders: "
                f"{', '.join(PLAN_KINDS)}; calibration folders: {', '.join(CALIBRATION_KINDS)} "
                "(default: all).",
            ),
        ] = None,
        image_format: FormatOption = ImageFormat.png,
        out: Annotated[
            Path | None, typer.Option("--out", help="Folder for the figures (default: DIR/plots).")
        ] = None,
        target: TargetOption = None,
        trajectory: TrajectoryOption = None,
        factor: FactorOption = None,
        kpi: KpiOption = None,
        scenario: ScenarioOption = None,
        cost_line: CostLineOption = None,
        no_cost_lines: NoCostLinesOption = False,
        criterion: CriterionOption = Criterion.mean,
    ) -> None:
        """Draw the figures of a run, experiment, plan or calibration folder as PNG or SVG files."""
        given = given_options(
            target=target, trajectory=trajectory, factor=factor, kpi=kpi, scenario=scenario,
            cost_line=cost_line, no_cost_lines=no_cost_lines, criterion=criterion,
        )  # fmt: skip
        if given.get("criterion") == "mean":
            del given["criterion"]  # the default: nothing to remember
        options = options_from(given)
        kinds = [k.strip() for text in kind or [] for k in text.split(",") if k.strip()]
        if is_calibration(folder):
            calibration = read_calibration_folder(folder)
            figures = build_calibration_figures(calibration, kinds=kinds or None)
        else:
            figures = build_figures(read_folder(folder), kinds=kinds or None, options=options)
        if not figures:
            raise ReportError(f"{folder}: nothing to draw for --kind {', '.join(kinds) or 'all'}")
        try:
            paths = save_figures(
                figures, out or folder / "plots", image_format=image_format.value, options=given
            )
        finally:
            for spec in figures:
                spec.figure.clear()
        for path in paths:
            console.print(f"wrote [bold]{path}[/]", highlight=False)

    @app.command("report")
    @user_errors
    def report_command(
        folder: Annotated[
            Path, typer.Argument(help="A run, experiment, plan or calibration folder.")
        ],
        out: Annotated[
            Path | None, typer.Option("--out", help="Report file (default: DIR/report.html).")
        ] = None,
        image_format: FormatOption = ImageFormat.png,
        target: TargetOption = None,
        trajectory: TrajectoryOption = None,
        factor: FactorOption = None,
        kpi: KpiOption = None,
        scenario: ScenarioOption = None,
        cost_line: CostLineOption = None,
        no_cost_lines: NoCostLinesOption = False,
        criterion: ReportCriterionOption = None,
    ) -> None:
        """Write a self-contained HTML report (figures embedded, STRESS-DES items filled).

        Options not given are those of the folder's last ``ipcsim plot`` (recorded in
        DIR/plots/plots.json), so the report shows the figures as plotted. A calibration
        folder's report leads with its diagnostics, then the parameters, then the figures.
        """
        if is_calibration(folder):
            path = write_calibration_report(folder, image_format=image_format.value, out=out)
            console.print(f"Report: [bold]{path}[/]", highlight=False)
            return
        given = given_options(
            target=target, trajectory=trajectory, factor=factor, kpi=kpi, scenario=scenario,
            cost_line=cost_line, no_cost_lines=no_cost_lines, criterion=criterion,
        )  # fmt: skip
        options, remembered = report_options(folder, given)
        path = write_report(folder, options=options, image_format=image_format.value, out=out)
        if remembered:
            console.print(
                f"with the options of the last plot: {_as_flags(remembered)}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
        console.print(f"Report: [bold]{path}[/]", highlight=False)
