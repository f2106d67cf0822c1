"""What a simulated run costs, against standard care, and what benefit would pay for it.

The evaluation's economic strand (``../shared/evidence/ipc-evidence.md`` §5.3, §6.8, Tables
5-1, 5-2, C-1, C-2) asked what IPC costs per person over and above standard care, and how many
QALYs or avoided unplanned admissions per person would make it worth that cost. This module
answers both for one run:

    Scenario.economics (Economics, validated config)
    people, work frames of a run -> cost_run(...) -> (people + cost columns, economics summary)

1. Costing: staff hours by role times hourly cost (salary basis, or full with on-costs and
   overheads), non-staff cost per patient, personal budgets agreed and released, set-up cost
   per site-year; per person and per year of the run.
2. Standard care: the appointments and staff-to-staff contacts a patient would have had
   anyway, and the run's extra appointments, contacts and running cost per patient.
3. Break-even: approach 2 of the evaluation's method (:func:`ipcsim.breakeven.breakeven`) on
   the run's own site-years, discounted by year of the run.

Pure functions on frames: no SimPy, no printing, no state. Everything :func:`cost_run` returns
in its summary is plain JSON (floats, ints, strings, ``None``; never NaN).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ipcsim._json import plain_json
from ipcsim.analysis.breakeven import COLUMNS, BreakevenResult, breakeven
from ipcsim.errors import ConfigError
from ipcsim.periods import RunYear, run_years
from ipcsim.scenario import Scenario
from ipcsim.scenario.economics import Economics
from ipcsim.units import MINUTES_PER_HOUR

__all__ = [
    "EVALUATION_EXTRA_PER_PATIENT",
    "cost_columns",
    "cost_run",
]

EVALUATION_EXTRA_PER_PATIENT: Mapping[str, float] = {
    "appointments": 4.2,
    "staff_contacts": 2.4,
    "running_cost_gbp": 265.0,
}
"""What the evaluation found IPC added per user over standard care, mean of 8 sites: +4.2
appointments (SD 4.0, range 0-13), +2.4 staff-to-staff contacts (SD 1.8) (Table 5-1) and
+£265 running cost (SD £150, range £121-£486) (Table 5-2, P65). Reported next to a run's
figures for comparison; they are published results, not parameters."""

_MILESTONE_COLUMN: Mapping[str, str] = {
    "referred": "referred_day",
    "first_conversation": "first_conversation_day",
    "signed_off": "signed_off_day",
}
_CIRCULATION = "circulation"


# --------------------------------------------------------------------------------------------
# Costing a run
# --------------------------------------------------------------------------------------------


def _year_index(days: np.ndarray, years: Sequence[RunYear]) -> np.ndarray:
    """Year of the run (1, 2, ...) of each day; 0 for NaN.

    Days before the start count in year 1, days at or after the horizon in the last year.
    """
    starts = np.array([y.start_day for y in years], dtype=float)
    out = np.zeros(days.shape, dtype=np.int16)  # a run of 32,767 years is not a run
    known = np.isfinite(days)
    found = np.searchsorted(starts, days[known], side="right")
    out[known] = np.clip(found, 1, len(years))
    return out


def _by_year(years: np.ndarray, values: np.ndarray, n_years: int) -> np.ndarray:
    """Sum of ``values`` per year 1..n_years (index 0 of the result is year 1)."""
    sums = np.bincount(years, weights=values, minlength=n_years + 1)
    return np.asarray(sums[1:], dtype=float)


def cost_columns(role_names: Sequence[str]) -> list[str]:
    """Columns :func:`cost_run` adds to the people frame, in order.

    ``patient`` (bool), ``ipc_appointments`` (count), ``staff_contacts`` (count; NaN when it
    cannot be known), ``running_staff_cost_<role>_gbp`` per role, ``running_staff_cost_gbp``,
    ``non_staff_cost_gbp``, ``budget_agreed_gbp``, ``budget_released_gbp``,
    ``running_cost_gbp``, ``standard_care_cost_gbp``, ``differential_running_cost_gbp``
    (pounds).
    """
    return [
        "patient",
        "ipc_appointments",
        "staff_contacts",
        *(f"running_staff_cost_{role}_gbp" for role in role_names),
        "running_staff_cost_gbp",
        "non_staff_cost_gbp",
        "budget_agreed_gbp",
        "budget_released_gbp",
        "running_cost_gbp",
        "standard_care_cost_gbp",
        "differential_running_cost_gbp",
    ]


@dataclass(frozen=True)
class _SiteRates:
    """What costing needs to know about one site, at the run's cost basis."""

    name: str
    hourly_cost_gbp: Mapping[str, float]
    lead_role: str
    minutes_per_contact: float
    joined_day: float
    standard_care_cost_gbp: float


