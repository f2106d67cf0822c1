"""Describe: the validated scenario, one frozen pydantic model holding every number a run uses.

Every field says its unit; every default names its evidence ID from
``../shared/evidence/ipc-evidence.md`` (P01-P80) or says "assumption". Unknown keys are
errors, so a typo never falls back silently to a default. This subpackage imports pydantic
and the shared vocabulary (:mod:`ipcsim.units`, :mod:`ipcsim.periods`, :mod:`ipcsim.pathway`)
only: the engine and the analysis read it, it reads neither.

One module per table: ``run`` (``[run]``, ``[site]``), ``cohorts``, ``workforce``,
``pathway`` (activities, circulation, learning), ``signoff`` (one block per mode),
``budgets``, ``economics``; ``scenario`` puts them together (and resolves several sites);
``load`` reads TOML with dotted overrides; ``backlog`` reads a warm-start CSV.
"""

from ipcsim.scenario._base import AnyDistribution, Effort, NonNegative, Probability
from ipcsim.scenario.budgets import (
    BudgetEnvelope,
    BudgetRelease,
    BudgetReleaseByType,
    BudgetSplit,
    BudgetType,
)
from ipcsim.scenario.cohorts import Batch, Cohort, Delivery, GrowthPoint, RatePoint
from ipcsim.scenario.economics import Economics, StandardCare
from ipcsim.scenario.load import load_scenario, scenario_from_dict
from ipcsim.scenario.pathway import Activity, Circulation, Learning, Pathway
from ipcsim.scenario.run import RunConfig, Site
from ipcsim.scenario.scenario import SITE_KEYS, Scenario, SiteConfig, Target
from ipcsim.scenario.signoff import (
    IndividualSignoff,
    Panel,
    SequentialSignoff,
    SharedPanel,
    Signoff,
)
from ipcsim.scenario.workforce import Role, SharedPool, StaffChange

__all__ = [
    "SITE_KEYS",
    "Activity",
    "AnyDistribution",
    "Batch",
    "BudgetEnvelope",
    "BudgetRelease",
    "BudgetReleaseByType",
    "BudgetSplit",
    "BudgetType",
    "Circulation",
    "Cohort",
    "Delivery",
    "Economics",
    "Effort",
    "GrowthPoint",
    "IndividualSignoff",
    "Learning",
    "NonNegative",
    "Panel",
    "Pathway",
    "Probability",
    "RatePoint",
    "Role",
    "RunConfig",
    "Scenario",
    "SequentialSignoff",
    "SharedPanel",
    "SharedPool",
    "Signoff",
    "Site",
    "SiteConfig",
    "StaffChange",
    "StandardCare",
    "Target",
    "load_scenario",
    "scenario_from_dict",
]
