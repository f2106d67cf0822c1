"""Short plain-text descriptions of scenario values, for people (report, pathway diagram).

The scenario layer describes itself in words (a distribution as ``"uniform 2-7 days"``, a
sign-off mode through :meth:`ipcsim.scenario.signoff.Signoff.describe`) so the presentation
layer shows the same words everywhere without knowing every kind of distribution or mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["describe_distribution", "short_number"]


def short_number(value: float) -> str:
    """A number for a label: 3 significant figures below 1,000, else whole with commas.

    Parameters
    ----------
    value
        Any number, in whatever unit the caller appends.

    Returns
    -------
    str
        ``"14"``, ``"7.5"``, ``"0.333"``, ``"1,500"``.
    """
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def describe_distribution(data: Mapping[str, Any] | Any, unit: str = "") -> str:
    """A short text for a distribution, e.g. ``"uniform 2-7 days"``.

    Parameters
    ----------
    data
        A distribution model of :mod:`ipcsim.scenario.distributions` or its JSON form
        (with ``dist``).
    unit
        Unit appended to the text.

    Returns
    -------
    str
        ``"7 days"`` (fixed), ``"exp. mean 3 days"``, ``"uniform 2-7 days"``,
        ``"triangular 7/21/90 days"``, ``"lognormal median 1, p95 21 days"``,
        ``"gamma mean 5, sd 2 days"``, ``"1-3 (mean 2.15)"`` (discrete).
    """
    num = short_number
    if hasattr(data, "model_dump"):
        data = data.model_dump(mode="json")
    kind = data.get("dist")
    tail = f" {unit}" if unit else ""
    if kind == "fixed":
        return f"{num(data['value'])}{tail}"
    if kind == "exponential":
        return f"exp. mean {num(data['mean'])}{tail}"
    if kind == "uniform":
        return f"uniform {num(data['low'])}-{num(data['high'])}{tail}"
    if kind == "triangular":
        return f"triangular {num(data['low'])}/{num(data['mode'])}/{num(data['high'])}{tail}"
    if kind == "lognormal":
        if data.get("median") is not None:
            return f"lognormal median {num(data['median'])}, p95 {num(data['p95'])}{tail}"
        return f"lognormal mean {num(data['mean'])}, sd {num(data['sd'])}{tail}"
    if kind == "gamma":
        return f"gamma mean {num(data['mean'])}, sd {num(data['sd'])}{tail}"
    if kind == "discrete":
        values = [float(v) for v in data["values"]]
        probs = [float(p) for p in data["probs"]]
        mean = float(np.dot(values, probs))
        return f"{num(min(values))}-{num(max(values))}{tail} (mean {num(mean)})"
    return str(data)
