"""Run the programme as it was over several seeds and print where it lands (issue 12).

    python scripts/as_was_targets.py                 # configs/national_ipc_2015.toml, 5 seeds
    python scripts/as_was_targets.py --seeds 10 --workers 2
    python scripts/as_was_targets.py --config other.toml --set run.horizon_days=1200

For each comparable finding of the evaluation (:mod:`ipcsim.analysis.evaluation_targets`): the
finding, the model's figure (mean and range over the seeds), its window, how many seeds landed
inside, and whether it is a validation or was reproduced because it set an input. Then the
findings the model cannot be compared with, and why. Exit status 0 when every finding's mean is
inside its window, 1 when one is not, 2 on a bad input.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ipcsim import load_scenario, run_scenario  # noqa: E402
from ipcsim.analysis.evaluation_targets import NOT_COMPARABLE, compare, measure  # noqa: E402
from ipcsim.errors import ConfigError  # noqa: E402

DEFAULT_CONFIG = ROOT / "configs" / "national_ipc_2015.toml"
FIRST_SEED = 2015


def figures_for_seed(config: str, overrides: list[str], seed: int) -> dict[str, float]:
    """One run of the scenario with ``seed``, measured against the findings."""
    scenario = load_scenario(config, overrides=[*overrides, f"run.seed={seed}"])
    people = run_scenario(scenario).people
    return measure(people, scenario.run.start_date, scenario.run.horizon_days)


def _number(value: float) -> str:
    if value != value:  # NaN
        return "-"
    if abs(value) == float("inf"):
        return "inf"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="scenario TOML")
    parser.add_argument("--seeds", type=int, default=5, help="seeds to run (from 2015 on)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    if not 1 <= args.seeds <= 1000 or not 1 <= args.workers <= 256:
        print("as_was_targets: --seeds must be 1 to 1,000 and --workers 1 to 256", file=sys.stderr)
        return 2
    try:
        load_scenario(args.config, overrides=args.set)
    except ConfigError as e:
        print(f"as_was_targets: {e}", file=sys.stderr)
        return 2
    seeds = range(FIRST_SEED, FIRST_SEED + args.seeds)
    started = time.perf_counter()
    print(f"{Path(args.config).name}: {args.seeds} seed(s) on {args.workers} worker(s) ...")
    if args.workers == 1:
        figures = [figures_for_seed(args.config, args.set, seed) for seed in seeds]
    else:
        with ProcessPoolExecutor(args.workers) as pool:
            runs = [pool.submit(figures_for_seed, args.config, args.set, s) for s in seeds]
            figures = [run.result() for run in runs]
    table = compare(figures)
    print(f"done in {time.perf_counter() - started:.0f} s\n")
    header = f"{'target':<5} {'model mean [range]':<24} {'window':<14} {'seeds in':<9} {'':<4}"
    print(header + " finding / measure")
    for row in table.itertuples():
        window = f"{_number(row.low)}-{_number(row.high)}"
        spread = f"{_number(row.mean)} [{_number(row.lowest)}-{_number(row.highest)}]"
        verdict = "in" if row.inside else "OUT"
        kind = "" if row.validation else " (set an input: not a validation)"
        print(
            f"{row.target:<5} {spread:<24} {window:<14} {row.runs_inside}/{row.runs:<7} "
            f"{verdict:<4} {row.finding}{kind}"
        )
        print(f"{'':<59}{row.measure}")
        if row.set_by:
            print(f"{'':<59}set by: {row.set_by}")
    validations = table[table.validation]
    print(
        f"\nValidations inside: {int(validations.inside.sum())} of {len(validations)}; "
        f"findings that set inputs inside: {int(table[~table.validation].inside.sum())} of "
        f"{int((~table.validation).sum())}."
    )
    print("\nNot comparable:")
    for target, reason in NOT_COMPARABLE:
        print(f"  {target}: {reason}")
    return 0 if bool(table.inside.all()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
