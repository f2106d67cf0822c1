"""Experiment plans: a spec resolved into validated scenarios with their seeds.

Scenarios are planned in order: the bases in the order given, then the grid's combinations
(the last factor varying fastest) or the design's nominal baseline followed by its points.
Ids are ``s000``, ``s001``, ... in that order.

Seeds and common random numbers
-------------------------------
Replication ``r`` of every scenario runs with ``seed = master_seed`` and ``replication = r``,
so it derives its streams from the master seed and ``r`` alone, never from the scenario; the
model draws each person's randomness from named streams when they are referred, so the same
referral gets the same draws in every scenario (common random numbers) and differences from
the baseline are paired. ``common_random_numbers = false`` gives each scenario its own seed
instead (for comparison). One cell is reproduced with
``run_scenario(scenario, seed=master_seed, replication=r)``.

A posterior ensemble (``ensemble = ...``, :mod:`ipcsim.experiment.ensemble`) gives each
scenario one validated scenario per draw: replication ``r`` runs on draw ``r mod n``
(:meth:`PlannedScenario.scenario_for`).
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ipcsim.analysis import sensitivity
from ipcsim.analysis.kpis import kpi_names
from ipcsim.errors import ConfigError
from ipcsim.experiment.ensemble import Ensemble, load_ensemble
from ipcsim.experiment.spec import DesignSpec, ExperimentSpec
from ipcsim.io import manifest as io_manifest
from ipcsim.io.experiment_folder import FORMAT_VERSION
from ipcsim.scenario import Scenario
from ipcsim.scenario.load import (
    apply_overrides,
    dotted_get,
    dotted_set,
    read_toml,
    resolve_files,
    scenario_from_dict,
    scenario_hash,
)

__all__ = ["ExperimentPlan", "PlannedScenario", "experiment_question", "plan_experiment"]

MAX_SCENARIO_DRAWS = 100_000
"""Most scenarios x ensemble draws one experiment validates (each a scenario of its own)."""


@dataclass(frozen=True)
class PlannedScenario:
    """One scenario of an experiment.

    Attributes
    ----------
    scenario_id
        ``s000``, ``s001``, ... in plan order.
    base
        Name of the base scenario file it starts from.
    levels
        Factor (dotted key, and ``base`` with several bases) -> level.
    is_baseline
        The scenario differences are paired with.
    scenario
        The validated scenario.
    seed
        Seed of its replications (the master seed with common random numbers).
    design_row
        Row of the design matrix it is (designs only; ``None`` for the nominal baseline).
    draws
        With a posterior ensemble: the scenario with each draw's values set, in the draws'
        order (else empty).
    """

    scenario_id: str
    base: str
    levels: dict[str, Any]
    is_baseline: bool
    scenario: Scenario
    seed: int
    design_row: int | None = None
    draws: tuple[Scenario, ...] = field(default=(), repr=False)

    def scenario_for(self, replication: int) -> Scenario:
        """The scenario replication ``replication`` runs: on draw ``r mod n`` of an ensemble."""
        if not self.draws:
            return self.scenario
        return self.draws[replication % len(self.draws)]


@dataclass(frozen=True)
class ExperimentPlan:
    """What an experiment runs, resolved and validated.

    Attributes
    ----------
    spec
        The validated spec (with any command-line overrides).
    spec_path
        The spec file (``None`` for a spec built in code).
    name
        Experiment name.
    scenarios
        Every scenario, in plan order.
    factors
        Factor column names, in order.
    baseline_id
        Id of the baseline scenario.
    master_seed
        Master seed.
    kpis
        Every KPI name (union over scenarios, in order).
    spec_hash
        SHA-256 of the spec, every resolved scenario and the model code
        (:func:`ipcsim.io.manifest.code_fingerprint`): what a resumed batch must match.
    design_matrix
        The unrounded design (designs only).
    design_ranges
        The design's factor ranges (designs only).
    question
        The question the experiment answers: the spec's ``question``, else its
        ``description``, else the first base scenario's description (may be empty).
    ensemble
        The posterior ensemble every scenario runs over (``None``: the parameters are taken
        as known).
    """

    spec: ExperimentSpec
    spec_path: Path | None
    name: str
    scenarios: tuple[PlannedScenario, ...]
    factors: tuple[str, ...]
    baseline_id: str
    master_seed: int
    kpis: tuple[str, ...]
    spec_hash: str
    design_matrix: np.ndarray | None = field(default=None, repr=False)
    design_ranges: tuple[sensitivity.FactorRange, ...] = ()
    question: str = ""
    ensemble: Ensemble | None = None

    def scenario(self, scenario_id: str) -> PlannedScenario:
        """The planned scenario with this id."""
        for planned in self.scenarios:
            if planned.scenario_id == scenario_id:
                return planned
        raise KeyError(scenario_id)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def _check_factor_key(key: str, dumps: Mapping[str, Mapping[str, Any]], where: str) -> None:
    """A factor must be a single setting of every base, and not the seed."""
    if key == "run.seed":
        raise ConfigError(
            f"{where}: run.seed cannot be a factor (replications take their seeds from "
            "master_seed; set common_random_numbers = false for independent streams)"
        )
    for base, dump in dumps.items():
        found, value = dotted_get(dump, key)
        if not found:
            raise ConfigError(f"{where}: unknown factor key (not a setting of base '{base}')")
        if not _scalar(value):
            raise ConfigError(
                f"{where}: a factor must be a single value, but it is a table in base '{base}' "
                "(vary one of its entries, e.g. a distribution's mean)"
            )


def _quote(key: str) -> str:
    """A key as TOML writes it: bare when it may be (letters, digits, ``_``, ``-``), else quoted.

    An empty key is ``""``, so a message still names it (``grid."": unknown factor key``).
    """
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _stable_hash(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _independent_seed(master_seed: int, index: int) -> int:
    """A scenario's own seed when common random numbers are off."""
    state = np.random.SeedSequence(master_seed, spawn_key=(index,)).generate_state(1)
    return int(state[0])


