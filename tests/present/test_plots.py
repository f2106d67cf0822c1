"""Figures draw the data they are given: each test reads the drawn artists back.

Artists that carry data have a ``gid`` (see :mod:`ipcsim.present.run_plots`); the tests
compare what is drawn with the summary, the timeseries or the experiment tables, not just that
a file exists.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg

from ipcsim.analysis import labels
from ipcsim.pathway import STEPS, WAITS
from ipcsim.present import experiment_plots, run_plots, style
from ipcsim.present.pathway_diagram import (
    describe_distribution,
    draw_pathway,
    pathway_graph,
)
from ipcsim.run import RunResult, run_scenario
from tests.conftest import make_scenario
from tests.present.test_report import FACTOR, KPIS, SECOND, make_experiment_folder


# --------------------------------------------------------------------------- helpers
def artists(ax: Axes, gid: str) -> list[Any]:
    """Children of ``ax`` (lines, patches, collections, images, texts) with this gid."""
    return [a for a in ax.get_children() if a.get_gid() == gid]


def one(ax: Axes, gid: str) -> Any:
    found = artists(ax, gid)
    assert len(found) == 1, f"expected one artist with gid {gid!r}, found {len(found)}"
    return found[0]


def band_bounds(band: Any, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest y of a fill_between polygon at each x."""
    vertices = np.concatenate([p.vertices for p in band.get_paths()])
    low = np.array([vertices[np.isclose(vertices[:, 0], x), 1].min() for x in xs])
    high = np.array([vertices[np.isclose(vertices[:, 0], x), 1].max() for x in xs])
    return low, high


def as_float(values: list[Any]) -> np.ndarray:
    return np.array([math.nan if v is None else v for v in values], dtype=float)


@pytest.fixture(scope="module")
def run() -> RunResult:
    """One year of the test scenario: enough people for every stage."""
    return run_scenario(make_scenario({"run": {"horizon_days": 365}}))


@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = make_experiment_folder(tmp_path_factory.mktemp("exp") / "e", sensitivity=True)
    return {
        "path": folder,
        "summary": pd.read_parquet(folder / "summary.parquet"),
        "sensitivity": pd.read_parquet(folder / "sensitivity.parquet"),
    }


# --------------------------------------------------------------------------- run plots
def test_quarterly_throughput_bars_equal_the_summary(run: RunResult) -> None:
    quarters = pd.DataFrame(run.summary["throughput_per_quarter"])
    target = experiment_plots.linear_trajectory(
        list(quarters["quarter_start"]), start=10.0, end=30.0
    )
    ax = run_plots.plot_throughput(quarters, target=target)
    for series in ("plans_signed_off", "budgets_released"):
        heights = [bar.get_height() for bar in artists(ax, series)]
        assert heights == [q[series] for q in run.summary["throughput_per_quarter"]]
    line = one(ax, "target")
    n = len(quarters)
    assert np.allclose(line.get_ydata()[:n], np.linspace(10.0, 30.0, n))
    assert ax.get_ylabel() == "People per quarter"


def test_monthly_throughput_adds_up_the_sites(run: RunResult) -> None:
    other = run.timeseries.assign(site="other", plans_signed_off=1)
    ax = run_plots.plot_throughput(pd.concat([run.timeseries, other]), series=["plans_signed_off"])
    heights = [bar.get_height() for bar in artists(ax, "plans_signed_off")]
    assert heights == list(run.timeseries["plans_signed_off"] + 1)
    assert ax.get_ylabel() == "People per month"


def test_throughput_needs_a_period_column() -> None:
    with pytest.raises(ValueError, match="'month' column"):
        run_plots.plot_throughput(pd.DataFrame({"plans_signed_off": [1]}))


def test_wait_markers_equal_the_summary_percentiles(run: RunResult) -> None:
    horizon = run.scenario.run.horizon_days
    ax = run_plots.plot_waits(run.people, horizon_days=horizon)
    waits = run.summary["waits_days"]
    expected_p90 = as_float([waits[s]["p90"] for s in WAITS])
    expected_p50 = as_float([waits[s]["p50"] for s in WAITS])
    assert np.allclose(one(ax, "p90").get_xdata(), expected_p90, equal_nan=True)
    assert np.allclose(one(ax, "p50").get_xdata(), expected_p50, equal_nan=True)
    # Rows top to bottom in WAITS order.
    rows = one(ax, "p90").get_ydata()
    assert list(rows) == sorted(rows, reverse=True)
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "Referral to first conversation"
    assert ax.get_xlabel() == "Wait (days)"


