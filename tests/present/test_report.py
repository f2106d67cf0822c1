"""The report and folder reading: self-contained HTML, STRESS-DES items, parameters, errors.

Experiment folders are built here from synthetic numbers (:func:`make_experiment_folder`),
following the output contract of ``ipcsim experiment``, so these tests do not depend on the
experiments module.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from ipcsim.errors import OutputError
from ipcsim.present import report
from ipcsim.present.report import PlotOptions, read_folder, render_report, write_report
from ipcsim.run import run_scenario, write_run
from ipcsim.scenario import Scenario
from tests.conftest import CONFIGS, make_scenario

FACTOR = "workforce.planner.headcount"
SECOND = "cohorts.ltc.referrals_per_month"
HEADCOUNTS = (1, 2, 3, 4, 6)
REFERRALS = (8.0, 16.0)
KPIS = (
    "wait_referral_to_first_conversation_mean",
    "plans_signed_off_per_year",
    "utilisation_planner",
)
MONTHS = [f"{2016 + (3 + m) // 12}-{(3 + m) % 12 + 1:02d}-01" for m in range(12)]


def _ci(values: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, sd, and the 95 % Student-t interval of ``values``."""
    mean = float(np.mean(values))
    sd = float(np.std(values, ddof=1))
    half = float(sps.t.ppf(0.975, values.size - 1) * sd / np.sqrt(values.size))
    return mean, sd, mean - half, mean + half