# --------------------------------------------------------------------------- steps
@dataclass(frozen=True)
class _Bases:
    """The base scenario files: as read (with the spec's overrides) and resolved.

    Attributes
    ----------
    raws
        Base name -> its TOML data with the spec's overrides.
    dumps
        Base name -> the validated scenario as JSON data (every default filled in).
    sources
        Base name -> where it came from, for messages.
    """

    raws: dict[str, dict[str, Any]]
    dumps: dict[str, dict[str, Any]]
    sources: dict[str, str]

    @property
    def names(self) -> list[str]:
        """Base names in the order given."""
        return list(self.raws)


@dataclass
class _Points:
    """What a grid, a design or the bases alone make: the points to plan and the baseline.

    Attributes
    ----------
    points
        ``(base, levels, design_row)`` per scenario, in plan order.
    baseline_index
        Index of the baseline in ``points``.
    factor_keys
        Factor keys, in order.
    links
        Factor key -> other keys set to the same value (designs).
    matrix, ranges
        The unrounded design and its factor ranges (designs only).
    """

    points: list[tuple[str, dict[str, Any], int | None]]
    baseline_index: int
    factor_keys: list[str] = field(default_factory=list)
    links: dict[str, tuple[str, ...]] = field(default_factory=dict)
    matrix: np.ndarray | None = None
    ranges: tuple[sensitivity.FactorRange, ...] = ()


def _read_bases(
    spec: ExperimentSpec, folder: Path, where: str, *, allow_outside_files: bool = False
) -> _Bases:
    """Read every base file, apply the spec's overrides and validate it.

    Messages start with the spec (``where``) and name the spec's key: ``base`` or
    ``bases.<name>`` for a file that cannot be read, ``overrides`` for an override that
    clashes with a base, and the scenario key for a value a base (with the overrides) rejects.
    """
    raws: dict[str, dict[str, Any]] = {}
    dumps: dict[str, dict[str, Any]] = {}
    sources: dict[str, str] = {}
    for base, relative in spec.base_files().items():
        path = folder / relative
        key = "base" if spec.base is not None else f"bases.{_quote(base)}"
        try:
            data = read_toml(path)
        except ConfigError as e:
            raise ConfigError(f"{where}: {key}: {e}") from e
        try:
            raw = apply_overrides(data, spec.overrides, label="overrides:")
        except ConfigError as e:
            raise ConfigError(f"{where}: {e} (in base '{base}', {path})") from e
        source = f"{where}: base '{base}' ({path}" + (
            f" with overrides {' '.join(spec.overrides)})" if spec.overrides else ")"
        )
        resolve_files(raw, path, source=source, allow_outside_files=allow_outside_files)
        resolved = scenario_from_dict(raw, source=source)
        raws[base] = raw
        dumps[base] = resolved.model_dump(mode="json", by_alias=True)
        sources[base] = source
    return _Bases(raws, dumps, sources)


