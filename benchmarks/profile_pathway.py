"""Profile ipcsim on the national pathway with a sampling profiler and rank the hot spots.

Runs ``run_scenario`` on ``benchmarks/national.toml`` (optionally scaled) under py-spy
(default; a sampling profiler that needs no changes to the code and adds little overhead) or
pyinstrument, and writes to ``benchmarks/results/``:

- ``profile_<label>.txt``: py-spy's collapsed stacks (one line per stack and its samples;
  feed it to flamegraph.pl or speedscope), or pyinstrument's text tree;
- ``profile_<label>.json`` and the printed table: the functions with the most samples of
  their own ("self") and under them ("inclusive"), as shares of all samples.

Usage::

    python benchmarks/profile_pathway.py --scale 1            # the full national run
    python benchmarks/profile_pathway.py --tool pyinstrument --scale 0.1
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import harness

TOP = 25


def run_target(scale: float) -> None:
    """Worker: the profiled run itself."""
    from bench_pathway import national_scenario

    from ipcsim.run import run_scenario

    result = run_scenario(national_scenario(scale))
    print(f"profiled {len(result.people):,} people", file=sys.stderr)


def summarise_collapsed(path: Path, top: int = TOP) -> dict[str, list[tuple[str, float]]]:
    """Self and inclusive shares of samples per function from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    under: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        # "function (file:line)" -> "function (file)", so a function's lines add up.
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        own[frames[-1] or "(native or idle)"] += samples
        for frame in set(frames):
            under[frame] += samples
    if total == 0:
        raise RuntimeError(f"{path}: no samples")
    return {
        "self": [(name, n / total) for name, n in own.most_common(top)],
        "inclusive": [(name, n / total) for name, n in under.most_common(top)],
        "samples": [("total", float(total))],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Profile the national pathway run")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--tool", choices=("py-spy", "pyinstrument"), default="py-spy")
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples a second")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        run_target(args.scale)
        return 0
    label = f"scale_{args.scale:g}"
    harness.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    raw = harness.RESULTS_DIR / f"profile_{label}.txt"
    target = [
        sys.executable,
        "benchmarks/profile_pathway.py",
        "--worker",
        "--scale",
        str(args.scale),
    ]
    if args.tool == "py-spy":
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        command = [
            py_spy,
            "record",
            "--rate",
            str(args.rate),
            "--format",
            "raw",
            "--output",
            str(raw),
            "--",
            *target,
        ]
        subprocess.run(command, cwd=harness.ROOT, check=True)
        summary = summarise_collapsed(raw)
        for kind in ("self", "inclusive"):
            print(f"\n{kind} share of samples ({int(summary['samples'][0][1]):,} in all):")
            print(
                harness.table(
                    ["function (file)", "share"],
                    [[name, f"{100 * share:.1f}%"] for name, share in summary[kind]],
                )
            )
    else:
        command = [
            sys.executable,
            "-m",
            "pyinstrument",
            "--renderer",
            "text",
            "--outfile",
            str(raw),
            "benchmarks/profile_pathway.py",
            "--worker",
            "--scale",
            str(args.scale),
        ]
        subprocess.run(command, cwd=harness.ROOT, check=True)
        print(raw.read_text(encoding="utf-8")[:6000])
        summary = {}
    document: dict[str, Any] = {
        "scale": args.scale,
        "tool": args.tool,
        "raw": str(raw.relative_to(harness.ROOT)),
        **summary,
    }
    path = harness.write_results(f"profile_{label}", document)
    print(f"\nwrote {raw.relative_to(harness.ROOT)} and {path.relative_to(harness.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
