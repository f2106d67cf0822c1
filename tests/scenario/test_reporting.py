"""The ``[reporting]`` table: waiting standards and overload checks, validated with the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ipcsim.errors import ConfigError
from ipcsim.scenario.load import load_scenario

ROOT = Path(__file__).resolve().parents[2]
DEMONSTRATOR = ROOT / "configs" / "demonstrator_site.toml"


def test_defaults_are_the_first_conversation_at_8_and_18_weeks() -> None:
    scenario = load_scenario(DEMONSTRATOR)
    assert scenario.reporting.within_weeks == {"referral_to_first_conversation": (8.0, 18.0)}
    assert scenario.question == ""


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("reporting.within_weeks={nope=[8]}", r"reporting\.within_weeks: .*unknown wait 'nope'"),
        ("reporting.within_weeks={referral_to_sign_off=[0]}", "0 to 520 weeks, got 0"),
        ("reporting.within_weeks={referral_to_sign_off=[1e300]}", "0 to 520 weeks"),
        ("reporting.within_weeks={referral_to_sign_off=[8, 8]}", "all be different"),
        ("reporting.busy_share=1.3", r"reporting\.busy_share"),
        ("reporting.busy_months=0", r"reporting\.busy_months"),
        ("reporting.trend_months=2", r"reporting\.trend_months"),
        ("reporting.in_progress_after_days=inf", r"reporting\.in_progress_after_days"),
        ("reporting.colour=1", r"reporting\.colour: unknown key"),
    ],
)
def test_bad_reporting_settings_are_refused_naming_the_key(override: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        load_scenario(DEMONSTRATOR, [override])
    assert str(DEMONSTRATOR) in str(info.value)
    assert "\n" not in str(info.value)


def test_other_standards_add_kpis_and_series() -> None:
    from ipcsim.analysis.kpis import kpi_names

    scenario = load_scenario(
        DEMONSTRATOR,
        ["reporting.within_weeks={referral_to_first_conversation=[8], referral_to_sign_off=[26]}"],
    )
    names = kpi_names(scenario)
    assert "share_seen_within_8w" in names and "share_seen_within_18w" not in names
    assert "wait_referral_to_sign_off_share_within_26w" in names


@pytest.mark.parametrize(
    ("override", "suggested"),
    [
        ("workforce.planner.headcnt=3", "workforce.planner.headcnt: unknown key: did you mean "
         "'headcount'?"),
        ("cohorts.ltc_frailty.referals_per_month=3", "did you mean 'referrals_per_month'?"),
        ("signoff.panel.intervl_days=7", "did you mean 'interval_days'?"),
        ("run.horizn_days=30", "did you mean 'horizon_days'?"),
        ("reporting.busy_shar=0.5", "did you mean 'busy_share'?"),
    ],
)  # fmt: skip
def test_a_misspelt_key_gets_the_nearest_valid_one(override: str, suggested: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(suggested)):
        load_scenario(DEMONSTRATOR, [override])


def test_a_key_like_none_gets_no_guess() -> None:
    with pytest.raises(ConfigError, match=r"zzz: unknown key \(check the spelling"):
        load_scenario(DEMONSTRATOR, ["zzz=3"])
