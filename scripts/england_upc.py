"""Write ``configs/england_upc.toml``: England's 42 ICBs at Universal Personalised Care scale.

A what-if, not a forecast. Each ICB is a site whose demand and staff are the ICS scale-up
example's (``configs/ics_scale_up.toml``: cohort mix, staff per referral) in proportion to the
ICB's population, with national demand ramping to the NHS Long Term Plan's 750,000
personalised care and support plans a year by 2023/24.

The numbers this script puts in the file, and where they come from:

- ``POPULATION_MILLIONS``: each ICB's resident population in millions, rounded to 0.1.
  **Assumption**: approximate mid-2020 figures, consistent with the published range (42 ICSs
  of "around 500,000 to 3 million people", King's Fund, *Integrated care systems explained*,
  2022) and the figures NHS England gave when designating ICSs (North East and North Cumbria
  "just over 3 million", South East London 1.9 million, Buckinghamshire, Oxfordshire and
  Berkshire West 1.8 million; 2019); not read from the ONS tables. Only the shares matter:
  demand is shared out in proportion to them.
- ``PLANS_PER_YEAR = 750_000`` (NHS Long Term Plan, 2019: personalised care and support plans
  by 2023/24) and ``PLANS_PER_REFERRAL`` (the share of referrals that reach a signed-off plan
  in this scenario, measured on a 1/100-scale run: ``benchmarks/bench_england.py`` prints it).
- The demand ramps in a straight line from ``START_SHARE`` of its 2023/24 level in April 2019
  to all of it in April 2023 (assumption), and stays there in 2023/24.
- Staff per 1,000 referrals a month and the cohort mix: the ICS example at its full size
  (46 planners, 16 finance officers and 4 administrators for 590 referrals a month: 370 LTC
  and frailty, 180 mental health, 25 learning disability, 15 children; assumption there).
  Each half year's recruitment is sized for the demand at the end of the next half year.

Usage::

    python scripts/england_upc.py            # rewrite configs/england_upc.toml
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "configs" / "england_upc.toml"

POPULATION_MILLIONS: dict[str, float] = {
    # North East and Yorkshire
    "north_east_north_cumbria": 3.0,
    "humber_north_yorkshire": 1.7,
    "west_yorkshire": 2.4,
    "south_yorkshire": 1.4,
    # North West
    "greater_manchester": 2.8,
    "cheshire_merseyside": 2.7,
    "lancashire_south_cumbria": 1.7,
    # Midlands
    "birmingham_solihull": 1.3,
    "black_country": 1.2,
    "coventry_warwickshire": 1.0,
    "herefordshire_worcestershire": 0.8,
    "shropshire_telford_wrekin": 0.5,
    "staffordshire_stoke": 1.1,
    "derby_derbyshire": 1.1,
    "nottingham_nottinghamshire": 1.2,
    "leicester_leicestershire_rutland": 1.1,
    "lincolnshire": 0.8,
    "northamptonshire": 0.8,
    # East of England
    "bedfordshire_luton_milton_keynes": 1.0,
    "cambridgeshire_peterborough": 0.9,
    "hertfordshire_west_essex": 1.6,
    "mid_south_essex": 1.2,
    "norfolk_waveney": 1.1,
    "suffolk_north_east_essex": 1.0,
    # London
    "north_central_london": 1.5,
    "north_east_london": 2.0,
    "north_west_london": 2.1,
    "south_east_london": 1.9,
    "south_west_london": 1.5,
    # South East
    "buckinghamshire_oxfordshire_berkshire_west": 1.8,
    "frimley": 0.8,
    "hampshire_isle_of_wight": 1.9,
    "kent_medway": 1.9,
    "surrey_heartlands": 1.1,
    "sussex": 1.7,
    # South West
    "bath_swindon_wiltshire": 0.9,
    "bristol_north_somerset_south_gloucestershire": 1.0,
    "cornwall_isles_of_scilly": 0.6,
    "devon": 1.2,
    "dorset": 0.8,
    "gloucestershire": 0.6,
    "somerset": 0.6,
}

PLANS_PER_YEAR = 750_000
PLANS_PER_REFERRAL = 0.73
"""Signed-off plans per referral in this scenario (1/100-scale run, 2023/24: 0.726)."""
START = dt.date(2019, 4, 1)
FULL = dt.date(2023, 4, 1)
START_SHARE = 0.05
COHORT_MIX = {"ltc_frailty": 370, "mental_health": 180, "learning_disability": 25, "children": 15}
STAFF_PER_1000_REFERRALS = {"planner": 46 / 0.59, "finance_officer": 16 / 0.59, "admin": 4 / 0.59}
RECRUITMENT = [dt.date(2019 + (k + 1) // 2, 1 if k % 2 else 7, 1) for k in range(8)]
"""Recruitment decisions: every 1 July and 1 January from July 2019 to January 2023."""


def demand_share(day: dt.date) -> float:
    """Share of the 2023/24 demand in force on ``day`` (the linear ramp)."""
    if day >= FULL:
        return 1.0
    share = (day - START).days / (FULL - START).days
    return START_SHARE + (1.0 - START_SHARE) * max(0.0, share)


def referrals_per_month(population: float) -> float:
    """An ICB's referrals a month at full demand."""
    total = sum(POPULATION_MILLIONS.values())
    national = PLANS_PER_YEAR / PLANS_PER_REFERRAL / 12
    return national * population / total


