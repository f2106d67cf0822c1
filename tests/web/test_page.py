"""The what-if page in a real browser: Playwright drives headless Debian Chromium.

The fixtures (Chromium, ``ipcsim serve``, a tab per test) are in ``tests/web/conftest.py``.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ipcsim.present.web.whatif import expected_referrals
from ipcsim.scenario.load import load_scenario
from tests.conftest import ROOT
from tests.web.pagetools import RUN_TIMEOUT_MS, choose, run, set_number, shown_values, tick

pytestmark = pytest.mark.browser


# --------------------------------------------------------------------------- tests
def test_the_page_loads_with_the_demonstrator_and_its_staff(page: Any) -> None:
    assert "what if" in page.title().lower() or page.locator("text=what if").count()
    assert page.input_value("#scenario") == page.eval_on_selector(
        "#scenario", "s => [...s.options].find(o => o.text === 'demonstrator_site').value"
    )
    assert page.input_value("#staff_0") == "2"  # two planners (P58)
    assert "planner" in page.inner_text("#staff_inputs")
    assert "Up to" in page.inner_text("#expected-referrals")


def test_fewer_planners_make_the_wait_longer(page: Any) -> None:
    two = run(page)
    set_number(page, "#staff_0", 1)
    one = run(page)
    # Demonstrator, seed 20160401: median 16.07 -> 16.44 days, p90 20.5 -> 21.5 days
    # (one planner's IPC time is 80 % busy instead of 40 %).
    assert one["kpi-wait-p50"] > two["kpi-wait-p50"]
    assert one["kpi-wait-p90"] > two["kpi-wait-p90"]
    assert page.locator("#figure-throughput img").count() == 1
    assert page.locator("#figure-utilisation img").count() == 1


def test_a_bad_upload_shows_one_line_next_to_the_upload(page: Any, tmp_path: Path) -> None:
    bad = tmp_path / "mine.toml"
    text = (ROOT / "configs" / "demonstrator_site.toml").read_text(encoding="utf-8")
    bad.write_text(text.replace("headcount = 2 ", "headcont = 2 ", 1), encoding="utf-8")
    page.set_input_files("#upload", str(bad))
    error = page.wait_for_selector("#upload-error")
    message = error.inner_text()
    assert "\n" not in message.strip()
    assert "mine.toml" in message and "headcont" in message
    assert "Traceback" not in page.content()
    assert str(tmp_path) not in message  # the user's name for the file, not a server path
    # The page still answers: the shipped scenario stays selected and runnable.
    assert page.input_value("#staff_0") == "2"


def test_a_good_upload_is_offered_and_run(page: Any, tmp_path: Path) -> None:
    mine = tmp_path / "small_site.toml"
    text = (ROOT / "configs" / "demonstrator_site.toml").read_text(encoding="utf-8")
    mine.write_text(text.replace("horizon_days = 730", "horizon_days = 200"), encoding="utf-8")
    page.set_input_files("#upload", str(mine))
    page.wait_for_function("document.querySelector('#scenario').value === 'upload'")
    page.wait_for_function("document.querySelector('#horizon').value === '200'")
    values = run(page)
    assert values["kpi-plans-12m"] >= 0
    assert "200 days" in page.inner_text("#run-identity")


def test_the_downloaded_toml_reproduces_the_page(page: Any, tmp_path: Path) -> None:
    # Three inputs changed: planners, panel cadence, horizon; and the panel's cap and a
    # budget pot, the later inputs (issue 19, item 4).
    set_number(page, "#staff_0", 3)
    set_number(page, "#panel_interval", 7)
    set_number(page, "#horizon", 400)
    set_number(page, "#panel_max_plans", 6)
    tick(page, "#budget_pot_on")
    set_number(page, "#budget_pot_gbp", 30000)
    choose(page, "#budget_pot_period", "month")
    shown = run(page)
    config_hash = page.get_attribute("#run-identity", "data-config-hash")
    with page.expect_download() as download:
        page.click("#download_toml")
    toml = tmp_path / "page.toml"
    download.value.save_as(toml)
    with page.expect_download() as report:
        page.click("#download_report")
    report.value.save_as(tmp_path / "report.html")
    assert "<html" in (tmp_path / "report.html").read_text(encoding="utf-8")[:2000].lower()
    with page.expect_download() as download:
        page.click("#download_tables")
    tables = tmp_path / "tables.zip"
    download.value.save_as(tables)
    with zipfile.ZipFile(tables) as archive:
        names = set(archive.namelist())
        assert {"run/people.parquet", "run/people.csv", "run/summary.json"} <= names
        assert archive.read("scenario.toml").decode() == toml.read_text(encoding="utf-8")

    out = tmp_path / "cli"
    done = subprocess.run(
        [sys.executable, "-m", "ipcsim", "run", str(toml), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "120"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    wait = summary["waits_days"]["referral_to_first_conversation"]
    last = summary["last_12_months"]
    assert shown == {
        "kpi-wait-p50": wait["p50"],
        "kpi-wait-p90": wait["p90"],
        "kpi-still-waiting": wait["still_waiting"],
        "kpi-within-8w": wait["share_within_8w"],
        "kpi-plans-12m": last["plans_signed_off"],
        "kpi-budgets-12m": last["budgets_released"],
        "kpi-cost": summary["staff_cost_per_person_gbp"]["total"],
    }
    assert manifest["config_hash"] == config_hash
    assert manifest["config"]["workforce"]["planner"]["headcount"] == 3
    assert manifest["config"]["signoff"]["panel"]["max_plans_per_sitting"] == 6
    assert manifest["config"]["budget_envelope"] == {"amount_gbp": 30000, "period": "month"}


@pytest.mark.slow  # make validate: one more run; the panel and pot inputs are in make test
def test_an_individual_sign_off_delay_reaches_the_toml(page: Any, tmp_path: Path) -> None:
    choose(page, "#signoff_mode", "individual")
    set_number(page, "#individual_median", 3)
    set_number(page, "#individual_p95", 30)
    set_number(page, "#horizon", 365)
    run(page)
    with page.expect_download() as download:
        page.click("#download_toml")
    toml = tmp_path / "page.toml"
    download.value.save_as(toml)
    data = tomllib.loads(toml.read_text(encoding="utf-8"))
    assert data["signoff"]["mode"] == "individual"
    assert data["signoff"]["individual"]["delay_days"] == {
        "dist": "lognormal",
        "median": 3,
        "p95": 30,
    }


def test_a_site_s_staff_goes_in_the_site_s_own_table(page: Any, tmp_path: Path) -> None:
    national = load_scenario(ROOT / "configs" / "national_ipc_2015.toml")
    page.select_option("#scenario", label="national_ipc_2015")
    # Settled: the server has the national scenario's own horizon (its referrals expected).
    page.wait_for_selector(f"text=Up to {expected_referrals(national):,.0f} referrals expected")
    page.wait_for_selector("#site-0")
    site = page.inner_text("#site-0 summary").strip()
    page.click("#site-0 summary")  # unfold the site
    label = page.inner_text("label[for=site0_staff_0]")  # "planner (headcount)"
    role = label.split(" (")[0]
    set_number(page, "#site0_staff_0", 7)
    with page.expect_download() as download:
        page.click("#download_toml")
    toml = tmp_path / "page.toml"
    download.value.save_as(toml)
    data = tomllib.loads(toml.read_text(encoding="utf-8"))
    key = "fte" if "WTE" in label else "headcount"
    assert data["sites"][site]["workforce"][role][key] == 7


@pytest.mark.slow  # make validate: keeps make test's browser tests within their budget
def test_a_backlog_is_checked_run_and_named_in_the_toml(page: Any, tmp_path: Path) -> None:
    header = "person_id,site,cohort,stage,waiting_since\n"
    bad = tmp_path / "waiting.csv"
    bad.write_text(header + "1,demonstrator,nobody,consented,2016-03-01\n", encoding="utf-8")
    page.set_input_files("#backlog", str(bad))
    message = page.wait_for_selector("#backlog-error").inner_text()
    assert "waiting.csv" in message and "nobody" in message and str(tmp_path) not in message
    assert page.is_enabled("#run")
    good = tmp_path / "backlog_march.csv"
    rows = "".join(f"{i},demonstrator,ltc_frailty,consented,2016-03-01\n" for i in range(1, 31))
    good.write_text(header + rows, encoding="utf-8")
    page.set_input_files("#backlog", str(good))
    page.wait_for_selector("#backlog-people[data-people='30']")
    set_number(page, "#horizon", 365)
    run(page)
    with page.expect_download() as download:
        page.click("#download_toml")
    toml = tmp_path / "page.toml"
    download.value.save_as(toml)
    assert tomllib.loads(toml.read_text(encoding="utf-8"))["initial_state"] == "backlog.csv"
    with page.expect_download() as download:
        page.click("#download_tables")
    tables = tmp_path / "tables.zip"
    download.value.save_as(tables)
    with zipfile.ZipFile(tables) as archive:
        assert archive.read("backlog.csv").decode() == good.read_text(encoding="utf-8")
        people = pd.read_parquet(io.BytesIO(archive.read("run/people.parquet")))
    assert (people["backlog_stage"].astype(str) == "consented").sum() == 30


def test_the_page_responds_while_a_run_goes_and_the_run_cancels(page: Any) -> None:
    # The demonstrator's demand ramped from 300 to 600 referrals a month over a year, with
    # planners to match: about 12,000 referrals, a few seconds of simulation.
    page.check("input[name=demand_mode][value=ramp]")
    set_number(page, "#ramp_from", 300)
    set_number(page, "#ramp_to", 600)
    set_number(page, "#staff_0", 50)
    page.click("#run")
    page.wait_for_selector("#run-status[data-state=running]")
    started = time.monotonic()
    before = page.inner_text("#expected-referrals")
    set_number(page, "#horizon", 700)  # the server answers while the run goes
    answered_s = time.monotonic() - started
    assert page.inner_text("#expected-referrals") != before
    assert page.get_attribute("#run-status", "data-state") == "running"
    assert answered_s < 5
    page.click("#cancel")
    page.wait_for_selector("#run-status[data-state=cancelled]")
    assert page.is_enabled("#run")


@pytest.mark.slow  # make validate; kept out of make test's 10 minutes
def test_two_tabs_keep_their_own_results(browser: Any, server: str) -> None:
    context = browser.new_context()
    try:
        first, second = context.new_page(), context.new_page()
        for tab in (first, second):
            tab.set_default_timeout(RUN_TIMEOUT_MS)
            tab.goto(server)
            tab.wait_for_selector("#expected-referrals")
        set_number(second, "#staff_0", 1)
        a, b = run(first), run(second)
        assert a != b
        assert first.input_value("#staff_0") == "2"
        assert shown_values(first) == a  # the second tab's run did not land in the first
    finally:
        context.close()
