"""Tidy records the model writes: people, staff work and waits for staff.

Records are kept as typed columns while the simulation runs (``array.array`` of floats and
of integer codes; every string is coded once, in a :class:`Codes` table) and turned into one
pandas DataFrame each at the end, string columns as categoricals. A person is a row; the
model writes to it through a :class:`PersonRecord`, a small handle whose attributes are the
row's cells. Statistics come later, in :mod:`ipcsim.analysis.metrics`.

Notes
-----
Work and waits are written when the work is *booked*, which may be for a time after the
horizon (the practitioner's next working window, or when enough IPC hours are banked). The
frames keep only what happened before the horizon: work starting at or after it is dropped,
a wait whose work starts at or after it is still open (``started_day`` NaN, not served), and
so is a milestone reached at or after it (NaN). Writing at booking saves the model one event
per task; the frames are the same as if every record were written when its time came.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ipcsim.pathway import END_STATES, EXIT_REASONS, MILESTONES, PLAN_END_REASONS

NAN = math.nan

_FLOAT_FIELDS = (
    *MILESTONES,
    "end_day",
    "submitted_day",
    "budget_amount_gbp",
    "budget_held_days",
    "plan_end_day",
    "budget_renewed_gbp",
)
_INT_FIELDS = (
    "sessions_planned",
    "sessions_held",
    "rework_count",
    "reviews_held",
    "plan_renewals",
    "budget_renewals",
)
# Coded string fields of a person, and the code table each uses.
_CODED_FIELDS = {
    "end_state": "states",
    "exit_reason": "reasons",
    "lead_practitioner": "members",
    "budget_type": "labels",
    "backlog_stage": "labels",
    "plan_end_reason": "plan_ends",
}


class Codes(dict[str, int]):
    """Strings coded as small integers, in order of first use: ``codes[name]`` is the code.

    A new string gets the next code the first time it is looked up (a dict subscript, the
    cheapest lookup Python has).

    Parameters
    ----------
    names
        Strings to code first (so their codes are known in advance).
    """

    __slots__ = ("names",)

    def __init__(self, names: Iterable[str] = ()) -> None:
        super().__init__()
        self.names: list[str] = []
        for name in names:
            self[name]

    def __missing__(self, name: str) -> int:
        """Code a string seen for the first time: the next code."""
        code = len(self.names)
        self[name] = code
        self.names.append(name)
        return code

    def categorical(self, codes: np.ndarray) -> pd.Categorical:
        """``codes`` as a categorical of this table's strings, categories in sorted order.

        Sorted categories group and sort as the strings would; columns coded with the same
        table (``work.member`` and ``people.lead_practitioner``) have the same categories,
        so they compare with each other.
        """
        names = self.names
        order = sorted(range(len(names)), key=names.__getitem__)
        # The smallest integer type that holds the codes, as pandas would store them anyway
        # (no int64 array of the column's length in between).
        remap = np.empty(len(names), dtype=np.min_scalar_type(-max(len(names), 1)))
        remap[order] = np.arange(len(order))
        categories = pd.Index([names[k] for k in order], dtype=object)
        return pd.Categorical.from_codes(remap[codes], categories=categories.astype("str"))


class _Cell:
    """One column of a person's row, read and written through a :class:`PersonRecord`."""

    __slots__ = ("name",)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, person: PersonRecord | None, owner: type | None = None) -> Any:
        if person is None:
            return self
        return person.log.columns[self.name][person.row]

    def __set__(self, person: PersonRecord, value: Any) -> None:
        person.log.columns[self.name][person.row] = value


class _CodedCell(_Cell):
    """A string column kept as codes."""

    __slots__ = ()

    def __get__(self, person: PersonRecord | None, owner: type | None = None) -> Any:
        if person is None:
            return self
        log = person.log
        return log.codes[_CODED_FIELDS[self.name]].names[log.columns[self.name][person.row]]

    def __set__(self, person: PersonRecord, value: Any) -> None:
        log = person.log
        log.columns[self.name][person.row] = log.codes[_CODED_FIELDS[self.name]][value]


