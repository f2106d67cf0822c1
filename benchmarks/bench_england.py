"""Benchmark (e): England at Universal Personalised Care scale, one replication, partitioned.

``configs/england_upc.toml`` (42 ICBs, no shared team: 42 independent groups) at a fraction of
its size: referral rates and the headcounts of queued roles multiplied by ``--scale`` (rounded,
at least one). Three fresh processes, each one replication of the whole horizon:

- ``one model``: ``run_scenario(scenario)``, all 42 sites in one simulation (the reference);
- ``partitioned, N workers``: ``run_scenario(scenario, partitioned=True, executor=...)`` on a
  ``process:N`` pool (spawn), for each N of ``--workers``.

For each: wall and CPU seconds (the main process and its pool workers), peak memory of the
main process and of the largest worker, people, people per second per core used, and the
bytes the output folder takes per person (``write_run``: parquet, summary, manifest). The
partitioned runs' tables must equal the one model's (checked by their summary). Pool start-up
counts in the wall time, as it does for a user. Also printed: signed-off plans per referral in
the last 12 months (``PLANS_PER_REFERRAL`` of ``scripts/england_upc.py``).

Parallel efficiency on N workers is T(1 worker) / (N x T(N workers)). Small scales are
dominated by start-up (spawning workers that import pandas); the issue's goals are for the
full size, which takes about 8 CPU minutes here and is not run by default.

Usage::

    python benchmarks/bench_england.py                      # scale 0.01, 1 and 2 workers
    python benchmarks/bench_england.py --scale 0.02 --workers 1 2
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

import harness

CONFIG = harness.ROOT / "configs" / "england_upc.toml"
SCALE = 0.01
QUEUED_ROLES = ("planner", "finance_officer", "admin")


def england_config(scale: float = 1.0) -> dict[str, Any]:
    """``configs/england_upc.toml`` as data, with referral rates and staff scaled."""
    data: dict[str, Any] = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    for table in data["sites"].values():
        for cohort in table.get("cohorts", {}).values():
            cohort["referrals_per_month"] *= scale
            for point in cohort.get("referral_schedule", []):
                point["referrals_per_month"] *= scale
        for name, role in table.get("workforce", {}).items():
            if name not in QUEUED_ROLES:
                continue
            role["headcount"] = max(1, round(role["headcount"] * scale))
            for change in role.get("changes", []):
                change["headcount"] = max(1, round(change["headcount"] * scale))
    return data


def england_scenario(scale: float = 1.0) -> Any:
    from ipcsim.scenario.load import scenario_from_dict

    return scenario_from_dict(england_config(scale), source=f"{CONFIG} (scale {scale:g})")


def _children_usage() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def national_once() -> dict[str, Any]:
    """Worker side: the national pathway of ``bench_pathway.py`` (``benchmarks/national.toml``,
    about 260,000 people in one model), for today's time per person on this machine."""
    from bench_pathway import national_scenario

    from ipcsim.run import run_scenario

    scenario = national_scenario(1.0)
    began = time.perf_counter()
    cpu = time.process_time()
    result = run_scenario(scenario)
    return {
        "workers": 0,
        "partitions": 1,
        "people": len(result.people),
        "wall_s": time.perf_counter() - began,
        "main_cpu_s": time.process_time() - cpu,
        "pool_cpu_s": 0.0,
        "main_peak_rss_mib": harness.peak_rss_mib(),
        "largest_worker_peak_rss_mib": None,
        "disk_bytes_per_person": float("nan"),
    }


