"""`ipcsim breakeven --group-by` and the approach-2 year rows, in process (fast)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from ipcsim.analysis.breakeven import breakeven_by_group, read_sites_csv
from ipcsim.cli.main import app

SITES = (
    Path(__file__).resolve().parents[2] / "experiments" / "ipc_evaluation_breakeven" / "sites.csv"
)


def breakeven_cli(*args: str) -> tuple[int, str, str]:
    # A wide terminal, so rich does not cut the table's cells.
    result = CliRunner().invoke(app, ["breakeven", *args], env={"COLUMNS": "220"})
    return result.exit_code, result.stdout, result.stderr


def test_group_by_adopter_gives_each_group_then_all() -> None:
    code, out, err = breakeven_cli(str(SITES), "--group-by", "adopter", "--format", "json")
    assert code == 0, err
    expected = breakeven_by_group(read_sites_csv(SITES), group_by="adopter")
    assert json.loads(out) == json.loads(json.dumps(expected))

    code, out, err = breakeven_cli(str(SITES), "--group-by", "adopter", "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0])[:4] == ["group", "approach", "panel", "year"]
    assert list(dict.fromkeys(row["group"] for row in rows)) == ["early", "late", "all"]
    # The approach-2 year rows are there for each group: both panel, years 1-3.
    years = [row["year"] for row in rows if row["group"] == "late" and row["panel"] == "both"]
    assert years == ["1", "2", "3", "1", "2", "3", "all"]

    code, out, err = breakeven_cli(str(SITES), "--group-by", "adopter")
    assert code == 0, err
    assert "by adopter" in out
    assert {"early", "late", "all"} <= set(out.split())
    assert "set-up £" in out and "running £" in out


def test_group_by_an_unknown_column_is_one_line_and_exit_status_2() -> None:
    code, out, err = breakeven_cli(str(SITES), "--group-by", "adoptr")
    assert code == 2
    assert out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith(f"error: {SITES}: no column 'adoptr' to group by")
    assert line.endswith("the columns to group by are site, adopter")
    assert "Traceback" not in err


def test_group_by_a_number_column_is_refused() -> None:
    code, _, err = breakeven_cli(str(SITES), "--group-by", "year")
    assert code == 2
    assert "cannot group by column 'year', which holds numbers" in err