def test_stage_waits_count_as_the_summary_does(run: RunResult) -> None:
    waits = run_plots.stage_waits(run.people, horizon_days=run.scenario.run.horizon_days)
    for stage, values in waits.items():
        stats = run.summary["waits_days"][stage]["completed_only"]
        assert values.size == stats["n"]
        if values.size:
            assert math.isclose(float(values.mean()), stats["mean"])
    with pytest.raises(ValueError, match="unknown stage"):
        run_plots.stage_waits(run.people, stages=["nope"])


def test_utilisation_heatmap_holds_the_timeseries_in_percent(run: RunResult) -> None:
    ax = run_plots.plot_utilisation_heatmap(run.timeseries)
    roles = sorted(
        c.removeprefix("utilisation_")
        for c in run.timeseries.columns
        if c.startswith("utilisation_")
    )
    image = one(ax, "utilisation")
    drawn = np.ma.filled(image.get_array().astype(float), np.nan)
    expected = 100.0 * run.timeseries[[f"utilisation_{r}" for r in roles]].to_numpy(dtype=float).T
    assert np.allclose(drawn, expected, equal_nan=True)
    assert [t.get_text() for t in ax.get_yticklabels()] == [labels.pretty_name(r) for r in roles]


def _queue_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": ["2016-04-01", "2016-05-01", "2016-06-01"],
            "site": "s",
            "queue_planner": [0, 4, 2],
            "queue_admin": [0, 0, 0],
            "queue_finance_officer": [1, 0, 3],
        }
    )


def test_queue_lines_equal_the_timeseries_and_silent_roles_are_named() -> None:
    frame = _queue_frame()
    ax = run_plots.plot_queues(frame)
    for role in ("planner", "finance_officer"):
        assert list(one(ax, f"queue_{role}").get_ydata()) == list(frame[f"queue_{role}"])
    assert artists(ax, "queue_admin") == []
    notes = [t.get_text() for t in ax.texts]
    assert any("Nobody waited at any month end for: admin" in t for t in notes)
    explicit = run_plots.plot_queues(frame, roles=["admin"])
    assert list(one(explicit, "queue_admin").get_ydata()) == [0, 0, 0]


def test_cost_bars_equal_the_summary_per_role(run: RunResult) -> None:
    roles = run.scenario.role_names
    costs = run_plots.cost_breakdown(run.people, roles, by="budget_type")
    lines = {"break-even": 160.0, "evaluation": 265.0}
    ax = run_plots.plot_cost_per_person(costs, lines=lines)
    expected = run.summary["staff_cost_per_person_gbp"]
    left = 0.0
    for role in roles:
        bars = artists(ax, role)
        assert len(bars) == len(costs)
        top = bars[0]  # "All referred" is the first row, drawn at the top
        assert math.isclose(top.get_width(), expected[role], abs_tol=1e-9)
        assert math.isclose(top.get_x(), left, abs_tol=1e-9)
        left += top.get_width()
    assert math.isclose(left, expected["total"], rel_tol=1e-9)
    for label, value in lines.items():
        assert list(one(ax, f"line:{label}").get_xdata()) == [value, value]
    assert ax.get_xlabel() == "Staff cost per person (£)"


def test_cost_breakdown_groups_cover_everyone(run: RunResult) -> None:
    roles = run.scenario.role_names
    for by in ("cohort", "budget_type"):
        costs = run_plots.cost_breakdown(run.people, roles, by=by)
        assert costs.loc["All referred", "people"] == len(run.people)
        assert costs["people"].iloc[1:].sum() == len(run.people)
        # The all-people row is the people-weighted mean of the groups.
        groups = costs.iloc[1:]
        for role in roles:
            weighted = float((groups[role] * groups["people"]).sum() / groups["people"].sum())
            assert math.isclose(weighted, costs.loc["All referred", role], rel_tol=1e-9)


# --------------------------------------------------------------------------- experiments
def _expected_smallest(rows: pd.DataFrame, column: str, target: float, lower: bool) -> float | None:
    ok = rows[rows[column] <= target] if lower else rows[rows[column] >= target]
    return None if ok.empty else float(ok[FACTOR].min())


