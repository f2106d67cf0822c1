"""Figures and a self-contained HTML report for a run, experiment, plan or calibration folder.

Data flow::

    DIR -> read_folder(DIR) -> RunFolder | ExperimentFolder | PlanFolder   (folders.py)
        -> build_figures(folder, kinds, options) -> [FigureSpec]      (figures.py)
        -> save_figures(...)                     -> DIR/plots/*.png|svg     (ipcsim plot)
                                                   + DIR/plots/plots.json: files, options
        -> render_report(folder, options)        -> HTML text         (html.py, stress.py)
        -> write_report(DIR)                     -> DIR/report.html         (ipcsim report)

The report is one file: styles inline, images embedded as base64 PNG or SVG, no scripts and
no external requests, so it can be e-mailed or attached to board papers. It holds the
question, headline KPIs (with 95 % CIs for experiments), a table of key parameters with the
evidence IDs from the schema's field descriptions (parameters.py), the figures, and the
STRESS-DES items (Monks et al. 2019) filled from the config and manifest; items a person must
still write are marked "TO WRITE" and listed at the top. Its layout, fixed wording and styles
are the Jinja2 templates and ``report.css`` in ``templates/`` (templating.py reads them).

A calibration folder has its own reader, figures and page (calibration.py).
"""

from ipcsim.present.report.calibration import (
    CALIBRATION_KINDS,
    CalibrationFolder,
    build_calibration_figures,
    is_calibration,
    read_calibration_folder,
    render_calibration_report,
    write_calibration_report,
)
from ipcsim.present.report.figures import (
    DEFAULT_COST_LINES,
    EXPERIMENT_KINDS,
    RUN_KINDS,
    FigureSpec,
    PlotOptions,
    build_figures,
    recorded_options,
    save_figures,
)
from ipcsim.present.report.folders import (
    ExperimentFolder,
    PlanFolder,
    ReportError,
    RunFolder,
    read_experiment_outputs,
    read_folder,
    replication_timeseries,
)
from ipcsim.present.report.html import render_report, write_report
from ipcsim.present.report.parameters import evidence_ids, parameter_rows
from ipcsim.present.report.plan_report import PLAN_KINDS
from ipcsim.present.report.stress import PROJECT_QUESTION, stress_items

__all__ = [
    "CALIBRATION_KINDS",
    "CalibrationFolder",
    "build_calibration_figures",
    "is_calibration",
    "read_calibration_folder",
    "render_calibration_report",
    "write_calibration_report",
    "DEFAULT_COST_LINES",
    "EXPERIMENT_KINDS",
    "ExperimentFolder",
    "FigureSpec",
    "PLAN_KINDS",
    "PROJECT_QUESTION",
    "PlanFolder",
    "PlotOptions",
    "RUN_KINDS",
    "ReportError",
    "RunFolder",
    "build_figures",
    "evidence_ids",
    "parameter_rows",
    "read_experiment_outputs",
    "read_folder",
    "recorded_options",
    "render_report",
    "replication_timeseries",
    "save_figures",
    "stress_items",
    "write_report",
]
