"""What the figures say beyond the data (issue 18 item 7): stars and notes only with a target,
the fan chart named by scenario with its demand and target, a legend clear of the data, and a
report drawn with the options of the folder's last ``ipcsim plot``.

Experiment folders are the synthetic ones of ``make_experiment_folder`` (tests/present/
test_report.py; no simulation), so these tests take about a second.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from typer.testing import CliRunner

from ipcsim.cli.main import app
from ipcsim.cli.plot import remembered_options, report_options
from ipcsim.present import experiment_plots
from ipcsim.present.report import PlotOptions, build_figures, read_folder
from tests.present.test_report import FACTOR, KPIS, make_experiment_folder

WAIT = KPIS[0]
PLANS = "plans_signed_off_per_year"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An experiment folder whose scenarios have names in words, as ``ipcsim experiment``'s."""
    path = make_experiment_folder(tmp_path_factory.mktemp("exp") / "e", second_factor=False)
    scenarios = pd.read_parquet(path / "scenarios.parquet")
    scenarios["label"] = [f"{h} planners" for h in scenarios[FACTOR]]
    scenarios.to_parquet(path / "scenarios.parquet", index=False)
    return path


def _gids(ax: Axes) -> list[str]:
    return [str(a.get_gid()) for a in ax.get_children() if a.get_gid()]


def _texts(ax: Axes) -> str:
    return " ".join(t.get_text() for t in ax.texts)


def _figure(folder: Path, kind: str, **options: Any) -> Any:
    (spec,) = [
        s
        for s in build_figures(read_folder(folder), kinds=[kind], options=PlotOptions(**options))
        if kind != "capacity" or s.name == f"capacity-{WAIT}"
    ]
    return spec


def test_no_star_and_no_star_note_without_a_target(folder: Path) -> None:
    summary = pd.read_parquet(folder / "summary.parquet")
    criterion: Literal["mean", "ci"]
    for criterion in ("mean", "ci"):
        ax = experiment_plots.plot_capacity_whatif(
            summary, kpi=WAIT, factor=FACTOR, criterion=criterion
        )
        assert not any(g.startswith("smallest-level") for g in _gids(ax))
        assert "Star" not in _texts(ax)
    spec = _figure(folder, "capacity", criterion="ci")
    assert "star" not in spec.caption.lower() and "No target given" in spec.caption


def test_a_target_nothing_meets_draws_no_star_and_says_so(folder: Path) -> None:
    spec = _figure(folder, "capacity", targets={WAIT: 0.5}, criterion="ci")
    ax = spec.figure.axes[0]
    assert "target" in _gids(ax)
    assert not any(g.startswith("smallest-level") for g in _gids(ax))
    assert "Star" not in _texts(ax)
    assert "star" not in spec.caption.lower() and "no level's whole 95% CI" in spec.caption
    met = _figure(folder, "capacity", targets={WAIT: 20.0})
    assert "star: the smallest level whose mean" in met.caption


def test_fan_chart_is_named_by_scenario_with_demand_and_target(folder: Path) -> None:
    spec = _figure(folder, "fan", targets={PLANS: 120.0})
    ax = spec.figure.axes[0]
    assert "2 planners (baseline)" in ax.get_title(loc="left")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("2 planners (baseline): median") for t in legend)
    assert not any("planners-2" in t for t in [ax.get_title(loc="left"), *legend])
    (target,) = [a for a in ax.get_children() if a.get_gid() == "target"]
    assert np.allclose(target.get_ydata(), 30.0)  # 120 a year, a quarter each quarter
    (demand,) = [a for a in ax.get_children() if a.get_gid() == "demand"]
    runs = sorted((folder / "runs" / "planners-2").glob("rep-*/timeseries.parquet"))
    referrals = np.array([pd.read_parquet(p)["referrals"].to_numpy() for p in runs])
    quarters = referrals.reshape(len(runs), -1, 3).sum(axis=2)
    assert np.allclose(demand.get_ydata(), np.median(quarters, axis=0))
    assert "No target" not in spec.caption


def test_fan_chart_takes_the_experiments_own_target(tmp_path: Path) -> None:
    stored = {"targets": {PLANS: {"value": 80.0, "direction": "higher"}}}
    path = make_experiment_folder(tmp_path / "e", second_factor=False, manifest_extra=stored)
    ax = _figure(path, "fan").figure.axes[0]
    (target,) = [a for a in ax.get_children() if a.get_gid() == "target"]
    assert np.allclose(target.get_ydata(), 20.0)


def test_fan_chart_legend_lies_outside_the_data(folder: Path) -> None:
    figure = _figure(folder, "fan", targets={PLANS: 120.0}).figure
    figure.canvas.draw()
    ax = figure.axes[0]
    legend = ax.get_legend().get_window_extent()
    plot_area = ax.get_window_extent()
    assert legend.x0 >= plot_area.x1 - 1, (legend, plot_area)  # right of the plotting area
    assert legend.x1 <= figure.bbox.x1 + 1  # and on the figure


def test_report_draws_with_the_options_of_the_last_plot(folder: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    plotted = runner.invoke(
        app, ["plot", str(folder), "--kind", "capacity", "--target", f"{WAIT}<=20",
              "--kpi", WAIT, "--criterion", "ci"],
    )  # fmt: skip
    assert plotted.exit_code == 0, plotted.output
    record = json.loads((folder / "plots" / "plots.json").read_text())
    assert record["options"] == {"target": [f"{WAIT}<=20"], "kpi": [WAIT], "criterion": "ci"}
    out = tmp_path / "report.html"
    reported = runner.invoke(app, ["report", str(folder), "--out", str(out)])
    assert reported.exit_code == 0, reported.output
    remembered = f"--target '{WAIT}<=20' --kpi {WAIT} --criterion ci"
    assert f"with the options of the last plot: {remembered}" in reported.stdout
    html = out.read_text()
    assert "star: the smallest level whose whole 95% CI is at or below it" in html
    # an option given to report wins over the remembered one; the others are still used
    options, used = report_options(folder, {"criterion": "mean"})
    assert used == {"target": [f"{WAIT}<=20"], "kpi": [WAIT]}
    assert options.criterion == "mean" and options.targets == {WAIT: 20.0}
    assert options.kpis == [WAIT]
    # a hand-edited record with a wrong type is left out, not a traceback
    record["options"]["kpi"] = WAIT
    (folder / "plots" / "plots.json").write_text(json.dumps(record))
    assert "kpi" not in remembered_options(folder)
