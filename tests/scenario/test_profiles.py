"""Site profiles: named partial site tables that sites start from (issue 12, item 5)."""

from __future__ import annotations

from typing import Any

import pytest

from ipcsim.errors import ConfigError
from tests.conftest import make_scenario

PROFILES: dict[str, Any] = {
    "flat": {"cohorts": {"ltc": {"referrals_per_month": 2.0}}},
    "ramping": {
        "cohorts": {"ltc": {"referrals_per_month": 20.0}},
        "workforce": {"planner": {"headcount": 6}},
        "signoff": {"mode": "individual"},
    },
}


def _sites(**sites: Any) -> Any:
    return make_scenario({"profiles": PROFILES, "sites": sites})


def test_a_site_starts_from_its_profile_and_its_own_table_wins() -> None:
    scenario = _sites(
        a={"site": {"profile": "ramping"}},
        b={"site": {"profile": "ramping"}, "workforce": {"planner": {"headcount": 9}}},
        c={"site": {"profile": "flat"}},
        d={},
    )
    a, b, c, d = scenario.site_configs
    assert a.site.profile == "ramping" and d.site.profile == ""
    assert a.cohorts["ltc"].referrals_per_month == 20.0
    assert a.workforce["planner"].headcount == 6 and a.signoff.mode == "individual"
    assert b.workforce["planner"].headcount == 9  # the site's table over its profile
    assert c.cohorts["ltc"].referrals_per_month == 2.0 and c.signoff.mode == "panel"
    # A site without a profile keeps the template (the test base: 8 a month, 2 planners).
    assert d.cohorts["ltc"].referrals_per_month == 8.0 and d.workforce["planner"].headcount == 2


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        (
            {"profiles": PROFILES, "sites": {"a": {"site": {"profile": "stalled"}}}},
            r"sites\.a\.site\.profile: unknown profile 'stalled' \(profiles: flat, ramping\)",
        ),
        (
            {
                "profiles": {"flat": {"cohorts": {"ltc": {"referals_per_month": 2.0}}}},
                "sites": {"a": {}},
            },
            r"profiles\.flat\.cohorts\.ltc\.referals_per_month",
        ),
        (
            {"profiles": {"flat": {"site": {"design_phase_months": 3}}}, "sites": {"a": {}}},
            r"profiles\.flat\.site: a profile cannot set the site's own table",
        ),
        ({"profiles": PROFILES}, r"profiles: site profiles need \[sites\.<name>\] tables"),
        ({"site": {"profile": "flat"}}, r"site\.profile: 'flat' names a profile"),
    ],
)
def test_a_bad_profile_is_one_named_error(changes: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        make_scenario(changes)
    assert "\n" not in str(info.value)
