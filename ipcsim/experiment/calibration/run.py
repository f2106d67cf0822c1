"""Running a calibration: ABC-SMC over the executor, the posterior predictive runs, the outputs.

The algorithm (Beaumont et al. 2009, with Del Moral et al.'s quantile thresholds; the
numerical parts are :mod:`ipcsim.analysis.abc`):

0. Draw ``population`` particles from the priors and simulate each; all are kept, with equal
   weights.
1. For each later generation: the threshold is the ``quantile`` of the previous generation's
   distances (weighted); propose particles by picking a parent by weight and moving it with
   a component-wise normal kernel (twice the previous weighted variance) truncated to the
   prior's box; simulate them in rounds of ``batch``; keep, in proposal order, the first
   ``population`` whose distance is within the threshold; weight them by prior / kernel
   mixture.
2. Stop after ``generations``, or after a generation that accepted fewer than
   ``min_acceptance_rate`` of its proposals, or before a round would pass
   ``max_simulations`` (the last whole generation is then the posterior).

Reproducibility: proposal ``i`` of generation ``g`` draws from its own stream,
``SeedSequence(master_seed, spawn_key=(PROPOSALS, g, i))``, and runs the scenario with
``master_seed`` and replication ``g * 10^7 + i``; rounds are fixed in size and judged in
proposal order. So the posterior depends only on the spec and the seed, never on the
executor, its number of workers or the order in which runs finish.

Resume: with a :class:`Journal`, each round's particles and simulated values are recorded the
moment the round finishes (:mod:`ipcsim.io.calibration_folder`). A resumed calibration replays
the same sequence, proposing the same particles, and takes each round it finds in the journal
instead of simulating it again; so it gives the same posterior as an uninterrupted run, having
lost at most the rounds that were running when it stopped (``abc.batch`` proposals each).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ipcsim.analysis import abc
from ipcsim.engine.model import quiet_cyclic_gc
from ipcsim.errors import OutputError
from ipcsim.experiment.calibration.problem import CalibrationProblem
from ipcsim.experiment.calibration.simulate import SimulationResult, SimulationTask, simulate
from ipcsim.experiment.calibration.spec import MAX_GENERATIONS, MAX_SIMULATIONS
from ipcsim.experiment.executors import ExecutorHandle, open_executor
from ipcsim.io import calibration_folder

__all__ = [
    "PROPOSALS",
    "REPLICATION_STRIDE",
    "Generation",
    "Journal",
    "SmcResult",
    "run_smc",
    "simulate_draws",
]

PROPOSALS = 0xCA11
"""First spawn key of the proposal streams (apart from the model's own stream keys)."""
RESAMPLING = 0xCA12
"""First spawn key of the resampling streams (predictive draws, ensemble)."""
REPLICATION_STRIDE = 10**7
"""Replication numbers of generation ``g`` start at ``g * REPLICATION_STRIDE``."""
PREDICTIVE_GENERATION = MAX_GENERATIONS + 1
"""The generation number of the posterior predictive runs (after any real generation)."""
if MAX_SIMULATIONS > REPLICATION_STRIDE:  # pragma: no cover - a guard on the constants
    raise RuntimeError("REPLICATION_STRIDE must exceed MAX_SIMULATIONS")


@dataclass(frozen=True)
class Generation:
    """One generation's population and how it was reached.

    Attributes
    ----------
    number
        0 for the prior's.
    threshold
        Largest distance accepted (``inf`` for generation 0).
    z
        Accepted particles in the working space, shape ``(population, parameters)``.
    weights
        Their normalised weights.
    distances
        Their distances.
    simulated
        Their simulated values, shape ``(population, targets)``.
    replications
        The replication number of each accepted particle's run.
    proposed
        Proposals needed to reach the population (up to the last one accepted).
    simulations
        Simulations run in the generation (rounds are whole, so at least ``proposed``).
    """

    number: int
    threshold: float
    z: np.ndarray
    weights: np.ndarray
    distances: np.ndarray
    simulated: np.ndarray
    replications: np.ndarray
    proposed: int
    simulations: int

    @property
    def acceptance_rate(self) -> float:
        """Accepted / proposed."""
        return len(self.weights) / self.proposed if self.proposed else math.nan

    @property
    def ess(self) -> float:
        """Effective sample size of the weights."""
        return abc.effective_sample_size(self.weights)


@dataclass
class SmcResult:
    """Every generation, why the run stopped, and what it cost."""

    generations: list[Generation]
    stop_reason: str
    simulations: int
    rng_streams: set[str] = field(default_factory=set)

    @property
    def final(self) -> Generation:
        """The posterior: the last whole generation."""
        return self.generations[-1]


@dataclass
class Journal:
    """The record of simulated rounds in a calibration's folder (``None``: nothing kept).

    Attributes
    ----------
    folder
        The calibration's folder, or ``None`` to keep nothing.
    reused, computed
        Simulations taken from the journal, and run, so far.
    """

    folder: Path | None = None
    reused: int = 0
    computed: int = 0

    def find(self, generation: int, first: int, zs: np.ndarray) -> list[SimulationResult] | None:
        """The round's results if it was journalled (its particles must be the same)."""
        if self.folder is None:
            return None
        record = calibration_folder.read_round(self.folder, generation, first)
        if record is None:
            return None
        try:
            recorded = np.array(record["z"], dtype=float).reshape(zs.shape)
            values = [
                tuple(math.nan if v is None else float(v) for v in row) for row in record["values"]
            ]
            streams = tuple(str(name) for name in record["streams"])
        except (KeyError, TypeError, ValueError):
            return None  # unreadable: simulated again
        if len(values) != len(zs) or not np.array_equal(recorded, zs):
            path = calibration_folder.round_path(self.folder, generation, first)
            raise OutputError(
                f"{path}: this round's particles differ from those the calibration proposes "
                "now; the folder was written by another calibration: use a new --out"
            )
        self.reused += len(values)
        return [
            SimulationResult(generation, first + j, row, streams, 0.0)
            for j, row in enumerate(values)
        ]

    def record(
        self, generation: int, first: int, zs: np.ndarray, results: Sequence[SimulationResult]
    ) -> None:
        """Journal a round that has just been simulated."""
        self.computed += len(results)
        if self.folder is None:
            return
        calibration_folder.write_round(
            self.folder,
            generation,
            first,
            {
                "generation": generation,
                "first": first,
                "z": zs.tolist(),
                "values": [list(r.values) for r in results],
                "streams": sorted({name for r in results for name in r.rng_streams}),
            },
        )


def _round(
    problem: CalibrationProblem,
    generation: int,
    first: int,
    zs: np.ndarray,
    handle: ExecutorHandle,
    journal: Journal,
) -> list[SimulationResult]:
    """Simulate particles ``zs`` (proposals ``first``, ``first + 1``, ...), or find them."""
    found = journal.find(generation, first, zs)
    if found is not None:
        return found
    tasks = [_task(problem, generation, first + j, z) for j, z in enumerate(zs)]
    results = _run_tasks(tasks, handle)
    journal.record(generation, first, zs, results)
    return results


ProgressFn = Callable[[Generation, int], None]
"""Called after each generation with it and the simulations run so far."""


def _stream(master_seed: int, *keys: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(master_seed, spawn_key=keys)))


