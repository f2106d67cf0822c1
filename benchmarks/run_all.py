"""``make bench``: every benchmark in turn, then one table of the goals.

(a) ``bench_mmc.py``: M/M/c, ipcsim vs bare SimPy vs Ciw (1 M customers each);
(b) ``bench_pathway.py``: the national pathway, ipcsim vs the bare-SimPy reference;
(c) ``bench_batch.py``: 20 replications at a tenth of the scale on 1 and 2 workers;
(e) ``bench_england.py``: England at Universal Personalised Care scale (42 ICBs), one
    replication partitioned on 1 and 2 workers, at 1/20 of its size;
(f) ``bench_calibration.py``: the synthetic calibration on process:1 and process:2.

Each writes its JSON to ``benchmarks/results/``. With ``--quick``: 100,000 customers, the
pathway at a tenth of its scale, a batch of 6 replications, England at 1/100 and a calibration
of 16 particles over one generation (a few minutes in all, against about 20 minutes for the
full set). Benchmarks never fail on a
figure: a missed goal is reported, not raised.

Usage::

    python benchmarks/run_all.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import harness


def run(script: str, *args: str) -> None:
    print(f"\n=== {script} {' '.join(args)}".rstrip(), flush=True)
    subprocess.run([sys.executable, f"benchmarks/{script}", *args], cwd=harness.ROOT, check=True)


def goals_table(quick: bool) -> None:
    """Collect the goals from the JSON files just written."""
    names = (
        ["mmc_quick", "pathway_scale_0.1", "batch_quick", "england_scale_0.01", "calibration_quick"]
        if quick
        else ["mmc", "pathway", "batch", "england_scale_0.05", "calibration"]
    )
    rows = []
    for name in names:
        path = harness.RESULTS_DIR / f"{name}.json"
        document = json.loads(path.read_text(encoding="utf-8"))
        if name.startswith("calibration"):
            efficiency = document["parallel_efficiency_2_workers"]
            rows.append(
                [name, "parallel efficiency on 2 workers (reported; no goal)", f"{efficiency:.1%}"]
            )
            continue
        if name.startswith("batch"):
            rows.append(
                [
                    name,
                    "parallel efficiency on 2 workers >= 90 %",
                    document["goal_efficiency_at_least_90_percent"],
                ]
            )
            continue
        for goal, verdict in document["goals"].items():
            rows.append([name, goal, verdict])
    print("\n=== goals")
    print(harness.table(["benchmark", "goal", "verdict"], rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run every benchmark")
    parser.add_argument("--quick", action="store_true", help="smaller runs (under a minute)")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    machine = harness.machine()
    print(
        f"Machine: {machine.get('cpu_model', machine['processor'])}, {machine['cpus']} CPUs, "
        f"{machine.get('memory_gib', '?')} GiB, Python {machine['python']}; load average "
        f"{machine['load_average_1_5_15'][0]:.2f} (figures are wall time: run on a quiet "
        "machine; CPU seconds are shown as well)"
    )
    if args.quick:
        run("bench_mmc.py", "--quick")
        run("bench_pathway.py", "--scale", "0.1")
        run("bench_batch.py", "--replications", "6")
        run("bench_england.py", "--scale", "0.01")
        run("bench_calibration.py", "--quick")
    else:
        run("bench_mmc.py")
        run("bench_pathway.py")
        run("bench_batch.py")
        run("bench_england.py", "--scale", "0.05")
        run("bench_calibration.py")
    goals_table(args.quick)
    print(f"\nall benchmarks done in {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
