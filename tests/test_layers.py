"""The package's folders are its layers: lower layers never import higher ones, no cycles.

The data flow (``../shared/design/layout.md``) read bottom to top::

    units, periods, pathway, _json, errors     shared vocabulary
    scenario/                                  describe (pydantic only)
    engine/ | analysis/ | io/                  execute | analyse | files (none imports another)
    run.py                                     one run: engine -> analysis
    experiment/                                many runs
    present/                                   plots, diagram, report
    cli/                                       the command line
    __main__, __init__                         the front doors

A module may import the vocabulary, its own subpackage, and any layer below its own. Every
``import`` statement counts, also those inside functions and ``TYPE_CHECKING`` blocks: a
deferred import is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ipcsim"

LAYERS: dict[str, int] = {
    "errors": 0,
    "units": 0,
    "periods": 0,
    "pathway": 0,
    "_json": 0,
    "scenario": 1,
    "engine": 2,
    "analysis": 2,
    "io": 2,
    "run": 3,
    "experiment": 4,
    "present": 5,
    "cli": 6,
    "__main__": 7,
    "__init__": 7,
}
"""Layer of each top-level module or subpackage of ``ipcsim``."""

MAX_LINES = 800
"""Longest module allowed (issue 11): past this a module should be split along its seams."""


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":  # a package is imported by its own name
            parts = parts[:-1]
        found.append((".".join(("ipcsim", *parts)), path))
    return found


def _unit(module: str) -> str:
    """The top-level unit (key of :data:`LAYERS`) of a dotted ``ipcsim`` module name."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(module: str, path: Path) -> Iterator[tuple[int, str]]:
    """``(line, imported ipcsim module)`` for every import statement of a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "ipcsim":
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            if name.split(".")[0] != "ipcsim":
                continue
            # `from ipcsim.x import y` may import the submodule ipcsim.x.y
            for alias in node.names:
                candidate = f"{name}.{alias.name}"
                if (PACKAGE.parent / candidate.replace(".", "/")).with_suffix(".py").exists() or (
                    PACKAGE.parent / candidate.replace(".", "/") / "__init__.py"
                ).exists():
                    yield node.lineno, candidate
                else:
                    yield node.lineno, name


def test_every_part_of_the_package_has_a_layer() -> None:
    units = {_unit(module) for module, _ in _modules()}
    assert units <= set(LAYERS), f"give these a layer in LAYERS: {sorted(units - set(LAYERS))}"


def test_no_module_imports_a_higher_or_sibling_layer() -> None:
    broken = []
    for module, path in _modules():
        mine = _unit(module)
        for line, imported in _imports(module, path):
            theirs = _unit(imported)
            if theirs == mine or LAYERS[theirs] == 0:
                continue
            if LAYERS[theirs] >= LAYERS[mine]:
                broken.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {imported}")
    assert not broken, "layer rule broken:\n" + "\n".join(broken)


def test_the_vocabulary_imports_nothing_of_the_package_but_errors() -> None:
    for module, path in _modules():
        if LAYERS.get(_unit(module)) == 0:
            imported = {name for _, name in _imports(module, path)}
            assert imported <= {"ipcsim.errors"}, f"{module} imports {sorted(imported)}"


def test_the_engine_alone_imports_simpy() -> None:
    users = []
    for module, path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(name.split(".")[0] == "simpy" for name in names):
                users.append(module)
    assert users and all(_unit(module) == "engine" for module in users), users


def _module_graph() -> dict[str, set[str]]:
    """Module-level imports between modules of the package (what runs at import time)."""
    known = {module for module, _ in _modules()}
    graph: dict[str, set[str]] = {}
    for module, path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = ast.Module(body=[n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)])
        edges = set()
        for node in ast.walk(top):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    edges.add(sub if sub in known else node.module)
            elif isinstance(node, ast.Import):
                edges.update(a.name for a in node.names)
        graph[module] = {e for e in edges if e in known and e != module}
    return graph


def test_no_import_cycles() -> None:
    graph = _module_graph()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("module,path", _modules(), ids=[m for m, _ in _modules()])
def test_no_module_is_longer_than_the_limit(module: str, path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module}: {lines} lines; split it along its seams"
