"""Output folders: round trip, atomic replacement, manifest contents, corrupt files."""

from __future__ import annotations

import errno
import importlib.metadata
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ipcsim.engine.records import EventLog
from ipcsim.errors import OutputError
from ipcsim.io import experiment_folder, files
from ipcsim.io import manifest as manifest_io
from ipcsim.io import run_folder as io


def frames() -> dict[str, pd.DataFrame]:
    """Small frames with the model's dtypes (strings, NaN, bools)."""
    log = EventLog()
    person = log.add_person(1, "Testshire", "frail", 1.5)
    person.end("declined", "offer_declined", 2.0)
    log.add_person(2, "Testshire", "frail", 3.0)
    log.log_work(
        person, role="planner", member="planner-1", activity="a", start_day=1.6, finish_day=1.7,
        hours=1.0,
    )  # fmt: skip
    row = log.open_wait(person, role="planner", activity="allocation", day=1.5)
    log.close_wait(row, 1.6)
    log.open_wait(person, role="planner", activity="allocation", day=2.5)
    return {
        "people": log.people_frame(["planner"], {"Testshire": {"planner": 20.0}}),
        "work": log.work_frame(),
        "waits": log.waits_frame(),
    }


SUMMARY: dict[str, Any] = {"people": {"referred": 2}, "waits_days": {"x": {"mean": None}}}


def manifest() -> dict[str, Any]:
    return manifest_io.build_manifest(
        scenario_json={"name": "test", "run": {"seed": 7}},
        config_hash="abc123",
        seed=7,
        wall_time_s=0.25,
        config_path="configs/test.toml",
        streams=["arrivals.frail", "sessions.frail"],
        extra={"replication": 0},
    )


def write(out: Path, **kwargs: Any) -> Path:
    options: dict[str, Any] = {"frames": frames(), "summary": SUMMARY, "manifest": manifest()}
    options.update(kwargs)
    return io.write_run_outputs(out, **options)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# --------------------------------------------------------------------------- round trip
def test_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert write(out) == out
    assert sorted(p.name for p in out.iterdir()) == [
        "manifest.json",
        "people.parquet",
        "summary.json",
        "waits.parquet",
        "work.parquet",
    ]
    back = io.read_run_outputs(out)
    for name, frame in frames().items():
        pd.testing.assert_frame_equal(back["frames"][name], frame)
    assert back["summary"] == SUMMARY
    assert back["manifest"]["config_hash"] == "abc123"
    assert set(back["manifest"]["files"]) == {
        "people.parquet",
        "waits.parquet",
        "work.parquet",
        "summary.json",
    }
    assert os.listdir(tmp_path) == ["run"]  # no temporary folder left


def test_csv_copies_on_request(tmp_path: Path) -> None:
    out = write(tmp_path / "run", csv=True)
    people = pd.read_csv(out / "people.csv")
    assert people["person_id"].tolist() == [1, 2]
    assert people["end_state"].tolist() == ["declined", "in_progress"]
    assert "people.csv" in json.loads((out / "manifest.json").read_text())["files"]


def test_rewrite_replaces_an_earlier_output_folder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    write(out, csv=True)
    write(out, summary={"second": True})
    assert io.read_run_outputs(out)["summary"] == {"second": True}
    assert not (out / "people.csv").exists()
    assert os.listdir(tmp_path) == ["run"]  # the old folder was deleted


def test_parent_folders_are_created(tmp_path: Path) -> None:
    out = write(tmp_path / "a" / "b" / "run")
    assert (out / "manifest.json").is_file()


