"""Figures and the HTML report of a calibration folder (``ipcsim calibrate``).

Data flow::

    DIR -> read_calibration_folder(DIR) -> CalibrationFolder          (a finished calibration)
        -> build_calibration_figures(folder, kinds) -> [FigureSpec]  (ipcsim plot DIR)
        -> render_calibration_report(folder)        -> HTML text      (ipcsim report DIR)

The report leads with the diagnostics in words (observed points outside the posterior
predictive band, parameters the data cannot identify, the effective sample size, a sequence
that stopped early), then the parameter table (median, 90 % credible interval, prior, and the
true value for synthetic data), then the figures. It is one self-contained page made from the
same templates and style sheet as a run's report (``templates/calibration.html.j2``).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from ipcsim.errors import OutputError
from ipcsim.io import calibration_folder
from ipcsim.io.files import read_json
from ipcsim.present.calibration_plots import (
    plot_marginal_posterior,
    plot_observed_vs_simulated,
    series_label,
)
from ipcsim.present.report import templating
from ipcsim.present.report.figures import FigureSpec, figure_data_uri
from ipcsim.present.report.folders import ReportError
from ipcsim.present.style import new_axes

__all__ = [
    "CALIBRATION_KINDS",
    "CalibrationFolder",
    "build_calibration_figures",
    "is_calibration",
    "read_calibration_folder",
    "render_calibration_report",
    "write_calibration_report",
]

CALIBRATION_KINDS = ("observed", "posterior")
"""Figures of a calibration folder: observed against simulated per series, marginal
posteriors against the priors."""


@dataclass(frozen=True)
class CalibrationFolder:
    """A finished calibration folder read back."""

    path: Path
    posterior: pd.DataFrame
    predictive: pd.DataFrame
    summary: Mapping[str, Any]
    manifest: Mapping[str, Any]
    kind: Literal["calibration"] = "calibration"


def is_calibration(path: str | Path) -> bool:
    """Whether ``path`` is a calibration's folder, finished or not."""
    return calibration_folder.folder_state(Path(path)) in ("finished", "unfinished")


def read_calibration_folder(path: str | Path) -> CalibrationFolder:
    """Read a finished calibration folder.

    Raises
    ------
    ReportError
        The folder is an unfinished calibration (resume it first) or no calibration.
    OutputError
        A file is missing or unreadable.
    """
    folder = Path(path)
    state = calibration_folder.folder_state(folder)
    if state == "unfinished":
        raise ReportError(
            f"{folder}: an unfinished calibration (no manifest.json): finish it with "
            "`ipcsim calibrate SPEC --out DIR --resume` first"
        )
    if state != "finished":
        raise ReportError(f"{folder}: not a calibration folder")
    posterior, predictive, summary = calibration_folder.read_calibration_outputs(folder)
    for name, frame, columns in (
        ("posterior", posterior, ("weight",)),
        ("predictive", predictive, ("series", "site", "period", "observed", "outside_band")),
    ):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise OutputError(f"{folder / (name + '.parquet')}: lacks column(s) {missing}")
    return CalibrationFolder(
        folder, posterior, predictive, summary, read_json(folder / "manifest.json")
    )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def build_calibration_figures(
    folder: CalibrationFolder, *, kinds: Sequence[str] | None = None
) -> list[FigureSpec]:
    """The folder's figures: one per observed series (and site), one per parameter.

    Parameters
    ----------
    folder
        From :func:`read_calibration_folder`.
    kinds
        Any of :data:`CALIBRATION_KINDS` (default: both).

    Raises
    ------
    ReportError
        An unknown kind.
    """
    chosen = list(kinds) if kinds else list(CALIBRATION_KINDS)
    unknown = [k for k in chosen if k not in CALIBRATION_KINDS]
    if unknown:
        raise ReportError(
            f"--kind {', '.join(unknown)}: not a figure of a calibration folder "
            f"(kinds: {', '.join(CALIBRATION_KINDS)})"
        )
    figures: list[FigureSpec] = []
    predictive = folder.predictive
    if "observed" in chosen:
        pairs = predictive[["series", "site"]].astype(str).drop_duplicates()
        several = pairs.groupby("series")["site"].nunique()
        for series, site in pairs.itertuples(index=False):
            ax = new_axes()
            plot_observed_vs_simulated(predictive, series=series, site=site, ax=ax)
            rows = predictive[
                (predictive["series"].astype(str) == series)
                & (predictive["site"].astype(str) == site)
            ]
            outside = int(rows["outside_band"].sum())
            where = f" at {site}" if several[series] > 1 else ""
            figures.append(
                FigureSpec(
                    name=_slug(f"observed-{series}" + (f"-{site}" if several[series] > 1 else "")),
                    kind="observed",
                    title=f"{series_label(series)}{where}: observed and simulated",
                    caption=f"Observed {series_label(series).lower()}{where} (points) against "
                    "the median (line) and 90 % band (5th to 95th percentile) of runs from "
                    f"the posterior; {outside} of {len(rows)} points lie outside the band"
                    + (" (ringed)." if outside else "."),
                    figure=ax.figure,  # type: ignore[arg-type]
                )
            )
    if "posterior" in chosen:
        parameters = folder.summary.get("parameters", {})
        for number, (key, parameter) in enumerate(parameters.items(), start=1):
            if key not in folder.posterior.columns:
                continue
            ax = new_axes()
            plot_marginal_posterior(folder.posterior, key=key, parameter=parameter, ax=ax)
            truth = parameter.get("true_value")
            figures.append(
                FigureSpec(
                    name=f"posterior-{number}-{_slug(key)}",
                    kind="posterior",
                    title=f"{key}: posterior against prior",
                    caption=f"Weighted posterior of {key} (bars) against its {parameter['prior']} "
                    f"prior (dashed), with the median and 90 % credible interval (shaded)"
                    + (f"; the dotted line is the true value, {truth:.4g}" if truth else "")
                    + ".",
                    figure=ax.figure,  # type: ignore[arg-type]
                )
            )
    return figures


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{float(value):.4g}"


