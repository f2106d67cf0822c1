"""ipcsim calibrate: parameter recovery in make test, resume, wait summaries as observed series.

The recovery test reads the session's small calibration (``tests/conftest.py``): the synthetic
site's first month, the referral rate and a planner's hourly cost fitted, 30 particles, one
generation after the prior's, about 100 short runs.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ipcsim.analysis.waits import censored_waits, wait_summary
from ipcsim.cli.main import app
from ipcsim.errors import ConfigError, OutputError
from ipcsim.experiment.calibration import (
    load_calibration_spec,
    prepare_calibration,
    read_observed,
    run_calibration,
)
from ipcsim.experiment.calibration.series import SHARE_SCALE, parse_series, series_scale
from ipcsim.experiment.calibration.simulate import SimulationTask, simulate
from ipcsim.io import calibration_folder
from ipcsim.io.files import read_json
from ipcsim.run import run_scenario
from ipcsim.scenario.load import load_scenario
from tests.calibration_small import SmallCalibration, small_calibration_spec

RATE = "cohorts.ltc.referrals_per_month"
COST = "workforce.planner.hourly_cost_gbp"


def _files(folder: Path) -> dict[str, bytes]:
    """Every file of a folder but the manifest (which records times), by relative name."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


# --------------------------------------------------------------------------- recovery
def test_small_calibration_recovers_the_rate_and_reports_the_cost_unidentified(
    small_calibration: SmallCalibration,
) -> None:
    """The true referral rate lies in its 90 % credible interval; the hourly cost is flagged.

    Error rate: with its fixed seed (master_seed 7) the test is deterministic and cannot flap.
    The claim is statistical, though: offline (2026-12-01), this spec with master seeds 0 to
    39 passed every check for 39 seeds; seed 36 left the hourly cost's posterior sd at 76 % of
    the prior's, under the 80 % that reports "not identified". So a change that reshuffles the
    draws (model, sampler) fails this test about once in 40 (95 % interval 0.1 % to 13 %)
    without being wrong; the true rate was in its 90 % interval and identified for all 40
    (posterior sd / prior sd 0.32 to 0.73, seed 7: 0.62).
    """
    summary = read_json(small_calibration.out / "summary.json")
    rate = summary["parameters"][RATE]
    assert rate["identified"]
    assert rate["true_value"] == 30.0 and rate["truth_in_ci90"]
    assert rate["ci90_low"] <= 30.0 <= rate["ci90_high"]
    cost = summary["parameters"][COST]
    assert not cost["identified"] and cost["true_value"] == 25.0
    flagged = [d for d in summary["diagnostics"] if d["kind"] == "not_identified"]
    assert [d["parameter"] for d in flagged] == [COST]
    assert "cannot identify" in flagged[0]["message"]
    # The calibrated scenario runs as `ipcsim run` loads it, with the median set.
    calibrated = load_scenario(small_calibration.out / "calibrated.toml")
    assert calibrated.cohorts["ltc"].referrals_per_month == pytest.approx(rate["median"])


# --------------------------------------------------------------------------- resume
def test_resume_from_a_journal_cut_short_gives_the_same_outputs(
    small_calibration: SmallCalibration, tmp_path: Path
) -> None:
    # The folder a run killed in generation 1 leaves: its journal up to the rounds that had
    # finished, no results, no manifest.
    cut = tmp_path / "cut"
    shutil.copytree(small_calibration.out, cut)
    for name in ("manifest.json", "posterior.parquet", "summary.json", "ensemble"):
        path = cut / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    rounds = sorted((cut / "simulations").glob("*.json"))
    lost = [r for r in rounds if r.name.startswith("g101-")] + [
        r for r in rounds if r.name.startswith("g001-")
    ][-2:]
    for path in lost:
        path.unlink()
    assert calibration_folder.folder_state(cut) == "unfinished"
    spec = small_calibration.spec
    problem = prepare_calibration(load_calibration_spec(spec), spec_path=spec)
    with pytest.raises(OutputError, match="unfinished calibration; pass --resume"):
        run_calibration(problem, cut)
    done = CliRunner().invoke(app, ["calibrate", str(spec), "--out", str(cut), "--resume"])
    assert done.exit_code == 0, done.output
    # Two rounds of 5 proposals and the 10 predictive runs simulated again; the rest reused.
    simulations = read_json(cut / "summary.json")["simulations"]
    assert f"({simulations - 2 * 5:,} of them from the folder's journal)" in done.stdout
    assert _files(cut) == _files(small_calibration.out)
    # Resuming a finished calibration simulates nothing and writes the same outputs.
    again = run_calibration(problem, cut, resume=True)
    assert again.computed == 0
    assert _files(cut) == _files(small_calibration.out)