def make_experiment_folder(
    path: Path,
    *,
    replications: int = 8,
    sensitivity: bool = False,
    seed: int = 7,
    second_factor: bool = True,
    manifest_extra: dict[str, Any] | None = None,
) -> Path:
    """A planner-capacity experiment folder with synthetic results, per the output contract.

    Scenarios: planners (``HEADCOUNTS``) x LTC referrals (``REFERRALS``, when
    ``second_factor``); baseline: 2 planners, 8 referrals. Waits fall and throughput rises with
    planners; per-replication timeseries are written for the baseline and the 4-planner
    scenarios.
    """
    rng = np.random.default_rng(seed)
    path.mkdir(parents=True)
    referrals = REFERRALS if second_factor else REFERRALS[:1]
    scenario_rows, rep_rows = [], []
    for h in HEADCOUNTS:
        for r in referrals:
            name = f"planners-{h}" + (f"-ltc-{r:g}" if second_factor else "")
            scenario_rows.append(
                {
                    "scenario": name,
                    FACTOR: h,
                    SECOND: r,
                    "is_baseline": h == 2 and r == REFERRALS[0],
                }
            )
            load = r / 8.0 / h
            for rep in range(replications):
                values = {
                    KPIS[0]: 4.0 + 30.0 * load + rng.normal(0.0, 1.5),
                    KPIS[1]: 12 * r * 0.7 * min(1.0, 1.2 / load) + rng.normal(0.0, 4.0),
                    KPIS[2]: min(0.97, 0.45 * load) + rng.normal(0.0, 0.02),
                }
                rep_rows += [
                    {"scenario": name, "replication": rep, "kpi": k, "value": float(v)}
                    for k, v in values.items()
                ]
    scenarios = pd.DataFrame(scenario_rows)
    if not second_factor:
        scenarios = scenarios.drop(columns=[SECOND])
    reps = pd.DataFrame(rep_rows)
    factors = scenarios.drop(columns=["is_baseline"])
    summary_rows = []
    for (name, kpi), group in reps.groupby(["scenario", "kpi"], sort=False):
        mean, sd, low, high = _ci(group["value"].to_numpy())
        summary_rows.append(
            {
                "scenario": name,
                "kpi": kpi,
                "mean": mean,
                "sd": sd,
                "n": len(group),
                "ci_low": low,
                "ci_high": high,
                "half_width": (high - low) / 2,
            }
        )
    summary = pd.DataFrame(summary_rows).merge(scenarios, on="scenario")
    baseline = str(scenarios.loc[scenarios["is_baseline"], "scenario"].iloc[0])
    paired_rows = []
    base = reps[reps["scenario"] == baseline].set_index(["kpi", "replication"])["value"]
    for (name, kpi), group in reps.groupby(["scenario", "kpi"], sort=False):
        if name == baseline:
            continue
        diff = group.set_index("replication")["value"] - base.loc[kpi]
        mean, sd, low, high = _ci(diff.to_numpy())
        paired_rows.append(
            {
                "scenario": name,
                "baseline": baseline,
                "kpi": kpi,
                "mean_diff": mean,
                "sd_diff": sd,
                "n": len(diff),
                "ci_low": low,
                "ci_high": high,
                "half_width": (high - low) / 2,
                "variance_reduction": 3.0,
            }
        )
    paired = pd.DataFrame(paired_rows).merge(factors, on="scenario")
    scenarios.to_parquet(path / "scenarios.parquet", index=False)
    reps.to_parquet(path / "replications.parquet", index=False)
    summary.to_parquet(path / "summary.parquet", index=False)
    paired.to_parquet(path / "paired.parquet", index=False)
    if sensitivity:
        params = [
            FACTOR,
            "signoff.panel.interval_days",
            "pathway.plan_writing_hours",
            "cohorts.ltc.offer_acceptance",
        ]
        sens_rows = []
        for kpi in KPIS[:2]:
            for i, p in enumerate(params):
                value = float(rng.uniform(0.5, 10.0) * (1 if i % 3 else -1))
                for index, v, half in (
                    ("mu", value, np.nan),
                    ("mu_star", abs(value), 0.3 * abs(value)),
                    ("sigma", abs(value) / 2, np.nan),
                ):
                    sens_rows.append(
                        {
                            "method": "morris",
                            "kpi": kpi,
                            "parameter": p,
                            "index": index,
                            "value": v,
                            "ci_low": v - half,
                            "ci_high": v + half,
                        }
                    )
        pd.DataFrame(sens_rows).to_parquet(path / "sensitivity.parquet", index=False)
    four = "planners-4" + (f"-ltc-{REFERRALS[0]:g}" if second_factor else "")
    for name in (baseline, four):
        for rep in range(replications):
            folder = path / "runs" / name / f"rep-{rep:03d}"
            folder.mkdir(parents=True, exist_ok=True)
            pd.DataFrame(
                {
                    "month": MONTHS,
                    "site": "test",
                    "referrals": rng.poisson(12, len(MONTHS)),
                    "plans_signed_off": rng.poisson(8, len(MONTHS)),
                    "budgets_released": rng.poisson(4, len(MONTHS)),
                }
            ).to_parquet(folder / "timeseries.parquet", index=False)
    config = make_scenario().model_dump(mode="json", by_alias=True)
    manifest = {
        "kind": "experiment",
        "config": config,
        "master_seed": seed,
        "replications": replications,
        "warmup": {"mode": "none"},
        "versions": {"python": "3.11.7", "simpy": "4.1.2"},
        "platform": {"system": "Linux", "machine": "x86_64", "cpu_count": 2},
        "wall_time_s": 12.5,
        "git_commit": "0123456789abcdef",
        "git_dirty": False,
        "ipcsim_version": "0.1.0",
        **(manifest_extra or {}),
    }
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short run of the test scenario, written as a run folder."""
    scenario = make_scenario({"run": {"horizon_days": 240}})
    return write_run(run_scenario(scenario), tmp_path_factory.mktemp("run") / "out")


@pytest.fixture(scope="module")
def run_html(run_dir: Path) -> str:
    return render_report(read_folder(run_dir))


class _Links(HTMLParser):
    """Every tag and every URL-bearing attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[tuple[str, str, str]] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in {"src", "href", "srcset", "poster", "data", "action"} and value is not None:
                self.urls.append((tag, name, value))
            if name == "id" and value:
                self.ids.append(value)


