"""A plan spec resolved: the base scenario, the roles' levels and costs, the service levels.

Building a configuration's scenario sets each role's ``headcount`` (or ``fte``) in the base's
TOML data, as an experiment's grid sets its factors, and validates it; replication ``r`` of
every configuration runs with the master seed and ``r`` (common random numbers). With a
posterior ensemble (``ensemble = ...``) replication ``r`` also runs on draw ``r mod n``
(:mod:`ipcsim.experiment.ensemble`): the same draw for every configuration.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ipcsim.analysis.kpis import kpi_names
from ipcsim.analysis.service_levels import ServiceLevel
from ipcsim.errors import ConfigError
from ipcsim.experiment.ensemble import Ensemble, load_ensemble
from ipcsim.experiment.plan import _check_factor_key
from ipcsim.experiment.planning.spec import MAX_PERIODS, PlanSpec
from ipcsim.io import manifest as io_manifest
from ipcsim.periods import add_months, day_of
from ipcsim.scenario import Scenario
from ipcsim.scenario.load import (
    apply_overrides,
    dotted_set,
    read_toml,
    resolve_files,
    scenario_from_dict,
)
from ipcsim.units import DAYS_PER_WEEK, DAYS_PER_YEAR

__all__ = ["PlanProblem", "RoleLevels", "alternative_problem", "prepare_plan"]

WEEKS_PER_YEAR = DAYS_PER_YEAR / DAYS_PER_WEEK
"""52.18 weeks a year, for a role's yearly cost."""


@dataclass(frozen=True)
class RoleLevels:
    """One decision variable: a role, the measure varied and its levels with their costs.

    Attributes
    ----------
    role
        The role's name in ``[workforce]``.
    measure
        ``headcount`` or ``fte``.
    levels
        Levels tried, ascending.
    costs
        Cost of each level: pounds a year of the role's IPC time, or the level itself for
        ``cost = "headcount"``.
    """

    role: str
    measure: str
    levels: tuple[float, ...]
    costs: tuple[float, ...]

    @property
    def key(self) -> str:
        """The dotted scenario key set."""
        return f"workforce.{self.role}.{self.measure}"

    def value(self, index: int) -> int | float:
        """The level as the scenario takes it (whole for headcount)."""
        level = self.levels[index]
        return int(level) if self.measure == "headcount" else level


@dataclass(frozen=True)
class PlanProblem:
    """What a plan searches, resolved and validated.

    Attributes
    ----------
    spec, spec_path, name, question
        The spec, its file, the plan's name and the question it answers.
    raw
        The base scenario's TOML data with the spec's overrides (file names resolved).
    base
        The base scenario, validated.
    roles
        The decision variables, in the spec's order.
    service_levels
        The targets with their requirements.
    master_seed
        Seed of every replication.
    spec_hash
        SHA-256 of the spec, the base scenario, the ensemble's draws and the model code.
    ensemble
        The posterior ensemble replications run over (``None``: parameters taken as known).
    alternative
        The alternative (``[alternatives.<name>]``) whose settings ``raw`` and ``base`` carry;
        ``""`` for the plan as a whole.
    extra_cost
        The alternative's stated extra cost, pounds a year (not in :meth:`cost`).
    """

    spec: PlanSpec
    spec_path: Path | None
    name: str
    question: str
    raw: dict[str, Any]
    base: Scenario
    roles: tuple[RoleLevels, ...]
    service_levels: tuple[ServiceLevel, ...]
    master_seed: int
    spec_hash: str
    ensemble: Ensemble | None
    alternative: str
    extra_cost: float

    def kpi_window(self) -> tuple[float, float | None]:
        """Where the KPIs judge: from the warm-up to the horizon (``None``)."""
        return self.spec.warmup_days, None

    def levels(self, config: tuple[int, ...]) -> dict[str, int | float]:
        """Role -> level of a configuration (indices into each role's levels)."""
        return {r.role: r.value(i) for r, i in zip(self.roles, config, strict=True)}

    def cost(self, config: tuple[int, ...]) -> float:
        """A configuration's cost."""
        return float(sum(r.costs[i] for r, i in zip(self.roles, config, strict=True)))

    def scenario_data(self, config: tuple[int, ...]) -> dict[str, Any]:
        """The base's TOML data with the configuration's levels set."""
        data = copy.deepcopy(self.raw)
        for role, index in zip(self.roles, config, strict=True):
            table = data["workforce"][role.role]
            table.pop("fte" if role.measure == "headcount" else "headcount", None)
            table[role.measure] = role.value(index)
        return data

    def scenario(self, config: tuple[int, ...]) -> Scenario:
        """A configuration's scenario, validated."""
        shown = ", ".join(f"{k}={v}" for k, v in self.levels(config).items())
        alternative = f"alternatives.{self.alternative}, " if self.alternative else ""
        where = f"{self.spec_path or '<plan>'}: {alternative}configuration {shown}"
        return scenario_from_dict(self.scenario_data(config), source=where)

    def draw_count(self) -> int:
        """Scenarios a configuration has: one per draw of the ensemble, else one."""
        return self.ensemble.size if self.ensemble is not None else 1

    def draw_scenario(self, config: tuple[int, ...], draw: int) -> Scenario:
        """A configuration's scenario on draw ``draw`` of the ensemble (without one: as is)."""
        if self.ensemble is None:
            return self.scenario(config)
        return draw_scenario(self.ensemble, self.scenario(config), self.scenario_data(config), draw)


