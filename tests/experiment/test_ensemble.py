"""A posterior ensemble carried into experiments and plans: one interval per KPI over the draws.

What the tests claim
--------------------
- An experiment run on a posterior ensemble reports wider intervals than the same experiment on
  the point estimate, and says that they carry parameter uncertainty (summary.parquet, the
  manifest, the printed output). The case: a site whose referral rate, the parameter that moves
  demand most, has a posterior from 10 to 52 referrals a month (about what one month of counts
  leaves, the prior being 5 to 80). Over one month the stochastic sd of people referred is
  about 5.6 and the parameter's about 14, so the ensemble's sd is about 2.7 times the point
  estimate's; with 8 replications each, the chance that the sample sd ratio falls below 1.5
  when the true ratio is 2.7 is about 5 % (F(7, 7) above 3.2), less with common random
  numbers (both runs share replication r's streams). With fixed seeds the test cannot flap;
  this is how often it would fail over random seeds.
- Replication r runs on draw r mod n, the same draw in every scenario, whatever the executor.
- A malformed ensemble or one that clashes with the experiment's factors is refused in one line.
- (slow) The whole chain: `ipcsim calibrate` writes the ensemble, `ipcsim experiment` runs its
  own experiment.toml over it, and `ipcsim plan` judges targets over it and says so.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ipcsim.cli.main import app
from ipcsim.errors import ConfigError
from ipcsim.experiment import load_spec, plan_experiment, run_experiment
from ipcsim.experiment.calibration import (
    load_calibration_spec,
    prepare_calibration,
    run_calibration,
)
from ipcsim.experiment.planning.problem import prepare_plan
from ipcsim.experiment.planning.run import run_plan
from ipcsim.experiment.planning.spec import load_plan_spec
from ipcsim.units import DAYS_PER_MONTH, HOURS_PER_DAY
from tests.experiment.planning_cases import queue_scenario, write_case

ROOT = Path(__file__).resolve().parents[2]
SYNTHETIC = ROOT / "experiments" / "calibration_synthetic"
RATE = "cohorts.ltc.referrals_per_month"
POSTERIOR_RATES = [10.0 + 6.0 * i for i in range(8)]  # 10 to 52 a month
"""A posterior of the referral rate as one month of counts leaves it (prior 5 to 80)."""


def _draws(path: Path, key: str, values: list[float], also: tuple[str, ...] = ()) -> Path:
    """A ``draws.json`` as ``ipcsim calibrate`` writes it."""
    record = {
        "format_version": 1,
        "kind": "posterior_ensemble",
        "calibration": "two_months",
        "parameters": {key: {"also": list(also), "integer": False}},
        "draws": [
            {"draw": f"draw-{i:03d}", "particle": i, "values": {key: v}}
            for i, v in enumerate(values)
        ],
    }
    path.mkdir(parents=True, exist_ok=True)
    (path / "draws.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    return path


def _site(tmp_path: Path, extra: str = "", replications: int = 8, name: str = "spec") -> Path:
    shutil.copy(SYNTHETIC / "site.toml", tmp_path / "site.toml")
    spec = tmp_path / f"{name}.toml"
    spec.write_text(
        f"""