def cost_run(
    people: pd.DataFrame,
    work: pd.DataFrame,
    *,
    scenario: Scenario,
    economics: Economics | None = None,
    renewals: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Cost one run, compare it with standard care and work out its break-even.

    Parameters
    ----------
    people
        People frame of the run (:meth:`ipcsim.records.EventLog.people_frame`); uses
        ``person_id``, ``site``, ``referred_day``, ``first_conversation_day``,
        ``signed_off_day``, ``budget_agreed_day``, ``budget_released_day``,
        ``budget_amount_gbp``, ``sessions_held``, ``reviews_held`` and, if present,
        ``staff_contacts``.
    work
        Work frame of the run: ``person_id``, ``role``, ``activity``, ``start_day``, ``hours``.
    scenario
        The run's scenario: each site's workforce hourly costs, lead role and circulation
        minutes per contact; the run's start date and horizon.
    economics
        The costing settings; ``scenario.economics`` if not given.
    renewals
        Budget renewals of the run (:meth:`ipcsim.engine.records.EventLog.renewals_frame`):
        ``person_id``, ``day``, ``amount_gbp``; none if not given.

    Returns
    -------
    people : DataFrame
        A copy of ``people`` with the columns of :func:`cost_columns` added, per person:
        whether they count as a patient, IPC appointments and staff contacts, staff cost by
        role and in total at the cost basis, non-staff cost, budgets agreed and released,
        running cost, standard-care cost and differential running cost (pounds).
    summary : dict
        JSON-able:

        - ``cost_basis``, ``staff_cost_multiplier``, ``patient_milestone``,
          ``budgets_in_running_cost``, ``setup_cost_per_site_year_gbp``: the settings used;
          ``setup_cost_configured``: whether the scenario set the set-up cost (else it is the
          evidence default, P66);
        - ``referred``, ``patients``: people;
        - ``totals_gbp``: the run's totals, pounds: ``staff`` (and ``staff_by_role``),
          ``non_staff``, ``running``, ``standard_care``, ``differential_running``, ``setup``
          (all sites), ``budgets_agreed``, ``budgets_released``;
        - ``per_patient``: those totals per patient (``staff_cost_gbp``,
          ``staff_cost_by_role_gbp``, ``non_staff_cost_gbp``, ``running_cost_gbp``,
          ``setup_cost_gbp``, ``budgets_agreed_gbp``, ``budgets_released_gbp``) and
          ``appointments``, ``staff_contacts`` per patient;
        - ``standard_care_per_patient``: ``appointments``, ``staff_contacts``, ``cost_gbp``;
        - ``extra_per_patient``: ``appointments``, ``staff_contacts``, ``running_cost_gbp``,
          IPC minus standard care;
        - ``evaluation_extra_per_patient``: :data:`EVALUATION_EXTRA_PER_PATIENT`;
        - ``site_years``: one dict per site and year of the run (:func:`run_years`):
          ``site``, ``year``, ``start_day``, ``end_day`` (days), ``referred`` (people whose
          ``referred_day`` falls in the year; people already in the pathway at the start,
          with none, are in no year), ``patients``, ``staff_cost_gbp``,
          ``non_staff_cost_gbp``, ``running_cost_gbp``, ``standard_care_cost_gbp``,
          ``differential_running_cost_gbp``, ``budgets_agreed_gbp``,
          ``budgets_released_gbp``, ``setup_cost_gbp``, ``running_cost_per_patient_gbp``;
        - ``breakeven``: ``discount_rate``, ``thresholds_gbp_per_qaly``,
          ``admission_cost_gbp``, ``years``, ``sites``; the headline ``cost_per_patient_gbp``,
          ``qalys`` (by threshold, as text) and ``admissions`` of the ``both`` panel;
          ``approach2``, the three panel rows of :func:`ipcsim.breakeven.breakeven`; and
          ``note``, saying why the figures are ``None`` when they are.

        A figure per patient is ``None`` when there are no patients.

    Raises
    ------
    ConfigError
        If the standard-care comparator names a role a site lacks, or a list of set-up costs
        is shorter than the run.
    ValueError
        If a frame lacks a column, or has a site, role or person the run does not know.

    Notes
    -----
    *Patients.* Costs are incurred for everyone referred, but only people who received IPC
    can benefit from it, so figures "per patient" divide the run's whole cost, including the
    cost of people who declined or withdrew, by the patients: by default the people who had a
    first planning conversation. The evaluation counted people who "actually received IPC"
    (001:L2104), probably broadly (§2.3 warning). Requiring a signed-off plan would leave out
    people still planning at the horizon, whose costs are counted, and people whose plan was
    declined after conversations; counting everyone referred would count people who declined
    the offer and received nothing. ``patient_milestone`` chooses. A patient is counted once,
    in the year of the milestone.

    *Years.* Year ``k`` of the run runs from the start date's ``k - 1``-th anniversary to its
    ``k``-th (:func:`run_years`), the last one ending at the horizon: financial years when the
    run starts on 1 April, like the evaluation's implementation years. (Years of 365.25 days
    would differ by less than a day a year, but would turn a three-year run over a leap day,
    1096 days, into four years, the last six hours long.) People are counted and costs
    charged in the year their date falls; dates before the start (people already in the
    pathway) count in year 1, dates at or after the horizon in the last year.

    *Staff cost* is each work row's hours times the hourly cost of its role at the person's
    site times :attr:`Economics.staff_cost_multiplier`, in the year the work started.
    *Non-staff cost* is charged per patient, in the patient's year.

    *Budgets.* Personal budgets are care money, not the cost of delivering IPC: what they add
    to the cost of standard care depends on which services they replace. Interviewees said
    budgets came on top of their services (001:L2673); commissioners warned that with money in
    block contracts "the CCG could end up double funding" (001:L733-734). The evaluation did
    not collect care-package costs (001:L395, L2046-2047), and its £265 differential excludes
    budgets. So they are reported on their own by default (agreed: ``budget_amount_gbp`` in
    the year of ``budget_agreed_day``; released: in the year of ``budget_released_day``; a
    renewal's money, from ``renewals``, is agreed and released in the year of its day);
    ``budgets_in_running_cost`` adds them to the
    running cost, an upper bound that treats them as wholly additional.

    *Appointments* are ``sessions_held`` (planning conversations, rework sessions included)
    plus ``reviews_held``. *Staff contacts* are the plan's circulation contacts: the people
    column ``staff_contacts`` if the model records it, otherwise the site lead role's
    circulation hours times 60 / ``pathway.circulation.minutes_per_contact`` (NaN, unknown,
    when that is 0).

    *Standard care* costs its appointments and contacts per patient at the same basis as IPC
    staff time, in the patient's year. The differential running cost is the running cost
    minus standard care; per person it is the person's running cost minus, for a patient,
    the standard-care cost.

    *Set-up cost* of a site in year ``k`` is :meth:`Economics.setup_cost_gbp` times the share
    of that year the run covers after the site joins (``site.start_date``, where the scenario
    has one; else the run's start). A 500-day run from 1 April 2019 pays for 1 + 134 / 365
    years.

    *Break-even* (approach 2 of :func:`ipcsim.breakeven.breakeven`) runs on the run's
    site-years: each site's patients and set-up cost per year and, on each of its rows, the
    site's differential running cost per patient (its total differential running cost / its
    patients). With several sites the result is the evaluation's "average site". As in the
    evaluation, running cost is discounted by the year the patients are counted in, over
    every year of the run. A run where a site's differential running cost is negative (IPC
    cheaper than the comparator) gets ``None`` figures and a ``note``.
    """
    econ = economics if economics is not None else _scenario_economics(scenario)
    _require(
        people,
        [
            "person_id",
            "site",
            "sessions_held",
            "reviews_held",
            "budget_amount_gbp",
            "budget_agreed_day",
            "budget_released_day",
            *sorted(set(_MILESTONE_COLUMN.values())),
        ],
        "people",
    )
    _require(work, ["person_id", "role", "activity", "start_day", "hours"], "work")
    years = run_years(scenario.run.start_date, scenario.run.horizon_days)
    n_years = len(years)
    sites = _site_rates(scenario, econ)
    role_names = sorted({role for site in sites.values() for role in site.hourly_cost_gbp})
    n_people = len(people)

    person_site = _Coded.of(people["site"])
    unknown_sites = sorted(person_site.used() - set(sites))
    if unknown_sites:
        raise ValueError(f"people frame has site(s) not in the scenario: {unknown_sites}")
    work_person = _rows_of(people, work)
    work_site = person_site.take(work_person)
    work_role = _Coded.of(work["role"])
    work_hours = _floats(work["hours"])
    work_cost = work_hours * _work_rates(sites, work_site, work_role)
    work_year = _year_index(_floats(work["start_day"]), years)

    staff_by_role: dict[str, np.ndarray] = {role: np.zeros(n_people) for role in role_names}
    for role in role_names:
        mine = work_role.is_(role)
        staff_by_role[role] = np.bincount(
            work_person[mine], weights=work_cost[mine], minlength=n_people
        )
    staff_cost = sum(staff_by_role.values(), np.zeros(n_people))

    # Patients, appointments, staff contacts.
    milestone = _floats(people[_MILESTONE_COLUMN[econ.patient_milestone]])
    patient = np.isfinite(milestone)
    patient_year = _year_index(milestone, years)
    appointments = _floats(people["sessions_held"]) + _floats(people["reviews_held"])
    contacts = _staff_contacts(
        people, work, work_person, person_site, work_site, work_hours, sites=sites
    )

    # Budgets, running cost and standard care, per person.
    amount = np.nan_to_num(_floats(people["budget_amount_gbp"]), nan=0.0)
    agreed_day = _floats(people["budget_agreed_day"])
    released_day = _floats(people["budget_released_day"])
    budget_agreed = np.where(np.isfinite(agreed_day), amount, 0.0)
    budget_released = np.where(np.isfinite(released_day), amount, 0.0)
    # A renewed budget's money for each new period, agreed and paid on the renewal's day.
    if renewals is None:
        renewals = pd.DataFrame({"person_id": [], "day": [], "amount_gbp": []})
    renewal_person = _rows_of(people, renewals)
    renewal_amount = _floats(renewals["amount_gbp"])
    renewal_year = _year_index(_floats(renewals["day"]), years)
    renewed = np.bincount(renewal_person, weights=renewal_amount, minlength=n_people)
    first_agreed, first_released = budget_agreed, budget_released
    budget_agreed = first_agreed + renewed
    budget_released = first_released + renewed
    budget_in_running = {
        "none": np.zeros(n_people),
        "agreed": budget_agreed,
        "released": budget_released,
    }[econ.budgets_in_running_cost]
    non_staff = np.where(patient, econ.non_staff_cost_per_patient_gbp, 0.0)
    running = staff_cost + non_staff + budget_in_running
    site_standard = person_site.lookup(
        {name: site.standard_care_cost_gbp for name, site in sites.items()}
    )
    standard_cost = np.where(patient, site_standard, 0.0)
    differential = running - standard_cost

    costed = people.copy(deep=False)  # copy-on-write: the records are not duplicated
    costed["patient"] = patient
    costed["ipc_appointments"] = appointments.astype("int64")
    costed["staff_contacts"] = contacts
    for role in role_names:
        costed[f"running_staff_cost_{role}_gbp"] = staff_by_role[role]
    costed["running_staff_cost_gbp"] = staff_cost
    costed["non_staff_cost_gbp"] = non_staff
    costed["budget_agreed_gbp"] = budget_agreed
    costed["budget_released_gbp"] = budget_released
    costed["running_cost_gbp"] = running
    costed["standard_care_cost_gbp"] = standard_cost
    costed["differential_running_cost_gbp"] = differential

    # Site-years.
    referred_year = _year_index(_floats(people["referred_day"]), years)
    agreed_year = _year_index(agreed_day, years)
    released_year = _year_index(released_day, years)
    budgets_counted_year = {"none": None, "agreed": agreed_year, "released": released_year}[
        econ.budgets_in_running_cost
    ]
    renewal_site = person_site.take(renewal_person)
    site_years: list[dict[str, Any]] = []
    breakeven_rows: list[dict[str, Any]] = []
    for site in sites.values():
        mine = person_site.is_(site.name)
        work_mine = work_site.is_(site.name)

        def per_year(when: np.ndarray, values: np.ndarray, where: np.ndarray) -> np.ndarray:
            if where.all():  # one site: no copies of work-length arrays
                return _by_year(when, values, n_years)
            return _by_year(when[where], values[where], n_years)

        referred_y = per_year(referred_year, np.ones(n_people), mine)
        patients_y = per_year(patient_year, np.ones(n_people), mine)
        staff_y = per_year(work_year, work_cost, work_mine)
        non_staff_y = per_year(patient_year, non_staff, mine)
        standard_y = per_year(patient_year, standard_cost, mine)
        renewed_y = per_year(renewal_year, renewal_amount, renewal_site.is_(site.name))
        agreed_y = per_year(agreed_year, first_agreed, mine) + renewed_y
        released_y = per_year(released_year, first_released, mine) + renewed_y
        running_y = staff_y + non_staff_y
        if budgets_counted_year is not None:
            first_in_running = (
                first_agreed if econ.budgets_in_running_cost == "agreed" else first_released
            )
            running_y = running_y + per_year(budgets_counted_year, first_in_running, mine)
            running_y = running_y + renewed_y
        setup_y = np.array(
            [
                econ.setup_cost_gbp(y.year)
                * max(0.0, y.end_day - max(y.start_day, site.joined_day))
                / y.full_days
                for y in years
            ]
        )
        site_patients = float(patients_y.sum())
        site_differential = float(differential[mine].sum())
        for i, (k, start, end, _) in enumerate(years):
            site_years.append(
                {
                    "site": site.name,
                    "year": k,
                    "start_day": start,
                    "end_day": end,
                    "referred": int(referred_y[i]),
                    "patients": int(patients_y[i]),
                    "staff_cost_gbp": staff_y[i],
                    "non_staff_cost_gbp": non_staff_y[i],
                    "running_cost_gbp": running_y[i],
                    "standard_care_cost_gbp": standard_y[i],
                    "differential_running_cost_gbp": running_y[i] - standard_y[i],
                    "budgets_agreed_gbp": agreed_y[i],
                    "budgets_released_gbp": released_y[i],
                    "setup_cost_gbp": setup_y[i],
                    "running_cost_per_patient_gbp": _ratio(running_y[i], patients_y[i]),
                }
            )
            breakeven_rows.append(
                {
                    "site": site.name,
                    "year": k,
                    "patients": patients_y[i],
                    "setup_cost": setup_y[i],
                    "running_cost_per_patient": _ratio(site_differential, site_patients),
                }
            )

    n_patients = int(patient.sum())
    staff_total_by_role = {role: float(staff_by_role[role].sum()) for role in role_names}
    totals: dict[str, float] = {
        "staff": float(work_cost.sum()),
        "non_staff": float(non_staff.sum()),
        "running": float(running.sum()),
        "standard_care": float(standard_cost.sum()),
        "differential_running": float(differential.sum()),
        "setup": float(sum(row["setup_cost_gbp"] for row in site_years)),
        "budgets_agreed": float(budget_agreed.sum()),
        "budgets_released": float(budget_released.sum()),
    }
    appointments_per_patient = _ratio(float(appointments.sum()), n_patients)
    contacts_per_patient = _ratio(float(contacts.sum()), n_patients)  # NaN (unknown) -> None
    care = econ.standard_care
    summary = {
        "cost_basis": econ.cost_basis,
        "staff_cost_multiplier": econ.staff_cost_multiplier,
        "patient_milestone": econ.patient_milestone,
        "budgets_in_running_cost": econ.budgets_in_running_cost,
        # Whether the scenario set its set-up cost, or it is the evidence default (P66).
        "setup_cost_configured": "setup_cost_per_site_year_gbp" in econ.model_fields_set,
        "setup_cost_per_site_year_gbp": econ.setup_cost_per_site_year_gbp,
        "referred": n_people,
        "patients": n_patients,
        "totals_gbp": {**totals, "staff_by_role": staff_total_by_role},
        "per_patient": {
            "staff_cost_gbp": _ratio(totals["staff"], n_patients),
            "staff_cost_by_role_gbp": {
                role: _ratio(value, n_patients) for role, value in staff_total_by_role.items()
            },
            "non_staff_cost_gbp": _ratio(totals["non_staff"], n_patients),
            "running_cost_gbp": _ratio(totals["running"], n_patients),
            "setup_cost_gbp": _ratio(totals["setup"], n_patients),
            "budgets_agreed_gbp": _ratio(totals["budgets_agreed"], n_patients),
            "budgets_released_gbp": _ratio(totals["budgets_released"], n_patients),
            "appointments": appointments_per_patient,
            "staff_contacts": contacts_per_patient,
        },
        "standard_care_per_patient": {
            "appointments": care.appointments_per_person,
            "staff_contacts": care.staff_contacts_per_person,
            "cost_gbp": _ratio(totals["standard_care"], n_patients),
        },
        "extra_per_patient": {
            "appointments": _minus(appointments_per_patient, care.appointments_per_person),
            "staff_contacts": _minus(contacts_per_patient, care.staff_contacts_per_person),
            "running_cost_gbp": _ratio(totals["differential_running"], n_patients),
        },
        "evaluation_extra_per_patient": dict(EVALUATION_EXTRA_PER_PATIENT),
        "site_years": site_years,
        "breakeven": _run_breakeven(econ, breakeven_rows, n_years=n_years, n_sites=len(sites)),
    }
    plain: dict[str, Any] = plain_json(summary)
    return costed, plain


def _scenario_economics(scenario: Scenario) -> Economics:
    # getattr: Scenario gains the field at integration; until then callers pass economics=.
    value = getattr(scenario, "economics", None)
    if not isinstance(value, Economics):
        raise TypeError("scenario has no economics settings; pass economics=Economics(...)")
    return value


def _site_configs(scenario: Scenario) -> list[Any]:
    """Each site's resolved settings (``site``, ``workforce``, ``pathway``).

    A multi-site scenario lists them in ``site_configs``; a single-site scenario is its own.
    """
    configs = getattr(scenario, "site_configs", None)
    return list(configs) if configs else [scenario]


def _site_rates(scenario: Scenario, econ: Economics) -> dict[str, _SiteRates]:
    """Hourly costs at the cost basis, lead role, contact length and comparator, by site."""
    multiplier = econ.staff_cost_multiplier
    care = econ.standard_care
    out: dict[str, _SiteRates] = {}
    for config in _site_configs(scenario):
        name = str(config.site.name)
        rates = {role: cfg.hourly_cost_gbp * multiplier for role, cfg in config.workforce.items()}
        lead = str(config.pathway.lead_role)
        minutes = float(config.pathway.circulation.minutes_per_contact)
        joined = getattr(config.site, "start_date", None) or scenario.run.start_date
        contact_hours = care.hours_per_staff_contact
        if contact_hours is None:
            contact_hours = minutes / MINUTES_PER_HOUR
        appointment_rate = _comparator_rate(
            rates,
            role=care.appointment_role or lead,
            hourly_gbp=care.appointment_hourly_cost_gbp,
            multiplier=multiplier,
            where=f"economics.standard_care.appointment_role (site {name!r})",
        )
        contact_rate = _comparator_rate(
            rates,
            role=care.staff_contact_role or lead,
            hourly_gbp=care.staff_contact_hourly_cost_gbp,
            multiplier=multiplier,
            where=f"economics.standard_care.staff_contact_role (site {name!r})",
        )
        cost = (
            care.appointments_per_person * care.hours_per_appointment * appointment_rate
            + care.staff_contacts_per_person * contact_hours * contact_rate
        )
        out[name] = _SiteRates(
            name=name,
            hourly_cost_gbp=rates,
            lead_role=lead,
            minutes_per_contact=minutes,
            joined_day=float((joined - scenario.run.start_date).days),
            standard_care_cost_gbp=cost,
        )
    return out


@dataclass(frozen=True)
class _Coded:
    """A string column as integer codes (-1 where missing): compared without Python strings.

    The people and work frames hold their strings as categoricals; comparing codes takes a
    byte or two a row where an object array takes eight and a string comparison each.
    """

    codes: np.ndarray
    labels: list[str]

    @classmethod
    def of(cls, column: pd.Series) -> _Coded:
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = column.cat.codes.to_numpy()
            labels = [str(label) for label in column.cat.categories]
        else:
            codes, uniques = pd.factorize(column.astype(object))
            labels = [str(label) for label in uniques]
        return cls(np.asarray(codes), labels)

    def is_(self, label: str) -> np.ndarray:
        """Rows holding ``label``."""
        if label not in self.labels:
            return np.zeros(len(self.codes), dtype=bool)
        return self.codes == self.labels.index(label)

    def take(self, rows: np.ndarray) -> _Coded:
        return _Coded(self.codes[rows], self.labels)

    def used(self) -> set[str]:
        """Labels that occur (missing values left out)."""
        return {self.labels[k] for k in np.unique(self.codes) if k >= 0}

    def strings(self, rows: np.ndarray) -> list[str]:
        return [self.labels[k] if k >= 0 else "" for k in self.codes[rows]]

    def lookup(self, values: Mapping[str, float]) -> np.ndarray:
        """``values[label]`` for each row (NaN for a label not in ``values``)."""
        table = np.array([values.get(label, math.nan) for label in self.labels] + [math.nan])
        return table[self.codes]  # code -1 takes the trailing NaN


def _comparator_rate(
    rates: Mapping[str, float],
    *,
    role: str,
    hourly_gbp: float | None,
    multiplier: float,
    where: str,
) -> float:
    """Pounds per hour of standard-care work: an explicit salary-basis rate, or a role's."""
    if hourly_gbp is not None:
        return hourly_gbp * multiplier
    if role not in rates:
        known = ", ".join(sorted(rates))
        # No square brackets: the CLI prints messages with rich, which reads them as markup.
        raise ConfigError(f"{where}: role {role!r} is not in the workforce (has: {known})")
    return rates[role]


