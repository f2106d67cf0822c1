"""The tables of a run's Excel workbook (``ipcsim run --xlsx``), with units in their headers.

Four sheets:

- ``summary``: every headline KPI (:func:`ipcsim.analysis.kpis.flatten_summary`): name, label,
  unit, value and what it counts;
- ``per_year``: plans, budgets and referrals in each year of the run from the start date;
- ``waits``: each wait of the pathway, counting the people still waiting (Kaplan-Meier median,
  90th percentile and mean), with the completed-only figures beside them;
- ``timeseries``: the monthly series (all sites, and each site in a multi-site run).

The figures are those of ``summary.json`` and ``timeseries.parquet``: nothing is recomputed.
:func:`ipcsim.io.workbook.write_workbook` writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ipcsim.analysis.kpis import flatten_summary, kpi_definition
from ipcsim.analysis.labels import kpi_label

__all__ = ["workbook_sheets"]

_STORED_UNIT = {"%": "fraction 0-1", "": "count"}
"""KPI units as stored (the labels show fractions as per cent)."""

_WAIT_COLUMNS = {
    "started": "started (people)",
    "completed": "completed (people)",
    "still_waiting": "still waiting at the end (people)",
    "left": "left before the end of the wait (people)",
    "longest_waiting": "longest current wait (days)",
    "p50": "median, counting those still waiting (days)",
    "p90": "90th percentile, counting those still waiting (days)",
    "mean": "restricted mean, counting those still waiting (days)",
    "restricted_to_days": "mean restricted to (days)",
}

_PER_YEAR_UNITS = {
    "year": "year of the run",
    "start": "from (date)",
    "end": "to (date)",
    "days": "days",
    "referrals": "referrals (people)",
    "plans_signed_off": "plans signed off",
    "budgets_released": "budgets released",
}


def workbook_sheets(
    summary: Mapping[str, Any], timeseries: pd.DataFrame, *, horizon_days: float
) -> dict[str, pd.DataFrame]:
    """The workbook's sheets, as tables with units in their column headers.

    Parameters
    ----------
    summary
        The run's summary (``summary.json``).
    timeseries
        The run's monthly series (``timeseries.parquet``).
    horizon_days
        The run's length, days (for the per-year rates of the summary sheet).

    Returns
    -------
    dict
        Sheet name -> table, in workbook order.
    """
    kpis = flatten_summary(summary, horizon_days=horizon_days)
    rows = []
    for name, value in kpis.items():
        label, unit = kpi_label(name)
        rows.append(
            {
                "KPI": name,
                "label": label,
                "unit": _STORED_UNIT.get(unit, unit),
                "value": value,
                "what it counts": kpi_definition(name),
            }
        )
    waits = []
    for stage, figures in summary["waits_days"].items():
        row: dict[str, Any] = {"wait": stage}
        for key, value in figures.items():
            if key == "completed_only":
                for stat, number in value.items():
                    unit = "people" if stat == "n" else "days"
                    row[f"completed only: {stat} ({unit})"] = number
            elif key.startswith("share_within_"):
                row[f"{key.replace('_', ' ')} (fraction 0-1)"] = value
            else:
                row[_WAIT_COLUMNS.get(key, key)] = value
        waits.append(row)
    per_year = pd.DataFrame(summary.get("per_year") or []).rename(columns=_PER_YEAR_UNITS)
    return {
        "summary": pd.DataFrame(rows),
        "per_year": per_year,
        "waits": pd.DataFrame(waits),
        "timeseries": timeseries.rename(columns=_timeseries_header),
    }


def _timeseries_header(column: str) -> str:
    """A monthly series' column with its unit."""
    if column.startswith("utilisation_"):
        return f"{column} (fraction 0-1)"
    if column.startswith("queue_"):
        return f"{column} (people waiting at month end)"
    if column in {"referrals", "plans_signed_off", "budgets_released"}:
        return f"{column} (in the month)"
    if column == "open_cases_end":
        return f"{column} (people at month end)"
    return column
