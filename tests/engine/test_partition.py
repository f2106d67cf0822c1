"""Partitioned runs (issue 17): sites that share nothing, simulated apart, give the same records.

The grouping is the connected components of shared pools and panels; a run split into groups,
each in its own model, gives the same tables row for row as one model of every site, and the
same person ids.
"""

from __future__ import annotations

import filecmp
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ipcsim.engine.partition import number_people, simulate_group
from ipcsim.io.run_folder import read_run_outputs
from ipcsim.run import RunResult, group_tasks, run_scenario, write_run
from ipcsim.scenario import Scenario
from ipcsim.scenario.load import load_scenario
from ipcsim.scenario.partition import site_groups, sub_scenario
from tests.conftest import ROOT
from tests.engine.test_scaleup import date_after, multi_site, write_backlog

TABLES = ("people", "work", "waits", "timeseries", "capacity")


def five_sites(**extra: Any) -> Scenario:
    """Sites a-e: a finance team shared by a and c, a panel shared by c and d; b, e alone."""
    cohort = {"ltc": {"referrals_per_month": 6.0}}
    tables: dict[str, Any] = {
        name: {"cohorts": cohort, "signoff": {"mode": "panel"}} for name in "abcde"
    }
    tables["b"]["site"] = {"start_date": date_after(40), "design_phase_months": 1}
    tables["e"]["budget_envelope"] = {"period": "month", "amount_gbp": 3000.0}
    tables["d"]["workforce"] = {"planner": {"annual_turnover": 1.5, "replacement_lag_days": 15}}
    shared_pools = {"finance_ac": {"role": "finance_officer", "sites": ["c", "a"], "headcount": 1}}
    shared_panels = {"panel_cd": {"sites": ["d", "c"], "interval_days": 21}}
    return multi_site(tables, shared_pools=shared_pools, shared_panels=shared_panels, **extra)


def assert_same_run(one: RunResult, other: RunResult) -> None:
    """Every table identical (values, dtypes, categories, order) and the same summary."""
    for name in TABLES:
        pd.testing.assert_frame_equal(one.frames[name], other.frames[name], check_exact=True)
    assert one.summary == other.summary
    assert one.rng_streams == other.rng_streams


# --------------------------------------------------------------------------- grouping
def test_site_groups_are_the_connected_components_of_shared_pools_and_panels() -> None:
    # a-c share a pool and c-d a panel, so a, c and d are one group (a and d through c).
    assert site_groups(five_sites()) == [("a", "c", "d"), ("b",), ("e",)]


def test_sites_sharing_nothing_are_one_group_each_and_one_site_is_one_group() -> None:
    tables = {name: {"cohorts": {"ltc": {"referrals_per_month": 2.0}}} for name in "xyz"}
    assert site_groups(multi_site(tables)) == [("x",), ("y",), ("z",)]
    single = load_scenario(ROOT / "configs" / "demonstrator_site.toml")
    assert site_groups(single) == [(single.site_names[0],)]
    assert sub_scenario(single, single.site_names) is single


def test_a_chain_of_shared_pools_joins_sites_in_file_order() -> None:
    tables = {name: {"cohorts": {"ltc": {"referrals_per_month": 2.0}}} for name in "pqrs"}
    pools = {
        "one": {"role": "admin", "sites": ["s", "r"], "headcount": 1},
        "two": {"role": "finance_officer", "sites": ["q", "s"], "headcount": 1},
    }
    assert site_groups(multi_site(tables, shared_pools=pools)) == [("p",), ("q", "r", "s")]


def test_a_sub_scenario_keeps_its_sites_pools_and_panels_only() -> None:
    scenario = five_sites()
    group = sub_scenario(scenario, ("a", "c", "d"))
    assert group.site_names == ["a", "c", "d"]
    assert set(group.shared_pools) == {"finance_ac"} and set(group.shared_panels) == {"panel_cd"}
    assert group.site_configs[1] == scenario.site_configs[2]
    alone = sub_scenario(scenario, ("e",))
    assert alone.site_names == ["e"] and not alone.shared_pools and not alone.shared_panels
    with pytest.raises(ValueError, match="finance_ac serves sites both in and out"):
        sub_scenario(scenario, ("a",))
    with pytest.raises(ValueError, match="unknown site"):
        sub_scenario(scenario, ("nowhere",))


