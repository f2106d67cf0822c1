"""The search: the cheapest configuration of staff levels that meets every service level.

Pure logic over a lattice of level indices; what a configuration's verdict is comes from an
:class:`Oracle` (in ipcsim, replications of the scenario: :mod:`.run`). Nothing here runs the
model.

Assumption
----------
The response is **monotone in expectation**: more staff in any role never makes a service
level worse. Then a configuration shown infeasible makes every configuration below it
(fewer or equal staff in every role) infeasible too, and one shown feasible every
configuration above it feasible. The search uses this to leave most of the grid unsimulated.

Steps
-----
1. **Ascent, bottleneck first.** From the lowest levels, while the configuration misses a
   target, raise the role the run found busiest (highest mean utilisation among the roles
   that can still grow; ties go to the cheaper step): by one level, or, when the role is
   saturated (utilisation at least 0.98, so its demand is unknown), by doubling it.
2. **Descent, per role.** From a feasible configuration, lower each role in turn (the
   costliest step first) by bisection between the highest level known or implied infeasible
   and its level now, until no role can be lowered: a minimal feasible configuration.
3. **Certification.** Every configuration cheaper than the best so far that is not implied
   infeasible is a candidate; the costliest candidate (it implies the most others infeasible
   when it fails) is judged next; a feasible one is descended from and becomes the best. It
   ends when no candidate is left: under monotonicity, nothing cheaper meets the targets.
4. **Final check.** The answer and each configuration one level lower in a single role are
   judged again with the final, larger number of replications. An answer that fails is
   counted infeasible and the search goes on from it (ascent); a cheaper neighbour that
   passes becomes the best and the search goes on from it. It stops when the answer passes
   and none of its cheaper neighbours does.

Each configuration is judged once in the search (its verdict is remembered) and at most once
more in the final check, whose verdict then replaces the first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

__all__ = ["Assessment", "Config", "Oracle", "SearchResult", "search"]

Config = tuple[int, ...]
"""A configuration: the index of each role's level, in the roles' order."""

SATURATED = 0.98
"""Utilisation from which a role counts as saturated (its demand is then unknown)."""


@dataclass(frozen=True)
class Assessment:
    """A configuration's verdict, as the search sees it.

    Attributes
    ----------
    feasible
        Every service level shown met.
    loads
        Each role's mean utilisation (NaN when unknown), in the roles' order: where the
        bottleneck is.
    shortfall
        How far the means miss the targets, relative to them (0 when they all meet them).
    """

    feasible: bool
    loads: tuple[float, ...]
    shortfall: float = 0.0


class Oracle(Protocol):
    """Judges configurations (e.g. by simulating replications)."""

    def assess(self, config: Config, *, phase: str) -> Assessment:
        """The verdict with the search's sequential replications."""
        ...

    def confirm(self, config: Config) -> Assessment:
        """The verdict with the final check's replications."""
        ...


@dataclass
class SearchResult:
    """What the search found.

    Attributes
    ----------
    best
        The cheapest configuration shown feasible in the final check (``None`` if none).
    closest
        When nothing is feasible, the configuration whose means came closest.
    neighbours
        The best's cheaper neighbours judged in the final check.
    """

    best: Config | None
    closest: Config | None
    neighbours: list[Config] = field(default_factory=list)


class _Lattice:
    """The grid of configurations, their costs, and what is known or implied of each."""

    def __init__(self, sizes: Sequence[int], unit_costs: Sequence[Sequence[float]]):
        self.sizes = tuple(int(s) for s in sizes)
        self.grid = np.indices(self.sizes).reshape(len(self.sizes), -1).T
        self.costs = np.zeros(len(self.grid))
        for axis, costs in enumerate(unit_costs):
            self.costs += np.asarray(costs, dtype=float)[self.grid[:, axis]]
        self.known: dict[Config, Assessment] = {}
        self.confirmed: set[Config] = set()
        self.no_go = np.zeros(len(self.grid), dtype=bool)

    def index(self, config: Config) -> int:
        return int(np.ravel_multi_index(config, self.sizes))

    def cost(self, config: Config) -> float:
        return float(self.costs[self.index(config)])

    def record(self, config: Config, found: Assessment) -> None:
        self.known[config] = found
        self._rebuild()

    def _rebuild(self) -> None:
        self.no_go[:] = False
        for config, found in self.known.items():
            if not found.feasible:
                self.no_go |= np.all(self.grid <= np.asarray(config), axis=1)

    def implied_infeasible(self, config: Config) -> bool:
        return bool(self.no_go[self.index(config)])

    def cheapest_feasible(self) -> Config | None:
        found = [c for c, a in self.known.items() if a.feasible]
        return min(found, key=lambda c: (self.cost(c), c)) if found else None


