"""One group of sites simulated on its own, and the records of several groups merged.

A scenario's sites split into groups that share no pool or panel
(:func:`ipcsim.scenario.partition.site_groups`). :func:`simulate_group` runs one group's
:class:`~ipcsim.engine.model.PathwayModel` and hands back its records as plain data (a
:class:`GroupTask` in, a :class:`GroupRecords` out: both picklable, so any executor can run it,
in this process, a worker process or a Dask worker). :func:`merge_groups` puts the groups'
records together in one canonical form, which is also the form of a run of all the sites in
one model (one group): the same tables, row for row, however the sites were split.

The canonical form
------------------
- **Person ids** (:func:`number_people`): people of the warm-start backlog keep the id their
  file gives them; the people referred during the run are numbered on from one past the largest
  backlog id, in the order (referral day, the site's place in the scenario, the site's own
  count of referrals). Every table that names a person (people, work, waits, budget renewals)
  gets the same ids.
- **Row order**: ``people`` by person id; ``work``, ``waits`` and ``renewals`` site by site in
  the scenario's order, each site's rows in the order the site wrote them.
- **Categories**: each string column's categories are the sorted union of the groups'.
- **Pools**: own pools site by site (roles sorted), then shared pools in the order the sites
  first use them, so sums over pools add up in one order.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ipcsim.engine.model import PathwayModel, PoolCapacity
from ipcsim.scenario import Scenario
from ipcsim.scenario.backlog import BacklogPerson

__all__ = [
    "GroupRecords",
    "GroupSource",
    "GroupTask",
    "MergedRecords",
    "merge_groups",
    "number_people",
    "simulate_group",
]

TABLES = ("people", "work", "waits", "renewals")
"""The record tables of a run, each with a ``person_id`` and a ``site`` column."""


@dataclass(frozen=True)
class GroupTask:
    """One group of sites to simulate (picklable: plain data, no callables).

    Attributes
    ----------
    scenario
        The group's sub-scenario (:func:`ipcsim.scenario.partition.sub_scenario`), or the
        whole scenario for a run in one model.
    seed, replication
        Select the random streams (the same for every group of a run).
    backlog
        The backlog people at the group's sites, in the backlog file's order.
    role_names
        Every role of the whole scenario, sorted (``hours_<role>`` columns of ``people``), so
        every group's people table has the same columns.
    """

    scenario: Scenario
    seed: int
    replication: int
    backlog: tuple[BacklogPerson, ...] = ()
    role_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupRecords:
    """What one group's simulation hands back (plain data).

    ``person_id`` in every table is the person's row of this group's ``people`` (the ids are
    given by :func:`merge_groups`); the first ``len(backlog_ids)`` rows are the backlog people.
    """

    people: pd.DataFrame
    work: pd.DataFrame
    waits: pd.DataFrame
    renewals: pd.DataFrame
    backlog_ids: tuple[int, ...]
    pools: tuple[PoolCapacity, ...]
    streams: tuple[str, ...]
    wall_time_s: float = field(default=0.0, compare=False)

    def table(self, name: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Table ``name`` (one of :data:`TABLES`), or only its ``columns``."""
        frame: pd.DataFrame = getattr(self, name)
        return frame if columns is None else frame[list(columns)]