def _run_tasks(tasks: Sequence[SimulationTask], handle: ExecutorHandle) -> list[SimulationResult]:
    """Run tasks on the executor, a few in flight; results in the tasks' order."""
    results: dict[int, SimulationResult] = {}
    queue = iter(enumerate(tasks))
    pending: dict[cf.Future[SimulationResult], int] = {}
    try:
        while True:
            while len(pending) < handle.max_in_flight:
                item = next(queue, None)
                if item is None:
                    break
                position, task = item
                pending[handle.executor.submit(simulate, task)] = position
            if not pending:
                break
            done, _ = cf.wait(list(pending), timeout=0.5, return_when=cf.FIRST_COMPLETED)
            for future in done:
                results[pending.pop(future)] = future.result()
    except BaseException:
        for future in pending:
            future.cancel()
        raise
    return [results[i] for i in range(len(tasks))]


def _task(
    problem: CalibrationProblem, generation: int, index: int, z: np.ndarray
) -> SimulationTask:
    return SimulationTask(
        generation=generation,
        index=index,
        scenario=problem.scenario(problem.values(z)),
        seed=problem.master_seed,
        replication=generation * REPLICATION_STRIDE + index,
        targets=problem.targets,
    )


def _propose(
    problem: CalibrationProblem, previous: Generation | None, g: int, i: int
) -> np.ndarray:
    rng = _stream(problem.master_seed, PROPOSALS, g, i)
    if previous is None:
        return abc.prior_draw(problem.priors, rng)
    parent = int(rng.choice(len(previous.weights), p=previous.weights))
    scales = abc.kernel_scales(previous.z, previous.weights, problem.priors)
    return abc.perturb(previous.z[parent], scales, problem.priors, rng)


