"""Sign-off arrangements as decision alternatives of a plan (``[alternatives]``).

A queue whose sign-off is a monthly panel by default: one exponential planner session, then
sign-off. A monthly panel makes people wait about a month for sign-off whatever the staffing,
so a target of a 14-day 90th percentile from referral to sign-off is met only by a weekly
panel or individual sign-off (zero delay): the alternative decides the answer.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ipcsim.cli.main import app
from ipcsim.experiment.planning import load_plan_spec, prepare_plan, run_plan
from tests.experiment.planning_cases import queue_scenario, write_case

PLAN = """
base = "queue.toml"
targets = ["wait_referral_to_sign_off_p90 <= 14"]

[roles.planner]
low = 1
high = 2

[replications]
initial = 2
step = 2
max = 4
final = 4

[alternatives.monthly_panel]                 # the base's own sign-off
extra_cost_per_year = 0

[alternatives.weekly_panel]
set = { "signoff.panel.cadence" = "weekly" }
extra_cost_per_year = 6000

[alternatives.individual]
set = { "signoff.mode" = "individual" }
extra_cost_per_year = 2000
"""


def _case(folder: Path, plan: str = PLAN) -> Path:
    scenario = queue_scenario(arrivals_per_hour=0.3, horizon_days=45, seed=3)
    scenario["signoff"] |= {"mode": "panel", "panel": {"cadence": "monthly"}}
    return write_case(folder, scenario, plan)


def _plan(*args: str) -> object:
    return CliRunner().invoke(app, ["plan", *args], catch_exceptions=False)


def test_the_alternative_decides_and_the_monthly_panel_is_reported_infeasible(
    tmp_path: Path,
) -> None:
    path = _case(tmp_path)
    out = tmp_path / "out"
    result = _plan(str(path), "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    # Weekly panel and individual sign-off both meet it with one planner; individual sign-off
    # costs less (2,000 a year stated against 6,000), so it is the answer.
    assert lines[0].startswith("Recommendation: alternative individual, planner = 1 ("), lines[0]
    assert "stated £2,000" in lines[0]
    listed = {line.split(" (")[0].strip(): line for line in lines if line.startswith("  ")}
    assert "NO staffing within the ranges meets every target" in listed["monthly_panel"]
    assert "missed: wait_referral_to_sign_off_p90 <= 14" in listed["monthly_panel"]
    assert "meets every target" in listed["weekly_panel"]
    assert "meets every target" in listed["individual"]

    answer = json.loads((out / "recommendation.json").read_text())
    assert answer["met"] and answer["alternative"] == "individual"
    assert answer["set"] == {"signoff.mode": "individual"}
    assert answer["cost"] == pytest.approx(answer["staff_cost"] + 2000)
    by_name = {a["alternative"]: a for a in answer["alternatives"]}
    assert list(by_name) == ["monthly_panel", "weekly_panel", "individual"]
    assert not by_name["monthly_panel"]["met"]
    assert "missed" in by_name["monthly_panel"]["why_not"]
    assert by_name["weekly_panel"]["met"] and by_name["individual"]["met"]
    assert by_name["weekly_panel"]["cost"] > by_name["individual"]["cost"]

    frontier = pd.read_parquet(out / "frontier.parquet")
    assert set(frontier["alternative"]) == set(by_name)
    assert (frontier["cost"] == frontier["staff_cost"] + frontier["extra_cost"]).all()
    chosen = frontier[frontier["recommended"]]
    assert list(chosen["alternative"]) == ["individual"]
    assert not frontier[frontier["alternative"] == "monthly_panel"]["feasible"].any()

    # plan.toml carries the chosen alternative's settings and runs with `ipcsim run`.
    scenario = tomllib.loads((out / "plan.toml").read_text())
    assert scenario["signoff"]["mode"] == "individual"
    assert scenario["workforce"]["planner"]["headcount"] == 1
    ran = CliRunner().invoke(app, ["run", str(out / "plan.toml"), "--out", str(tmp_path / "run")])
    assert ran.exit_code == 0, ran.output

    # The report names the answer's alternative and has a row per alternative.
    page = tmp_path / "report.html"
    made = CliRunner().invoke(app, ["report", str(out), "--out", str(page)])
    assert made.exit_code == 0, made.output
    text = page.read_text()
    assert "Recommended: alternative individual: planner = 1" in text
    assert "<td>monthly_panel</td>" in text and "<td>weekly_panel</td>" in text


def test_when_two_alternatives_meet_the_cheaper_total_wins(tmp_path: Path) -> None:
    # Individual sign-off now stated at 9,000 a year: the weekly panel (6,000) is cheaper.
    path = _case(tmp_path)
    spec = load_plan_spec(path, ["alternatives.individual.extra_cost_per_year=9000"])
    result = run_plan(prepare_plan(spec, spec_path=path), tmp_path / "out")
    answer = result.recommendation
    assert answer["alternative"] == "weekly_panel"
    assert answer["set"] == {"signoff.panel.cadence": "weekly"}
    by_name = {a["alternative"]: a for a in answer["alternatives"]}
    assert by_name["individual"]["met"]
    assert by_name["individual"]["configuration"] == by_name["weekly_panel"]["configuration"]
    assert by_name["individual"]["cost"] - by_name["weekly_panel"]["cost"] == pytest.approx(3000)
    scenario = tomllib.loads((tmp_path / "out" / "plan.toml").read_text())
    assert scenario["signoff"]["mode"] == "panel"
    assert scenario["signoff"]["panel"]["cadence"] == "weekly"


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        (
            '"signoff.panel.cadence" = "weekly"',
            '"signoff.panel.cadense" = "weekly"',
            "alternatives.weekly_panel",
        ),
        (
            '"signoff.panel.cadence" = "weekly"',
            '"signoff.panel.cadence" = "daily"',
            "'daily'",
        ),
        (
            '"signoff.mode" = "individual"',
            '"workforce.planner.headcount" = 3',
            "alternatives.individual.set: workforce.planner.headcount is a role the plan staffs",
        ),
        (
            '"signoff.mode" = "individual"',
            '"signoff..mode" = "individual"',
            "a key must be a dotted path",
        ),
        ("extra_cost_per_year = 6000", "extra_cost_per_year = -1", "extra_cost_per_year"),
        ("extra_cost_per_year = 6000", "extra_cost = 6000", "alternatives.weekly_panel.extra_cost"),
        (
            'base = "queue.toml"',
            'base = "queue.toml"\ncost = "headcount"',
            "alternatives.weekly_panel.extra_cost_per_year: pounds a year add to cost = "
            "'staff_cost' only, got 6000",
        ),
        (
            "[replications]",
            "[over_time]\nperiod_months = 1\n\n[replications]",
            "alternatives: a plan over time keeps the base's settings",
        ),
    ],
)
def test_a_bad_alternative_is_refused_in_one_line(
    tmp_path: Path, old: str, new: str, match: str
) -> None:
    assert old in PLAN
    path = _case(tmp_path, PLAN.replace(old, new, 1))
    result = _plan(str(path), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    err = result.stderr
    assert match in err, err
    assert str(path) in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


class _Stop(Exception):
    """Raised by the progress hook: the plan is killed part way."""


def test_alternatives_give_the_same_files_on_two_workers_and_after_a_resume(
    tmp_path: Path,
) -> None:
    path = _case(tmp_path)
    problem = prepare_plan(load_plan_spec(path), spec_path=path)
    results = ("frontier.parquet", "recommendation.json", "plan.toml")
    run_plan(problem, tmp_path / "serial")
    run_plan(problem, tmp_path / "pool", executor="process:2")
    judged: list[object] = []

    def stop_after_three(evaluation: object, simulated: int) -> None:
        judged.append(evaluation)
        if len(judged) == 3:  # part way through the alternatives
            raise _Stop

    with pytest.raises(_Stop):
        run_plan(problem, tmp_path / "stopped", progress=stop_after_three)
    resumed = run_plan(problem, tmp_path / "stopped", resume=True)
    assert resumed.reused > 0
    for name in results:
        serial = (tmp_path / "serial" / name).read_bytes()
        assert (tmp_path / "pool" / name).read_bytes() == serial, name
        assert (tmp_path / "stopped" / name).read_bytes() == serial, name