def _rows_of(people: pd.DataFrame, work: pd.DataFrame) -> np.ndarray:
    """Row of ``people`` for each work row."""
    ids = people["person_id"].to_numpy()
    work_ids = work["person_id"].to_numpy()
    if len(ids) and ids[0] == 0 and ids[-1] == len(ids) - 1 and (np.diff(ids) == 1).all():
        # People numbered 0, 1, 2, ... in order (no warm start): the id is the row.
        rows = np.where((work_ids >= 0) & (work_ids < len(ids)), work_ids, -1)
    else:
        rows = pd.Index(ids).get_indexer(work_ids)
    if (rows < 0).any():
        missing = sorted({int(p) for p in work["person_id"].to_numpy()[rows < 0]})
        raise ValueError(f"work frame has person_id(s) not in the people frame: {missing[:5]}")
    return np.asarray(rows, dtype=np.int64)


def _work_rates(
    sites: Mapping[str, _SiteRates], work_site: _Coded, work_role: _Coded
) -> np.ndarray:
    """Pounds per hour of each work row, by its person's site and its role."""
    # One look-up table (site code x role code), indexed by each row's two codes.
    table = np.full((len(work_site.labels) + 1, len(work_role.labels) + 1), math.nan)
    for i, site_name in enumerate(work_site.labels):
        site = sites.get(site_name)
        for j, role in enumerate(work_role.labels):
            if site is not None and role in site.hourly_cost_gbp:
                table[i, j] = site.hourly_cost_gbp[role]
    rates = table[work_site.codes, work_role.codes]  # code -1 takes the NaN row/column
    unknown = np.isnan(rates)
    if unknown.any():
        pairs = sorted(
            {
                f"{s}/{r}"
                for s, r in zip(work_site.strings(unknown), work_role.strings(unknown), strict=True)
            }
        )
        raise ValueError(f"work frame has role(s) not in the site's workforce: {pairs[:5]}")
    return rates


