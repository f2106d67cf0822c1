"""``run_calibration``: ABC-SMC, the posterior predictive check, the point estimate, the outputs."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ipcsim.errors import OutputError
from ipcsim.experiment.calibration.problem import CalibrationProblem
from ipcsim.experiment.calibration.results import (
    diagnostics,
    generation_rows,
    parameter_summary,
    point_estimate,
    posterior_frame,
    predictive_frame,
)
from ipcsim.experiment.calibration.run import (
    Journal,
    ProgressFn,
    SmcResult,
    calibrate,
    resample,
)
from ipcsim.io import calibration_folder
from ipcsim.io import manifest as io_manifest
from ipcsim.io.calibration_folder import (
    CALIBRATED_TOML,
    write_calibration_outputs,
)
from ipcsim.scenario.load import scenario_hash

__all__ = ["CalibrationResult", "run_calibration"]

ENSEMBLE_REPLICATIONS = 20
"""Fewest replications of the ensemble's experiment spec (rounded up to a whole number of
passes over the draws, so each draw weighs the same)."""


@dataclass(frozen=True)
class CalibrationResult:
    """What a calibration found (also written to ``out_dir``).

    Attributes
    ----------
    problem, out_dir
        The calibration and its folder.
    smc
        Every generation and why the sequence stopped.
    posterior, predictive
        ``posterior.parquet`` and ``predictive.parquet``.
    summary
        ``summary.json``: ``diagnostics`` first.
    point_estimate
        Key -> posterior median (``calibrated.toml``).
    executor, wall_time_s
        Where it ran and how long it took.
    reused, computed
        Simulations taken from the folder's journal (a resumed calibration) and run.
    """

    problem: CalibrationProblem
    out_dir: Path
    smc: SmcResult
    posterior: pd.DataFrame
    predictive: pd.DataFrame
    summary: dict[str, Any]
    point_estimate: dict[str, int | float]
    executor: str
    wall_time_s: float
    reused: int = 0
    computed: int = 0


def _prepare_folder(problem: CalibrationProblem, out_dir: Path, *, resume: bool) -> None:
    """Start the calibration's folder, or check that a resumed one is for the same spec.

    A finished calibration's folder is emptied and started again (unless ``resume``); an
    unfinished one is continued only with ``resume``; anything else is refused.
    """
    state = calibration_folder.check_calibration_folder(out_dir)
    if state in ("finished", "unfinished") and resume:
        recorded = calibration_folder.read_state(out_dir)
        if recorded is None:
            raise OutputError(
                f"{out_dir}: no readable {calibration_folder.STATE_FILE}: cannot resume there "
                "(a calibration written before resuming existed?); run without --resume"
            )
        if recorded.get("spec_hash") != problem.spec_hash:
            code = io_manifest.code_fingerprint()
            if recorded.get("code_hash") != code:
                started = str(recorded.get("code_hash") or "unrecorded")[:12]
                raise OutputError(
                    f"{out_dir}: ipcsim's model code changed since this calibration was started "
                    f"(code {started} != {code[:12]}); results would mix: use a new --out"
                )
            raise OutputError(
                f"{out_dir}: the spec (or its base scenario, observed file or --set) changed "
                f"since this calibration was started (hash "
                f"{str(recorded.get('spec_hash'))[:12]} != {problem.spec_hash[:12]}); results "
                "would mix: use a new --out"
            )
        return
    if state == "unfinished":
        raise OutputError(
            f"{out_dir}: holds an unfinished calibration; pass --resume to continue it (same "
            "spec), or delete the folder or choose another --out to start again"
        )
    calibration_folder.clear_calibration_folder(out_dir)
    calibration_folder.write_state(
        out_dir,
        {
            "format_version": calibration_folder.FORMAT_VERSION,
            "kind": "calibration",
            "spec_hash": problem.spec_hash,
            "code_hash": io_manifest.code_fingerprint(),
            "spec": problem.spec.model_dump(mode="json"),
            "spec_path": str(problem.spec_path) if problem.spec_path else None,
            "master_seed": problem.master_seed,
            "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
    )


def _header(problem: CalibrationProblem, parameters: dict[str, dict[str, Any]]) -> str:
    lines = [
        f"Written by `ipcsim calibrate {problem.spec_path or ''}`: the base scenario at the "
        "posterior median of each parameter",
        "(90 % credible interval in brackets; see summary.json for the diagnostics):",
    ]
    for key, p in parameters.items():
        note = "" if p["identified"] else "  NOT identified by the data (posterior ≈ prior)"
        lines.append(
            f"  {key} = {p['median']:.4g} [{p['ci90_low']:.4g} to {p['ci90_high']:.4g}]{note}"
        )
    return "\n".join(lines)


def _ensemble(
    problem: CalibrationProblem, smc: SmcResult
) -> tuple[dict[str, dict[str, Any]], dict[str, Any] | None, dict[str, Any] | None]:
    """The posterior draws: scenario files, the experiment spec and ``draws.json``.

    The draws are ``ensemble_size`` particles resampled by weight, so each weighs the same.
    The experiment spec runs the calibrated scenario over them (``ensemble = "."``): its
    replication ``r`` runs on draw ``r mod n``, so its intervals carry parameter uncertainty.
    """
    size = problem.spec.outputs.ensemble_size
    if size == 0:
        return {}, None, None
    chosen = resample(problem, smc.final, size, purpose=1)
    width = max(3, len(str(size - 1)))
    stems = [f"draw-{i:0{width}d}" for i in range(size)]
    values = [problem.values(smc.final.z[p]) for p in chosen]
    draws = {stem: problem.scenario_data(found) for stem, found in zip(stems, values, strict=True)}
    spec = {
        "name": f"{problem.name}_posterior_ensemble",
        "description": f"The calibrated scenario of calibration {problem.name} run over its "
        f"posterior ensemble ({size} draws): replication r runs on draw r mod {size}, so each "
        "KPI's interval carries parameter uncertainty as well as stochastic noise.",
        "master_seed": problem.master_seed,
        "base": f"../{CALIBRATED_TOML}",
        "ensemble": ".",
        "replications": {"mode": "fixed", "n": size * math.ceil(ENSEMBLE_REPLICATIONS / size)},
        "save_tables": False,
    }
    record = {
        "format_version": 1,
        "kind": "posterior_ensemble",
        "calibration": problem.name,
        "spec_hash": problem.spec_hash,
        "how": "particles of the final ABC-SMC population resampled by weight (systematic), "
        "so every draw weighs the same",
        "parameters": {
            key: {"also": list(settings.also), "integer": settings.integer}
            for key, settings in problem.spec.parameters.items()
        },
        "draws": [
            {"draw": stem, "particle": int(p), "values": found}
            for stem, p, found in zip(stems, chosen, values, strict=True)
        ],
    }
    return draws, spec, record


def _portable(data: dict[str, Any]) -> dict[str, Any]:
    """Scenario data with a backlog file named by its absolute path (it lies elsewhere)."""
    state = data.get("initial_state")
    if isinstance(state, str) and state:
        data = {**data, "initial_state": str(Path(state).resolve())}
    return data


def run_calibration(
    problem: CalibrationProblem,
    out_dir: str | Path,
    *,
    executor: str = "serial",
    progress: ProgressFn | None = None,
    connect_timeout_s: float = 10.0,
    resume: bool = False,
) -> CalibrationResult:
    """Calibrate the base scenario to the observed counts and write the outputs.

    Parameters
    ----------
    problem
        From :func:`ipcsim.experiment.calibration.problem.prepare_calibration`.
    out_dir
        Output folder: missing, empty, or an earlier calibration's (a finished one is
        replaced; an unfinished one needs ``resume``).
    executor
        ``serial``, ``process:N``, ``dask:local:N`` or ``dask:ADDRESS``.
    progress
        Called after each generation.
    connect_timeout_s
        How long to wait for a remote Dask scheduler, seconds.
    resume
        Continue the calibration in ``out_dir`` (the same spec, seed and code): every round
        its journal holds is taken from it, and the outputs are those of an uninterrupted run.

    Returns
    -------
    CalibrationResult
        The posterior, the predictive check and the diagnostics.

    Raises
    ------
    OutputError
        The folder cannot be used or written (checked before any simulation), or holds an
        unfinished calibration without ``resume``, or another spec's with it.
    ExecutorError
        The executor option is malformed or its back end unreachable.
    KeyboardInterrupt
        On Ctrl-C; every finished round is in the folder's journal (``resume`` continues).
    """
    out_dir = Path(out_dir)
    _prepare_folder(problem, out_dir.absolute(), resume=resume)
    journal = Journal(out_dir.absolute())
    smc, chosen, predictive_values, description, wall = calibrate(
        problem,
        executor=executor,
        progress=progress,
        connect_timeout_s=connect_timeout_s,
        journal=journal,
    )
    posterior = posterior_frame(problem, smc)
    predictive = predictive_frame(problem, predictive_values)
    parameters = parameter_summary(problem, smc)
    estimate = point_estimate(problem, smc)
    final = smc.final
    summary: dict[str, Any] = {
        "question": problem.question,
        "diagnostics": diagnostics(problem, smc, parameters, predictive),
        "method": "ABC-SMC (Beaumont et al. 2009; thresholds: quantile "
        f"{problem.spec.abc.quantile} of the previous distances), distance "
        f"{problem.spec.abc.distance}",
        "stop_reason": smc.stop_reason,
        "simulations": smc.simulations,
        "predictive_runs": len(chosen),
        "acceptance_rate": final.acceptance_rate,
        "effective_sample_size": final.ess,
        "population": len(final.weights),
        "generations": generation_rows(smc),
        "parameters": parameters,
        "point_estimate": estimate,
        "predictive": {
            "band": "5th to 95th percentile of the posterior predictive runs",
            "points": len(predictive),
            "outside": int(predictive["outside_band"].sum()),
        },
        "series": list(problem.series),
        "period": problem.observed.period,
    }
    calibrated_data = _portable(problem.scenario_data(estimate))
    calibrated = problem.scenario(estimate)
    draws, ensemble_spec, ensemble_draws = _ensemble(problem, smc)
    draws = {stem: _portable(data) for stem, data in draws.items()}
    manifest = io_manifest.build_manifest(
        scenario_json=calibrated.model_dump(mode="json", by_alias=True),
        config_hash=scenario_hash(calibrated),
        seed=problem.master_seed,
        wall_time_s=wall,
        config_path=str(problem.spec_path) if problem.spec_path else None,
        streams=sorted(smc.rng_streams),
        extra={
            "kind": "calibration",
            "calibration": problem.name,
            "question": problem.question,
            "spec": problem.spec.model_dump(mode="json"),
            "spec_hash": problem.spec_hash,
            "code_hash": io_manifest.code_fingerprint(),
            "executor": description,
            "observed_file": str(problem.observed.path),
            "simulations": smc.simulations,
            "simulations_reused": journal.reused,
        },
    )
    write_calibration_outputs(
        out_dir,
        posterior=posterior,
        predictive=predictive,
        summary=summary,
        calibrated=calibrated_data,
        calibrated_header=_header(problem, parameters),
        ensemble=draws,
        ensemble_spec=ensemble_spec,
        ensemble_draws=ensemble_draws,
        manifest=manifest,
    )
    return CalibrationResult(
        problem=problem,
        out_dir=out_dir,
        smc=smc,
        posterior=posterior,
        predictive=predictive,
        summary=summary,
        point_estimate=estimate,
        executor=description,
        wall_time_s=wall,
        reused=journal.reused,
        computed=journal.computed,
    )
