"""The small calibration shared by the calibration tests (the session fixture in conftest)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CALIBRATION_EXAMPLE = ROOT / "experiments" / "calibration_synthetic"
SMALL_CALIBRATION = """\
# The synthetic site's first month (April 2016: 32 referrals), two parameters: the referral
# rate, which the count identifies, and a planner's hourly cost, which no count depends on.
name = "calibration_small"
question = "What referral rate reproduces the synthetic site's first month?"
base = "site.toml"
overrides = ["run.horizon_days=30", "cohorts.ltc.offer_acceptance=0.6"]
observed = "observed.csv"
truth = "truth.toml"
series = ["referrals"]
master_seed = 7

[parameters."cohorts.ltc.referrals_per_month"]
prior = "uniform"
low = 5
high = 80

[parameters."workforce.planner.hourly_cost_gbp"]
prior = "loguniform"
low = 15
high = 60

[abc]
population = 30
generations = 1
quantile = 0.5
batch = 5

[outputs]
predictive_draws = 10
ensemble_size = 2
"""


def small_calibration_spec(folder: Path) -> Path:
    """Write the small calibration (``SMALL_CALIBRATION``) and its files into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("site.toml", "truth.toml"):
        (folder / name).write_bytes((CALIBRATION_EXAMPLE / name).read_bytes())
    lines = (CALIBRATION_EXAMPLE / "observed.csv").read_text(encoding="utf-8").splitlines()
    (folder / "observed.csv").write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    spec = folder / "calibrate.toml"
    spec.write_text(SMALL_CALIBRATION, encoding="utf-8")
    return spec


@dataclass(frozen=True)
class SmallCalibration:
    """The small calibration's spec file and its finished output folder."""

    spec: Path
    out: Path