def _grid_points(
    grid: Mapping[str, Sequence[Any]],
    bases: _Bases,
    baseline_base: str,
    baseline_levels: Mapping[str, Any],
    where: str,
) -> _Points:
    """Every combination of the grid's levels, for each base; the baseline among them."""
    factor_keys = list(grid)
    for key in factor_keys:
        _check_factor_key(key, bases.dumps, f"{where}: grid.{_quote(key)}")
    for key, level in baseline_levels.items():
        if key not in grid:
            raise ConfigError(f"{where}: baseline.{_quote(key)}: not a factor of [grid]")
        if level not in grid[key]:
            raise ConfigError(
                f"{where}: baseline.{_quote(key)}: not one of the grid's levels "
                f"{grid[key]}, got {level!r}"
            )
    combos = sensitivity.full_grid(grid)
    points: list[tuple[str, dict[str, Any], int | None]] = []
    for base in bases.names:
        points += [(base, combo, None) for combo in combos]
    wanted = {key: baseline_levels.get(key, grid[key][0]) for key in factor_keys}
    baseline_index = next(
        i
        for i, (base, levels, _) in enumerate(points)
        if base == baseline_base and levels == wanted
    )
    return _Points(points, baseline_index, factor_keys=factor_keys)


def _design_points(
    design: DesignSpec,
    bases: _Bases,
    baseline_base: str,
    baseline_levels: Mapping[str, Any],
    master_seed: int,
    where: str,
) -> _Points:
    """The design's nominal baseline (the base's own values), then its points."""
    factor_keys = list(design.factors)
    links: dict[str, tuple[str, ...]] = {}
    for key in factor_keys:
        _check_factor_key(key, bases.dumps, f"{where}: design.factors.{_quote(key)}")
        for other in design.factors[key].also:
            _check_factor_key(other, bases.dumps, f"{where}: design.factors.{_quote(key)}.also")
            links[key] = (*links.get(key, ()), other)
    ranges = tuple(
        sensitivity.FactorRange(key, r.low, r.high, r.integer) for key, r in design.factors.items()
    )
    for key in baseline_levels:
        if key not in design.factors:
            raise ConfigError(f"{where}: baseline.{_quote(key)}: not a factor of [design]")
    seed = design.seed if design.seed is not None else master_seed
    if seed >= 2**32:  # SALib's designs and bootstrap take 32-bit seeds
        raise ConfigError(
            f"{where}: design.seed: the design needs a seed below 2^32; master_seed "
            f"{master_seed} is too large to be its default, so set design.seed"
        )
    try:
        matrix = sensitivity.design_matrix(
            design.method,
            ranges,
            samples=design.samples,
            seed=seed,
            levels=design.levels,
        )
    except ValueError as e:
        raise ConfigError(f"{where}: design: {e}") from e
    nominal = {
        key: baseline_levels.get(key, dotted_get(bases.dumps[baseline_base], key)[1])
        for key in factor_keys
    }
    points: list[tuple[str, dict[str, Any], int | None]] = [(baseline_base, nominal, None)]
    for design_row, values in enumerate(sensitivity.design_points(matrix, ranges)):
        points.append((baseline_base, values, design_row))
    return _Points(points, 0, factor_keys=factor_keys, links=links, matrix=matrix, ranges=ranges)


def _bases_only_points(
    bases: _Bases, baseline_base: str, baseline_levels: Mapping[str, Any], where: str
) -> _Points:
    """One scenario per base, with no factors."""
    if baseline_levels:
        raise ConfigError(f"{where}: baseline: needs [grid] or [design] factors to choose from")
    points: list[tuple[str, dict[str, Any], int | None]] = [
        (base, {}, None) for base in bases.names
    ]
    return _Points(points, bases.names.index(baseline_base))