def _parse(text: str) -> _Links:
    parser = _Links()
    parser.feed(text)
    return parser


# --------------------------------------------------------------------------- folders
def test_read_folder_tells_runs_from_experiments(run_dir: Path, tmp_path: Path) -> None:
    run = read_folder(run_dir)
    experiment = read_folder(make_experiment_folder(tmp_path / "exp"))
    assert isinstance(run, report.RunFolder)
    assert isinstance(run.scenario, Scenario)
    assert run.scenario.run.horizon_days == 240
    assert isinstance(experiment, report.ExperimentFolder)
    assert experiment.factors == [FACTOR, SECOND]
    assert experiment.baseline == "planners-2-ltc-8"
    assert experiment.scenario is not None and experiment.scenario.name == "test"


def test_read_folder_rejects_other_folders_with_one_line(tmp_path: Path) -> None:
    with pytest.raises(report.ReportError, match="not an ipcsim run folder"):
        read_folder(tmp_path)
    with pytest.raises(report.ReportError, match="no such folder"):
        read_folder(tmp_path / "missing")


def test_corrupt_run_folder_is_an_output_error(run_dir: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    (copy / "timeseries.parquet").write_bytes(b"not parquet")
    with pytest.raises(OutputError, match="timeseries.parquet"):
        read_folder(copy)


def test_experiment_folder_missing_summary_is_named(tmp_path: Path) -> None:
    folder = make_experiment_folder(tmp_path / "exp")
    (folder / "summary.parquet").unlink()
    with pytest.raises(OutputError, match=r"summary\.parquet: missing"):
        read_folder(folder)


def test_replication_timeseries_stacks_every_replication(tmp_path: Path) -> None:
    folder = read_folder(make_experiment_folder(tmp_path / "exp", replications=5))
    assert isinstance(folder, report.ExperimentFolder)
    frame = report.replication_timeseries(folder, folder.baseline)
    assert sorted(frame["replication"].unique()) == [0, 1, 2, 3, 4]
    one = pd.read_parquet(folder.path / "runs" / folder.baseline / "rep-003" / "timeseries.parquet")
    mine = frame[frame["replication"] == 3].drop(columns="replication").reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, one)
    assert report.replication_timeseries(folder, "nope").empty


# --------------------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("number of planning conversations, sessions (P16)", "P16"),
        ("monthly probability (P53; x2 for frail or dementia cohorts, P54)", "P53, P54"),
        ("cost per staff hour, pounds (P60: Band 6 salary basis)", "P60"),
        ("panel members at a sitting (site 8 PHB panel: 3, §1.6)", "§1.6"),
        ("simulated days from the start date (assumption)", "assumption"),
        ("budget per person per year, pounds (P41: 750; shape assumption)", "P41, assumption"),
        ("staff hours per person by role name", ""),
    ],
)
def test_evidence_ids_come_from_the_description(description: str, expected: str) -> None:
    assert report.evidence_ids(description) == expected


def test_parameter_rows_carry_the_schema_evidence_and_who_set_them() -> None:
    config = make_scenario().model_dump(mode="json", by_alias=True)
    rows = {r["parameter"]: r for r in report.parameter_rows(config)}
    fields = Scenario.model_fields
    planner = rows["workforce.planner.headcount"]
    assert planner["value"] == "2" and planner["set_by"] == "scenario"
    assert (
        report.evidence_ids(
            fields["workforce"].annotation.__args__[1].model_fields["headcount"].description  # type: ignore[union-attr]
        )
        == planner["evidence"]
    )
    panel = rows["signoff.panel.interval_days"]
    assert panel["evidence"] == "P27" and panel["set_by"] == "default"
    assert (
        rows["run.horizon_days"]["value"] == "365"
        and rows["run.horizon_days"]["set_by"] == "scenario"
    )
    assert rows["cohorts.ltc.sessions"]["value"].startswith("1-3")


