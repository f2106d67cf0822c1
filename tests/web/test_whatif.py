"""The page's inputs as data: bounded, applied to the TOML tables, written back as TOML."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from ipcsim.errors import ConfigError
from ipcsim.present.web.app import bounded_uploads, read_base
from ipcsim.present.web.backlog import count_backlog
from ipcsim.present.web.inputs import initial_values, read_what_if, site_staff
from ipcsim.present.web.whatif import (
    MAX_EXPECTED_REFERRALS,
    RoleChange,
    WhatIf,
    apply_what_if,
    expected_referrals,
    scenario_toml,
)
from ipcsim.scenario.load import read_toml, scenario_from_dict, scenario_hash
from tests.conftest import CONFIGS, ROOT

DEMONSTRATOR = ROOT / "configs" / "demonstrator_site.toml"


def _raw(path: Path = DEMONSTRATOR) -> dict[str, Any]:
    return read_toml(path)


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_shipped_scenario_round_trips_through_the_page_unchanged(path: Path) -> None:
    raw = _raw(path)
    if expected_referrals(scenario_from_dict(raw)) > MAX_EXPECTED_REFERRALS:
        # England at full scale (configs/england_upc.toml) is for `ipcsim run`, and says so.
        with pytest.raises(ConfigError, match="use `ipcsim run` for larger runs"):
            apply_what_if(raw, WhatIf(), source=path.name)
        return
    data = apply_what_if(raw, WhatIf(), source=path.name)
    again = tomllib.loads(scenario_toml(data, comment="from the page"))
    assert again == raw
    assert scenario_hash(scenario_from_dict(again)) == scenario_hash(scenario_from_dict(raw))


def test_changes_land_in_the_tables_and_the_original_is_left_alone() -> None:
    raw = _raw()
    what = WhatIf(
        staff={"planner": RoleChange(staff=1, ipc_share=0.25)},
        signoff_mode="individual",
        panel_interval_days=7,
        horizon_days=365,
        seed=5,
    )
    scenario = scenario_from_dict(apply_what_if(raw, what, source="x"))
    assert scenario.workforce["planner"].headcount == 1
    assert scenario.workforce["planner"].ipc_share == 0.25
    assert scenario.signoff.mode == "individual"
    assert scenario.signoff.panel.interval_days == 7
    assert (scenario.run.horizon_days, scenario.run.seed) == (365, 5)
    assert raw["workforce"]["planner"]["headcount"] == 2


def test_scale_multiplies_every_cohort_and_a_ramp_shares_the_total_by_rate() -> None:
    raw = _raw()
    scaled = scenario_from_dict(
        apply_what_if(raw, WhatIf(demand_mode="scale", demand_scale=2.0), source="x")
    )
    assert scaled.cohorts["ltc_frailty"].referrals_per_month == 12.0
    ramp = WhatIf(demand_mode="ramp", ramp_from=24.0, ramp_to=48.0, ramp_months=4)
    ramped = scenario_from_dict(apply_what_if(raw, ramp, source="x"))
    points = [p.referrals_per_month for p in ramped.cohorts["ltc_frailty"].referral_schedule]
    assert points == [12.0, 15.0, 18.0, 21.0, 24.0]  # 6 of the 12 a month: half the total
    total = sum(c.referral_schedule[-1].referrals_per_month for c in ramped.cohorts.values())
    assert total == pytest.approx(48.0)


@pytest.mark.parametrize(
    "what, words",
    [
        (WhatIf(demand_mode="scale", demand_scale=50.0), "demand scale: must be 0.1 to 10"),
        (WhatIf(demand_mode="ramp", ramp_to=1e9), "ramp to: must be 0 to 2,000"),
        (WhatIf(staff={"planner": RoleChange(staff=10_000)}), "planner: must be 0 to 500"),
        (WhatIf(staff={"planner": RoleChange(ipc_share=float("nan"))}), "IPC share"),
        (WhatIf(horizon_days=100_000), "horizon: must be 30 to 1,826"),
        (WhatIf(staff={"wizard": RoleChange(staff=1)}), "no role 'wizard'"),
        (
            WhatIf(demand_mode="ramp", ramp_from=2000, ramp_to=2000, horizon_days=1826),
            "the page runs at most",
        ),
    ],
)
def test_every_input_is_bounded(what: WhatIf, words: str) -> None:
    raw = _raw()
    if what.horizon_days == 1826:  # the demonstrator costs two set-up years only
        raw.pop("economics")
    with pytest.raises(ConfigError, match=words):
        apply_what_if(raw, what, source="x")


def test_expected_referrals_bound_the_referrals_of_a_run() -> None:
    scenario = scenario_from_dict(_raw())
    assert expected_referrals(scenario) == pytest.approx(12.0 * 730 / (365.25 / 12))
    assert expected_referrals(scenario) < MAX_EXPECTED_REFERRALS


def test_a_bad_file_is_one_line_naming_the_person_s_file(tmp_path: Path) -> None:
    bad = tmp_path / "upload.toml"
    bad.write_text(DEMONSTRATOR.read_text().replace("headcount = 2", "headcont = 2", 1))
    with pytest.raises(ConfigError) as caught:
        read_base(bad, name="mine", origin="mine.toml")
    assert "\n" not in str(caught.value)
    assert "mine.toml" in str(caught.value) and str(tmp_path) not in str(caught.value)
    bad.write_text("[run\n")
    with pytest.raises(ConfigError, match="mine.toml: malformed TOML"):
        read_base(bad, name="mine", origin="mine.toml")


def test_uploads_larger_than_the_limit_are_refused_before_the_app() -> None:
    reached: list[str] = []
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {}

    wrapped = bounded_uploads(app, max_bytes=100)

    def call(path: str, length: bytes) -> None:
        scope = {"type": "http", "path": path, "headers": [(b"content-length", length)]}
        asyncio.run(wrapped(scope, receive, send))

    call("/session/abc/upload/1", b"1000")
    assert sent[0]["status"] == 413 and not reached
    call("/session/abc/upload/1", b"50")
    call("/", b"100000")
    assert reached == ["/session/abc/upload/1", "/"]


def test_serve_refuses_a_bad_scenario_in_one_line_before_listening(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[run]\nhorizon_days = -1\n")
    done = subprocess.run(
        [sys.executable, "-m", "ipcsim", "serve", str(bad), "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert "bad.toml" in done.stderr


def _untouched(raw: dict[str, Any]) -> dict[str, Any]:
    """The values the page's inputs hold for a scenario nobody has touched."""
    scenario = scenario_from_dict(raw)
    values: dict[str, Any] = dict(initial_values(scenario))
    for i, (_, table) in enumerate((raw.get("workforce") or {}).items()):
        values[f"staff_{i}"] = table.get("fte", table.get("headcount", 1))
        values[f"share_{i}"] = table.get("ipc_share", 1.0)
    for j, (_, roles) in enumerate(site_staff(scenario)):
        for i, (_, _, staff, share) in enumerate(roles):
            values[f"site{j}_staff_{i}"], values[f"site{j}_share_{i}"] = staff, share
    demand = {"demand_mode": "as_is", "demand_scale": 1, "ramp_from": 10, "ramp_to": 20}
    return values | demand | {"ramp_months": 12}