def _check_ensemble(ensemble: Ensemble, bases: _Bases, found: _Points, where: str) -> None:
    """Every key a draw sets must be a single setting of every base, and no factor."""
    varied = {k for key in found.factor_keys for k in (key, *found.links.get(key, ()))}
    for key in ensemble.all_keys():
        _check_factor_key(key, bases.dumps, f"{where}: ensemble ({ensemble.path}): {key}")
        if key in varied:
            raise ConfigError(
                f"{where}: ensemble: {key} is both a calibrated parameter of the ensemble and a "
                "factor of the experiment; drop the factor (the draws set it)"
            )


def _draw_scenarios(
    ensemble: Ensemble | None, raw: dict[str, Any], template: dict[str, Any], source: str
) -> tuple[Scenario, ...]:
    """The scenario with each draw's values set, validated (empty without an ensemble)."""
    if ensemble is None:
        return ()
    found = []
    for index, (name, _) in enumerate(ensemble.draws):
        data = copy.deepcopy(raw)
        ensemble.apply(data, index, template)
        found.append(scenario_from_dict(data, source=f"{source}, ensemble {name}"))
    return tuple(found)


def _build_scenarios(
    spec: ExperimentSpec,
    bases: _Bases,
    found: _Points,
    master_seed: int,
    where: str,
    ensemble: Ensemble | None = None,
) -> list[PlannedScenario]:
    """Set each point's levels in its base, validate it and give it its seed."""
    several = len(bases.names) > 1
    width = max(3, len(str(len(found.points) - 1)))
    planned: list[PlannedScenario] = []
    for index, (base, levels, row) in enumerate(found.points):
        scenario_id = f"s{index:0{width}d}"
        raw = copy.deepcopy(bases.raws[base])
        for key, level in levels.items():
            for target in (key, *found.links.get(key, ())):
                dotted_set(raw, target, level, template=bases.dumps[base])
        shown = ", ".join(f"{k}={v!r}" for k, v in levels.items())
        source = f"{where}: scenario {scenario_id} (base '{base}'{', ' + shown if shown else ''})"
        scenario = scenario_from_dict(raw, source=source)
        draws = _draw_scenarios(ensemble, raw, bases.dumps[base], source)
        seed = master_seed if spec.common_random_numbers else _independent_seed(master_seed, index)
        columns = ({"base": base} if several else {}) | dict(levels)
        planned.append(
            PlannedScenario(
                scenario_id=scenario_id,
                base=base,
                levels=columns,
                is_baseline=index == found.baseline_index,
                scenario=scenario,
                seed=seed,
                design_row=row,
                draws=draws,
            )
        )
    return planned