class PersonRecord:
    """One referred person's row of the ``people`` table, filled in as the simulation runs.

    Made by :meth:`EventLog.add_person`; attribute names are the table's columns.
    """

    __slots__ = ("cohort", "log", "person_id", "row", "site")

    referred_day = _Cell()
    consented_day = _Cell()
    first_conversation_day = _Cell()
    plan_written_day = _Cell()
    signed_off_day = _Cell()
    budget_agreed_day = _Cell()
    budget_released_day = _Cell()
    end_day = _Cell()
    submitted_day = _Cell()
    budget_amount_gbp = _Cell()
    budget_held_days = _Cell()
    sessions_planned = _Cell()
    sessions_held = _Cell()
    rework_count = _Cell()
    reviews_held = _Cell()
    plan_end_day = _Cell()
    plan_renewals = _Cell()
    budget_renewals = _Cell()
    budget_renewed_gbp = _Cell()
    end_state = _CodedCell()
    exit_reason = _CodedCell()
    lead_practitioner = _CodedCell()
    budget_type = _CodedCell()
    backlog_stage = _CodedCell()
    plan_end_reason = _CodedCell()

    def __init__(self, log: EventLog, row: int, person_id: int, site: str, cohort: str) -> None:
        self.log = log
        self.row = row
        self.person_id = person_id
        self.site = site
        self.cohort = cohort

    def end(self, state: str, reason: str, day: float) -> None:
        """Close the journey in ``state`` at ``day``."""
        self.end_state = state
        self.exit_reason = reason
        self.end_day = day

    def end_plan(self, reason: str, day: float) -> None:
        """The plan in place ends at ``day`` (one of :data:`~ipcsim.pathway.PLAN_END_REASONS`).

        May be written ahead, when the day is known at sign-off: the frames leave out an end
        at or after the horizon.
        """
        self.plan_end_reason = reason
        self.plan_end_day = day


# array.array type codes of the columns, and the numpy dtypes they read back as.
_NUMPY = {"b": np.int8, "h": np.int16, "i": np.int32, "q": np.int64, "d": np.float64}


def _view(column: array[Any]) -> np.ndarray:
    """A numpy view of an ``array.array`` column (no copy)."""
    return np.frombuffer(column, dtype=_NUMPY[column.typecode])


