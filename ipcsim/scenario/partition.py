"""Independent groups of sites, and the sub-scenario of one group.

Two sites depend on each other when they share something a simulation changes as it runs: a
staff pool (``[shared_pools]``) or a panel (``[shared_panels]``). A budget pot
(``[budget_envelope]``) is a site table, one pot per site, so it never joins two sites. Sites
that share nothing, directly or through other sites, are independent: each group (a connected
component of the sharing) can be simulated on its own, in its own process or on another
machine, and the records merged (:func:`ipcsim.run.run_scenario` with ``partitioned=True``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ipcsim.scenario.scenario import Scenario

__all__ = ["site_groups", "sub_scenario"]


def site_groups(scenario: Scenario) -> list[tuple[str, ...]]:
    """The scenario's sites, split into groups that share no pool or panel with each other.

    Parameters
    ----------
    scenario
        The validated scenario.

    Returns
    -------
    list of tuple of str
        Each group's site names in file order; groups ordered by their first site's place in
        the file. A single-site scenario is one group of one site.
    """
    names = scenario.site_names
    parent = {name: name for name in names}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]  # path halving
            name = parent[name]
        return name

    shared: list[Iterable[str]] = [pool.sites for pool in scenario.shared_pools.values()]
    shared += [panel.sites for panel in scenario.shared_panels.values()]
    for sites in shared:
        first, *rest = sites
        for other in rest:
            a, b = root(first), root(other)
            if a != b:
                # The root is the group's earliest site, so groups come out in file order.
                a, b = sorted((a, b), key=names.index)
                parent[b] = a
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(root(name), []).append(name)
    return [tuple(group) for group in groups.values()]


def sub_scenario(scenario: Scenario, sites: Sequence[str]) -> Scenario:
    """The scenario restricted to ``sites``, a group (or a union of groups) of its sites.

    The sites keep their resolved settings; the shared pools and panels of the group stay,
    the others go. Targets and the warm-start file are left out: they are read by the
    analysis and by :func:`ipcsim.run.run_scenario`, which keep the whole scenario.

    Parameters
    ----------
    scenario
        The validated scenario.
    sites
        Site names; every pool or panel shared by one of them must serve only sites in
        ``sites`` (true of any union of :func:`site_groups`).

    Returns
    -------
    Scenario
        ``scenario`` itself when ``sites`` are all its sites, else a copy restricted to them
        (not validated again: a restriction of a valid scenario to a group is valid).

    Raises
    ------
    ValueError
        If a site is unknown, or a pool or panel is shared across the group's edge.
    """
    chosen = set(sites)
    unknown = chosen - set(scenario.site_names)
    if unknown:
        raise ValueError(f"unknown site(s): {', '.join(sorted(unknown))}")
    if chosen == set(scenario.site_names):
        return scenario
    for kind, table in (
        ("shared_pools", scenario.shared_pools),
        ("shared_panels", scenario.shared_panels),
    ):
        for name, shared in table.items():
            inside = chosen.intersection(shared.sites)
            if inside and len(inside) < len(shared.sites):
                raise ValueError(f"{kind}.{name} serves sites both in and out of the group")
    copy = scenario.model_copy(
        update={
            "sites": {name: table for name, table in scenario.sites.items() if name in chosen},
            "shared_pools": {
                k: v for k, v in scenario.shared_pools.items() if chosen.issuperset(v.sites)
            },
            "shared_panels": {
                k: v for k, v in scenario.shared_panels.items() if chosen.issuperset(v.sites)
            },
            "targets": (),
            "initial_state": None,
        }
    )
    copy._resolved = [config for config in scenario.site_configs if config.site.name in chosen]
    return copy
