"""Every quantity of a scenario is bounded, and its description states the unit and the bounds."""

from __future__ import annotations

import inspect
import math
import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import annotated_types
import pytest
from pydantic import BaseModel

from ipcsim.errors import ConfigError
from ipcsim.scenario import bounds
from ipcsim.scenario.bounds import DistributionBound
from ipcsim.scenario.load import load_scenario, scenario_from_dict
from tests.conftest import CONFIGS

DEMONSTRATOR = Path(__file__).resolve().parents[2] / "configs" / "demonstrator_site.toml"


def shown(bound: Any) -> str:
    """A bound as descriptions write it: 36,525; 0.01; 10,000,000; 1e12; 2^63; 2100-12-31."""
    if hasattr(bound, "isoformat"):
        return str(bound.isoformat())
    for power in (32, 63):
        if bound == 2**power:
            return f"2^{power}"
    if bound == int(bound) and abs(bound) < 1e9:
        return f"{int(bound):,}"
    return re.sub(r"e\+0*", "e", f"{bound:,g}")


def bounded_fields(model: type[BaseModel]) -> Iterator[tuple[str, float | None, float | None]]:
    """``(field, lower, upper)`` of every field of ``model`` with a numeric bound."""
    for name, field in model.model_fields.items():
        low = high = None
        metadata = list(field.metadata)
        annotation = field.annotation
        metadata += getattr(annotation, "__metadata__", ())
        for item in metadata:
            if isinstance(item, annotated_types.Ge | annotated_types.Gt):
                low = item.ge if isinstance(item, annotated_types.Ge) else item.gt
            elif isinstance(item, annotated_types.Le | annotated_types.Lt):
                high = item.le if isinstance(item, annotated_types.Le) else item.lt
            elif isinstance(getattr(item, "func", None), DistributionBound):
                low, high = item.func.low, item.func.high
        if low is not None or high is not None:
            yield name, low, high


def scenario_models() -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for module in (
        "run",
        "cohorts",
        "workforce",
        "pathway",
        "signoff",
        "budgets",
        "economics",
        "reporting",
        "scenario",
        "distributions",
    ):
        namespace = vars(getattr(__import__(f"ipcsim.scenario.{module}").scenario, module))
        for value in namespace.values():
            if inspect.isclass(value) and issubclass(value, BaseModel):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return list(found.values())


def test_every_scenario_quantity_has_an_upper_bound() -> None:
    unbounded = []
    for model in scenario_models():
        bounded = {name for name, _, high in bounded_fields(model) if high is not None}
        for name, field in model.model_fields.items():
            kinds = {getattr(a, "__name__", str(a)) for a in _leaves(field.annotation)}
            numeric = kinds & {"float", "int"}
            if (
                numeric
                and name not in bounded
                and name not in _BOUNDED_ELSEWHERE.get(model.__name__, ())
            ):
                unbounded.append(f"{model.__name__}.{name}")
    assert unbounded == []


# Fields bounded by a validator (a list of numbers, a distribution's own rule, a headcount
# that may also be "unlimited"), each checked by a test below or in test_distributions.py.
_BOUNDED_ELSEWHERE = {
    "Activity": ("effort_hours",),  # number or distribution, each bounded (bounds.Effort)
    "BudgetRelease": ("effort_hours",),
    "Cohort": ("plan_duration_months",),  # 1 to 1,200 months or "ongoing" (a test below)
    "Economics": ("setup_cost_per_site_year_gbp", "thresholds_gbp_per_qaly"),
    "Reporting": ("within_weeks",),  # tests/scenario/test_reporting.py
    "Role": ("headcount",),
    "SharedPool": ("headcount",),
    "Discrete": ("values", "probs"),
    "Exponential": ("mean_value",),
    "Gamma": ("mean_value", "sd"),
    "LogNormal": ("mean_value", "sd", "median", "p95"),
    "Fixed": ("value",),
    "Uniform": ("low", "high"),
    "Triangular": ("low", "mode", "high"),
}


