"""The plan's figures draw their data: the frontier and the staffing plan over time.

Frames are built here by hand, following the columns of ``frontier.parquet`` and
``staffing_plan.parquet``, so these tests run no simulation.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from ipcsim.present.plan_plots import (
    STATUS_COLORS,
    plot_plan_frontier,
    plot_staffing_over_time,
)
from ipcsim.present.style import TARGET_COLOR

TARGETS = [
    {"text": "share_seen_within_8w >= 0.9", "kpi": "share_seen_within_8w", "value": 0.9,
     "direction": "higher"},
    {"text": "wait_referral_to_budget_release_p90 <= 270",
     "kpi": "wait_referral_to_budget_release_p90", "value": 270.0, "direction": "lower"},
]  # fmt: skip


def _frontier() -> pd.DataFrame:
    rows = [
        # planner, finance_officer, cost, feasible, recommended, share, p90
        (3, 2, 90.0, False, False, 0.55, 300.0),
        (4, 3, 107.0, False, False, 0.87, 240.0),
        (5, 2, 107.0, False, False, 1.00, 290.0),
        (5, 3, 123.0, True, True, 1.00, 238.0),
        (6, 4, 150.0, True, False, 1.00, 236.0),
    ]
    frame = pd.DataFrame(
        rows,
        columns=["planner", "finance_officer", "cost", "feasible", "recommended", "s", "w"],
    )
    out = frame[["planner", "finance_officer", "cost", "feasible", "recommended"]].copy()
    out["share_seen_within_8w_mean"] = frame["s"]
    out["share_seen_within_8w_ci_low"] = frame["s"] - 0.2  # passes 0 %: clipped when drawn
    out["share_seen_within_8w_ci_high"] = frame["s"] + 0.05  # passes 100 %: clipped
    out["wait_referral_to_budget_release_p90_mean"] = frame["w"]
    out["wait_referral_to_budget_release_p90_ci_low"] = frame["w"] - 4
    out["wait_referral_to_budget_release_p90_ci_high"] = frame["w"] + 4
    return out


def _by_gid(figure: object, gid: str) -> list[object]:
    return [a for a in figure.findobj() if a.get_gid() == gid]  # type: ignore[attr-defined]


def test_the_frontier_draws_every_configuration_its_ci_the_target_and_the_answer() -> None:
    frontier = _frontier()
    figure = plot_plan_frontier(
        frontier, targets=TARGETS, roles=["planner", "finance_officer"], cost_label="£ a year"
    )
    feasible = frontier["feasible"].to_numpy()
    for i, (stem, scale) in enumerate(
        [("share_seen_within_8w", 100.0), ("wait_referral_to_budget_release_p90", 1.0)]
    ):
        (filled,) = _by_gid(figure, f"feasible:{i}")
        (hollow,) = _by_gid(figure, f"infeasible:{i}")
        mean = frontier[f"{stem}_mean"].to_numpy() * scale
        points = np.vstack([frontier["cost"].to_numpy(), mean]).T
        np.testing.assert_allclose(filled.get_offsets(), points[feasible])  # type: ignore[attr-defined]
        np.testing.assert_allclose(hollow.get_offsets(), points[~feasible])  # type: ignore[attr-defined]
        (target,) = _by_gid(figure, f"target:{i}")
        assert target.get_ydata()[0] == pytest.approx(TARGETS[i]["value"] * scale)  # type: ignore[attr-defined,index, operator]
        assert to_hex(target.get_color()) == TARGET_COLOR.lower()  # type: ignore[attr-defined]
        (star,) = _by_gid(figure, f"recommended:{i}")
        assert star.get_xdata()[0] == 123.0  # type: ignore[attr-defined,index]
        assert star.get_ydata()[0] == pytest.approx(mean[3])  # type: ignore[attr-defined,index]
        bars = [a for a in _by_gid(figure, f"ci:{i}") if hasattr(a, "get_segments")]
        segments = np.array([s for bar in bars for s in bar.get_segments()])  # type: ignore[attr-defined]
        assert len(segments) == len(frontier)
        low = frontier[f"{stem}_ci_low"].to_numpy() * scale
        high = frontier[f"{stem}_ci_high"].to_numpy() * scale
        if scale == 100.0:  # a share's interval is drawn within 0 to 100 %
            low, high = np.clip(low, 0, 100), np.clip(high, 0, 100)
        np.testing.assert_allclose(segments[:, 0, 1], low)
        np.testing.assert_allclose(segments[:, 1, 1], high)
    figure.clear()


def _staffing() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": [1, 2, 3],
            "start_date": [dt.date(2019, 4, 1), dt.date(2019, 10, 1), dt.date(2020, 4, 1)],
            "end_date": [dt.date(2019, 9, 30), dt.date(2020, 3, 31), dt.date(2020, 9, 30)],
            "planner": [4, 8, 14],
            "finance_officer": [2, 2, 6],
            "referred_mean": [180.0, 560.0, 1170.0],
            "share_seen_within_8w_status": ["met", "undecided", "missed"],
            "share_seen_within_8w_mean": [0.99, 0.92, 0.85],
            "wait_referral_to_budget_release_p90_status": ["met", "met", "met"],
            "wait_referral_to_budget_release_p90_mean": [80.0, 85.0, 88.0],
        }
    )


def test_the_staffing_plan_draws_each_roles_levels_the_demand_and_each_verdict() -> None:
    staffing = _staffing()
    figure = plot_staffing_over_time(
        staffing, roles=["planner", "finance_officer"], targets=TARGETS
    )
    for role in ("planner", "finance_officer"):
        (line,) = _by_gid(figure, f"level:{role}")
        levels = staffing[role].to_numpy(dtype=float)
        np.testing.assert_array_equal(line.get_ydata(), [*levels, levels[-1]])  # type: ignore[attr-defined]
        x = line.get_xdata()  # type: ignore[attr-defined]
        assert str(np.datetime64(x[0], "D")) == "2019-04-01"
        assert str(np.datetime64(x[-1], "D")) == "2020-10-01"  # the day after the last
    (demand,) = _by_gid(figure, "demand")
    np.testing.assert_array_equal(demand.get_ydata(), staffing["referred_mean"])  # type: ignore[attr-defined]
    for i, stem in enumerate(["share_seen_within_8w", "wait_referral_to_budget_release_p90"]):
        for period, status in zip(staffing["period"], staffing[f"{stem}_status"], strict=True):
            (cell,) = _by_gid(figure, f"verdict:{i}:{period}")
            assert to_hex(cell.get_facecolor()) == STATUS_COLORS[status].lower()  # type: ignore[attr-defined]
    figure.clear()


def test_plan_figures_are_the_same_bytes_when_drawn_again(tmp_path: Path) -> None:
    images = []
    for k in range(2):
        frontier = plot_plan_frontier(
            _frontier(), targets=TARGETS, roles=["planner", "finance_officer"], cost_label="£"
        )
        staffing = plot_staffing_over_time(
            _staffing(), roles=["planner", "finance_officer"], targets=TARGETS
        )
        for name, figure in (("frontier", frontier), ("staffing", staffing)):
            path = tmp_path / f"{name}-{k}.png"
            figure.savefig(path)
            figure.clear()
            images.append(path.read_bytes())
    assert images[0] == images[2] and images[1] == images[3]
