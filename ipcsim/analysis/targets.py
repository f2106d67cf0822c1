"""Targets on experiment KPIs and the smallest level of a factor that meets them.

A target is written ``KPI<=VALUE`` (lower is better), ``KPI>=VALUE`` (higher is better) or
``KPI=VALUE`` (the direction guessed from the KPI's name), in the KPI's stored unit (a fraction
for utilisation). The answer to "how many planners do we need?" is the smallest level of the
experiment's main factor whose scenario meets the target, by its mean or by its whole
confidence interval, for each combination of the other factors' levels.

The ``report``, ``plot`` and ``experiment`` commands all parse targets with
:func:`parse_target` and answer them with :func:`recommend`, so they agree.

Pure functions on strings and summary frames (``summary.parquet``: one row per scenario x KPI
with ``mean``, ``ci_low``, ``ci_high`` and a column per factor): nothing here reads files or
draws.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ipcsim.analysis.labels import Direction, kpi_direction
from ipcsim.errors import ConfigError

__all__ = [
    "Criterion",
    "Recommendation",
    "Target",
    "check_targets",
    "main_factor",
    "parse_number",
    "parse_target",
    "recommend",
    "smallest_level_meeting",
]

Criterion = Literal["mean", "ci"]
"""How a scenario meets a target: by its mean, or by its whole confidence interval."""

_TARGET = re.compile(r"^\s*(?P<kpi>[A-Za-z0-9_.]+)\s*(?P<op><=|>=|=)\s*(?P<value>.+?)\s*$")


@dataclass(frozen=True)
class Target:
    """A target on a KPI.

    Attributes
    ----------
    kpi
        The KPI name (``wait_referral_to_first_conversation_mean``).
    value
        The target, in the KPI's stored unit (a fraction for utilisation).
    direction
        ``"lower"``: met when the KPI is ``<= value``; ``"higher"``: when ``>= value``.
    text
        The target as written (for messages).
    """

    kpi: str
    value: float
    direction: Direction
    text: str = ""

    def met_by(self, value: float) -> bool:
        """Whether a KPI value meets the target (NaN never does)."""
        if not math.isfinite(value):
            return False
        return value <= self.value if self.direction == "lower" else value >= self.value

    def shortfall(self, value: float) -> float:
        """How far a value misses the target, relative to it (0 when it meets it)."""
        if not math.isfinite(value):
            return math.inf
        gap = value - self.value if self.direction == "lower" else self.value - value
        return max(0.0, gap) / max(abs(self.value), 1e-12)

    def to_json(self) -> dict[str, Any]:
        """``{"value": ..., "direction": ...}``, as the manifest records a target."""
        return {"value": self.value, "direction": self.direction, "text": self.text}


def parse_number(text: str, option: str, whole: str) -> float:
    """A number from a command-line value (``1,000`` and ``1_000`` allowed).

    Raises
    ------
    ConfigError
        ``"{option} {whole}: 'x' is not a number"``.
    """
    try:
        value = float(text.replace(",", "").replace("_", ""))
    except ValueError as e:
        raise ConfigError(f"{option} {whole}: {text!r} is not a number") from e
    if not math.isfinite(value):
        raise ConfigError(f"{option} {whole}: {text!r} is not a finite number")
    return value


def parse_target(text: str, *, option: str = "--target") -> Target:
    """Read ``KPI<=VALUE``, ``KPI>=VALUE`` or ``KPI=VALUE``.

    Parameters
    ----------
    text
        The target as written.
    option
        The option it came with, for messages.

    Returns
    -------
    Target
        With the direction given by the operator, or guessed from the KPI name for ``=``
        (:func:`~ipcsim.analysis.labels.kpi_direction`).

    Raises
    ------
    ConfigError
        One line naming the option and the value.
    """
    match = _TARGET.match(text)
    if match is None:
        raise ConfigError(
            f"{option} {text}: expected KPI<=VALUE, KPI>=VALUE or KPI=VALUE, e.g. "
            "wait_referral_to_first_conversation_p90<=21"
        )
    kpi = match["kpi"]
    value = parse_number(match["value"], option, text)
    op = match["op"]
    direction: Direction = (
        kpi_direction(kpi) if op == "=" else ("lower" if op == "<=" else "higher")
    )
    return Target(kpi=kpi, value=value, direction=direction, text=text.strip())


def smallest_level_meeting(
    levels: Sequence[float] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    target: float,
    *,
    direction: Direction,
) -> float | None:
    """The smallest factor level whose value meets a target.

    Parameters
    ----------
    levels
        Factor levels (any order).
    values
        The KPI at each level (a mean, or a CI bound for a cautious choice); NaN never meets.
    target
        The target value.
    direction
        ``"lower"``: a value meets the target when ``<= target``; ``"higher"``: when
        ``>= target``.

    Returns
    -------
    float or None
        The smallest level that meets the target, ``None`` if none does.
    """
    lv = np.asarray(levels, dtype=float)
    vv = np.asarray(values, dtype=float)
    if lv.shape != vv.shape:
        raise ValueError(f"levels and values differ in length ({lv.size} vs {vv.size})")
    if direction not in ("lower", "higher"):
        raise ValueError(f"direction must be 'lower' or 'higher', got {direction!r}")
    with np.errstate(invalid="ignore"):
        ok = (vv <= target) if direction == "lower" else (vv >= target)
    ok &= np.isfinite(vv)
    return float(lv[ok].min()) if ok.any() else None


def main_factor(summary: pd.DataFrame, factors: Iterable[str]) -> str | None:
    """The numeric factor with the most levels: the one a recommendation is a level of.

    Parameters
    ----------
    summary
        A summary (or scenarios) frame with a column per factor.
    factors
        Factor columns, in the spec's order (the first wins a tie).

    Returns
    -------
    str or None
        A factor column; ``None`` when no numeric factor has two or more levels.
    """
    best, levels = None, 1
    for factor in factors:
        if factor not in summary.columns:
            continue
        column = summary[factor]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            continue
        n = column.nunique()
        if n > levels:
            best, levels = factor, n
    return best


@dataclass(frozen=True)
class Recommendation:
    """The answer to one or more targets among scenarios that differ only in the main factor.

    Attributes
    ----------
    targets
        The targets answered together (one, or all of them for the joint answer).
    criterion
        ``"mean"`` or ``"ci"`` (the whole CI must meet the target).
    factor
        The main factor (a dotted key).
    group
        The other factors' levels shared by the scenarios compared, ``(factor, level)`` pairs.
    met
        Whether some level meets every target.
    level
        The smallest level meeting every target; when none does, the level that came closest.
    scenario
        The scenario at ``level`` (``None`` when the group has no scenario with every KPI).
    estimates
        KPI -> ``(mean, ci_low, ci_high)`` of ``scenario``, for each target's KPI.
    """

    targets: tuple[Target, ...]
    criterion: Criterion
    factor: str
    group: tuple[tuple[str, Any], ...]
    met: bool
    level: float | None
    scenario: str | None
    estimates: Mapping[str, tuple[float, float, float]]

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``manifest.json``."""
        return {
            "targets": [t.text or f"{t.kpi}" for t in self.targets],
            "criterion": self.criterion,
            "factor": self.factor,
            "group": {k: _plain(v) for k, v in self.group},
            "met": self.met,
            "level": self.level,
            "scenario": self.scenario,
            "estimates": {
                k: {"mean": m, "ci_low": lo, "ci_high": hi}
                for k, (m, lo, hi) in self.estimates.items()
            },
        }


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _judged(estimate: tuple[float, float, float], target: Target, criterion: Criterion) -> float:
    """The value that must meet the target: the mean, or the CI bound on the wrong side."""
    mean, low, high = estimate
    if criterion == "mean":
        return mean
    return high if target.direction == "lower" else low


