"""Monte Carlo experiments: specs, plans, KPIs, warm-up, replications, CRN, resume, outputs, CLI."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ipcsim.analysis import stats
from ipcsim.analysis.waits import censored_waits, wait_summary
from ipcsim.errors import ConfigError, OutputError
from ipcsim.experiment import (
    ExperimentPlan,
    ProgressEvent,
    compute_kpis,
    flatten_summary,
    kpi_names,
    load_spec,
    plan_experiment,
    run_experiment,
    spec_from_dict,
)
from ipcsim.io import manifest as io_manifest
from ipcsim.run import run_scenario
from tests.conftest import make_scenario

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "experiments").glob("*/experiment.toml"))
OUTPUTS = ("replications", "summary", "paired", "scenarios")


def spec_data(**changes: Any) -> dict[str, Any]:
    """A small grid over the demonstrator: 1 or 2 planners under heavier demand."""
    data: dict[str, Any] = {
        "name": "small",
        "base": "demonstrator_site.toml",
        "master_seed": 17,
        "overrides": ["run.horizon_days=180", "cohorts.ltc_frailty.referrals_per_month=14"],
        "kpis": ["wait_referral_to_first_conversation_mean", "plans_signed_off_per_year"],
        "grid": {"workforce.planner.headcount": [1, 2]},
        "replications": {"n": 3},
        "warmup": {"mode": "fixed", "days": 30},
    }
    data.update(changes)
    return data


def make_plan(**changes: Any) -> ExperimentPlan:
    return plan_experiment(spec_from_dict(spec_data(**changes)), base_dir=ROOT / "configs")


def read_outputs(out: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(out / f"{name}.parquet") for name in OUTPUTS}


def assert_same_outputs(a: Path, b: Path) -> None:
    left, right = read_outputs(a), read_outputs(b)
    for name in OUTPUTS:
        pd.testing.assert_frame_equal(left[name], right[name], check_exact=True)


# --------------------------------------------------------------------------- spec errors


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"grid": {"workforce.planer.headcount": [1, 2]}}, "unknown factor key"),
        ({"grid": {}}, r"\[grid\] is empty"),
        ({"grid": {"workforce.planner.headcount": []}}, "at least 1 item"),
        ({"kpis": ["wait_to_nowhere_mean"]}, "unknown KPI"),
        ({"kpis": ["utilisation_planer"]}, "did you mean utilisation_planner"),
        ({"baseline": {"workforce.planner.headcount": 3}}, "not one of the grid's levels"),
        ({"baseline": {"run.horizon_days": 3}}, "not a factor"),
        ({"grid": {"workforce.planner": [1]}}, "is a table"),
        ({"grid": {"run.seed": [1, 2]}}, "run.seed cannot be a factor"),
        ({"grid": {"workforce.planner.headcount": [-1]}}, "headcount"),
        ({"warmup": {"mode": "fixed", "days": 400}}, "shorter than the horizon"),
        ({"replications": {"n": 0}}, "replications.n"),
        ({"replications": {"mode": "auto", "initial": 5, "max": 4}}, "max"),
        ({"colour": "red"}, "colour: unknown key"),
        ({"base": None}, "exactly one of 'base'"),
        ({"base": "absent.toml"}, "absent.toml: file not found"),
        (
            {"design": {"method": "latin", "samples": 4, "factors": {"x": {"low": 0, "high": 1}}}},
            "give either",
        ),
    ],
)
def test_bad_specs_give_one_line_config_errors(changes: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        make_plan(**changes)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("factor", "match"),
    [
        ({"low": 0.6, "high": 0.2}, "need low < high"),
        ({"low": 0.2, "high": 0.2}, "need low < high"),
    ],
)
def test_a_range_with_low_above_high_is_refused(factor: dict[str, Any], match: str) -> None:
    design = {"method": "latin", "samples": 4, "factors": {"signoff.rework_probability": factor}}
    with pytest.raises(ConfigError, match=match) as info:
        make_plan(grid=None, design=design)
    # the key as the file writes it: the dotted factor name quoted
    assert 'design.factors."signoff.rework_probability"' in str(info.value)


def test_design_rules_are_checked() -> None:
    factors = {"signoff.rework_probability": {"low": 0.0, "high": 0.3}}
    with pytest.raises(ConfigError, match="power of 2"):
        make_plan(grid=None, design={"method": "sobol", "samples": 6, "factors": factors})
    with pytest.raises(ConfigError, match="levels must be even"):
        make_plan(
            grid=None, design={"method": "morris", "samples": 2, "levels": 3, "factors": factors}
        )
    with pytest.raises(ConfigError, match="unknown factor key"):
        make_plan(
            grid=None,
            design={
                "method": "latin",
                "samples": 3,
                "factors": {"signoff.nope": factors["signoff.rework_probability"]},
            },
        )


def test_spec_file_errors_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "experiment.toml"
    broken.write_text("name = [unclosed\n")
    with pytest.raises(ConfigError, match="experiment.toml: malformed TOML"):
        load_spec(broken)
    with pytest.raises(ConfigError, match="absent.toml: file not found"):
        load_spec(tmp_path / "absent.toml")


def test_overrides_route_to_the_spec_or_to_every_scenario() -> None:
    spec = spec_from_dict(
        spec_data(), overrides=["replications.n=7", "run.horizon_days=90", "master_seed=3"]
    )
    assert spec.replications.n == 7 and spec.master_seed == 3
    assert spec.overrides[-1] == "run.horizon_days=90"
    plan = plan_experiment(spec, base_dir=ROOT / "configs")
    assert all(p.scenario.run.horizon_days == 90 for p in plan.scenarios)


# --------------------------------------------------------------------------- plans


def test_grid_plan_scenarios_baseline_and_common_seeds() -> None:
    plan = make_plan(
        grid={"workforce.planner.headcount": [1, 2, 3], "signoff.panel.interval_days": [7, 14]},
        baseline={"workforce.planner.headcount": 2, "signoff.panel.interval_days": 14},
    )
    assert [p.scenario_id for p in plan.scenarios] == [f"s{i:03d}" for i in range(6)]
    assert plan.factors == ("workforce.planner.headcount", "signoff.panel.interval_days")
    levels = [
        (p.scenario.workforce["planner"].headcount, p.scenario.signoff.panel.interval_days)
        for p in plan.scenarios
    ]
    assert levels == [(1, 7), (1, 14), (2, 7), (2, 14), (3, 7), (3, 14)]
    assert plan.baseline_id == "s003"
    assert [p.is_baseline for p in plan.scenarios].count(True) == 1
    assert {p.seed for p in plan.scenarios} == {17}
    independent = make_plan(common_random_numbers=False)
    assert len({p.seed for p in independent.scenarios}) == 2
    assert make_plan().spec_hash != independent.spec_hash


def test_design_plan_has_the_nominal_baseline_then_the_design_points() -> None:
    design = {
        "method": "morris",
        "samples": 2,
        "factors": {
            "workforce.planner.headcount": {"low": 1, "high": 4, "integer": True},
            "cohorts.ltc_frailty.offer_acceptance": {
                "low": 0.5,
                "high": 0.9,
                "also": ["cohorts.children.offer_acceptance"],
            },
        },
    }
    plan = make_plan(grid=None, design=design)
    assert plan.design_matrix is not None and plan.design_matrix.shape == (6, 2)
    assert len(plan.scenarios) == 7 and plan.baseline_id == "s000"
    nominal = plan.scenarios[0]
    assert nominal.design_row is None and nominal.levels["workforce.planner.headcount"] == 2
    for p in plan.scenarios[1:]:
        headcount = p.levels["workforce.planner.headcount"]
        assert isinstance(headcount, int) and p.scenario.workforce["planner"].headcount == headcount
        cohorts = p.scenario.cohorts
        assert cohorts["children"].offer_acceptance == cohorts["ltc_frailty"].offer_acceptance


def test_several_bases_add_a_base_factor() -> None:
    plan = make_plan(
        base=None,
        bases={"demo": "demonstrator_site.toml", "mdt": "mdt_vcse.toml"},
        grid={"signoff.panel.interval_days": [7, 14]},
        kpis=["plans_signed_off"],
        overrides=["run.horizon_days=120"],
        baseline={"base": "mdt"},
    )
    assert plan.factors == ("base", "signoff.panel.interval_days")
    assert [p.levels["base"] for p in plan.scenarios] == ["demo", "demo", "mdt", "mdt"]
    assert plan.scenario(plan.baseline_id).levels == {
        "base": "mdt",
        "signoff.panel.interval_days": 7,
    }


# --------------------------------------------------------------------------- KPIs


def test_kpis_without_warmup_are_the_flattened_run_summary() -> None:
    scenario = make_scenario()
    result = run_scenario(scenario, seed=3)
    kpis = compute_kpis(result, warmup_days=0.0)
    assert kpis == flatten_summary(result.summary, horizon_days=scenario.run.horizon_days)
    assert list(kpis) == kpi_names(scenario)
    assert kpis["referred"] == len(result.people)
    horizon = scenario.run.horizon_days
    assert kpis["plans_signed_off_per_year"] == pytest.approx(
        kpis["plans_signed_off"] / horizon * 365.25
    )


def test_kpis_after_a_warmup_use_later_referrals_and_the_window() -> None:
    scenario = make_scenario()
    result = run_scenario(scenario, seed=3)
    people, horizon, warmup = result.people, scenario.run.horizon_days, 90.0
    kpis = compute_kpis(result, warmup_days=warmup)
    later = people[people["referred_day"] >= warmup]
    assert kpis["referred"] == len(later)
    for state in ("declined", "withdrawn", "in_progress"):
        assert kpis[state] == (later["end_state"] == state).sum()
    signed = people["signed_off_day"]
    assert kpis["plans_signed_off"] == ((signed >= warmup) & (signed <= horizon)).sum()
    assert kpis["plans_signed_off_per_year"] == pytest.approx(
        kpis["plans_signed_off"] / (horizon - warmup) * 365.25
    )
    waits = later["first_conversation_day"] - later["referred_day"]
    waits = waits[later["first_conversation_day"] <= horizon].dropna()
    assert kpis["wait_referral_to_first_conversation_completed_mean"] == pytest.approx(waits.mean())
    assert kpis["wait_referral_to_first_conversation_n"] == len(waits)
    # the headline wait counts the later referrals still waiting (Kaplan-Meier)
    stats = wait_summary(
        censored_waits(later, "referral_to_first_conversation", horizon_days=horizon),
        horizon_days=horizon,
    )
    assert kpis["wait_referral_to_first_conversation_mean"] == pytest.approx(stats["mean"])
    assert kpis["wait_referral_to_first_conversation_still_waiting"] == stats["still_waiting"]
    assert kpis["staff_hours_per_person"] == pytest.approx(later["staff_hours_total"].mean())
    # Utilisation: hours of work starting after the warm-up over the hours available then.
    work = result.work
    for role in ("planner", "finance_officer"):
        worked_all = work.loc[work["role"] == role, "hours"].sum()
        available_all = worked_all / result.summary["utilisation"][role]
        late = work[(work["role"] == role) & (work["start_day"] >= warmup)]["hours"].sum()
        share = kpis[f"utilisation_{role}"]
        available_late = late / share
        # Staff availability accrues evenly by working time, so the window holds its share.
        assert available_late == pytest.approx(
            available_all * (horizon - warmup) / horizon, rel=0.03
        )


# --------------------------------------------------------------------------- running


def test_outputs_have_the_documented_columns(tmp_path: Path) -> None:
    plan = make_plan()
    result = run_experiment(plan, tmp_path / "out")
    out = tmp_path / "out"
    replications = pd.read_parquet(out / "replications.parquet")
    assert list(replications.columns) == ["scenario", "replication", "kpi", "value"]
    assert len(replications) == 2 * 3 * len(plan.kpis)
    summary = pd.read_parquet(out / "summary.parquet")
    assert list(summary.columns) == [
        "scenario", "kpi", "mean", "sd", "n", "ci_low", "ci_high", "half_width", "pi_low",
        "pi_high", "uncertainty", "workforce.planner.headcount", "is_baseline",
    ]  # fmt: skip
    assert set(summary["uncertainty"]) == {"stochastic"}
    paired = pd.read_parquet(out / "paired.parquet")
    assert list(paired.columns) == [
        "scenario", "baseline", "kpi", "mean_diff", "sd_diff", "n", "ci_low", "ci_high",
        "half_width", "variance_reduction", "workforce.planner.headcount",
    ]  # fmt: skip
    assert set(paired["scenario"]) == {"s001"} and set(paired["baseline"]) == {"s000"}
    scenarios = pd.read_parquet(out / "scenarios.parquet")
    assert scenarios["is_baseline"].tolist() == [True, False]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["spec_hash"] == plan.spec_hash and manifest["seed"] == 17
    assert manifest["executor"].startswith("serial")
    assert manifest["cells"] == {"computed": 6, "reused": 0}
    assert set(manifest["files"]) == {f"{name}.parquet" for name in OUTPUTS}
    for rep in range(3):
        folder = out / "runs" / "s001" / f"rep-{rep:03d}"
        assert {p.name for p in folder.iterdir()} == {
            "kpis.json",
            "people.parquet",
            "timeseries.parquet",
        }
    # The summary is the t interval of the replications.
    row = summary[(summary["scenario"] == "s001") & (summary["kpi"] == "referred")].iloc[0]
    values = replications[
        (replications["scenario"] == "s001") & (replications["kpi"] == "referred")
    ]
    est = stats.mean_ci(values["value"].to_numpy())
    assert row["mean"] == est.mean and row["half_width"] == est.half_width
    assert result.computed == 6 and result.reused == 0


def test_one_cell_is_reproduced_by_a_single_run(tmp_path: Path) -> None:
    plan = make_plan()
    result = run_experiment(plan, tmp_path / "out")
    people = pd.read_parquet(tmp_path / "out" / "runs" / "s001" / "rep-002" / "people.parquet")
    single = run_scenario(plan.scenario("s001").scenario, seed=17, replication=2)
    pd.testing.assert_frame_equal(people, single.people)
    kpis = compute_kpis(single, warmup_days=30.0)
    cell = result.replications[
        (result.replications["scenario"] == "s001") & (result.replications["replication"] == 2)
    ]
    assert dict(zip(cell["kpi"], cell["value"], strict=True)) == pytest.approx(kpis, nan_ok=True)


def test_refuses_a_non_empty_folder_without_resume(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="not empty; pass --resume"):
        run_experiment(make_plan(), out)
    with pytest.raises(OutputError, match="not an experiment folder"):
        run_experiment(make_plan(), out, resume=True)
    # --overwrite replaces only an earlier experiment's folder, never someone's notes
    with pytest.raises(OutputError, match="replaces only an earlier experiment's folder"):
        run_experiment(make_plan(), out, overwrite=True)
    assert (out / "notes.txt").read_text() == "mine"


def test_overwrite_replaces_an_earlier_experiment_with_another_spec(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_experiment(make_plan(), out)
    # a changed spec: the message names both ways on
    with pytest.raises(OutputError, match="--resume to continue the same experiment there, "
                       "--overwrite to replace it"):  # fmt: skip
        run_experiment(make_plan(replications={"n": 3}), out)
    run_experiment(make_plan(replications={"n": 3}), out, overwrite=True)
    fresh = tmp_path / "fresh"
    run_experiment(make_plan(replications={"n": 3}), fresh)
    for name, frame in read_outputs(fresh).items():
        pd.testing.assert_frame_equal(read_outputs(out)[name], frame)
    with pytest.raises(OutputError, match="contradict"):
        run_experiment(make_plan(), out, resume=True, overwrite=True)


def test_default_output_folder_is_the_spec_stem_or_its_folder() -> None:
    from ipcsim.cli.experiment import default_out

    assert default_out(Path("study/experiment.toml")) == Path("outputs/study")
    assert default_out(Path("study/fast.toml")) == Path("outputs/fast")
    assert default_out(Path("study/slow.toml")) != default_out(Path("study/fast.toml"))


def test_a_changed_spec_is_refused_on_resume(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_experiment(make_plan(), out)
    before = read_outputs(out)
    with pytest.raises(OutputError, match="changed since this folder was started") as info:
        run_experiment(make_plan(replications={"n": 4}), out, resume=True)
    assert "\n" not in str(info.value)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(read_outputs(out)[name], frame)


def test_a_folder_started_by_other_model_code_is_refused_on_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    run_experiment(make_plan(), out)
    before = read_outputs(out)
    # The same spec under another version of the model code (as after an upgrade).
    monkeypatch.setattr(io_manifest, "code_fingerprint", lambda: "0" * 64)
    with pytest.raises(OutputError, match="model code changed since this folder") as info:
        run_experiment(make_plan(), out, resume=True)
    assert "\n" not in str(info.value)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(read_outputs(out)[name], frame)


def test_the_code_fingerprint_covers_the_model_not_the_report() -> None:
    package = Path(io_manifest.__file__).resolve().parent.parent
    digest = hashlib.sha256()
    names = []
    for path in sorted(package.rglob("*.py")):
        name = path.relative_to(package).as_posix()
        if name.split("/")[0] not in {"present", "cli"}:
            names.append(name)
            digest.update(name.encode() + b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    assert {"engine/model.py", "engine/staff.py", "engine/draws.py", "analysis/metrics.py"} <= set(
        names
    )
    assert not [name for name in names if name.startswith(("present/", "cli/"))]
    assert "scenario/load.py" in names
    assert io_manifest.code_fingerprint() == digest.hexdigest()


class _StopAfter:
    """Progress callback that presses Ctrl-C after some replications."""

    def __init__(self, cells: int) -> None:
        self.cells = cells
        self.finished: list[tuple[str, int]] = []

    def __call__(self, event: ProgressEvent) -> None:
        if event.scenario_id is None or event.replication is None:
            return
        self.finished.append((event.scenario_id, event.replication))
        if event.phase == "replications" and len(self.finished) >= self.cells:
            raise KeyboardInterrupt


class _Record:
    def __init__(self) -> None:
        self.computed: list[tuple[str, int]] = []

    def __call__(self, event: ProgressEvent) -> None:
        if event.scenario_id is not None and event.replication is not None:
            self.computed.append((event.scenario_id, event.replication))


def test_resume_after_ctrl_c_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    plan = make_plan()
    run_experiment(plan, tmp_path / "whole")
    stopper = _StopAfter(cells=4)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(plan, tmp_path / "cut", progress=stopper)
    assert not (tmp_path / "cut" / "manifest.json").exists()
    record = _Record()
    resumed = run_experiment(plan, tmp_path / "cut", resume=True, progress=record)
    assert resumed.reused == 4 and resumed.computed == 2
    assert not set(record.computed) & set(stopper.finished)
    assert_same_outputs(tmp_path / "whole", tmp_path / "cut")
    # Resuming a finished experiment computes nothing and rewrites the same outputs.
    again = run_experiment(plan, tmp_path / "cut", resume=True)
    assert again.computed == 0 and again.reused == 6
    assert_same_outputs(tmp_path / "whole", tmp_path / "cut")


KILLED_RUN = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from ipcsim.experiment import plan_experiment, run_experiment, spec_from_dict
    data = {data!r}
    plan = plan_experiment(spec_from_dict(data), base_dir=Path({configs!r}))
    run_experiment(plan, Path(sys.argv[1]))
    """
)