def _parameter_rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, p in summary.get("parameters", {}).items():
        truth = p.get("true_value")
        rows.append(
            {
                "key": key,
                "median": _number(p["median"]),
                "interval": f"{_number(p['ci90_low'])} to {_number(p['ci90_high'])}",
                "prior": f"{p['prior']} {_number(p['low'])} to {_number(p['high'])}",
                "sd_ratio": f"{float(p['sd_ratio']):.0%}",
                "identified": bool(p["identified"]),
                "truth": None
                if truth is None
                else f"{_number(truth)} ({'inside' if p.get('truth_in_ci90') else 'OUTSIDE'})",
            }
        )
    return rows


def render_calibration_report(
    folder: CalibrationFolder,
    *,
    image_format: Literal["png", "svg"] = "png",
    created: dt.datetime | None = None,
) -> str:
    """The report of a calibration folder as one self-contained HTML page."""
    summary = folder.summary
    figures = build_calibration_figures(folder)
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
        for figure in figures:
            figure.figure.clear()
    diagnostics = list(summary.get("diagnostics", []))
    failed = [d for d in diagnostics if d.get("kind") != "ok"]
    predictive = summary.get("predictive", {})
    rows = _parameter_rows(summary)
    cards = [
        (
            "observed points outside the 90 % band",
            f"{predictive.get('outside', 0)} of {predictive.get('points', 0)}",
            "about 10 % expected by chance",
        ),
        (
            "parameters the data cannot identify",
            str(sum(not r["identified"] for r in rows)),
            f"of {len(rows)}",
        ),
        (
            "effective sample size",
            f"{float(summary.get('effective_sample_size', 0)):.0f}",
            f"of {summary.get('population', '?')} particles",
        ),
        (
            "acceptance rate, last generation",
            f"{float(summary.get('acceptance_rate', 0)):.1%}",
            f"{summary.get('simulations', 0):,} simulations",
        ),
    ]
    manifest = folder.manifest
    name = str(manifest.get("calibration") or folder.path.name)
    recorded = manifest.get("spec")
    spec: Mapping[str, Any] = recorded if isinstance(recorded, Mapping) else {}
    badges = [
        "Calibration (ABC-SMC)",
        f"{len(rows)} parameters",
        f"{predictive.get('points', 0)} observed points by {summary.get('period', 'period')}",
        f"seed {manifest.get('seed')}" if manifest.get("seed") is not None else "",
        f"ipcsim {manifest.get('ipcsim_version', '')}",
    ]
    return templating.render(
        "calibration.html.j2",
        css=templating.css(),
        name=name,
        description=str(spec.get("description") or ""),
        badges=[b for b in badges if b],
        question=str(summary.get("question") or ""),
        failed=failed,
        diagnostics=diagnostics,
        cards=cards,
        stop_reason=str(summary.get("stop_reason", "")),
        method=str(summary.get("method", "")),
        parameters=rows,
        has_truth=any(r["truth"] is not None for r in rows),
        generations=summary.get("generations", []),
        figures=shown,
        folder=str(folder.path),
        created=(created or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
        config_hash=manifest.get("config_hash", "not recorded"),
    )


def write_calibration_report(
    path: str | Path,
    *,
    image_format: Literal["png", "svg"] = "png",
    out: str | Path | None = None,
) -> Path:
    """Write ``report.html`` for a calibration folder, atomically.

    Raises
    ------
    ReportError, OutputError
        When the folder cannot be read or the report cannot be written.
    """
    folder = read_calibration_folder(path)
    text = render_calibration_report(folder, image_format=image_format)
    target = Path(out) if out is not None else folder.path / "report.html"
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {target}: {e.strerror or e}") from e
    return target