name = "site"
base = "site.toml"
master_seed = 11
overrides = ["run.horizon_days=30", "{RATE}=31"]   # the posterior median
kpis = ["referred"]
save_tables = false
{extra}
[replications]
n = {replications}
""",
        encoding="utf-8",
    )
    return spec


def test_an_experiment_on_the_posterior_ensemble_reports_wider_intervals_and_says_so(
    tmp_path: Path,
) -> None:
    _draws(tmp_path / "calibration" / "ensemble", RATE, POSTERIOR_RATES)
    point_spec = _site(tmp_path, name="point")
    pooled_spec = _site(tmp_path, 'ensemble = "calibration"', name="pooled")
    point = run_experiment(
        plan_experiment(load_spec(point_spec), spec_path=point_spec), tmp_path / "p"
    )
    done = CliRunner().invoke(
        app, ["experiment", str(pooled_spec), "--out", str(tmp_path / "e")], terminal_width=100
    )
    assert done.exit_code == 0, done.output
    pooled = pd.read_parquet(tmp_path / "e" / "summary.parquet").set_index("kpi")
    alone = point.summary.set_index("kpi")
    row, base = pooled.loc["referred"], alone.loc["referred"]
    # One interval per KPI over the draws, wider than the point estimate's: the mean's CI, the
    # 90 % predictive interval and the sd.
    assert row["n"] == base["n"] == 8
    assert row["half_width"] > 1.5 * base["half_width"]
    assert row["pi_high"] - row["pi_low"] > 1.5 * (base["pi_high"] - base["pi_low"])
    assert row["sd"] > 1.5 * base["sd"]
    # ... and says so, in the table, the manifest and the output.
    assert set(pooled["uncertainty"]) == {"stochastic and parameter"}
    assert set(alone["uncertainty"]) == {"stochastic"}
    manifest = json.loads((tmp_path / "e" / "manifest.json").read_text())
    assert manifest["uncertainty"] == "stochastic and parameter"
    ensemble = manifest["ensemble"]
    assert ensemble["draws"] == 8 and ensemble["parameters"] == [RATE]
    assert ensemble["runs_per_draw"] == {"least": 1, "most": 1}
    assert json.loads((tmp_path / "p" / "manifest.json").read_text())["ensemble"] is None
    text = " ".join(done.output.split())
    assert "Intervals carry parameter uncertainty as well as stochastic noise" in text
    assert "draw r mod 8" in text and "90% predictive interval" in text


def test_replication_r_runs_on_draw_r_mod_n_in_every_scenario(tmp_path: Path) -> None:
    _draws(tmp_path / "ens", RATE, [10.0, 20.0, 30.0], also=())
    spec = _site(
        tmp_path,
        'ensemble = "ens/draws.json"\n[grid]\n"workforce.planner.headcount" = [2, 4]',
        replications=4,
    )
    plan = plan_experiment(load_spec(spec), spec_path=spec)
    assert plan.ensemble is not None and plan.ensemble.size == 3
    for planned in plan.scenarios:
        rates = [planned.scenario_for(r).cohorts["ltc"].referrals_per_month for r in range(5)]
        assert rates == [10.0, 20.0, 30.0, 10.0, 20.0]
        assert (
            planned.scenario_for(0).workforce["planner"].headcount
            == planned.levels["workforce.planner.headcount"]
        )
    assert plan.ensemble.uses(4) == [2, 1, 1]
    assert "the first 1 count once more" in plan.ensemble.describe(4)
    # Another ensemble is another experiment: a resumed folder must not mix them.
    _draws(tmp_path / "ens", RATE, [10.0, 20.0, 31.0])
    again = plan_experiment(load_spec(spec), spec_path=spec)
    assert again.spec_hash != plan.spec_hash


@pytest.mark.parametrize(
    ("draws", "extra", "message"),
    [
        (None, "", "not a posterior ensemble"),
        ({"parameters": {}, "draws": []}, "", "'parameters' must name"),
        (
            {"parameters": {RATE: {}}, "draws": [{"values": {RATE: "many"}}]},
            "",
            "must be a finite number",
        ),
        (
            {
                "parameters": {"cohorts.ltc.nonsense": {}},
                "draws": [{"values": {"cohorts.ltc.nonsense": 1}}],
            },
            "",
            "unknown factor key",
        ),
        (
            {"parameters": {RATE: {}}, "draws": [{"values": {RATE: 20}}]},
            f'[grid]\n"{RATE}" = [10, 20]',
            "both a calibrated parameter of the ensemble and a factor",
        ),
    ],
)
def test_a_bad_ensemble_is_refused_in_one_line_naming_the_spec_and_the_key(
    tmp_path: Path, draws: dict | None, extra: str, message: str
) -> None:
    (tmp_path / "ens").mkdir()
    if draws is not None:
        (tmp_path / "ens" / "draws.json").write_text(json.dumps(draws), encoding="utf-8")
    spec = _site(tmp_path, 'ensemble = "ens"\n' + extra)
    with pytest.raises(ConfigError, match=message) as found:
        plan_experiment(load_spec(spec), spec_path=spec)
    text = str(found.value)
    assert "\n" not in text and str(spec) in text and "ensemble" in text


# --------------------------------------------------------------------------- the whole chain
PLAN = """
name = "mmc"
base = "queue.toml"
targets = ["share_seen_within_0.01w >= 0.96"]
cost = "headcount"
{ensemble}
[roles.planner]
low = 1
high = 8

