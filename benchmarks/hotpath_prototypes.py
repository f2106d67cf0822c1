"""Measure candidate hot-path fixes to ipcsim by monkeypatching them in (benchmark only).

Each fix is a small rewrite of one ipcsim function as it stands, applied in this process
only, so its effect on the national pathway can be measured before anyone changes ipcsim.
A fix that lands in ipcsim is deleted here. Fixes apply cumulatively in the order given by
``--fixes``; each measurement is a fresh process running ``run_scenario`` (wall and CPU
seconds, peak memory, and two outcomes to show the model still does the same thing).

The first round (``gc``, ``named``, ``reviews``, ``inline``, ``draws``: 2.1x at full scale,
2,465 -> 1,683 MiB, and 8.8x on the 1 M-customer M/M/c) landed in ipcsim in c93f103.
The second round, below, measured no gain beyond the run-to-run noise (about 5 %): at full
scale 84.4 -> 83.9 -> 78.6 s CPU in one series and 89.2 -> 90.1 -> 87.6 s in another; at
half scale, three alternating pairs without and with ``dispatch``, 38.2 and 38.3 s on
average. They stay here so that nobody spends time on them without new evidence:

- ``zero``: ``Environment.timeout(0)`` returns an event that is already processed, so a
  process that waits "until the booked start" when the start is now (4.2 of the 26 events
  a person costs) resumes at once instead of going round the event queue;
- ``dispatch``: a pool's waiting requests are kept in first-come-first-served queues per
  (named member or anyone, rank, new case or not), so a member who comes free takes the
  first eligible request from the heads of a few queues instead of scanning every waiting
  request; cancelled requests are dropped lazily. The same request is chosen as before
  (the scan already stops at the first eligible request in most cases, which is why this
  buys nothing measurable).

Usage::

    python benchmarks/hotpath_prototypes.py --scale 0.3
    python benchmarks/hotpath_prototypes.py --scale 1 --fixes zero,dispatch
    python benchmarks/hotpath_prototypes.py --mmc 100000
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import harness

FIXES = ("zero", "dispatch")


# --------------------------------------------------------------------------- zero
def apply_zero() -> None:
    import simpy
    from simpy.events import Event, Timeout

    def timeout(self: simpy.Environment, delay: float = 0, value: Any = None) -> Event:
        if delay == 0:
            done = Event(self)
            done._ok = True
            done._value = value
            done.callbacks = None  # type: ignore[assignment]  # processed: resumes at once
            return done
        return Timeout(self, delay, value)

    simpy.Environment.timeout = timeout  # type: ignore[method-assign, assignment]


# --------------------------------------------------------------------------- dispatch
class WaitingQueues:
    """A pool's waiting requests, first come first served within each kind of request.

    Stands in for ``StaffPool._waiting`` (a list): ``append``, ``remove``, ``in``,
    ``len`` and iteration in arrival order work as before, and :meth:`pop_first_for`
    gives what ``StaffPool._dispatch`` used to find by scanning the whole list.
    """

    def __init__(self) -> None:
        self._queues: dict[tuple[int, int, bool], collections.deque[Any]] = {}
        self._present: dict[int, Any] = {}

    def _key(self, request: Any) -> tuple[int, int, bool]:
        member = 0 if request.member is None else id(request.member)
        return (member, request.rank, bool(request.new_case))

    def append(self, request: Any) -> None:
        self._queues.setdefault(self._key(request), collections.deque()).append(request)
        self._present[id(request)] = request

    def remove(self, request: Any) -> None:
        del self._present[id(request)]  # dropped from its queue when it reaches the head

    def __contains__(self, request: object) -> bool:
        return id(request) in self._present

    def __len__(self) -> int:
        return len(self._present)

    def __iter__(self) -> Iterator[Any]:
        return iter(sorted(self._present.values(), key=lambda r: r.seq))

    def rebuild(self) -> None:
        """Re-file every request (after requests were changed in place, e.g. retire)."""
        waiting = list(self)
        self._queues.clear()
        self._present.clear()
        for request in waiting:
            self.append(request)

    def _head(self, key: tuple[int, int, bool]) -> Any:
        queue = self._queues.get(key)
        while queue:
            if id(queue[0]) in self._present and self._key(queue[0]) == key:
                return queue[0]
            queue.popleft()
        return None

    def pop_first_for(self, member: Any, capped: bool, ranks: Iterator[int]) -> Any:
        """The first waiting request ``member`` may take (lowest rank, then earliest)."""
        best = None
        for rank in ranks:
            for key in ((id(member), rank, False), (id(member), rank, True),
                        (0, rank, False), (0, rank, True)):  # fmt: skip
                if capped and key[2]:
                    continue
                head = self._head(key)
                if head is not None and (
                    best is None or (head.rank, head.seq) < (best.rank, best.seq)
                ):
                    best = head
        if best is not None:
            self._queues[self._key(best)].popleft()
            del self._present[id(best)]
        return best


def apply_dispatch() -> None:
    from ipcsim.staff import StaffPool

    original_init = StaffPool.__init__
    original_retire = StaffPool.retire

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self._waiting = WaitingQueues()

    def _dispatch(self: Any, member: Any) -> None:
        cap = self.role.caseload_cap
        capped = cap is not None and member.caseload >= cap
        best = self._waiting.pop_first_for(member, capped, sorted(set(self.ranks.values())))
        if best is not None:
            self._grant(best, member)

    def retire(self: Any, member: Any) -> None:
        original_retire(self, member)
        self._waiting.rebuild()

    StaffPool.__init__ = __init__  # type: ignore[method-assign]
    StaffPool._dispatch = _dispatch  # type: ignore[method-assign]
    StaffPool.retire = retire  # type: ignore[method-assign]


APPLY: dict[str, Callable[[], None]] = {
    "zero": apply_zero,
    "dispatch": apply_dispatch,
}


# --------------------------------------------------------------------------- driver
def run_worker(fixes: list[str], scale: float, customers: int | None) -> dict[str, Any]:
    """One measurement: the national pathway at ``scale``, or the M/M/c queue of
    ``bench_mmc.py`` with ``customers`` customers when that is given."""
    from ipcsim.runner import run_scenario

    for fix in fixes:
        APPLY[fix]()
    if customers is None:
        from bench_pathway import national_scenario

        scenario = national_scenario(scale)
    else:
        from bench_mmc import SEED, mmc_scenario

        scenario = mmc_scenario(customers, SEED)
    began, cpu = time.perf_counter(), time.process_time()
    result = run_scenario(scenario)
    cpu = time.process_time() - cpu
    waits = result.summary["waits_days"]
    key = "referral_to_budget_release" if customers is None else "referral_to_first_conversation"
    return {
        "fixes": fixes,
        "wall_s": time.perf_counter() - began,
        "cpu_s": cpu,
        "people": len(result.people),
        "people_per_cpu_s": len(result.people) / cpu,
        "budget_in_place": result.summary["people"]["budget_in_place"],
        "mean_wait_days": waits[key]["mean"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure prototype fixes to ipcsim hot paths")
    parser.add_argument("--scale", type=float, default=0.3)
    parser.add_argument(
        "--mmc", type=int, default=None, metavar="CUSTOMERS", help="the M/M/c queue instead"
    )
    parser.add_argument("--fixes", default=",".join(FIXES), help="comma-separated, cumulative")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        chosen = [f for f in args.worker.split(",") if f]
        harness.emit(run_worker(chosen, args.scale, args.mmc))
        return 0
    fixes = [f for f in args.fixes.split(",") if f]
    unknown = sorted(set(fixes) - set(FIXES))
    if unknown:
        parser.error(f"unknown fix(es) {', '.join(unknown)}; choose from {', '.join(FIXES)}")
    rows: list[list[object]] = []
    found = {}
    baseline_cpu: float | None = None
    for step in [fixes[:k] for k in range(len(fixes) + 1)]:
        label = "+".join(step) or "current ipcsim"
        print(f"  {label} ...", flush=True)
        workload = ["--scale", str(args.scale)] if args.mmc is None else ["--mmc", str(args.mmc)]
        argv_ = ["benchmarks/hotpath_prototypes.py", "--worker", ",".join(step), *workload]
        m = harness.run_worker(label, argv_)
        found[label] = m
        cpu = m.result["cpu_s"]
        baseline_cpu = baseline_cpu or cpu
        rows.append(
            [label, m.result["people"], m.result["wall_s"], cpu, baseline_cpu / cpu,
             m.peak_rss_mib, m.result["budget_in_place"], m.result["mean_wait_days"]]
        )  # fmt: skip
    print()
    headers = ["fixes (cumulative)", "people", "wall s", "CPU s", "speed-up", "peak MiB",
               "budget in place", "mean wait, days"]  # fmt: skip
    print(harness.table(headers, rows))
    name = f"hotpath_prototypes_scale_{args.scale:g}"
    if args.mmc is not None:
        name = f"hotpath_prototypes_mmc_{args.mmc}"
    path = harness.write_results(name, {"scale": args.scale, "mmc": args.mmc, "steps": found})
    print(f"\nwrote {path.relative_to(harness.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
