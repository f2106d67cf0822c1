"""Split the installed environment into two pinned locks: runtime and development.

``requirements-run.lock`` pins what ``pip install ipcsim`` needs (the closure of
``[project] dependencies`` in ``pyproject.toml``, and the build backend, since the editable
install runs without build isolation); ``requirements-dev.lock`` pins everything
else installed for the ``dev`` extra (tests, lint, type checks, Dask, the peer simulator).
``make run`` installs the first, ``make test`` both. Run by ``make lock`` inside the project's
virtual environment, after installing or upgrading packages there.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution, distributions
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
HEADER = "# Exact versions {what} (make {target}). Regenerate inside .venv: make lock\n"


def canon(name: str) -> str:
    """A distribution name in PEP 503 normal form."""
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(requirements: list[str]) -> set[str]:
    """Normalised names of the installed distributions ``requirements`` pull in."""
    environment = dict(default_environment())
    found: set[str] = set()
    seen: set[tuple[str, tuple[str, ...]]] = set()
    stack = [(Requirement(r), ("",)) for r in requirements]
    while stack:
        req, extras = stack.pop()
        if req.marker is not None and not any(
            req.marker.evaluate({**environment, "extra": e}) for e in extras
        ):
            continue
        key = (canon(req.name), tuple(sorted(req.extras)))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = distribution(req.name)
        except PackageNotFoundError:
            sys.exit(f"lock: {req.name} is required but not installed; pip install it first")
        found.add(canon(req.name))
        stack += [(Requirement(r), ("", *req.extras)) for r in dist.requires or []]
    return found


def main() -> None:
    """Write both locks from ``pyproject.toml`` and the installed versions."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = pyproject["project"]
    # The editable install runs without build isolation, so the build backend is pinned too.
    run = closure(project["dependencies"] + pyproject["build-system"]["requires"])
    dev = closure(project["optional-dependencies"]["dev"]) - run
    versions = {canon(d.metadata["Name"]): (d.metadata["Name"], d.version) for d in distributions()}
    for name, names, what, target in (
        ("requirements-run.lock", run, "that running ipcsim needs", "run"),
        ("requirements-dev.lock", dev, "that testing and linting add", "test"),
    ):
        lines = [f"{versions[n][0]}=={versions[n][1]}\n" for n in sorted(names)]
        text = HEADER.format(what=what, target=target) + "".join(lines)
        (ROOT / name).write_text(text)
        sys.stdout.write(f"lock: {name}: {len(lines)} packages\n")


if __name__ == "__main__":
    main()