# --------------------------------------------------------------------------- atomicity
def fail_on_second_parquet(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    real = pd.DataFrame.to_parquet
    calls = []

    def flaky(self: pd.DataFrame, path: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(path)
        if len(calls) == 2:
            Path(path).write_bytes(b"PAR1 half a file")
            raise error
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", flaky)


def test_failure_mid_write_leaves_the_old_folder_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = write(tmp_path / "run")
    before = snapshot(out)
    fail_on_second_parquet(monkeypatch, OSError(28, "No space left on device"))
    with pytest.raises(OutputError, match=r"cannot write outputs to .*run: no space left"):
        write(out, summary={"second": True})
    assert snapshot(out) == before
    assert os.listdir(tmp_path) == ["run"]


def test_failure_mid_write_creates_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_on_second_parquet(monkeypatch, OSError(28, "No space left on device"))
    with pytest.raises(OutputError):
        write(tmp_path / "run")
    assert os.listdir(tmp_path) == []


def test_interrupt_mid_write_cleans_up_and_propagates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = write(tmp_path / "run")
    before = snapshot(out)
    fail_on_second_parquet(monkeypatch, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        write(out, summary={"second": True})
    assert snapshot(out) == before
    assert os.listdir(tmp_path) == ["run"]


def test_failed_swap_restores_the_old_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = write(tmp_path / "run")
    before = snapshot(out)
    real = os.rename
    calls = []

    def flaky(src: Any, dst: Any) -> None:
        calls.append((src, dst))
        if len(calls) == 2:  # the temporary folder into place
            raise PermissionError(13, "Permission denied", str(dst))
        real(src, dst)

    monkeypatch.setattr(io.os, "rename", flaky)
    with pytest.raises(OutputError, match="permission denied"):
        write(out, summary={"second": True})
    monkeypatch.undo()
    assert snapshot(out) == before
    assert os.listdir(tmp_path) == ["run"]


def test_manifest_is_written_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []
    real_parquet = pd.DataFrame.to_parquet
    real_csv = pd.DataFrame.to_csv
    real_text = files.write_text_synced

    def parquet(self: pd.DataFrame, path: Any, *args: Any, **kwargs: Any) -> Any:
        order.append(Path(path).name)
        return real_parquet(self, path, *args, **kwargs)

    def csv(self: pd.DataFrame, path: Any, *args: Any, **kwargs: Any) -> Any:
        order.append(Path(path).name)
        return real_csv(self, path, *args, **kwargs)

    def text(path: Path, content: str) -> None:
        order.append(path.name)
        real_text(path, content)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", parquet)
    monkeypatch.setattr(pd.DataFrame, "to_csv", csv)
    monkeypatch.setattr(files, "write_text_synced", text)
    write(tmp_path / "run", csv=True)
    assert len(order) == 8
    assert order[-1] == "manifest.json"


def test_nan_in_summary_is_refused_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="summary holds a value JSON cannot store"):
        write(tmp_path / "run", summary={"mean": math.nan})
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- write errors
def test_parent_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match=r"cannot write outputs to .*file\.txt[/\\]run"):
        write(blocker / "run")
    assert os.listdir(tmp_path) == ["file.txt"]


def test_out_dir_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "run").write_text("a file")
    with pytest.raises(OutputError, match="exists and is not a folder"):
        write(tmp_path / "run")
    assert (tmp_path / "run").read_text() == "a file"


def test_refuses_to_replace_a_folder_that_is_not_an_output(tmp_path: Path) -> None:
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "thesis.tex").write_text("precious")
    with pytest.raises(OutputError, match=r"refusing to replace .*documents.*no manifest\.json"):
        write(folder)
    assert (folder / "thesis.tex").read_text() == "precious"
    assert sorted(os.listdir(tmp_path)) == ["documents"]


def test_an_empty_folder_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    out = write(tmp_path / "run")
    assert (out / "manifest.json").is_file()


@pytest.mark.parametrize("name", ["../escape", "a/b", "", "summary"])
def test_frame_names_must_be_plain(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="frame name"):
        write(tmp_path / "run", frames={name: pd.DataFrame({"a": [1]})})
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- manifest
def test_manifest_fields() -> None:
    result = manifest()
    for key in (
        "ipcsim_version",
        "versions",
        "git_commit",
        "git_dirty",
        "platform",
        "created_utc",
        "wall_time_s",
        "seed",
        "config_hash",
        "config_path",
        "config",
        "rng_streams",
    ):
        assert key in result, key
    assert set(result["versions"]) == {"python", *manifest_io.VERSIONED_PACKAGES}
    assert result["versions"]["pandas"] == pd.__version__
    assert set(result["platform"]) == {"machine", "system", "python_implementation", "cpu_count"}
    assert result["created_utc"].endswith("+00:00")
    assert result["seed"] == 7
    assert result["wall_time_s"] == 0.25
    assert result["config"] == {"name": "test", "run": {"seed": 7}}
    assert result["config_path"] == "configs/test.toml"
    assert result["rng_streams"] == ["arrivals.frail", "sessions.frail"]
    assert result["replication"] == 0
    assert result["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40}", result["git_commit"])
    assert result["git_dirty"] in (None, True, False)
    json.dumps(result, allow_nan=False)


