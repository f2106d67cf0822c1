"""Queueing cases for the planner's tests and benchmark, in ipcsim's own config.

An M/M/c stage (or two in tandem): Poisson referrals, one exponential session with a planner,
then (two stages) an exponential budget setting by a finance officer; every other step is
switched off and staff work around the clock, so each person in a role is a plain server
(as in ``tests/validation``). Service times in hours, waits measured in weeks.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ipcsim.io.toml_text import toml_text
from ipcsim.units import DAYS_PER_MONTH, HOURS_PER_DAY

ALWAYS_ON = {"contracted_hours_per_week": 168.0, "ipc_share": 1.0, "leave_share": 0.0}
ZERO = {"dist": "fixed", "value": 0}
BUDGET_TYPES = ("direct_payment", "notional", "third_party")


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability an arrival waits in an M/M/c queue (Erlang's C formula); 1 when unstable."""
    if offered_load >= servers:
        return 1.0
    term = 1.0
    total = 1.0
    for k in range(1, servers):
        term *= offered_load / k
        total += term
    last = term * offered_load / servers * servers / (servers - offered_load)
    return last / (total + last)


def wait_exceeds(servers: int, arrivals_per_hour: float, hours: float) -> float:
    """P(wait > hours) in an M/M/c queue with service rate 1 per hour."""
    if arrivals_per_hour >= servers:
        return 1.0
    return erlang_c(servers, arrivals_per_hour) * math.exp(-(servers - arrivals_per_hour) * hours)


def queue_scenario(
    *,
    arrivals_per_hour: float,
    horizon_days: float,
    seed: int,
    stages: int = 1,
    finance_hours: float = 1.0,
    weeks: float = 0.01,
) -> dict[str, Any]:
    """The scenario's TOML data: one or two exponential stages (planner, finance officer)."""

    def exponential(mean: float) -> dict[str, Any]:
        return {"dist": "exponential", "mean": mean}

    budget_setting = {"finance_officer": exponential(finance_hours)} if stages > 1 else {}
    arrivals_per_day = arrivals_per_hour * HOURS_PER_DAY
    within: dict[str, list[float]] = {"referral_to_first_conversation": [weeks]}
    if stages > 1:
        within["sign_off_to_budget_agreed"] = [weeks]
    return {
        "name": "queue",
        "run": {"calendar": "continuous", "horizon_days": horizon_days, "seed": seed},
        "cohorts": {
            "arrivals": {
                "referrals_per_month": arrivals_per_day * DAYS_PER_MONTH,
                "offer_acceptance": 1.0,
                "sessions": {"dist": "fixed", "value": 1},
                "first_session_minutes": exponential(60.0),
                "withdrawal_probability_before_first_session": 0.0,
                "withdrawal_hazard_per_month_waiting": 0.0,
                "disengagement_hazard_per_month": 0.0,
                "budget_probability": 1.0 if stages > 1 else 0.0,
                "budget_type_split": {"direct_payment": 1.0, "notional": 0.0, "third_party": 0.0},
                "plan_renewal_probability": 0.0,
            }
        },
        "workforce": {
            "planner": {"headcount": 1, "hourly_cost_gbp": 20.0, **ALWAYS_ON},
            "finance_officer": {"headcount": 1, "hourly_cost_gbp": 15.0, **ALWAYS_ON},
            "admin": {"headcount": 1, **ALWAYS_ON},
            "panel_member": {"headcount": "unlimited", **ALWAYS_ON},
        },
        "pathway": {
            "invitation": {"delay_days": ZERO},
            "incomplete_referral_probability": 0.0,
            "implementation_follow_up_probability": 0.0,
            "service_unavailable_probability": 0.0,
            "consent_to_first_appointment_days": ZERO,
            "plan_writing": {"effort_hours": {}},
            "circulation": {"contacts": ZERO},
            "budget_setting": {"effort_hours": budget_setting, "delay_days": ZERO},
            "reviews": "none",
        },
        "signoff": {
            "mode": "individual",
            "rework_probability": 0.0,
            "plan_decline_probability": 0.0,
            "budget_declined_share": 0.0,
            "individual": {"delay_days": ZERO, "reviewer_minutes_per_plan": 0.0},
        },
        "budget_release": {
            kind: {"effort_hours": {}, "processing_delay_days": ZERO, "release_probability": 1.0}
            for kind in BUDGET_TYPES
        },
        "reporting": {"within_weeks": within},
    }


def write_case(folder: Path, scenario: dict[str, Any], plan: str) -> Path:
    """Write ``queue.toml`` and ``plan.toml`` (the plan's text) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "queue.toml").write_text(toml_text(scenario), encoding="utf-8")
    path = folder / "plan.toml"
    path.write_text(plan, encoding="utf-8")
    return path
