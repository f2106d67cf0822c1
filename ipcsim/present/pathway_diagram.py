"""The care pathway of a scenario as a diagram: stages, roles, sign-off, exits and rework.

Two steps, like the rest of the package: :func:`pathway_graph` describes the pathway of a
:class:`~ipcsim.scenario.Scenario` as plain data (nodes with their text and roles, edges with
their labels), and :func:`draw_pathway` draws that description with matplotlib patches only.
Tests check the description; the drawing only places it.

Layout: the nine pathway steps in two rows, read as a "snake" (left to right along the top
row, then right to left along the bottom row), exits as grey boxes above and below, and the
rework loop from sign-off back to the planning conversations.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from ipcsim.pathway import BUDGET_TYPES, STEPS
from ipcsim.present.style import TARGET_COLOR, new_axes, role_colors, style
from ipcsim.scenario import Scenario, SiteConfig
from ipcsim.scenario.describe import describe_distribution, short_number

__all__ = [
    "Edge",
    "Node",
    "PathwayGraph",
    "describe_distribution",
    "draw_pathway",
    "pathway_graph",
    "site_config",
]

NodeKind = Literal["stage", "signoff", "exit"]
EdgeKind = Literal["flow", "exit", "loop"]


@dataclass(frozen=True)
class Node:
    """One box of the diagram.

    Attributes
    ----------
    key
        Identifier (``referral``, ``signoff``, ``exit_withdrawn``, ...).
    title
        Bold first line.
    lines
        Further lines: delays, effort, rules, with units.
    kind
        ``stage``, ``signoff`` or ``exit``.
    roles
        Roles whose time the step uses, with hours per person (``None`` when the time is
        not a fixed number, e.g. conversations drawn per person).
    """

    key: str
    title: str
    lines: tuple[str, ...] = ()
    kind: NodeKind = "stage"
    roles: Mapping[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Edge:
    """An arrow between two nodes; ``label`` says what share or rule goes along it."""

    source: str
    target: str
    label: str = ""
    kind: EdgeKind = "flow"


@dataclass(frozen=True)
class PathwayGraph:
    """The pathway as data: nodes in pathway order, then exits; edges."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def node(self, key: str) -> Node:
        """The node called ``key``."""
        for node in self.nodes:
            if node.key == key:
                return node
        raise KeyError(key)


# --------------------------------------------------------------------------- description
def _hours(effort: Any) -> float:
    """Hours of an effort entry: a number, or the mean of a distribution."""
    if isinstance(effort, int | float):
        return float(effort)
    return float(effort.mean())


def _effort(efforts: Mapping[str, Any]) -> dict[str, float | None]:
    """Role -> hours per person (the mean where the effort is a distribution); zeros left out."""
    return {role: _hours(hours) for role, hours in efforts.items() if _hours(hours) > 0}


def _span(values: list[float]) -> str:
    """``"20%"``, or ``"5-10%"`` when the cohorts differ."""
    low, high = min(values), max(values)
    if abs(high - low) < 1e-12:
        return f"{low:.0%}"
    return f"{low:.0%}".removesuffix("%") + f"-{high:.0%}"


def _is_zero_delay(dist: Any) -> bool:
    return getattr(dist, "dist", "") == "fixed" and float(getattr(dist, "value", 1.0)) == 0.0


def site_config(scenario: Scenario, site: str | None = None) -> SiteConfig:
    """The settings of one site of a scenario (the first when ``site`` is ``None``).

    A single-site scenario is its own site; a multi-site one (``[sites.<name>]``) has its
    sites resolved, template merged with each site's table.

    Raises
    ------
    ValueError
        If ``site`` is not a site of the scenario.
    """
    sites = list(getattr(scenario, "site_configs", None) or [])
    if not sites:
        if site is not None and site != scenario.site.name:
            raise ValueError(f"no site {site!r} in scenario {scenario.name!r}")
        return scenario
    if site is None:
        return sites[0]
    for spec in sites:
        if spec.site.name == site:
            return spec
    known = ", ".join(spec.site.name for spec in sites)
    raise ValueError(f"no site {site!r} in scenario {scenario.name!r} (has: {known})")