class GroupSource(Protocol):
    """One group's records as :func:`merge_groups` reads them: in memory or from disk.

    :class:`GroupRecords` is one; a group whose tables a worker wrote to disk is another
    (``ipcsim.run``), so the tables are read one at a time when they are merged.
    """

    @property
    def backlog_ids(self) -> tuple[int, ...]:
        """Ids of the backlog people, the first rows of ``people``."""
        ...

    @property
    def pools(self) -> tuple[PoolCapacity, ...]:
        """The group's pools' capacity."""
        ...

    @property
    def streams(self) -> tuple[str, ...]:
        """The random streams the group used."""
        ...

    def table(self, name: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Table ``name`` (one of :data:`TABLES`), or only its ``columns``."""
        ...


@dataclass(frozen=True)
class MergedRecords:
    """The records of a whole run, in canonical form (see the module notes)."""

    people: pd.DataFrame
    work: pd.DataFrame
    waits: pd.DataFrame
    renewals: pd.DataFrame
    pools: tuple[PoolCapacity, ...]
    streams: tuple[str, ...]


def simulate_group(
    task: GroupTask, progress: Callable[[float], None] | None = None
) -> GroupRecords:
    """Simulate one group of sites to the horizon and return its records (runs in a worker).

    Parameters
    ----------
    task
        The group.
    progress
        Called with the share of the horizon simulated (only when run in this process).

    Returns
    -------
    GroupRecords
        The group's tables, its pools' capacity and the random streams it used.
    """
    began = time.perf_counter()
    scenario = task.scenario
    model = PathwayModel(
        scenario, replication=task.replication, seed=task.seed, backlog=task.backlog
    )
    log = model.run(progress=progress)
    pools = tuple(model.pool_capacities())
    streams = tuple(model.streams.names)
    # The model's processes and people in flight are garbage now: freed before the frames
    # are built, so a worker's peak memory is the records', not the records' and the model's.
    del model
    gc.collect()
    hourly_cost = {
        config.site.name: {name: role.hourly_cost_gbp for name, role in config.workforce.items()}
        for config in scenario.site_configs
    }
    return GroupRecords(
        people=log.people_frame(list(task.role_names), hourly_cost),
        work=log.work_frame(),
        waits=log.waits_frame(),
        renewals=log.renewals_frame(),
        backlog_ids=tuple(person.person_id for person in task.backlog),
        pools=pools,
        streams=streams,
        wall_time_s=time.perf_counter() - began,
    )


def number_people(
    groups: Sequence[GroupSource], *, site_names: Sequence[str], first_person_id: int
) -> list[np.ndarray]:
    """Each group's person ids, by row of its ``people``: the same however sites were grouped.

    Parameters
    ----------
    groups
        The groups' records.
    site_names
        Every site of the scenario, in its order.
    first_person_id
        Id of the first person referred during the run (one past the largest backlog id).

    Returns
    -------
    list of numpy.ndarray
        Per group, the id of the person in each row (int64).

    Notes
    -----
    Backlog people keep their file's id. The people referred during the run are numbered
    in the order of (referral day, the site's place in ``site_names``, the site's own count
    of its referrals): each key belongs to one site, whose referrals and their order do not
    depend on which other sites it was simulated with.
    """
    place = {name: k for k, name in enumerate(site_names)}
    days, sites, counts = [], [], []
    for records in groups:
        people = records.table("people", ["site", "referred_day"])
        referred = people.iloc[len(records.backlog_ids) :]
        site = referred["site"].astype(str).map(place).to_numpy(dtype=np.int64)
        days.append(referred["referred_day"].to_numpy(dtype=np.float64))
        sites.append(site)
        counts.append(pd.Series(site).groupby(site).cumcount().to_numpy(dtype=np.int64))
    order = np.lexsort((np.concatenate(counts), np.concatenate(sites), np.concatenate(days)))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    ids = []
    offset = 0
    for records, day in zip(groups, days, strict=True):
        backlog = np.array(records.backlog_ids, dtype=np.int64)
        mine = first_person_id + rank[offset : offset + len(day)]
        ids.append(np.concatenate([backlog, mine]))
        offset += len(day)
    return ids


def _pool_order(scenario: Scenario) -> list[str]:
    """Pool names in the order a model of the whole scenario lists them (see the notes)."""
    owned: list[str] = []
    shared: dict[str, None] = {}  # an ordered set
    for config in scenario.site_configs:
        site = config.site.name
        for role in sorted(config.workforce):
            pool = scenario.shared_pool_for(site, role)
            if pool is None:
                owned.append(f"{site}.{role}")
            else:
                shared.setdefault(pool, None)
    return owned + list(shared)


def _categorical(columns: list[pd.Series]) -> tuple[pd.Index, list[np.ndarray]]:
    """The sorted union of the columns' categories, and each column's codes into it."""
    union = sorted({str(c) for column in columns for c in column.cat.categories})
    index = {name: k for k, name in enumerate(union)}
    codes = []
    for column in columns:
        # A lookup from the column's codes to the union's (-1, a missing value, stays -1).
        lookup = np.array([index[str(c)] for c in column.cat.categories] + [-1], dtype=np.int64)
        codes.append(lookup[column.cat.codes.to_numpy()])
    return pd.Index(union, dtype=object).astype("str"), codes


def _concat(
    frames: list[pd.DataFrame], person_ids: list[np.ndarray], order: np.ndarray
) -> pd.DataFrame:
    """The frames one after another, ``person_id`` replaced, rows taken in ``order``.

    Column by column in numpy: a handful of array operations per column, whatever the number
    of groups (pandas' own concat and ``set_categories`` cost a millisecond a frame each).
    """
    data: dict[str, Any] = {}
    for name in frames[0].columns:
        columns = [frame[name] for frame in frames]
        if name == "person_id":
            values = np.concatenate(
                [ids[c.to_numpy()] for ids, c in zip(person_ids, columns, strict=True)]
            )
            data[name] = values[order]
        elif isinstance(columns[0].dtype, pd.CategoricalDtype):
            categories, codes = _categorical(columns)
            data[name] = pd.Categorical.from_codes(
                np.concatenate(codes)[order], categories=categories
            )
        else:
            data[name] = np.concatenate([c.to_numpy() for c in columns])[order]
    return pd.DataFrame(data, columns=frames[0].columns, copy=False)


def _site_places(frame: pd.DataFrame, place: dict[str, int]) -> np.ndarray:
    """Each row's site, as the site's place in the scenario."""
    site = frame["site"]
    lookup = np.array([place[str(c)] for c in site.cat.categories] + [-1], dtype=np.int64)
    return lookup[site.cat.codes.to_numpy()]


def merge_groups(
    groups: Sequence[GroupSource], *, scenario: Scenario, first_person_id: int
) -> MergedRecords:
    """The records of all groups as one run's, in canonical form (see the module notes).

    Parameters
    ----------
    groups
        Each group's records (any order of groups gives the same result).
    scenario
        The whole scenario.
    first_person_id
        Id of the first person referred during the run (one past the largest backlog id).

    Returns
    -------
    MergedRecords
        ``people`` by person id; ``work``, ``waits`` and ``renewals`` site by site in the
        scenario's order; pools in the whole model's order; the streams used, sorted.
    """
    site_names = scenario.site_names
    place = {name: k for k, name in enumerate(site_names)}
    ids = number_people(groups, site_names=site_names, first_person_id=first_person_id)
    tables: dict[str, pd.DataFrame] = {}
    for table in TABLES:
        # One table of every group at a time (read from disk if a worker wrote it there).
        frames = [records.table(table) for records in groups]
        if table == "people":
            key = np.concatenate(ids)
        else:
            key = np.concatenate([_site_places(frame, place) for frame in frames])
        order = np.argsort(key, kind="stable")
        tables[table] = _concat(frames, ids, order)
    by_name = {pool.name: pool for records in groups for pool in records.pools}
    pools = tuple(by_name[name] for name in _pool_order(scenario) if name in by_name)
    streams = tuple(sorted({name for records in groups for name in records.streams}))
    return MergedRecords(
        people=tables["people"],
        work=tables["work"],
        waits=tables["waits"],
        renewals=tables["renewals"],
        pools=pools,
        streams=streams,
    )
