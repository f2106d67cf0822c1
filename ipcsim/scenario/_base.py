"""Building blocks of every scenario table: the frozen, strict base model and shared types."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    Field,
)

from ipcsim.scenario._strict import StrictModel
from ipcsim.scenario.bounds import Effort
from ipcsim.scenario.distributions import (
    Discrete,
    Exponential,
    Fixed,
    Gamma,
    LogNormal,
    Triangular,
    Uniform,
)

__all__ = ["AnyDistribution", "Effort", "NonNegative", "Probability"]

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
"""A probability, 0 to 1."""
NonNegative = Annotated[float, Field(ge=0.0)]
"""A number >= 0 (bounded above by the field that uses it)."""

AnyDistribution = Fixed | Exponential | Uniform | Triangular | LogNormal | Gamma | Discrete
"""Any distribution of :mod:`ipcsim.scenario.distributions`, chosen by ``dist``."""


class _Model(StrictModel):
    """Base of every scenario table.

    Frozen (a run never changes it), unknown keys an error, finite numbers, no lax conversions
    (see :class:`~ipcsim.scenario._strict.StrictModel`).
    """