def run_once(scale: float, workers: int, executor: str = "process") -> dict[str, Any]:
    """Worker side: one replication, in one model (``workers`` 0) or on ``workers`` workers.

    On workers, each group's records are written to disk where it ran (``spill_dir``, as
    ``ipcsim run --executor`` does on this machine), not pickled back.
    """
    from ipcsim.experiment.executors import open_executor
    from ipcsim.run import run_scenario, write_run

    scenario = england_scenario(scale)
    began = time.perf_counter()
    cpu = time.process_time()
    if workers == 0:
        result = run_scenario(scenario)
    else:
        spec = f"dask:local:{workers}" if executor == "dask" else f"process:{workers}"
        with open_executor(spec) as handle, tempfile.TemporaryDirectory() as spill:
            result = run_scenario(
                scenario, partitioned=True, executor=handle.executor, spill_dir=Path(spill) / "s"
            )
    wall = time.perf_counter() - began
    main_cpu = time.process_time() - cpu
    main_peak = harness.peak_rss_mib()
    pool_cpu, pool_peak = _children_usage()
    with tempfile.TemporaryDirectory() as tmp:
        out = write_run(result, Path(tmp) / "run")
        disk = sum(path.stat().st_size for path in out.iterdir())
    people = len(result.people)
    last = result.summary["last_12_months"]
    return {
        "workers": workers,
        "executor": executor if workers else "one model",
        "partitions": result.partitions,
        "people": people,
        "wall_s": wall,
        "main_cpu_s": main_cpu,
        "pool_cpu_s": pool_cpu,
        "main_peak_rss_mib": main_peak,
        "largest_worker_peak_rss_mib": pool_peak if workers else None,
        "disk_bytes_per_person": disk / people,
        "plans_per_referral_last_12_months": last["plans_signed_off"] / last["referrals"],
        "plans_last_12_months": last["plans_signed_off"],
        "summary_people": result.summary["people"],
        "summary_economics_staff_gbp": result.summary["economics"]["totals_gbp"]["staff"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="England UPC, one replication partitioned")
    parser.add_argument("--scale", type=float, default=SCALE)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--dask", type=int, default=0, metavar="N", help="also on a local Dask cluster of N"
    )
    parser.add_argument(
        "--no-one-model", action="store_true", help="skip the one-model run (long at full size)"
    )
    parser.add_argument(
        "--national",
        action="store_true",
        help="also the national pathway (bench_pathway.py), for today's time per person",
    )
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--executor", default="process", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        if args.worker < 0:
            harness.emit(national_once())
        else:
            harness.emit(run_once(args.scale, args.worker, args.executor))
        return 0

    found: dict[str, harness.Measurement] = {}
    runs = [] if args.no_one_model else [(0, "process")]
    runs += [(workers, "process") for workers in args.workers]
    runs += [(args.dask, "dask")] if args.dask else []
    runs += [(-1, "national")] if args.national else []
    for workers, executor in runs:
        label = {
            0: "one model",
            -1: "national pathway (reference)",
        }.get(workers, f"partitioned, {workers} workers")
        if executor == "dask":
            label = f"Dask local cluster, {workers} workers"
        print(f"  {label} ...", flush=True)
        argv_ = ["benchmarks/bench_england.py", "--scale", str(args.scale)]
        found[label] = harness.run_worker(
            label, [*argv_, "--worker", str(workers), "--executor", executor]
        )
    national = found.pop("national pathway (reference)", None)
    reference = next(iter(found.values())).result
    rows = []
    for label, measured in found.items():
        r = measured.result
        cpu = r["main_cpu_s"] + r["pool_cpu_s"]
        cores = max(1, r["workers"])
        rows.append(
            [label, r["partitions"], r["people"], r["wall_s"], cpu, r["main_peak_rss_mib"],
             r["largest_worker_peak_rss_mib"] or float("nan"),
             r["people"] / r["wall_s"] / cores, r["disk_bytes_per_person"]]
        )  # fmt: skip
        same = (r["summary_people"], r["summary_economics_staff_gbp"]) == (
            reference["summary_people"],
            reference["summary_economics_staff_gbp"],
        )
        if not same:
            print(f"WARNING: {label} differs from one model", file=sys.stderr)
    headers = ["run", "groups", "people", "wall s", "CPU s", "main MiB", "worker MiB",
               "people/s/core", "disk B/person"]  # fmt: skip
    print(harness.table(headers, rows))
    per_person = {}
    for label, measured in found.items():
        r = measured.result
        per_person[label] = 1e6 * (r["main_cpu_s"] + r["pool_cpu_s"]) / r["people"]
    if national is not None:
        n = national.result
        per_person["national pathway (reference)"] = 1e6 * n["main_cpu_s"] / n["people"]
        print(
            f"national pathway (one model, {n['people']:,} people, same run): "
            f"{per_person['national pathway (reference)']:.0f} CPU us per person"
        )
    for label, micro in per_person.items():
        ratio = ""
        if national is not None:
            ratio = f" ({micro / per_person['national pathway (reference)']:.2f}x the national's)"
        print(f"  {label}: {micro:.0f} CPU us per person{ratio}")
    efficiency = {}
    goals = {}
    one = found.get("partitioned, 1 workers")
    for workers in args.workers:
        many = found[f"partitioned, {workers} workers"]
        if one is not None and workers > 1:
            efficiency[workers] = one.result["wall_s"] / (workers * many.result["wall_s"])
            print(f"parallel efficiency on {workers} workers: {efficiency[workers]:.0%}")
            goal = f"parallel efficiency on {workers} workers >= 90 % (scale {args.scale:g})"
            goals[goal] = harness.goal(efficiency[workers], 0.9, at_most=False)
    print(
        f"plans per referral, last 12 months: {reference['plans_per_referral_last_12_months']:.3f}"
        f" ({reference['plans_last_12_months']:,} plans at scale {args.scale:g})"
    )
    name = f"england_scale_{args.scale:g}"
    path = harness.write_results(
        name,
        {
            "scale": args.scale,
            "measurements": found,
            "parallel_efficiency": efficiency,
            "cpu_us_per_person": per_person,
            **({"national_reference": national} if national is not None else {}),
            "goals": goals,
        },
    )
    print(f"wrote {path.relative_to(harness.ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
