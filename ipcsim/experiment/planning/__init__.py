"""Capacity planning: the cheapest staffing that meets service levels.

A plan spec (:mod:`~ipcsim.experiment.planning.spec`) names a base scenario, the roles whose
staffing may change (each within a range) and service levels with the confidence they must be
shown with (:mod:`ipcsim.analysis.service_levels`). :func:`prepare_plan` resolves it
(:mod:`~ipcsim.experiment.planning.problem`); :func:`run_plan` searches
(:mod:`~ipcsim.experiment.planning.search`: bottleneck-first ascent, per-role bisection,
certification under monotonicity, a final check with more replications), simulating each
configuration it asks about with sequential replications and common random numbers, and
writes the frontier, the recommendation and the recommended scenario
(:mod:`ipcsim.io.plan_folder`).
"""

from ipcsim.experiment.planning.problem import PlanProblem, RoleLevels, prepare_plan
from ipcsim.experiment.planning.run import Evaluation, PlanResult, run_plan
from ipcsim.experiment.planning.search import Assessment, SearchResult, search
from ipcsim.experiment.planning.spec import PlanSpec, load_plan_spec, plan_spec_from_dict

__all__ = [
    "Assessment",
    "Evaluation",
    "PlanProblem",
    "PlanResult",
    "PlanSpec",
    "RoleLevels",
    "SearchResult",
    "load_plan_spec",
    "plan_spec_from_dict",
    "prepare_plan",
    "run_plan",
    "search",
]
