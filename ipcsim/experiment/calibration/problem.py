"""A calibration spec resolved: the base scenario, the priors and the observed points to fit.

Each observed point (a series of a site in a month or quarter) becomes a :class:`Target`: which
months of the simulated counts it compares with and how they are combined (counts added over a
quarter's months; ``open_cases_end`` taken at the quarter's last month), or which days of
referral a wait summary covers. A particle's
scenario is the base's TOML data with each parameter's value set at its dotted key, as an
experiment's design sets its factors.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ipcsim.analysis.abc import Prior
from ipcsim.errors import ConfigError
from ipcsim.experiment.calibration.observed import ObservedData, read_observed
from ipcsim.experiment.calibration.series import SeriesKind, parse_series, series_scale
from ipcsim.experiment.calibration.spec import CalibrationSpec
from ipcsim.experiment.plan import _check_factor_key, _quote
from ipcsim.io import manifest as io_manifest
from ipcsim.periods import add_months, month_starts
from ipcsim.run import TOTAL_SITE
from ipcsim.scenario import Scenario
from ipcsim.scenario._messages import dotted_get
from ipcsim.scenario.load import (
    apply_overrides,
    dotted_set,
    read_toml,
    resolve_files,
    scenario_from_dict,
)
from ipcsim.units import DAYS_PER_WEEK

__all__ = ["CalibrationProblem", "Target", "prepare_calibration"]


@dataclass(frozen=True)
class Target:
    """One observed point and where the simulation's value for it comes from.

    Attributes
    ----------
    series
        A count (``referrals``, ``plans_signed_off``, ``budgets_released``,
        ``open_cases_end``) or a wait summary (:mod:`~.series`).
    site
        The observed file's site (``None``: the scenario's totals).
    site_row
        The ``site`` value of the simulated ``timeseries`` rows compared.
    period
        The period's first month, ``YYYY-MM``.
    first_month, months
        Index of the period's first calendar month of the run, and how many months it spans.
    start_day, end_day
        The period, days since the run's start (a wait summary is of the people referred in
        ``[start_day, end_day)``).
    observed
        The observed value.
    """

    series: str
    site: str | None
    site_row: str
    period: str
    first_month: int
    months: int
    start_day: float
    end_day: float
    observed: float

    @property
    def kind(self) -> SeriesKind:
        """What the series means."""
        kind = parse_series(self.series)
        if kind is None:  # pragma: no cover - specs and files are checked when read
            raise ValueError(f"unknown series {self.series!r}")
        return kind

    @property
    def at_end(self) -> bool:
        """Whether the series is a stock read at the period's end (else counts are added)."""
        return self.series == "open_cases_end"

    @property
    def scale(self) -> float:
        """The scale of this point's residual in the distance (:func:`~.series.series_scale`)."""
        return series_scale(self.kind, self.observed)