def _what_if(raw: dict[str, Any], **changes: Any) -> WhatIf:
    values = _untouched(raw) | changes
    roles = list((raw.get("workforce") or {}).items())
    return read_what_if(values.get, roles, scenario_from_dict(raw))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_inputs_left_alone_change_nothing(path: Path) -> None:
    raw = _raw(path)
    what = _what_if(raw)
    assert (what.staff, what.site_staff, what.budget_pot, what.seed) == ({}, {}, None, None)
    if expected_referrals(scenario_from_dict(raw)) <= MAX_EXPECTED_REFERRALS:
        assert apply_what_if(raw, what, source=path.name) == raw


def test_panel_inputs_set_its_cap_members_and_days_replacing_a_cadence() -> None:
    raw = _raw()
    raw["signoff"]["panel"].pop("interval_days")
    raw["signoff"]["panel"]["cadence"] = "monthly"
    what = _what_if(raw, panel_max_plans=12, panel_members=5, panel_interval=7)
    panel = scenario_from_dict(apply_what_if(raw, what, source="x")).signoff.panel
    assert (panel.max_plans_per_sitting, panel.members_per_sitting) == (12, 5)
    assert (panel.interval_days, panel.cadence) == (7, None)
    capped = apply_what_if(raw, what, source="x")
    uncapped = apply_what_if(capped, _what_if(capped, panel_max_plans=0), source="x")
    assert "max_plans_per_sitting" not in uncapped["signoff"]["panel"]