def _staff_contacts(
    people: pd.DataFrame,
    work: pd.DataFrame,
    work_person: np.ndarray,
    person_site: _Coded,
    work_site: _Coded,
    work_hours: np.ndarray,
    *,
    sites: Mapping[str, _SiteRates],
) -> np.ndarray:
    """Staff-to-staff contacts per person (NaN where they cannot be known)."""
    if "staff_contacts" in people.columns:
        return _floats(people["staff_contacts"])
    activity = _Coded.of(work["activity"])
    role = _Coded.of(work["role"])
    contacts = np.zeros(len(people))
    for site in sites.values():
        if site.minutes_per_contact <= 0:
            contacts[person_site.is_(site.name)] = math.nan
            continue
        mine = work_site.is_(site.name) & activity.is_(_CIRCULATION) & role.is_(site.lead_role)
        hours = np.bincount(work_person[mine], weights=work_hours[mine], minlength=len(people))
        at_site = person_site.is_(site.name)
        contacts[at_site] = hours[at_site] * MINUTES_PER_HOUR / site.minutes_per_contact
    return contacts


def _run_breakeven(
    econ: Economics, rows: list[dict[str, Any]], *, n_years: int, n_sites: int
) -> dict[str, Any]:
    """Approach 2 of the break-even method on the run's site-years."""
    keys = [_threshold_key(t) for t in econ.thresholds_gbp_per_qaly]
    out: dict[str, Any] = {
        "discount_rate": econ.discount_rate,
        "thresholds_gbp_per_qaly": list(econ.thresholds_gbp_per_qaly),
        "admission_cost_gbp": econ.admission_cost_gbp,
        "years": n_years,
        "sites": n_sites,
        "cost_per_patient_gbp": None,
        "qalys": dict.fromkeys(keys),
        "admissions": None,
        "approach2": None,
        "note": None,
    }
    negative = sorted(
        {
            str(row["site"])
            for row in rows
            if row["running_cost_per_patient"] is not None and row["running_cost_per_patient"] < 0
        }
    )
    if negative:
        out["note"] = (
            f"the differential running cost per patient is negative at {', '.join(negative)} "
            "(IPC costs less than the standard-care comparator); the method needs costs >= 0"
        )
        return out
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["running_cost_per_patient"] = frame["running_cost_per_patient"].astype("float64")
    result: BreakevenResult = breakeven(
        frame,
        discount_rate=econ.discount_rate,
        thresholds=econ.thresholds_gbp_per_qaly,
        admission_cost=econ.admission_cost_gbp,
        years=range(1, n_years + 1),
    )
    (both,) = [row for row in result["approach2"] if row["panel"] == "both"]
    out["cost_per_patient_gbp"] = both["cost_per_patient"]
    out["qalys"] = dict(both["qalys"])
    out["admissions"] = both["admissions"]
    out["approach2"] = [dict(row) for row in result["approach2"]]
    if both["cost_per_patient"] is None:
        out["note"] = "no patients in the run"
    return out


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} frame lacks column(s) {', '.join(missing)}")


def _floats(series: pd.Series) -> np.ndarray:
    """A numeric column as a float array (NaN for missing); no copy of a float64 column."""
    if series.dtype == np.float64:
        return series.to_numpy()
    return pd.to_numeric(series, errors="raise").to_numpy(dtype=float, na_value=np.nan)


def _ratio(numerator: float, denominator: float) -> float | None:
    if denominator == 0 or not math.isfinite(numerator):
        return None
    return float(numerator) / float(denominator)


def _minus(value: float | None, comparator: float) -> float | None:
    return None if value is None else value - comparator


def _threshold_key(threshold: float) -> str:
    """A threshold as :func:`ipcsim.breakeven.breakeven` keys it: ``13000``, ``12500.5``.

    Needed only for the ``qalys`` keys of a result that :func:`breakeven` is not asked for
    (see the tests, which check the two agree).
    """
    value = float(threshold)
    return str(int(value)) if value.is_integer() else repr(value)
