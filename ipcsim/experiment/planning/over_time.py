"""A staffing plan over time: the cheapest headcount per role in each period of a growing service.

With ``[over_time]`` in a plan spec the run is cut into periods of ``period_months`` calendar
months from its start (the last ends at the horizon) and the planner goes through them in
time order. For period ``k`` it keeps the levels chosen for the periods before it and searches
the levels of period ``k`` with the constant planner's search (:mod:`.search`), each role
from the level of period ``k - 1`` up (**staff are never dismissed**: a plan for a growing
service only recruits), judging every service level on period ``k`` alone:

- waits and people counts on the people referred in the period, followed after it by
  :func:`follow_up_days` (their waits counted by the censoring-aware estimators of
  :mod:`ipcsim.analysis.waits`, people still waiting at the end counted as waiting);
- throughput on events dated in the period, utilisation on work started in it.

Period ``k``'s runs therefore end at ``end_k + follow-up`` and keep period ``k``'s levels
through the follow-up (later increases, not yet chosen, would only shorten those waits).

A level above the previous period's becomes a dated entry of the role's ``changes``: the
engine hires the difference after the role's ``recruitment_lag_days``, and new starters train
(``training_days``) and then work at ``new_starter_productivity`` for ``new_starter_weeks``.
With ``hires_ready = "productive"`` (the default) the change is dated that whole lead time
before the period starts, so the new staff are fully productive from its first day; with
``"on_arrival"`` it is dated the recruitment lag before, so they arrive on its first day and
their training and slower first weeks fall in the period (the search sees them, and may need
more staff for it). A change cannot be dated before the run starts: when the lead is longer
than the time before a period, the change is dated on the first day and its staff come late;
the runs simulate exactly that, so the verdicts account for it (the table says how late).

The plan is the cheapest **period by period**: each period's staffing is the cheapest that
meets its targets given the earlier periods'. A joint search over all periods could only do
better where staff added earlier clear a backlog that would otherwise need more staff later.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ipcsim.analysis.service_levels import ServiceLevel, longest_wait_days
from ipcsim.errors import ConfigError
from ipcsim.experiment.planning.problem import PlanProblem, RoleLevels
from ipcsim.experiment.planning.spec import MAX_PERIODS, OverTime
from ipcsim.periods import add_months, day_of
from ipcsim.scenario import Scenario
from ipcsim.scenario.load import scenario_from_dict
from ipcsim.scenario.workforce import Role
from ipcsim.units import DAYS_PER_WEEK

__all__ = [
    "Hire",
    "Period",
    "PeriodProblem",
    "follow_up_days",
    "hires_for",
    "lead_days",
    "plan_periods",
    "staffing_plan_data",
]

Level = int | float
"""A role's level as the scenario takes it (whole for headcount)."""


@dataclass(frozen=True)
class Period:
    """One period of the plan: ``[start_day, end_day)`` days since the run's start.

    Attributes
    ----------
    index
        0, 1, ... in time order.
    start_day, end_day
        The period, days since the run's start (the last ends at the horizon).
    start_date, end_date
        Its first day and the day after its last.
    """

    index: int
    start_day: float
    end_day: float
    start_date: dt.date
    end_date: dt.date

    @property
    def label(self) -> str:
        """``2016-04-01 to 2016-09-30``."""
        last = self.end_date - dt.timedelta(days=1)
        return f"{self.start_date} to {max(last, self.start_date)}"


def plan_periods(start_date: dt.date, horizon_days: float, period_months: int) -> list[Period]:
    """The run cut into periods of ``period_months`` calendar months (the last may be shorter).

    Raises
    ------
    ConfigError
        More than :data:`MAX_PERIODS` periods.
    """
    starts: list[tuple[float, dt.date]] = []
    while True:
        date = add_months(start_date, len(starts) * period_months)
        day = day_of(date, start_date)
        if day >= horizon_days:
            break
        starts.append((day, date))
        if len(starts) > MAX_PERIODS:
            raise ConfigError(
                f"over_time.period_months: {period_months} months cut the {horizon_days:g}-day "
                f"horizon into more than {MAX_PERIODS} periods (lengthen the periods)"
            )
    end_date = start_date + dt.timedelta(days=math.ceil(horizon_days))
    ends = [*starts[1:], (float(horizon_days), end_date)]
    return [
        Period(i, start[0], end[0], start[1], end[1])
        for i, (start, end) in enumerate(zip(starts, ends, strict=True))
    ]


def follow_up_days(levels: Sequence[ServiceLevel], settings: OverTime) -> float:
    """How long after a period its people are followed, days.

    The rule: the longest wait a target names (``share_seen_within_8w``: 56 days;
    ``wait_referral_to_sign_off_p90 <= 90``: 90 days), rounded up to a whole day, so that
    everyone referred in the period, to its last day, is followed for that wait from
    referral; ``follow_up_days`` in the spec may lengthen it (for a stage's own wait, whose
    start may fall after the period), never shorten it.

    Raises
    ------
    ConfigError
        ``follow_up_days`` is shorter than the rule's.
    """
    needed = float(math.ceil(max((longest_wait_days(level) for level in levels), default=0.0)))
    if settings.follow_up_days is None:
        return needed
    if settings.follow_up_days < needed:
        raise ConfigError(
            f"over_time.follow_up_days: the targets need each period's people followed for "
            f"at least {needed:g} days, got {settings.follow_up_days:g}"
        )
    return float(settings.follow_up_days)


def lead_days(role: Role, hires_ready: str) -> float:
    """Days from a dated increase to its staff being ready (see the module notes)."""
    lead = role.recruitment_lag_days
    if hires_ready == "productive":
        lead += role.training_days
        if role.new_starter_productivity < 1.0:
            lead += role.new_starter_weeks * DAYS_PER_WEEK
    return lead