[replications]
initial = 3
step = 3
max = 6
final = 10
"""


@pytest.mark.slow  # 40 s to 4 minutes on 2 shared cores, by their load: make validate
def test_a_plan_on_the_ensemble_judges_targets_over_the_draws_and_says_so(tmp_path: Path) -> None:
    # M/M/c, one-hour sessions; 4 arrivals an hour is the point estimate, the posterior 3.2
    # to 4.8. The point estimate's answer is 6 planners (Erlang C: P(wait > 1.68 h) 0.0099);
    # over the draws the share seen in time varies more, so its interval is wider.
    scenario = queue_scenario(arrivals_per_hour=4.0, horizon_days=12, seed=7, weeks=0.01)
    per_month = HOURS_PER_DAY * DAYS_PER_MONTH
    key = "cohorts.arrivals.referrals_per_month"
    found = {}
    for name, ensemble in (("point", ""), ("pooled", 'ensemble = "ens"')):
        path = write_case(tmp_path / name, scenario, PLAN.format(ensemble=ensemble))
        _draws(tmp_path / name / "ens", key, [a * per_month for a in (3.2, 3.6, 4.0, 4.4, 4.8)])
        problem = prepare_plan(load_plan_spec(path), spec_path=path)
        found[name] = run_plan(problem, tmp_path / name / "out", executor="serial")
    point, pooled = found["point"].recommendation, found["pooled"].recommendation
    assert point["uncertainty"] == "stochastic" and point["ensemble"] is None
    assert pooled["uncertainty"] == "stochastic and parameter"
    assert pooled["ensemble"]["rule"].startswith("replication r runs on draw r mod 5")
    assert pooled["configuration"]["planner"] >= point["configuration"]["planner"]
    stem = "share_seen_within_0.01w"
    frames = {n: r.frontier.set_index("planner") for n, r in found.items()}
    six = {n: f.loc[6] for n, f in frames.items()}
    assert six["point"]["replications"] == six["pooled"]["replications"]
    width = {n: s[f"{stem}_ci_high"] - s[f"{stem}_ci_low"] for n, s in six.items()}
    assert width["pooled"] > width["point"]
    manifest = json.loads((tmp_path / "pooled" / "out" / "manifest.json").read_text())
    assert manifest["uncertainty"] == "stochastic and parameter"


@pytest.mark.slow  # about 40 s: make validate
def test_calibrate_then_experiment_on_its_own_ensemble_and_the_same_on_two_workers(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "synthetic"
    shutil.copytree(SYNTHETIC, folder)
    two_months = (SYNTHETIC / "observed.csv").read_text().splitlines()[:3]
    (folder / "observed.csv").write_text("\n".join(two_months) + "\n", encoding="utf-8")
    spec_path = folder / "calibrate.toml"
    small = [
        "run.horizon_days=61",
        "series=['referrals']",
        "abc.population=8",
        "abc.generations=1",
        "outputs.predictive_draws=10",
        "outputs.ensemble_size=4",
    ]
    problem = prepare_calibration(load_calibration_spec(spec_path, small), spec_path=spec_path)
    run_calibration(problem, tmp_path / "cal", executor="serial")
    ensemble = tmp_path / "cal" / "ensemble"
    draws = json.loads((ensemble / "draws.json").read_text())
    assert len(draws["draws"]) == 4 and set(draws["draws"][0]["values"]) == set(problem.keys)
    own = ensemble / "experiment.toml"
    outs = {}
    for executor in ("serial", "process:2"):
        out = tmp_path / executor.replace(":", "-")
        done = CliRunner().invoke(
            app,
            ["experiment", str(own), "--out", str(out), "--executor", executor,
             "--replications", "8", "--set", "kpis=['referred']"],
        )  # fmt: skip
        assert done.exit_code == 0, done.output
        outs[executor] = pd.read_parquet(out / "summary.parquet")
        assert "parameter uncertainty" in " ".join(done.output.split())
    pd.testing.assert_frame_equal(outs["serial"], outs["process:2"])
    assert not math.isnan(outs["serial"]["pi_low"].iloc[0])