def recommend(
    summary: pd.DataFrame,
    *,
    factor: str,
    targets: Sequence[Target],
    criterion: Criterion = "mean",
    others: Sequence[str] = (),
) -> list[Recommendation]:
    """The smallest level of ``factor`` meeting each target, per group of the other factors.

    Parameters
    ----------
    summary
        One row per scenario x KPI: ``scenario``, ``kpi``, ``mean``, ``ci_low``, ``ci_high``
        and a column per factor.
    factor
        The main factor (see :func:`main_factor`).
    targets
        The targets; those whose KPI the summary lacks are left out.
    criterion
        ``"mean"``: a scenario meets a target when its mean does; ``"ci"``: when its whole
        confidence interval does (the upper bound for a lower-is-better KPI).
    others
        The other factors: one group per combination of their levels (those with a single
        level are ignored).

    Returns
    -------
    list of Recommendation
        Group by group (sorted by the other factors' levels): with several targets, first the
        joint answer (the smallest level meeting all of them), then one per target in the
        order given. When no level meets, ``met`` is False and ``level`` is the one whose
        total relative shortfall is least (the smaller level on a tie).
    """
    kpis = set(summary["kpi"].astype(str))
    targets = [t for t in targets if t.kpi in kpis]
    if not targets or factor not in summary.columns:
        return []
    varying = [o for o in others if o != factor and o in summary.columns]
    varying = [o for o in varying if summary[o].nunique(dropna=False) > 1]
    frame = summary[summary["kpi"].astype(str).isin({t.kpi for t in targets})]
    groups = list(frame.groupby(varying, sort=True, dropna=False)) if varying else [((), frame)]
    answers: list[Recommendation] = []
    for key, group in groups:
        keys = key if isinstance(key, tuple) else (key,)
        shared = tuple(zip(varying, keys, strict=True))
        # scenario -> (level, {kpi: (mean, low, high)})
        found: dict[str, tuple[float, dict[str, tuple[float, float, float]]]] = {}
        for row in group.to_dict(orient="records"):
            _level, estimates = found.setdefault(str(row["scenario"]), (float(row[factor]), {}))
            estimates[str(row["kpi"])] = (
                float(row["mean"]),
                float(row["ci_low"]),
                float(row["ci_high"]),
            )
        sets = [tuple(targets)] if len(targets) == 1 else [tuple(targets), *((t,) for t in targets)]
        for chosen in sets:
            answers.append(_answer(found, chosen, criterion, factor, shared))
    return answers


