"""Writing scenarios (issue 18): `ipcsim init` writes one that validates, `schema` reads."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ipcsim.cli.main import app
from ipcsim.scenario import Scenario
from ipcsim.scenario.fields import field_rows
from ipcsim.scenario.load import load_scenario

ROOT = Path(__file__).resolve().parents[2]


def test_init_writes_a_starter_that_validates_and_runs(tmp_path: Path) -> None:
    path = tmp_path / "sites" / "mine.toml"
    runner = CliRunner()
    result = runner.invoke(app, ["init", str(path)])
    assert result.exit_code == 0, result.output
    scenario = load_scenario(path)
    assert scenario.name == "my_site" and scenario.question
    assert len(scenario.site_configs[0].cohorts) == 4
    assert runner.invoke(app, ["validate", str(path)]).exit_code == 0
    run = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "out"),
                              "--set", "run.horizon_days=60"])  # fmt: skip
    assert run.exit_code == 0, run.output
    # never overwrites by accident
    again = runner.invoke(app, ["init", str(path)])
    assert again.exit_code == 2 and "already exists; pass --force" in again.stderr


def test_init_from_a_shipped_scenario_copies_it(tmp_path: Path) -> None:
    source = ROOT / "configs" / "lone_practitioner.toml"
    path = tmp_path / "copy.toml"
    result = CliRunner().invoke(app, ["init", str(path), "--from", str(source)])
    assert result.exit_code == 0, result.output
    assert path.read_text() == source.read_text()


def test_schema_table_lists_every_key_with_its_default_and_source() -> None:
    rows = {row.key: row for row in field_rows(Scenario)}
    assert rows["workforce.<name>.hourly_cost_gbp"].description
    assert rows["cohorts.<name>.offer_acceptance"].default == "0.8"
    assert "P12" in rows["cohorts.<name>.offer_acceptance"].description
    assert rows["signoff.panel.cadence"].kind.startswith('"weekly"')
    assert "reporting.within_weeks" in rows and "question" in rows
    result = CliRunner().invoke(app, ["schema", "--format", "markdown"])
    assert result.exit_code == 0
    assert "| `cohorts.<name>.offer_acceptance` | float | 0.8 |" in result.stdout
    schema = json.loads(CliRunner().invoke(app, ["schema", "--format", "json"]).stdout)
    assert "properties" in schema and "cohorts" in schema["properties"]


def test_validate_lists_the_defaults_a_file_left_out(tmp_path: Path) -> None:
    from ipcsim.scenario.fields import defaults_filled

    path = tmp_path / "small.toml"
    path.write_text((ROOT / "configs" / "lone_practitioner.toml").read_text())
    scenario = load_scenario(path)
    rows = {row.key: row for row in defaults_filled(scenario.site_configs[0])}
    # a key the file sets is not a default; one it leaves out is, with its value and source
    assert "workforce.practitioner.ipc_share" not in rows
    lag = rows["workforce.practitioner.recruitment_lag_days"]
    assert lag.default == str(scenario.workforce["practitioner"].recruitment_lag_days)
    assert lag.description
    result = CliRunner().invoke(app, ["validate", str(path), "--defaults"],
                                env={"COLUMNS": "250"})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"{len(rows)} keys (--defaults lists them)" in result.stdout
    assert "workforce.practitioner.recruitment_lag_days" in result.stdout


def test_plot_replaces_its_own_earlier_figures_and_nothing_else(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "run"
    config = ROOT / "configs" / "lone_practitioner.toml"
    assert runner.invoke(app, ["run", str(config), "--out", str(out),
                               "--set", "run.horizon_days=120"]).exit_code == 0  # fmt: skip
    plots = out / "plots"
    plots.mkdir()
    (plots / "mine.png").write_bytes(b"not ipcsim's")
    assert runner.invoke(app, ["plot", str(out), "--kind", "waits"]).exit_code == 0
    assert (plots / "waits.png").is_file()
    result = runner.invoke(app, ["plot", str(out), "--kind", "queues", "--format", "svg"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in plots.iterdir()) == ["mine.png", "plots.json", "queues.svg"]


def test_the_analysts_question_fits_in_15_lines_and_validate_prints_it_back() -> None:
    path = ROOT / "configs" / "growing_in_15_lines.toml"
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    assert len(lines) <= 15
    result = CliRunner().invoke(app, ["validate", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "40 → 120 referrals/month (linear ramp)" in result.stdout
    assert "a panel sitting monthly" in result.stdout


def test_every_missing_role_is_named_in_one_call(tmp_path: Path) -> None:
    path = tmp_path / "one_role.toml"
    path.write_text("[cohorts.ltc]\nreferrals_per_month = 5\n[workforce.planner]\nheadcount = 2\n")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "3 roles the pathway needs are missing" in line
    for role in ("finance_officer", "admin", "panel_member"):
        assert f"'{role}'" in line


def test_the_starter_is_the_demonstrator_renamed() -> None:
    # the starter is package data; it must follow the demonstrator's settings as they change
    starter = load_scenario(ROOT / "ipcsim" / "scenario" / "templates" / "starter.toml")
    demonstrator = load_scenario(ROOT / "configs" / "demonstrator_site.toml")
    ignore = {"name", "question"}
    assert starter.model_dump(exclude=ignore) == demonstrator.model_dump(exclude=ignore)


def test_validate_reports_every_problem_at_once_other_commands_the_first(tmp_path: Path) -> None:
    path = tmp_path / "three_problems.toml"
    text = (ROOT / "configs" / "lone_practitioner.toml").read_text()
    text = text.replace("headcount = 1                                   # SW", "headcnt = 1  # SW")
    text = text.replace("offer_acceptance = 0.8", "offer_acceptance = 1.8")
    text = text.replace("hourly_cost_gbp = 9.0", 'hourly_cost_gbp = "cheap"')
    path.write_text(text)
    runner = CliRunner()
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3, lines
    assert all(line.startswith(f"error: {path}: ") for line in lines)
    keys = [line.removeprefix(f"error: {path}: ").split(":")[0] for line in lines]
    assert keys == [
        "cohorts.ltc_frailty.offer_acceptance",
        "workforce.practitioner.headcnt",
        "workforce.admin.hourly_cost_gbp",
    ]
    assert "did you mean 'headcount'?" in lines[1] and "got 1.8" in lines[0]
    # run stops at the first problem, in one line that counts the others
    ran = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert ran.exit_code == 2
    (line,) = ran.stderr.strip().splitlines()
    assert line.startswith(f"error: {path}: cohorts.ltc_frailty.offer_acceptance")
    assert line.endswith("(and 2 more errors)")


def test_validate_reports_the_problems_of_every_site(tmp_path: Path) -> None:
    path = tmp_path / "sites.toml"
    text = (ROOT / "configs" / "national_ipc_2015.toml").read_text()
    for site, line in (("birmingham_solihull", "sessionz = 3"), ("gloucestershire", "ipc = 1")):
        table = f"[sites.{site}.cohorts.ltc]"
        assert table in text
        text = text.replace(table, f"{table}\n{line}", 1)
    path.write_text(text)
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"error: {path}: sites.birmingham_solihull.cohorts.ltc.sessionz:")
    assert "did you mean 'sessions'?" in lines[0]
    assert lines[1].startswith(f"error: {path}: sites.gloucestershire.cohorts.ltc.ipc: unknown")


def test_validate_prints_a_sites_delivery_growth() -> None:
    result = CliRunner().invoke(
        app, ["validate", str(ROOT / "configs" / "national_ipc_2015.toml")], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 0, result.output
    assert "delivery growth" in result.stdout
    assert "x1 at 0 → x40 at 36 months into delivery (linear ramp" in result.stdout
    assert "x0.1 at 3 months into delivery (steps" in result.stdout
