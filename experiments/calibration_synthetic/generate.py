"""Regenerate observed.csv: the synthetic site's monthly counts, simulated from truth.toml.

Run from the project folder: ``python experiments/calibration_synthetic/generate.py``. The
counts are one run of truth.toml with its own seed (run.seed = 20160401, replication 0), so
the file is reproduced exactly by the same ipcsim version.
"""

from pathlib import Path

from ipcsim import load_scenario, run_scenario

HERE = Path(__file__).resolve().parent
SERIES = ["referrals", "plans_signed_off", "budgets_released", "open_cases_end"]

if __name__ == "__main__":
    result = run_scenario(load_scenario(HERE / "truth.toml"), replication=0)
    frame = result.timeseries[["month", *SERIES]].copy()
    frame["month"] = frame["month"].astype(str).str[:7]
    frame.to_csv(HERE / "observed.csv", index=False, lineterminator="\n")
