"""The executor seam: option parsing, the serial reference, and identical results everywhere."""

from __future__ import annotations

import concurrent.futures as cf
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ipcsim.experiment import ExperimentPlan, plan_experiment, run_experiment, spec_from_dict
from ipcsim.experiment.executors import (
    ExecutorError,
    SerialExecutor,
    open_executor,
    parse_executor,
)

ROOT = Path(__file__).resolve().parents[2]


def tiny_plan(**changes: Any) -> ExperimentPlan:
    """Two staffing levels x 3 replications of the demonstrator over 150 days."""
    data: dict[str, Any] = {
        "name": "tiny",
        "base": "demonstrator_site.toml",
        "master_seed": 5,
        "overrides": ["run.horizon_days=150"],
        "kpis": ["wait_referral_to_first_conversation_mean", "plans_signed_off"],
        "grid": {"workforce.planner.headcount": [1, 2]},
        "replications": {"n": 3},
        "warmup": {"mode": "fixed", "days": 30},
        **changes,
    }
    return plan_experiment(spec_from_dict(data), base_dir=ROOT / "configs")


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "kind", "workers", "address"),
    [
        ("serial", "serial", 1, None),
        ("process:3", "process", 3, None),
        ("dask:local:2", "dask-local", 2, None),
        ("dask:tcp://10.0.0.5:8786", "dask-remote", 0, "tcp://10.0.0.5:8786"),
        ("dask:scheduler:8786", "dask-remote", 0, "scheduler:8786"),
    ],
)
def test_parse_executor(text: str, kind: str, workers: int, address: str | None) -> None:
    spec = parse_executor(text)
    assert (spec.kind, spec.workers, spec.address) == (kind, workers, address)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("threads", "expected serial"),
        ("process:0", "N must be"),
        ("process:two", "N must be"),
        ("dask:local:", "N must be"),
        ("dask:", "missing scheduler address"),
        ("dask:local", "missing scheduler address"),
    ],
)
def test_parse_executor_errors_are_one_line(text: str, match: str) -> None:
    with pytest.raises(ExecutorError, match=match) as info:
        parse_executor(text)
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- serial


def _square(x: int) -> int:
    return x * x


def _fail(x: int) -> int:
    raise ValueError(f"bad {x}")


def test_serial_executor_runs_at_submission() -> None:
    executor = SerialExecutor()
    future = executor.submit(_square, 4)
    assert future.done() and future.result() == 16
    failed = executor.submit(_fail, 2)
    with pytest.raises(ValueError, match="bad 2"):
        failed.result()
    assert list(executor.map(_square, [1, 2, 3])) == [1, 4, 9]
    executor.shutdown()
    with pytest.raises(RuntimeError, match="shutdown"):
        executor.submit(_square, 1)


def test_process_pool_runs_picklable_functions() -> None:
    with open_executor("process:2") as handle:
        assert handle.workers == 2 and handle.max_in_flight == 4
        futures = [handle.executor.submit(_square, i) for i in range(5)]
        assert [f.result() for f in futures] == [0, 1, 4, 9, 16]


def test_unreachable_dask_scheduler_is_a_one_line_error() -> None:
    pytest.importorskip("distributed")
    with pytest.raises(ExecutorError, match="cannot reach Dask") as info:  # noqa: SIM117
        with open_executor("dask:tcp://127.0.0.1:9", connect_timeout_s=1.0):
            pass
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- identical results


def _outputs(out: Path) -> dict[str, pd.DataFrame]:
    return {
        name: pd.read_parquet(out / f"{name}.parquet")
        for name in ("replications", "summary", "paired", "scenarios")
    }


def test_serial_process_and_dask_give_identical_outputs(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    plan = tiny_plan()
    results = {}
    for executor in ("serial", "process:2", "dask:local:2"):
        out = tmp_path / executor.replace(":", "-")
        result = run_experiment(plan, out, executor=executor)
        assert result.computed == 6
        results[executor] = _outputs(out)
    reference = results["serial"]
    assert len(reference["replications"]) > 0
    for executor in ("process:2", "dask:local:2"):
        for name, frame in reference.items():
            pd.testing.assert_frame_equal(results[executor][name], frame, check_exact=True)
    # Results are ordered by (scenario, replication), never by completion.
    order = reference["replications"][["scenario", "replication"]].drop_duplicates()
    assert order.equals(order.sort_values(["scenario", "replication"]))


@pytest.mark.slow
def test_results_do_not_depend_on_the_number_of_workers(tmp_path: Path) -> None:
    plan = tiny_plan()
    one = run_experiment(plan, tmp_path / "one", executor="process:1")
    two = run_experiment(plan, tmp_path / "two", executor="process:2")
    pd.testing.assert_frame_equal(one.replications, two.replications, check_exact=True)


def test_futures_from_every_executor_are_concurrent_futures() -> None:
    with open_executor("serial") as handle:
        future = handle.executor.submit(_square, 3)
        done, _ = cf.wait([future], timeout=1)
        assert future in done and future.result() == 9


# --------------------------------------------------------------------------- Ctrl-C with Dask
def _interrupt_a_dask_batch(out: Path, *, whole_group: bool) -> subprocess.CompletedProcess[str]:
    """Run ``ipcsim experiment`` on ``dask:local:2`` and press Ctrl-C once a replication is done.

    ``whole_group`` sends SIGINT to the command's whole process group, as a terminal's Ctrl-C
    does (the Dask workers get it too); otherwise to the main process only.
    """
    args = [
        sys.executable, "-m", "ipcsim", "experiment",
        "experiments/planner_capacity/experiment.toml", "--out", str(out),
        "--executor", "dask:local:2", "--replications", "20",
        "--set", "run.horizon_days=120", "--set", "warmup.mode=none",
    ]  # fmt: skip
    child = subprocess.Popen(
        args,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, like a job in a terminal
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        deadline = time.monotonic() + 240
        while not list(out.glob("runs/*/rep-*/kpis.json")):
            assert child.poll() is None, "the batch ended before a replication finished"
            assert time.monotonic() < deadline, "no replication finished in time"
            time.sleep(0.02)
        assert child.poll() is None, "the batch ended before it could be interrupted"
        if whole_group:
            os.killpg(child.pid, signal.SIGINT)
        else:
            child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    return subprocess.CompletedProcess(args, child.returncode, stdout, stderr)


def _assert_stopped_cleanly(result: subprocess.CompletedProcess[str], out: Path) -> None:
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr and "Error" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) <= 2, result.stderr
    assert lines[-1].startswith("interrupted: finished replications are kept in"), result.stderr
    assert list(out.glob("runs/*/rep-*/kpis.json"))
    assert not (out / "manifest.json").exists()


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
def test_ctrl_c_on_a_dask_batch_stops_with_one_line(tmp_path: Path) -> None:
    # Issue 14: Ctrl-C on --executor dask:local:2 printed a ~40-line CommClosedError
    # traceback about half the time. Once as from a terminal, once to the main process alone.
    pytest.importorskip("distributed")
    for attempt, whole_group in enumerate((True, False)):
        out = tmp_path / f"cut-{attempt}"
        _assert_stopped_cleanly(_interrupt_a_dask_batch(out, whole_group=whole_group), out)


@pytest.mark.slow
@pytest.mark.validation
@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
def test_ctrl_c_on_a_dask_batch_stops_with_one_line_every_time(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    for attempt in range(8):
        out = tmp_path / f"cut-{attempt}"
        result = _interrupt_a_dask_batch(out, whole_group=attempt % 2 == 0)
        _assert_stopped_cleanly(result, out)