def test_manifest_without_git_or_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_git(*args: Any, **kwargs: Any) -> Any:
        raise FileNotFoundError(2, "No such file or directory", "git")

    real_version = importlib.metadata.version

    def version(name: str) -> str:
        if name in {"typer", "ipcsim"}:
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(manifest_io.subprocess, "run", no_git)
    monkeypatch.setattr(manifest_io.importlib.metadata, "version", version)
    result = manifest()
    assert result["git_commit"] is None
    assert result["git_dirty"] is None
    assert result["versions"]["typer"] == "not installed"
    assert result["ipcsim_version"] == "unknown"


def test_git_state_outside_a_repository_is_none(tmp_path: Path) -> None:
    assert manifest_io._git_state(tmp_path) == (None, None)


def test_git_state_of_a_repository(tmp_path: Path) -> None:
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    try:
        subprocess.run([*git, "init", "-q"], check=True, capture_output=True)
        (tmp_path / "a.txt").write_text("a")
        subprocess.run([*git, "add", "a.txt"], check=True, capture_output=True)
        subprocess.run([*git, "commit", "-q", "-m", "a"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("git is not usable here")
    commit, dirty = manifest_io._git_state(tmp_path)
    assert commit is not None and re.fullmatch(r"[0-9a-f]{40}", commit)
    assert dirty is False
    (tmp_path / "a.txt").write_text("changed")
    assert manifest_io._git_state(tmp_path) == (commit, True)
    # a sub-folder of a repository is not that repository's top level
    (tmp_path / "sub").mkdir()
    assert manifest_io._git_state(tmp_path / "sub") == (None, None)


def test_extra_may_not_replace_standard_entries() -> None:
    with pytest.raises(ValueError, match="'seed'"):
        manifest_io.build_manifest(
            scenario_json={},
            config_hash="h",
            seed=1,
            wall_time_s=0.0,
            config_path=None,
            streams=[],
            extra={"seed": 2},
        )


# --------------------------------------------------------------------------- read errors
def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"nowhere: no such output folder"):
        io.read_run_outputs(tmp_path / "nowhere")


def test_missing_manifest(tmp_path: Path) -> None:
    out = write(tmp_path / "run")
    (out / "manifest.json").unlink()
    with pytest.raises(OutputError, match=r"manifest\.json: missing"):
        io.read_run_outputs(out)


def test_truncated_parquet(tmp_path: Path) -> None:
    out = write(tmp_path / "run")
    data = (out / "people.parquet").read_bytes()
    (out / "people.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(OutputError, match=r"people\.parquet") as info:
        io.read_run_outputs(out)
    assert "\n" not in str(info.value)


def test_corrupt_parquet_without_a_checksum(tmp_path: Path) -> None:
    out = write(tmp_path / "run")
    meta = json.loads((out / "manifest.json").read_text())
    del meta["files"]
    (out / "manifest.json").write_text(json.dumps(meta))
    data = (out / "work.parquet").read_bytes()
    (out / "work.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(OutputError, match=r"work\.parquet: unreadable parquet file") as info:
        io.read_run_outputs(out)
    assert "\n" not in str(info.value)


def test_invalid_summary_json(tmp_path: Path) -> None:
    out = write(tmp_path / "run")
    meta = json.loads((out / "manifest.json").read_text())
    del meta["files"]
    (out / "manifest.json").write_text(json.dumps(meta))
    (out / "summary.json").write_text('{"people": ')
    with pytest.raises(OutputError, match=r"summary\.json: invalid JSON"):
        io.read_run_outputs(out)


def test_invalid_manifest_json(tmp_path: Path) -> None:
    out = write(tmp_path / "run")
    (out / "manifest.json").write_text("[1, 2")
    with pytest.raises(OutputError, match=r"manifest\.json: invalid JSON"):
        io.read_run_outputs(out)


def test_listed_file_missing(tmp_path: Path) -> None:
    out = write(tmp_path / "run")
    (out / "waits.parquet").unlink()
    with pytest.raises(OutputError, match=r"waits\.parquet: listed in manifest\.json but missing"):
        io.read_run_outputs(out)


def test_modified_summary_fails_its_checksum(tmp_path: Path) -> None:
    out = write(tmp_path / "run")
    text = (out / "summary.json").read_text()
    (out / "summary.json").write_text(text.replace("2", "3"))
    with pytest.raises(OutputError, match=r"summary\.json: checksum differs"):
        io.read_run_outputs(out)


def test_manifest_asks_git_about_the_checkout_holding_the_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[Path] = []

    def git_state(folder: Path) -> tuple[str | None, bool | None]:
        asked.append(folder)
        return "f" * 40, False

    monkeypatch.setattr(manifest_io, "_git_state", git_state)
    result = manifest()
    package = Path(manifest_io.__file__).resolve().parents[1]
    assert asked == [package.parent]
    assert (result["git_commit"], result["git_dirty"]) == ("f" * 40, False)


# --------------------------------------------------------------------------- single files
def test_atomic_writers_leave_only_the_file(tmp_path: Path) -> None:
    files.atomic_write_json(tmp_path / "a.json", {"b": 1, "a": [1.5, None]})
    files.atomic_write_parquet(tmp_path / "t.parquet", pd.DataFrame({"x": [1, 2]}))
    assert sorted(os.listdir(tmp_path)) == ["a.json", "t.parquet"]
    assert (tmp_path / "a.json").read_text() == '{\n "a": [\n  1.5,\n  null\n ],\n "b": 1\n}\n'
    assert files.read_json(tmp_path / "a.json") == {"a": [1.5, None], "b": 1}
    assert files.read_parquet(tmp_path / "t.parquet")["x"].tolist() == [1, 2]


def test_atomic_json_refuses_nan_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        files.atomic_write_json(tmp_path / "a.json", {"x": math.nan})
    assert os.listdir(tmp_path) == []


def test_readers_name_the_file_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"absent\.json: missing"):
        files.read_json(tmp_path / "absent.json")
    (tmp_path / "list.json").write_text("[1]")
    with pytest.raises(OutputError, match=r"list\.json: expected a JSON object, got list"):
        files.read_json(tmp_path / "list.json")
    with pytest.raises(OutputError, match=r"absent\.parquet: missing"):
        files.read_parquet(tmp_path / "absent.parquet")
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 half a file")
    with pytest.raises(OutputError, match=r"bad\.parquet: unreadable parquet file") as info:
        files.read_parquet(tmp_path / "bad.parquet")
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- experiment folders
def test_experiment_folder_tables_round_trip(tmp_path: Path) -> None:
    one = {"scenario": ["s000"], "kpi": ["k"]}
    tables = {
        "replications": pd.DataFrame({**one, "replication": [0], "value": [1.0]}),
        "summary": pd.DataFrame({**one, "mean": [1.0]}),
        "scenarios": pd.DataFrame({"scenario": ["s000"], "is_baseline": [True]}),
    }
    facts = experiment_folder.write_tables(tmp_path, tables)
    assert list(facts) == ["replications.parquet", "summary.parquet", "scenarios.parquet"]
    assert facts["summary.parquet"] == files.file_facts(tmp_path / "summary.parquet")
    experiment_folder.write_manifest(tmp_path, {"files": facts, "share": math.nan})
    back = experiment_folder.read_experiment_tables(tmp_path)
    assert back.manifest == {"files": facts, "share": None}
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(getattr(back, name), frame)
    assert back.paired is None and back.sensitivity is None
    (tmp_path / "summary.parquet").unlink()
    with pytest.raises(OutputError, match=r"summary\.parquet: missing"):
        experiment_folder.read_experiment_tables(tmp_path)


def test_unreadable_cell_records_are_left_out(tmp_path: Path) -> None:
    assert experiment_folder.read_cell_records(tmp_path) == []
    experiment_folder.write_cell_record(tmp_path, "s000", 0, {"scenario": "s000"})
    experiment_folder.write_cell_record(tmp_path, "s000", 1, {"scenario": "s000"})
    (experiment_folder.cell_dir(tmp_path, "s000", 1) / experiment_folder.CELL_RECORD).write_text(
        "{half"
    )
    assert experiment_folder.read_cell_records(tmp_path) == [{"scenario": "s000"}]
    assert experiment_folder.cell_dir(tmp_path, "s000", 1) == tmp_path / "runs/s000/rep-001"
    assert experiment_folder.read_state(tmp_path) is None


# --------------------------------------------------------------------------- leftovers (issue 14)
NO_SUCH_PID = 2**31 - 2  # above any pid_max: no process ever has it


def leftover_of_a_dead_process(target: Path, kind: str = "tmp") -> Path:
    """A hidden sibling named as a writer names it, made by a process that has since ended."""
    made = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys; from pathlib import Path; from ipcsim.io import files; "
            "tmp = files.temporary_sibling(Path(sys.argv[1])); "
            "tmp = tmp.with_name(tmp.name.replace('.tmp-', f'.{sys.argv[2]}-')); "
            "tmp.mkdir(); (tmp / 'people.parquet').write_bytes(os.urandom(1 << 20)); "
            "print(tmp)",
            str(target),
            kind,
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    return Path(made.stdout.strip())


def test_the_next_run_removes_temporary_folders_a_killed_run_left(tmp_path: Path) -> None:
    # Issue 14: a kill during the write phase left a hidden .<out>.tmp-* folder (3-6 MB) that
    # nothing removed. The next write of the same folder removes it, and only such leftovers.
    out = tmp_path / "run"
    killed = leftover_of_a_dead_process(out)
    also_killed = tmp_path / f".run.tmp-{NO_SUCH_PID}-0123abcd"
    also_killed.mkdir()
    aside = leftover_of_a_dead_process(out, "old")  # a swap killed before deleting the old
    alive = tmp_path / f".run.tmp-{os.getpid()}-89abcdef"  # maybe being written right now
    alive.mkdir()
    kept = [
        alive,
        tmp_path / f".other.tmp-{NO_SUCH_PID}-0123abcd",  # another output's
        tmp_path / f".run.tmp-{NO_SUCH_PID}-0123abcd.bak",  # not a name ipcsim makes
        tmp_path / ".run.tmp-notes",
        tmp_path / f"run.tmp-{NO_SUCH_PID}-0123abcd",  # not hidden
    ]
    for path in kept[1:]:
        path.write_text("someone else's")
    assert killed.is_dir() and killed.name.startswith(".run.tmp-")
    write(out)
    assert not killed.exists() and not also_killed.exists() and not aside.exists()
    assert sorted(os.listdir(tmp_path)) == sorted(["run", *(p.name for p in kept)])
    io.read_run_outputs(out)


def test_a_killed_write_of_a_file_is_cleaned_up_by_the_next_one(tmp_path: Path) -> None:
    (tmp_path / f".kpis.json.tmp-{NO_SUCH_PID}-0123abcd").write_text('{"half": ')
    files.atomic_write_json(tmp_path / "kpis.json", {"done": True})
    assert os.listdir(tmp_path) == ["kpis.json"]


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "the disk is full"),
        (PermissionError(errno.EACCES, "Permission denied"), "permission denied"),
        (OSError(errno.EROFS, "Read-only file system"), "read-only file system"),
    ],
)
def test_a_failed_file_write_is_one_line_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: OSError, reason: str
) -> None:
    def failing(self: pd.DataFrame, path: Any, *args: Any, **kwargs: Any) -> None:
        Path(path).write_bytes(b"PAR1 half")
        raise error

    monkeypatch.setattr(pd.DataFrame, "to_parquet", failing)
    target = tmp_path / "people.parquet"
    with pytest.raises(OutputError) as raised:
        files.atomic_write_parquet(target, pd.DataFrame({"a": [1]}))
    assert str(raised.value) == f"cannot write {target}: {reason}" + (
        f" ({error.strerror.lower()})" if reason != "permission denied" else ""
    )
    assert os.listdir(tmp_path) == []
    monkeypatch.setattr(files, "write_text_synced", lambda path, text: failing(None, path))
    with pytest.raises(OutputError, match=rf"cannot write .*kpis\.json: {reason}"):
        files.atomic_write_json(tmp_path / "kpis.json", {})
    assert os.listdir(tmp_path) == []
