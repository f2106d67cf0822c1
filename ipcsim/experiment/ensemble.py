"""A posterior ensemble as the input of an experiment or a plan: parameter uncertainty pooled.

``ipcsim calibrate`` writes ``ensemble/draws.json``: ``n`` draws from the posterior (particles
resampled by weight, so each weighs the same), each a value of every calibrated parameter. An
experiment or plan spec naming it (``ensemble = "outputs/my_calibration"``) runs every scenario
or configuration over the draws:

**Replication r runs on draw r mod n**, with the streams of replication ``r`` as always.

Why this rule rather than every draw times a few replications
--------------------------------------------------------------
- Each replication is then one joint draw of (parameters, stochastic noise) from the posterior
  predictive distribution, so the plain statistics over replications answer the questions
  asked: the mean with its t interval is the posterior predictive mean (parameter and
  stochastic uncertainty together), the 5th-95th percentiles of the replications are a 90 %
  predictive interval, and a service level met "in 90 % of replications" is met with 90 %
  posterior predictive probability. A draws x replications design needs a two-level
  (nested) variance model for the same answers.
- Replications stay the sequential unit: the automatic replication count and the planner's
  "more replications while undecided" add one posterior predictive draw at a time, without
  committing to ``n`` times ``k`` runs up front.
- Common random numbers survive: replication ``r`` of every scenario or configuration has the
  same parameters *and* the same streams, so differences are still paired.

With replications a multiple of ``n`` every draw weighs the same; otherwise the first
``replications mod n`` draws count once more (the manifest says how often each ran). The draws
are a sample of the posterior: with more replications than draws, the interval does not show
the uncertainty from having only ``n`` draws (write a larger ``outputs.ensemble_size``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ipcsim.errors import ConfigError, OutputError
from ipcsim.io.calibration_folder import find_ensemble_draws
from ipcsim.io.files import read_json
from ipcsim.scenario.load import dotted_set

__all__ = ["PARAMETER_UNCERTAINTY", "STOCHASTIC_ONLY", "Ensemble", "load_ensemble"]

PARAMETER_UNCERTAINTY = "stochastic and parameter"
"""What an interval carries when its replications ran on a posterior ensemble."""
STOCHASTIC_ONLY = "stochastic"
"""What an interval carries otherwise (the parameters are taken as known)."""
PREDICTIVE_BAND = (0.05, 0.95)
"""The predictive interval: 5th to 95th percentile of the replications (90 %)."""


@dataclass(frozen=True)
class Ensemble:
    """A posterior ensemble: each draw's value of every calibrated parameter.

    Attributes
    ----------
    path
        The ``draws.json`` read.
    calibration
        The calibration's name.
    keys
        The calibrated parameters' dotted keys.
    also
        Key -> the other keys set to the same value.
    draws
        Each draw's name and values (key -> value), in order.
    """

    path: Path
    calibration: str
    keys: tuple[str, ...]
    also: dict[str, tuple[str, ...]]
    draws: tuple[tuple[str, dict[str, int | float]], ...]

    @property
    def size(self) -> int:
        """Number of draws."""
        return len(self.draws)

    def draw_index(self, replication: int) -> int:
        """The draw replication ``replication`` runs on: ``replication mod n``."""
        return replication % self.size

    def all_keys(self) -> tuple[str, ...]:
        """Every key a draw sets (each parameter and its ``also`` keys)."""
        return tuple(k for key in self.keys for k in (key, *self.also.get(key, ())))

    def apply(self, raw: dict[str, Any], index: int, template: Mapping[str, Any]) -> None:
        """Set draw ``index``'s values (and their ``also`` keys) in scenario data, in place."""
        for key, value in self.draws[index][1].items():
            for target in (key, *self.also.get(key, ())):
                dotted_set(raw, target, value, template=template)

    def uses(self, replications: int) -> list[int]:
        """How many of ``replications`` replications run on each draw."""
        return [
            replications // self.size + (1 if i < replications % self.size else 0)
            for i in range(self.size)
        ]

    def to_json(self, replications: Sequence[int] = ()) -> dict[str, Any]:
        """What the outputs record: where the draws came from and how they were used.

        Parameters
        ----------
        replications
            The replication counts run (of each scenario or configuration judged): the least
            and most uses of a draw are recorded.
        """
        record: dict[str, Any] = {
            "path": str(self.path),
            "calibration": self.calibration,
            "draws": self.size,
            "parameters": list(self.keys),
            "rule": f"replication r runs on draw r mod {self.size}, with replication r's "
            "random streams",
            "uncertainty": PARAMETER_UNCERTAINTY,
            "note": "each replication is one draw from the posterior predictive distribution: "
            "the intervals carry parameter uncertainty as well as stochastic noise",
        }
        if replications:
            counts = [c for n in replications for c in self.uses(n)]
            record["runs_per_draw"] = {"least": min(counts), "most": max(counts)}
        return record

    def describe(self, replications: int | None = None) -> str:
        """One sentence for the printed output: the intervals carry parameter uncertainty."""
        text = (
            f"Intervals carry parameter uncertainty as well as stochastic noise: replication r "
            f"ran on draw r mod {self.size} of the posterior ensemble of calibration "
            f"{self.calibration} ({self.path}; {', '.join(self.keys)})"
        )
        if replications is not None and replications % self.size:
            text += (
                f"; {replications} replications are not a whole number of passes over the "
                f"{self.size} draws, so the first {replications % self.size} count once more"
            )
        return text + "."


def _number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def load_ensemble(path: Path, *, where: str, key: str = "ensemble") -> Ensemble:
    """Read a posterior ensemble's ``draws.json``.

    Parameters
    ----------
    path
        ``draws.json``, the ``ensemble/`` folder or the calibration folder.
    where
        The spec, for messages.
    key
        The spec's key naming it, for messages.

    Raises
    ------
    ConfigError
        One line naming the spec, the key and the file: missing, unreadable or malformed.
    """
    try:
        file = find_ensemble_draws(path)
        data = read_json(file)
    except OutputError as e:
        raise ConfigError(f"{where}: {key}: {e}") from e

    def bad(what: str) -> ConfigError:
        return ConfigError(f"{where}: {key}: {file}: {what}")

    parameters = data.get("parameters")
    draws = data.get("draws")
    if not isinstance(parameters, dict) or not parameters:
        raise bad("'parameters' must name at least one calibrated parameter")
    if not isinstance(draws, list) or not draws:
        raise bad("'draws' must hold at least one draw")
    keys = tuple(str(k) for k in parameters)
    also: dict[str, tuple[str, ...]] = {}
    for name, settings in parameters.items():
        others = settings.get("also", []) if isinstance(settings, dict) else None
        if not isinstance(others, list) or not all(isinstance(o, str) for o in others):
            raise bad(f"parameters.{name}.also must be a list of dotted keys")
        also[str(name)] = tuple(others)
    found: list[tuple[str, dict[str, int | float]]] = []
    for index, draw in enumerate(draws):
        values = draw.get("values") if isinstance(draw, dict) else None
        if not isinstance(values, dict) or set(values) != set(keys):
            raise bad(f"draws.{index}: 'values' must give every parameter ({', '.join(keys)})")
        for name, value in values.items():
            if not _number(value):
                raise bad(f"draws.{index}.values.{name}: must be a finite number, got {value!r}")
        label = draw.get("draw", f"draw-{index}")
        found.append((str(label), {k: values[k] for k in keys}))
    return Ensemble(
        path=file,
        calibration=str(data.get("calibration", file.parent.name)),
        keys=keys,
        also=also,
        draws=tuple(found),
    )