def _leaves(annotation: Any) -> Iterator[Any]:
    args = getattr(annotation, "__args__", None)
    if getattr(annotation, "__metadata__", None) is not None:
        yield from _leaves(annotation.__origin__)
    elif args and not isinstance(annotation, type):
        for arg in args:
            yield from _leaves(arg)
    else:
        yield annotation


@pytest.mark.parametrize("model", scenario_models(), ids=lambda m: m.__name__)
def test_descriptions_state_the_bounds(model: type[BaseModel]) -> None:
    for name, low, high in bounded_fields(model):
        description = model.model_fields[name].description or ""
        if (low, high) == (0, 1):
            continue  # a probability or a share: 0 to 1 goes without saying
        if model.__module__.endswith("distributions"):
            continue  # parameters: bounded by the field that holds the distribution
        if high is not None:
            assert shown(high) in description, (model.__name__, name, description)
        if low not in (None, 0):
            assert shown(low) in description, (model.__name__, name, description)


@pytest.mark.parametrize(
    ("override", "key", "says"),
    [
        # issue 14: ran and reported a planner utilisation of 2.6e299
        (
            "workforce.planner.contracted_hours_per_week=1e-300",
            "workforce.planner.contracted_hours_per_week",
            "greater than or equal to 1",
        ),
        ("workforce.planner.ipc_share=1e-300", "workforce.planner.ipc_share", "0.01"),
        ("workforce.planner.leave_share=0.999999", "workforce.planner.leave_share", "0.9"),
        ("workforce.planner.headcount=1000000000000", "workforce.planner.headcount", "100,000"),
        # the fuzz test: ran until killed (1e300 referrals a month, a panel every 1e-300 days)
        (
            "cohorts.children.referrals_per_month=1e300",
            "cohorts.children.referrals_per_month",
            "less than or equal to 1000000",
        ),
        ("signoff.panel.interval_days=1e-300", "signoff.panel.interval_days", "1"),
        ("pathway.review_interval_days=1e-300", "review_interval_days", "7"),
        ("cohorts.children.plan_duration_months=1e9", "plan_duration_months", "1200"),
        ("cohorts.children.plan_duration_months=0.001", "plan_duration_months", "1"),
        # a distribution's parameters are bounded by the field that holds it
        (
            'cohorts.children.sessions={dist="fixed", value=1e9}',
            "cohorts.children.sessions",
            "value must be at most 100 sessions",
        ),
        (
            'cohorts.children.sessions={dist="lognormal", median=2, p95=5}',
            "cohorts.children.sessions",
            "a highest value",
        ),
        (
            'pathway.invitation.delay_days={dist="exponential", mean=1e300}',
            "pathway.invitation.delay_days",
            "mean must be at most 36,525 days",
        ),
        (
            'signoff.individual.delay_days={dist="lognormal", median=1e-300, p95=21}',
            "signoff.individual.delay_days",
            "at most 1,000 times the median",
        ),
        (
            'budget_release.notional.processing_delay_days={dist="gamma", mean=5, sd=1e-300}',
            "processing_delay_days",
            "at least 0.001 times the mean",
        ),
        # an effort is a number or a distribution: neither may be taken laxly
        (
            "pathway.plan_writing.effort_hours.planner=true",
            "pathway.plan_writing.effort_hours.planner",
            "not a boolean",
        ),
        (
            'pathway.plan_writing.effort_hours.planner="8.0"',
            "pathway.plan_writing.effort_hours.planner",
            "not a string",
        ),
        (
            'pathway.plan_writing.effort_hours.planner={dist="fixed", value=true}',
            "pathway.plan_writing.effort_hours.planner.value",
            "not a boolean",
        ),
        (
            'pathway.plan_writing.effort_hours.planner={dist="weibull", shape=2}',
            "pathway.plan_writing.effort_hours.planner",
            "'weibull'",
        ),
        ("economics.setup_cost_per_site_year_gbp=[1e300]", "setup_cost", "0 to 1e+12 pounds"),
        # dates: those of the run's range (1990 to the end of the longest run from 2100)
        ("site.start_date=0001-01-01", "site.start_date", "1990-01-01"),
        ("targets=[{date=9999-12-31, plans_per_year=5}]", "targets.0.date", "2200-12-31"),
        ("economics.thresholds_gbp_per_qaly=[true]", "thresholds_gbp_per_qaly.0", "boolean"),
    ],
)
def test_out_of_range_values_are_refused_naming_the_key(override: str, key: str, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_scenario(DEMONSTRATOR, [override])
    message = str(info.value)
    assert "\n" not in message and key in message and says in message, message
    assert "demonstrator_site.toml" in message


@pytest.mark.parametrize(
    "override",
    [
        # England at full scale fits: ~750,000 plans a year, thousands of planners
        "cohorts.ltc_frailty.referrals_per_month=62500",
        "workforce.planner.headcount=7500",
        "workforce.planner.fte=7500.5",
        "workforce.planner.contracted_hours_per_week=1",
        "workforce.planner.ipc_share=0.01",
        "cohorts.ltc_frailty.eligible_population=60000000",
        'cohorts.ltc_frailty.budget_amount_gbp={dist="lognormal", median=20000, p95=400000}',
        "run.horizon_days=36525",
    ],
)
def test_the_largest_plausible_scenarios_are_accepted(override: str) -> None:
    load_scenario(DEMONSTRATOR, ["economics.setup_cost_per_site_year_gbp=150000", override])


def test_shipped_configs_lie_inside_every_bound() -> None:
    for config in CONFIGS:
        load_scenario(config)


def test_bounds_are_finite_and_ordered() -> None:
    for name in bounds.__all__:
        value = getattr(bounds, name)
        if isinstance(value, int | float):
            assert math.isfinite(value) and value > 0, name
    assert bounds.MIN_WEEKLY_HOURS < bounds.MAX_WEEKLY_HOURS
    assert bounds.MIN_SHARE < bounds.MAX_LEAVE_SHARE < 1


def test_dist_names_match_the_distributions() -> None:
    from ipcsim.scenario import AnyDistribution
    from ipcsim.scenario.distributions import DISTRIBUTIONS

    names = {member.model_fields["dist"].default for member in typing.get_args(AnyDistribution)}
    assert set(DISTRIBUTIONS) == names


@pytest.mark.parametrize(
    ("config", "override", "says"),
    [
        # a site's tables: the same one-line message, the key under sites.<name>
        (
            "national_ipc_2015.toml",
            "sites.luton.workforce.planner.ipc_share=true",
            "sites.luton.workforce.planner.ipc_share: must be a number, not a boolean, got True",
        ),
        (
            "national_ipc_2015.toml",
            'sites.luton.cohorts.dementia.sessions={dist="fixed", value=1e9}',
            "sites.luton.cohorts.dementia.sessions: value must be at most 100 sessions, got 1e+09",
        ),
        # the fuzz test: a TypeError traceback
        ("national_ipc_2015.toml", "sites.luton.site=3", "sites.luton.site: expected a table"),
        # a parameter of a distribution the file leaves at its default
        (
            "demonstrator_site.toml",
            "cohorts.children.sessions.value=3",
            "cohorts.children.sessions: needs a 'dist' key naming the distribution",
        ),
    ],
)
def test_errors_name_the_key_as_the_file_writes_it(config: str, override: str, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_scenario(DEMONSTRATOR.parent / config, [override])
    assert says in str(info.value) and "\n" not in str(info.value)


def test_keys_that_toml_quotes_are_quoted() -> None:
    # the fuzz test: a key renamed to "" gave "x.toml: : unknown key", naming nothing
    data = {"cohorts": {"a.b": {"": 3}}, "workforce": {"planner": {}}}
    with pytest.raises(ConfigError, match=r'<x>: cohorts\."a\.b"\."": unknown key'):
        scenario_from_dict(data, source="<x>")
