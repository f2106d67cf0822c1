"""MkDocs hook: the reference pages, written from the code at every build (``make docs``).

The scenario keys come from the pydantic schema (:func:`ipcsim.scenario.fields.field_rows`,
what ``ipcsim schema`` prints), the KPIs from :func:`ipcsim.analysis.kpis.kpi_names` and
:func:`~ipcsim.analysis.kpis.kpi_definition` (what ``ipcsim kpis`` prints), the commands from
their click definitions (:data:`ipcsim.cli.main.COMMANDS`). The pages exist only in the build
(``File.generated``): nothing generated is committed, so they cannot drift from the code.

A hook rather than a plugin (mkdocs-gen-files) or a script writing into ``docs/``: MkDocs 1.6
takes in-memory pages from a hook, so there is no extra package and no build-only folder to
keep out of git.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Document the code of this checkout, whatever ipcsim the environment has installed.
sys.path.insert(0, str(ROOT))

from ipcsim.scenario.fields import FieldRow  # noqa: E402

KPI_SCENARIO = "configs/demonstrator_site.toml"
"""The scenario whose KPIs the KPI page lists (``make run`` runs it)."""

_EVIDENCE = re.compile(r"\bP\d{2}(?:\s*[-–]\s*P\d{2})?\b|\bDer\b|\bderived\b|\bassumption\b")


def cell(text: object) -> str:
    """``text`` safe inside a markdown table cell (``<name>`` outside code is not a tag)."""
    parts = str(text).replace("\n", " ").split("`")
    # even parts are prose, odd parts code spans: only prose needs its angle brackets escaped
    parts[::2] = [
        p.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for p in parts[::2]
    ]
    return "`".join(parts).replace("|", "\\|")


def evidence(description: str) -> str:
    """The evidence IDs a field's description cites (``P12``, ``P19-P21``, ``assumption``)."""
    found = dict.fromkeys(m.group(0).replace(" ", "") for m in _EVIDENCE.finditer(description))
    return ", ".join(found)


def _section_of(row: FieldRow) -> str:
    return row.key.split(".")[0] if "." in row.key else ""


def scenario_page() -> str:
    """Every key of a scenario file, table by table, with type, default, unit and evidence."""
    from ipcsim.scenario import Scenario
    from ipcsim.scenario import distributions as dist
    from ipcsim.scenario.fields import field_rows

    rows = field_rows(Scenario)
    tables: dict[str, list[FieldRow]] = {}
    for row in rows:
        tables.setdefault(_section_of(row), []).append(row)
    lines = [
        "# Scenario keys",
        "",
        "Every key a scenario file may hold, generated from the schema (`ipcsim.scenario`) when "
        "the site is built: the same rows as `ipcsim schema --format markdown`. The description "
        "gives the unit, the allowed range and the source: an evidence ID of the evidence pack "
        "(P01-P80, see [the evidence](../background/evidence.md)), `Der` for a value derived "
        "from several of them, or `assumption`. *required* means the key has no default; an "
        "empty default means the key is unset (none) unless the file sets it. `<name>` stands "
        "for a name you choose (a cohort, a role, a site).",
        "",
        f"{len(rows)} keys. Unknown keys are errors, with the nearest valid key suggested.",
        "",
    ]
    for table, members in tables.items():
        title = f"`{table}`" if table else "Top level"
        lines += [f"## {title}", ""]
        head = next((r for r in members if r.key == table), None)
        if head is not None and head.description:
            lines += [head.description[:1].upper() + head.description[1:] + ".", ""]
        lines += [
            "| key | type | default | unit, range and source | evidence |",
            "|---|---|---|---|---|",
        ]
        for row in members:
            lines.append(
                "| "
                + " | ".join(
                    cell(c)
                    for c in (
                        f"`{row.key}`",
                        row.kind,
                        row.default,
                        row.description,
                        evidence(row.description),
                    )
                )
                + " |"
            )
        lines.append("")
    lines += [
        "## Distributions",
        "",
        "A key that takes a distribution is written as an inline table chosen by `dist`; its "
        "parameters are in the unit of the key and inside the key's range.",
        "",
        "| `dist` | what it is | parameters |",
        "|---|---|---|",
    ]
    for model in (
        dist.Fixed,
        dist.Exponential,
        dist.Uniform,
        dist.Triangular,
        dist.LogNormal,
        dist.Gamma,
        dist.Discrete,
    ):
        name = model.model_fields["dist"].default
        params = "; ".join(
            f"`{field.alias or key}`: {field.description}"
            for key, field in model.model_fields.items()
            if key != "dist"
        )
        doc = (model.__doc__ or "").strip().splitlines()[0].replace("``", "`")
        lines.append(f"| `{name}` | {cell(doc)} | {cell(params)} |")
    return "\n".join(lines) + "\n"


