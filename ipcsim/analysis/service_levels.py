"""Service levels: a target on a KPI with the confidence it must hold with, judged on replications.

A service level is written the way the NHS states targets, with the statistical requirement
after it::

    share_seen_within_8w >= 0.9                         # the mean, 95 % confidence
    wait_referral_to_sign_off_p90 <= 56 with 90% confidence
    wait_sign_off_to_budget_agreed_p90 <= 28 in 80% of replications

``KPI >= VALUE`` (higher is better) or ``KPI <= VALUE`` (lower is better), in the KPI's stored
unit (a fraction for shares and utilisation; ``KPI = VALUE`` guesses the direction from the
name, as ``experiment --target`` does), then optionally:

- ``in P% of replications`` (or ``in at least P% of replications``): the target must hold in
  at least a share ``P`` of replications (each replication is one possible two years of the
  service), rather than in the mean;
- ``with C% confidence``: the confidence the requirement must be shown with (default: the
  spec's ``confidence``, 0.95).

Judging
-------
Given one value per replication, a service level is **met** when the requirement is shown at
the stated confidence, **missed** when its opposite is, and **undecided** otherwise (more
replications may decide it):

- in the mean: the one-sided Student-t bound of the mean, ``mean + t_{C, n-1} s / sqrt(n)`` for
  a lower-is-better KPI (``mean - ...`` for higher-is-better), meets the target (met); the
  bound on the other side misses it (missed);
- in a share ``P`` of replications: with ``k`` of ``n`` replications meeting the target, the
  one-sided Clopper-Pearson lower bound of the success probability is at least ``P`` (met), or
  its upper bound is below ``P`` (missed). With ``P = 0.9`` and 95 % confidence this needs at
  least 29 replications, all meeting the target (``0.9^29 < 0.05``).

A replication where the KPI is undefined (NaN: e.g. a 90th percentile that cannot be known
because more than a tenth of the people still wait at the horizon) never meets a target; for a
requirement in the mean any such replication makes the service level missed, with the reason
stated.

Pure functions on numbers (no simulation, no files).

References
----------
.. [1] Law, A. M. (2015). *Simulation Modeling and Analysis*, 5th ed., section 9.4 (one-sided
   t bounds of a mean of replications).
.. [2] Clopper, C. J. and Pearson, E. S. (1934). The use of confidence or fiducial limits
   illustrated in the case of the binomial. *Biometrika* 26(4), 404-413.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ipcsim.analysis.targets import Target, parse_number, parse_target
from ipcsim.errors import ConfigError
from ipcsim.units import DAYS_PER_WEEK

__all__ = [
    "ServiceLevel",
    "Status",
    "Verdict",
    "judge",
    "longest_wait_days",
    "min_replications",
    "parse_service_level",
]

Status = Literal["met", "missed", "undecided"]
"""What the replications so far show about a service level."""

_SUFFIX = re.compile(
    r"^(?P<target>.+?)"
    r"(?:\s+in\s+(?:at\s+least\s+)?(?P<share>[0-9.]+)\s*%\s+of\s+replications)?"
    r"(?:\s+(?:with|at)\s+(?P<confidence>[0-9.]+)\s*%\s+confidence)?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ServiceLevel:
    """A target on a KPI and the statistical requirement it must be shown with.

    Attributes
    ----------
    target
        The KPI, its threshold and direction (:class:`ipcsim.analysis.targets.Target`).
    confidence
        Confidence the requirement must be shown with, 0 to 1 (e.g. 0.95).
    share
        ``None``: the target must hold in the mean; else the share of replications it must
        hold in, 0 to 1 (e.g. 0.9).
    text
        The service level as written.
    """

    target: Target
    confidence: float
    share: float | None = None
    text: str = ""

    @property
    def kpi(self) -> str:
        """The KPI the target is on."""
        return self.target.kpi

    def describe(self) -> str:
        """The requirement in words: ``mean, 95% confidence``, ``in 90% of replications, ...``."""
        how = "mean" if self.share is None else f"in {self.share:.0%} of replications"
        return f"{how}, {self.confidence:.0%} confidence"

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``recommendation.json`` and ``manifest.json``."""
        return {
            "text": self.text,
            "kpi": self.kpi,
            "value": self.target.value,
            "direction": self.target.direction,
            "requirement": "mean" if self.share is None else "replications",
            "share": self.share,
            "confidence": self.confidence,
        }


def _percent(text: str, what: str, whole: str, option: str) -> float:
    value = parse_number(text, option, whole) / 100.0
    if not 0.0 < value < 1.0:
        raise ConfigError(f"{option} {whole}: {what} must be between 0 and 100 %, got {text}%")
    return value


def parse_service_level(
    text: str, *, confidence: float = 0.95, option: str = "--target"
) -> ServiceLevel:
    """Read ``KPI>=VALUE [in P% of replications] [with C% confidence]``.

    Parameters
    ----------
    text
        The service level as written (see the module notes).
    confidence
        Confidence when the text states none, 0 to 1.
    option
        Where it came from (``--target``, ``targets.0``), for messages.

    Returns
    -------
    ServiceLevel
        The parsed service level.

    Raises
    ------
    ConfigError
        One line naming ``option`` and the text.
    """
    match = _SUFFIX.match(text)
    if match is None:  # pragma: no cover - the pattern matches any non-empty text
        raise ConfigError(f"{option} {text!r}: expected KPI>=VALUE or KPI<=VALUE")
    target = parse_target(match["target"], option=option)
    target = Target(target.kpi, target.value, target.direction, text.strip())
    share = None
    if match["share"] is not None:
        share = _percent(match["share"], "the share of replications", text, option)
    if match["confidence"] is not None:
        confidence = _percent(match["confidence"], "the confidence", text, option)
    return ServiceLevel(target=target, confidence=confidence, share=share, text=text.strip())