def test_every_parameter_of_every_shipped_config_has_a_description() -> None:
    from ipcsim.scenario.load import load_scenario

    for path in CONFIGS:
        config = load_scenario(path).model_dump(mode="json", by_alias=True)
        rows = report.parameter_rows(config, key_only=False)
        assert len(rows) > 60
        undocumented = [r["parameter"] for r in rows if not r["meaning"]]
        # Only leaf keys inside free-form maps (effort hours by role) may lack their own text.
        assert all(".effort_hours" in p or p.endswith(".label") for p in undocumented), undocumented
        for row in rows:
            for found in re.findall(r"P\d{2}", row["evidence"]):
                assert 1 <= int(found[1:]) <= 80


# --------------------------------------------------------------------------- HTML
def test_run_report_is_self_contained(run_html: str) -> None:
    page = _parse(run_html)
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    assert page.urls, "expected images and in-page links"
    for tag, name, value in page.urls:
        if tag == "img":
            assert name == "src" and value.startswith(
                ("data:image/png;base64,", "data:image/svg+xml;base64,")
            )
        else:
            assert value.startswith("#"), (tag, name, value)
            assert value[1:] in page.ids, f"dangling in-page link {value}"
    assert not re.search(r"url\(|@import|https?://", run_html.split("<body>")[0])


def test_run_report_has_the_stress_des_items_and_marks_what_to_write(run_html: str) -> None:
    numbers = re.findall(r'<tr id="stress-([\d.]+)"', run_html)
    assert numbers == [
        "1.1",
        "1.2",
        "1.3",
        "2.1",
        "2.2",
        "2.3",
        "2.4",
        "2.5.1",
        "2.5.2",
        "2.5.3",
        "2.5.4",
        "2.5.5",
        "3.1",
        "3.2",
        "3.3",
        "3.4",
        "4.1",
        "4.2",
        "4.3",
        "5.1",
        "5.2",
        "5.3",
        "5.4",
        "6.1",
    ]
    todo_rows = re.findall(r'<tr id="stress-([\d.]+)" class="todo-row"', run_html)
    assert todo_rows == ["1.3", "3.2", "6.1"]
    callout = re.search(r"<b>(\d+) STRESS-DES items still to write", run_html)
    assert callout is not None and int(callout.group(1)) == len(todo_rows)
    for number in todo_rows:
        assert f'href="#stress-{number}"' in run_html


def test_run_report_fills_items_from_config_and_manifest(run_dir: Path, run_html: str) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert f"seed {manifest['seed']}" in run_html
    assert manifest["git_commit"] is None or manifest["git_commit"] in run_html
    assert "SimPy" in run_html and f"simpy {manifest['versions']['simpy']}" in run_html
    assert f"{manifest['platform']['cpu_count']} CPUs" in run_html
    assert f"wall time {manifest['wall_time_s']:.1f} s" in run_html
    assert "240 days (0.7 years)" in run_html
    assert f"{len(manifest['rng_streams'])} named" in run_html
    assert "no warm-up period is removed" in run_html


def test_run_report_headline_equals_the_summary(run_dir: Path, run_html: str) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())
    plans = summary["last_12_months"]["plans_signed_off"]
    assert (
        f'<div class="value">{plans:,}</div><div class="label">plans signed off in the last '
        "12 months" in run_html
    )
    wait = summary["waits_days"]["referral_to_first_conversation"]
    assert f'<div class="value">{wait["p50"]:.0f}</div>' in run_html
    assert f"90th percentile {wait['p90']:.0f} days" in run_html
    share = wait["share_within_8w"]
    assert f'<div class="value">{100 * share:.0f}%</div>' in run_html
    for year in summary["per_year"]:
        assert f"<td>{year['start']}</td>" in run_html
    cost = summary["staff_cost_per_person_gbp"]["total"]
    assert f"£{cost:,.0f}" in run_html
    assert "One replication" in run_html