class _Search:
    def __init__(self, lattice: _Lattice, oracle: Oracle, step_costs: Sequence[float]):
        self.lattice = lattice
        self.oracle = oracle
        # Roles by the cost of one step, costliest first (then in order): the descent's order.
        self.order = sorted(range(len(step_costs)), key=lambda r: (-step_costs[r], r))
        self.step_costs = step_costs

    def assess(self, config: Config, phase: str) -> Assessment:
        known = self.lattice.known.get(config)
        if known is None:
            known = self.oracle.assess(config, phase=phase)
            self.lattice.record(config, known)
        return known

    def confirm(self, config: Config) -> Assessment:
        if config not in self.lattice.confirmed:
            found = self.oracle.confirm(config)
            self.lattice.confirmed.add(config)
            self.lattice.record(config, found)
        return self.lattice.known[config]

    def bottleneck(self, config: Config, found: Assessment) -> int | None:
        """The busiest role that can still grow (ties: the cheaper step)."""
        growable = [r for r in range(len(config)) if config[r] < self.lattice.sizes[r] - 1]
        if not growable:
            return None

        def load(r: int) -> float:
            value = found.loads[r] if r < len(found.loads) else math.nan
            return value if math.isfinite(value) else -math.inf

        return max(growable, key=lambda r: (round(load(r), 2), -self.step_costs[r], -r))

    def ascend(self, config: Config) -> Config | None:
        """Raise bottlenecks until feasible (``None``: every role at its top, still infeasible)."""
        found = self.assess(config, "ascent")
        while not found.feasible:
            role = self.bottleneck(config, found)
            if role is None:
                return None
            level = config[role]
            load = found.loads[role] if role < len(found.loads) else math.nan
            jump = level + 1 if not (math.isfinite(load) and load >= SATURATED) else 2 * level + 1
            raised = list(config)
            raised[role] = min(jump, self.lattice.sizes[role] - 1)
            config = tuple(raised)
            found = self.assess(config, "ascent")
        return config

    def descend(self, config: Config) -> Config:
        """Lower each role by bisection while feasible, until no role can be lowered."""
        changed = True
        while changed:
            changed = False
            for role in self.order:
                low, high = -1, config[role]
                for level in range(config[role] - 1, -1, -1):
                    if self.lattice.implied_infeasible(self._with(config, role, level)):
                        low = level
                        break
                while high - low > 1:
                    middle = (low + high) // 2
                    trial = self._with(config, role, middle)
                    if self.lattice.implied_infeasible(trial):
                        low = middle
                    elif self.assess(trial, "descent").feasible:
                        high = middle
                    else:
                        low = middle
                if high < config[role]:
                    config = self._with(config, role, high)
                    changed = True
        return config

    def certify(self) -> Config | None:
        """Judge every cheaper candidate not implied infeasible, costliest first."""
        lattice = self.lattice
        while True:
            best = lattice.cheapest_feasible()
            if best is None:
                return None
            known = np.zeros(len(lattice.grid), dtype=bool)
            for config in lattice.known:
                known[lattice.index(config)] = True
            candidates = (lattice.costs < lattice.cost(best) - 1e-9) & ~lattice.no_go & ~known
            if not candidates.any():
                return best
            # The costliest candidate; ties go to the first in grid order (deterministic).
            chosen = int(np.flatnonzero(candidates)[np.argmax(lattice.costs[candidates])])
            config = tuple(int(v) for v in lattice.grid[chosen])
            if self.assess(config, "certify").feasible:
                self.descend(config)

    @staticmethod
    def _with(config: Config, role: int, level: int) -> Config:
        changed = list(config)
        changed[role] = level
        return tuple(changed)


def search(
    sizes: Sequence[int], unit_costs: Sequence[Sequence[float]], oracle: Oracle
) -> SearchResult:
    """The cheapest configuration meeting every service level (see the module notes).

    Parameters
    ----------
    sizes
        Number of levels of each role.
    unit_costs
        Cost of each level of each role (e.g. pounds a year), ascending with the level.
    oracle
        Judges configurations.

    Returns
    -------
    SearchResult
        The answer (passed the final check), the cheaper neighbours checked with it, or the
        closest configuration when none within the ranges meets every service level.
    """
    lattice = _Lattice(sizes, unit_costs)
    step_costs = [
        float(np.mean(np.diff(np.asarray(c, dtype=float)))) if len(c) > 1 else 0.0
        for c in unit_costs
    ]
    state = _Search(lattice, oracle, step_costs)
    start = state.ascend(tuple(0 for _ in sizes))
    if start is not None:
        state.descend(start)
    while True:
        best = state.certify()
        if best is None:
            closest = min(
                lattice.known, key=lambda c: (lattice.known[c].shortfall, lattice.cost(c), c)
            )
            return SearchResult(best=None, closest=closest)
        if not state.confirm(best).feasible:
            # The answer failed its final check: go on from it, raising its bottleneck.
            raised = state.ascend(best)
            if raised is not None:
                state.descend(raised)
            continue
        neighbours = [
            _Search._with(best, role, best[role] - 1) for role in state.order if best[role] > 0
        ]
        passed = [n for n in neighbours if state.confirm(n).feasible]
        if not passed:
            return SearchResult(best=best, closest=best, neighbours=neighbours)
        for config in passed:
            state.descend(config)