@dataclass(frozen=True)
class CalibrationProblem:
    """What a calibration fits, resolved and validated.

    Attributes
    ----------
    spec, spec_path, name, question
        The spec, its file, the calibration's name and the question it answers.
    raw
        The base scenario's TOML data with the spec's overrides (file names resolved).
    dump
        The base scenario, validated and dumped to JSON data (templates for partial tables).
    base
        The base scenario.
    priors
        One per parameter, in the spec's order.
    observed
        The observed file as read.
    series
        The series fitted.
    targets
        The observed points fitted, in file order then series order.
    master_seed
        Seed of every proposal and simulation.
    spec_hash
        SHA-256 of the spec, the base, the observed points and the model code.
    truth
        Key -> true value, from the spec's ``truth`` scenario (synthetic data), else empty.
    """

    spec: CalibrationSpec
    spec_path: Path | None
    name: str
    question: str
    raw: dict[str, Any]
    dump: dict[str, Any]
    base: Scenario
    priors: tuple[Prior, ...]
    observed: ObservedData
    series: tuple[str, ...]
    targets: tuple[Target, ...]
    master_seed: int
    spec_hash: str
    truth: dict[str, float] = field(default_factory=dict)

    @property
    def keys(self) -> tuple[str, ...]:
        """The parameters' dotted keys."""
        return tuple(p.key for p in self.priors)

    @property
    def observed_vector(self) -> np.ndarray:
        """The observed values, one per target."""
        return np.array([t.observed for t in self.targets], dtype=float)

    @property
    def scales(self) -> np.ndarray:
        """The scale of each target's residual in the distance."""
        return np.array([t.scale for t in self.targets], dtype=float)

    def values(self, z: np.ndarray) -> dict[str, int | float]:
        """Key -> the value set in the scenario for a working-space particle (integers rounded)."""
        found: dict[str, int | float] = {}
        for prior, coordinate in zip(self.priors, z, strict=True):
            value = prior.to_value(float(coordinate))
            settings = self.spec.parameters[prior.key]
            found[prior.key] = int(round(value)) if settings.integer else value
        return found

    def scenario_data(self, values: Mapping[str, int | float]) -> dict[str, Any]:
        """The base's TOML data with each parameter (and its ``also`` keys) set."""
        data = copy.deepcopy(self.raw)
        for key, value in values.items():
            for target in (key, *self.spec.parameters[key].also):
                dotted_set(data, target, value, template=self.dump)
        return data

    def scenario(self, values: Mapping[str, int | float]) -> Scenario:
        """A particle's scenario, validated."""
        shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
        where = f"{self.spec_path or '<calibration>'}: parameters {shown}"
        return scenario_from_dict(self.scenario_data(values), source=where)


def _question(spec: CalibrationSpec, base: Scenario) -> str:
    for text in (spec.question, spec.description, base.question, base.description):
        if text and text.strip():
            return " ".join(text.split())
    return ""


def _whole_months(base: Scenario) -> dict[str, tuple[int, float, float]]:
    """``YYYY-MM`` -> (month index, first day, end day) of each month the run covers whole."""
    found = {}
    for index, (begin, start_day, end_day) in enumerate(
        month_starts(base.run.start_date, base.run.horizon_days)
    ):
        following = add_months(begin.replace(day=1), 1)
        whole = begin.day == 1 and end_day - start_day == (following - begin).days
        if whole:
            found[f"{begin:%Y-%m}"] = (index, float(start_day), float(end_day))
    return found


def _targets(
    observed: ObservedData, series: tuple[str, ...], base: Scenario, where: str
) -> tuple[Target, ...]:
    months = _whole_months(base)
    sites = [config.site.name for config in base.site_configs]
    total_row = TOTAL_SITE if len(sites) > 1 else sites[0]
    span = f"{min(months)} to {max(months)}" if months else "none: the run covers no whole month"
    targets: list[Target] = []
    for row in observed.rows:
        column = observed.period
        shown = f"{row.period:%Y-%m}"
        if row.site is not None and row.site not in sites:
            raise ConfigError(
                f"{where}: {observed.path}: row {row.line}, column site: not a site of the "
                f"scenario (sites: {', '.join(sites)}), got {row.site!r}"
            )
        keys = [f"{add_months(row.period, m):%Y-%m}" for m in range(row.months)]
        spanned = [months[key] for key in keys if key in months]
        covered = len(spanned) == row.months and all(
            month[0] == spanned[0][0] + m for m, month in enumerate(spanned)
        )
        if not covered:
            raise ConfigError(
                f"{where}: {observed.path}: row {row.line}, column {column}: the run does not "
                f"cover this {column} whole (whole months of the run: {span}), got {shown!r}"
            )
        first, start_day, _ = spanned[0]
        end_day = spanned[-1][2]
        for name in series:
            value = row.values[name]
            if math.isnan(value):
                continue
            kind = parse_series(name)
            if kind is not None and kind.kind == "share" and kind.weeks is not None:
                followed = base.run.horizon_days - end_day
                if followed < kind.weeks * DAYS_PER_WEEK:
                    raise ConfigError(
                        f"{where}: {observed.path}: row {row.line}, column {name}: the run "
                        f"follows the people referred in this {column} only {followed:g} days "
                        f"after its end, fewer than {kind.weeks} weeks (lengthen "
                        f"run.horizon_days or leave the cell empty), got {shown!r}"
                    )
            targets.append(
                Target(
                    series=name,
                    site=row.site,
                    site_row=row.site if row.site is not None else total_row,
                    period=shown,
                    first_month=first,
                    months=row.months,
                    start_day=start_day,
                    end_day=end_day,
                    observed=value,
                )
            )
    if not targets:
        raise ConfigError(f"{where}: {observed.path}: no observed value of the series fitted")
    return tuple(targets)