@dataclass(frozen=True)
class Hire:
    """One dated increase of a role: a ``changes`` entry of the plan's scenario.

    Attributes
    ----------
    role, period
        The role, and the period (index) whose level it brings.
    level
        The role's level from then (headcount or WTE).
    date, decision_day
        The change's date, and as days since the run's start.
    arrival_day
        When the new staff arrive (the decision plus the recruitment lag).
    ready_day
        When they are ready as ``hires_ready`` means it (productive, or arrived).
    late_days
        Days after the period's start that they are ready (0 unless the lead is longer than
        the time before the period).
    """

    role: str
    period: int
    level: Level
    date: dt.date
    decision_day: float
    arrival_day: float
    ready_day: float
    late_days: float


def hires_for(
    base: Scenario,
    roles: Sequence[RoleLevels],
    periods: Sequence[Period],
    levels_by_period: Sequence[Sequence[Level]],
    hires_ready: str,
) -> list[Hire]:
    """The dated increases that give each period its levels (levels never fall).

    Parameters
    ----------
    base
        The base scenario (the roles' lags, training and start date).
    roles
        The roles planned, in order.
    periods
        The periods whose levels are known (``levels_by_period[k]`` is period ``k``'s).
    levels_by_period
        Each period's level of each role.
    hires_ready
        ``productive`` or ``on_arrival``.

    Returns
    -------
    list of Hire
        In role then date order; two increases of a role falling on one date (both clamped
        to the run's first day) are one change to the later level.
    """
    start = base.run.start_date
    first_day = day_of(base.site.start_date or start, start)
    hires: list[Hire] = []
    for r, role in enumerate(roles):
        settings = base.workforce[role.role]
        lead = lead_days(settings, hires_ready)
        mine: list[Hire] = []
        for k in range(1, len(levels_by_period)):
            level, before = levels_by_period[k][r], levels_by_period[k - 1][r]
            if level < before:
                raise ValueError(f"{role.role}: level falls from {before} to {level} in period {k}")
            if level == before:
                continue
            period = periods[k]
            day = max(first_day, float(math.floor(period.start_day - lead)))
            arrival = day + settings.recruitment_lag_days
            ready = day + lead
            hire = Hire(
                role=role.role,
                period=k,
                level=level,
                date=start + dt.timedelta(days=int(day)),
                decision_day=day,
                arrival_day=arrival,
                ready_day=ready,
                late_days=max(0.0, ready - period.start_day),
            )
            if mine and mine[-1].decision_day == day:
                mine[-1] = hire
            else:
                mine.append(hire)
        hires += mine
    return hires


def staffing_plan_data(
    raw: dict[str, Any],
    roles: Sequence[RoleLevels],
    first_levels: Sequence[Level],
    hires: Sequence[Hire],
    horizon_days: float,
) -> dict[str, Any]:
    """The base's TOML data with the plan: first levels, dated ``changes``, the horizon."""
    data = copy.deepcopy(raw)
    data.setdefault("run", {})["horizon_days"] = horizon_days
    for role, level in zip(roles, first_levels, strict=True):
        table = data["workforce"][role.role]
        table.pop("fte" if role.measure == "headcount" else "headcount", None)
        table[role.measure] = level
        changes = [{"date": h.date, role.measure: h.level} for h in hires if h.role == role.role]
        if changes:
            table["changes"] = changes
        else:
            table.pop("changes", None)
    return data


@dataclass(frozen=True)
class PeriodProblem(PlanProblem):
    """One period's search: the base problem with earlier periods' levels fixed.

    ``roles`` hold only the levels at or above the previous period's; a configuration's
    scenario has the earlier periods' dated changes, this period's level (a dated change from
    the second period on) and the horizon at the period's end plus the follow-up.

    Attributes
    ----------
    period
        The period searched.
    periods
        Every period of the plan.
    earlier
        The levels chosen for the periods before it.
    all_roles
        The roles with every level (for the scenario's data).
    horizon_days
        The runs' horizon: the period's end plus the follow-up.
    """

    period: Period
    periods: tuple[Period, ...]
    earlier: tuple[tuple[Level, ...], ...]
    all_roles: tuple[RoleLevels, ...]
    horizon_days: float

    def kpi_window(self) -> tuple[float, float | None]:
        """The period: people referred, events and work in ``[start, end)``."""
        return self.period.start_day, self.period.end_day

    def plan_levels(self, config: tuple[int, ...]) -> list[tuple[Level, ...]]:
        """Every period's levels so far, this one's from ``config``."""
        now = tuple(r.value(i) for r, i in zip(self.roles, config, strict=True))
        return [*self.earlier, now]

    def hires(self, config: tuple[int, ...]) -> list[Hire]:
        """The dated increases of the plan so far."""
        return hires_for(
            self.base,
            self.all_roles,
            self.periods,
            self.plan_levels(config),
            self.spec.over_time.hires_ready if self.spec.over_time else "productive",
        )

    def scenario_data(self, config: tuple[int, ...]) -> dict[str, Any]:
        """The base's data with the plan so far (earlier periods, then ``config``)."""
        levels = self.plan_levels(config)
        return staffing_plan_data(
            self.raw, self.all_roles, levels[0], self.hires(config), self.horizon_days
        )

    def scenario(self, config: tuple[int, ...]) -> Scenario:
        """A configuration's scenario, validated."""
        shown = ", ".join(f"{k}={v}" for k, v in self.levels(config).items())
        where = (
            f"{self.spec_path or '<plan>'}: period {self.period.index + 1} "
            f"({self.period.label}), configuration {shown}"
        )
        return scenario_from_dict(self.scenario_data(config), source=where)