class EventLog:
    """Everything the model records during one run, as typed columns.

    ``work`` and ``waits`` rows point to the person's row of ``people`` (int32); strings are
    int16 codes (int32 for staff members). A task costs 36 bytes, a wait 25.

    Parameters
    ----------
    horizon_days
        End of the run: the frames keep only what happened before it (see the module notes).
    """

    def __init__(self, horizon_days: float = math.inf) -> None:
        self.horizon_days = horizon_days
        self.codes: dict[str, Codes] = {
            "sites": Codes(),
            "cohorts": Codes(),
            "roles": Codes(),
            "members": Codes([""]),
            "activities": Codes(),
            "states": Codes(END_STATES),
            "reasons": Codes(EXIT_REASONS),
            "labels": Codes([""]),
            "plan_ends": Codes(["", *PLAN_END_REASONS]),
        }
        columns: dict[str, array[Any]] = {
            "person_id": array("q"),
            "site": array("h"),
            "cohort": array("h"),
        }
        columns.update({name: array("d") for name in _FLOAT_FIELDS})
        columns.update({name: array("i") for name in _INT_FIELDS})
        columns.update({name: array("i") for name in _CODED_FIELDS})
        self.columns = columns
        self._new_row: dict[str, float] = {
            **dict.fromkeys(_FLOAT_FIELDS, NAN),
            **dict.fromkeys(_INT_FIELDS, 0),
            "end_state": self.codes["states"]["in_progress"],
            "exit_reason": self.codes["reasons"]["in_pathway"],
            "lead_practitioner": 0,
            "budget_type": 0,
            "backlog_stage": 0,
            "plan_end_reason": 0,
        }
        self.work: dict[str, array[Any]] = {
            "row": array("i"),
            "role": array("h"),
            "member": array("i"),
            "activity": array("h"),
            "start_day": array("d"),
            "finish_day": array("d"),
            "hours": array("d"),
        }
        self.waits: dict[str, array[Any]] = {
            "row": array("i"),
            "role": array("h"),
            "activity": array("h"),
            "requested_day": array("d"),
            "started_day": array("d"),
            "served": array("b"),
        }
        self._people_appends = tuple(
            (columns[name].append, value) for name, value in self._new_row.items()
        )
        self._work_appends = tuple(column.append for column in self.work.values())
        self._work_kept: int | None = None  # rows of work kept once compacted (frames)
        self._wait_appends = tuple(column.append for column in self.waits.values())
        self.renewals: dict[str, array[Any]] = {
            "row": array("i"),
            "day": array("d"),
            "amount_gbp": array("d"),
        }

    # ----------------------------------------------------------------- writing
    @property
    def people_count(self) -> int:
        """Rows of ``people`` so far (the row the next person gets)."""
        return len(self.columns["person_id"])

    def add_person(
        self, person_id: int, site: str, cohort: str, referred_day: float
    ) -> PersonRecord:
        """A new row of ``people``; write to it through the returned record."""
        columns = self.columns
        row = len(columns["person_id"])
        columns["person_id"].append(person_id)
        columns["site"].append(self.codes["sites"][site])
        columns["cohort"].append(self.codes["cohorts"][cohort])
        for append, value in self._people_appends:
            append(value)
        columns["referred_day"][row] = referred_day
        return PersonRecord(self, row, person_id, site, cohort)

    def log_work(
        self,
        person: PersonRecord,
        *,
        role: str,
        member: str,
        activity: str,
        start_day: float,
        finish_day: float,
        hours: float,
    ) -> None:
        """Record ``hours`` of staff time spent on ``person``."""
        self.log_task(person.row, role, member, activity, start_day, finish_day, hours)

    def log_task(
        self,
        row: int,
        role: str,
        member: str,
        activity: str,
        start_day: float,
        finish_day: float,
        hours: float,
    ) -> None:
        """Record one task of staff time for the person in ``row`` of ``people``."""
        codes = self.codes
        row_, role_, member_, activity_, start, finish, hours_ = self._work_appends
        row_(row)
        role_(codes["roles"][role])
        member_(codes["members"][member])
        activity_(codes["activities"][activity])
        start(start_day)
        finish(finish_day)
        hours_(hours)

    def log_budget_renewal(self, person: PersonRecord, day: float, amount_gbp: float) -> None:
        """Record a budget renewed at ``day`` for ``amount_gbp`` pounds (paid from the pot)."""
        self.renewals["row"].append(person.row)
        self.renewals["day"].append(day)
        self.renewals["amount_gbp"].append(amount_gbp)
        person.budget_renewals += 1
        person.budget_renewed_gbp = (
            amount_gbp
            if math.isnan(person.budget_renewed_gbp)
            else person.budget_renewed_gbp + amount_gbp
        )

    def open_wait(self, person: PersonRecord, *, role: str, activity: str, day: float) -> int:
        """Start a wait for staff; the returned row is closed with :meth:`close_wait`."""
        return self.open_wait_of(person.row, role, activity, day)

    def open_wait_of(self, row: int, role: str, activity: str, requested_day: float) -> int:
        """Start a wait for staff of the person in ``row`` of ``people``; returns its row."""
        codes = self.codes
        row_, role_, activity_, requested, started, served = self._wait_appends
        row_(row)
        role_(codes["roles"][role])
        activity_(codes["activities"][activity])
        requested(requested_day)
        started(NAN)
        served(0)
        return len(self.waits["served"]) - 1

    def close_wait(self, row: int, day: float, *, served: bool = True) -> None:
        """End a wait at ``day``: served (work starts) or abandoned (withdrawal)."""
        self.waits["started_day"][row] = day
        self.waits["served"][row] = served

    # ----------------------------------------------------------------- frames
    def _categorical(self, table: str, codes: np.ndarray) -> pd.Categorical:
        return self.codes[table].categorical(codes)

    def people_frame(
        self, role_names: list[str], hourly_cost: dict[str, dict[str, float]]
    ) -> pd.DataFrame:
        """One row per referred person (see the README's output section for columns).

        Parameters
        ----------
        role_names
            Roles to give ``hours_<role>`` and ``cost_<role>_gbp`` columns.
        hourly_cost
            Pounds per hour by site, then role.
        """
        columns = self.columns
        n = len(columns["person_id"])
        site_of_person = _view(columns["site"])
        data: dict[str, Any] = {
            "person_id": _view(columns["person_id"]),
            "site": self._categorical("sites", site_of_person),
            "cohort": self._categorical("cohorts", _view(columns["cohort"])),
        }
        for name in MILESTONES:
            values = _view(columns[name])
            late = values >= self.horizon_days
            if late.any():
                values[late] = NAN  # reached at or after the horizon: not reached in the run
            data[name] = values
        data["end_state"] = self._categorical("states", _view(columns["end_state"]))
        data["exit_reason"] = self._categorical("reasons", _view(columns["exit_reason"]))
        data["end_day"] = _view(columns["end_day"])
        data["submitted_day"] = _view(columns["submitted_day"])
        data["lead_practitioner"] = self._categorical(
            "members", _view(columns["lead_practitioner"])
        )
        for name in _INT_FIELDS:
            data[name] = _view(columns[name]).astype(np.int64)
        data["budget_type"] = self._categorical("labels", _view(columns["budget_type"]))
        data["budget_amount_gbp"] = _view(columns["budget_amount_gbp"])
        data["budget_held_days"] = _view(columns["budget_held_days"])
        data["backlog_stage"] = self._categorical("labels", _view(columns["backlog_stage"]))
        # A plan's end is written at sign-off when its day is known: after the horizon, the
        # plan was still in place in the run.
        plan_end_day = _view(columns["plan_end_day"])
        plan_end_reason = _view(columns["plan_end_reason"])
        late = plan_end_day >= self.horizon_days
        if late.any():
            plan_end_day[late] = NAN
            plan_end_reason[late] = 0
        data["plan_end_day"] = plan_end_day
        data["plan_end_reason"] = self._categorical("plan_ends", plan_end_reason)
        data["budget_renewed_gbp"] = np.nan_to_num(_view(columns["budget_renewed_gbp"]))

        # Hours and cost per role, summed over the person's tasks in the order they were
        # booked (work booked for after the horizon is not counted).
        work = self._work_before_horizon()
        rows, work_role, work_hours = work["row"], work["role"], work["hours"]
        site_names = self.codes["sites"].names
        role_codes = self.codes["roles"]
        total_hours = np.zeros(n)
        total_cost = np.zeros(n)
        for role in role_names:
            code = role_codes.get(role)
            hours: np.ndarray = np.zeros(n)
            if code is not None:
                mine = work_role == code
                hours = np.bincount(rows[mine], weights=work_hours[mine], minlength=n)
            rate = np.array(
                [hourly_cost.get(site, {}).get(role, 0.0) for site in site_names] or [0.0]
            )
            cost = hours * rate[site_of_person] if n else np.zeros(0)
            data[f"hours_{role}"] = hours
            data[f"cost_{role}_gbp"] = cost
            total_hours += hours
            total_cost += cost
        data["staff_hours_total"] = total_hours
        data["staff_cost_gbp_total"] = total_cost
        # The columns are views of the log's arrays: no second copy of the records.
        return pd.DataFrame(data, columns=_people_columns(role_names), copy=False)

    def _of_people(self, rows: np.ndarray) -> dict[str, Any]:
        """``person_id`` and ``site`` columns for rows that point into ``people``."""
        return {
            "person_id": _view(self.columns["person_id"])[rows],
            "site": self._categorical("sites", _view(self.columns["site"])[rows]),
        }

    def work_frame(self) -> pd.DataFrame:
        """One row per task of staff time that started before the horizon."""
        work = self._work_before_horizon()
        data = self._of_people(work["row"])
        data["role"] = self._categorical("roles", work["role"])
        data["member"] = self._categorical("members", work["member"])
        data["activity"] = self._categorical("activities", work["activity"])
        for name in ("start_day", "finish_day", "hours"):
            data[name] = work[name]
        return pd.DataFrame(data, copy=False)

    def _work_before_horizon(self) -> dict[str, np.ndarray]:
        """Views of the tasks that start before the horizon, moved to the front in place.

        Compacting one column at a time needs one column's worth of scratch memory, not a
        second copy of the table; afterwards only the first ``_work_kept`` rows are used.
        """
        work = {name: _view(column) for name, column in self.work.items()}
        if self._work_kept is None:
            kept = work["start_day"] < self.horizon_days
            n_kept = int(kept.sum())
            if n_kept < len(kept):
                for values in work.values():
                    values[:n_kept] = values[kept]
            self._work_kept = n_kept
        return {name: values[: self._work_kept] for name, values in work.items()}

    def renewals_frame(self) -> pd.DataFrame:
        """One row per budget renewal paid before the horizon.

        Columns ``person_id``, ``site``, ``day`` and ``amount_gbp`` (pounds drawn on the pot
        for the new period).
        """
        renewals = {name: _view(column) for name, column in self.renewals.items()}
        data = self._of_people(renewals["row"])
        data["day"] = renewals["day"]
        data["amount_gbp"] = renewals["amount_gbp"]
        return pd.DataFrame(data, copy=False)

    def waits_frame(self) -> pd.DataFrame:
        """One row per wait for staff: requested, started (NaN if still waiting), served."""
        waits = {name: _view(column) for name, column in self.waits.items()}
        started = waits["started_day"]
        served = waits["served"].astype(bool)
        # Work booked to start at or after the horizon had not started by then.
        late = started >= self.horizon_days
        if late.any():
            started[late] = NAN
            served[late] = False
        data = self._of_people(waits["row"])
        data["role"] = self._categorical("roles", waits["role"])
        data["activity"] = self._categorical("activities", waits["activity"])
        data["requested_day"] = waits["requested_day"]
        data["started_day"] = started
        data["served"] = served
        return pd.DataFrame(data, copy=False)


def _people_columns(role_names: list[str]) -> list[str]:
    base = [
        "person_id",
        "site",
        "cohort",
        *MILESTONES,
        "end_state",
        "exit_reason",
        "end_day",
        "submitted_day",
        "lead_practitioner",
        "sessions_planned",
        "sessions_held",
        "rework_count",
        "reviews_held",
        "budget_type",
        "budget_amount_gbp",
        "budget_held_days",
        "backlog_stage",
        "plan_end_day",
        "plan_end_reason",
        "plan_renewals",
        "budget_renewals",
        "budget_renewed_gbp",
    ]
    for role in role_names:
        base += [f"hours_{role}", f"cost_{role}_gbp"]
    return [*base, "staff_hours_total", "staff_cost_gbp_total"]