def kpi_page() -> str:
    """Every KPI of the demonstrator scenario: name, label, stored unit and definition."""
    from ipcsim.analysis.kpis import kpi_definition, kpi_names
    from ipcsim.analysis.labels import kpi_label
    from ipcsim.scenario.load import load_scenario

    scenario = load_scenario(ROOT / KPI_SCENARIO)
    names = kpi_names(scenario)
    roles = ", ".join(f"`{r}`" for r in scenario.role_names)
    lines = [
        "# KPIs",
        "",
        "One value per replication; the names experiments, `--target`, plan specs and "
        "`summary` sheets use. Generated from `ipcsim.analysis.kpis` when the site is built: "
        f"the {len(names)} KPIs of `{KPI_SCENARIO}`, as `ipcsim kpis {KPI_SCENARIO}` prints "
        "them.",
        "",
        f"Names ending in a role ({roles} here) follow your scenario's roles, and the "
        "`share_..._within_<N>w` names its waiting standards (`[reporting] within_weeks`): run "
        "`ipcsim kpis YOUR_SCENARIO.toml` for yours. Fractions are stored as 0 to 1 (targets "
        "too: `share_seen_within_8w>=0.9`), waits in days. Waits count the people still "
        "waiting (Kaplan-Meier) unless named `completed_`; see "
        "[reading the report](../how-to/report.md) for why.",
        "",
        "| KPI | label | unit | what it counts |",
        "|---|---|---|---|",
    ]
    for name in names:
        label, unit = kpi_label(name)
        stored = {"%": "fraction", "": "count"}.get(unit, unit)
        lines.append(
            "| "
            + " | ".join(cell(c) for c in (f"`{name}`", label, stored, kpi_definition(name)))
            + " |"
        )
    return "\n".join(lines) + "\n"


def _default_text(param: Any) -> str:
    default = param.default
    if callable(default) or default is None or default == () or default is False:
        return ""
    return str(getattr(default, "value", default))


def _type_text(param: Any, context: Any) -> str:
    """A parameter's type as ``--help`` shows it (``path``, ``png|svg``, ``flag``)."""
    if getattr(param, "is_flag", False):
        return "flag"
    try:  # typer >= 0.25 keeps its own click: its parameters describe their type
        text = str(param.display_type(context)).strip("<>")
    except AttributeError:  # pragma: no cover - click's parameters
        text = param.type.name
    text = re.sub(r"^list\[(.*)\]$", r"\1", text)
    if param.multiple:
        text += ", repeatable"
    if param.param_type_name == "argument" and param.required:
        text += " (required)"
    return text


def command_page() -> str:
    """Every command: its usage, help, arguments and options (from the click definitions)."""
    from ipcsim.cli.main import COMMANDS, load_command

    lines = [
        "# Commands",
        "",
        "Generated from the command definitions (`ipcsim.cli`) when the site is built: the "
        "same text as `ipcsim COMMAND --help`. Every user error is one line on stderr and "
        "exit status 2, never a traceback.",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    lines += [f"| [`{name}`](#{name}) | {cell(line)} |" for name, (_, line) in COMMANDS.items()]
    lines.append("")
    for name in COMMANDS:
        command = load_command(name)
        context = command.make_context(f"ipcsim {name}", [], resilient_parsing=True)
        pieces = command.collect_usage_pieces(context)
        usage = re.sub(r"\{(\w+)\}", lambda m: m[1].upper(), " ".join(pieces))
        help_text = (command.help or "").strip().replace("\b\n", "")
        lines += [f"## {name} {{#{name}}}", "", "```text", f"ipcsim {name} {usage}", "```", ""]
        lines += [help_text, ""]
        lines += ["| argument or option | type | default | what it does |", "|---|---|---|---|"]
        for param in command.params:
            if param.name == "help" or getattr(param, "hidden", False):
                continue
            if param.param_type_name == "argument":
                what = f"`{param.name.upper()}`"
            else:
                what = " / ".join(f"`{flag}`" for flag in [*param.opts, *param.secondary_opts])
            cells = (what, _type_text(param, context), _default_text(param), param.help or "")
            lines.append("| " + " | ".join(cell(c) for c in cells) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


PAGES: dict[str, Callable[[], str]] = {
    "reference/scenario.md": scenario_page,
    "reference/kpis.md": kpi_page,
    "reference/commands.md": command_page,
}
"""Generated page (path in the site's docs) -> the function writing its markdown."""


def on_files(files: Any, config: Any) -> Any:
    """MkDocs event: add the generated reference pages to the site's files."""
    from mkdocs.structure.files import File

    for path, render in PAGES.items():
        files.append(File.generated(config, path, content=render()))
    return files