def _answer(
    found: Mapping[str, tuple[float, dict[str, tuple[float, float, float]]]],
    targets: tuple[Target, ...],
    criterion: Criterion,
    factor: str,
    group: tuple[tuple[str, Any], ...],
) -> Recommendation:
    """The smallest level meeting every target in ``targets``, else the closest."""
    candidates = sorted(
        ((level, scenario, estimates) for scenario, (level, estimates) in found.items()),
        key=lambda item: (item[0], item[1]),
    )
    nan = (math.nan, math.nan, math.nan)
    best: tuple[float, str, dict[str, tuple[float, float, float]]] | None = None
    closest: tuple[float, float, str, dict[str, tuple[float, float, float]]] | None = None
    for level, scenario, estimates in candidates:
        judged = [_judged(estimates.get(t.kpi, nan), t, criterion) for t in targets]
        if all(t.met_by(v) for t, v in zip(targets, judged, strict=True)):
            best = (level, scenario, estimates)
            break
        gap = sum(t.shortfall(v) for t, v in zip(targets, judged, strict=True))
        if closest is None or gap < closest[0]:
            closest = (gap, level, scenario, estimates)
    if best is not None:
        level, scenario, estimates = best
        met = True
    elif closest is not None:
        _gap, level, scenario, estimates = closest
        met = False
    else:
        return Recommendation(targets, criterion, factor, group, False, None, None, {})
    return Recommendation(
        targets=targets,
        criterion=criterion,
        factor=factor,
        group=group,
        met=met,
        level=level,
        scenario=scenario,
        estimates={t.kpi: estimates.get(t.kpi, nan) for t in targets},
    )


def check_targets(
    targets: Iterable[Target], known: Iterable[str], *, option: str = "--target"
) -> None:
    """Refuse a target on a KPI the experiment does not compute.

    Parameters
    ----------
    targets
        Parsed targets.
    known
        The experiment's KPI names.
    option
        The option the targets came with, for messages.

    Raises
    ------
    ConfigError
        One line naming the option, the target and the closest KPI names.
    """
    names = list(known)
    for target in targets:
        if target.kpi not in names:
            close = difflib.get_close_matches(target.kpi, names, n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else "see kpis in the spec"
            raise ConfigError(
                f"{option} {target.text or target.kpi}: {target.kpi} is not a KPI of this "
                f"experiment ({hint})"
            )
