"""Benchmark (b): the national-scale pathway in ipcsim against the bare-SimPy reference.

``benchmarks/national.toml``: 260,375 expected referrals over five years through one
site-equivalent (the 17 sites' projected cohort), run once by ``ipcsim.run.run_scenario``
and once by ``benchmarks/reference_simpy.py`` on the same resolved scenario. Each run is a
fresh process; the table gives wall and CPU seconds, peak resident memory, events per person
and the bytes of records kept per person, and the ratios against the goals:

- ipcsim wall time <= 1.25 x the reference's on the same workload;
- one replication <= 25 s and <= 250 MiB on one core;
- <= 400 bytes of kept records per person.

Kept records are measured two ways: the ``people``, ``work`` and ``waits`` frames in memory
(``DataFrame.memory_usage(deep=True)``), and the same frames as parquet files (what ``ipcsim
run`` writes); the reference's are its typed arrays. Peak memory of the ipcsim run is read
right after ``run_scenario`` returns, before the frames are serialised for the byte count.

Usage::

    python benchmarks/bench_pathway.py               # full scale (about 4 minutes)
    python benchmarks/bench_pathway.py --scale 0.1   # a tenth (referrals and staff)
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import harness

NATIONAL = harness.BENCH_DIR / "national.toml"
PEOPLE_EXPECTED = 260_375
TIME_ONLY_ROLES = ("panel_member",)  # sign-off time is counted, not queued: no capacity


def national_config(scale: float = 1.0) -> dict[str, Any]:
    """The resolved national scenario (``model_dump``) with referrals and staff scaled.

    Referral rates are multiplied by ``scale`` and headcounts of queued roles by ``scale``
    (rounded, at least one), so a tenth-scale run has about the same utilisation.
    """
    from ipcsim.scenario.load import load_scenario

    data: dict[str, Any] = load_scenario(NATIONAL).model_dump(mode="json", by_alias=True)
    if scale != 1.0:
        for cohort in data["cohorts"].values():
            cohort["referrals_per_month"] *= scale
        for name, role in data["workforce"].items():
            if name not in TIME_ONLY_ROLES and isinstance(role["headcount"], int):
                role["headcount"] = max(1, round(role["headcount"] * scale))
    return data


def national_scenario(scale: float = 1.0) -> Any:
    """:func:`national_config` validated into an ipcsim ``Scenario``."""
    from ipcsim.scenario.load import scenario_from_dict

    return scenario_from_dict(national_config(scale), source=f"{NATIONAL} (scale {scale:g})")


# --------------------------------------------------------------------------- workers
def run_ipcsim(scale: float, seed: int | None) -> dict[str, Any]:
    """``run_scenario`` once, timed; the model's own share and event count alongside."""
    import ipcsim.engine.partition as partition
    import ipcsim.run as runner

    model_timing: dict[str, float] = {}
    base = partition.PathwayModel

    class TimedModel(base):  # type: ignore[misc, valid-type]
        """Times ``PathwayModel.run`` and counts the events it scheduled (benchmark only)."""

        def run(self, *args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            cpu = time.process_time()
            log = super().run(*args, **kwargs)
            model_timing["model_wall_s"] = time.perf_counter() - began
            model_timing["model_cpu_s"] = time.process_time() - cpu
            model_timing["events"] = next(self.env._eid)
            return log

    partition.PathwayModel = TimedModel  # type: ignore[misc]
    scenario = national_scenario(scale)
    began = time.perf_counter()
    cpu = time.process_time()
    result = runner.run_scenario(scenario, seed=seed)
    wall = time.perf_counter() - began
    cpu = time.process_time() - cpu
    peak = harness.peak_rss_mib()
    people = len(result.people)
    frames = {"people": result.people, "work": result.work, "waits": result.waits}
    memory = {name: int(f.memory_usage(deep=True).sum()) for name, f in frames.items()}
    parquet = {}
    for name, frame in frames.items():
        buffer = io.BytesIO()
        frame.to_parquet(buffer)
        parquet[name] = len(buffer.getvalue())
    counts = result.summary["people"]
    waits = result.summary["waits_days"]
    return {
        "people": people,
        "wall_s": wall,
        "cpu_s": cpu,
        **model_timing,
        "run_peak_rss_mib": peak,
        "kept_bytes_in_memory": memory,
        "kept_bytes_parquet": parquet,
        "rows": {name: len(f) for name, f in frames.items()},
        "summary": {
            **counts,
            **{
                # completed waits only, as the reference counts them
                name: waits[name]["completed_only"]["mean"]
                for name in (
                    "referral_to_first_conversation",
                    "referral_to_sign_off",
                    "referral_to_budget_release",
                )
            },
        },
        "utilisation": result.summary["utilisation"],
    }


def run_reference(config_path: str, seed: int | None, quiet_gc: bool) -> dict[str, Any]:
    """The bare-SimPy reference on the resolved scenario (no ipcsim import)."""
    import reference_simpy

    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    began = time.process_time()
    result = reference_simpy.run_reference(config, seed=seed, quiet_gc=quiet_gc)
    result["cpu_s"] = time.process_time() - began
    result["run_peak_rss_mib"] = harness.peak_rss_mib()
    return result


def write_resolved(scale: float, path: str) -> dict[str, Any]:
    """Resolve the scenario with ipcsim and write it for the reference."""
    Path(path).write_text(json.dumps(national_config(scale)), encoding="utf-8")
    return {"written": path}


# --------------------------------------------------------------------------- driver
def measure(scale: float, seed: int | None) -> dict[str, harness.Measurement]:
    seed_args = [] if seed is None else ["--seed", str(seed)]
    with tempfile.TemporaryDirectory() as tmp:
        resolved = str(Path(tmp) / "national_resolved.json")
        harness.run_worker(
            "resolve",
            [
                "benchmarks/bench_pathway.py",
                "--worker",
                "resolve",
                "--scale",
                str(scale),
                "--resolved",
                resolved,
            ],
        )
        found = {}
        runs: tuple[tuple[str, str, list[str]], ...] = (
            ("ipcsim", "ipcsim", []),
            ("reference", "reference", ["--resolved", resolved]),
            ("reference_quiet_gc", "reference", ["--resolved", resolved, "--quiet-gc"]),
        )
        for label, worker, extra in runs:
            print(f"  {label} ...", flush=True)
            began = time.perf_counter()
            argv = ["benchmarks/bench_pathway.py", "--worker", worker, "--scale", str(scale)]
            found[label] = harness.run_worker(label, [*argv, *extra, *seed_args])
            print(f"    done in {time.perf_counter() - began:.1f} s", flush=True)
    return found


NAN = float("nan")


def report(found: dict[str, harness.Measurement], scale: float) -> dict[str, Any]:
    """Print the tables; return the figures, ratios and goal verdicts for the JSON file."""
    ipc = found["ipcsim"].result
    refs = {"reference": found["reference"].result}
    refs["reference_quiet_gc"] = found["reference_quiet_gc"].result
    people = ipc["people"]
    kept_memory = sum(ipc["kept_bytes_in_memory"].values()) / people
    kept_parquet = sum(ipc["kept_bytes_parquet"].values()) / people
    rows: list[list[object]] = [
        ["ipcsim run_scenario", people, ipc["wall_s"], ipc["cpu_s"], ipc["run_peak_rss_mib"],
         ipc.get("events", NAN) / people, kept_memory, kept_parquet],
        ["  of which PathwayModel.run", people, ipc.get("model_wall_s", NAN),
         ipc.get("model_cpu_s", NAN), NAN, NAN, NAN, NAN],
    ]  # fmt: skip
    labels = {
        "reference": "bare SimPy reference",
        "reference_quiet_gc": "  the same, ipcsim's GC setting",
    }
    for key, ref in refs.items():
        rows.append(
            [labels[key], ref["people"], ref["wall_s"], ref["cpu_s"], ref["run_peak_rss_mib"],
             ref["events"] / ref["people"], ref["kept_bytes_per_person"], NAN]
        )  # fmt: skip
    headers = ["run", "people", "wall s", "CPU s", "peak MiB", "events/person",
               "kept B/person", "parquet B/person"]  # fmt: skip
    print(harness.table(headers, rows))

    ratios: dict[str, float] = {}
    goals: dict[str, str] = {}
    ratio_rows: list[list[object]] = []
    for key, ref in refs.items():
        suffix = "" if key == "reference" else " (same GC setting)"
        for measure in ("wall", "cpu"):
            name = f"{measure}_ipcsim_over_{key}"
            ratios[name] = ipc[f"{measure}_s"] / ref[f"{measure}_s"]
            goal = f"{measure} <= 1.25x reference{suffix}"
            goals[goal] = harness.goal(ratios[name], 1.25, at_most=True)
            ratio_rows.append([f"ipcsim / reference{suffix}, {measure}", ratios[name], goals[goal]])
        ratios[f"model_cpu_ipcsim_over_{key}"] = ipc.get("model_cpu_s", NAN) / ref["cpu_s"]
        ratios[f"peak_memory_ipcsim_over_{key}"] = ipc["run_peak_rss_mib"] / ref["run_peak_rss_mib"]
    ratio_rows.append(
        ["ipcsim model only / reference, CPU", ratios["model_cpu_ipcsim_over_reference"], ""]
    )
    ratio_rows.append(
        ["ipcsim / reference, peak memory", ratios["peak_memory_ipcsim_over_reference"], ""]
    )
    goals["kept records <= 400 B/person (in memory)"] = harness.goal(kept_memory, 400, at_most=True)
    goals["kept records <= 400 B/person (parquet)"] = harness.goal(kept_parquet, 400, at_most=True)
    ratio_rows.append(["kept B/person in memory <= 400", kept_memory, goals[
        "kept records <= 400 B/person (in memory)"]])  # fmt: skip
    ratio_rows.append(["kept B/person as parquet <= 400", kept_parquet, goals[
        "kept records <= 400 B/person (parquet)"]])  # fmt: skip
    if scale == 1.0:
        goals["one replication <= 25 s (wall)"] = harness.goal(ipc["wall_s"], 25, at_most=True)
        goals["one replication <= 250 MiB"] = harness.goal(
            ipc["run_peak_rss_mib"], 250, at_most=True
        )
        ratio_rows.append(["one replication, wall s <= 25", ipc["wall_s"],
                           goals["one replication <= 25 s (wall)"]])  # fmt: skip
        ratio_rows.append(["one replication, peak MiB <= 250", ipc["run_peak_rss_mib"],
                           goals["one replication <= 250 MiB"]])  # fmt: skip
    print()
    print(harness.table(["ratio or goal", "value", "verdict"], ratio_rows))

    print("\nSame workload? Outcomes side by side:")
    keys = ["referred", "declined", "withdrawn", "plan_in_place", "budget_in_place",
            "in_progress", "referral_to_first_conversation", "referral_to_sign_off",
            "referral_to_budget_release"]  # fmt: skip
    ref = refs["reference"]
    print(
        harness.table(
            ["outcome", "ipcsim", "reference"],
            [[k, ipc["summary"][k], ref["summary"][k]] for k in keys],
        )
    )
    return {
        "scale": scale,
        "people_expected_at_full_scale": PEOPLE_EXPECTED,
        "ipcsim": ipc,
        **refs,
        "kept_bytes_per_person": {
            "ipcsim_frames_in_memory": kept_memory,
            "ipcsim_parquet": kept_parquet,
            "reference_arrays": ref["kept_bytes_per_person"],
        },
        "ratios": ratios,
        "goals": goals,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="National pathway: ipcsim vs bare SimPy")
    parser.add_argument("--scale", type=float, default=1.0, help="referrals and staff x scale")
    parser.add_argument("--quick", action="store_true", help="same as --scale 0.1")
    parser.add_argument("--seed", type=int, default=None, help="override the scenario seed")
    parser.add_argument("--worker", choices=("ipcsim", "reference", "resolve"))
    parser.add_argument("--resolved", help=argparse.SUPPRESS)
    parser.add_argument("--quiet-gc", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    scale = 0.1 if args.quick else args.scale
    if args.worker == "ipcsim":
        harness.emit(run_ipcsim(scale, args.seed))
        return 0
    if args.worker == "reference":
        harness.emit(run_reference(args.resolved, args.seed, args.quiet_gc))
        return 0
    if args.worker == "resolve":
        harness.emit(write_resolved(scale, args.resolved))
        return 0
    print(f"National pathway, scale {scale:g}: {NATIONAL.relative_to(harness.ROOT)}")
    found = measure(scale, args.seed)
    print()
    figures = report(found, scale)
    name = "pathway" if scale == 1.0 else f"pathway_scale_{scale:g}"
    path = harness.write_results(name, figures | {"measurements": found})
    print(f"\nwrote {path.relative_to(harness.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
