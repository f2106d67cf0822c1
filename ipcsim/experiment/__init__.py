"""Many runs: Monte Carlo experiments over scenario grids and designs.

Replications with confidence intervals, common random numbers, any executor, resumable
batches. An experiment is described by a TOML spec (:mod:`~ipcsim.experiment.spec`), turned
into a plan of scenarios with their seeds (:mod:`~ipcsim.experiment.plan`) and run cell by
cell, a cell being one replication of one scenario (:mod:`~ipcsim.experiment.run`). Each cell
runs :func:`ipcsim.run.run_scenario` in a worker (:mod:`~ipcsim.experiment.cell`), which writes
the replication's tables and returns only its KPIs (:mod:`ipcsim.analysis.kpis`). The cells'
KPIs become the experiment's tables (:mod:`~ipcsim.experiment.frames`), written to a folder
laid out by :mod:`ipcsim.io.experiment_folder`. Where cells run is
:mod:`~ipcsim.experiment.executors`.
"""

# Re-exported so that callers import the experiment entry points from the package.
from ipcsim.analysis.kpis import compute_kpis, flatten_summary, kpi_names, kpi_series
from ipcsim.experiment.cell import CellResult, CellTask, run_cell
from ipcsim.experiment.plan import ExperimentPlan, PlannedScenario, plan_experiment
from ipcsim.experiment.run import ExperimentResult, ProgressEvent, run_experiment
from ipcsim.experiment.spec import ExperimentSpec, load_spec, spec_from_dict
from ipcsim.io.experiment_folder import STATE_FILE

__all__ = [
    "CellResult",
    "CellTask",
    "ExperimentPlan",
    "ExperimentResult",
    "ExperimentSpec",
    "PlannedScenario",
    "ProgressEvent",
    "STATE_FILE",
    "compute_kpis",
    "flatten_summary",
    "kpi_names",
    "kpi_series",
    "load_spec",
    "plan_experiment",
    "run_cell",
    "run_experiment",
    "spec_from_dict",
]