def run_smc(
    problem: CalibrationProblem,
    handle: ExecutorHandle,
    progress: ProgressFn | None = None,
    journal: Journal | None = None,
) -> SmcResult:
    """ABC-SMC of the problem on an open executor (see the module's notes).

    Returns
    -------
    SmcResult
        Every whole generation (the last is the posterior) and why it stopped.
    """
    settings = problem.spec.abc
    journal = journal if journal is not None else Journal()
    n = settings.population
    batch = settings.batch or n
    observed = problem.observed_vector
    residual_scales = problem.scales
    total = 0
    streams: set[str] = set()
    generations: list[Generation] = []
    stop = f"ran the {settings.generations} generations asked for"
    for g in range(settings.generations + 1):
        previous = generations[-1] if generations else None
        threshold = (
            math.inf
            if previous is None
            else abc.weighted_quantile(previous.distances, previous.weights, settings.quantile)
        )
        accepted: list[tuple[np.ndarray, float, np.ndarray, int]] = []
        proposed = 0
        proposed_until = 0
        simulations = 0
        exhausted = False
        while len(accepted) < n:
            size = n if previous is None else batch
            if total + size > settings.max_simulations:
                exhausted = True
                break
            zs = np.array([_propose(problem, previous, g, proposed + j) for j in range(size)])
            results = _round(problem, g, proposed, zs, handle, journal)
            total += size
            simulations += size
            for j, (z, result) in enumerate(zip(zs, results, strict=True)):
                streams.update(result.rng_streams)
                values = np.array(result.values, dtype=float)
                distance = abc.scaled_distance(values, observed, residual_scales)
                if len(accepted) < n and distance <= threshold:
                    accepted.append((z, distance, values, g * REPLICATION_STRIDE + proposed + j))
                    if len(accepted) == n:
                        proposed_until = proposed + j + 1
            proposed += size
        if exhausted:
            stop = (
                f"stopped in generation {g}: another round would pass max_simulations "
                f"({settings.max_simulations:,}); the posterior is generation {g - 1}"
            )
            break
        z = np.array([a[0] for a in accepted])
        if previous is None:
            weights = np.full(n, 1.0 / n)
        else:
            scales = abc.kernel_scales(previous.z, previous.weights, problem.priors)
            weights = abc.smc_weights(z, previous.z, previous.weights, scales, problem.priors)
        generation = Generation(
            number=g,
            threshold=threshold,
            z=z,
            weights=weights,
            distances=np.array([a[1] for a in accepted]),
            simulated=np.array([a[2] for a in accepted]),
            replications=np.array([a[3] for a in accepted], dtype=np.int64),
            proposed=proposed_until,
            simulations=simulations,
        )
        generations.append(generation)
        if progress is not None:
            progress(generation, total)
        if g > 0 and generation.acceptance_rate < settings.min_acceptance_rate:
            stop = (
                f"stopped after generation {g}: it accepted {generation.acceptance_rate:.1%} "
                f"of its proposals, below min_acceptance_rate "
                f"({settings.min_acceptance_rate:.1%})"
            )
            break
        if g > 0 and float(generation.distances.max()) == 0.0:
            stop = f"stopped after generation {g}: every particle matches the data exactly"
            break
    return SmcResult(
        generations=generations, stop_reason=stop, simulations=total, rng_streams=streams
    )


def resample(
    problem: CalibrationProblem, generation: Generation, count: int, *, purpose: int
) -> np.ndarray:
    """Indices of ``count`` particles drawn by weight (systematic; its own stream per purpose)."""
    rng = _stream(problem.master_seed, RESAMPLING, purpose)
    return abc.systematic_resample(generation.weights, count, rng)


def simulate_draws(
    problem: CalibrationProblem,
    generation: Generation,
    count: int,
    handle: ExecutorHandle,
    journal: Journal | None = None,
) -> tuple[np.ndarray, np.ndarray, set[str]]:
    """The posterior predictive: ``count`` fresh runs of particles drawn by weight.

    Returns
    -------
    tuple
        The particle index of each run, the simulated values (``(count, targets)``) and the
        random streams used.
    """
    chosen = resample(problem, generation, count, purpose=0)
    journal = journal if journal is not None else Journal()
    # In rounds of ``batch`` as the generations, so a resumed calibration loses no more.
    size = problem.spec.abc.batch or problem.spec.abc.population
    results: list[SimulationResult] = []
    for first in range(0, count, size):
        zs = generation.z[chosen[first : first + size]]
        results += _round(problem, PREDICTIVE_GENERATION, first, zs, handle, journal)
    streams = {name for r in results for name in r.rng_streams}
    return chosen, np.array([r.values for r in results], dtype=float), streams


def calibrate(
    problem: CalibrationProblem,
    *,
    executor: str = "serial",
    progress: ProgressFn | None = None,
    connect_timeout_s: float = 10.0,
    journal: Journal | None = None,
) -> tuple[SmcResult, np.ndarray, np.ndarray, str, float]:
    """ABC-SMC and the posterior predictive runs on one executor (rounds kept in ``journal``).

    Returns
    -------
    tuple
        The SMC result, the predictive runs' particle indices and values, the executor's
        description and the wall time in seconds.
    """
    began = time.perf_counter()
    with (
        open_executor(executor, connect_timeout_s=connect_timeout_s) as handle,
        # Serial: one quiet collector for every run, not a full collection before each (it
        # took a third of a small run's time in a large process such as a test session).
        quiet_cyclic_gc() if handle.spec.kind == "serial" else contextlib.nullcontext(),
    ):
        smc = run_smc(problem, handle, progress, journal)
        chosen, predictive, streams = simulate_draws(
            problem, smc.final, problem.spec.predictive_draws, handle, journal
        )
        description = handle.description
    smc.rng_streams |= streams
    return smc, chosen, predictive, description, time.perf_counter() - began
