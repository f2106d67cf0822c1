"""The page's sidebar: its inputs, their values in a scenario, and the what-if they make.

:func:`sidebar` lays the inputs out; :func:`initial_values` gives the value each input shows for
a scenario; :func:`read_what_if` turns the values the person left in the inputs into a
:class:`~ipcsim.present.web.whatif.WhatIf`, an input left at the scenario's value changing
nothing (so an untouched page downloads the scenario as it was).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from htmltools import Tag, TagList, tags
from shiny import ui

from ipcsim.errors import ConfigError
from ipcsim.present.web.backlog import backlog_ui
from ipcsim.present.web.batch import REPLICATIONS
from ipcsim.present.web.whatif import BOUNDS, Bound, BudgetPot, Delay, RoleChange, WhatIf
from ipcsim.scenario import Scenario
from ipcsim.scenario.distributions import LogNormal

__all__ = [
    "initial_values",
    "number",
    "plain",
    "read_what_if",
    "sidebar",
    "site_staff",
    "site_staff_rows",
    "staff_rows",
]

Z95 = 1.6448536269514722
"""Standard normal 95th percentile (a lognormal's p95 is exp(mu + Z95 sigma))."""

P30_DELAY = (1.0, 21.0)
"""Decision delay of an individual sign-off, median and 95th percentile days (P30): shown for a
delay not given as a lognormal."""

NEW_POT_GBP = 100_000.0
"""Pounds a period first shown for a scenario with no pot (assumption: a round figure near
P41-P42's site 3, 170,000 a year for 200 users; the person types their own)."""

PERIODS = {"financial_year": "a financial year", "month": "a month"}


def plain(value: float) -> float:
    """``value`` as an int when whole, so the page shows 730, not 730.0."""
    return int(value) if float(value).is_integer() else value


def number(label: str, id: str, value: float, bound: str | Bound, step: float = 1) -> Tag:
    """A numeric input bounded as :data:`ipcsim.present.web.whatif.BOUNDS` says."""
    b = BOUNDS[bound] if isinstance(bound, str) else bound
    return ui.input_numeric(id, label, plain(value), min=b.low, max=b.high, step=step)


def _delay_values(delay: Any) -> tuple[float, float]:
    """Median and 95th percentile (days) of a lognormal delay; P30's for any other."""
    if not isinstance(delay, LogNormal):
        return P30_DELAY
    mu, sigma = delay.mu_sigma
    return round(math.exp(mu), 2), round(math.exp(mu + Z95 * sigma), 2)


def initial_values(scenario: Scenario) -> dict[str, Any]:
    """The value each run, sign-off and budget-pot input shows for ``scenario``, by input id."""
    signoff = scenario.signoff
    panel = signoff.panel
    individual = _delay_values(signoff.individual.delay_days)
    steps = signoff.sequential.steps
    sequential = _delay_values(steps[0].delay_days)
    pot = scenario.budget_envelope
    return {
        "horizon": plain(scenario.run.horizon_days),
        "seed": scenario.run.seed,
        "signoff_mode": signoff.mode,
        "panel_interval": plain(panel.interval_days),
        "panel_max_plans": panel.max_plans_per_sitting or 0,
        "panel_members": panel.members_per_sitting,
        "panel_minutes": plain(panel.reviewer_minutes_per_plan),
        "individual_median": individual[0],
        "individual_p95": individual[1],
        "individual_minutes": plain(signoff.individual.reviewer_minutes_per_plan),
        "sequential_steps": len(steps),
        "sequential_median": sequential[0],
        "sequential_p95": sequential[1],
        "budget_pot_on": pot is not None,
        "budget_pot_gbp": plain(pot.amount_gbp) if pot is not None else NEW_POT_GBP,
        "budget_pot_period": pot.period if pot is not None else "financial_year",
    }


def _signoff_inputs(first: Mapping[str, Any]) -> list[Any]:
    def field(label: str, id: str, bound: str, step: float = 1) -> Tag:
        return number(label, id, first[id], bound, step)

    return [
        ui.input_select(
            "signoff_mode",
            "Mode",
            {"panel": "Panel", "individual": "Individual", "sequential": "Sequential"},
            selected=first["signoff_mode"],
        ),
        ui.panel_conditional(
            "input.signoff_mode === 'panel'",
            field("Panel sits every (days)", "panel_interval", "panel_interval_days"),
            field("Plans a sitting (0: no cap)", "panel_max_plans", "panel_max_plans"),
            tags.div(
                field("Members", "panel_members", "panel_members"),
                field("Minutes a plan each", "panel_minutes", "reviewer_minutes", 0.5),
                class_="d-flex gap-2",
            ),
        ),
        ui.panel_conditional(
            "input.signoff_mode === 'individual'",
            tags.div(
                field("Delay median (days)", "individual_median", "signoff_delay_days", 0.5),
                field("95th percentile", "individual_p95", "signoff_delay_days", 0.5),
                class_="d-flex gap-2",
            ),
            field("Reviewer minutes a plan", "individual_minutes", "reviewer_minutes", 0.5),
        ),
        ui.panel_conditional(
            "input.signoff_mode === 'sequential'",
            field("Reviewers in series", "sequential_steps", "sequential_steps"),
            tags.div(
                field("Each: delay median (days)", "sequential_median", "signoff_delay_days", 0.5),
                field("95th percentile", "sequential_p95", "signoff_delay_days", 0.5),
                class_="d-flex gap-2",
            ),
        ),
    ]


def _budget_inputs(first: Mapping[str, Any]) -> list[Any]:
    return [
        ui.input_checkbox("budget_pot_on", "Limit the personal-budget pot", first["budget_pot_on"]),
        ui.panel_conditional(
            "input.budget_pot_on",
            tags.div(
                number("Pounds", "budget_pot_gbp", first["budget_pot_gbp"], "budget_pot_gbp", 1000),
                ui.input_select(
                    "budget_pot_period",
                    "each",
                    PERIODS,
                    selected=first["budget_pot_period"],
                ),
                class_="d-flex gap-2",
            ),
        ),
    ]


def sidebar(choices: Mapping[str, str], selected: str, first: Scenario) -> Any:
    """The inputs, set to the values of ``first``, the scenario shown first."""
    values = initial_values(first)
    return ui.sidebar(
        ui.input_select("scenario", "Scenario", dict(choices), selected=selected),
        ui.input_file(
            "upload", "…or upload a scenario TOML", accept=[".toml"], button_label="Upload"
        ),
        ui.output_ui("upload_error"),
        backlog_ui(),
        tags.h5("Demand"),
        ui.input_radio_buttons(
            "demand_mode",
            None,
            {
                "as_is": "As in the scenario",
                "scale": "Scale each cohort",
                "ramp": "Ramp: referrals a month from, to, over",
            },
        ),
        ui.panel_conditional(
            "input.demand_mode === 'scale'",
            number("Times the scenario's referrals", "demand_scale", 1.0, "demand_scale", 0.1),
        ),
        ui.panel_conditional(
            "input.demand_mode === 'ramp'",
            number("From (referrals a month)", "ramp_from", 10, "ramp_referrals_per_month"),
            number("To (referrals a month)", "ramp_to", 20, "ramp_referrals_per_month"),
            number("Over (months)", "ramp_months", 12, "ramp_months"),
        ),
        tags.h5("Staff"),
        ui.output_ui("staff_inputs"),
        ui.output_ui("site_staff_inputs"),
        tags.h5("Sign-off"),
        *_signoff_inputs(values),
        tags.h5("Budget pot"),
        *_budget_inputs(values),
        tags.h5("Run"),
        number("Horizon (days)", "horizon", values["horizon"], "horizon_days", 30),
        number("Seed", "seed", values["seed"], "seed"),
        number("Replications (more than 1: means with 95% CIs)", "replications", 1, REPLICATIONS),
        ui.output_ui("expected"),
        tags.div(
            ui.input_action_button("run", "Run", class_="btn-primary"),
            ui.input_action_button("cancel", "Cancel", disabled=True),
            class_="d-flex gap-2",
        ),
        ui.output_ui("status"),
        width=380,
    )


def staff_rows(roles: Sequence[tuple[str, Mapping[str, Any]]]) -> TagList:
    """Headcount (or WTE) and IPC share inputs of each role, ``staff_<i>`` and ``share_<i>``."""
    rows = []
    for i, (role, table) in enumerate(roles):
        if table.get("headcount") == "unlimited":
            rows.append(tags.p(f"{role}: unlimited", class_="small"))
            continue
        in_fte = "fte" in table
        staff = table["fte"] if in_fte else table.get("headcount", 1)
        rows.append(
            tags.div(
                number(
                    f"{role} ({'WTE' if in_fte else 'headcount'})",
                    f"staff_{i}",
                    staff,
                    "fte" if in_fte else "headcount",
                    0.1 if in_fte else 1,
                ),
                number("IPC share", f"share_{i}", table.get("ipc_share", 1.0), "ipc_share", 0.05),
                class_="d-flex gap-2",
            )
        )
    return TagList(*rows)


SiteRole = tuple[str, bool, float, float]
"""A site's role as its inputs show it: name, in WTE, staff (headcount or WTE), IPC share."""


def site_staff(scenario: Scenario) -> list[tuple[str, list[SiteRole]]]:
    """Each site of a multi-site scenario with its roles' staffing as the site has them.

    Unlimited roles are left out. Empty for a scenario without ``[sites]``.
    """
    if not scenario.sites:
        return []
    found = []
    for spec in scenario.site_configs:
        roles = [
            (
                role,
                staff.fte is not None,
                float(staff.fte if staff.fte is not None else staff.headcount),
                float(staff.ipc_share),
            )
            for role, staff in spec.workforce.items()
            if staff.headcount != "unlimited"
        ]
        found.append((spec.site.name, roles))
    return found


def site_staff_rows(sites: Sequence[tuple[str, Sequence[SiteRole]]]) -> TagList:
    """Each site's staff inputs (``site<j>_staff_<i>``, ``site<j>_share_<i>``), folded away."""
    if not sites:
        return TagList()
    blocks = []
    for j, (site, roles) in enumerate(sites):
        rows = [
            tags.div(
                number(
                    f"{role} ({'WTE' if in_fte else 'headcount'})",
                    f"site{j}_staff_{i}",
                    staff,
                    "fte" if in_fte else "headcount",
                    0.1 if in_fte else 1,
                ),
                number("IPC share", f"site{j}_share_{i}", share, "ipc_share", 0.05),
                class_="d-flex gap-2",
            )
            for i, (role, in_fte, staff, share) in enumerate(roles)
        ]
        blocks.append(tags.details(tags.summary(site), *rows, id=f"site-{j}"))
    return TagList(
        tags.p("Per site (what a site sets wins over the above):", class_="small mb-1"), *blocks
    )


def read_what_if(
    value: Callable[[str], Any],
    roles: Sequence[tuple[str, Mapping[str, Any]]],
    scenario: Scenario,
) -> WhatIf:
    """The what-if the inputs make: inputs left at the scenario's values change nothing.

    Parameters
    ----------
    value
        Input id -> the value the page holds (``None`` for an input not there or empty).
    roles
        The scenario's ``[workforce]`` tables, in order (``staff_<i>`` is role ``i``).
    scenario
        The scenario the page started from.

    Raises
    ------
    ConfigError
        One line, for a pot limited without an amount.
    """
    was = initial_values(scenario)

    def changed(id: str, before: Any = None) -> Any:
        now = value(id)
        return None if now is None or now == (was[id] if before is None else before) else now

    staff = {}
    for i, (role, table) in enumerate(roles):
        change = RoleChange(
            staff=changed(f"staff_{i}", table.get("fte", table.get("headcount", 1))),
            ipc_share=changed(f"share_{i}", table.get("ipc_share", 1.0)),
        )
        if change != RoleChange():
            staff[role] = change
    by_site: dict[str, dict[str, RoleChange]] = {}
    for j, (site, site_roles) in enumerate(site_staff(scenario)):
        for i, (role, _, now, share) in enumerate(site_roles):
            change = RoleChange(
                staff=changed(f"site{j}_staff_{i}", now),
                ipc_share=changed(f"site{j}_share_{i}", share),
            )
            if change != RoleChange():
                by_site.setdefault(site, {})[role] = change

    def delay(prefix: str) -> Delay | None:
        median, p95 = value(f"{prefix}_median"), value(f"{prefix}_p95")
        if (
            median is None
            or p95 is None
            or (median, p95)
            == (
                was[f"{prefix}_median"],
                was[f"{prefix}_p95"],
            )
        ):
            return None
        return Delay(float(median), float(p95))

    pot_on = bool(value("budget_pot_on"))
    pot = (pot_on, value("budget_pot_gbp"), value("budget_pot_period"))
    budget_pot = None
    if pot != (was["budget_pot_on"], was["budget_pot_gbp"], was["budget_pot_period"]):
        if pot_on and pot[1] is None:
            raise ConfigError("budget pot: give the pounds a period, or untick the limit")
        period: Any = pot[2] or "financial_year"
        budget_pot = BudgetPot(float(pot[1]) if pot_on else None, period)
    mode: Any = value("demand_mode") or "as_is"
    return WhatIf(
        demand_mode=mode,
        demand_scale=(value("demand_scale") or 1.0) if mode == "scale" else 1.0,
        ramp_from=value("ramp_from") or 0.0,
        ramp_to=value("ramp_to") or 0.0,
        ramp_months=int(value("ramp_months") or 1),
        staff=staff,
        site_staff=by_site,
        signoff_mode=changed("signoff_mode"),
        panel_interval_days=changed("panel_interval"),
        panel_max_plans=changed("panel_max_plans"),
        panel_members=changed("panel_members"),
        panel_minutes=changed("panel_minutes"),
        individual_delay=delay("individual"),
        individual_minutes=changed("individual_minutes"),
        sequential_steps=changed("sequential_steps"),
        sequential_delay=delay("sequential"),
        budget_pot=budget_pot,
        horizon_days=changed("horizon"),
        seed=changed("seed"),
    )