def headcount(role: str, referrals: float) -> int:
    """Staff of ``role`` for ``referrals`` a month (at least one)."""
    return max(1, math.ceil(STAFF_PER_1000_REFERRALS[role] * referrals / 1000))


def _half_year_later(day: dt.date) -> dt.date:
    return dt.date(day.year + (day.month + 6 > 12), (day.month + 5) % 12 + 1, 1)


def site_table(name: str, population: float) -> list[str]:
    """The ``[sites.<name>]`` tables of one ICB."""
    full = referrals_per_month(population)
    mix = sum(COHORT_MIX.values())
    lines = [f"# {name.replace('_', ' ')}: {population:.1f} million (assumption, see the top)"]
    for cohort, weight in COHORT_MIX.items():
        rate = full * weight / mix
        lines += [
            f"[sites.{name}.cohorts.{cohort}]",
            f"referrals_per_month = {rate * START_SHARE:.2f}",
            f"referral_schedule = [{{ date = {START}, referrals_per_month = "
            f"{rate * START_SHARE:.2f} }}, {{ date = {FULL}, referrals_per_month = {rate:.2f} }}]",
        ]
    for role in STAFF_PER_1000_REFERRALS:
        now = headcount(role, full * demand_share(_half_year_later(START)))
        changes = []
        for day in RECRUITMENT:
            wanted = headcount(role, full * demand_share(_half_year_later(day)))
            if wanted != now:
                changes.append(f"{{ date = {day}, headcount = {wanted} }}")
                now = wanted
        first = headcount(role, full * demand_share(_half_year_later(START)))
        lines += [
            f"[sites.{name}.workforce.{role}]",
            f"headcount = {first}",
            f"changes = [{', '.join(changes)}]",
        ]
    return [*lines, ""]