def pathway_graph(scenario: Scenario, *, site: str | None = None) -> PathwayGraph:
    """Describe a scenario's pathway as nodes and edges (what :func:`draw_pathway` draws).

    Parameters
    ----------
    scenario
        The validated scenario.
    site
        For a multi-site scenario, the site to describe (the first when ``None``; see
        :func:`site_config`).

    Returns
    -------
    PathwayGraph
        The steps of :data:`STEPS` (the sign-off node following ``signoff.mode``), exit
        nodes (offer declined, withdrew, plan declined when its probability is above 0, no
        budget or budget declined, payment not operational), flow edges between consecutive
        steps, exit edges with their probabilities and the rework loop from sign-off to the
        conversations.
    """
    spec = site_config(scenario, site)
    pathway = spec.pathway
    lead = pathway.lead_role
    cohorts = list(spec.cohorts.values())
    signoff = spec.signoff
    nodes: list[Node] = []
    edges: list[Edge] = []

    referrals = sum(c.referrals_per_month for c in cohorts)
    referral_lines = [
        f"{short_number(referrals)} referrals/month",
        f"{len(cohorts)} cohort{'s' if len(cohorts) != 1 else ''}, Poisson arrivals",
        f"{pathway.incomplete_referral_probability:.0%} incomplete: "
        f"{short_number(pathway.incomplete_referral_extra_hours)} h to chase",
    ]
    if not _is_zero_delay(pathway.referral.delay_days):
        referral_lines.append(f"delay {describe_distribution(pathway.referral.delay_days, 'd')}")
    roles: dict[str, float | None] = _effort(pathway.referral.effort_hours)
    if pathway.incomplete_referral_probability > 0:
        roles.setdefault(lead, None)
    nodes.append(Node("referral", "Referral", tuple(referral_lines), roles=roles))

    nodes.append(
        Node(
            "invitation",
            "Invitation & consent",
            (
                f"decision in {describe_distribution(pathway.invitation.delay_days, 'days')}",
                f"accept: {_span([c.offer_acceptance for c in cohorts])}",
            ),
            roles=_effort(pathway.invitation.effort_hours),
        )
    )

    cap = spec.workforce[lead].caseload_cap if lead in spec.workforce else None
    allocation_lines = [
        f"admin lag {describe_distribution(pathway.consent_to_first_appointment_days, 'days')}",
        "first come, first served",
        f"withdraw {_span([c.withdrawal_hazard_per_month_waiting for c in cohorts])}/month waiting",
    ]
    if cap:
        allocation_lines.append(f"cap {cap} open cases each")
    nodes.append(
        Node("allocation", "Wait for practitioner", tuple(allocation_lines), roles={lead: None})
    )

    sessions = [describe_distribution(c.sessions) for c in cohorts]
    gaps = [describe_distribution(c.session_gap_days, "d") for c in cohorts]
    nodes.append(
        Node(
            "conversations",
            "Planning sessions",
            (
                f"{sessions[0]} sessions" + ("*" if len(set(sessions)) > 1 else ""),
                f"gap {gaps[0]}" + ("*" if len(set(gaps)) > 1 else ""),
                "same practitioner throughout",
                *(["* varies by cohort"] if len(set(sessions + gaps)) > 2 else []),
            ),
            roles={lead: None},
        )
    )

    circulation = pathway.circulation
    writing_roles = _effort(pathway.plan_writing.effort_hours)
    writing_roles.setdefault(lead, None)
    nodes.append(
        Node(
            "plan_writing",
            "Write & share plan",
            (
                f"{describe_distribution(circulation.contacts)} contacts",
                f"{short_number(circulation.minutes_per_contact)} min each",
            ),
            roles=writing_roles,
        )
    )

    described = signoff.describe()
    signoff_node = Node(
        "signoff",
        described.title,
        described.lines,
        kind="signoff",
        roles=dict.fromkeys(described.reviewer_roles),
    )
    nodes.append(signoff_node)

    budget_roles = _effort(pathway.budget_setting.effort_hours)
    nodes.append(
        Node(
            "budget_setting",
            "Budget setting",
            (
                f"P(budget) {_span([c.budget_probability for c in cohorts])}",
                f"{signoff.budget_declined_share:.0%} of amount declined",
            ),
            roles=budget_roles,
        )
    )

    split = np.mean([c.budget_type_split.as_tuple() for c in cohorts], axis=0)
    short = {"direct_payment": "DP", "notional": "notional", "third_party": "3rd party"}
    release_roles: dict[str, float | None] = {}
    delays = []
    for budget_type, share in zip(BUDGET_TYPES, split, strict=True):
        release = spec.budget_release.for_type(budget_type)
        if share > 0:
            for role, hours in _effort(release.effort_hours).items():
                release_roles.setdefault(role, hours)
            delays.append(
                f"{short[budget_type]} {share:.0%}: "
                f"{describe_distribution(release.processing_delay_days, 'd')}"
            )
    nodes.append(Node("budget_release", "Budget release", tuple(delays), roles=release_roles))

    lives = sorted({str(c.plan_duration_months) for c in cohorts})
    if spec.pathway.reviews == "none":
        review_line = "no reviews"
    else:
        review_line = (
            f"every {short_number(spec.pathway.review_interval_days)} days at "
            f"{spec.pathway.review_site_probability:.0%} of sites"
        )
    nodes.append(
        Node(
            "reviews",
            "Reviews and renewal",
            (
                review_line,
                f"plan life {', '.join(lives)} months, "
                f"renewed {_span([c.plan_renewal_probability for c in cohorts])}",
                "same practitioner",
            ),
            roles={lead: None},
        )
    )

    for a, b in zip(STEPS, STEPS[1:], strict=False):
        edges.append(Edge(a, b))

    def exit_node(key: str, title: str, source: str, label: str) -> None:
        nodes.append(Node(key, title, kind="exit"))
        edges.append(Edge(source, key, label, kind="exit"))

    exit_node(
        "exit_declined",
        "Offer declined",
        "invitation",
        _span([1.0 - c.offer_acceptance for c in cohorts]),
    )
    exit_node(
        "exit_withdrawn",
        "Withdrew",
        "allocation",
        _span([c.withdrawal_probability_before_first_session for c in cohorts]) + " at once",
    )
    if signoff.plan_decline_probability > 0:
        exit_node(
            "exit_plan_declined",
            "Plan declined",
            "signoff",
            f"{signoff.plan_decline_probability:.0%}",
        )
    exit_node(
        "exit_no_budget",
        "Plan in place, no budget",
        "budget_setting",
        _span([1.0 - c.budget_probability for c in cohorts]),
    )
    release_fail = [
        1.0 - spec.budget_release.for_type(t).release_probability
        for t, share in zip(BUDGET_TYPES, split, strict=True)
        if share > 0
    ]
    exit_node(
        "exit_payment",
        "Payment not operational",
        "budget_release",
        _span(release_fail) if release_fail else "",
    )
    if signoff.rework_probability > 0:
        edges.append(
            Edge(
                "signoff",
                "conversations",
                f"rework {signoff.rework_probability:.0%}: one more session",
                kind="loop",
            )
        )
    return PathwayGraph(tuple(nodes), tuple(edges))


