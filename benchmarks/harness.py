"""Shared plumbing of the benchmarks: fresh worker processes, peak memory, tables, JSON.

Every measurement runs in a fresh Python process (``python benchmarks/<script>.py --worker
...``), so the peak resident memory of one measurement is not mixed up with another's or
with the driver's. The worker prints one JSON line; the driver adds what the kernel says
about the child (``os.wait4``: CPU seconds and ``ru_maxrss``).

Peak memory is the worker's own ``VmHWM`` (peak resident set of its address space, read
from ``/proc/self/status`` just before it exits); ``ru_maxrss`` from ``wait4`` is kept as a
cross-check (Linux may also count, in it, the few MiB of the forking driver).

This module imports only the standard library, so the driver itself stays small.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
MIB = 1024 * 1024


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB (``VmHWM``, else ``ru_maxrss``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(result: dict[str, Any]) -> None:
    """Worker side: print ``result`` with this process's peak memory as one JSON line."""
    result["peak_rss_mib"] = peak_rss_mib()
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


@dataclass
class Measurement:
    """One worker process: what it reported and what the kernel says about it."""

    label: str
    result: dict[str, Any]
    process_wall_s: float
    cpu_s: float
    ru_maxrss_mib: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def peak_rss_mib(self) -> float:
        return float(self.result["peak_rss_mib"])


def run_worker(
    label: str, argv: Sequence[str], *, env: dict[str, str] | None = None
) -> Measurement:
    """Run ``python argv...`` in a fresh process and collect its JSON line and rusage.

    Raises
    ------
    RuntimeError
        If the worker exits with a non-zero status or prints no JSON line.
    """
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, *argv],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - began
    if process.returncode != 0:
        raise RuntimeError(f"{label}: worker exited with status {process.returncode}")
    lines = [line for line in output.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{label}: worker printed no JSON result")
    return Measurement(
        label=label,
        result=json.loads(lines[-1]),
        process_wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        ru_maxrss_mib=usage.ru_maxrss / 1024,
    )


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            info["memory_gib"] = round(int(meminfo.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    info["load_average_1_5_15"] = list(os.getloadavg())
    return info


def versions(*packages: str) -> dict[str, str]:
    """Installed versions of ``packages`` (``"absent"`` when not installed)."""
    from importlib import metadata

    found = {}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def git_commit() -> str | None:
    """The checkout's commit, if git is there (read-only)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def write_results(name: str, payload: dict[str, Any]) -> Path:
    """Write ``payload`` with the machine and versions to ``benchmarks/results/<name>.json``."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": name,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "machine": machine(),
        "versions": versions("ipcsim", "simpy", "ciw", "numpy", "pandas", "pyarrow", "pydantic"),
        **payload,
    }
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(document, indent=2, default=_plain) + "\n", encoding="utf-8")
    return path


def _plain(value: object) -> object:
    if isinstance(value, Measurement):
        return asdict(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table with right-aligned numbers."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(headers, widths, strict=True))
        )
    ]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append(
            "  ".join(
                v.ljust(w) if i == 0 else v.rjust(w)
                for i, (v, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def goal(measured: float, target: float, *, at_most: bool) -> str:
    """``met`` or ``missed (x.xx x off)``, with the figure and its goal."""
    ok = measured <= target if at_most else measured >= target
    figure = f"{measured:.3g} vs goal {'<=' if at_most else '>='} {target:g}"
    if ok:
        return f"met: {figure}"
    factor = measured / target if at_most else target / measured
    return f"missed ({factor:.2f}x off): {figure}"
