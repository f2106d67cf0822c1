"""ipcsim: a discrete-event simulation of the scale-up of Integrated Personal Commissioning.

The front door: what a script or notebook needs, without knowing the package's folders.

>>> import ipcsim
>>> scenario = ipcsim.load_scenario("configs/demonstrator_site.toml")  # doctest: +SKIP
>>> result = ipcsim.run_scenario(scenario)  # doctest: +SKIP
>>> result.summary["waits_days"]["referral_to_first_conversation"]  # doctest: +SKIP

The folders follow the data flow: ``scenario/`` (describe: TOML -> one frozen ``Scenario``)
-> ``engine/`` (execute: the SimPy model, tidy records) -> ``analysis/`` (pure functions:
KPIs, costs, statistics) -> ``run.py`` (one run) -> ``experiment/`` (many runs) -> ``io/``
(files) -> ``present/`` (plots, report) -> ``cli/``; shared vocabulary (``units``,
``periods``, ``pathway``) sits at the bottom.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below, imported on first use (``ipcsim --help`` stays quick)
    from ipcsim.experiment import load_spec, plan_experiment, run_experiment
    from ipcsim.run import RunResult, run_scenario, write_run
    from ipcsim.scenario import Scenario, load_scenario, scenario_from_dict

_WHERE = {
    "load_spec": "ipcsim.experiment",
    "plan_experiment": "ipcsim.experiment",
    "run_experiment": "ipcsim.experiment",
    "RunResult": "ipcsim.run",
    "run_scenario": "ipcsim.run",
    "write_run": "ipcsim.run",
    "Scenario": "ipcsim.scenario",
    "load_scenario": "ipcsim.scenario",
    "scenario_from_dict": "ipcsim.scenario",
}
"""Front-door name -> the module that defines it."""


def __getattr__(name: str) -> Any:
    """A front-door name, imported from its module on first use (PEP 562)."""
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ipcsim' has no attribute {name!r}")


try:
    __version__ = version("ipcsim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree not installed
    __version__ = "0+unknown"

__all__ = [
    "RunResult",
    "Scenario",
    "__version__",
    "load_scenario",
    "load_spec",
    "plan_experiment",
    "run_experiment",
    "run_scenario",
    "scenario_from_dict",
    "write_run",
]
