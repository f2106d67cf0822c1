"""Staffing plans: dated changes to a role, staff turnover, and new starters.

Each staff pool gets a process per dated change (``workforce.<role>.changes``: a new IPC
share at once, new posts after the recruitment lag, posts cut at once) and, with an annual
turnover, a process of leavers each replaced after the replacement lag. New starters train
first, then work at reduced productivity for a few weeks. Time in days since the run's start
date.

A change's headcount (or FTE) is the number of posts from its date: posts an earlier dated
change is still recruiting (within its recruitment lag) count towards it, so two increases
closer together than the lag hire the difference once, not twice. Posts a leaver left vacant
(turnover, awaiting replacement) are not counted (an increase then also fills them).
"""

from __future__ import annotations

import numpy as np

from ipcsim.engine.runtime import Process, Runtime
from ipcsim.engine.staff import StaffPool
from ipcsim.periods import day_of
from ipcsim.scenario import StaffChange
from ipcsim.units import DAYS_PER_YEAR


def start_staffing_plan(runtime: Runtime, site_name: str, role_name: str, pool: StaffPool) -> None:
    """Start the processes that change a pool's staff: dated changes and turnover.

    Parameters
    ----------
    runtime
        The run's shared state.
    site_name
        The pool's site (``shared`` for a pool shared by several sites).
    role_name
        The role, or the shared pool's name; with ``site_name`` it names the turnover stream.
    pool
        The staff pool.
    """
    env = runtime.env
    role = pool.role
    recruiting: list[float] = []  # WTE of the posts dated changes are recruiting (in their lag)
    for change in role.changes:
        env.process(_staff_change(runtime, pool, change, recruiting))
    if role.annual_turnover > 0 and not pool.unlimited:
        stream = runtime.streams[f"turnover.{site_name}.{role_name}"]
        env.process(_turnover(runtime, pool, stream))


def _staff_change(
    runtime: Runtime, pool: StaffPool, change: StaffChange, recruiting: list[float]
) -> Process:
    """Apply a dated change: a new IPC share at once; new posts after the recruitment lag.

    ``recruiting`` holds the WTE of posts earlier changes of the pool are still recruiting;
    they count towards the change's headcount (a cut still compares with the staff in post).
    """
    env = runtime.env
    day = day_of(change.date, runtime.scenario.run.start_date)
    if day >= env.now:
        yield env.timeout(day - env.now)
    if change.ipc_share is not None:
        pool.set_ipc_share(change.ipc_share)
    target = change.member_fte()
    if target is None:
        return
    current = pool.active_members
    if len(target) < len(current):
        # Posts cut: the most recent starters leave first (idle people before busy ones).
        leaving = sorted(current, key=lambda m: (m.busy, -m.index))[: len(current) - len(target)]
        for member in leaving:
            pool.retire(member)
    elif len(target) > len(current) + len(recruiting):
        posts = target[len(current) + len(recruiting) :]
        lag = pool.role.recruitment_lag_days
        if lag > 0:
            recruiting.extend(posts)
            yield env.timeout(lag)
            del recruiting[: len(posts)]
        for fte in posts:
            env.process(_new_starter(runtime, pool, fte))


def _turnover(runtime: Runtime, pool: StaffPool, stream: np.random.Generator) -> Process:
    """Leavers at the role's annual rate, each replaced after the replacement lag."""
    env = runtime.env
    per_person_per_day = pool.role.annual_turnover / DAYS_PER_YEAR
    while True:
        staff = pool.active_members
        if not staff:
            yield env.timeout(30.0)
            continue
        yield env.timeout(float(stream.exponential(1.0 / (per_person_per_day * len(staff)))))
        staff = pool.active_members
        if not staff:
            continue
        leaver = staff[int(stream.integers(len(staff)))]
        pool.retire(leaver)
        env.process(_replace(runtime, pool, leaver.fte))


def _replace(runtime: Runtime, pool: StaffPool, fte: float) -> Process:
    """A leaver's replacement starts after the role's replacement lag."""
    yield runtime.env.timeout(pool.role.replacement_lag_days)
    yield from _new_starter(runtime, pool, fte)


def _new_starter(runtime: Runtime, pool: StaffPool, fte: float) -> Process:
    """A new starter: training first, then reduced productivity for a few weeks."""
    role = pool.role
    member = pool.add_member(
        fte, training_days=role.training_days, productivity=role.new_starter_productivity
    )
    if role.new_starter_productivity < 1.0 and role.new_starter_weeks > 0:
        yield runtime.env.timeout(role.training_days + role.new_starter_weeks * 7)
        if member.active:
            pool.set_productivity(member, 1.0)