def test_run_report_scenario_table_shows_evidence(run_html: str) -> None:
    row = re.search(
        r"<code>signoff\.panel\.interval_days</code></td><td>(.*?)</td><td>(.*?)</td>"
        r"<td>(.*?)</td>",
        run_html,
    )
    assert row is not None
    assert row.group(1) == "14" and "between sittings" in row.group(2) and row.group(3) == "P27"


def test_experiment_report_shows_cis_from_the_summary(tmp_path: Path) -> None:
    folder = make_experiment_folder(tmp_path / "exp")
    target = 12.0
    html = render_report(read_folder(folder), options=PlotOptions(targets={KPIS[0]: target}))
    summary = pd.read_parquet(folder / "summary.parquet")
    # The cards lead with the recommended option: the fewest planners whose mean meets the
    # target at the baseline's demand, then that scenario's figures with their CIs.
    waits = summary[(summary["kpi"] == KPIS[0]) & (summary[SECOND] == REFERRALS[0])]
    best = waits[waits["mean"] <= target].sort_values(FACTOR).iloc[0]
    headline = html[html.index('id="headline"') : html.index('id="figures"')]
    first_card = re.search(r'<div class="card"><div class="value">(.*?)</div>', headline)
    assert first_card is not None
    assert first_card.group(1) == f"{int(best[FACTOR])} planners"
    assert "recommended: the smallest level of planners (headcount)" in headline
    assert f"95% CI {best['ci_low']:.1f} to {best['ci_high']:.1f}" in headline
    assert headline.index("recommended") < headline.index("Smallest level of planners")
    assert "(baseline)" not in headline.split("Smallest level")[0]
    for _, row in summary[summary["kpi"] == KPIS[0]].iterrows():
        cell = f"{row['mean']:.1f}" + (" ✓" if row["mean"] <= target else "")
        assert f"{cell}<br><small>{row['ci_low']:.1f}–{row['ci_high']:.1f}</small>" in html
    assert "Differences from the baseline" in html
    assert "8 replications per scenario (10 scenarios), master seed 7" in html
    assert 'id="stress-4.1" class=""' in html  # warm-up recorded in the manifest
    assert "No warm-up period is removed (the spec asks for none)" in html
    assert 'id="stress-1.3" class="todo-row"' in html


def test_experiment_question_in_manifest_fills_the_aims(tmp_path: Path) -> None:
    question = "How many planners keep the first wait under 12 days?"
    folder = make_experiment_folder(tmp_path / "exp", manifest_extra={"question": question})
    html = render_report(read_folder(folder))
    assert question in html
    assert 'id="stress-1.3" class=""' in html


def test_experiment_spec_sets_aims_kpis_warmup_and_replication_rule(tmp_path: Path) -> None:
    spec = {
        "description": "Waits for 1-6 planners as LTC demand doubles.",
        "kpis": [KPIS[1], KPIS[0]],
        "replications": {"mode": "precision", "relative_precision": 0.05, "max": 50},
        "warmup": {"mode": "mser5", "pilot_replications": 4},
    }
    warmup = {"mode": "mser5", "days": {KPIS[0]: 35.0, KPIS[1]: 70.0, KPIS[2]: 0.0}}
    folder = make_experiment_folder(
        tmp_path / "exp", manifest_extra={"spec": spec, "warmup": warmup}
    )
    experiment = read_folder(folder)
    html = render_report(experiment)
    assert spec["description"] in html and 'id="stress-1.3" class=""' in html
    assert "MSER-5" in html and "4 pilot replications" in html
    assert f"from 0 to 70 days ({KPIS[1]} 70 d, {KPIS[0]} 35 d)" in html
    assert "within 0.05 of the mean" in html and "at most 50" in html
    # The headline table follows the spec's KPIs, in its order.
    header = re.search(r"<table class=\"compact\"><thead><tr>(.*?)</tr>", html)
    assert header is not None
    assert header.group(1).index("Plans signed off per year") < header.group(1).index("Mean wait")