def test_capacity_curve_equals_the_summary_and_marks_the_smallest_level(
    experiment: dict[str, Any],
) -> None:
    summary = experiment["summary"]
    kpi, target = KPIS[0], 20.0
    ax = experiment_plots.plot_capacity_whatif(summary, kpi=kpi, factor=FACTOR, target=target)
    assert list(one(ax, "target").get_ydata()) == [target, target]
    for k, level in enumerate(sorted(summary[SECOND].unique())):
        rows = summary[(summary["kpi"] == kpi) & (summary[SECOND] == level)].sort_values(FACTOR)
        x = rows[FACTOR].to_numpy(dtype=float)
        line = one(ax, f"mean:{k}")
        assert np.allclose(line.get_xdata(), x)
        assert np.allclose(line.get_ydata(), rows["mean"])
        low, high = band_bounds(one(ax, f"ci-band:{k}"), x)
        assert np.allclose(low, rows["ci_low"]) and np.allclose(high, rows["ci_high"])
        best = _expected_smallest(rows, "mean", target, lower=True)
        marks = artists(ax, f"smallest-level:{k}")
        if best is None:
            assert marks == []
        else:
            assert list(marks[0].get_xdata()) == [best]
            assert np.allclose(marks[0].get_ydata(), rows.loc[rows[FACTOR] == best, "mean"])
    assert ax.get_xlabel() == "Planners (headcount)"
    assert ax.get_ylabel() == "Mean wait, referral to first conversation (days)"


def test_capacity_smallest_level_for_higher_is_better_and_whole_ci(
    experiment: dict[str, Any],
) -> None:
    summary = experiment["summary"]
    kpi = KPIS[1]
    rows_all = summary[summary["kpi"] == kpi]
    target = float(rows_all["mean"].median())
    ax = experiment_plots.plot_capacity_whatif(
        summary, kpi=kpi, factor=FACTOR, target=target, direction="higher", criterion="ci"
    )
    for k, level in enumerate(sorted(summary[SECOND].unique())):
        rows = rows_all[rows_all[SECOND] == level]
        best = _expected_smallest(rows, "ci_low", target, lower=False)
        marks = artists(ax, f"smallest-level:{k}")
        assert ([] if best is None else [best]) == [m.get_xdata()[0] for m in marks]


def test_capacity_without_a_reachable_target_marks_nothing(experiment: dict[str, Any]) -> None:
    ax = experiment_plots.plot_capacity_whatif(
        experiment["summary"], kpi=KPIS[0], factor=FACTOR, target=0.5
    )
    assert not any(str(a.get_gid()).startswith("smallest-level") for a in ax.get_children())


def test_capacity_shows_utilisation_in_percent(tmp_path: Path) -> None:
    folder = make_experiment_folder(tmp_path / "e", second_factor=False)
    summary = pd.read_parquet(folder / "summary.parquet")
    ax = experiment_plots.plot_capacity_whatif(
        summary, kpi="utilisation_planner", factor=FACTOR, target=0.3
    )
    rows = summary[summary["kpi"] == "utilisation_planner"].sort_values(FACTOR)
    assert np.allclose(one(ax, "mean:0").get_ydata(), 100.0 * rows["mean"])
    assert list(one(ax, "target").get_ydata()) == [30.0, 30.0]
    best = _expected_smallest(rows, "mean", 0.3, lower=True)
    assert best is not None
    assert list(one(ax, "smallest-level:0").get_xdata()) == [best]


def test_capacity_rejects_unknown_kpi_and_text_factor(experiment: dict[str, Any]) -> None:
    summary = experiment["summary"]
    with pytest.raises(ValueError, match="no KPI 'nope'"):
        experiment_plots.plot_capacity_whatif(summary, kpi="nope", factor=FACTOR)
    with pytest.raises(ValueError, match="must be numeric"):
        experiment_plots.plot_capacity_whatif(summary, kpi=KPIS[0], factor="scenario")


