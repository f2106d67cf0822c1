"""Tidy records the model writes: people, staff work and waits for staff.

Records are buffered in plain Python objects and lists while the simulation runs and turned
into one pandas DataFrame each at the end. Statistics come later, in :mod:`ipcsim.metrics`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

NAN = math.nan

MILESTONES = (
    "referred_day",
    "consented_day",
    "first_conversation_day",
    "plan_written_day",
    "signed_off_day",
    "budget_agreed_day",
    "budget_released_day",
)
"""Milestone columns of ``people``, float days since the start date, NaN when not reached."""

END_STATES = ("declined", "withdrawn", "plan_in_place", "budget_in_place", "in_progress")
"""Every referral ends a run in exactly one of these states."""

EXIT_REASONS = (
    "offer_declined",
    "plan_declined",
    "withdrew_before_first_session",
    "withdrew_while_waiting",
    "no_budget",
    "budget_declined",
    "payment_not_operational",
    "budget_released",
    "in_pathway",
)
"""Finer reason behind the end state (``exit_reason`` column)."""


@dataclass(slots=True)
class PersonRecord:
    """One referred person's journey, filled in as the simulation runs."""

    person_id: int
    site: str
    cohort: str
    referred_day: float
    consented_day: float = NAN
    first_conversation_day: float = NAN
    plan_written_day: float = NAN
    signed_off_day: float = NAN
    budget_agreed_day: float = NAN
    budget_released_day: float = NAN
    end_state: str = "in_progress"
    exit_reason: str = "in_pathway"
    end_day: float = NAN
    lead_practitioner: str = ""
    sessions_planned: int = 0
    sessions_held: int = 0
    rework_count: int = 0
    reviews_held: int = 0
    budget_type: str = ""
    budget_amount_gbp: float = NAN
    budget_held_days: float = NAN
    backlog_stage: str = ""
    hours: dict[str, float] = field(default_factory=dict)

    def end(self, state: str, reason: str, day: float) -> None:
        """Close the journey in ``state`` at ``day``."""
        self.end_state = state
        self.exit_reason = reason
        self.end_day = day


@dataclass(slots=True)
class EventLog:
    """Everything the model records during one run."""

    people: list[PersonRecord] = field(default_factory=list)
    # (person_id, site, role, member, activity, start_day, finish_day, hours)
    work: list[tuple[int, str, str, str, str, float, float, float]] = field(default_factory=list)
    # [person_id, site, role, activity, requested_day, started_day, served]; started_day NaN
    # until work starts, or the withdrawal day (served False) when the person gives up.
    # Work and milestones are recorded when their time comes, so none lie past the horizon.
    waits: list[list[object]] = field(default_factory=list)

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
        self.work.append(
            (person.person_id, person.site, role, member, activity, start_day, finish_day, hours)
        )
        person.hours[role] = person.hours.get(role, 0.0) + hours

    def open_wait(
        self, person: PersonRecord, *, role: str, activity: str, day: float
    ) -> list[object]:
        """Start a wait for staff; the returned row is closed with :meth:`close_wait`."""
        row: list[object] = [person.person_id, person.site, role, activity, day, NAN, False]
        self.waits.append(row)
        return row

    @staticmethod
    def close_wait(row: list[object], day: float, *, served: bool = True) -> None:
        """End a wait at ``day``: served (work starts) or abandoned (withdrawal)."""
        row[5] = day
        row[6] = served

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
        rows = []
        for p in self.people:
            row: dict[str, object] = {
                "person_id": p.person_id,
                "site": p.site,
                "cohort": p.cohort,
                "referred_day": p.referred_day,
                "consented_day": p.consented_day,
                "first_conversation_day": p.first_conversation_day,
                "plan_written_day": p.plan_written_day,
                "signed_off_day": p.signed_off_day,
                "budget_agreed_day": p.budget_agreed_day,
                "budget_released_day": p.budget_released_day,
                "end_state": p.end_state,
                "exit_reason": p.exit_reason,
                "end_day": p.end_day,
                "lead_practitioner": p.lead_practitioner,
                "sessions_planned": p.sessions_planned,
                "sessions_held": p.sessions_held,
                "rework_count": p.rework_count,
                "reviews_held": p.reviews_held,
                "budget_type": p.budget_type,
                "budget_amount_gbp": p.budget_amount_gbp,
                "budget_held_days": p.budget_held_days,
                "backlog_stage": p.backlog_stage,
            }
            total_hours = 0.0
            total_cost = 0.0
            costs = hourly_cost[p.site]
            for role in role_names:
                hours = p.hours.get(role, 0.0)
                cost = hours * costs.get(role, 0.0)
                row[f"hours_{role}"] = hours
                row[f"cost_{role}_gbp"] = cost
                total_hours += hours
                total_cost += cost
            row["staff_hours_total"] = total_hours
            row["staff_cost_gbp_total"] = total_cost
            rows.append(row)
        frame = pd.DataFrame(rows, columns=_people_columns(role_names))
        return frame.astype(_people_dtypes(role_names))

    def work_frame(self) -> pd.DataFrame:
        """One row per task of staff time."""
        columns = [
            "person_id", "site", "role", "member", "activity", "start_day", "finish_day", "hours",
        ]  # fmt: skip
        frame = pd.DataFrame(self.work, columns=columns)
        return frame.astype(
            {
                "person_id": "int64",
                "site": "string",
                "role": "string",
                "member": "string",
                "activity": "string",
                "start_day": "float64",
                "finish_day": "float64",
                "hours": "float64",
            }
        )

    def waits_frame(self) -> pd.DataFrame:
        """One row per wait for staff: requested, started (NaN if still waiting), served."""
        columns = [
            "person_id", "site", "role", "activity", "requested_day", "started_day", "served",
        ]  # fmt: skip
        frame = pd.DataFrame(self.waits, columns=columns)
        return frame.astype(
            {
                "person_id": "int64",
                "site": "string",
                "role": "string",
                "activity": "string",
                "requested_day": "float64",
                "started_day": "float64",
                "served": "bool",
            }
        )


def _people_columns(role_names: list[str]) -> list[str]:
    base = [
        "person_id",
        "site",
        "cohort",
        *MILESTONES,
        "end_state",
        "exit_reason",
        "end_day",
        "lead_practitioner",
        "sessions_planned",
        "sessions_held",
        "rework_count",
        "reviews_held",
        "budget_type",
        "budget_amount_gbp",
        "budget_held_days",
        "backlog_stage",
    ]
    for role in role_names:
        base += [f"hours_{role}", f"cost_{role}_gbp"]
    return [*base, "staff_hours_total", "staff_cost_gbp_total"]


def _people_dtypes(role_names: list[str]) -> dict[str, str]:
    dtypes = {
        "person_id": "int64",
        "site": "string",
        "cohort": "string",
        "end_state": "string",
        "exit_reason": "string",
        "end_day": "float64",
        "lead_practitioner": "string",
        "sessions_planned": "int64",
        "sessions_held": "int64",
        "rework_count": "int64",
        "reviews_held": "int64",
        "budget_type": "string",
        "budget_amount_gbp": "float64",
        "budget_held_days": "float64",
        "backlog_stage": "string",
        "staff_hours_total": "float64",
        "staff_cost_gbp_total": "float64",
    }
    dtypes.update(dict.fromkeys(MILESTONES, "float64"))
    for role in role_names:
        dtypes[f"hours_{role}"] = "float64"
        dtypes[f"cost_{role}_gbp"] = "float64"
    return dtypes