def _check_kpis(wanted: Sequence[str], known: Sequence[str], where: str) -> None:
    for kpi in wanted:
        if kpi not in known:
            close = difflib.get_close_matches(kpi, known, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ConfigError(f"{where}: unknown KPI, got {kpi!r}{hint}")


def _plan_kpis(spec: ExperimentSpec, planned: Sequence[PlannedScenario], where: str) -> list[str]:
    """Every KPI of the scenarios (union, in order), after checking the spec's KPIs and warm-up."""
    names: list[str] = []
    for item in planned:
        names += [k for k in kpi_names(item.scenario) if k not in names]
    _check_kpis(spec.kpis, names, f"{where}: kpis")
    if spec.replications.kpis is not None:
        _check_kpis(spec.replications.kpis, names, f"{where}: replications.kpis")
    if spec.warmup.mode == "fixed":
        shortest = min(item.scenario.run.horizon_days for item in planned)
        if spec.warmup.days >= shortest:
            raise ConfigError(
                f"{where}: warmup.days: must be shorter than the horizon ({shortest:g} days), "
                f"got {spec.warmup.days:g}"
            )
    return names


def _plan_hash(spec: ExperimentSpec, planned: Sequence[PlannedScenario]) -> str:
    """SHA-256 of the spec, every resolved scenario and its seed, and the model code."""
    payload = {
        "format": FORMAT_VERSION,
        # Rewording the question or the description changes no number: results still match.
        "spec": spec.model_dump(mode="json", exclude={"question", "description"}),
        "scenarios": [[p.scenario_id, scenario_hash(p.scenario), p.seed] for p in planned],
        # A posterior ensemble: replication r runs draw r mod n, so every draw's scenario counts.
        "draws": [[scenario_hash(d) for d in p.draws] for p in planned if p.draws],
        # Other model code simulates the same spec differently: its results must not mix.
        "code": io_manifest.code_fingerprint(),
    }
    return _stable_hash(payload)


# --------------------------------------------------------------------------- plan
def plan_experiment(
    spec: ExperimentSpec, *, spec_path: str | Path | None = None, base_dir: str | Path | None = None
) -> ExperimentPlan:
    """Resolve a spec into scenarios.

    Parameters
    ----------
    spec
        The validated spec.
    spec_path
        The spec file, for messages and the default name; base files are relative to its
        folder.
    base_dir
        Folder base files are relative to, when there is no ``spec_path`` (default: the
        current folder).

    Returns
    -------
    ExperimentPlan
        Scenarios in plan order: bases in the order given, then the grid's combinations
        (the last factor varying fastest) or the design's nominal baseline followed by its
        points.

    Raises
    ------
    ConfigError
        One line naming the spec, the key and the value: a missing or invalid base, an
        unknown factor key, a level the scenario rejects, a baseline not in the grid, an
        unknown KPI, a warm-up past the horizon.
    """
    where = str(spec_path) if spec_path is not None else "<spec>"
    folder = Path(spec_path).parent if spec_path is not None else Path(base_dir or ".")
    bases = _read_bases(spec, folder, where)
    base_names = bases.names
    first = base_names[0]
    first_base = scenario_from_dict(bases.raws[first], source=bases.sources[first])
    master_seed = spec.master_seed if spec.master_seed is not None else first_base.run.seed

    baseline_levels = dict(spec.baseline)
    baseline_base = baseline_levels.pop("base", first)
    if baseline_base not in bases.raws:
        raise ConfigError(
            f"{where}: baseline.base: not one of the bases ({', '.join(base_names)}), "
            f"got {baseline_base!r}"
        )
    if spec.grid is not None:
        found = _grid_points(spec.grid, bases, baseline_base, baseline_levels, where)
    elif spec.design is not None:
        found = _design_points(
            spec.design, bases, baseline_base, baseline_levels, master_seed, where
        )
    else:
        found = _bases_only_points(bases, baseline_base, baseline_levels, where)

    ensemble = None
    if spec.ensemble is not None:
        ensemble = load_ensemble(folder / spec.ensemble, where=where)
        _check_ensemble(ensemble, bases, found, where)
        if len(found.points) * ensemble.size > MAX_SCENARIO_DRAWS:
            raise ConfigError(
                f"{where}: ensemble: {len(found.points):,} scenarios x {ensemble.size} draws "
                f"make more than {MAX_SCENARIO_DRAWS:,} scenarios to validate (fewer draws "
                "or scenarios)"
            )
    planned = _build_scenarios(spec, bases, found, master_seed, where, ensemble)
    names = _plan_kpis(spec, planned, where)
    name = spec.name or (Path(spec_path).resolve().parent.name if spec_path else "experiment")
    return ExperimentPlan(
        spec=spec,
        spec_path=Path(spec_path) if spec_path is not None else None,
        name=name,
        scenarios=tuple(planned),
        factors=(("base",) if len(base_names) > 1 else ()) + tuple(found.factor_keys),
        baseline_id=planned[found.baseline_index].scenario_id,
        master_seed=master_seed,
        kpis=tuple(names),
        spec_hash=_plan_hash(spec, planned),
        design_matrix=found.matrix,
        design_ranges=found.ranges,
        question=experiment_question(spec, first_base),
        ensemble=ensemble,
    )


def experiment_question(spec: ExperimentSpec, base: Scenario) -> str:
    """The question an experiment answers, in words.

    Parameters
    ----------
    spec
        The validated spec.
    base
        Its first base scenario.

    Returns
    -------
    str
        The spec's ``question``; else its ``description``; else the base scenario's
        description; else an empty string.
    """
    for text in (spec.question, spec.description, base.description):
        if text and text.strip():
            return " ".join(text.split())
    return ""