def alternative_problem(problem: PlanProblem, name: str) -> PlanProblem:
    """The plan with alternative ``name``'s settings set in the base (checked as ``--set``).

    Raises
    ------
    ConfigError
        One line naming the spec, the alternative, the key and the value.
    """
    assert problem.spec.alternatives is not None
    alternative = problem.spec.alternatives[name]
    where = f"{problem.spec_path or '<plan>'}: alternatives.{name}"
    raw = copy.deepcopy(problem.raw)
    for key, value in alternative.settings.items():
        try:
            dotted_set(raw, key, value)
        except ConfigError as e:
            raise ConfigError(f"{where}: set {key} = {value!r}: {e}") from e
    shown = ", ".join(f"{k} = {v!r}" for k, v in alternative.settings.items())
    base = scenario_from_dict(raw, source=f"{where} ({shown or 'the base as it is'})")
    return dataclasses.replace(
        problem,
        raw=raw,
        base=base,
        alternative=name,
        extra_cost=alternative.extra_cost_per_year,
    )


def draw_scenario(ensemble: Ensemble, scenario: Scenario, data: Any, draw: int) -> Scenario:
    """``scenario`` (from TOML ``data``) with draw ``draw``'s values set, validated."""
    raw = copy.deepcopy(data)
    ensemble.apply(raw, draw, scenario.model_dump(mode="json", by_alias=True))
    where = f"{ensemble.path}: draw {ensemble.draws[draw][0]}"
    return scenario_from_dict(raw, source=where)


def _question(spec: PlanSpec, base: Scenario) -> str:
    """The spec's question, else its description, else the base scenario's (as experiments)."""
    for text in (spec.question, spec.description, base.question, base.description):
        if text and text.strip():
            return " ".join(text.split())
    return ""


def _role_costs(
    spec: PlanSpec, base: Scenario, role: str, levels: tuple[float, ...]
) -> tuple[float, ...]:
    if spec.cost == "headcount":
        return tuple(levels)
    settings = base.workforce[role]
    yearly_per_level = (
        settings.contracted_hours_per_week
        * settings.ipc_share
        * WEEKS_PER_YEAR
        * settings.hourly_cost_gbp
        * base.economics.staff_cost_multiplier
    )
    return tuple(level * yearly_per_level for level in levels)


