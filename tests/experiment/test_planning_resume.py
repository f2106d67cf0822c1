"""Plans resume: a plan stopped part way ends, with --resume, in the files of an uninterrupted run.

The case is the CLI tests' small M/M/c stage (planners 3 to 7, 95 % seen within 0.01 weeks),
a plan of a few seconds; its folder is also drawn and reported (`ipcsim plot`, `ipcsim report`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ipcsim.cli.main import app
from ipcsim.errors import OutputError
from ipcsim.experiment.planning import Evaluation, load_plan_spec, prepare_plan, run_plan
from ipcsim.io.plan_folder import OUTPUTS, prepare_plan_folder
from ipcsim.present.report import read_folder
from tests.cli.test_plan_cli import GOOD
from tests.experiment.planning_cases import queue_scenario, write_case

RESULTS = ("frontier.parquet", "recommendation.json", "plan.toml")


class _Stop(Exception):
    """Raised by the progress hook: the plan is killed part way."""


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The spec, and its plan run once without interruption."""
    folder = tmp_path_factory.mktemp("resume")
    path = write_case(folder, queue_scenario(arrivals_per_hour=4.0, horizon_days=4, seed=3), GOOD)
    out = folder / "whole"
    run_plan(prepare_plan(load_plan_spec(path), spec_path=path), out)
    return path, out


def test_a_plan_killed_part_way_resumes_to_the_same_files(
    case: tuple[Path, Path], tmp_path: Path
) -> None:
    path, whole = case
    problem = prepare_plan(load_plan_spec(path), spec_path=path)
    out = tmp_path / "stopped"
    judged: list[Evaluation] = []

    def stop_after_two(evaluation: Evaluation, simulated: int) -> None:
        judged.append(evaluation)
        if len(judged) == 2:
            raise _Stop

    with pytest.raises(_Stop):
        run_plan(problem, out, progress=stop_after_two)
    # Killed: the replications it finished are kept, and nothing looks like a result.
    assert not any((out / name).exists() for name in OUTPUTS)
    saved = list((out / "cells").glob("*/rep-*.json"))
    assert len(saved) >= judged[0].replications
    with pytest.raises(OutputError, match="not a finished plan folder"):
        read_folder(out)
    resumed = run_plan(problem, out, resume=True)
    assert resumed.reused == len(saved)
    for name in RESULTS:
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name
    assert json.loads((out / "manifest.json").read_text())["replications_reused"] > 0
    # Resumed again once finished: nothing left to simulate, the same files again.
    again = run_plan(problem, out, resume=True)
    assert again.reused == again.replications
    for name in RESULTS:
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name


def test_resume_refuses_a_folder_of_another_spec_and_a_non_plan_folder(
    case: tuple[Path, Path], tmp_path: Path
) -> None:
    path, whole = case
    changed = load_plan_spec(path, ["roles.planner.high=6"])
    problem = prepare_plan(changed, spec_path=path)
    with pytest.raises(OutputError, match="the plan spec .* changed since this plan was started"):
        run_plan(problem, whole, resume=True)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="not empty and not a plan's folder"):
        prepare_plan_folder(other, resume=True)
    assert (other / "notes.txt").read_text() == "mine"


def test_plot_and_report_of_a_plan_folder_lead_with_the_recommendation(
    case: tuple[Path, Path],
) -> None:
    _, whole = case
    runner = CliRunner()
    plotted = runner.invoke(app, ["plot", str(whole)])
    assert plotted.exit_code == 0, plotted.output
    assert (whole / "plots" / "frontier.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (whole / "plots" / "staffing.png").exists()  # a constant plan has no plan over time
    refused = runner.invoke(app, ["plot", str(whole), "--kind", "staffing"])
    assert refused.exit_code == 2
    assert "--kind staffing: nothing to draw (a plan of one constant staffing" in refused.stderr
    reported = runner.invoke(app, ["report", str(whole)])
    assert reported.exit_code == 0, reported.output
    html = (whole / "report.html").read_text()
    answer = json.loads((whole / "recommendation.json").read_text())
    levels = ", ".join(f"{k} = {v}" for k, v in answer["configuration"].items())
    order = [
        html.index(f"Recommended: {levels}</b>"),
        html.index("Cheaper neighbours, and why they fail"),
        html.index('id="fig-frontier"'),
        html.index('id="frontier"'),
        html.index('id="parameters"'),
    ]
    assert order == sorted(order)
    assert "<script" not in html and 'src="http' not in html