# --------------------------------------------------------------------------- drawing
_BOX_W = 2.65
_BOX_H = 1.75
_STEP_X = 3.15
_ROW_Y = (4.3, 0.9)
_EXIT_W = 2.1
_EXIT_H = 0.5

_FILL = {"stage": "#EAF2FA", "signoff": "#FDF0DC", "exit": "#F2F2F2"}
_EDGE = {"stage": "#0072B2", "signoff": "#E69F00", "exit": "#999999"}


def _positions() -> dict[str, tuple[float, float]]:
    """Centre of each step: five along the top row, four back along the bottom row."""
    pos = {}
    for i, key in enumerate(STEPS[:5]):
        pos[key] = (i * _STEP_X, _ROW_Y[0])
    for i, key in enumerate(STEPS[5:]):
        pos[key] = ((4 - i) * _STEP_X, _ROW_Y[1])
    return pos


def _exit_position(source: tuple[float, float]) -> tuple[float, float]:
    x, y = source
    top = y == _ROW_Y[0]
    return x, y + (1 if top else -1) * (_BOX_H / 2 + 0.75)


def _box(ax: Axes, centre: tuple[float, float], w: float, h: float, kind: str) -> None:
    x, y = centre
    patch = FancyBboxPatch(
        (x - w / 2, y - h / 2),
        w,
        h,
        boxstyle="round,pad=0.02,rounding_size=0.15",
        facecolor=_FILL[kind],
        edgecolor=_EDGE[kind],
        linewidth=1.8,
    )
    patch.set_gid(f"box:{kind}")
    ax.add_patch(patch)


