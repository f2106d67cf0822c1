"""The page's replications and capacity what-if in a real browser, reproduced by the CLI.

Fixtures in ``tests/web/conftest.py``. The runs are short (the demonstrator over a year) so
that the module adds little to ``make test``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ipcsim.analysis.labels import kpi_label
from ipcsim.present.web.batch import HEADLINE_KPIS
from tests.web.pagetools import run, set_number

pytestmark = pytest.mark.browser

P90 = HEADLINE_KPIS["kpi-wait-p90"]


def _download(page: Any, button: str, folder: Path) -> Path:
    """Click a download button; the file saved under the name the page suggests."""
    with page.expect_download() as download:
        page.click(button)
    path = folder / download.value.suggested_filename
    download.value.save_as(path)
    return path


def _experiment(spec: Path, out: Path) -> pd.DataFrame:
    """``ipcsim experiment`` of a downloaded spec; its summary.parquet."""
    done = subprocess.run(
        [sys.executable, "-m", "ipcsim", "experiment", str(spec), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=spec.parent,
        env={**os.environ, "COLUMNS": "120"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return pd.read_parquet(out / "summary.parquet")


@pytest.mark.slow  # make validate: ipcsim experiment in a subprocess, about 30 s here
def test_replications_show_means_and_cis_that_ipcsim_experiment_reproduces(
    page: Any, tmp_path: Path
) -> None:
    set_number(page, "#horizon", 365)
    set_number(page, "#replications", 3)
    shown = run(page)
    assert page.get_attribute("#run-identity", "data-replications") == "3"
    cis = page.eval_on_selector_all(
        "#answer-card [data-ci-low]",
        "els => els.map(e => [e.id, e.getAttribute('data-ci-low'),"
        " e.getAttribute('data-ci-high')])",
    )
    bounds = {key: (json.loads(low), json.loads(high)) for key, low, high in cis}
    low, high = bounds["kpi-wait-p50"]
    assert low < shown["kpi-wait-p50"] < high  # three different replications
    assert "95% CI" in page.inner_text("#kpi-wait-p50")
    assert "experiment" in page.inner_text("#download-note")

    _download(page, "#download_toml", tmp_path)
    spec = _download(page, "#download_spec", tmp_path)
    summary = _experiment(spec, tmp_path / "cli")
    rows = summary[summary["scenario"] == "s000"].set_index("kpi")
    for element, kpi in HEADLINE_KPIS.items():
        assert shown[element] == rows.loc[kpi, "mean"], element
        if element in bounds:
            assert bounds[element] == (rows.loc[kpi, "ci_low"], rows.loc[kpi, "ci_high"])
    assert (rows["n"] <= 3).all()


def test_the_capacity_what_if_draws_each_level_with_a_ci(page: Any) -> None:
    # Three times the demonstrator's referrals over half a year: one planner cannot keep up.
    page.check("input[name=demand_mode][value=scale]")
    set_number(page, "#demand_scale", 3)
    set_number(page, "#horizon", 180)
    page.click("a[data-value=capacity]")
    page.wait_for_function(
        "document.querySelector('#whatif_factor').value === 'workforce.planner.headcount'"
    )
    assert page.input_value("#whatif_levels") == "1, 2, 3, 4"  # around the two planners
    page.fill("#whatif_levels", "1, 4")
    page.fill("#whatif_replications", "2")
    page.press("#whatif_replications", "Tab")
    page.click("#whatif_run")
    page.wait_for_selector(f"#whatif-table[data-kpi={P90}]")
    cells = page.eval_on_selector_all(
        "#whatif-table .whatif-value",
        "els => els.map(e => [e.getAttribute('data-level'), e.getAttribute('data-value'),"
        " e.getAttribute('data-ci-low'), e.getAttribute('data-ci-high'), e.dataset.n])",
    )
    levels = {
        json.loads(level): [json.loads(v) for v in rest[:3]] + [rest[3]] for level, *rest in cells
    }
    assert sorted(levels) == [1, 4]
    for mean, low, high, n in levels.values():
        assert n == "2" and low <= mean <= high
    # Seed 20160401: p90 about 52 days with one planner, 20 with four.
    assert levels[1][0] > levels[4][0] + 10
    assert page.get_attribute("#whatif-figure img", "alt") == kpi_label(P90)[0]


@pytest.mark.slow  # make validate: two more runs (the paired CI is tested without a browser)
def test_a_kept_answer_is_compared_with_the_next(page: Any) -> None:
    set_number(page, "#horizon", 365)
    a = run(page)
    page.click("#keep_a")
    page.wait_for_selector("#kept-note")
    set_number(page, "#staff_0", 1)
    b = run(page)
    page.wait_for_selector("#compare")
    cells = page.eval_on_selector_all(
        "#compare [data-diff]",
        "els => els.map(e => [e.id, e.dataset.a, e.dataset.b, e.dataset.diff])",
    )
    assert len(cells) == len(a)
    for element, value_a, value_b, diff in cells:
        key = "kpi-" + element.removeprefix("diff-")
        assert json.loads(value_a) == a[key] and json.loads(value_b) == b[key]
        if a[key] is not None and b[key] is not None:
            assert json.loads(diff) == b[key] - a[key]
    # One planner instead of two: the median wait is longer in B.
    assert "+" in page.inner_text("#diff-wait-p50")
