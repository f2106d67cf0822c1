"""Plain JSON values: what every summary and manifest is made of before it is written."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["plain_json"]


def plain_json(value: Any) -> Any:
    """``value`` with numpy scalars as Python ones and NaN/inf as None (strict JSON).

    Raises
    ------
    TypeError
        For a value that has no JSON form (an object, a date...).
    """
    if isinstance(value, Mapping):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if value is None or isinstance(value, str):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    raise TypeError(f"cannot put a {type(value).__name__} into the summary: {value!r}")