_WITHIN = re.compile(r"^(?:share_seen|wait_.+_share)_within_(?P<weeks>[0-9.]+)w$")
_WAIT_DAYS = re.compile(r"^wait_.+_(?:completed_)?(?:mean|p50|p90)$")


def longest_wait_days(level: ServiceLevel) -> float:
    """The longest wait a service level names, days (0 for a KPI that is not a wait).

    ``share_seen_within_8w``: 56; ``wait_referral_to_sign_off_p90 <= 90``: 90 (a wait's mean,
    median or 90th percentile: the target's value). How long a period's people must be
    followed for the target to be judged on all of them.
    """
    within = _WITHIN.match(level.kpi)
    if within is not None:
        return float(within["weeks"]) * DAYS_PER_WEEK
    if _WAIT_DAYS.match(level.kpi):
        return max(float(level.target.value), 0.0)
    return 0.0


def min_replications(share: float, confidence: float) -> int:
    """Fewest replications that can show a target holds in ``share`` of them.

    With every one of ``n`` replications meeting the target, the one-sided Clopper-Pearson
    lower bound is ``(1 - confidence)^(1/n)``; it reaches ``share`` once
    ``n >= log(1 - confidence) / log(share)``.

    Parameters
    ----------
    share
        Share of replications the target must hold in, 0 to 1.
    confidence
        Confidence, 0 to 1.

    Returns
    -------
    int
        The smallest such ``n``.
    """
    return max(1, math.ceil(math.log(1.0 - confidence) / math.log(share) - 1e-12))


@dataclass(frozen=True)
class Verdict:
    """What the replications so far show about one service level.

    Attributes
    ----------
    status
        ``met``, ``missed`` or ``undecided``.
    n
        Replications judged.
    mean
        Mean of the defined values (NaN if none).
    ci_low, ci_high
        Two-sided confidence interval of the mean at the service level's confidence
        (NaN with fewer than 2 defined values).
    bound
        The value judged against the target: the one-sided bound of the mean on the side
        that must meet the target, or (share of replications) the lower confidence bound of
        the share of replications meeting it.
    hits
        Replications in which the target held.
    undefined
        Replications in which the KPI was undefined (NaN).
    reason
        Why it is not met, in words (empty when met).
    """

    status: Status
    n: int
    mean: float
    ci_low: float
    ci_high: float
    bound: float
    hits: int
    undefined: int
    reason: str = ""


def _t(probability: float, dof: int) -> float:
    # Imported here: scipy.stats takes a second to import, and workers never need it.
    from scipy import stats as sps

    return float(sps.t.ppf(probability, df=dof))


def _beta(probability: float, a: float, b: float) -> float:
    from scipy import stats as sps

    return float(sps.beta.ppf(probability, a, b))


def judge(level: ServiceLevel, values: Sequence[float] | np.ndarray) -> Verdict:
    """Judge a service level on one value per replication.

    Parameters
    ----------
    level
        The service level.
    values
        The KPI's value in each replication judged, in replication order (NaN where
        undefined).

    Returns
    -------
    Verdict
        Met, missed or undecided, with the estimate and its interval (see the module notes).
    """
    x = np.asarray(values, dtype=float)
    n = int(x.size)
    defined = x[~np.isnan(x)]
    undefined = n - int(defined.size)
    target = level.target
    hits = int(sum(target.met_by(float(v)) for v in defined))
    mean = float(defined.mean()) if defined.size else math.nan
    ci_low = ci_high = math.nan
    half_one_sided = math.nan
    if defined.size >= 2:
        sd = float(defined.std(ddof=1))
        se = sd / math.sqrt(defined.size)
        two_sided = _t(0.5 + level.confidence / 2.0, int(defined.size) - 1) * se
        ci_low, ci_high = mean - two_sided, mean + two_sided
        half_one_sided = _t(level.confidence, int(defined.size) - 1) * se
    sign = 1.0 if target.direction == "lower" else -1.0
    what = f"{target.kpi} {'<=' if target.direction == 'lower' else '>='} {target.value:g}"

    def verdict(status: Status, bound: float, reason: str = "") -> Verdict:
        return Verdict(status, n, mean, ci_low, ci_high, bound, hits, undefined, reason)

    if level.share is not None:
        share = level.share
        low = _beta(1.0 - level.confidence, hits, n - hits + 1) if hits > 0 else 0.0
        high = _beta(level.confidence, hits + 1, n - hits) if hits < n else 1.0
        if low >= share:
            return verdict("met", low)
        held = f"{what} held in {hits} of {n} replications"
        if high < share:
            return verdict("missed", low, f"{held}: fewer than {share:.0%}")
        return verdict(
            "undecided", low, f"{held}: not yet shown to hold in {share:.0%} of replications"
        )
    if undefined:
        return verdict(
            "missed",
            math.nan,
            f"{target.kpi} undefined in {undefined} of {n} replications (e.g. too many still "
            "waiting at the horizon for a percentile)",
        )
    if n < 2:
        return verdict("undecided", math.nan, f"{what}: one replication cannot show it")
    near = mean + sign * half_one_sided  # the bound on the side that must meet the target
    far = mean - sign * half_one_sided
    if target.met_by(near):
        return verdict("met", near)
    if not target.met_by(far):
        return verdict(
            "missed", near, f"{what}: mean {mean:.4g}, its {level.confidence:.0%} bound misses"
        )
    return verdict(
        "undecided",
        near,
        f"{what}: mean {mean:.4g}, not shown with {level.confidence:.0%} confidence "
        f"(bound {near:.4g})",
    )