def test_individual_and_sequential_delays_are_lognormal_by_median_and_p95() -> None:
    raw = _raw()
    what = _what_if(
        raw,
        signoff_mode="sequential",
        individual_median=2,
        individual_p95=10,
        sequential_steps=3,
        sequential_median=3,
        sequential_p95=30,
    )
    signoff = scenario_from_dict(apply_what_if(raw, what, source="x")).signoff
    assert signoff.mode == "sequential"
    assert (signoff.individual.delay_days.median, signoff.individual.delay_days.p95) == (2, 10)
    assert len(signoff.sequential.steps) == 3
    assert {(s.delay_days.median, s.delay_days.p95) for s in signoff.sequential.steps} == {(3, 30)}
    with pytest.raises(ConfigError, match="95th percentile must exceed the median"):
        apply_what_if(raw, _what_if(raw, individual_median=5, individual_p95=5), source="x")


def test_the_budget_pot_is_limited_and_lifted() -> None:
    raw = _raw()
    assert "budget_envelope" not in raw
    limited = apply_what_if(
        raw,
        _what_if(raw, budget_pot_on=True, budget_pot_gbp=50_000, budget_pot_period="month"),
        source="x",
    )
    envelope = scenario_from_dict(limited).budget_envelope
    assert envelope is not None and (envelope.amount_gbp, envelope.period) == (50_000, "month")
    lifted = apply_what_if(limited, _what_if(limited, budget_pot_on=False), source="x")
    assert scenario_from_dict(lifted).budget_envelope is None
    with pytest.raises(ConfigError, match="budget pot: must be 0 to"):
        apply_what_if(raw, _what_if(raw, budget_pot_on=True, budget_pot_gbp=-1), source="x")


def test_a_site_s_staff_goes_in_its_own_table_and_wins_for_it_alone() -> None:
    raw = _raw(ROOT / "configs" / "national_ipc_2015.toml")
    sites = site_staff(scenario_from_dict(raw))
    j, (site, roles) = next(
        (j, entry) for j, entry in enumerate(sites) if any(r[0] == "planner" for r in entry[1])
    )
    i, (_, in_fte, staff, _) = next((i, r) for i, r in enumerate(roles) if r[0] == "planner")
    what = _what_if(raw, **{f"site{j}_staff_{i}": staff + 3, f"site{j}_share_{i}": 0.5})
    assert set(what.site_staff) == {site}
    changed = scenario_from_dict(apply_what_if(raw, what, source="x"))
    before = {s.site.name: s.workforce["planner"] for s in scenario_from_dict(raw).site_configs}
    for spec in changed.site_configs:
        planner = spec.workforce["planner"]
        if spec.site.name != site:
            assert planner == before[spec.site.name]
            continue
        assert (planner.fte if in_fte else planner.headcount) == staff + 3
        assert planner.ipc_share == 0.5


def test_a_scenario_naming_a_backlog_is_sent_to_the_backlog_upload(tmp_path: Path) -> None:
    named = tmp_path / "upload.toml"
    named.write_text('initial_state = "b.csv"\n' + DEMONSTRATOR.read_text(), encoding="utf-8")
    (tmp_path / "b.csv").write_text("person_id,site,cohort,stage,waiting_since\n")
    with pytest.raises(ConfigError, match="mine.toml: initial_state: .* upload the CSV"):
        read_base(named, name="mine", origin="mine.toml")


def test_a_backlog_is_counted_and_its_errors_name_the_person_s_file(tmp_path: Path) -> None:
    scenario = scenario_from_dict(_raw())
    path = tmp_path / "backlog.csv"
    header = "person_id,site,cohort,stage,waiting_since\n"
    path.write_text(header + "1,demonstrator,children,signed_off,2016-01-04\n")
    assert count_backlog(path, scenario, origin="mine.csv") == 1
    path.write_text(header + "1,demonstrator,children,signed_off,2099-01-04\n")
    with pytest.raises(ConfigError) as caught:
        count_backlog(path, scenario, origin="mine.csv")
    assert "mine.csv" in str(caught.value) and str(tmp_path) not in str(caught.value)
    what = WhatIf(initial_state="backlog.csv")
    assert apply_what_if(_raw(), what, source="x")["initial_state"] == "backlog.csv"