# --------------------------------------------------------------------------- same records
def test_partitioned_runs_equal_one_model_with_pools_panels_pots_turnover_and_backlog(
    tmp_path: Path,
) -> None:
    rows = [
        (7, "e", "ltc", "consented", "2016-03-01"),
        (3, "c", "ltc", "plan_written", "2016-02-01"),
        (12, "a", "ltc", "signed_off", "2016-03-15"),
        (5, "b", "ltc", "referred", "2016-03-20"),
    ]
    backlog = write_backlog(tmp_path / "backlog.csv", rows)
    scenario = five_sites(initial_state=str(backlog), run={"horizon_days": 400, "seed": 3})
    whole = run_scenario(scenario)
    split = run_scenario(scenario, partitioned=True)
    assert (whole.partitions, split.partitions) == (1, 3)
    assert_same_run(whole, split)
    # Both shared teams were used across their sites, so the groups did interact inside.
    work = split.work
    assert set(work[work.member.str.startswith("finance_ac")].site) == {"a", "c"}
    people = split.people
    # Backlog people keep their file's ids; referrals are numbered on from the largest.
    assert dict(zip(people.person_id[:4], people.site[:4], strict=True)) == {
        3: "c", 5: "b", 7: "e", 12: "a",
    }  # fmt: skip
    assert people.person_id[4:].tolist() == list(range(13, 13 + len(people) - 4))


def test_referral_ids_follow_the_referral_day_then_the_sites_order() -> None:
    scenario = five_sites()
    people = run_scenario(scenario, partitioned=True).people
    referred = people[people.backlog_stage == ""]
    key = referred.assign(place=referred.site.astype(str).map("abcde".index))
    assert key.person_id.is_monotonic_increasing
    assert (key.referred_day.diff().dropna() >= 0).all()
    ties = key[key.referred_day.duplicated(keep=False)]
    assert ties.groupby("referred_day").place.is_monotonic_increasing.all()


def test_number_people_orders_ties_by_site_then_the_sites_own_count() -> None:
    scenario = five_sites(run={"horizon_days": 200, "seed": 1})
    tasks = group_tasks(scenario, seed=1, replication=0, backlog=(), partitioned=True)
    groups = [simulate_group(task) for task in tasks]
    # Referral days made equal across all sites: only the site order and counts decide.
    tied = [type(g)(**{**g.__dict__, "people": g.people.assign(referred_day=0.0)}) for g in groups]
    ids = number_people(tied, site_names=scenario.site_names, first_person_id=100)
    people = pd.concat([g.people.assign(person_id=i) for g, i in zip(tied, ids, strict=True)])
    people = people.sort_values("person_id")
    place = people.site.astype(str).map("abcde".index).to_numpy()
    assert (np.diff(place) >= 0).all()
    assert people.person_id.tolist() == list(range(100, 100 + len(people)))


def test_a_group_is_simulated_alike_in_any_company() -> None:
    """The records of sites a, c and d do not depend on b and e being in the same model."""
    scenario = five_sites(run={"horizon_days": 300, "seed": 9})
    whole = run_scenario(scenario)
    group = run_scenario(sub_scenario(scenario, ("a", "c", "d")))
    mine = whole.work[whole.work.site.isin(["a", "c", "d"])]
    columns = ["role", "member", "activity", "start_day", "finish_day", "hours"]
    pd.testing.assert_frame_equal(
        mine[columns].astype(str).reset_index(drop=True),
        group.work[columns].astype(str).reset_index(drop=True),
    )


# --------------------------------------------------------------------------- must show
def national(days: int = 365) -> Scenario:
    """The shipped national programme, shortened (whatever its sites and settings today)."""
    return load_scenario(ROOT / "configs" / "national_ipc_2015.toml", [f"run.horizon_days={days}"])


