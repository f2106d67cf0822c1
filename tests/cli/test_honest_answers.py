"""Honest answers on the shipped configs (issue 13): overload warned of everywhere, waits that
count the people still waiting.

The growing service (the analyst's overloaded question) warns in the terminal, ``summary.json``
and the report, naming the bottleneck role; the demonstrator does not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ipcsim.cli.main import app

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- shipped configs
@pytest.fixture(scope="module")
def growing(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp("growing") / "run"
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(ROOT / "configs" / "growing_service.toml"),
                                 "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = runner.invoke(app, ["report", str(out)])
    assert report.exit_code == 0, report.output
    return result.stdout, out


def test_an_overloaded_run_warns_everywhere_naming_the_bottleneck(
    growing: tuple[str, Path],
) -> None:
    stdout, out = growing
    summary = json.loads((out / "summary.json").read_text())
    kinds = {(w["kind"], w["role"]) for w in summary["warnings"]}
    assert ("queue_growing", "planner") in kinds
    assert ("queue_growing", "finance_officer") in kinds
    text = " ".join(stdout.split())
    assert "warning: planner queue still growing at the horizon" in text
    html = (out / "report.html").read_text()
    assert 'class="callout overload"' in html
    for w in summary["warnings"]:
        assert w["message"] in html


def test_on_an_overloaded_run_completed_waits_understate_the_p90(
    growing: tuple[str, Path],
) -> None:
    _, out = growing
    wait = json.loads((out / "summary.json").read_text())["waits_days"][
        "referral_to_first_conversation"
    ]
    assert wait["still_waiting"] > 0
    assert wait["completed_only"]["p90"] < wait["p90"]
    series = pd.read_parquet(out / "timeseries.parquet")
    assert {
        "wait_referral_to_first_conversation_p50",
        "wait_referral_to_first_conversation_still_waiting",
        "wait_referral_to_first_conversation_share_within_8w",
    } <= set(series.columns)


def test_the_demonstrator_keeps_up_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(ROOT / "configs" / "demonstrator_site.toml"),
                                 "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "warning:" not in result.stdout
    assert "No overload" in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["warnings"] == []
    assert 0.0 <= summary["waits_days"]["referral_to_first_conversation"]["share_within_8w"] <= 1
    assert runner.invoke(app, ["report", str(out)]).exit_code == 0
    assert 'class="callout overload"' not in (out / "report.html").read_text()


def test_the_run_report_and_terminal_open_with_the_scenarios_question(
    growing: tuple[str, Path],
) -> None:
    stdout, out = growing
    html = (out / "report.html").read_text()
    opening = html.index('class="question">')
    assert html[opening:].startswith('class="question">With 3 planners at half their time')
    assert " ".join(stdout.split()).startswith("With 3 planners at half their time")
    # the terminal's per-year table and the economics table say what they count
    assert "By year of the run" in stdout and "last 12" in stdout
    assert "what it counts" in stdout


def test_kpis_lists_every_kpi_with_a_unit_and_a_definition() -> None:
    from ipcsim.analysis.kpis import kpi_definition, kpi_names
    from ipcsim.scenario.load import load_scenario

    config = ROOT / "configs" / "national_ipc_2015.toml"
    names = kpi_names(load_scenario(config))
    assert all(kpi_definition(name) for name in names)
    result = CliRunner().invoke(app, ["kpis", str(config)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for name in names:
        assert name in result.stdout
    assert "share_seen_within_8w" in result.stdout
    bad = CliRunner().invoke(app, ["kpis", "missing.toml"])
    assert bad.exit_code == 2 and "missing.toml" in bad.stderr
