"""``ipcsim run --xlsx``: one workbook that pandas reads, holding the figures of summary.json."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ipcsim.analysis.kpis import flatten_summary
from ipcsim.cli import app
from tests.conftest import ROOT

DEMONSTRATOR = ROOT / "configs" / "demonstrator_site.toml"


def _run(out: Path) -> Path:
    args = ["run", str(DEMONSTRATOR), "--out", str(out), "--xlsx", "--set", "run.horizon_days=400"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return out


def test_the_workbook_holds_the_figures_of_summary_json(tmp_path: Path) -> None:
    out = _run(tmp_path / "run")
    summary = json.loads((out / "summary.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    assert "results.xlsx" in manifest["files"]
    sheets = pd.read_excel(out / "results.xlsx", sheet_name=None)
    assert list(sheets) == ["summary", "per_year", "waits", "timeseries"]

    kpis = flatten_summary(summary, horizon_days=400)
    table = sheets["summary"].set_index("KPI")
    assert sorted(table.index) == sorted(kpis)  # summary.json is written with sorted keys
    for name, value in kpis.items():
        stored = table.loc[name, "value"]
        # openpyxl writes numbers with 15 significant digits (Excel's precision).
        assert (math.isnan(value) and pd.isna(stored)) or stored == pytest.approx(value, rel=1e-14)
    assert table["unit"].notna().all() and table["what it counts"].notna().all()

    per_year = sheets["per_year"]
    assert per_year["referrals (people)"].tolist() == [y["referrals"] for y in summary["per_year"]]
    assert per_year["plans signed off"].tolist() == [
        y["plans_signed_off"] for y in summary["per_year"]
    ]
    waits = sheets["waits"].set_index("wait")
    for stage, figures in summary["waits_days"].items():
        assert waits.loc[stage, "started (people)"] == figures["started"]
        median = waits.loc[stage, "median, counting those still waiting (days)"]
        assert (figures["p50"] is None and pd.isna(median)) or median == pytest.approx(
            figures["p50"], rel=1e-14
        )
    timeseries = pd.read_parquet(out / "timeseries.parquet")
    assert len(sheets["timeseries"]) == len(timeseries)
    assert sheets["timeseries"]["referrals (in the month)"].tolist() == (
        timeseries["referrals"].tolist()
    )


def test_the_workbook_is_the_same_bytes_on_a_rerun(tmp_path: Path) -> None:
    first = _run(tmp_path / "a") / "results.xlsx"
    second = _run(tmp_path / "b") / "results.xlsx"
    assert first.read_bytes() == second.read_bytes()