def test_national_partitioned_and_unpartitioned_write_byte_identical_outputs(
    tmp_path: Path,
) -> None:
    scenario = national()
    assert len(site_groups(scenario)) > 1
    whole = run_scenario(scenario)
    split = run_scenario(scenario, partitioned=True)
    assert_same_run(whole, split)
    one = write_run(whole, tmp_path / "whole")
    other = write_run(split, tmp_path / "split")
    names = sorted(p.name for p in one.glob("*.parquet")) + ["summary.json"]
    assert len(names) == len(TABLES) + 1
    match, mismatch, errors = filecmp.cmpfiles(one, other, names, shallow=False)
    assert (mismatch, errors) == ([], []) and sorted(match) == sorted(names)
    # People sorted by person id are the same table, read back from the files too.
    a, b = read_run_outputs(one)["frames"]["people"], read_run_outputs(other)["frames"]["people"]
    pd.testing.assert_frame_equal(
        a.sort_values("person_id", ignore_index=True),
        b.sort_values("person_id", ignore_index=True),
        check_exact=True,
    )


def test_groups_written_to_disk_where_they_ran_give_the_same_run(tmp_path: Path) -> None:
    """Records streamed to disk (issue 17): each group's simulation writes its tables to the
    spill folder and hands back only their place; merged from there, the run is the same,
    table for table, in this process and on two worker processes, and the folder is gone."""
    from ipcsim.experiment.executors import open_executor

    rows = [
        (7, "e", "ltc", "consented", "2016-03-01"),
        (12, "a", "ltc", "signed_off", "2016-03-15"),
    ]
    backlog = write_backlog(tmp_path / "backlog.csv", rows)
    scenario = five_sites(initial_state=str(backlog), run={"horizon_days": 300, "seed": 4})
    whole = run_scenario(scenario)
    spilled = run_scenario(scenario, partitioned=True, spill_dir=tmp_path / "spill")
    assert spilled.partitions == 3
    assert_same_run(whole, spilled)
    with open_executor("process:2") as handle:
        pooled = run_scenario(
            scenario, partitioned=True, executor=handle.executor, spill_dir=tmp_path / "pool"
        )
    assert_same_run(whole, pooled)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backlog.csv"]


def test_a_spilled_group_reads_back_the_tables_it_simulated(tmp_path: Path) -> None:
    from ipcsim.run import simulate_group_to_disk

    tasks = group_tasks(five_sites(), seed=2, replication=0, backlog=(), partitioned=True)
    spilled = simulate_group_to_disk(tasks[0], str(tmp_path / "g"))
    kept = simulate_group(tasks[0])
    for name in ("people", "work", "waits", "renewals"):
        pd.testing.assert_frame_equal(spilled.table(name), kept.table(name), check_exact=True)
    assert spilled.table("people", ["site", "referred_day"]).columns.tolist() == [
        "site",
        "referred_day",
    ]
    assert (spilled.pools, spilled.streams, spilled.backlog_ids) == (
        kept.pools,
        kept.streams,
        kept.backlog_ids,
    )


def test_a_partitioned_run_reports_progress_group_by_group() -> None:
    scenario = national(days=120)
    shares: list[float] = []
    plain = run_scenario(scenario, partitioned=True)
    watched = run_scenario(scenario, partitioned=True, progress=shares.append)
    assert_same_run(plain, watched)
    assert shares == sorted(shares) and shares[-1] == 1.0
    assert len(shares) == 100 * len(site_groups(scenario))


@pytest.mark.slow  # make validate: a Dask cluster's start-up costs seconds
def test_national_on_a_local_dask_cluster_equals_one_model() -> None:
    pytest.importorskip("distributed")
    from ipcsim.experiment.executors import open_executor

    scenario = national(days=150)
    with open_executor("dask:local:2") as handle:
        pooled = run_scenario(scenario, partitioned=True, executor=handle.executor)
    assert pooled.partitions == len(site_groups(scenario))
    assert_same_run(run_scenario(scenario), pooled)