def prepare_calibration(
    spec: CalibrationSpec,
    *,
    spec_path: str | Path | None = None,
    base_dir: str | Path | None = None,
) -> CalibrationProblem:
    """Resolve a calibration spec: read the base and the observed file, check every key.

    Parameters
    ----------
    spec
        The validated spec.
    spec_path
        The spec file; the base and the observed file are relative to its folder.
    base_dir
        Folder they are relative to when there is no ``spec_path`` (default: current).

    Returns
    -------
    CalibrationProblem
        Ready to calibrate.

    Raises
    ------
    ConfigError
        One line naming the spec, the key and the value: a missing or invalid base or observed
        file, a parameter that is no setting of the base, a prior bound the scenario rejects,
        an observed period the run does not cover, a series the file lacks.
    """
    where = str(spec_path) if spec_path is not None else "<calibration>"
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
    dump = base.model_dump(mode="json", by_alias=True)
    for key, settings in spec.parameters.items():
        _check_factor_key(key, {"base": dump}, f"{where}: parameters.{_quote(key)}")
        for other in settings.also:
            _check_factor_key(other, {"base": dump}, f"{where}: parameters.{_quote(key)}.also")
    try:
        observed = read_observed(folder / spec.observed)
    except ConfigError as e:
        raise ConfigError(f"{where}: observed: {e}") from e
    series = spec.series if spec.series is not None else observed.series
    for name in series:
        if name not in observed.series:
            raise ConfigError(
                f"{where}: series: {name!r} is not a column of the observed file "
                f"{observed.path} (it has {', '.join(observed.series)})"
            )
    priors = tuple(Prior(key, p.prior, p.low, p.high) for key, p in spec.parameters.items())
    problem = CalibrationProblem(
        spec=spec,
        spec_path=Path(spec_path) if spec_path is not None else None,
        name=spec.name or (Path(spec_path).resolve().parent.name if spec_path else "calibration"),
        question=_question(spec, base),
        raw=raw,
        dump=dump,
        base=base,
        priors=priors,
        observed=observed,
        series=tuple(series),
        targets=_targets(observed, tuple(series), base, where),
        master_seed=spec.master_seed if spec.master_seed is not None else base.run.seed,
        spec_hash="",
    )
    # Both ends of every prior must make a valid scenario (the others at their lower bound).
    for axis in range(len(priors)):
        for end in ("z_low", "z_high"):
            z = np.array([getattr(p, end if a == axis else "z_low") for a, p in enumerate(priors)])
            problem.scenario(problem.values(z))
    truth = _truth(spec, folder, where) if spec.truth is not None else {}
    payload = {
        "spec": spec.model_dump(mode="json", exclude={"question", "description"}),
        "base": json.loads(json.dumps(raw, default=str)),
        "targets": [t.__dict__ for t in problem.targets],
        "code": io_manifest.code_fingerprint(),
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return replace(problem, spec_hash=digest, truth=truth)


def _truth(spec: CalibrationSpec, folder: Path, where: str) -> dict[str, float]:
    """Each parameter's value in the spec's ``truth`` scenario (the synthetic data's source)."""
    path = folder / str(spec.truth)
    try:
        data = read_toml(path)
    except ConfigError as e:
        raise ConfigError(f"{where}: truth: {e}") from e
    resolve_files(data, path, source=f"{where}: truth ({path})")
    dump = scenario_from_dict(data, source=f"{where}: truth ({path})").model_dump(
        mode="json", by_alias=True
    )
    found = {}
    for key in spec.parameters:
        present, value = dotted_get(dump, key)
        if not present or isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(
                f"{where}: truth: {path} has no number at parameters.{_quote(key)}, got {value!r}"
            )
        found[key] = float(value)
    return found
