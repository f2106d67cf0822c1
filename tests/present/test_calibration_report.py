"""Figures and the HTML report of a calibration folder (``ipcsim plot`` / ``ipcsim report``).

They read the session's small calibration (``tests/conftest.py``), written once.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ipcsim.cli.main import app
from ipcsim.present.calibration_plots import prior_density
from ipcsim.present.report import (
    ReportError,
    build_calibration_figures,
    read_calibration_folder,
    read_folder,
)
from tests.calibration_small import SmallCalibration

RATE = "cohorts.ltc.referrals_per_month"
COST = "workforce.planner.hourly_cost_gbp"


def _artists(figure: object, gid: str) -> list:
    return [a for a in figure.findobj() if a.get_gid() == gid]  # type: ignore[attr-defined]


def test_figures_draw_the_folders_numbers(small_calibration: SmallCalibration) -> None:
    folder = read_calibration_folder(small_calibration.out)
    figures = build_calibration_figures(folder)
    try:
        assert [f.name for f in figures] == [
            "observed-referrals",
            f"posterior-1-{RATE.replace('.', '-').replace('_', '-')}",
            f"posterior-2-{COST.replace('.', '-').replace('_', '-')}",
        ]
        observed = figures[0].figure
        (points,) = _artists(observed, "observed")
        expected = folder.predictive["observed"].to_numpy(dtype=float)
        assert points.get_offsets()[:, 1].tolist() == expected.tolist()
        assert len(_artists(observed, "outside")) == int(folder.predictive["outside_band"].any())
        (band,) = _artists(observed, "band")
        row = folder.predictive.iloc[0]
        assert band.get_y() == pytest.approx(row["simulated_p05"])
        assert band.get_height() == pytest.approx(row["simulated_p95"] - row["simulated_p05"])
        rate, cost = figures[1].figure, figures[2].figure
        (truth,) = _artists(rate, "truth")
        assert truth.get_xdata()[0] == 30.0
        # The posterior histogram is a density over the prior's range: its bars integrate to 1.
        bars = _artists(rate, "posterior")
        area = sum(b.get_width() * b.get_height() for b in bars)
        assert area == pytest.approx(1.0)
        (prior,) = _artists(cost, "prior")
        parameter = folder.summary["parameters"][COST]
        assert prior.get_ydata()[0] == pytest.approx(1 / np.log(60 / 15))
        assert prior_density(parameter, np.array([10.0, 30.0]))[0] == 0.0
        assert "NOT identified" in cost.axes[0].get_title(loc="left")
    finally:
        for spec in figures:
            spec.figure.clear()


def test_plot_and_report_commands_on_a_calibration_folder(
    small_calibration: SmallCalibration, tmp_path: Path
) -> None:
    runner = CliRunner()
    plots = tmp_path / "plots"
    done = runner.invoke(
        app, ["plot", str(small_calibration.out), "--out", str(plots), "--kind", "observed"]
    )
    assert done.exit_code == 0, done.output
    assert [p.name for p in plots.glob("*.png")] == ["observed-referrals.png"]
    done = runner.invoke(app, ["plot", str(small_calibration.out), "--kind", "fan"])
    assert done.exit_code == 2 and "not a figure of a calibration folder" in done.stderr
    report = tmp_path / "report.html"
    command = ["report", str(small_calibration.out), "--out", str(report), "--format", "svg"]
    done = runner.invoke(app, command)
    assert done.exit_code == 0, done.output
    html = report.read_text(encoding="utf-8")
    # Diagnostics in words first, then the parameter table, then the figures.
    diagnostics = html.index("Did the calibration work?")
    unidentified = html.index(f"{COST}: the data cannot identify it")
    table = html.index("Parameters: posterior against prior")
    figures = html.index('id="figures"')
    assert diagnostics < unidentified < table < figures
    assert "observed points outside the 90 % band" in html and "effective sample size" in html
    assert "30 (inside)" in html  # the true referral rate, in its interval
    assert html.count('<img src="data:image/svg+xml;base64,') == 3 and "<script" not in html


def test_an_unfinished_calibration_is_neither_plotted_nor_reported(
    small_calibration: SmallCalibration, tmp_path: Path
) -> None:
    cut = tmp_path / "cut"
    shutil.copytree(small_calibration.out, cut)
    (cut / "manifest.json").unlink()
    for command in ("plot", "report"):
        done = CliRunner().invoke(app, [command, str(cut)])
        assert done.exit_code == 2, done.output
        assert "unfinished calibration" in done.stderr and "--resume" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    with pytest.raises(ReportError, match="a calibration folder, not a run"):
        read_folder(small_calibration.out)
