"""The scenario: one site's tables, targets, and several sites with shared teams."""

from __future__ import annotations

from typing import Any

from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from ipcsim.pathway import ACTIVITIES, BUDGET_TYPES
from ipcsim.periods import run_years
from ipcsim.scenario._base import _Model
from ipcsim.scenario._messages import problem_lines
from ipcsim.scenario.bounds import MAX_PLANS, Date
from ipcsim.scenario.budgets import BudgetEnvelope, BudgetReleaseByType
from ipcsim.scenario.cohorts import Cohort, Delivery
from ipcsim.scenario.economics import Economics
from ipcsim.scenario.pathway import Activity, Learning, Pathway
from ipcsim.scenario.reporting import Reporting
from ipcsim.scenario.run import RunConfig, Site
from ipcsim.scenario.signoff import SharedPanel, Signoff
from ipcsim.scenario.workforce import Role, SharedPool

__all__ = [
    "SITE_KEYS",
    "Scenario",
    "SiteConfig",
    "Target",
]


class SiteConfig(_Model):
    """One site's cohorts, staff, pathway, sign-off and finance (validated together)."""

    site: Site = Field(default_factory=Site)
    cohorts: dict[str, Cohort] = Field(
        default_factory=dict, description="IPC user groups by name (the four IPC groups, §3.1)"
    )
    workforce: dict[str, Role] = Field(default_factory=dict, description="staff roles by name")
    delivery: Delivery = Field(
        default_factory=Delivery,
        description="how the site's referrals grow or stall after its design phase (P07)",
    )
    pathway: Pathway = Field(default_factory=Pathway)
    signoff: Signoff = Field(default_factory=Signoff)
    budget_release: BudgetReleaseByType = Field(default_factory=BudgetReleaseByType)
    budget_envelope: BudgetEnvelope | None = Field(
        default=None, description="personal-budget pot per period; unlimited if unset (§7 #7)"
    )
    learning: Learning = Field(default_factory=Learning)

    def check(self, *, window_hours_per_week: float) -> None:
        """Cross-field checks: roles exist, the lead role has staff, hours fit the week.

        Raises
        ------
        ValueError
            Naming the key and the value.
        """
        if not self.cohorts:
            raise ValueError("cohorts: at least one cohort is needed")
        if not self.workforce:
            raise ValueError("workforce: at least one role is needed")

        missing: dict[str, str] = {}  # role -> the first key that needs it

        def need(role: str, where: str) -> None:
            if role not in self.workforce:
                missing.setdefault(role, where)

        need(self.pathway.lead_role, "pathway.lead_role")
        for step in ACTIVITIES:
            activity: Activity = getattr(self.pathway, step)
            for role in activity.effort_hours:
                need(role, f"pathway.{step}.effort_hours")
        for budget_type in BUDGET_TYPES:
            for role in self.budget_release.for_type(budget_type).effort_hours:
                need(role, f"budget_release.{budget_type}.effort_hours")
        for role in self.signoff.reviewer_roles():
            need(role, f"signoff.{self.signoff.mode}.reviewer_role")
        known = ", ".join(sorted(self.workforce))
        if len(missing) == 1:
            ((role, where),) = missing.items()
            raise ValueError(f"{where}: role '{role}' is not in [workforce] (has: {known})")
        if missing:
            # Every missing role at once, so a file is fixed in one round, not one per role.
            listed = ", ".join(f"'{role}' ({where})" for role, where in missing.items())
            raise ValueError(
                f"workforce: {len(missing)} roles the pathway needs are missing: {listed} "
                f"(has: {known})"
            )
        lead = self.pathway.lead_role
        lead_role = self.workforce[lead]
        if not lead_role.unlimited and not lead_role.member_fte() and not lead_role.changes:
            raise ValueError(f"workforce.{lead}: the lead role needs at least one person")
        for name, role_cfg in self.workforce.items():
            shares = [role_cfg.ipc_share] + [c.ipc_share for c in role_cfg.changes if c.ipc_share]
            weekly = role_cfg.contracted_hours_per_week * max(shares)
            if weekly > window_hours_per_week + 1e-9:
                raise ValueError(
                    f"workforce.{name}: {weekly:g} IPC hours a week do not fit in the "
                    f"{window_hours_per_week:g}-hour working week of [run]"
                )

    @property
    def role_names(self) -> list[str]:
        """Role names in a stable (sorted) order."""
        return sorted(self.workforce)


