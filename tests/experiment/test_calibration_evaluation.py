"""The evaluation example and the observed file's ``months`` column.

The example (``experiments/calibration_evaluation/``) must resolve as its README describes: four
observed points, each spanning the months the published figure covers. Its full calibration
takes minutes on two cores and is run by hand (its README holds the printed diagnostics).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ipcsim.errors import ConfigError
from ipcsim.experiment.calibration import (
    load_calibration_spec,
    prepare_calibration,
    read_observed,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "experiments" / "calibration_evaluation"


def test_the_evaluation_example_fits_four_published_counts_over_the_months_they_cover() -> None:
    spec_path = EXAMPLE / "calibrate.toml"
    problem = prepare_calibration(load_calibration_spec(spec_path), spec_path=spec_path)
    found = {(t.site, t.series): (t.period, t.months, t.observed) for t in problem.targets}
    assert found == {
        ("sw_site_1", "referrals"): ("2016-04", 12, 14.0),  # 002:L138-139
        ("sw_site_2", "referrals"): ("2016-04", 12, 17.0),
        ("survey_cohort", "plans_signed_off"): ("2016-04", 9, 92.0),  # V07: 0.67 x 138
        ("survey_cohort", "budgets_released"): ("2016-04", 9, 57.0),  # V07: 0.41 x 138
    }
    assert len(problem.priors) == 5


def test_a_months_cell_spans_that_many_months_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("quarter,months,referrals\n2016-04,,5\n2016-07,6,9\n", encoding="utf-8")
    rows = read_observed(good).rows
    assert [r.months for r in rows] == [3, 6]  # empty: the file's period
    bad = tmp_path / "bad.csv"
    bad.write_text("month,months,referrals\n2016-04,0,5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"row 2, column months: must be a whole number"):
        read_observed(bad)


def test_a_row_past_the_run_is_refused_naming_its_row(tmp_path: Path) -> None:
    for name in ("sites.toml", "calibrate.toml"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    (tmp_path / "observed.csv").write_text(
        "month,months,site,referrals\n2016-04,13,sw_site_1,14\n", encoding="utf-8"
    )
    spec_path = tmp_path / "calibrate.toml"
    with pytest.raises(ConfigError, match=r"row 2, column month: the run does not cover"):
        prepare_calibration(load_calibration_spec(spec_path), spec_path=spec_path)