def _arrow(
    ax: Axes,
    a: tuple[float, float],
    b: tuple[float, float],
    *,
    color: str = "#444444",
    style: str = "-|>",
    rad: float = 0.0,
    dashed: bool = False,
) -> FancyArrowPatch:
    arrow = FancyArrowPatch(
        a,
        b,
        arrowstyle=style,
        mutation_scale=18,
        color=color,
        linewidth=1.8,
        connectionstyle=f"arc3,rad={rad}",
        linestyle="--" if dashed else "-",
        shrinkA=0,
        shrinkB=0,
    )
    ax.add_patch(arrow)
    return arrow


def _chips(ax: Axes, node: Node, origin: tuple[float, float], colors: Mapping[str, str]) -> None:
    """Role chips along the bottom of a box, wrapping to a row above when a row is full."""
    renderer = ax.figure.canvas.get_renderer()  # type: ignore[attr-defined]
    to_data = ax.transData.inverted()
    left, bottom = origin
    right = left + _BOX_W - 0.24
    x, y = left, bottom
    for role, hours in node.roles.items():
        text = role.replace("_", " ") + (f" {short_number(hours)} h" if hours else "")
        chip = ax.text(
            x,
            y,
            text,
            ha="left",
            va="bottom",
            fontsize=8.5,
            color="white",
            fontweight="bold",
            bbox={
                "boxstyle": "round,pad=0.25",
                "facecolor": colors.get(role, "#666666"),
                "edgecolor": "none",
            },
        )
        chip.set_gid(f"role:{node.key}:{role}")
        extent = chip.get_window_extent(renderer).transformed(to_data)
        if extent.x1 > right and x > left:
            y += 0.32
            chip.set_position((left, y))
            extent = chip.get_window_extent(renderer).transformed(to_data)
        x = extent.x1 + 0.18


