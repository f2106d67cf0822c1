"""Fuzz the command line with mutated shipped files (issue 14 item 7).

Each mutation of a shipped scenario file or experiment spec (a key deleted or renamed, a value
of the wrong type, an extreme or non-finite number, a bad distribution, broken TOML) must give
exit 0 or 2, no traceback, an error of at most four lines naming the file and a key; and what
``validate`` accepts, ``run`` (``experiment``) runs. Hypothesis draws the mutations,
derandomised: the same ones on every run. ``make test`` runs a small sample; ``make
validate`` runs a thousand. Cases the fuzz found are kept below as explicit examples.
"""

from __future__ import annotations

import collections

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.fuzz.mutations import Mutation, Outcome, check, mutations

FAST_EXAMPLES = 40
"""Mutations in ``make test``."""
SLOW_EXAMPLES = 1000
"""Mutations in ``make validate``."""


def fuzz(examples: int) -> settings:
    """Hypothesis settings of a fuzz run of ``examples`` mutations."""
    return settings(
        max_examples=examples,
        deadline=None,
        # a failing case is already small (one key, one value): report it as drawn
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def assert_clean(outcome: Outcome) -> None:
    """Fail with the mutation and what went wrong, if anything did."""
    details = "\n".join(outcome.details)
    assert outcome.problem is None, f"{outcome.mutation}: {outcome.problem}\n{details}"


DEMONSTRATOR = "configs/demonstrator_site.toml"
ICS = "configs/ics_scale_up.toml"
PANEL = "experiments/panel_cadence/experiment.toml"
PLANNERS = "experiments/planner_capacity/experiment.toml"

FOUND = [
    # ran until killed: 1e300 referrals a month from a date of the referral schedule
    Mutation(
        ICS,
        "set",
        ("cohorts", "learning_disability", "referral_schedule", 1, "referrals_per_month"),
        1e300,
    ),
    # a spec whose base file cannot be found named no key
    Mutation(PANEL, "set", ("base",), "../../config]s/demonstrator_site.toml"),
    # `--set replications.n=2` on a spec whose replications is a number named no file
    Mutation(PLANNERS, "set", ("replications",), 14.0),
    # issue 14: `overrides = ["junk"]` reported `--set junk` though no --set was given
    Mutation(PANEL, "override", (), "junk"),
    # issue 14: a planner with 1e-300 hours a week reported a utilisation of 2.6e299
    Mutation(DEMONSTRATOR, "setcli", ("workforce", "planner", "contracted_hours_per_week"), 1e-300),
    # issue 14: replications.n = 1e12 ran until killed; save_tables = "yes" was taken as true
    Mutation(PLANNERS, "set", ("replications", "n"), 1e12),
    Mutation(PLANNERS, "set", ("save_tables",), "yes"),
    # TypeError traceback: a site's `site` table given as a number
    Mutation("configs/national_ipc_2015.toml", "set", ("sites", "luton", "site"), 3),
    # a key renamed to "" was reported as "x.toml: : unknown key", naming nothing
    Mutation("configs/lone_practitioner.toml", "rename", ("budget_release",), ""),
    # accepted before the bounds, then hung or crashed: a panel sitting every 1e-300 days (the
    # clock stands still), reviews every 1e-300 days (10^301 review draws per person), a
    # lognormal number of sessions with sigma 423 (draws up to 10^300); and an effort of
    # `true` hours, taken as 1
    Mutation(DEMONSTRATOR, "set", ("signoff", "panel", "interval_days"), 1e-300),
    Mutation(DEMONSTRATOR, "set", ("pathway", "review_interval_days"), 1e-300),
    Mutation(DEMONSTRATOR, "set", ("pathway", "plan_writing", "effort_hours", "planner"), True),
    Mutation(
        DEMONSTRATOR,
        "set",
        ("cohorts", "children", "sessions"),
        {"dist": "lognormal", "median": 1e-300, "p95": 100},
    ),
]
"""Mutations the fuzz (or issue 14) found: once a traceback, a hang, nonsense or no key named."""


@pytest.mark.parametrize("mutation", FOUND, ids=str)
def test_mutations_once_found_now_give_one_named_line_or_run(mutation: Mutation) -> None:
    assert_clean(check(mutation))


@fuzz(FAST_EXAMPLES)
@given(mutation=mutations())
def test_mutated_files_are_refused_in_one_named_line_or_run(mutation: Mutation) -> None:
    assert_clean(check(mutation))


@pytest.mark.slow
@pytest.mark.validation
def test_a_thousand_mutations_are_refused_in_one_named_line_or_run(
    record_property: pytest.RecordProperty,
) -> None:
    tally: collections.Counter[str] = collections.Counter()

    @fuzz(SLOW_EXAMPLES)
    @given(mutation=mutations())
    def one(mutation: Mutation) -> None:
        outcome = check(mutation)
        tally[outcome.label] += 1
        assert_clean(outcome)

    one()
    record_property("outcomes", dict(tally))  # the README's figure: pytest --junitxml
    assert sum(tally.values()) >= SLOW_EXAMPLES