HEADER = '''\
# England at Universal Personalised Care scale: a WHAT-IF, NOT A FORECAST.
# The 42 integrated care boards as sites, each with the ICS scale-up example's cohort mix and
# staff per referral (configs/ics_scale_up.toml) in proportion to its population, and national
# demand ramping in a straight line from {start_share:.0%} of its 2023/24 level in April 2019
# to the NHS Long Term Plan's 750,000 personalised care and support plans a year by 2023/24
# (referrals of {national:,.0f} a month at {yield_:.2f} plans per referral). Budgets for
# {budget:.0%} of plans:
# the Long Term Plan's "up to 200,000 personal health budgets" over its 750,000 plans (NHS
# Digital counted 188,489 PHBs in 2023/24). ICB populations are an assumption (approximate
# mid-2020 figures, {total:.1f} million in all; see scripts/england_upc.py, which writes this file).
# Every ICB has its own planners, finance officers, administrators and weekly panel: no team is
# shared, so the 42 sites are 42 independent groups (ipcsim run --executor process:N).
# Full size is about 3 million referrals over five years; for a quick look use
# --set run.horizon_days=365. Every number names its evidence ID or says "assumption".

name = "england_upc"
description = """England's 42 integrated care boards scaling personalised care up to the Long \\
Term Plan's 750,000 plans a year by 2023/24: demand and staff of the ICS scale-up example in \\
proportion to each ICB's population (a what-if, not a forecast)."""
question = """If every ICB staffed IPC like the ICS scale-up example, in proportion to its \\
population, would England reach 750,000 plans a year by 2023/24, and where would people wait?"""

[run]
start_date = {start}      # the Long Term Plan's first year (assumption)
horizon_days = 1827          # five years, to 31 March 2024 (the Long Term Plan's 2023/24)
seed = 2019

# ---- Template every ICB starts from (each [sites.<name>] table sets demand and staff) ----
[cohorts.ltc_frailty]
label = "Multiple long-term conditions and frailty"
budget_probability = {budget:.2f}     # derived: 200,000 PHBs / 750,000 plans (Long Term Plan)
withdrawal_probability_before_first_session = 0.10   # P53 x2 for frailty (P54)
withdrawal_hazard_per_month_waiting = 0.04           # P53 x2 for frailty (P54)
exit_hazard_per_year = 0.15                          # as configs/ics_scale_up.toml (assumption)
referral_interpolation = "linear"                    # the ramp (assumption)

[cohorts.mental_health]
label = "Significant mental health needs"
budget_probability = {budget:.2f}     # derived, as above
referral_interpolation = "linear"

[cohorts.learning_disability]
label = "Learning disabilities with high support needs"
budget_probability = {budget:.2f}     # derived, as above
referral_interpolation = "linear"

[cohorts.children]
label = "Children and young people with complex needs"
budget_probability = {budget:.2f}     # derived, as above
referral_interpolation = "linear"

[workforce.planner]
ipc_share = 0.533            # P57: 20 patient-facing h/week
hourly_cost_gbp = 15.75      # P60 (Band 6)
annual_turnover = 0.15       # P62
replacement_lag_days = 90    # assumption
recruitment_lag_days = 90    # assumption
training_days = 1            # P61
new_starter_weeks = 4        # assumption
new_starter_productivity = 0.5   # assumption

[workforce.finance_officer]
ipc_share = 0.8              # assumption
hourly_cost_gbp = 15.75      # P60 (Band 6)
annual_turnover = 0.15       # P62
recruitment_lag_days = 90    # assumption

[workforce.admin]
ipc_share = 0.8              # assumption
hourly_cost_gbp = 9.0        # assumption: Band 3, Table C-2 row 37
recruitment_lag_days = 60    # assumption

[workforce.panel_member]
headcount = 6                # assumption (multi-agency panel, members rotate)
ipc_share = 0.3              # assumption
hourly_cost_gbp = 24.81      # P60 (panel member)

[pathway]
lead_role = "planner"
priority = "new_first"       # assumption: new planning before reviews
consent_to_first_appointment_days = {{ dist = "fixed", value = 7 }}   # P15

[pathway.plan_writing]
effort_hours = {{ planner = 2.0 }}           # P22

[pathway.budget_setting]
effort_hours = {{ finance_officer = 6.0 }}   # P43

[signoff]
mode = "panel"               # P26
rework_probability = 0.15    # P32

[signoff.panel]
interval_days = 7            # P27 range (weekly at scale)
first_sitting_day = 3        # assumption
members_per_sitting = 4      # assumption; no cap on plans a sitting (assumption)
reviewer_role = "panel_member"

[learning]
plans_to_learn = 300         # assumption: as configs/ics_scale_up.toml (P64)
final_session_multiplier = 0.85   # P64
final_rework_probability = 0.05   # P33

[budget_release.direct_payment]
effort_hours = {{ admin = 1.0 }}             # P44
processing_delay_days = {{ dist = "triangular", low = 7, mode = 21, high = 60 }}   # P45 range
release_probability = 0.9                  # P46

# The Long Term Plan's 2023/24 ambitions, all ICBs together (plans and budgets in the 12
# months to the date).
[[targets]]
date = 2024-03-31
plans_per_year = 750000
budgets_per_year = 200000

# ---- The 42 ICBs: demand (referrals a month, ramping) and staff (recruited each half year) ----
'''


def england_toml() -> str:
    """The whole file."""
    total = sum(POPULATION_MILLIONS.values())
    text = HEADER.format(
        start=START,
        start_share=START_SHARE,
        national=PLANS_PER_YEAR / PLANS_PER_REFERRAL / 12,
        yield_=PLANS_PER_REFERRAL,
        budget=200_000 / PLANS_PER_YEAR,
        total=total,
    )
    body: list[str] = []
    for name, population in POPULATION_MILLIONS.items():
        body += site_table(name, population)
    return text + "\n".join(body)


def main() -> int:
    """Write the file (refusing a table of other than 42 ICBs)."""
    if len(POPULATION_MILLIONS) != 42:
        sys.stderr.write(f"expected 42 ICBs, got {len(POPULATION_MILLIONS)}\n")
        return 1
    OUT.write_text(england_toml(), encoding="utf-8")
    sys.stdout.write(f"wrote {OUT.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
