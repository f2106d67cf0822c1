"""Benchmark (d): the capacity planner against the exhaustive grid on two roles, ten levels each.

A two-stage tandem queue in ipcsim's own config (``tests/experiment/planning_cases.py``):
Poisson referrals at 3 an hour, an exponential one-hour session with a planner, then an
exponential half-hour budget setting by a finance officer; staff work around the clock.
Targets: 95 % of people seen by a planner within 0.01 weeks (1.68 h), and 93 % of budgets
agreed within 1.68 h of sign-off, each in the mean with 95 % confidence. Planners and finance
officers range over 1 to 10 each (100 configurations), costed at GBP 20 and 15 an hour.

The grid judges every configuration twice over: with the final check's fixed number of
replications (what a user writing a grid would run), and with the planner's own sequential
rule (the fairest comparison of the search alone). The planner's answer must equal the grid's.

Usage::

    python benchmarks/bench_planner.py            # 10 x 10 levels
    python benchmarks/bench_planner.py --quick    # 6 x 6 levels
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import harness

sys.path.insert(0, str(harness.ROOT))

from ipcsim.experiment.planning import load_plan_spec, prepare_plan, run_plan
from ipcsim.experiment.planning.run import exhaustive_grid
from tests.experiment.planning_cases import queue_scenario, write_case

PLAN = """
name = "planner_benchmark"
base = "queue.toml"
targets = [
  "share_seen_within_0.01w >= 0.95",
  "wait_sign_off_to_budget_agreed_share_within_0.01w >= 0.93",
]

[roles.planner]
low = 1
high = {high}

[roles.finance_officer]
low = 1
high = {high}

[replications]
initial = 3
step = 3
max = 9
final = 12
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 x 6 levels")
    args = parser.parse_args()
    high = 6 if args.quick else 10
    with tempfile.TemporaryDirectory() as folder:
        scenario = queue_scenario(
            arrivals_per_hour=3.0, horizon_days=6, seed=11, stages=2, finance_hours=0.5
        )
        path = write_case(Path(folder), scenario, PLAN.format(high=high))
        problem = prepare_plan(load_plan_spec(path), spec_path=path)
        began = time.perf_counter()
        planned = run_plan(problem, Path(folder) / "out")
        planner_s = time.perf_counter() - began
        began = time.perf_counter()
        fixed = exhaustive_grid(problem)
        fixed_s = time.perf_counter() - began
        began = time.perf_counter()
        sequential = exhaustive_grid(problem, replications=0)
        sequential_s = time.perf_counter() - began
    answer = planned.recommendation["configuration"]
    rows = [
        ["planner", planned.replications, len(planned.frontier), answer, f"{planner_s:.1f}"],
        ["grid, 12 each", fixed.replications, planned.grid_size, fixed.best, f"{fixed_s:.1f}"],
        [
            "grid, sequential",
            sequential.replications,
            planned.grid_size,
            sequential.best,
            f"{sequential_s:.1f}",
        ],
    ]
    print(harness.table(["method", "replications", "configurations", "answer", "wall s"], rows))
    ratio_fixed = fixed.replications / planned.replications
    ratio_sequential = sequential.replications / planned.replications
    same = answer == fixed.best
    print(
        f"planner: {ratio_fixed:.1f}x fewer replications than the fixed grid, "
        f"{ratio_sequential:.1f}x fewer than the sequential grid; same answer: {same} "
        f"(goal: same answer, >= 5x fewer: {'met' if same and ratio_fixed >= 5 else 'missed'})"
    )
    harness.write_results(
        "planner_quick" if args.quick else "planner",
        {
            "levels_per_role": high,
            "planner": {"replications": planned.replications, "answer": answer},
            "grid_fixed": {"replications": fixed.replications, "answer": fixed.best},
            "grid_sequential": {"replications": sequential.replications, "answer": sequential.best},
            "ratio_fixed": ratio_fixed,
            "ratio_sequential": ratio_sequential,
            "same_answer": same,
        },
    )


if __name__ == "__main__":
    main()