def test_ctrl_c_leaves_no_folder_that_looks_complete(
    tmp_path: Path,
) -> None:
    spec = small_calibration_spec(tmp_path / "spec")
    sets = ["abc.population=6", "abc.batch=6"]
    problem = prepare_calibration(load_calibration_spec(spec, sets), spec_path=spec)
    out = tmp_path / "out"

    def stop(generation: object, simulations: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_calibration(problem, out, progress=stop)
    assert not (out / "manifest.json").exists()
    assert calibration_folder.folder_state(out) == "unfinished"
    assert not calibration_folder.is_calibration_folder(out)
    with pytest.raises(OutputError, match="not a finished calibration"):
        calibration_folder.read_calibration_outputs(out)
    assert [p.name for p in (out / "simulations").iterdir()] == ["g000-0000000.json"]
    # The command refuses to start afresh over it, in one line naming --resume.
    command = ["calibrate", str(spec), "--out", str(out), "--quiet"]
    done = CliRunner().invoke(app, [*command, *[f"--set={s}" for s in sets]])
    assert done.exit_code == 2 and "--resume" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.output
    # Resuming with another spec is refused too: its results would mix.
    with pytest.raises(OutputError, match="spec .* changed since this calibration was started"):
        other = load_calibration_spec(spec, [*sets, "master_seed=8"])
        run_calibration(prepare_calibration(other, spec_path=spec), out, resume=True)


KILLED_CALIBRATION = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from ipcsim.experiment.calibration import (
        load_calibration_spec, prepare_calibration, run_calibration,
    )
    spec = Path(sys.argv[1])
    problem = prepare_calibration(load_calibration_spec(spec, {sets!r}), spec_path=spec)
    run_calibration(problem, Path(sys.argv[2]))
    """
)


@pytest.mark.slow  # a subprocess and two calibrations: make validate
def test_resume_after_the_process_is_killed_on_another_executor(tmp_path: Path) -> None:
    spec = small_calibration_spec(tmp_path / "spec")
    sets = ["abc.population=12", "abc.batch=3"]
    out = tmp_path / "killed"
    code = KILLED_CALIBRATION.format(sets=sets)
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen([sys.executable, "-c", code, str(spec), str(out)], cwd=root)
    try:
        deadline = time.monotonic() + 300
        while len(list(out.glob("simulations/g001-*.json"))) < 2:
            assert child.poll() is None, "the calibration ended before it could be killed"
            assert time.monotonic() < deadline, "no round of generation 1 finished in time"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert calibration_folder.folder_state(out) == "unfinished"
    problem = prepare_calibration(load_calibration_spec(spec, sets), spec_path=spec)
    resumed = run_calibration(problem, out, executor="process:2", resume=True)
    assert resumed.reused >= 12 + 2 * 3
    run_calibration(problem, tmp_path / "whole", executor="serial")
    whole = _files(tmp_path / "whole")
    mine = _files(out)
    # The results are the same bytes (the journal and the state's start time aside).
    results = {
        k: v
        for k, v in whole.items()
        if not k.startswith("simulations/") and k != "calibration.json"
    }
    assert set(results) >= {"posterior.parquet", "predictive.parquet", "summary.json"}
    assert {k: mine[k] for k in results} == results


# --------------------------------------------------------------------------- wait summaries
WAITS_CSV = (
    "quarter,referrals,open_cases_end,wait_referral_to_first_conversation_median,"
    "wait_referral_to_sign_off_median,wait_referral_to_first_conversation_share_within_8w\n"
    "2016-04,98,42,20,60,0.5\n"
    "2016-07,90,53,21,,0.5\n"
)


def test_simulated_counts_and_waits_are_those_of_run_scenario(tmp_path: Path) -> None:
    spec = small_calibration_spec(tmp_path)
    (tmp_path / "observed.csv").write_text(WAITS_CSV, encoding="utf-8")
    text = spec.read_text(encoding="utf-8").replace("run.horizon_days=30", "run.horizon_days=365")
    spec.write_text(text.replace('series = ["referrals"]\n', ""), encoding="utf-8")
    problem = prepare_calibration(load_calibration_spec(spec), spec_path=spec)
    assert [t.series for t in problem.targets][:5] == [
        "referrals",
        "open_cases_end",
        "wait_referral_to_first_conversation_median",
        "wait_referral_to_sign_off_median",
        "wait_referral_to_first_conversation_share_within_8w",
    ]
    scenario = problem.scenario({RATE: 30.0, COST: 25.0})
    task = SimulationTask(0, 0, scenario, seed=7, replication=3, targets=problem.targets)
    keys = [(t.series, t.period) for t in problem.targets]
    values = dict(zip(keys, simulate(task).values, strict=True))
    full = run_scenario(scenario, seed=7, replication=3)
    monthly = full.timeseries.set_index(full.timeseries["month"].astype(str).str[:7])
    quarter = ["2016-04", "2016-05", "2016-06"]
    assert values["referrals", "2016-04"] == monthly.loc[quarter, "referrals"].sum()
    assert values["open_cases_end", "2016-07"] == monthly.loc["2016-09", "open_cases_end"]
    # The waits of the people referred in the quarter, by the product-limit estimate.
    people = full.people
    mine = people[(people["referred_day"] >= 0) & (people["referred_day"] < 91)]
    expected = wait_summary(
        censored_waits(mine, "referral_to_sign_off", horizon_days=365),
        horizon_days=365,
        within_weeks=(),
    )["p50"]
    assert values["wait_referral_to_sign_off_median", "2016-04"] == expected
    # A month's waits are the timeseries' by month of referral.
    april = monthly.loc["2016-04"]
    one_month = tmp_path / "month.csv"
    one_month.write_text(
        "month,wait_referral_to_first_conversation_median,"
        "wait_referral_to_first_conversation_share_within_8w\n2016-04,20,0.5\n",
        encoding="utf-8",
    )
    spec.write_text(
        spec.read_text(encoding="utf-8").replace("observed.csv", "month.csv"), encoding="utf-8"
    )
    problem = prepare_calibration(load_calibration_spec(spec), spec_path=spec)
    task = SimulationTask(0, 0, scenario, seed=7, replication=3, targets=problem.targets)
    median, share = simulate(task).values
    assert median == april["wait_referral_to_first_conversation_p50"]
    assert share == april["wait_referral_to_first_conversation_share_within_8w"]


def test_wait_series_are_scaled_as_documented() -> None:
    median = parse_series("wait_referral_to_budget_release_median")
    share = parse_series("wait_referral_to_sign_off_share_within_18w")
    assert median is not None and median.kind == "median"
    assert share is not None and (share.kind, share.weeks) == ("share", 18)
    assert parse_series("wait_consent_to_first_conversation_median") is None  # not end to end
    assert parse_series("wait_referral_to_sign_off_share_within_0w") is None
    assert series_scale(median, 99.0) == pytest.approx(10.0)
    assert series_scale(share, 0.7) == SHARE_SCALE


@pytest.mark.parametrize(
    "text, message",
    [
        ("month,wait_referral_to_signoff_median\n2016-04,3\n", "unknown column"),
        (
            "month,wait_referral_to_sign_off_median\n2016-04,-1\n",
            "column wait_referral_to_sign_off_median: must be a median wait in days",
        ),
        (
            "month,wait_referral_to_sign_off_share_within_8w\n2016-04,75\n",
            "must be a share, 0 to 1 \\(not a percentage\\)",
        ),
        ("month,wait_referral_to_sign_off_share_within_0w\n2016-04,0.5\n", "unknown column"),
    ],
)
def test_wait_columns_errors_name_file_row_and_column(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "observed.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as info:
        read_observed(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_a_share_needs_its_weeks_of_follow_up_and_a_series_name_is_checked(
    tmp_path: Path,
) -> None:
    spec = small_calibration_spec(tmp_path)
    (tmp_path / "observed.csv").write_text(
        "month,wait_referral_to_first_conversation_share_within_8w\n2016-04,0.5\n",
        encoding="utf-8",
    )
    text = spec.read_text(encoding="utf-8").replace('series = ["referrals"]\n', "")
    spec.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="row 2, column wait_referral.*only 0 days after"):
        prepare_calibration(load_calibration_spec(spec), spec_path=spec)
    with pytest.raises(ConfigError, match="series: .*unknown series 'wait_referal_median'"):
        load_calibration_spec(spec, ["series=['wait_referal_median']"])


def test_observed_waits_read_as_numbers(tmp_path: Path) -> None:
    path = tmp_path / "observed.csv"
    path.write_text(WAITS_CSV, encoding="utf-8")
    observed = read_observed(path)
    assert observed.series[:2] == ("referrals", "open_cases_end")
    values = observed.rows[1].values
    assert math.isnan(values["wait_referral_to_sign_off_median"])
    assert values["wait_referral_to_first_conversation_share_within_8w"] == 0.5
    assert all(math.isfinite(v) for v in observed.rows[0].values.values())
