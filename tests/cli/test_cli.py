"""The command line as a user meets it: real processes, exit codes and output files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import CONFIGS, ROOT

MINIMAL = """
[cohorts.a]
referrals_per_month = 2
[workforce.planner]
[workforce.finance_officer]
[workforce.admin]
[workforce.panel_member]
"""


def ipcsim(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    # A wide virtual terminal, so rich tables are not truncated in captured output.
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "ipcsim", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env=env,
    )


SHORT_HORIZON_DAYS = {"england_upc": 7}
"""Shorter runs for the big configs (England: about 4,000 referrals a month from the start;
a week keeps make test within its budget)."""


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_each_shipped_config_validates_and_runs_a_short_horizon(
    config: Path, tmp_path: Path
) -> None:
    checked = ipcsim("validate", str(config))
    assert checked.returncode == 0, checked.stderr
    out = tmp_path / "out"
    days = SHORT_HORIZON_DAYS.get(config.stem, 120)
    result = ipcsim("run", str(config), "--out", str(out), "--set", f"run.horizon_days={days}")
    assert result.returncode == 0, result.stderr
    assert "Referred" in result.stdout
    for name in ("people.parquet", "timeseries.parquet", "summary.json", "manifest.json"):
        assert (out / name).is_file(), name
    people = pd.read_parquet(out / "people.parquet")
    summary = json.loads((out / "summary.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    assert summary["people"]["referred"] == len(people)
    assert manifest["config"]["run"]["horizon_days"] == days
    assert manifest["seed"] == manifest["config"]["run"]["seed"]


def test_same_seed_gives_identical_people_parquet(tmp_path: Path) -> None:
    config = str(ROOT / "configs" / "demonstrator_site.toml")
    short = ("--set", "run.horizon_days=200")
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert ipcsim("run", config, "--out", str(a), *short).returncode == 0
    assert ipcsim("run", config, "--out", str(b), *short).returncode == 0
    assert ipcsim("run", config, "--out", str(c), "--seed", "5", *short).returncode == 0
    assert (a / "people.parquet").read_bytes() == (b / "people.parquet").read_bytes()
    pd.testing.assert_frame_equal(
        pd.read_parquet(a / "timeseries.parquet"), pd.read_parquet(b / "timeseries.parquet")
    )
    assert (a / "people.parquet").read_bytes() != (c / "people.parquet").read_bytes()


def test_csv_flag_writes_csv_copies(tmp_path: Path) -> None:
    config = str(ROOT / "configs" / "lone_practitioner.toml")
    result = ipcsim("run", config, "--out", str(tmp_path), "--csv", "--set", "run.horizon_days=90")
    assert result.returncode == 0, result.stderr
    people = pd.read_csv(tmp_path / "people.csv")
    assert len(people) == len(pd.read_parquet(tmp_path / "people.parquet"))


BAD_INPUTS = [
    ("unknown_key", MINIMAL + "[run]\nhorizon_dayz = 30\n", ["run.horizon_dayz", "30"]),
    ("malformed", MINIMAL + "[run\n", ["malformed TOML"]),
    ("wrong_type", MINIMAL + '[run]\nseed = "abc"\n', ["run.seed", "'abc'"]),
    ("probability", MINIMAL + "[cohorts.b]\noffer_acceptance = 1.3\n", ["offer_acceptance", "1.3"]),
    ("negative_headcount", MINIMAL + "[workforce.coach]\nheadcount = -1\n", ["headcount", "-1"]),
]


@pytest.mark.parametrize(("name", "text", "needles"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_exits_2_with_one_line_and_no_traceback(
    tmp_path: Path, name: str, text: str, needles: list[str]
) -> None:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    for command in ("run", "validate"):
        result = (
            ipcsim(command, str(path), "--out", str(tmp_path / "o"))
            if command == "run"
            else (ipcsim(command, str(path)))
        )
        assert result.returncode == 2
        assert "Traceback" not in result.stderr + result.stdout
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, result.stderr
        assert str(path) in lines[0] or path.name in lines[0]
        for needle in needles:
            assert needle in lines[0]
    assert not (tmp_path / "o").exists()


def test_missing_file_and_bad_override_exit_2(tmp_path: Path) -> None:
    missing = ipcsim("run", str(tmp_path / "absent.toml"))
    assert missing.returncode == 2
    assert "absent.toml: file not found" in missing.stderr
    assert "Traceback" not in missing.stderr
    config = str(ROOT / "configs" / "demonstrator_site.toml")
    bad = ipcsim("validate", config, "--set", "workforce.planner.headcount=-3")
    assert bad.returncode == 2
    assert "workforce.planner.headcount" in bad.stderr and "-3" in bad.stderr
    assert "demonstrator_site.toml" in bad.stderr


def test_error_messages_keep_table_names_in_brackets() -> None:
    config = str(ROOT / "configs" / "demonstrator_site.toml")
    bad = ipcsim("validate", config, "--set", "pathway.lead_role=gp")
    assert bad.returncode == 2
    assert "role 'gp' is not in [workforce]" in bad.stderr


def test_error_messages_are_printed_literally_not_as_markup_or_emoji() -> None:
    config = str(ROOT / "configs" / "demonstrator_site.toml")
    bad = ipcsim("validate", config, "--set", 'signoff.mode=":x: [b]panel[/b]"')
    assert bad.returncode == 2
    assert ":x: [b]panel[/b]" in bad.stderr and "\u274c" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_override_is_applied(tmp_path: Path) -> None:
    config = str(ROOT / "configs" / "demonstrator_site.toml")
    result = ipcsim(
        "run", config, "--out", str(tmp_path), "--set", "workforce.planner.headcount=6",
        "--set", "run.horizon_days=60",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["config"]["workforce"]["planner"]["headcount"] == 6


def test_schema_is_json_schema_of_the_scenario() -> None:
    result = ipcsim("schema", "--format", "json")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "Scenario"
    assert {"run", "cohorts", "workforce", "pathway", "signoff"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_breakeven_command_matches_the_library(tmp_path: Path) -> None:
    from ipcsim.analysis.breakeven import breakeven, read_sites_csv

    sites = ROOT / "experiments" / "ipc_evaluation_breakeven" / "sites.csv"
    result = ipcsim("breakeven", str(sites), "--format", "json", "--thresholds", "13000,30000")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    expected = breakeven(read_sites_csv(sites), thresholds=(13000, 30000))
    assert printed == json.loads(json.dumps(expected))
    both = next(row for row in printed["approach2"] if row["panel"] == "both")
    assert both["qalys"]["13000"] * 13000 == pytest.approx(both["cost_per_patient"])
    table = ipcsim("breakeven", str(sites))
    assert table.returncode == 0 and "delivery" in table.stdout
    as_csv = ipcsim("breakeven", str(sites), "--format", "csv")
    assert as_csv.stdout.splitlines()[0].startswith("approach,panel,year")
    bad = ipcsim("breakeven", str(sites), "--thresholds", "abc")
    assert bad.returncode == 2 and "--thresholds" in bad.stderr


def test_run_removes_the_temporary_folder_a_killed_run_left(tmp_path: Path) -> None:
    # Issue 14: a kill during `run`'s write phase left a hidden .<out>.tmp-* folder (3-6 MB)
    # that nothing removed. Here a process that has ended left one, as a killed run does.
    out = tmp_path / "out"
    made = subprocess.run(
        [
            sys.executable, "-c",
            "import os, sys; from pathlib import Path; from ipcsim.io import files; "
            "tmp = files.temporary_sibling(Path(sys.argv[1])); tmp.mkdir(); "
            "(tmp / 'people.parquet').write_bytes(os.urandom(3 << 20)); print(tmp)",
            str(out),
        ],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    leftover = Path(made.stdout.strip())
    assert leftover.is_dir() and leftover.name.startswith(".out.tmp-")
    config = str(ROOT / "configs" / "lone_practitioner.toml")
    result = ipcsim("run", config, "--out", str(out), "--set", "run.horizon_days=30")
    assert result.returncode == 0, result.stderr
    assert not leftover.exists()
    assert os.listdir(tmp_path) == ["out"]


# --------------------------------------------------------------------------- partitioned runs
NATIONAL = ROOT / "configs" / "national_ipc_2015.toml"


def test_run_on_a_process_pool_writes_what_one_model_writes(tmp_path: Path) -> None:
    """Issue 17: the national programme's 17 independent sites as tasks on two worker
    processes give byte for byte the tables and summary of one model of all 17."""
    from ipcsim.run import run_scenario, write_run
    from ipcsim.scenario.load import load_scenario
    from ipcsim.scenario.partition import site_groups

    short = ["run.horizon_days=150"]
    pooled = tmp_path / "pooled"
    result = ipcsim(
        "run", str(NATIONAL), "--out", str(pooled), "--executor", "process:2", "--set", *short
    )
    assert result.returncode == 0, result.stderr
    scenario = load_scenario(NATIONAL, short)
    whole = write_run(run_scenario(scenario), tmp_path / "whole")
    names = sorted(p.name for p in whole.glob("*.parquet")) + ["summary.json"]
    for name in names:
        assert (pooled / name).read_bytes() == (whole / name).read_bytes(), name
    manifest = json.loads((pooled / "manifest.json").read_text())
    assert manifest["partitions"] == len(site_groups(scenario)) > 1
    assert manifest["executor"].startswith("process pool (2 workers")
    assert json.loads((whole / "manifest.json").read_text())["partitions"] == 1
    # The workers wrote their groups' records beside the output folder; nothing is left.
    assert sorted(os.listdir(tmp_path)) == ["pooled", "whole"]


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group is still running (zombies excepted)."""
    listed = subprocess.run(["ps", "-o", "pid=,stat=", "-g", str(pgid)], capture_output=True)
    return any(b"Z" not in line.split()[1] for line in listed.stdout.splitlines())