def _check_base(spec: PlanSpec, raw: Mapping[str, Any], base: Scenario, where: str) -> None:
    for key in ("sites", "shared_pools"):
        if raw.get(key):
            raise ConfigError(
                f"{where}: base: the scenario has [{key}]; plans staff one site's own "
                "workforce (several sites are not planned yet)"
            )
    workforce = raw.get("workforce", {})
    for role in spec.roles:
        if role not in base.workforce or role not in workforce:
            close = difflib.get_close_matches(role, list(base.workforce), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ConfigError(
                f"{where}: roles.{role}: not a role of the base's [workforce], got {role!r}{hint}"
            )
        if base.workforce[role].changes:
            what = (
                "a plan over time writes the role's changes"
                if spec.over_time is not None
                else "plans choose a constant staffing (or add [over_time])"
            )
            raise ConfigError(
                f"{where}: roles.{role}: the role has a dated staffing plan (changes); {what}"
            )
    known = kpi_names(base)
    for index, level in enumerate(spec.service_levels()):
        if level.kpi not in known:
            close = difflib.get_close_matches(level.kpi, known, n=3, cutoff=0.5)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ConfigError(f"{where}: targets.{index}: unknown KPI, got {level.kpi!r}{hint}")
    if spec.over_time is not None:
        months, start = spec.over_time.period_months, base.run.start_date
        count = 0
        while day_of(add_months(start, count * months), start) < base.run.horizon_days:
            count += 1
            if count > MAX_PERIODS:
                raise ConfigError(
                    f"{where}: over_time.period_months: {months} months cut the "
                    f"{base.run.horizon_days:g}-day horizon into more than {MAX_PERIODS} periods"
                )
    if spec.warmup_days >= base.run.horizon_days:
        raise ConfigError(
            f"{where}: warmup_days: must be shorter than the horizon "
            f"({base.run.horizon_days:g} days), got {spec.warmup_days:g}"
        )


def prepare_plan(
    spec: PlanSpec, *, spec_path: str | Path | None = None, base_dir: str | Path | None = None
) -> PlanProblem:
    """Resolve a plan spec: read the base, check the roles and KPIs, price every level.

    Parameters
    ----------
    spec
        The validated spec.
    spec_path
        The spec file; the base is relative to its folder.
    base_dir
        Folder the base is relative to when there is no ``spec_path`` (default: current).

    Returns
    -------
    PlanProblem
        Ready to search.

    Raises
    ------
    ConfigError
        One line naming the spec, the key and the value: a missing or invalid base, a role
        the base lacks, a target on an unknown KPI, a level the scenario rejects.
    """
    where = str(spec_path) if spec_path is not None else "<plan>"
    folder = Path(spec_path).parent if spec_path is not None else Path(base_dir or ".")
    path = folder / spec.base
    try:
        data = read_toml(path)
    except ConfigError as e:
        raise ConfigError(f"{where}: base: {e}") from e
    try:
        raw = apply_overrides(data, spec.overrides, label="overrides:")
    except ConfigError as e:
        raise ConfigError(f"{where}: {e} (in base {path})") from e
    source = f"{where}: base ({path}" + (
        f" with overrides {' '.join(spec.overrides)})" if spec.overrides else ")"
    )
    resolve_files(raw, path, source=source)
    base = scenario_from_dict(raw, source=source)
    _check_base(spec, raw, base, where)
    ensemble = None
    if spec.ensemble is not None:
        ensemble = load_ensemble(folder / spec.ensemble, where=where)
        dump = base.model_dump(mode="json", by_alias=True)
        for key in ensemble.all_keys():
            _check_factor_key(key, {"base": dump}, f"{where}: ensemble ({ensemble.path}): {key}")
            parts = key.split(".")
            staffed = parts[0] == "workforce" and len(parts) == 3 and parts[1] in spec.roles
            if staffed and parts[2] in ("headcount", "fte", "changes"):
                raise ConfigError(
                    f"{where}: ensemble: {key} is a calibrated parameter of the ensemble and the "
                    "staffing the plan chooses; leave that role out of [roles]"
                )
    roles = tuple(
        RoleLevels(
            role=name,
            measure=settings.measure,
            levels=settings.levels(),
            costs=_role_costs(spec, base, name, settings.levels()),
        )
        for name, settings in spec.roles.items()
    )
    problem = PlanProblem(
        spec=spec,
        spec_path=Path(spec_path) if spec_path is not None else None,
        name=spec.name or (Path(spec_path).resolve().parent.name if spec_path else "plan"),
        question=_question(spec, base),
        raw=raw,
        base=base,
        roles=roles,
        service_levels=spec.service_levels(),
        master_seed=spec.master_seed if spec.master_seed is not None else base.run.seed,
        spec_hash="",
        ensemble=ensemble,
        alternative="",
        extra_cost=0.0,
    )
    # Every level of every role must be a valid scenario on its own (the rest at the lowest),
    # under every alternative.
    names = list(spec.alternatives or {})
    for variant in [alternative_problem(problem, n) for n in names] or [problem]:
        for axis, role in enumerate(roles):
            for index in (0, len(role.levels) - 1):
                config = tuple(index if a == axis else 0 for a in range(len(roles)))
                variant.scenario(config)
                for draw in range(variant.draw_count()):
                    variant.draw_scenario(config, draw)
    payload = {
        "spec": spec.to_json(exclude=("question", "description")),
        "base": json.loads(json.dumps(raw, default=str)),
        "draws": [d[1] for d in ensemble.draws] if ensemble is not None else None,
        "code": io_manifest.code_fingerprint(),
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return PlanProblem(**{**problem.__dict__, "spec_hash": digest})
