"""``ipcsim calibrate``: a thin typer layer over :mod:`ipcsim.experiment.calibration`.

It parses options, reports each generation on stderr, then prints the diagnostics first (what
the calibration could not do), the parameters' posteriors and where the outputs are.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ipcsim.cli._app import SetOption, console, err_console, user_errors
from ipcsim.experiment.calibration import (
    CalibrationResult,
    Generation,
    load_calibration_spec,
    prepare_calibration,
    run_calibration,
)

__all__ = ["calibrate", "register"]


def register(app: typer.Typer) -> None:
    """Add the ``calibrate`` command to ``app``."""
    app.command("calibrate")(calibrate)


def _number(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.4g}"


def _parameter_table(result: CalibrationResult) -> Table:
    table = Table(
        title="Posterior: median and 90 % credible interval (prior range for comparison)",
        header_style="bold",
    )
    parameters = result.summary["parameters"]
    truth = any("true_value" in p for p in parameters.values())
    columns = ["parameter", "median", "90 % interval", "prior", "sd / prior sd"]
    for column in columns + (["true value"] if truth else []):
        table.add_column(column, justify="left" if column == "parameter" else "right")
    for key, p in parameters.items():
        row = [
            key,
            _number(p["median"]),
            f"{_number(p['ci90_low'])} to {_number(p['ci90_high'])}",
            f"{p['prior']} {_number(p['low'])} to {_number(p['high'])}",
            f"{p['sd_ratio']:.2f}" + ("" if p["identified"] else " (≈ prior)"),
        ]
        if truth:
            inside = "in" if p.get("truth_in_ci90") else "OUTSIDE"
            row.append(f"{_number(p['true_value'])} ({inside})" if "true_value" in p else "")
        table.add_row(*row)
    return table


@user_errors
def calibrate(
    spec: Annotated[str, typer.Argument(help="Calibration spec (TOML).")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder [default: outputs/<spec folder name>]"),
    ] = None,
    executor: Annotated[
        str,
        typer.Option(
            "--executor", help="serial, process:N, dask:local:N or dask:ADDRESS (e.g. tcp://h:8786)"
        ),
    ] = "serial",
    set_: SetOption = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", help="Do not report each generation as it finishes.")
    ] = False,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Continue an interrupted calibration in --out (same spec and seed)."
        ),
    ] = False,
) -> None:
    """Fit a scenario's uncertain parameters to observed counts (ABC-SMC); print the diagnostics.

    --set takes scenario keys (run.horizon_days=365, applied to the base) and spec keys
    (abc.population=200, master_seed=3). A calibration stopped by Ctrl-C or killed keeps the
    rounds it simulated in --out; --resume continues it and writes what an uninterrupted run
    writes.
    """
    spec_path = Path(spec)
    loaded = load_calibration_spec(spec_path, list(set_ or []))
    problem = prepare_calibration(loaded, spec_path=spec_path)
    out_dir = out if out is not None else Path("outputs") / spec_path.resolve().parent.name
    if not quiet:
        err_console.print(
            f"{problem.name}: {len(problem.priors)} parameters, {len(problem.targets)} observed "
            f"points, {loaded.abc.population} particles on {executor}; outputs in {out_dir}",
            highlight=False,
            markup=False,
        )

    def progress(generation: Generation, simulations: int) -> None:
        if not quiet:
            threshold = (
                "prior" if math.isinf(generation.threshold) else f"{generation.threshold:.3g}"
            )
            err_console.print(
                f"  generation {generation.number}: threshold {threshold}, acceptance "
                f"{generation.acceptance_rate:.1%}, effective sample size {generation.ess:.0f}; "
                f"{simulations:,} simulations so far",
                highlight=False,
                markup=False,
            )

    try:
        result = run_calibration(
            problem, out_dir, executor=executor, progress=progress, resume=resume
        )
    except KeyboardInterrupt:
        err_console.print(
            f"[bold red]interrupted:[/] the rounds simulated so far are kept in {out_dir}; "
            "run the same command with --resume to complete it",
            highlight=False,
        )
        raise typer.Exit(130) from None
    if problem.question:
        console.print(f"Question: {problem.question}", highlight=False, markup=False)
    console.print("Diagnostics:", highlight=False, markup=False)
    for item in result.summary["diagnostics"]:
        console.print(f"  - {item['message']}", highlight=False, markup=False, soft_wrap=True)
    summary = result.summary
    console.print(
        f"Acceptance rate {summary['acceptance_rate']:.1%} in the last generation, effective "
        f"sample size {summary['effective_sample_size']:.0f} of {summary['population']}; "
        f"{summary['predictive']['outside']} of {summary['predictive']['points']} observed "
        "points outside the posterior predictive 90 % band.",
        highlight=False,
        markup=False,
    )
    console.print(_parameter_table(result))
    reused = f" ({result.reused:,} of them from the folder's journal)" if result.reused else ""
    console.print(
        f"{summary['simulations']:,} simulations and {summary['predictive_runs']} predictive "
        f"runs{reused} in {result.wall_time_s:.1f} s on {result.executor}. Outputs in {out_dir} "
        "(calibrated.toml runs with `ipcsim run`; ensemble/experiment.toml with "
        "`ipcsim experiment`).",
        highlight=False,
        markup=False,
    )
