"""The documentation site builds with no warning, and its reference pages are the code's.

``make docs`` runs ``mkdocs build --strict``; this test runs the same build into a temporary
folder, so CI (``make test``) fails on a warning, a broken link or anchor, or a page left out
of the navigation. The reference pages are generated from the code at build time
(``scripts/docs_reference.py``); the test checks that every scenario key, every KPI and every
command is on them.
"""

from __future__ import annotations

import html
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ipcsim.analysis.kpis import kpi_names
from ipcsim.cli.main import COMMANDS
from ipcsim.scenario import Scenario
from ipcsim.scenario.fields import field_rows
from ipcsim.scenario.load import load_scenario

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Not a skip: CI must build the site. The dev extra and requirements-dev.lock carry MkDocs.
    try:
        import material  # noqa: F401
    except ImportError:
        pytest.fail("mkdocs-material is not installed: `make setup` (requirements-dev.lock)")
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "WARNING" not in result.stderr, result.stderr[-4000:]
    return out


def _page(site: Path, name: str) -> str:
    return (site / "reference" / name / "index.html").read_text(encoding="utf-8")


def test_the_reference_lists_every_scenario_key_with_its_default(site: Path) -> None:
    page = _page(site, "scenario")
    rows = field_rows(Scenario)
    missing = [row.key for row in rows if f"<code>{html.escape(row.key)}</code>" not in page]
    assert not missing, f"scenario keys not on the reference page: {missing}"
    # the default and the evidence travel with the key
    assert (
        "<code>cohorts.&lt;name&gt;.offer_acceptance</code></td>\n<td>float</td>\n<td>0.8" in page
    )
    assert "P12" in page


def test_the_reference_lists_every_kpi_and_command(site: Path) -> None:
    scenario = load_scenario(ROOT / "configs" / "demonstrator_site.toml")
    page = _page(site, "kpis")
    missing = [name for name in kpi_names(scenario) if f"<code>{name}</code>" not in page]
    assert not missing, f"KPIs not on the reference page: {missing}"
    commands = _page(site, "commands")
    assert all(f'id="{name}"' in commands for name in COMMANDS)