def test_write_report_writes_report_html_atomically(run_dir: Path, tmp_path: Path) -> None:
    path = write_report(run_dir)
    assert path == run_dir / "report.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not list(run_dir.glob(".report.html.tmp-*"))
    # The run folder still reads back (the report is not a listed output).
    assert isinstance(read_folder(run_dir), report.RunFolder)
    other = write_report(run_dir, out=tmp_path / "r.html", image_format="svg")
    assert "data:image/svg+xml;base64," in other.read_text(encoding="utf-8")


def test_wrong_kind_for_folder_is_a_report_error(run_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(report.ReportError, match="--kind capacity: not a figure of a run"):
        report.build_figures(read_folder(run_dir), kinds=["capacity"])
    experiment = read_folder(make_experiment_folder(tmp_path / "exp"))
    with pytest.raises(report.ReportError, match="--kind waits: not a figure of an experiment"):
        report.build_figures(experiment, kinds=["waits"])
    with pytest.raises(report.ReportError, match="--factor nope: not a factor"):
        report.build_figures(experiment, kinds=["capacity"], options=PlotOptions(factor="nope"))
    with pytest.raises(report.ReportError, match="--kpi nope: not in summary"):
        report.build_figures(experiment, kinds=["capacity"], options=PlotOptions(kpis=["nope"]))


def test_save_figures_writes_one_file_per_figure(run_dir: Path, tmp_path: Path) -> None:
    figures = report.build_figures(read_folder(run_dir), kinds=["waits", "queues"])
    paths = report.save_figures(figures, tmp_path / "plots", image_format="svg")
    assert [p.name for p in paths] == ["waits.svg", "queues.svg"]
    assert all(p.read_text(encoding="utf-8").lstrip().startswith("<?xml") for p in paths)


# --------------------------------------------------------------------------- command line
_APP = (
    "import typer; from ipcsim.cli.plot import register; "
    "app = typer.Typer(pretty_exceptions_enable=False, add_completion=False); "
    "register(app); app()"
)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the plot/report commands as ``cli.py`` will register them.

    A wide terminal, so a long temporary path is never wrapped inside a word.
    """
    return subprocess.run(
        [sys.executable, "-c", _APP, *args], capture_output=True, text=True, timeout=120,
        check=False, env={**os.environ, "COLUMNS": "400"},
    )  # fmt: skip


def test_plot_command_writes_the_figures_asked_for(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "figs"
    result = _cli("plot", str(run_dir), "--kind", "waits,queues", "--kind", "pathway",
                  "--format", "svg", "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "pathway.svg",
        "plots.json",
        "queues.svg",
        "waits.svg",
    ]
    assert result.stdout.count("wrote ") == 3


def test_report_command_writes_and_prints_the_report(tmp_path: Path) -> None:
    folder = make_experiment_folder(tmp_path / "exp")
    result = _cli("report", str(folder), "--target", f"{KPIS[0]}<=12",
                  "--trajectory", "50:5000")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"Report: {folder / 'report.html'}" in " ".join(result.stdout.split())
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "Smallest level of planners (headcount) that meets each target" in html


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "wait_x<=soon"], "--target wait_x<=soon: 'soon' is not a number"),
        (["--target", "nonsense"], "--target nonsense: expected KPI<=VALUE"),
        (["--trajectory", "50"], "--trajectory 50: expected START:END"),
        (["--kind", "capacity"], "--kind capacity: not a figure of a run folder"),
        (["--kind", "nope"], "--kind nope: not a figure of a run folder"),
    ],
)
def test_bad_options_give_one_line_and_status_2(
    run_dir: Path, args: list[str], message: str
) -> None:
    result = _cli("plot", str(run_dir), *args)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert message in " ".join(result.stderr.split())


def test_report_of_a_folder_that_is_not_one_fails_cleanly(tmp_path: Path) -> None:
    result = _cli("report", str(tmp_path))
    assert result.returncode == 2
    assert "not an ipcsim run folder" in result.stderr and "Traceback" not in result.stderr


def test_parse_options_reads_directions_lines_and_trajectory() -> None:
    from ipcsim.cli.plot import parse_options

    options = parse_options(
        targets=["wait_referral_to_sign_off_p90<=30", "plans_signed_off_per_year>=1,000",
                 "utilisation_planner=0.85"],
        trajectory="50:5000",
        cost_lines=["Break-even at £13,000/QALY=120"],
    )  # fmt: skip
    assert options.targets == {"wait_referral_to_sign_off_p90": 30.0,
                               "plans_signed_off_per_year": 1000.0,
                               "utilisation_planner": 0.85}  # fmt: skip
    assert options.directions == {"wait_referral_to_sign_off_p90": "lower",
                                  "plans_signed_off_per_year": "higher"}  # fmt: skip
    assert options.trajectory == (50.0, 5000.0)
    assert options.cost_lines == {"Break-even at £13,000/QALY": 120.0}
    assert parse_options().cost_lines == report.DEFAULT_COST_LINES
    assert parse_options(no_cost_lines=True).cost_lines == {}


def test_scenario_targets_become_the_throughput_trajectory(tmp_path: Path) -> None:
    scenario = make_scenario({
        "run": {"horizon_days": 365},
        "targets": [{"date": "2016-07-01", "plans_per_year": 40},
                    {"date": "2017-01-01", "plans_per_year": 120}],
    })  # fmt: skip
    run_dir = write_run(run_scenario(scenario), tmp_path / "run")
    folder = read_folder(run_dir)
    (figure,) = report.build_figures(folder, kinds=["throughput"])
    ax = figure.figure.axes[0]
    line = next(a for a in ax.get_lines() if a.get_gid() == "target")
    quarters = [q["quarter_start"] for q in folder.summary["throughput_per_quarter"]]  # type: ignore[union-attr]
    # Plans a year at each quarter start, interpolated between the two dates, per quarter.
    expected = np.interp(
        [pd.Timestamp(q).toordinal() for q in quarters],
        [pd.Timestamp("2016-07-01").toordinal(), pd.Timestamp("2017-01-01").toordinal()],
        [40 / 4, 120 / 4],
        left=np.nan,
        right=np.nan,
    )
    assert np.allclose(line.get_ydata()[: len(quarters)], expected, equal_nan=True)
    assert "Scenario target: 40 plans a year by Jul 2016, 120 by Jan 2017" in [
        t.get_text() for t in ax.get_legend().get_texts()
    ]
    # --trajectory wins over the scenario's targets.
    (override,) = report.build_figures(
        folder, kinds=["throughput"], options=PlotOptions(trajectory=(4.0, 8.0))
    )
    line = next(a for a in override.figure.axes[0].get_lines() if a.get_gid() == "target")
    assert np.allclose(line.get_ydata()[: len(quarters)], np.linspace(1.0, 2.0, len(quarters)))


def test_multi_site_run_report_renders(tmp_path: Path) -> None:
    scenario = make_scenario({
        "run": {"horizon_days": 200},
        "sites": {"north": {"cohorts": {"ltc": {"referrals_per_month": 4.0}}}, "south": {}},
    })  # fmt: skip
    run_dir = write_run(run_scenario(scenario), tmp_path / "run")
    html = render_report(read_folder(run_dir))
    assert "at 2 sites" in html and "site north, the first of 2" in html
    assert 'id="img-pathway"' in html and 'id="img-cost"' in html


def test_stress_outputs_name_each_group_once() -> None:
    from types import SimpleNamespace

    from ipcsim.present.report.stress import _output_groups

    folder = SimpleNamespace(
        summary=pd.DataFrame({"kpi": ["utilisation_planner", "queue_planner", "referred"]}),
        manifest={"spec": {}},
    )
    groups, total = _output_groups(folder)  # type: ignore[arg-type]
    assert total == 3
    utilisation = dict(groups)["Utilisation"]
    assert utilisation == ["planner", "Queue at month end: planner"]