def test_resume_after_the_process_is_killed(tmp_path: Path) -> None:
    data = spec_data(replications={"n": 8}, overrides=["run.horizon_days=365"])
    plan = plan_experiment(spec_from_dict(data), base_dir=ROOT / "configs")
    out = tmp_path / "killed"
    code = KILLED_RUN.format(data=data, configs=str(ROOT / "configs"))
    child = subprocess.Popen([sys.executable, "-c", code, str(out)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while len(list(out.glob("runs/*/rep-*/kpis.json"))) < 3:
            assert child.poll() is None, "the batch ended before it could be killed"
            assert time.monotonic() < deadline, "no replication finished in time"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    finished = {
        p.parent.parent.name + "/" + p.parent.name for p in out.glob("runs/*/rep-*/kpis.json")
    }
    assert 3 <= len(finished) < 16 and not (out / "manifest.json").exists()
    record = _Record()
    resumed = run_experiment(plan, out, resume=True, progress=record)
    assert resumed.reused == len(finished)
    assert resumed.computed == 16 - len(finished)
    assert not {f"{s}/rep-{r:03d}" for s, r in record.computed} & finished
    run_experiment(plan, tmp_path / "whole")
    assert_same_outputs(tmp_path / "whole", out)


# --------------------------------------------------------------------------- CRN


@pytest.mark.slow  # make validate; kept out of make test's 10 minutes
def test_common_random_numbers_narrow_paired_differences(tmp_path: Path) -> None:
    # A staffing change (2 -> 3 planners) below saturation: with CRN both scenarios see the
    # same referrals with the same draws, so their outputs move together.
    changes = {
        "grid": {"workforce.planner.headcount": [2, 3]},
        "replications": {"n": 6},
        "overrides": ["run.horizon_days=365", "cohorts.ltc_frailty.referrals_per_month=14"],
        "kpis": ["wait_referral_to_sign_off_mean", "utilisation_planner"],
    }
    crn = run_experiment(make_plan(**changes), tmp_path / "crn")
    independent = run_experiment(
        make_plan(common_random_numbers=False, **changes), tmp_path / "independent"
    )
    for kpi in ("wait_referral_to_sign_off_mean", "utilisation_planner", "budgets_released"):
        paired = crn.paired[crn.paired["kpi"] == kpi].iloc[0]
        unpaired = independent.paired[independent.paired["kpi"] == kpi].iloc[0]
        assert paired["half_width"] < unpaired["half_width"], kpi
        assert paired["variance_reduction"] > 1.0, kpi
    # With CRN the arrivals are identical, so the referral count does not differ at all.
    referred = crn.paired[crn.paired["kpi"] == "referred"].iloc[0]
    assert referred["mean_diff"] == 0.0 and referred["sd_diff"] == 0.0
    unpaired = independent.paired[independent.paired["kpi"] == "referred"].iloc[0]
    assert unpaired["sd_diff"] > 0.0


# --------------------------------------------------------------------------- replications


@pytest.mark.slow  # make validate; kept out of make test's 10 minutes
def test_automatic_replications_stop_at_the_precision_asked(tmp_path: Path) -> None:
    precision = 0.1
    plan = make_plan(
        overrides=["run.horizon_days=120"],
        replications={
            "mode": "auto",
            "initial": 3,
            "max": 40,
            "relative_precision": precision,
            "look_ahead": 3,
            "kpis": ["referred", "plans_signed_off"],
        },
    )
    result = run_experiment(plan, tmp_path / "auto")
    frame = result.replications
    for p in plan.scenarios:
        run = result.replications_run[p.scenario_id]
        recommended = result.replications_recommended[p.scenario_id]
        assert recommended is not None and 3 <= recommended < run < 40
        solutions = []
        for kpi in ("referred", "plans_signed_off"):
            rows = frame[(frame["scenario"] == p.scenario_id) & (frame["kpi"] == kpi)]
            values = rows.sort_values("replication")["value"].to_numpy()
            assert len(values) == run
            solution = stats.hoad_solution(values, precision=precision, k_limit=3)
            assert solution is not None and run >= solution + 3
            for n in range(solution, solution + 4):
                assert stats.relative_half_width(values[:n]) <= precision
            solutions.append(solution)
        # It stopped as soon as the last KPI to converge was confirmed, not later.
        assert recommended == max(solutions) and run == max(solutions) + 3


@pytest.mark.slow
def test_automatic_replications_do_not_depend_on_the_executor(tmp_path: Path) -> None:
    plan = make_plan(
        overrides=["run.horizon_days=120"],
        replications={"mode": "auto", "relative_precision": 0.1, "kpis": ["plans_signed_off"]},
    )
    serial = run_experiment(plan, tmp_path / "serial")
    pooled = run_experiment(plan, tmp_path / "pool", executor="process:2")
    pd.testing.assert_frame_equal(serial.replications, pooled.replications, check_exact=True)
    assert serial.replications_run == pooled.replications_run


def test_automatic_replications_stop_at_the_cap(tmp_path: Path) -> None:
    plan = make_plan(
        replications={"mode": "auto", "initial": 3, "max": 4, "relative_precision": 0.0001}
    )
    result = run_experiment(plan, tmp_path / "cap")
    assert result.replications_run == {"s000": 4, "s001": 4}
    assert result.replications_recommended == {"s000": None, "s001": None}


# --------------------------------------------------------------------------- warm-up


def test_mser5_warmup_is_found_saved_and_applied(tmp_path: Path) -> None:
    plan = make_plan(
        warmup={"mode": "mser5", "pilot_replications": 2},
        overrides=["run.horizon_days=240", "cohorts.ltc_frailty.referrals_per_month=14"],
        replications={"n": 2},
    )
    out = tmp_path / "mser"
    result = run_experiment(plan, out)
    saved = json.loads((out / "warmup.json").read_text())
    assert saved["mode"] == "mser5" and saved["scenario"] == plan.baseline_id
    assert set(result.warmup_days) == set(plan.kpis)
    assert all(0.0 <= d <= 120.0 for d in result.warmup_days.values())
    assert len(list(out.glob("pilot/*/rep-*.json"))) == 2
    # Each KPI used its own warm-up: check people counts against the replication's table.
    warmup = result.warmup_days["referred"]
    people = pd.read_parquet(out / "runs" / "s001" / "rep-001" / "people.parquet")
    cell = result.replications[
        (result.replications["scenario"] == "s001")
        & (result.replications["replication"] == 1)
        & (result.replications["kpi"] == "referred")
    ]
    assert cell["value"].iloc[0] == (people["referred_day"] >= warmup).sum()
    # A resumed run reuses the pilots and the warm-up.
    again = run_experiment(plan, out, resume=True)
    assert again.computed == 0 and again.warmup_days == result.warmup_days


# --------------------------------------------------------------------------- designs


def test_a_latin_design_writes_sensitivity_indices(tmp_path: Path) -> None:
    design = {
        "method": "latin",
        "samples": 5,
        "factors": {"workforce.planner.ipc_share": {"low": 0.2, "high": 0.6}},
    }
    plan = make_plan(grid=None, design=design, replications={"n": 2})
    result = run_experiment(plan, tmp_path / "lhs")
    sens = pd.read_parquet(tmp_path / "lhs" / "sensitivity.parquet")
    assert list(sens.columns) == [
        "method",
        "kpi",
        "parameter",
        "index",
        "value",
        "ci_low",
        "ci_high",
    ]
    assert set(sens["kpi"]) == set(plan.spec.kpis)
    assert set(sens["index"]) == {"spearman"} and len(sens) == len(plan.spec.kpis)
    assert result.sensitivity is not None and len(result.summary["scenario"].unique()) == 6


# --------------------------------------------------------------------------- shipped specs


# The two longest (12-20 s each) run in make validate: make test is near its 10-minute budget.
SLOW_SPECS = {"sensitivity_morris", "planner_capacity"}


@pytest.mark.parametrize(
    "spec",
    [pytest.param(p, marks=pytest.mark.slow) if p.parent.name in SLOW_SPECS else p for p in SPECS],
    ids=lambda p: p.parent.name,
)
def test_each_shipped_experiment_runs_with_a_tiny_override(spec: Path, tmp_path: Path) -> None:
    assert (spec.parent / "README.md").is_file()
    tiny = ["run.horizon_days=120", "replications.n=2", "warmup.pilot_replications=2"]
    loaded = load_spec(spec, tiny)
    if loaded.design is not None:
        loaded = load_spec(spec, [*tiny, "design.samples=2"])
    plan = plan_experiment(loaded, spec_path=spec)
    assert plan.name == spec.parent.name
    result = run_experiment(plan, tmp_path / "out")
    assert set(plan.spec.kpis) <= set(result.summary["kpi"])
    assert result.computed >= 2 * len(plan.scenarios)
    assert (tmp_path / "out" / "manifest.json").is_file()
    if loaded.design is not None:
        assert result.sensitivity is not None and not result.sensitivity.empty


def test_shipped_experiments_exist() -> None:
    assert {p.parent.name for p in SPECS} >= {
        "planner_capacity",
        "panel_cadence",
        "sensitivity_morris",
    }


# --------------------------------------------------------------------------- command line

APP = """
import typer
from ipcsim.cli.experiment import register
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
register(app)
@app.command()
def version() -> None:
    '''Keeps `experiment` a subcommand.'''
app()
"""


def experiment_cli(*args: str, columns: int = 200) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run(
        [sys.executable, "-c", APP, "experiment", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env=env,
    )


@pytest.mark.slow  # make validate; kept out of make test's 10 minutes
def test_cli_runs_resumes_and_refuses(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    spec = "experiments/planner_capacity/experiment.toml"
    tiny = ["--replications", "2", "--set", "run.horizon_days=90", "--set", "warmup.mode=none"]
    first = experiment_cli(spec, "--out", str(out), *tiny)
    assert first.returncode == 0, first.stderr
    assert "planner_capacity: mean, 95% CI under it" in first.stdout
    assert "Difference from baseline s003 (2 planners, 6 LTC frailty referrals a month)" in (
        " ".join(first.stdout.split())
    )
    assert "24 replications computed, 0 reused" in first.stdout
    again = experiment_cli(spec, "--out", str(out), *tiny)
    assert again.returncode == 2 and "pass --resume" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    resumed = experiment_cli(spec, "--out", str(out), "--resume", *tiny)
    assert resumed.returncode == 0, resumed.stderr
    assert "0 replications computed, 24 reused" in resumed.stdout
    changed = experiment_cli(spec, "--out", str(out), "--resume", "--replications", "3")
    assert changed.returncode == 2 and "changed since" in changed.stderr


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (
            ["experiments/planner_capacity/experiment.toml", "--set", "grid.x=[1]"],
            "unknown factor key",
        ),
        (["experiments/absent/experiment.toml"], "file not found"),
        (
            ["experiments/planner_capacity/experiment.toml", "--target", "wait_x<=soon"],
            "--target wait_x<=soon: 'soon' is not a number",
        ),
        (
            ["experiments/planner_capacity/experiment.toml", "--target", "nonsense"],
            "--target nonsense: expected KPI<=VALUE",
        ),
        (
            [
                "experiments/planner_capacity/experiment.toml",
                "--target",
                "wait_referral_to_first_conversation_meen<=28",
            ],
            "is not a KPI of this experiment (did you mean "
            "wait_referral_to_first_conversation_mean",
        ),
        (["experiments/planner_capacity/experiment.toml", "--executor", "threads:2"], "--executor"),
        (
            [
                "experiments/planner_capacity/experiment.toml",
                "--executor",
                "dask:tcp://127.0.0.1:9",
            ],
            "cannot reach Dask",
        ),
    ],
)
def test_cli_errors_are_one_line_with_status_2(args: list[str], match: str, tmp_path: Path) -> None:
    result = experiment_cli(*args, "--out", str(tmp_path / "out"), "--replications", "1")
    assert result.returncode == 2, result.stdout + result.stderr
    assert match in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_bad_targets_are_refused_before_any_simulation(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = experiment_cli(
        "experiments/planner_capacity/experiment.toml", "--out", str(out), "--target", "x>=y"
    )
    assert result.returncode == 2 and "--target x>=y" in result.stderr
    assert not out.exists() and "scenarios, executor" not in result.stdout


def test_target_prints_the_recommendation_in_80_columns_and_the_report_leads_with_it(
    tmp_path: Path,
) -> None:
    from ipcsim.present.report import write_report

    out = tmp_path / "cli"
    spec = "experiments/planner_capacity/experiment.toml"
    tiny = ["--replications", "2", "--set", "run.horizon_days=120", "--set", "warmup.mode=none"]
    target = "wait_referral_to_first_conversation_mean<=28"
    result = experiment_cli(spec, "--out", str(out), *tiny, "--target", target, columns=80)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    text = " ".join(result.stdout.split())
    # Readable names beside the ids; the recommendation per level of demand, with its criterion.
    assert "s003* │ 2 planners, 6 LTC" in result.stdout
    assert (
        "Recommendation: the smallest level of planners (headcount) that meets each target" in text
    )
    assert "a scenario meets a target when its mean does" in text
    summary = pd.read_parquet(out / "summary.parquet")
    waits = summary[summary["kpi"] == "wait_referral_to_first_conversation_mean"]
    for demand, group in waits.groupby("cohorts.ltc_frailty.referrals_per_month"):
        met = group[group["mean"] <= 28].sort_values("workforce.planner.headcount")
        assert f"At {demand:g} LTC frailty referrals a month:" in text
        if met.empty:
            assert "NO level tried meets it; closest" in text
            continue
        best = met.iloc[0]
        count = int(best["workforce.planner.headcount"])
        planners = f"{count} planner{'s' if count != 1 else ''} ({best['scenario']})"
        assert f"Wait to first conversation, mean <= 28 days: {planners}; mean" in text
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["targets"]["wait_referral_to_first_conversation_mean"]["direction"] == "lower"
    assert manifest["criterion"] == "mean" and len(manifest["recommendations"]) == 3
    assert manifest["question"].startswith("How many planners does a demonstrator-sized site")
    scenarios = pd.read_parquet(out / "scenarios.parquet")
    assert scenarios.loc[scenarios["is_baseline"], "label"].tolist() == [
        "2 planners, 6 LTC frailty referrals a month"
    ]
    # The report opens with the experiment's own question and, without --target again, the
    # recommended option from the manifest.
    html = write_report(out).read_text(encoding="utf-8")
    question = html[html.index('id="question"') : html.index('id="headline"')]
    assert manifest["question"] in question
    headline = html[html.index('id="headline"') : html.index('id="figures"')]
    assert headline.index("recommended: the smallest level of planners") < headline.index(
        "Smallest level of planners (headcount) that meets each target"
    )
    assert "If we grow personalised care from 50 plans" not in html


def test_default_output_folder_is_named_after_the_spec_folder(tmp_path: Path) -> None:
    spec_dir = tmp_path / "my_study"
    spec_dir.mkdir()
    (spec_dir / "experiment.toml").write_text(
        f'base = "{ROOT / "configs" / "lone_practitioner.toml"}"\n'
        'kpis = ["referred"]\n'
        'overrides = ["run.horizon_days=60"]\n'
        "[replications]\nn = 1\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", APP, "experiment", str(spec_dir / "experiment.toml")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "outputs" / "my_study" / "manifest.json").is_file()
    summary = pd.read_parquet(tmp_path / "outputs" / "my_study" / "summary.parquet")
    assert np.isfinite(summary.loc[summary["kpi"] == "referred", "mean"]).all()


# --------------------------------------------------------------------------- full or read-only disk
def fill_the_disk_after(monkeypatch: pytest.MonkeyPatch, writes: int) -> None:
    """Parquet writes fail as on a full disk once ``writes`` have succeeded (this process)."""
    real = pd.DataFrame.to_parquet
    done: list[Any] = []

    def writer(self: pd.DataFrame, path: Any, *args: Any, **kwargs: Any) -> Any:
        if len(done) >= writes:
            Path(path).write_bytes(b"PAR1")  # a torn first block, as a full disk leaves
            raise OSError(errno.ENOSPC, "No space left on device")
        done.append(path)
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", writer)


def hidden_leftovers(out: Path) -> list[Path]:
    return [p for p in out.rglob(".*") if ".tmp-" in p.name]


def test_a_full_disk_is_one_line_and_keeps_finished_replications(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 14: `experiment` on a full disk ended in a pyarrow OSError traceback.
    plan = make_plan()
    out = tmp_path / "full"
    fill_the_disk_after(monkeypatch, writes=4)  # people + timeseries of two cells
    with pytest.raises(OutputError) as raised:
        run_experiment(plan, out)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(
        f"cannot write {out / 'runs' / 's000' / 'rep-001' / 'people.parquet'}: the disk is full"
    )
    assert f"kept in {out}" in message and "--resume" in message
    assert len(list(out.glob("runs/*/rep-*/kpis.json"))) == 2
    assert not hidden_leftovers(out) and not (out / "manifest.json").exists()
    monkeypatch.undo()
    resumed = run_experiment(plan, out, resume=True)
    assert (resumed.reused, resumed.computed) == (2, 4)
    run_experiment(plan, tmp_path / "whole")
    assert_same_outputs(tmp_path / "whole", out)


def test_a_full_disk_at_the_tables_keeps_every_replication(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = make_plan()
    out = tmp_path / "full"
    fill_the_disk_after(monkeypatch, writes=12)  # every cell's tables, none of the outputs
    with pytest.raises(OutputError, match=r"cannot write .*replications\.parquet: the disk"):
        run_experiment(plan, out)
    monkeypatch.undo()
    assert not hidden_leftovers(out)
    resumed = run_experiment(plan, out, resume=True)
    assert (resumed.reused, resumed.computed) == (6, 0)


def permissions_bind() -> bool:
    """Whether folder permissions stop this process (root with CAP_DAC_OVERRIDE ignores them)."""
    if os.name != "posix":
        return False
    if os.geteuid() != 0:
        return True
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return False
    effective = next(
        (line.split()[1] for line in status.splitlines() if line.startswith("CapEff")), ""
    )
    return bool(effective) and not int(effective, 16) & (1 << 1)  # CAP_DAC_OVERRIDE


@pytest.mark.parametrize(
    "lock",
    [
        pytest.param(
            "chmod",
            marks=pytest.mark.skipif(
                not permissions_bind(), reason="folder permissions do not bind this process"
            ),
        ),
        "simulated",  # what chmod does to anyone but root, for a root test run
    ],
)
def test_a_folder_made_read_only_is_one_line_and_resumes(
    lock: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = make_plan()
    out = tmp_path / "locked"
    folders = [out, out / "runs", out / "runs" / "s000", out / "runs" / "s001"]
    real_mkdir = Path.mkdir

    def refused(self: Path, *args: Any, **kwargs: Any) -> None:
        if self.is_relative_to(out) and not self.exists():
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        real_mkdir(self, *args, **kwargs)

    class LockAfterTwo:
        def __init__(self) -> None:
            self.finished = 0

        def __call__(self, event: ProgressEvent) -> None:
            if event.scenario_id is None:
                return
            self.finished += 1
            if self.finished == 2 and lock == "chmod":
                for folder in folders:
                    folder.chmod(0o555)
            elif self.finished == 2:
                monkeypatch.setattr(Path, "mkdir", refused)

    try:
        with pytest.raises(OutputError) as raised:
            run_experiment(plan, out, progress=LockAfterTwo())
    finally:
        monkeypatch.undo()
        for folder in folders:
            folder.chmod(0o755)
    message = str(raised.value)
    assert message.startswith(f"cannot write {out / 'runs' / 's000' / 'rep-001'}: permission")
    assert "\n" not in message and "--resume" in message
    resumed = run_experiment(plan, out, resume=True)
    assert (resumed.reused, resumed.computed) == (2, 4)


FULL_DISK_CLI = textwrap.dedent(
    """
    import errno, sys
    import pandas as pd
    real, done, room = pd.DataFrame.to_parquet, [], int(sys.argv[1])
    def writer(self, path, *args, **kwargs):
        if len(done) >= room:
            raise OSError(errno.ENOSPC, "No space left on device")
        done.append(path)
        return real(self, path, *args, **kwargs)
    pd.DataFrame.to_parquet = writer
    sys.argv = ["ipcsim", *sys.argv[2:]]
    from ipcsim.cli.main import app
    app()
    """
)


def test_cli_on_a_full_disk_exits_2_with_one_line(tmp_path: Path) -> None:
    out = tmp_path / "full"
    args = [
        "experiment", "experiments/planner_capacity/experiment.toml", "--out", str(out),
        "--replications", "1", "--set", "run.horizon_days=60", "--set", "warmup.mode=none",
    ]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", FULL_DISK_CLI, "6", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "people.parquet: the disk is full" in lines[0] and "--resume" in lines[0]
    assert len(list(out.glob("runs/*/rep-*/kpis.json"))) == 3
    resumed = experiment_cli(*args[1:], "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "9 replications computed, 3 reused" in resumed.stdout


# --------------------------------------------------------------------------- issue 14: bounds
@pytest.mark.parametrize(
    ("changes", "key", "says"),
    [
        # accepted, then ran until killed
        ({"replications": {"n": 1e12}}, "replications.n", "10000"),
        ({"replications": {"mode": "auto", "max": 10**9}}, "replications.max", "10000"),
        ({"warmup": {"mode": "mser5", "pilot_replications": 10**7}}, "pilot_replications", ""),
        ({"warmup": {"mode": "mser5", "bin_days": 1e-300}}, "warmup.bin_days", "1"),
        # converted silently
        ({"save_tables": "yes"}, "save_tables", "true or false, not a string"),
        ({"replications": {"n": True}}, "replications.n", "not a boolean"),
        ({"confidence": "0.9"}, "confidence", "not a string"),
        ({"master_seed": 2**64}, "master_seed", ""),
    ],
)
def test_spec_numbers_are_bounded_and_strict(changes: dict[str, Any], key: str, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        spec_from_dict(spec_data(**changes), source="x/experiment.toml")
    message = str(info.value)
    assert message.startswith("x/experiment.toml: ") and "\n" not in message
    assert key in message and says in message, message


def test_too_many_scenarios_are_refused_before_planning() -> None:
    grid = {"workforce.planner.headcount": list(range(1, 401)), "run.seed": list(range(300))}
    with pytest.raises(ConfigError, match=r"plans 120,000 scenarios, more than the 100,000"):
        spec_from_dict(spec_data(grid=grid), source="x/experiment.toml")


def test_a_bad_spec_override_names_the_spec_and_its_overrides_key(tmp_path: Path) -> None:
    # issue 14: `overrides = ["junk"]` reported `--set junk` though no --set was given
    spec_file = tmp_path / "experiment.toml"
    spec_file.write_text(
        f'base = "{ROOT / "configs" / "lone_practitioner.toml"}"\noverrides = ["junk"]\n'
    )
    with pytest.raises(ConfigError) as info:
        load_spec(spec_file)
    message = str(info.value)
    assert message.startswith(str(spec_file)) and "overrides: 'junk': expected key=value" in message
    assert "--set" not in message and "'junk'" in message


def test_a_spec_override_that_clashes_with_the_base_names_the_spec_and_overrides() -> None:
    spec = spec_from_dict(spec_data(overrides=["run=3"]))
    with pytest.raises(ConfigError) as info:
        plan_experiment(spec, spec_path=ROOT / "configs" / "x" / "experiment.toml")
    message = str(info.value)
    assert "experiment.toml: overrides: run=3: 'run' is a value" not in message  # clashes later
    spec = spec_from_dict(spec_data(overrides=["run=3", "run.horizon_days=60"]))
    with pytest.raises(ConfigError) as info:
        plan_experiment(spec, base_dir=ROOT / "configs")
    message = str(info.value)
    assert "overrides: run.horizon_days=60: 'run' is a value, not a table" in message
    assert "--set" not in message and "\n" not in message


def test_a_spec_override_the_scenario_rejects_names_the_spec_the_base_and_the_key() -> None:
    spec = spec_from_dict(spec_data(overrides=["workforce.planner.ipc_share=1e-300"]))
    with pytest.raises(ConfigError) as info:
        plan_experiment(spec, base_dir=ROOT / "configs")
    message = str(info.value)
    assert message.startswith("<spec>: base 'demonstrator_site'")
    assert "workforce.planner.ipc_share: Input should be greater than or equal to 0.01" in message


def test_a_set_that_clashes_with_the_spec_names_the_spec_file() -> None:
    # `--set replications.n=2` on a spec whose replications is a number, not a table
    with pytest.raises(ConfigError) as info:
        spec_from_dict(
            spec_data(replications=14.0), source="x/experiment.toml", overrides=["replications.n=2"]
        )
    message = str(info.value)
    assert message.startswith("x/experiment.toml: --set replications.n=2: 'replications' is")


def test_a_missing_base_file_names_the_base_key(tmp_path: Path) -> None:
    spec = spec_from_dict(spec_data(base="nowhere.toml"))
    with pytest.raises(ConfigError) as info:
        plan_experiment(spec, spec_path=tmp_path / "experiment.toml")
    assert str(info.value).startswith(f"{tmp_path / 'experiment.toml'}: base: ")
    assert "nowhere.toml: file not found" in str(info.value)


@pytest.mark.parametrize(
    "model",
    [
        pytest.param(getattr(__import__("ipcsim.experiment.spec").experiment.spec, name), id=name)
        for name in ("ReplicationSettings", "WarmupSettings", "FactorRangeSpec", "DesignSpec")
    ],
)
def test_spec_descriptions_state_the_bounds(model: Any) -> None:
    from tests.scenario.test_bounds import bounded_fields, shown

    for name, low, high in bounded_fields(model):
        description = model.model_fields[name].description or ""
        for bound in (low, high):
            if bound not in (None, 0, 1):
                assert shown(bound) in description, (model.__name__, name, description)


# --------------------------------------------------------------------------- validate a spec
def validate_cli(*args: str) -> Any:
    from typer.testing import CliRunner

    from ipcsim.cli.main import app

    return CliRunner().invoke(app, ["validate", *args], catch_exceptions=False)


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.parent.name)
def test_validate_checks_a_shipped_spec_and_its_plan(spec: Path) -> None:
    result = validate_cli(str(spec))
    assert result.exit_code == 0, result.stderr
    plan = plan_experiment(load_spec(spec), spec_path=spec)
    assert f"{len(plan.scenarios):,}" in result.stdout and "valid" in result.stdout


def test_validate_a_spec_rejects_what_experiment_would_in_one_line(tmp_path: Path) -> None:
    spec_file = tmp_path / "experiment.toml"
    base = ROOT / "configs" / "lone_practitioner.toml"
    spec_file.write_text(
        f'base = "{base}"\nkpis = ["referred"]\n'
        'overrides = ["workforce.practitioner.ipc_share=1e-300"]\n'
    )
    result = validate_cli(str(spec_file))
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {spec_file}: base 'lone_practitioner'")
    assert "workforce.practitioner.ipc_share: Input should be greater than or equal to 0.01" in line


def test_validate_a_spec_reads_the_backlog_its_overrides_name(tmp_path: Path) -> None:
    # a backlog named by a spec's overrides is found beside the base and read by validate
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "site.toml").write_text((ROOT / "configs" / "lone_practitioner.toml").read_text())
    (configs / "backlog.csv").write_text(
        "person_id,site,cohort,stage,waiting_since\n1,lone_practitioner,nope,referred,2016-01-01\n"
    )
    spec_file = tmp_path / "study" / "experiment.toml"
    spec_file.parent.mkdir()
    spec_file.write_text(
        'base = "../configs/site.toml"\nkpis = ["referred"]\n'
        "overrides = ['initial_state=\"backlog.csv\"']\n"
    )
    result = validate_cli(str(spec_file))
    assert result.exit_code == 2
    assert "backlog.csv: row 2, column cohort: unknown cohort" in result.stderr
    spec_file.write_text(
        'base = "../configs/site.toml"\nkpis = ["referred"]\n'
        "overrides = ['initial_state=\"/etc/passwd\"']\n"
    )
    result = validate_cli(str(spec_file))
    assert result.exit_code == 2 and "outside the scenario's folder" in result.stderr


# --------------------------------------------------------------------------- the question
def test_the_question_falls_back_to_the_description_then_the_base() -> None:
    asked = "How many planners keep the first wait under 8 weeks?"
    assert make_plan(question=asked, description="Planners 1-2.").question == asked
    assert make_plan(description="Planners 1 or 2 under heavier demand.").question == (
        "Planners 1 or 2 under heavier demand."
    )
    base = make_plan().question
    assert base.startswith("A mid-size demonstrator site")  # the demonstrator's description
    # Rewording the question changes no number: a folder started with another still resumes.
    assert make_plan(question=asked).spec_hash == make_plan().spec_hash


def test_the_question_is_bounded_and_set_from_the_command_line() -> None:
    with pytest.raises(ConfigError, match="question"):
        spec_from_dict(spec_data(question="x" * 2_001))
    with pytest.raises(ConfigError, match="question"):
        spec_from_dict(spec_data(question=""))
    spec = spec_from_dict(spec_data(), overrides=['question="Is one planner enough?"'])
    assert spec.question == "Is one planner enough?" and spec.overrides == tuple(
        spec_data()["overrides"]
    )


def test_every_shipped_experiment_states_its_question() -> None:
    for path in SPECS:
        question = load_spec(path).question
        assert question and question.rstrip().endswith("?"), path
