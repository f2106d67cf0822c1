"""Calibration: fit a scenario's uncertain parameters to a site's observed aggregate counts.

A calibration is described by a TOML spec (:mod:`~.spec`): a base scenario, the uncertain
parameters as dotted keys with uniform or log-uniform priors, a CSV of observed counts per
month or quarter (:mod:`~.observed`). :func:`~.problem.prepare_calibration` resolves it into
the observed points to fit; :func:`~.calibrate.run_calibration` runs approximate Bayesian
computation by sequential Monte Carlo (:mod:`~.run`, the numerical parts in
:mod:`ipcsim.analysis.abc`) on any executor, each simulation in a worker (:mod:`~.simulate`),
then the posterior predictive check and the diagnostics (:mod:`~.results`), and writes the
folder laid out by :mod:`ipcsim.io.calibration_folder`.
"""

from ipcsim.experiment.calibration.calibrate import CalibrationResult, run_calibration
from ipcsim.experiment.calibration.observed import ObservedData, read_observed
from ipcsim.experiment.calibration.problem import CalibrationProblem, Target, prepare_calibration
from ipcsim.experiment.calibration.run import Generation, SmcResult
from ipcsim.experiment.calibration.spec import (
    CalibrationSpec,
    calibration_spec_from_dict,
    load_calibration_spec,
)

__all__ = [
    "CalibrationProblem",
    "CalibrationResult",
    "CalibrationSpec",
    "Generation",
    "ObservedData",
    "SmcResult",
    "Target",
    "calibration_spec_from_dict",
    "load_calibration_spec",
    "prepare_calibration",
    "read_observed",
    "run_calibration",
]