class Target(_Model):
    """A point on a target trajectory: plans or budgets a year by a date."""

    date: Date = Field(
        description="date by which the target should be met, 1990-01-01 to 2200-12-31"
    )
    plans_per_year: float | None = Field(
        default=None,
        ge=0,
        le=MAX_PLANS,
        description="signed-off plans in the 12 months to the date, 0 to 10,000,000",
    )
    budgets_per_year: float | None = Field(
        default=None,
        ge=0,
        le=MAX_PLANS,
        description="budgets released in the 12 months to the date, 0 to 10,000,000",
    )
    site: str | None = Field(default=None, description="a site, or all sites together if unset")


SITE_KEYS = tuple(SiteConfig.model_fields)


class Scenario(SiteConfig):
    """Everything one run needs.

    The site tables at the top level (``site``, ``cohorts``, ``workforce``, ``pathway``,
    ``signoff``, ``budget_release``, ``budget_envelope``, ``learning``) describe a single
    site; with ``[sites.<name>]`` tables they are the template every site starts from, each
    site table overriding what it sets.
    """

    name: str = Field(default="scenario", description="scenario name used in outputs")
    description: str = Field(default="", description="what the scenario represents")
    question: str = Field(
        default="",
        max_length=2_000,
        description="the question the run answers, shown first in the report (at most 2,000 "
        "characters); the description if unset",
    )
    run: RunConfig = Field(default_factory=RunConfig)
    sites: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="several sites: each table overrides the top-level site tables",
    )
    profiles: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="site profiles by name: each table sets site tables as [sites.<name>] does, "
        "applied over the top-level template and under the tables of each site that names it "
        "with site.profile (P07: flat, ramping and stalled sites)",
    )
    shared_pools: dict[str, SharedPool] = Field(
        default_factory=dict, description="teams shared by several sites, by pool name"
    )
    shared_panels: dict[str, SharedPanel] = Field(
        default_factory=dict, description="panels shared by several sites, by panel name"
    )
    targets: tuple[Target, ...] = Field(
        default=(), description="target trajectory of plans and budgets a year (assumption)"
    )
    initial_state: str | None = Field(
        default=None,
        description="CSV of people already in the pathway at the start date (person_id, site, "
        "cohort, stage, waiting_since), relative to the scenario file",
    )
    economics: Economics = Field(
        default_factory=Economics,
        description="costs, standard-care comparator and break-even (P60, P65-P70)",
    )
    reporting: Reporting = Field(
        default_factory=Reporting,
        description="waiting standards and overload checks: what is reported, not what is "
        "simulated",
    )

    _resolved: list[SiteConfig] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _resolve_sites(self) -> Scenario:
        window = self.run.window_hours_per_week
        template = self.model_dump(include=set(SITE_KEYS), by_alias=True, exclude_unset=True)
        specs: list[SiteConfig] = []
        if self.profiles and not self.sites:
            raise ValueError("profiles: site profiles need [sites.<name>] tables that name them")
        if self.site.profile and not self.sites:
            raise ValueError(
                f"site.profile: {self.site.profile[:40]!r} names a profile, but profiles apply "
                "only to [sites.<name>] tables"
            )
        problems: list[str] = []
        for name, changes in self.profiles.items():
            # Every profile is checked on the template, whether or not a site uses it.
            if not isinstance(changes, dict):
                raise ValueError(f"profiles.{name}: expected a table, got {changes!r}"[:200])
            if "site" in changes:
                raise ValueError(
                    f"profiles.{name}.site: a profile cannot set the site's own table "
                    "(name, start date, design phase, profile); set them in [sites.<name>]"
                )
            merged = _deep_merge(template, changes)
            try:
                SiteConfig.model_validate(merged)
            except ValidationError as e:
                problems.append(_lines(e, merged, ("profiles", name)))
        if problems:  # the sites built on a bad profile would only repeat its problems
            raise ValueError("\n".join(problems))
        if not self.sites:
            site = SiteConfig.model_validate(template)
            specs.append(self._with_shared(site, site.site.name))
        for name, table in self.sites.items():
            if not isinstance(table, dict):
                raise ValueError(f"sites.{name}: expected a table, got {table!r}")
            merged = _deep_merge(self._profile_table(name, table, template), table)
            merged.setdefault("site", {})
            if not isinstance(merged["site"], dict):
                raise ValueError(f"sites.{name}.site: expected a table, got {merged['site']!r}")
            merged["site"] = {**merged["site"], "name": name}
            try:
                site = SiteConfig.model_validate(merged)
            except ValidationError as e:
                problems.append(_lines(e, merged, ("sites", name)))
                continue
            specs.append(self._with_shared(site, name))
        if problems:  # every profile's and site's problems at once, a line each
            raise ValueError("\n".join(problems))
        names = [spec.site.name for spec in specs]
        for spec in specs:
            prefix = f"sites.{spec.site.name}." if self.sites else ""
            try:
                spec.check(window_hours_per_week=window)
            except ValueError as e:
                raise ValueError(f"{prefix}{e}") from None
            start = spec.site.start_date or self.run.start_date
            for role_name, role in spec.workforce.items():
                for change in role.changes:
                    if change.date < start:
                        raise ValueError(
                            f"{prefix}workforce.{role_name}.changes: date {change.date} is "
                            f"before the site starts ({start})"
                        )
        for kind, shared in (
            ("shared_pools", self.shared_pools),
            ("shared_panels", self.shared_panels),
        ):
            for pool_name, pool in shared.items():
                for site_name in pool.sites:
                    if site_name not in names:
                        raise ValueError(
                            f"{kind}.{pool_name}.sites: unknown site '{site_name}' "
                            f"(sites: {', '.join(names)})"
                        )
        for panel_name, panel in self.shared_panels.items():
            for spec in specs:
                if spec.site.name in panel.sites and spec.signoff.mode != "panel":
                    raise ValueError(
                        f"shared_panels.{panel_name}: site '{spec.site.name}' signs off by "
                        f"'{spec.signoff.mode}', not by panel"
                    )
        for target in self.targets:
            if target.site is not None and target.site not in names:
                raise ValueError(f"targets: unknown site '{target.site}'")
        care = self.economics.standard_care
        for spec in specs:
            for key in ("appointment_role", "staff_contact_role"):
                role = getattr(care, key)
                if role is not None and role not in spec.workforce:
                    raise ValueError(
                        f"economics.standard_care.{key}: role '{role}' is not in the "
                        f"workforce of site '{spec.site.name}'"
                    )
        setup = self.economics.setup_cost_per_site_year_gbp
        years = len(run_years(self.run.start_date, self.run.horizon_days))
        if isinstance(setup, tuple) and len(setup) < years:
            raise ValueError(
                f"economics.setup_cost_per_site_year_gbp: gives {len(setup)} year(s) of set-up "
                f"cost but the run covers {years} ({self.run.horizon_days:g} days)"
            )
        self._resolved = specs
        return self

    def _profile_table(
        self, name: str, table: dict[str, Any], template: dict[str, Any]
    ) -> dict[str, Any]:
        """The template with the profile that site ``name`` names applied (if it names one)."""
        site = table.get("site")
        profile = site.get("profile") if isinstance(site, dict) else None
        if profile is None or profile == "":
            return template
        if not isinstance(profile, str) or profile not in self.profiles:
            known = ", ".join(sorted(self.profiles)) or "none defined"
            raise ValueError(
                f"sites.{name}.site.profile: unknown profile {str(profile)[:40]!r} "
                f"(profiles: {known})"
            )
        return _deep_merge(template, self.profiles[profile])  # checked before the sites

    def _with_shared(self, site: SiteConfig, name: str) -> SiteConfig:
        """The site with each shared pool's role put into its workforce."""
        workforce = dict(site.workforce)
        for pool in self.shared_pools.values():
            if name in pool.sites:
                workforce[pool.role] = Role.model_validate(
                    pool.model_dump(exclude={"role", "sites"})
                )
        if workforce == site.workforce:
            return site
        return site.model_copy(update={"workforce": workforce})

    @property
    def site_configs(self) -> list[SiteConfig]:
        """Every site, resolved (template merged with its table), in file order."""
        return list(self._resolved)

    @property
    def site_names(self) -> list[str]:
        """Site names in file order."""
        return [spec.site.name for spec in self._resolved]

    @property
    def role_names(self) -> list[str]:
        """Every role at any site, sorted."""
        return sorted({role for spec in self._resolved for role in spec.workforce})

    def shared_pool_for(self, site: str, role: str) -> str | None:
        """Name of the shared pool that provides ``role`` at ``site``, if any."""
        for pool_name, pool in self.shared_pools.items():
            if pool.role == role and site in pool.sites:
                return pool_name
        return None

    def shared_panel_for(self, site: str) -> str | None:
        """Name of the shared panel that signs off ``site``'s plans, if any."""
        for panel_name, panel in self.shared_panels.items():
            if site in panel.sites:
                return panel_name
        return None


def _deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with nested ``changes`` applied (tables merge, values replace)."""
    result = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict) and "dist" not in value:
            result[key] = _deep_merge(result[key], value)
        else:
            result[key] = value
    return result


def _lines(error: ValidationError, merged: dict[str, Any], prefix: tuple[str, str]) -> str:
    """A site's or profile's problems, a line each (the loader splits them again)."""
    return "\n".join(problem_lines(error, merged, prefix))