def draw_pathway(scenario: Scenario, *, site: str | None = None, ax: Axes | None = None) -> Axes:
    """Draw the pathway of ``scenario`` (see :func:`pathway_graph`).

    Parameters
    ----------
    scenario
        The validated scenario.
    site
        For a multi-site scenario, the site to draw (the first when ``None``); the title says
        which, and of how many.
    ax
        Axes to draw on; a new 14 x 7.4 inch figure when ``None``.

    Returns
    -------
    Axes
        Boxes are patches with ``gid`` ``box:<kind>``; each box's title is a text artist with
        ``gid`` ``title:<node key>``; role chips ``role:<node key>:<role>``.
    """
    graph = pathway_graph(scenario, site=site)
    spec = site_config(scenario, site)
    colors = role_colors(scenario.role_names)
    pos = _positions()
    with style():
        ax = new_axes((14.0, 7.4)) if ax is None else ax
        ax.set_xlim(-_BOX_W / 2 - 0.3, 4 * _STEP_X + _BOX_W / 2 + 0.3)
        ax.set_ylim(_ROW_Y[1] - _BOX_H / 2 - 1.45, _ROW_Y[0] + _BOX_H / 2 + 1.2)
        ax.axis("off")
        for node in graph.nodes:
            if node.kind == "exit":
                continue
            x, y = pos[node.key]
            _box(ax, (x, y), _BOX_W, _BOX_H, node.kind)
            number = STEPS.index(node.key) + 1
            title = ax.text(
                x - _BOX_W / 2 + 0.12,
                y + _BOX_H / 2 - 0.12,
                f"{number}. {node.title}",
                ha="left",
                va="top",
                fontsize=11.5,
                fontweight="bold",
                color="#1a1a1a",
            )
            title.set_gid(f"title:{node.key}")
            body = "\n".join(textwrap.shorten(line, 38, placeholder="...") for line in node.lines)
            ax.text(
                x - _BOX_W / 2 + 0.12,
                y + _BOX_H / 2 - 0.48,
                body,
                ha="left",
                va="top",
                fontsize=9.5,
                color="#333333",
                linespacing=1.35,
            )
            _chips(ax, node, (x - _BOX_W / 2 + 0.12, y - _BOX_H / 2 + 0.13), colors)
        for edge in graph.edges:
            if edge.kind == "flow":
                (ax_, ay), (bx, by) = pos[edge.source], pos[edge.target]
                if ay == by:
                    sign = 1 if bx > ax_ else -1
                    _arrow(ax, (ax_ + sign * _BOX_W / 2, ay), (bx - sign * _BOX_W / 2, by))
                else:
                    _arrow(ax, (ax_, ay - _BOX_H / 2), (bx, by + _BOX_H / 2))
            elif edge.kind == "exit":
                source = pos[edge.source]
                ex, ey = _exit_position(source)
                _box(ax, (ex, ey), _EXIT_W, _EXIT_H, "exit")
                exit_node = graph.node(edge.target)
                title = ax.text(
                    ex, ey, exit_node.title, ha="center", va="center", fontsize=9.5, color="#444444"
                )
                title.set_gid(f"title:{exit_node.key}")
                top = source[1] == _ROW_Y[0]
                start_y = source[1] + (1 if top else -1) * _BOX_H / 2
                end_y = ey - (1 if top else -1) * _EXIT_H / 2
                _arrow(ax, (ex, start_y), (ex, end_y), color="#999999")
                ax.text(
                    ex + 0.1,
                    (start_y + end_y) / 2,
                    edge.label,
                    ha="left",
                    va="center",
                    fontsize=9,
                    color="#666666",
                )
            else:
                (sx, sy), (tx, ty) = pos[edge.source], pos[edge.target]
                _arrow(
                    ax,
                    (sx - _BOX_W / 2 + 0.25, sy + _BOX_H / 2),
                    (tx + _BOX_W / 2 - 0.25, ty - _BOX_H / 2),
                    color=TARGET_COLOR,
                    rad=-0.25,
                    dashed=True,
                )
                label = ax.text(
                    (sx + tx) / 2 - 0.35,
                    (sy + ty) / 2,
                    edge.label,
                    ha="right",
                    va="center",
                    fontsize=9.5,
                    color=TARGET_COLOR,
                    fontweight="bold",
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5},
                )
                label.set_gid("loop-label")
        start_x, start_y = pos["referral"]
        _arrow(ax, (start_x, start_y + _BOX_H / 2 + 0.7), (start_x, start_y + _BOX_H / 2))
        ax.text(
            start_x + 0.1,
            start_y + _BOX_H / 2 + 0.45,
            "referred",
            ha="left",
            va="center",
            fontsize=9.5,
            color="#444444",
        )
        key_x, key_y = pos["referral"][0] - _BOX_W / 2, _ROW_Y[1] + _BOX_H / 2
        ax.text(
            key_x,
            key_y,
            "How to read it\n"
            "Boxes: steps in order, with their delays\n"
            "and rules. Chips: whose time each step\n"
            "uses (hours per person where fixed).\n"
            "Grey: where people leave the pathway,\n"
            "with the share who do.",
            ha="left",
            va="top",
            fontsize=9.5,
            color="#555555",
            linespacing=1.4,
        )
        names = [s.site.name for s in getattr(scenario, "site_configs", None) or []]
        if len(names) > 1:
            where = f": site {spec.site.name} ({names.index(spec.site.name) + 1} of {len(names)})"
        else:
            where = "" if spec.site.name == scenario.name else f" ({spec.site.name})"
        ax.set_title(f"Pathway of {scenario.name}{where}")
    return ax
