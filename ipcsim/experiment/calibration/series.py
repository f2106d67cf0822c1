"""The series a calibration can fit: counts per period, and wait summaries by period of referral.

=================================================  =============================================
``referrals``, ``plans_signed_off``,               people in the period (counts added over a
``budgets_released``                               quarter's months)
``open_cases_end``                                 people in the pathway at the period's end
``wait_<wait>_median``                             median wait, days, of the people referred in
                                                   the period (product-limit: those still
                                                   waiting at the horizon count as censored)
``wait_<wait>_share_within_<N>w``                  share of the people referred in the period
                                                   whose wait ended within ``N`` whole weeks
=================================================  =============================================

``<wait>`` is one of the end-to-end waits from referral: ``referral_to_first_conversation``,
``referral_to_sign_off``, ``referral_to_budget_release``. The simulated wait statistics are
those of :mod:`ipcsim.analysis.waits`, computed over the people the simulation referred in the
same period (and site): the median is the product-limit median, counting a person still
waiting at the horizon as censored there and one who left the pathway as censored when they
left; the share within ``N`` weeks is of the people followed ``N`` weeks, leaving out those
who left within them without the wait ending (so a period must end at least ``N`` weeks
before the run's horizon). A simulated median the run cannot estimate (fewer than half the
period's people reached the milestone by the horizon) counts as the period's longest
follow-up, the horizon less the period's first day: a lower bound of it.

Each observed point's residual in the distance is ``(simulated - observed) / scale``:

- a count ``c``: ``sqrt(c + 1)`` (its Poisson standard deviation, plus one);
- a median of ``d`` days: ``sqrt(d + 1)`` days (assumption: about the sampling standard
  deviation of the median wait of a few tens of people whose waits spread as widely as their
  median);
- a share: 0.1 (assumption: the sampling standard deviation of a share near one half among 25
  people).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "COUNT_SERIES",
    "MAX_WAIT_DAYS",
    "SERIES_HELP",
    "SHARE_SCALE",
    "WAIT_STAGES",
    "SeriesKind",
    "parse_series",
    "series_error",
    "series_scale",
]

COUNT_SERIES: tuple[str, ...] = (
    "referrals",
    "plans_signed_off",
    "budgets_released",
    "open_cases_end",
)
"""The counts of ``timeseries.parquet``, in file order."""
WAIT_STAGES: tuple[str, ...] = (
    "referral_to_first_conversation",
    "referral_to_sign_off",
    "referral_to_budget_release",
)
"""Waits whose summaries by period of referral an observed file may give."""
MAX_WITHIN_WEEKS = 520
"""Longest threshold of a ``share_within_<N>w`` series, weeks."""
MAX_WAIT_DAYS = 36_525.0
"""Longest median wait in an observed file, days (a century)."""
SHARE_SCALE = 0.1
"""Scale of a share's residual in the distance (assumption; see the module notes)."""
_WAIT = re.compile(
    r"wait_(" + "|".join(WAIT_STAGES) + r")_(median|share_within_([1-9][0-9]{0,2})w)"
)


@dataclass(frozen=True)
class SeriesKind:
    """What a series name means.

    Attributes
    ----------
    name
        The name.
    kind
        ``count`` (added over the period), ``stock`` (at the period's end), ``median`` (days)
        or ``share`` (0 to 1).
    stage
        The wait (``median`` and ``share``), else ``None``.
    weeks
        The threshold of a ``share``, weeks, else ``None``.
    """

    name: str
    kind: Literal["count", "stock", "median", "share"]
    stage: str | None = None
    weeks: int | None = None

    @property
    def is_wait(self) -> bool:
        """Whether it is a wait summary (by period of referral)."""
        return self.stage is not None


def parse_series(name: str) -> SeriesKind | None:
    """The meaning of a series name, or ``None`` for a name that is no series."""
    if name in COUNT_SERIES:
        return SeriesKind(name, "stock" if name == "open_cases_end" else "count")
    match = _WAIT.fullmatch(name)
    if match is None:
        return None
    stage, statistic, weeks = match.groups()
    if statistic == "median":
        return SeriesKind(name, "median", stage)
    if not 1 <= int(weeks) <= MAX_WITHIN_WEEKS:
        return None
    return SeriesKind(name, "share", stage, int(weeks))


SERIES_HELP = (
    f"{', '.join(COUNT_SERIES)}, wait_<wait>_median or wait_<wait>_share_within_<N>w with "
    f"<wait> one of {', '.join(WAIT_STAGES)} and N whole weeks, 1 to {MAX_WITHIN_WEEKS}"
)
"""The series names, in one line (for messages)."""


def series_error(name: str) -> str:
    """Why a name is no series, in one line (for messages)."""
    return f"unknown series {name!r} (series: {SERIES_HELP})"


def series_scale(kind: SeriesKind, observed: float) -> float:
    """Scale of an observed point's residual in the distance (see the module notes)."""
    if kind.kind == "share":
        return SHARE_SCALE
    return math.sqrt(observed + 1.0)