def _kill_while_writing(out: Path, *executor: str) -> subprocess.Popen[bytes]:
    """Start `ipcsim run` on the national programme; SIGKILL it once it has written a file.

    Killed after the first file of the write (CSV copies make the write longer) or, if that
    moment is missed, once the run has finished.
    """
    args = [sys.executable, "-m", "ipcsim", "run", str(NATIONAL), "--out", str(out), "--csv"]
    child = subprocess.Popen(
        [*args, *executor],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, with any pool workers
    )
    try:
        deadline = time.monotonic() + 120
        while child.poll() is None and not list(out.parent.glob(f".{out.name}.tmp-*/*")):
            assert time.monotonic() < deadline, "the run neither wrote nor ended in time"
            time.sleep(0.002)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    except BaseException:
        os.killpg(child.pid, signal.SIGKILL)
        raise
    return child


def _assert_nothing_looks_complete(out: Path) -> None:
    """Only hidden temporary folders beside ``out``, or ``out`` complete and verified."""
    from ipcsim.io.run_folder import read_run_outputs

    left = sorted(p.name for p in out.parent.iterdir())
    assert all(name == out.name or name.startswith(f".{out.name}.tmp-") for name in left), left
    if out.exists():  # the write was missed: the run had finished, and its folder is complete
        read_run_outputs(out)


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_a_killed_partitioned_run_leaves_no_folder_that_looks_complete(tmp_path: Path) -> None:
    """Issue 17: killed outright while it writes, a run of 17 groups of sites leaves at most
    a hidden temporary folder (the next run removes it:
    test_run_removes_the_temporary_folder_a_killed_run_left)."""
    out = tmp_path / "out"
    _kill_while_writing(out, "--set", "run.horizon_days=730")
    _assert_nothing_looks_complete(out)


@pytest.mark.slow  # make validate: a process pool's start-up costs seconds
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGKILL, ps -g")
def test_a_killed_run_on_a_process_pool_leaves_no_workers_behind(tmp_path: Path) -> None:
    """Killed outright, `run --executor process:2` takes its pool's workers with it (they
    stayed idle before PR_SET_PDEATHSIG) and leaves no folder that looks complete."""
    out = tmp_path / "out"
    child = _kill_while_writing(out, "--executor", "process:2")
    deadline = time.monotonic() + 30
    try:
        while _group_alive(child.pid):
            assert time.monotonic() < deadline, "the pool's workers outlived the run"
            time.sleep(0.1)
    finally:
        if _group_alive(child.pid):
            os.killpg(child.pid, signal.SIGKILL)
    _assert_nothing_looks_complete(out)