@pytest.mark.parametrize(
    ("levels", "values", "target", "direction", "expected"),
    [
        ([1, 2, 3, 4], [40, 25, 18, 12], 20, "lower", 3.0),
        ([4, 1, 3, 2], [12, 40, 18, 25], 20, "lower", 3.0),
        ([1, 2, 3], [40, 30, 25], 20, "lower", None),
        ([1, 2, 3], [50, 80, 120], 80, "higher", 2.0),
        ([1, 2, 3], [math.nan, 10, 10], 20, "lower", 2.0),
        ([2, 6, 4], [10, 30, 20], 20, "lower", 2.0),
    ],
)
def test_smallest_level_meeting(
    levels: list[float],
    values: list[float],
    target: float,
    direction: labels.Direction,
    expected: float | None,
) -> None:
    assert (
        experiment_plots.smallest_level_meeting(levels, values, target, direction=direction)
        == expected
    )


def test_fan_chart_equals_quantiles_across_replications(experiment: dict[str, Any]) -> None:
    from ipcsim.present.report import read_folder, replication_timeseries

    folder = read_folder(experiment["path"])
    frame = replication_timeseries(folder, folder.baseline)  # type: ignore[arg-type]
    ax = experiment_plots.plot_throughput_fan(frame, series="plans_signed_off", period="month")
    table = frame.pivot_table(index="month", columns="replication", values="plans_signed_off")
    q = np.quantile(table.to_numpy(dtype=float), [0.05, 0.25, 0.5, 0.75, 0.95], axis=1)
    x = mdates.date2num(pd.to_datetime(table.index))
    assert np.allclose(mdates.date2num(one(ax, "median").get_xdata()), x)
    assert np.allclose(one(ax, "median").get_ydata(), q[2])
    low, high = band_bounds(one(ax, "band-90"), x)
    assert np.allclose(low, q[0]) and np.allclose(high, q[4])
    low, high = band_bounds(one(ax, "band-50"), x)
    assert np.allclose(low, q[1]) and np.allclose(high, q[3])


