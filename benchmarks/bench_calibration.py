"""Benchmark (f): the synthetic calibration on 1 and 2 worker processes.

Runs ``experiments/calibration_synthetic/calibrate.toml`` (ABC-SMC of the synthetic site: 60
particles, 4 generations after the prior's, 60 posterior predictive runs) with ``--executor
process:1`` and then ``process:2``, each in a fresh process writing to a temporary folder, and
prints both wall times and the parallel efficiency T(1 worker) / (2 x T(2 workers)). Both
executors run the same pool machinery (start-up, pickling of each particle's scenario), so the
ratio is the cost of the rounds' barriers and the machine's other work, not of serial versus
pooled code. The two posteriors must be byte-identical (a calibration's results do not depend
on the executor); the benchmark says whether they are.

Each simulation of the synthetic site takes a tenth to a quarter of a second on one core, so
the pool's overheads are a fair share of it: a site that takes seconds a run parallelises
better. The machine's load average is recorded before each run: other work on the cores
lowers the efficiency.

Usage::

    python benchmarks/bench_calibration.py            # the shipped spec
    python benchmarks/bench_calibration.py --quick    # 16 particles, 1 generation
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import harness

SPEC = harness.ROOT / "experiments" / "calibration_synthetic" / "calibrate.toml"
QUICK = (
    "abc.population=16",
    "abc.generations=1",
    "outputs.predictive_draws=16",
)
"""--set of the quick run: 16 particles, one generation after the prior's, 16 predictive runs."""


def calibrate(executor: str, sets: list[str], out: str) -> dict[str, Any]:
    """Worker side: one calibration on ``executor``, timed end to end (imports excluded)."""
    from ipcsim.experiment.calibration import (
        load_calibration_spec,
        prepare_calibration,
        run_calibration,
    )

    began = time.perf_counter()
    cpu = time.process_time()
    problem = prepare_calibration(load_calibration_spec(SPEC, sets), spec_path=SPEC)
    result = run_calibration(problem, Path(out), executor=executor)
    posterior = (Path(out) / "posterior.parquet").read_bytes()
    return {
        "executor": executor,
        "wall_s": time.perf_counter() - began,
        "main_cpu_s": time.process_time() - cpu,
        "simulations": result.smc.simulations,
        "predictive_runs": result.summary["predictive_runs"],
        "generations": len(result.smc.generations),
        "posterior_sha256": hashlib.sha256(posterior).hexdigest(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Synthetic calibration: 1 vs 2 worker processes")
    parser.add_argument("--quick", action="store_true", help="a small calibration")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sets = list(QUICK) if args.quick else []
    if args.worker:
        harness.emit(calibrate(args.worker, sets, args.out))
        return 0
    what = "quick: " + " ".join(QUICK) if args.quick else "the shipped spec"
    print(f"Synthetic calibration ({what}) on process:1 and process:2")
    found: dict[int, harness.Measurement] = {}
    loads: dict[int, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-calibration-") as tmp:
        for workers in (1, 2):
            loads[workers] = list(os.getloadavg())
            print(f"  process:{workers}, load average {loads[workers][0]:.2f} ...", flush=True)
            argv_ = ["benchmarks/bench_calibration.py", "--worker", f"process:{workers}"]
            argv_ += ["--out", str(Path(tmp) / f"w{workers}")] + (["--quick"] if args.quick else [])
            found[workers] = harness.run_worker(f"process:{workers}", argv_)
            print(f"    {found[workers].result['wall_s']:.1f} s", flush=True)
    one, two = found[1].result, found[2].result
    speedup = one["wall_s"] / two["wall_s"]
    efficiency = speedup / 2
    same = one["posterior_sha256"] == two["posterior_sha256"]
    # CPU seconds of the run (its pool workers included) over workers x wall: below 1 when the
    # workers waited (round barriers, or other work on the cores), whatever the other run did.
    busy = {workers: m.cpu_s / (workers * m.result["wall_s"]) for workers, m in found.items()}
    rows = [
        [
            f"process:{workers}",
            m.result["simulations"] + m.result["predictive_runs"],
            m.result["wall_s"],
            m.result["wall_s"] / (m.result["simulations"] + m.result["predictive_runs"]),
            m.cpu_s,
            busy[workers],
            loads[workers][0],
        ]
        for workers, m in found.items()
    ]
    print()
    headers = ["executor", "runs", "wall s", "wall s per run", "CPU s", "CPU / (N x wall)"]
    print(harness.table([*headers, "load avg"], rows))
    print(
        f"\nspeed-up on 2 workers {speedup:.2f}x, parallel efficiency {efficiency:.1%}; "
        f"posteriors {'identical' if same else 'DIFFER'} on the two executors"
    )
    path = harness.write_results(
        "calibration_quick" if args.quick else "calibration",
        {
            "spec": str(SPEC.relative_to(harness.ROOT)),
            "set": sets,
            "speedup_2_workers": speedup,
            "parallel_efficiency_2_workers": efficiency,
            "posteriors_identical": same,
            "cpu_busy_share": {str(k): v for k, v in busy.items()},
            "load_average_before": {str(k): v for k, v in loads.items()},
            "runs": {str(k): v for k, v in found.items()},
        },
    )
    print(f"wrote {path.relative_to(harness.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
