"""Replications and the capacity what-if as experiment specs: bounded, valid, read back."""

from __future__ import annotations

import json
import math
import re

import pandas as pd
import pytest

from ipcsim.errors import ConfigError
from ipcsim.experiment.spec import spec_from_dict
from ipcsim.present.web.answer import headline
from ipcsim.present.web.batch import (
    HEADLINE_KPIS,
    Estimate,
    capacity_factors,
    check_batch,
    estimates,
    experiment_spec,
    headline_kpis,
    parse_levels,
    replication_counts,
)
from ipcsim.present.web.compare import RunView, compare_html
from ipcsim.scenario.load import read_toml, scenario_from_dict
from tests.conftest import ROOT

DEMONSTRATOR = ROOT / "configs" / "demonstrator_site.toml"


def test_the_factors_are_the_roles_and_the_panel() -> None:
    raw = read_toml(DEMONSTRATOR)
    factors = capacity_factors(raw, scenario_from_dict(raw))
    assert "workforce.planner.headcount" in factors
    assert factors["workforce.planner.headcount"].integer
    assert "signoff.panel.max_plans_per_sitting" in factors
    raw["signoff"]["mode"] = "individual"
    assert not any(k.startswith("signoff") for k in capacity_factors(raw, scenario_from_dict(raw)))


@pytest.mark.parametrize(
    "text, words",
    [
        ("2", "give 2 to 8 different levels, got 1"),
        ("1, 2, x", "numbers separated by commas"),
        ("1, 2.5", "whole numbers only"),
        ("1, 900", "must be 0 to 500 people"),
        (",".join(str(i) for i in range(1, 10)), "give 2 to 8"),
    ],
)
def test_levels_are_bounded(text: str, words: str) -> None:
    raw = read_toml(DEMONSTRATOR)
    factor = capacity_factors(raw, scenario_from_dict(raw))["workforce.planner.headcount"]
    with pytest.raises(ConfigError, match=words):
        parse_levels(text, factor)


def test_levels_are_sorted_distinct_whole_numbers_for_a_count() -> None:
    raw = read_toml(DEMONSTRATOR)
    factor = capacity_factors(raw, scenario_from_dict(raw))["workforce.planner.headcount"]
    assert parse_levels("3 1; 2, 3", factor) == (1, 2, 3)


def test_the_spec_validates_and_replications_are_bounded() -> None:
    scenario = scenario_from_dict(read_toml(DEMONSTRATOR))
    spec = experiment_spec(
        base_file="x.toml",
        name="x",
        seed=7,
        replications=5,
        kpis=headline_kpis(scenario),
        factor="workforce.planner.headcount",
        levels=[1, 2],
    )
    parsed = spec_from_dict(spec)
    assert (parsed.master_seed, parsed.replications.n) == (7, 5)
    assert parsed.grid == {"workforce.planner.headcount": [1, 2]}
    for bad in (0, 21, 2.5):
        with pytest.raises(ConfigError, match="replications"):
            experiment_spec(base_file="x.toml", name="x", seed=7, replications=bad, kpis=[])
    check_batch(1_000, runs=20)
    with pytest.raises(ConfigError, match="at most 1,000,000 referrals in all"):
        check_batch(100_000, runs=20)


def test_estimates_and_counts_are_read_from_the_experiment_tables() -> None:
    summary = pd.DataFrame(
        {
            "scenario": ["s000", "s000", "s001"],
            "kpi": ["a", "b", "a"],
            "mean": [1.0, math.nan, 3.0],
            "ci_low": [0.5, math.nan, 2.0],
            "ci_high": [1.5, math.nan, 4.0],
            "n": [3, 0, 3],
        }
    )
    found = estimates(summary, "s000")
    assert found["a"] == Estimate(1.0, 0.5, 1.5, 3)
    assert found["b"].n == 0 and math.isnan(found["b"].mean)
    replications = pd.DataFrame(
        {
            "scenario": ["s000"] * 4,
            "replication": [0, 0, 1, 1],
            "kpi": ["overload_warnings", "a", "overload_warnings", "a"],
            "value": [2.0, 1.0, 0.0, 1.0],
        }
    )
    assert replication_counts(replications, "s000") == (2, 1)


def test_headline_rows_show_the_mean_and_ci_over_replications() -> None:
    summary = {
        "waits_days": {
            "referral_to_first_conversation": {"p50": 16.0, "p90": 20.0, "still_waiting": 6}
        },
        "last_12_months": {"start": "2017-04-01", "plans_signed_off": 128, "budgets_released": 82},
        "staff_cost_per_person_gbp": {"total": 148.74},
    }
    found = {HEADLINE_KPIS["kpi-wait-p50"]: Estimate(16.5, 15.25, 17.75, 3)}
    found[HEADLINE_KPIS["kpi-wait-p90"]] = Estimate(21.0, math.nan, math.nan, 1)
    rows = {row.id: row for row in headline(summary, found, replications=3)}
    assert rows["kpi-wait-p50"].text == "16 days (95% CI 15 to 18 days)"
    assert rows["kpi-wait-p50"].value == 16.5
    assert rows["kpi-wait-p90"].text == "21 days; known in 1 of 3 replications"
    assert rows["kpi-plans-12m"].value == 128  # no estimate given: the run's own figure


def _view(job_id: str, p50: list[float], *, seed: int = 1) -> RunView:
    summary = {
        "waits_days": {"referral_to_first_conversation": {"p50": p50[0], "still_waiting": 0}},
        "last_12_months": {"start": "2017-04-01", "plans_signed_off": 1, "budgets_released": 1},
    }
    kpi = HEADLINE_KPIS["kpi-wait-p50"]
    found = {kpi: Estimate(sum(p50) / len(p50), math.nan, math.nan, len(p50))}
    return RunView(
        job_id,
        summary,
        {"seed": seed, "config_hash": "ab"},
        scenario_from_dict(read_toml(DEMONSTRATOR)),
        estimates=found if len(p50) > 1 else {},
        replications=len(p50),
        values={kpi: p50} if len(p50) > 1 else {},
    )


def _attributes(html: str, element: str) -> dict[str, str]:
    tag = re.search(rf'<td[^>]*id="{element}"[^>]*>', html)
    assert tag is not None, element
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', tag.group(0)))


def test_b_minus_a_is_paired_only_for_the_same_replications_of_the_same_seed() -> None:
    a, b = _view("a", [10.0, 12.0, 14.0]), _view("b", [11.0, 13.5, 15.0])
    paired = _attributes(str(compare_html(a, b)), "diff-wait-p50")
    diff = json.loads(paired["diff"])
    assert diff == 39.5 / 3 - 12.0  # the means' difference, as shown
    assert float(paired["ci-low"]) < diff < float(paired["ci-high"])
    assert float(paired["ci-high"]) - float(paired["ci-low"]) < 2  # paired: much narrower
    other_seed = _attributes(
        str(compare_html(a, _view("c", [11.0, 13.5, 15.0], seed=2))), "diff-wait-p50"
    )
    assert "ci-low" not in other_seed and json.loads(other_seed["diff"]) == diff
    single = str(compare_html(_view("e", [10.0]), _view("d", [11.0])))
    assert json.loads(_attributes(single, "diff-wait-p50")["diff"]) == 1.0
    assert "+1.0 days" in single and "paired" not in single
