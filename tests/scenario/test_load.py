"""Scenario loading, overrides and one-line validation errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ipcsim.errors import ConfigError
from ipcsim.scenario.load import (
    apply_overrides,
    dotted_get,
    dotted_set,
    load_scenario,
    parse_override,
    scenario_hash,
)
from tests.conftest import CONFIGS, make_scenario


def test_overrides_parse_toml_literals() -> None:
    assert parse_override("workforce.planner.headcount=6") == ("workforce.planner.headcount", 6)
    assert parse_override("run.start_date=2017-01-01")[1].isoformat() == "2017-01-01"
    assert parse_override("site.name=Leeds") == ("site.name", "Leeds")
    assert parse_override('site.name="Leeds"') == ("site.name", "Leeds")
    assert parse_override("workforce.planner.headcount=unlimited")[1] == "unlimited"


def test_overrides_create_nested_tables_without_touching_the_input() -> None:
    data = {"run": {"seed": 1}}
    result = apply_overrides(data, ["run.seed=2", "workforce.planner.headcount=3"])
    assert result == {"run": {"seed": 2}, "workforce": {"planner": {"headcount": 3}}}
    assert data == {"run": {"seed": 1}}


def test_override_changes_the_scenario_and_its_hash() -> None:
    path = CONFIGS[0]
    base = load_scenario(path)
    changed = load_scenario(path, ["run.seed=99"])
    assert changed.run.seed == 99
    assert scenario_hash(base) != scenario_hash(changed)
    assert scenario_hash(base) == scenario_hash(load_scenario(path))


MINIMAL = """
[cohorts.a]
referrals_per_month = 2
[workforce.planner]
[workforce.finance_officer]
[workforce.admin]
[workforce.panel_member]
"""


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[run]\nhorizon_dayz = 3\n", r"x\.toml: run\.horizon_dayz: unknown key.*got 3"),
        ("[run\n", r"x\.toml: malformed TOML"),
        ('[run]\nhorizon_days = "long"\n', r"x\.toml: run\.horizon_days: .*got 'long'"),
        ("[cohorts.b]\noffer_acceptance = 1.3\n", r"cohorts\.b\.offer_acceptance: .*got 1\.3"),
        ("[workforce.coach]\nheadcount = -2\n", r"workforce\.coach\.headcount: .*got -2"),
        (
            "[cohorts.b]\nreferrals_per_month = -1\n",
            r"cohorts\.b\.referrals_per_month: .*greater than or equal to 0.*got -1",
        ),
        (
            "[cohorts.b]\nsessions = { dist = 'fixed', value = 0 }\n",
            r"cohorts\.b\.sessions: value must be at least 1 sessions, got 0",
        ),
    ],
)
def test_bad_input_gives_one_line_naming_file_key_and_value(
    tmp_path: Path, text: str, match: str
) -> None:
    path = tmp_path / "x.toml"
    path.write_text(MINIMAL + text)
    with pytest.raises(ConfigError, match=match) as info:
        load_scenario(path)
    assert "\n" not in str(info.value)


def test_minimal_file_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text(MINIMAL)
    assert load_scenario(path).cohorts["a"].referrals_per_month == 2


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: file not found"):
        load_scenario(tmp_path / "nope.toml")


def test_unknown_role_in_an_activity_is_named() -> None:
    with pytest.raises(ConfigError, match="role 'psychologist' is not in"):
        make_scenario({"pathway": {"plan_writing": {"effort_hours": {"psychologist": 1.0}}}})


def test_ipc_hours_must_fit_the_working_week() -> None:
    with pytest.raises(ConfigError, match="do not fit"):
        make_scenario(
            {"workforce": {"planner": {"contracted_hours_per_week": 60, "ipc_share": 1.0}}}
        )


DEMONSTRATOR = Path(__file__).resolve().parents[2] / "configs" / "demonstrator_site.toml"


@pytest.mark.parametrize(
    ("override", "key", "says"),
    [
        # issue 14: +inf got through validate in 10 of 22 places and then crashed or hung run
        ("workforce.finance_officer.hourly_cost_gbp=inf", "hourly_cost_gbp", "finite"),
        ("cohorts.children.referrals_per_month=inf", "referrals_per_month", "finite"),
        (
            'budget_release.direct_payment.processing_delay_days={dist="fixed", value=inf}',
            "processing_delay_days.value",
            "finite",
        ),
        (
            'pathway.plan_writing.delay_days={dist="uniform", low=0, high=inf}',
            "delay_days.high",
            "finite",
        ),
        # lax conversions: a boolean or a string taken as a number
        ("workforce.planner.ipc_share=true", "workforce.planner.ipc_share", "not a boolean"),
        (
            'workforce.planner.contracted_hours_per_week="8.0"',
            "workforce.planner.contracted_hours_per_week",
            "not a string",
        ),
        ('cohorts.children.sessions={dist="fixed", value=true}', "sessions.value", "boolean"),
        # dates out of range named their key nowhere ("year 10000 is out of range")
        ("run.start_date=9999-12-31", "run.start_date", "less than or equal to 2100-12-31"),
        ("run.horizon_days=1e9", "run.horizon_days", "less than or equal to 36525"),
    ],
)
def test_non_finite_numbers_and_lax_conversions_are_rejected_naming_the_key(
    override: str, key: str, says: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_scenario(DEMONSTRATOR, [override])
    message = str(info.value)
    assert "\n" not in message and key in message and says in message
    assert "demonstrator_site.toml" in message


@pytest.mark.parametrize(
    "override",
    ['workforce.planner.headcount="unlimited"', "run.start_date=2017-04-01", "run.seed=3"],
)
def test_strings_and_dates_where_the_schema_takes_them_still_validate(override: str) -> None:
    load_scenario(DEMONSTRATOR, [override])


# --------------------------------------------------------------------------- dotted keys
def test_dotted_get_walks_tables_and_arrays() -> None:
    data = {"a": {"b": [{"c": 1}, {"c": 2}]}, "x": 3}
    assert dotted_get(data, "x") == (True, 3)
    assert dotted_get(data, ("a", "b", 1, "c")) == (True, 2)
    assert dotted_get(data, "a.b") == (True, [{"c": 1}, {"c": 2}])
    assert dotted_get(data, "a.missing") == (False, None)
    assert dotted_get(data, "x.y") == (False, None)
    assert dotted_get(data, ("a", "b", 2)) == (False, None)


def test_dotted_set_creates_tables_and_refuses_to_replace_a_value() -> None:
    data: dict[str, Any] = {"run": {"seed": 1}}
    dotted_set(data, "workforce.planner.headcount", 4)
    assert data == {"run": {"seed": 1}, "workforce": {"planner": {"headcount": 4}}}
    with pytest.raises(ConfigError, match="'seed' is a value, not a table"):
        dotted_set(data, "run.seed.value", 2)
    with pytest.raises(ConfigError, match=r"--set run\.seed\.x=2: 'seed' is a value"):
        apply_overrides(data, ["run.seed.x=2"])


def test_dotted_set_copies_a_missing_table_from_the_template() -> None:
    template = {"stage": {"duration": {"dist": "uniform", "low": 1.0, "high": 2.0}}}
    data: dict[str, Any] = {}
    dotted_set(data, "stage.duration.high", 5.0, template=template)
    assert data == {"stage": {"duration": {"dist": "uniform", "low": 1.0, "high": 5.0}}}
    assert template["stage"]["duration"]["high"] == 2.0  # the template is left as it was


def test_an_override_that_clashes_names_the_file_and_the_override() -> None:
    # issue 14: `--set run=3 --set run.horizon_days=60` gave an error without the file name
    with pytest.raises(ConfigError) as info:
        load_scenario(DEMONSTRATOR, ["run=3", "run.horizon_days=60"])
    message = str(info.value)
    assert "demonstrator_site.toml" in message and "--set run.horizon_days=60" in message
    assert "'run' is a value, not a table" in message and "\n" not in message


def test_the_old_budget_decline_key_names_the_new_one() -> None:
    """P35 changed meaning (issue 12, item 4): a file still using the old key stops, in one line."""
    config = Path(__file__).parents[2] / "configs" / "demonstrator_site.toml"
    with pytest.raises(
        ConfigError,
        match=r"budget_decline_probability=0\.05: signoff\.budget_decline_probability: renamed to "
        r"signoff\.budget_declined_share, and its meaning changed",
    ):
        load_scenario(config, ["signoff.budget_decline_probability=0.05"])
