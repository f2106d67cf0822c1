"""``ipcsim --help`` lists the commands without importing them (issue 18: lazy imports)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from ipcsim.cli import app
from ipcsim.cli.main import COMMANDS, load_command
from tests.conftest import ROOT

HEAVY = ("pandas", "matplotlib", "shiny", "simpy", "pyarrow", "scipy")


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_listed_help_line_is_the_command_s_own(name: str) -> None:
    command = load_command(name)
    own = (command.help or "").strip().splitlines()[0]
    assert COMMANDS[name][1] == own


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from ipcsim.cli.main import main\n"
        "sys.argv = ['ipcsim', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print('imported:', ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "serve" in result.stdout and "Commands" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "imported:"  # none of them


def test_a_mistyped_command_is_suggested_and_a_listed_one_runs() -> None:
    runner = CliRunner()
    wrong = runner.invoke(app, ["rnu"])
    assert wrong.exit_code == 2 and "Did you mean 'run'?" in wrong.output
    listed = runner.invoke(app, ["kpis", "--help"])
    assert listed.exit_code == 0 and "KPI" in listed.output