def test_fan_chart_quarters_add_three_months_and_draw_the_target(
    experiment: dict[str, Any],
) -> None:
    from ipcsim.present.report import read_folder, replication_timeseries

    folder = read_folder(experiment["path"])
    frame = replication_timeseries(folder, folder.baseline)  # type: ignore[arg-type]
    months = sorted(frame["month"].unique())
    quarter_of = {m: months[(i // 3) * 3] for i, m in enumerate(months)}
    sums = (
        frame.assign(q=frame["month"].map(quarter_of))
        .groupby(["q", "replication"])["plans_signed_off"]
        .sum()
        .unstack()
    )
    target = experiment_plots.linear_trajectory(list(sums.index), start=20.0, end=35.0)
    ax = experiment_plots.plot_throughput_fan(frame, period="quarter", target=target)
    assert np.allclose(one(ax, "median").get_ydata(), sums.median(axis=1))
    assert np.allclose(one(ax, "target").get_ydata(), target.to_numpy())
    with pytest.raises(ValueError, match="no timeseries rows for site"):
        experiment_plots.plot_throughput_fan(frame, site="elsewhere")


def test_tornado_bars_are_the_indices_largest_first(experiment: dict[str, Any]) -> None:
    sens = experiment["sensitivity"]
    kpi = KPIS[0]
    ax = experiment_plots.plot_tornado(sens, kpi=kpi, top=3)
    rows = sens[(sens["kpi"] == kpi) & (sens["index"] == "mu_star")]
    expected = rows.assign(a=rows["value"].abs()).sort_values("a", ascending=False).head(3)
    bars = artists(ax, "index")
    top_down = sorted(bars, key=lambda b: -b.get_y())
    assert [b.get_width() for b in top_down] == list(expected["value"])
    ticks = sorted(zip(ax.get_yticks(), ax.get_yticklabels(), strict=True), key=lambda t: -t[0])
    tick_labels = [label.get_text() for _y, label in ticks]
    assert tick_labels == [labels.factor_label(p) for p in expected["parameter"]]
    assert "μ*" in ax.get_xlabel()
    signed = experiment_plots.plot_tornado(sens, kpi=kpi, index="mu")
    widths = sorted((b.get_width() for b in artists(signed, "index")), key=abs, reverse=True)
    mu = sens[(sens["kpi"] == kpi) & (sens["index"] == "mu")]["value"]
    assert widths == sorted(mu, key=abs, reverse=True)
    with pytest.raises(ValueError, match="no KPI"):
        experiment_plots.plot_tornado(sens, kpi="nope")


# --------------------------------------------------------------------------- labels
def test_labels_say_what_and_in_which_unit() -> None:
    assert labels.kpi_label("wait_referral_to_sign_off_p90") == (
        "90th percentile wait, referral to plan sign-off",
        "days",
    )
    assert labels.kpi_label("plans_signed_off_per_year") == (
        "Plans signed off per year",
        "per year",
    )
    assert labels.kpi_label("utilisation_planner") == ("Utilisation: planner", "%")
    assert labels.kpi_direction("plans_signed_off_per_year") == "higher"
    assert labels.kpi_direction("wait_referral_to_sign_off_mean") == "lower"
    assert labels.factor_label("workforce.vcse_planner.fte") == "VCSE planner WTE"
    assert labels.factor_label("cohorts.ltc.referrals_per_month") == "LTC: referrals per month"
    assert labels.factor_label("signoff.panel.interval_days") == "Panel interval (days)"


def test_every_plot_draws_on_a_given_axes_and_saves(run: RunResult, tmp_path: Path) -> None:
    figure = style.new_figure()
    assert isinstance(figure.canvas, FigureCanvasAgg)
    axes = figure.subplots(2, 2)
    drawn = [
        run_plots.plot_waits(run.people, ax=axes[0, 0]),
        run_plots.plot_queues(run.timeseries, ax=axes[0, 1]),
        run_plots.plot_utilisation_heatmap(run.timeseries, ax=axes[1, 0]),
        run_plots.plot_throughput(run.timeseries, ax=axes[1, 1]),
    ]
    assert drawn == [axes[0, 0], axes[0, 1], axes[1, 0], axes[1, 1]]
    figure.savefig(tmp_path / "grid.png")
    figure.savefig(tmp_path / "grid.svg")
    assert (tmp_path / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (tmp_path / "grid.svg").read_bytes()[:2000]


# --------------------------------------------------------------------------- pathway
def test_pathway_graph_follows_the_config() -> None:
    scenario = make_scenario(
        {
            "signoff": {
                "rework_probability": 0.2,
                "plan_decline_probability": 0.05,
                "panel": {"interval_days": 21, "max_plans_per_sitting": 8},
            },
            "workforce": {"planner": {"caseload_cap": 12}},
        }
    )
    graph = pathway_graph(scenario)
    steps = [n.key for n in graph.nodes if n.kind != "exit"]
    assert steps == list(STEPS)
    signoff = graph.node("signoff")
    assert signoff.title == "Panel sign-off"
    assert "sits every 21 days" in signoff.lines and "max 8 plans/sitting" in signoff.lines
    assert set(signoff.roles) == {"panel_member"}
    assert "cap 12 open cases each" in graph.node("allocation").lines
    assert graph.node("plan_writing").roles["planner"] == 2.0
    assert graph.node("budget_setting").roles == {"finance_officer": 6.0}
    loops = [e for e in graph.edges if e.kind == "loop"]
    assert [(e.source, e.target) for e in loops] == [("signoff", "conversations")]
    assert "20%" in loops[0].label
    exits = {e.target: e.label for e in graph.edges if e.kind == "exit"}
    assert exits["exit_plan_declined"] == "5%"
    assert exits["exit_declined"] == "20%"  # offer acceptance 0.8 by default


def test_pathway_graph_of_individual_sign_off_without_rework() -> None:
    scenario = make_scenario({"signoff": {"mode": "individual", "rework_probability": 0.0}})
    graph = pathway_graph(scenario)
    assert graph.node("signoff").title == "Individual sign-off"
    assert describe_distribution(scenario.signoff.individual.delay_days, "days") in (
        graph.node("signoff").lines
    )
    assert not [e for e in graph.edges if e.kind == "loop"]
    assert "exit_plan_declined" not in {n.key for n in graph.nodes}


def test_pathway_drawing_names_every_node_and_keeps_chips_in_their_box() -> None:
    scenario = make_scenario(
        {
            "workforce": {"mdt_coordinator": {"headcount": 1}},
            "pathway": {"plan_writing": {"effort_hours": {"planner": 2.0, "mdt_coordinator": 0.4}}},
        }
    )
    ax = draw_pathway(scenario)
    graph = pathway_graph(scenario)
    for node in graph.nodes:
        assert len(artists(ax, f"title:{node.key}")) == 1, node.key
    renderer = ax.figure.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [p for p in ax.patches if p.get_gid() in {"box:stage", "box:signoff"}]
    for chip in [t for t in ax.texts if str(t.get_gid()).startswith("role:")]:
        extent = chip.get_window_extent(renderer)
        inside = [b for b in boxes if b.get_window_extent(renderer).contains(extent.x0, extent.y0)]
        assert inside, chip.get_text()
        assert extent.x1 <= inside[0].get_window_extent(renderer).x1 + 1.0, chip.get_text()
    assert len(artists(ax, "role:plan_writing:mdt_coordinator")) == 1


@pytest.mark.parametrize(
    ("dist", "text"),
    [
        ({"dist": "fixed", "value": 7}, "7 days"),
        ({"dist": "uniform", "low": 2, "high": 7}, "uniform 2-7 days"),
        ({"dist": "triangular", "low": 7, "mode": 21, "high": 90}, "triangular 7/21/90 days"),
        ({"dist": "lognormal", "median": 1, "p95": 21}, "lognormal median 1, p95 21 days"),
        (
            {"dist": "discrete", "values": [1, 2, 3], "probs": [0.2, 0.45, 0.35]},
            "1-3 days (mean 2.15)",
        ),
    ],
)
def test_describe_distribution(dist: dict[str, Any], text: str) -> None:
    assert describe_distribution(dist, "days") == text


# --------------------------------------------------------------------------- several sites
@pytest.fixture(scope="module")
def two_sites() -> RunResult:
    scenario = make_scenario(
        {
            "run": {"horizon_days": 200},
            "sites": {"north": {"cohorts": {"ltc": {"referrals_per_month": 4.0}}}, "south": {}},
        }
    )
    return run_scenario(scenario)


def test_total_site_name_matches_the_runner() -> None:
    from ipcsim.run import TOTAL_SITE

    assert run_plots.TOTAL_SITE == TOTAL_SITE


def test_all_sites_means_the_total_rows_not_their_sum(two_sites: RunResult) -> None:
    ts = two_sites.timeseries
    total = ts[ts["site"] == run_plots.TOTAL_SITE]
    north = ts[ts["site"] == "north"]
    ax = run_plots.plot_throughput(ts, series=["plans_signed_off"])
    assert [b.get_height() for b in artists(ax, "plans_signed_off")] == list(
        total["plans_signed_off"]
    )
    one_site = run_plots.plot_throughput(ts, series=["plans_signed_off"], site="north")
    assert [b.get_height() for b in artists(one_site, "plans_signed_off")] == list(
        north["plans_signed_off"]
    )
    queues = run_plots.plot_queues(ts, roles=["planner"], site="north")
    assert list(one(queues, "queue_planner").get_ydata()) == list(north["queue_planner"])
    heat = run_plots.plot_utilisation_heatmap(ts, roles=["planner"])
    drawn = np.ma.filled(one(heat, "utilisation").get_array().astype(float), np.nan)
    assert np.allclose(drawn[0], 100.0 * total["utilisation_planner"], equal_nan=True)
    with pytest.raises(ValueError, match="no timeseries rows for site 'east'"):
        run_plots.select_site(ts, "east")


def test_pathway_of_a_multi_site_scenario_names_its_site(two_sites: RunResult) -> None:
    scenario = two_sites.scenario
    # North: LTC 4 (its own table) + MH 4 (template); south: the template's 8 + 4.
    assert pathway_graph(scenario, site="north").node("referral").lines[0] == "8 referrals/month"
    assert pathway_graph(scenario, site="south").node("referral").lines[0] == "12 referrals/month"
    ax = draw_pathway(scenario, site="south")
    assert ax.get_title(loc="left") == "Pathway of test: site south (2 of 2)"
    with pytest.raises(ValueError, match="no site 'east'"):
        pathway_graph(scenario, site="east")


def test_svg_figures_are_byte_reproducible(run: RunResult) -> None:
    """The same figure drawn twice gives the same SVG bytes (matplotlib's element ids are
    salted from ``svg.hashsalt``, random unless set; the date is left out as the report does).
    """

    def draw() -> bytes:
        with style.style():
            figure = style.new_figure()
            run_plots.plot_waits(run.people, ax=figure.subplots())
            buffer = io.BytesIO()
            figure.savefig(buffer, format="svg", metadata={"Date": None})
        return buffer.getvalue()

    first = draw()
    assert b"clip-path" in first  # ids that would be random without the salt
    assert draw() == first
