"""Benchmark (c): a 20-replication batch of the national pathway at a tenth of its scale.

The batch runs ``ipcsim.run.run_scenario(scenario, replication=r)`` for r = 0..19 on a
``concurrent.futures.ProcessPoolExecutor`` with one worker and then with two, each batch in
a fresh process; every replication sends back its summary (a small dict), as an
experiment collecting KPIs across replications would. Parallel efficiency on two workers is
T(1 worker) / (2 x T(2 workers)); the goal is at least 90 %. As a check that does not depend
on the two batches' replications running at the same speed, the 2-worker batch's replication
CPU seconds over twice its wall time is printed too.

The pool uses the platform's default start method (``fork`` on Linux); pool start-up and
the scenario's pickling count in the batch's wall time, as they do for a user. The machine's
load average is recorded before each batch: other work on the cores lowers the efficiency.

Usage::

    python benchmarks/bench_batch.py                   # 20 replications, 1 and 2 workers
    python benchmarks/bench_batch.py --replications 6  # a shorter check
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import harness

SCALE = 0.1
REPLICATIONS = 20


def replicate(scenario: Any, replication: int) -> dict[str, Any]:
    """One replication in a pool worker: its wall and CPU time, and its summary counts."""
    from ipcsim.run import run_scenario

    began = time.perf_counter()
    cpu = time.process_time()
    result = run_scenario(scenario, replication=replication)
    return {
        "replication": replication,
        "pid": os.getpid(),
        "wall_s": time.perf_counter() - began,
        "cpu_s": time.process_time() - cpu,
        "people": result.summary["people"],
    }


def run_batch(workers: int, replications: int, scale: float) -> dict[str, Any]:
    """Worker side: the whole batch on ``workers`` pool processes, timed end to end."""
    import resource

    from bench_pathway import national_scenario

    scenario = national_scenario(scale)
    began = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(replicate, scenario, r) for r in range(replications)]
        runs = [f.result() for f in futures]
    wall = time.perf_counter() - began
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "workers": workers,
        "replications": replications,
        "wall_s": wall,
        "replication_wall_s": [r["wall_s"] for r in runs],
        "replication_cpu_s": [r["cpu_s"] for r in runs],
        "pool_cpu_s": children.ru_utime + children.ru_stime,
        "largest_pool_worker_rss_mib": children.ru_maxrss / 1024,
        "people_per_replication": [r["people"]["referred"] for r in runs],
        "pids": sorted({r["pid"] for r in runs}),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Replication batch: 1 vs 2 worker processes")
    parser.add_argument("--replications", type=int, default=REPLICATIONS)
    parser.add_argument("--scale", type=float, default=SCALE)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        harness.emit(run_batch(args.worker, args.replications, args.scale))
        return 0
    print(
        f"Batch of {args.replications} replications of the national pathway at scale "
        f"{args.scale:g}, on 1 and 2 worker processes"
    )
    found: dict[int, harness.Measurement] = {}
    loads: dict[int, list[float]] = {}
    for workers in (1, 2):
        loads[workers] = list(os.getloadavg())
        print(f"  {workers} worker(s), load average {loads[workers][0]:.2f} ...", flush=True)
        argv_ = ["benchmarks/bench_batch.py", "--worker", str(workers)]
        found[workers] = harness.run_worker(
            f"{workers} workers",
            [*argv_, "--replications", str(args.replications), "--scale", str(args.scale)],
        )
        print(f"    {found[workers].result['wall_s']:.1f} s", flush=True)
    one, two = found[1].result, found[2].result
    speedup = one["wall_s"] / two["wall_s"]
    efficiency = speedup / 2
    # The same from the 2-worker batch alone: its replications' CPU time over 2 x its wall
    # time (insensitive to the replications running faster or slower in one batch).
    busy = sum(two["replication_cpu_s"]) / (2 * two["wall_s"])
    rows = []
    for workers, m in found.items():
        r = m.result
        rows.append(
            [
                f"{workers} worker(s)",
                r["replications"],
                r["wall_s"],
                sum(r["replication_wall_s"]) / r["replications"],
                sum(r["replication_cpu_s"]) / r["replications"],
                r["largest_pool_worker_rss_mib"],
                loads[workers][0],
            ]
        )
    print()
    print(
        harness.table(
            [
                "batch",
                "replications",
                "wall s",
                "mean rep wall s",
                "mean rep CPU s",
                "worker peak MiB",
                "load avg",
            ],
            rows,
        )
    )
    verdict = harness.goal(efficiency, 0.9, at_most=False)
    print(
        f"\nspeed-up on 2 workers {speedup:.2f}x, parallel efficiency {efficiency:.1%}: {verdict}"
        f"\n(2-worker batch: replication CPU time / (2 x wall) = {busy:.1%})"
    )
    full = (args.replications, args.scale) == (REPLICATIONS, SCALE)
    path = harness.write_results(
        "batch" if full else "batch_quick",
        {
            "scale": args.scale,
            "replications": args.replications,
            "speedup_2_workers": speedup,
            "parallel_efficiency_2_workers": efficiency,
            "cpu_busy_share_2_workers": busy,
            "goal_efficiency_at_least_90_percent": verdict,
            "load_average_before": {str(k): v for k, v in loads.items()},
            "batches": {str(k): v for k, v in found.items()},
        },
    )
    print(f"wrote {path.relative_to(harness.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
