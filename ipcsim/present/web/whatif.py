"""The page's inputs as data: bounded what-if changes applied to a scenario's TOML tables.

Pure functions, no server and no files: a :class:`WhatIf` says what the person changed on the
page; :func:`apply_what_if` writes those changes into a copy of the scenario's raw TOML tables;
:func:`scenario_toml` turns the tables into the TOML text that is both run by the page and
offered for download, so ``ipcsim run`` on the download simulates the very same scenario.

Every input is bounded here (not only by the widgets): the page must not start a run that takes
hours or fills the memory, whatever a client sends.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import tomli_w

from ipcsim.errors import ConfigError
from ipcsim.periods import add_months
from ipcsim.scenario import Scenario
from ipcsim.scenario.load import scenario_from_dict
from ipcsim.units import DAYS_PER_MONTH

__all__ = [
    "BOUNDS",
    "Bound",
    "BudgetPot",
    "DemandMode",
    "Delay",
    "RoleChange",
    "WhatIf",
    "apply_what_if",
    "expected_referrals",
    "scenario_toml",
]

DemandMode = Literal["as_is", "scale", "ramp"]
SignoffMode = Literal["panel", "individual", "sequential"]


@dataclass(frozen=True)
class Bound:
    """The range of one page input, with its unit in words."""

    low: float
    high: float
    unit: str

    def check(self, name: str, value: float) -> float:
        """``value`` if finite and inside the bound, else a one-line :class:`ConfigError`."""
        if not math.isfinite(value) or not self.low <= value <= self.high:
            raise ConfigError(
                f"{name}: must be {self.low:,g} to {self.high:,g} {self.unit}, got {value:,g}"
            )
        return value


BOUNDS: Mapping[str, Bound] = {
    "demand_scale": Bound(0.1, 10.0, "times the scenario's referrals"),
    "ramp_referrals_per_month": Bound(0.0, 2_000.0, "referrals a month"),
    "ramp_months": Bound(1, 60, "months"),
    "headcount": Bound(0, 500, "people"),
    "fte": Bound(0.01, 500.0, "whole-time equivalents"),
    "ipc_share": Bound(0.01, 1.0, "of contracted time"),
    "panel_interval_days": Bound(1, 91, "days"),
    "panel_max_plans": Bound(0, 10_000, "plans a sitting (0: no cap)"),
    "panel_members": Bound(1, 50, "members"),
    "reviewer_minutes": Bound(0, 240, "minutes a plan"),
    "signoff_delay_days": Bound(0.1, 365, "days"),
    "sequential_steps": Bound(1, 5, "reviewers"),
    "budget_pot_gbp": Bound(0, 1e9, "pounds a period"),
    "horizon_days": Bound(30, 1826, "days"),
    "seed": Bound(0, 2**32 - 1, ""),
}
"""Range of every page input (the widgets use the same numbers)."""

MAX_EXPECTED_REFERRALS = 100_000
"""Most referrals a page run may expect over its horizon (about a minute of simulation)."""


BudgetPeriod = Literal["month", "financial_year"]


@dataclass(frozen=True)
class Delay:
    """A sign-off decision delay as people say it: median and 95th percentile, days.

    Written as ``{ dist = "lognormal", median = ..., p95 = ... }`` (P30's form).
    """

    median_days: float
    p95_days: float


@dataclass(frozen=True)
class BudgetPot:
    """The personal-budget pot: pounds per period (``amount_gbp`` ``None``: unlimited)."""

    amount_gbp: float | None
    period: BudgetPeriod = "financial_year"


@dataclass(frozen=True)
class RoleChange:
    """New staffing of one role: headcount (or WTE, for a role given in WTE) and IPC share."""

    staff: float | None = None
    ipc_share: float | None = None


@dataclass(frozen=True)
class WhatIf:
    """What the person changed on the page; ``None`` keeps the scenario's own value.

    Attributes
    ----------
    demand_mode
        ``as_is``, ``scale`` (each cohort's referral rates times :attr:`demand_scale`) or
        ``ramp`` (all cohorts together from :attr:`ramp_from` to :attr:`ramp_to` referrals a
        month over :attr:`ramp_months` months, in monthly steps, shared between cohorts as
        their rates at the start are).
    staff
        Role name -> its new staffing (the template ``[workforce]``: every site's, unless the
        site sets its own).
    site_staff
        Site name -> role name -> that site's new staffing (into ``[sites.<name>.workforce]``,
        which wins over the template for that site).
    signoff_mode, panel_interval_days
        Sign-off arrangement and the panel's days between sittings (a cadence given in words,
        ``cadence``, gives way to it).
    panel_max_plans, panel_members, panel_minutes
        The panel's plans a sitting (0: no cap), members at a sitting and minutes each member
        spends a plan.
    individual_delay, individual_minutes
        An individual sign-off's decision delay and the reviewer's minutes a plan.
    sequential_steps, sequential_delay
        Reviewers in series (the scenario's, cut or extended with copies of the last) and the
        decision delay of each.
    budget_pot
        The personal-budget pot of the scenario's ``[budget_envelope]``.
    initial_state
        The backlog file beside the scenario (``backlog.csv``), when one was uploaded.
    horizon_days, seed
        The run's length (days) and seed.
    """

    demand_mode: DemandMode = "as_is"
    demand_scale: float = 1.0
    ramp_from: float = 10.0
    ramp_to: float = 20.0
    ramp_months: int = 12
    staff: Mapping[str, RoleChange] = field(default_factory=dict)
    site_staff: Mapping[str, Mapping[str, RoleChange]] = field(default_factory=dict)
    signoff_mode: SignoffMode | None = None
    panel_interval_days: float | None = None
    panel_max_plans: int | None = None
    panel_members: int | None = None
    panel_minutes: float | None = None
    individual_delay: Delay | None = None
    individual_minutes: float | None = None
    sequential_steps: int | None = None
    sequential_delay: Delay | None = None
    budget_pot: BudgetPot | None = None
    initial_state: str | None = None
    horizon_days: float | None = None
    seed: int | None = None


def _cohort_tables(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every cohort table of the scenario: the top-level ones and each site's own."""
    yield from (data.get("cohorts") or {}).values()
    for site in (data.get("sites") or {}).values():
        if isinstance(site, dict):
            yield from (site.get("cohorts") or {}).values()


def _rate_at_start(cohort: Mapping[str, Any]) -> float:
    schedule = cohort.get("referral_schedule") or []
    if schedule:
        return float(schedule[0].get("referrals_per_month", 0.0))
    return float(cohort.get("referrals_per_month", 0.0))


def _rated(cohort: Mapping[str, Any]) -> bool:
    """Whether the cohort's referrals follow a rate (not a yearly review or batches)."""
    return cohort.get("identification", "practitioner") in ("practitioner", "mass_invitation")


def _scale(data: dict[str, Any], factor: float) -> None:
    for cohort in _cohort_tables(data):
        if "referrals_per_month" in cohort:
            cohort["referrals_per_month"] = round(cohort["referrals_per_month"] * factor, 6)
        for point in cohort.get("referral_schedule") or []:
            point["referrals_per_month"] = round(point["referrals_per_month"] * factor, 6)
        for batch in cohort.get("batches") or []:
            batch["people"] = round(batch["people"] * factor)


def _ramp(data: dict[str, Any], start: dt.date, what: WhatIf) -> None:
    cohorts = [c for c in _cohort_tables(data) if _rated(c)]
    if not cohorts:
        raise ConfigError("demand ramp: the scenario has no cohort referred at a rate")
    rates = [_rate_at_start(c) for c in cohorts]
    total = sum(rates)
    shares = [r / total for r in rates] if total > 0 else [1.0 / len(cohorts)] * len(cohorts)
    months = what.ramp_months
    for cohort, share in zip(cohorts, shares, strict=True):
        cohort["referral_schedule"] = [
            {
                "date": add_months(start, m),
                "referrals_per_month": round(
                    share * (what.ramp_from + (what.ramp_to - what.ramp_from) * m / months), 6
                ),
            }
            for m in range(months + 1)
        ]


def expected_referrals(scenario: Scenario) -> float:
    """An upper bound of the referrals a run may expect over its horizon.

    Parameters
    ----------
    scenario
        A validated scenario.

    Returns
    -------
    float
        For each cohort of each site, its highest referral rate times the horizon in months,
        plus the people of its batches and, for yearly-review identification, the eligible
        population times the engagement factor per year.
    """
    months = scenario.run.horizon_days / DAYS_PER_MONTH
    total = 0.0
    for spec in scenario.site_configs:
        for cohort in spec.cohorts.values():
            peak = max(
                [cohort.referrals_per_month]
                + [p.referrals_per_month for p in cohort.referral_schedule]
            )
            total += peak * months + sum(b.people for b in cohort.batches)
            if cohort.identification == "annual_review" and cohort.eligible_population:
                total += cohort.eligible_population * cohort.engagement_factor * months / 12
    return total


def apply_what_if(raw: Mapping[str, Any], what: WhatIf, *, source: str) -> dict[str, Any]:
    """The scenario's TOML tables with the page's changes, validated and bounded.

    Parameters
    ----------
    raw
        The scenario file's tables as read by :mod:`tomllib` (left unchanged).
    what
        The page's inputs.
    source
        The scenario's name for error messages.

    Returns
    -------
    dict
        New tables; :func:`~ipcsim.scenario.load.scenario_from_dict` accepts them.

    Raises
    ------
    ConfigError
        One line naming the input or key, when an input is out of its bound, the changed
        scenario does not validate, or it would expect more than
        :data:`MAX_EXPECTED_REFERRALS` referrals.
    """
    data = copy.deepcopy(dict(raw))
    base = scenario_from_dict(data, source=source)
    run = data.setdefault("run", {})
    if what.horizon_days is not None:
        run["horizon_days"] = BOUNDS["horizon_days"].check("horizon", what.horizon_days)
    if what.seed is not None:
        run["seed"] = int(BOUNDS["seed"].check("seed", what.seed))
    if what.demand_mode == "scale" and what.demand_scale != 1.0:
        _scale(data, BOUNDS["demand_scale"].check("demand scale", what.demand_scale))
    elif what.demand_mode == "ramp":
        for name, value in (("ramp from", what.ramp_from), ("ramp to", what.ramp_to)):
            BOUNDS["ramp_referrals_per_month"].check(name, value)
        BOUNDS["ramp_months"].check("ramp months", what.ramp_months)
        _ramp(data, base.run.start_date, what)
    workforce = data.setdefault("workforce", {})
    for role, change in what.staff.items():
        if role not in workforce:
            raise ConfigError(f"staff: no role '{role}' in the scenario's [workforce]")
        table = workforce[role]
        if change.staff is not None:
            if "fte" in table:
                table["fte"] = BOUNDS["fte"].check(f"{role} WTE", change.staff)
            elif table.get("headcount") != "unlimited":
                table["headcount"] = int(BOUNDS["headcount"].check(f"{role}", change.staff))
        if change.ipc_share is not None:
            share = BOUNDS["ipc_share"].check(f"{role} IPC share", change.ipc_share)
            table["ipc_share"] = share
    if what.site_staff:
        _site_staff(data, base, what.site_staff)
    _signoff(data.setdefault("signoff", {}), what)
    if what.budget_pot is not None:
        _budget_pot(data, what.budget_pot)
    if what.initial_state is not None:
        data["initial_state"] = what.initial_state
    scenario = scenario_from_dict(data, source=f"{source} with the page's changes")
    expected = expected_referrals(scenario)
    if expected > MAX_EXPECTED_REFERRALS:
        raise ConfigError(
            f"demand: up to {expected:,.0f} referrals over the horizon; the page runs at most "
            f"{MAX_EXPECTED_REFERRALS:,} (use `ipcsim run` for larger runs)"
        )
    return data


def _site_staff(
    data: dict[str, Any], base: Scenario, changes: Mapping[str, Mapping[str, RoleChange]]
) -> None:
    """Each site's staffing changes, into its own ``[sites.<name>.workforce]`` tables.

    A site's role in WTE (``fte``, from the template or the site) takes WTE; any other takes
    a headcount; an unlimited role takes no staff change.
    """
    resolved = {spec.site.name: spec for spec in base.site_configs}
    sites = data.get("sites") or {}
    for site, roles in changes.items():
        if site not in sites or site not in resolved:
            raise ConfigError(f"staff: no site '{site}' in the scenario's [sites]")
        for role, change in roles.items():
            effective = resolved[site].workforce.get(role)
            if effective is None:
                raise ConfigError(f"staff: no role '{role}' at site '{site}'")
            table = sites[site].setdefault("workforce", {}).setdefault(role, {})
            if change.staff is not None:
                if effective.fte is not None:
                    table["fte"] = BOUNDS["fte"].check(f"{site} {role} WTE", change.staff)
                elif effective.headcount != "unlimited":
                    count = BOUNDS["headcount"].check(f"{site} {role}", change.staff)
                    table["headcount"] = int(count)
            if change.ipc_share is not None:
                share = BOUNDS["ipc_share"].check(f"{site} {role} IPC share", change.ipc_share)
                table["ipc_share"] = share


def _delay(name: str, delay: Delay) -> dict[str, Any]:
    bound = BOUNDS["signoff_delay_days"]
    median = bound.check(f"{name} median", delay.median_days)
    p95 = bound.check(f"{name} 95th percentile", delay.p95_days)
    if p95 <= median:
        raise ConfigError(
            f"{name}: the 95th percentile must exceed the median, got median {median:g} "
            f"and 95th percentile {p95:g} days"
        )
    return {"dist": "lognormal", "median": median, "p95": p95}


def _signoff(signoff: dict[str, Any], what: WhatIf) -> None:
    """The page's sign-off changes, into the ``[signoff]`` table."""
    if what.signoff_mode is not None:
        signoff["mode"] = what.signoff_mode
    panel = signoff.get("panel", {})
    if what.panel_interval_days is not None:
        days = BOUNDS["panel_interval_days"].check("panel interval", what.panel_interval_days)
        panel["interval_days"] = days
        panel.pop("cadence", None)  # the days typed replace a cadence given in words
        panel.pop("monthly_on", None)
    if what.panel_max_plans is not None:
        cap = int(BOUNDS["panel_max_plans"].check("panel plans a sitting", what.panel_max_plans))
        if cap:
            panel["max_plans_per_sitting"] = cap
        else:
            panel.pop("max_plans_per_sitting", None)
    if what.panel_members is not None:
        members = BOUNDS["panel_members"].check("panel members", what.panel_members)
        panel["members_per_sitting"] = int(members)
    if what.panel_minutes is not None:
        minutes = BOUNDS["reviewer_minutes"].check("panel minutes a plan", what.panel_minutes)
        panel["reviewer_minutes_per_plan"] = minutes
    if panel:
        signoff["panel"] = panel
    if what.individual_delay is not None or what.individual_minutes is not None:
        individual = signoff.setdefault("individual", {})
        if what.individual_delay is not None:
            individual["delay_days"] = _delay("individual delay", what.individual_delay)
        if what.individual_minutes is not None:
            minutes = BOUNDS["reviewer_minutes"].check(
                "reviewer minutes a plan", what.individual_minutes
            )
            individual["reviewer_minutes_per_plan"] = minutes
    if what.sequential_steps is not None or what.sequential_delay is not None:
        sequential = signoff.setdefault("sequential", {})
        steps = [dict(step) for step in sequential.get("steps") or [{}, {}]]
        if what.sequential_steps is not None:
            n = int(BOUNDS["sequential_steps"].check("reviewers in series", what.sequential_steps))
            steps = steps[:n] + [dict(steps[-1]) for _ in range(n - len(steps))]
        if what.sequential_delay is not None:
            delay = _delay("sequential delay", what.sequential_delay)
            for step in steps:
                step["delay_days"] = dict(delay)
        sequential["steps"] = steps


def _budget_pot(data: dict[str, Any], pot: BudgetPot) -> None:
    """The page's budget pot, into ``[budget_envelope]`` (removed for an unlimited pot)."""
    if pot.amount_gbp is None:
        data.pop("budget_envelope", None)
        return
    amount = BOUNDS["budget_pot_gbp"].check("budget pot", pot.amount_gbp)
    if pot.period not in ("month", "financial_year"):
        raise ConfigError(f"budget pot period: month or financial_year, got {pot.period!r}")
    envelope = data.setdefault("budget_envelope", {})
    envelope["amount_gbp"] = amount
    envelope["period"] = pot.period


def scenario_toml(data: Mapping[str, Any], *, comment: str = "") -> str:
    """The scenario's tables as TOML text, led by ``comment`` lines.

    Parameters
    ----------
    data
        Tables from :func:`apply_what_if`.
    comment
        Text put before the tables as ``#`` lines (where the scenario came from).

    Returns
    -------
    str
        TOML that :func:`tomllib.loads` reads back to ``data`` (dates and floats exactly).
    """
    lead = "".join(f"# {line}\n" if line else "#\n" for line in comment.splitlines())
    return lead + tomli_w.dumps(dict(data))
