"""``ipcsim plan``: bad specs refused in one line (exit 2); the shipped example runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ipcsim.cli.main import app
from ipcsim.cli.plan import NOT_MET_EXIT
from ipcsim.experiment.planning import load_plan_spec, prepare_plan
from tests.experiment.planning_cases import queue_scenario, write_case

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "experiments" / "demonstrator_staffing" / "plan.toml"

GOOD = """
base = "queue.toml"
targets = ["share_seen_within_0.01w >= 0.95"]
cost = "headcount"

[roles.planner]
low = 3
high = 7

[replications]
initial = 2
step = 2
max = 4
final = 4
"""


def _plan(*args: str) -> object:
    return CliRunner().invoke(app, ["plan", *args], catch_exceptions=False)


def _case(tmp_path: Path, text: str) -> Path:
    scenario = queue_scenario(arrivals_per_hour=4.0, horizon_days=4, seed=3)
    return write_case(tmp_path, scenario, text)


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ('base = "queue.toml"', 'base = "absent.toml"', "base: "),
        ("low = 3", "low = 9", "roles.planner: need low < high, got low = 9, high = 7"),
        ("[roles.planner]", "[roles.planer]", "roles.planer: not a role of the base"),
        ("high = 7", "high = 7\nstep = 0.5", "step: a headcount must be whole"),
        (
            '"share_seen_within_0.01w >= 0.95"',
            '"share_seen_within_0.01w >= lots"',
            "'lots' is not a number",
        ),
        (
            '"share_seen_within_0.01w >= 0.95"',
            '"share_seen_within_8w >= 0.95"',
            "targets.0: unknown KPI, got 'share_seen_within_8w'",
        ),
        (
            '"share_seen_within_0.01w >= 0.95"',
            '"share_seen_within_0.01w >= 0.95 in 90% of replications"',
            "replications.max: 4 replications cannot show targets.0",
        ),
        ('cost = "headcount"', 'cost = "pounds"', "cost"),
        ("final = 4", "final = 3", "final (3) must be >= max (4)"),
        ("initial = 2", "inital = 2", "replications.inital"),
    ],
)
def test_a_bad_plan_spec_gives_one_line_naming_the_key_and_exit_2(
    tmp_path: Path, old: str, new: str, match: str
) -> None:
    assert old in GOOD
    path = _case(tmp_path, GOOD.replace(old, new))
    result = _plan(str(path), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    err = result.stderr
    assert match in err, err
    assert str(path) in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


def test_a_bad_target_option_is_refused_in_one_line(tmp_path: Path) -> None:
    path = _case(tmp_path, GOOD)
    result = _plan(str(path), "--target", "nonsense", "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "nonsense: expected KPI<=VALUE" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_plan_prints_the_recommendation_first_then_the_frontier(tmp_path: Path) -> None:
    path = _case(tmp_path, GOOD)
    out = tmp_path / "out"
    result = _plan(str(path), "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Recommendation: planner = ")
    assert "share_seen_within_0.01w >= 0.95 (mean, 95% confidence)" in lines[1]
    assert "Frontier:" in result.stdout
    assert {p.name for p in out.iterdir()} == {
        "frontier.parquet",
        "recommendation.json",
        "plan.toml",
        "manifest.json",
        "plan_state.json",
        "cells",
    }
    # plan.toml runs with `ipcsim run`.
    ran = CliRunner().invoke(app, ["run", str(out / "plan.toml"), "--out", str(tmp_path / "run")])
    assert ran.exit_code == 0, ran.output


def test_the_shipped_example_validates_and_runs_short(tmp_path: Path) -> None:
    result = _plan(
        str(EXAMPLE),
        "--out",
        str(tmp_path / "out"),
        "--quiet",
        "--set",
        "run.horizon_days=120",
        "--set",
        "roles.planner.high=3",
        "--set",
        "roles.finance_officer.high=2",
        "--set",
        "replications.initial=2",
        "--set",
        "replications.step=1",
        "--set",
        "replications.max=2",
        "--set",
        "replications.final=2",
    )
    # Four months of the growing service, at most 3 planners and 2 finance officers: whether
    # they meet the targets or not, the plan says which, with the matching exit status.
    assert result.exit_code in (0, NOT_MET_EXIT), result.output
    first = result.stdout.splitlines()[1]  # after the question
    if result.exit_code == 0:
        assert first.startswith("Recommendation: "), first
    else:
        assert first.startswith("No staffing within the ranges meets every target."), first
    assert (tmp_path / "out" / "plan.toml").is_file()


def test_the_shipped_ics_staffing_plan_validates() -> None:
    """experiments/ics_staffing_plan (minutes to run: its answer is in its README)."""
    path = ROOT / "experiments" / "ics_staffing_plan" / "plan.toml"
    problem = prepare_plan(load_plan_spec(path), spec_path=path)
    assert problem.spec.over_time is not None and problem.spec.over_time.period_months == 6
    for role in ("planner", "finance_officer"):  # the planner writes their changes
        assert problem.base.workforce[role].changes == ()
    assert problem.base.workforce["admin"].changes  # the scale-up's own
    assert (path.parent / "README.md").is_file()
