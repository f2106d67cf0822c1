"""Economic settings of a scenario: unit costs, standard care and the break-even inputs.

Settings only (pydantic, frozen): what the costing in :mod:`ipcsim.analysis.costs` reads. The
evaluation's defaults for the break-even analysis (discount rate, thresholds, admission cost)
live here too, so both the scenario and :mod:`ipcsim.analysis.breakeven` take them from one
place.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ipcsim.errors import ConfigError
from ipcsim.scenario._base import _Model
from ipcsim.scenario.bounds import (
    MAX_COUNT,
    MAX_GBP,
    MAX_GBP_PER_HOUR,
    MAX_GBP_PER_PERSON,
    MAX_GBP_PER_QALY,
    MAX_MULTIPLIER,
    MAX_TASK_HOURS,
    MAX_YEARS,
)

__all__ = [
    "DEFAULT_ADMISSION_COST",
    "DEFAULT_DISCOUNT_RATE",
    "DEFAULT_THRESHOLDS",
    "Economics",
    "PatientMilestone",
    "StandardCare",
]

#: Annual discount rate, costs discounted to year 1 (evidence 6.8, P68; 001:L497).
DEFAULT_DISCOUNT_RATE = 0.035
#: Cost-effectiveness thresholds, £ per QALY; £13,000 is the main one (evidence 6.8, P69).
DEFAULT_THRESHOLDS: tuple[float, ...] = (13000, 20000, 30000, 50000)
#: Unit cost of an unplanned hospital admission, £ (evidence 6.8, P70; 001:L1039).
DEFAULT_ADMISSION_COST = 1600.67

PatientMilestone = Literal["referred", "first_conversation", "signed_off"]


class StandardCare(_Model):
    """What a patient would have had under standard care: the comparator for 'extra' figures.

    The evaluation's sites reported only differences from their standard care (Table 5-1:
    +4.2 appointments and +2.4 staff-to-staff contacts per user), never the levels, and IPC
    "was provided in addition to standard care" (001:L1956). The model simulates the IPC
    pathway only, and its circulation contacts per plan (P23, 2.4) are Table 5-1's *extra*
    contacts. So by default standard care replaces none of the run's activity (0 appointments,
    0 contacts) and a run's extra appointments and contacts per patient are its own IPC
    activity, directly comparable with +4.2 and +2.4. Set the counts above zero where IPC
    replaces standard-care work (e.g. a care-plan review it takes the place of).
    """

    appointments_per_person: float = Field(
        default=0.0,
        ge=0,
        le=MAX_COUNT,
        description="appointments per patient under standard care that IPC replaces, 0 to "
        "1,000 (assumption: none, as IPC was added to standard care, 001:L1956; Table 5-1 gives "
        "only IPC's extra +4.2)",
    )
    hours_per_appointment: float = Field(
        default=1.0,
        ge=0,
        le=MAX_TASK_HOURS,
        description="staff hours per standard-care appointment, 0 to 1,000 (assumption: like "
        "the first 60-minute planning conversation, P19)",
    )
    appointment_role: str | None = Field(
        default=None,
        description="workforce role holding standard-care appointments; the pathway's lead "
        "role if unset (assumption)",
    )
    appointment_hourly_cost_gbp: float | None = Field(
        default=None,
        ge=0,
        le=MAX_GBP_PER_HOUR,
        description="salary-basis pounds per hour for standard-care appointments, 0 to 1,000, "
        "instead of a role's (P60 rates)",
    )
    staff_contacts_per_person: float = Field(
        default=0.0,
        ge=0,
        le=MAX_COUNT,
        description="staff-to-staff contacts per patient under standard care that IPC "
        "replaces, 0 to 1,000 (assumption: none; P23's 2.4 contacts per plan are Table 5-1's "
        "extra ones)",
    )
    hours_per_staff_contact: float | None = Field(
        default=None,
        ge=0,
        le=MAX_TASK_HOURS,
        description="staff hours per standard-care contact, 0 to 1,000; pathway.circulation."
        "minutes_per_contact / 60 if unset (P24: 20 minutes)",
    )
    staff_contact_role: str | None = Field(
        default=None,
        description="workforce role making standard-care contacts; the lead role if unset "
        "(assumption)",
    )
    staff_contact_hourly_cost_gbp: float | None = Field(
        default=None,
        ge=0,
        le=MAX_GBP_PER_HOUR,
        description="salary-basis pounds per hour for standard-care contacts, 0 to 1,000, "
        "instead of a role's (P60 rates)",
    )

    @model_validator(mode="after")
    def _role_or_cost(self) -> StandardCare:
        for what in ("appointment", "staff_contact"):
            if (
                getattr(self, f"{what}_role") is not None
                and getattr(self, f"{what}_hourly_cost_gbp") is not None
            ):
                raise ValueError(f"give {what}_role or {what}_hourly_cost_gbp, not both")
        return self


class Economics(_Model):
    """How a run is costed, compared with standard care and turned into break-even figures.

    Hourly costs come from each role's ``hourly_cost_gbp`` (P60: salary basis, as the
    evaluation costed time at "sites' salary bands", 001:L479, salary "excluding on-costs",
    001:L2220). The default ``salary`` basis therefore gives running costs comparable with the
    evaluation's £265 differential (P65); ``full`` multiplies every hourly cost by
    ``on_cost_multiplier * overhead_multiplier``.
    """

    cost_basis: Literal["salary", "full"] = Field(
        default="salary",
        description="'salary': hourly costs as given (P60, the evaluation's basis); 'full': "
        "times on_cost_multiplier * overhead_multiplier",
    )
    on_cost_multiplier: float = Field(
        default=1.30,
        ge=1.0,
        le=MAX_MULTIPLIER,
        description="factor from salary to salary plus employer's on-costs, 1 to 10, used when "
        "cost_basis = 'full' (P60: salary-only rates, +30 % for on-costs)",
    )
    overhead_multiplier: float = Field(
        default=1.0,
        ge=1.0,
        le=MAX_MULTIPLIER,
        description="factor for management and capital overheads on top of on-costs, 1 to 10, "
        "used when cost_basis = 'full' (assumption: the sources give no overhead rate)",
    )
    non_staff_cost_per_patient_gbp: float = Field(
        default=7.50,
        ge=0,
        le=MAX_GBP_PER_PERSON,
        description="non-staff running cost per patient, pounds, 0 to 1,000,000 (Der: Table "
        "C-2 site 3 room bookings £1,000 + leaflets £500 for 200 users; site 9's paper, "
        "stamps and events come to £15.05 per user, site 8 lists none)",
    )
    setup_cost_per_site_year_gbp: float | tuple[float, ...] = Field(
        default=161919.0,
        description="set-up cost per year of the run, pounds, 0 to 1e12: one number for every "
        "year, or a list of up to 101 for years 1, 2, ... (P66: £161,919 average year; by "
        "year £151,586, £162,348, £146,240, §6.8); a partial last year gets its share",
    )
    budgets_in_running_cost: Literal["none", "agreed", "released"] = Field(
        default="none",
        description="which personal budgets count in the running cost: 'none' (the "
        "evaluation's £265 excludes budgets and care packages, 001:L395, L2046-2047), "
        "'agreed' or 'released' (assumption)",
    )
    patient_milestone: PatientMilestone = Field(
        default="first_conversation",
        description="who counts as an IPC patient: people who reached this milestone "
        "(assumption: a first planning conversation, i.e. 'actually received IPC', 001:L2104)",
    )
    discount_rate: float = Field(
        default=DEFAULT_DISCOUNT_RATE,
        ge=0,
        le=1,
        description="annual discount rate for the break-even, fraction, 0 to 1; year y's costs are "
        "divided by (1 + rate)^(y - 1) (P68: 3.5 %)",
    )
    thresholds_gbp_per_qaly: tuple[float, ...] = Field(
        default=tuple(float(t) for t in DEFAULT_THRESHOLDS),
        min_length=1,
        max_length=20,
        description="cost-effectiveness thresholds, pounds per QALY, 1 to 20 of them, each up "
        "to 10,000,000 (P69: £13,000 main; "
        "£20,000, £30,000, £50,000, 001:L514, L959)",
    )
    admission_cost_gbp: float = Field(
        default=DEFAULT_ADMISSION_COST,
        gt=0,
        le=MAX_GBP_PER_PERSON,
        description="unit cost of an unplanned hospital admission, pounds, up to 1,000,000 (P70)",
    )
    standard_care: StandardCare = Field(
        default_factory=StandardCare,
        description="the standard-care comparator for extra appointments, contacts and cost",
    )

    @field_validator("setup_cost_per_site_year_gbp")
    @classmethod
    def _setup_costs_valid(cls, value: float | tuple[float, ...]) -> float | tuple[float, ...]:
        values = value if isinstance(value, tuple) else (value,)
        if not values:
            raise ValueError("must be a number or a list of one or more numbers")
        if len(values) > MAX_YEARS:
            raise ValueError(f"gives {len(values)} years, at most {MAX_YEARS} allowed")
        for number in values:
            if not math.isfinite(number) or not 0 <= number <= MAX_GBP:
                raise ValueError(f"must be 0 to {MAX_GBP:g} pounds, got {number!r}")
        return value

    @field_validator("thresholds_gbp_per_qaly")
    @classmethod
    def _thresholds_valid(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        for number in value:
            if not math.isfinite(number) or not 0 < number <= MAX_GBP_PER_QALY:
                raise ValueError(
                    f"must be > 0 and at most {MAX_GBP_PER_QALY:,g} pounds per QALY, got {number!r}"
                )
        if len(set(value)) != len(value):
            raise ValueError(f"must all be different, got {list(value)}")
        return value

    @property
    def staff_cost_multiplier(self) -> float:
        """Factor applied to every salary-basis hourly cost (1.0 on the salary basis)."""
        if self.cost_basis == "salary":
            return 1.0
        return self.on_cost_multiplier * self.overhead_multiplier

    def setup_cost_gbp(self, year: int) -> float:
        """Set-up cost of a whole year ``year`` (1, 2, ...) of the run, pounds.

        Raises
        ------
        ConfigError
            If a list of set-up costs is too short for ``year``.
        """
        value = self.setup_cost_per_site_year_gbp
        if not isinstance(value, tuple):
            return float(value)
        if year > len(value):
            raise ConfigError(
                f"economics.setup_cost_per_site_year_gbp: gives {len(value)} year(s) of "
                f"set-up cost but the run reaches year {year}; give one value per year of the "
                "run (from the start date to its anniversary), or a single number"
            )
        return float(value[year - 1])
