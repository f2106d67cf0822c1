"""The care pathway's vocabulary, in the order a person goes through it.

One place for the names every layer shares: the milestones of the ``people`` table, the
stages a warm-start person can wait at, the waits reported between milestones, the end
states and exit reasons, the activities with a delay and a staff effort, and the steps of the
pathway as the diagram and report show them. Plain tuples and read-only mappings: no logic.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "ACTIVITIES",
    "BACKLOG_STAGES",
    "BUDGET_TYPES",
    "END_STATES",
    "EXIT_REASONS",
    "PLAN_END_REASONS",
    "MILESTONES",
    "STEPS",
    "WAITS",
]

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

BACKLOG_STAGES = ("referred", "consented", "plan_written", "signed_off", "budget_agreed")
"""Milestones a warm-start person can have reached (``stage`` column of a backlog file), in
order: a person at ``BACKLOG_STAGES[k]`` joins the pathway at the step after it."""

WAITS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        # end-to-end spans
        "referral_to_first_conversation": ("referred_day", "first_conversation_day"),
        "referral_to_sign_off": ("referred_day", "signed_off_day"),
        "referral_to_budget_release": ("referred_day", "budget_released_day"),
        # consecutive stages
        "referral_to_consent": ("referred_day", "consented_day"),
        "consent_to_first_conversation": ("consented_day", "first_conversation_day"),
        "first_conversation_to_plan_written": ("first_conversation_day", "plan_written_day"),
        "plan_written_to_sign_off": ("plan_written_day", "signed_off_day"),
        "sign_off_to_budget_agreed": ("signed_off_day", "budget_agreed_day"),
        "budget_agreed_to_budget_released": ("budget_agreed_day", "budget_released_day"),
    }
)
"""Waits reported in days: name -> (from milestone column, to milestone column), in order."""

END_STATES = ("declined", "withdrawn", "plan_in_place", "budget_in_place", "in_progress")
"""Every referral ends a run in exactly one of these states."""

EXIT_REASONS = (
    "offer_declined",
    "plan_declined",
    "withdrew_before_first_session",
    "withdrew_while_waiting",
    "disengaged_during_planning",
    "no_budget",
    "disengaged_before_budget",
    "payment_not_operational",
    "budget_released",
    "in_pathway",
)
"""Finer reason behind the end state (``exit_reason`` column)."""

PLAN_END_REASONS = ("plan_ended", "left_caseload")
"""Why a plan in place ended (``plan_end_reason`` column; empty while it is in place): its
life ran out and it was not renewed, or the person left the caseload (death, moving away, no
longer eligible)."""

ACTIVITIES = ("referral", "invitation", "plan_writing", "budget_setting", "budget_renewal")
"""Pathway activities with a delay and a staff effort table (``pathway.<activity>``)."""

STEPS = (
    "referral",
    "invitation",
    "allocation",
    "conversations",
    "plan_writing",
    "signoff",
    "budget_setting",
    "budget_release",
    "reviews",
)
"""Pathway steps in the order a person goes through them (the diagram's boxes)."""

BUDGET_TYPES = ("direct_payment", "notional", "third_party")
"""How a personal budget is held (P39): a direct payment, notional or via a third party."""
