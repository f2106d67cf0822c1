"""Reading a warm-start backlog CSV safely: bad files give one line and echo nothing else.

Reproductions from issue 14 (hardening): Excel's UTF-8 BOM, a 10^30 person id, a field over
128 KiB, a file that is not a regular file, and a first line that must not be echoed whole.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ipcsim.errors import ConfigError
from ipcsim.scenario.backlog import MAX_PERSON_ID, load_backlog
from tests.conftest import make_scenario

HEADER = "person_id,site,cohort,stage,waiting_since"


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "backlog.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_a_file_saved_by_excel_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeff" + HEADER + "\n1,site,ltc,consented,2016-01-01\n")
    (person,) = load_backlog(path, make_scenario())
    assert person.person_id == 1 and person.stage == "consented"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (f"{HEADER}\n{10**30},site,ltc,consented,2016-01-01\n", "column person_id: must be 0 to"),
        (f"{HEADER}\n{MAX_PERSON_ID + 1},site,ltc,consented,2016-01-01\n", "person_id"),
        (f"{HEADER}\n-1,site,ltc,consented,2016-01-01\n", "column person_id: must be 0 to"),
        (f"{HEADER}\n1,{'s' * 200_000},ltc,consented,2016-01-01\n", "row 2"),
        (f"{HEADER}\n1,{'s' * 5_000},ltc,consented,2016-01-01\n", "longer than 1000 characters"),
        ("\n".join(["root:$6$secret-hash-that-must-not-be-shown:19000:0:99999:7:::"]), "row 1"),
        # a wait of two thousand years: dates are bounded like the scenario's (1990 on)
        (f"{HEADER}\n1,site,ltc,consented,0001-01-01\n", "must be on or after 1990-01-01"),
    ],
)
def test_bad_rows_give_one_line_naming_the_file_and_row(
    tmp_path: Path, text: str, match: str
) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        load_backlog(write(tmp_path, text), make_scenario())
    message = str(info.value)
    assert "\n" not in message and "backlog.csv" in message
    assert len(message) < 400
    assert "secret-hash-that-must-not-be-shown" not in message


def test_not_utf8_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_backlog(write(tmp_path, HEADER.encode() + b"\n\xff\xfe,site\n"), make_scenario())


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be a regular file"):
        load_backlog(tmp_path, make_scenario())
    with pytest.raises(ConfigError, match="must be a regular file"):
        load_backlog(Path("/dev/zero"), make_scenario())
    with pytest.raises(ConfigError, match="file not found"):
        load_backlog(tmp_path / "missing.csv", make_scenario())


def test_validate_reads_the_backlog_so_run_never_rejects_what_validate_accepted(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    scenario = tmp_path / "site.toml"
    shipped = (root / "configs" / "demonstrator_site.toml").read_text(encoding="utf-8")
    scenario.write_text('initial_state = "backlog.csv"\n' + shipped, encoding="utf-8")
    (tmp_path / "backlog.csv").write_text(f"{HEADER}\nx,site,ltc,consented,2016-01-01\n")
    bad = subprocess.run(
        [sys.executable, "-m", "ipcsim", "validate", str(scenario)],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=120,
    )
    assert bad.returncode == 2, bad.stderr
    assert "backlog.csv: row 2, column person_id" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def _scenario_naming(tmp_path: Path, state: str) -> Path:
    root = Path(__file__).resolve().parents[2]
    folder = tmp_path / "scenarios"
    folder.mkdir(exist_ok=True)
    shipped = (root / "configs" / "demonstrator_site.toml").read_text(encoding="utf-8")
    path = folder / "site.toml"
    path.write_text(f"initial_state = {state!r}\n" + shipped, encoding="utf-8")
    return path


@pytest.mark.parametrize("state", ["/etc/passwd", "../outside.csv", "/dev/zero", "link.csv"])
def test_files_a_scenario_names_must_lie_in_its_folder(tmp_path: Path, state: str) -> None:
    from ipcsim.scenario.load import load_scenario

    (tmp_path / "outside.csv").write_text(HEADER + "\n")
    path = _scenario_naming(tmp_path, state)
    (path.parent / "link.csv").symlink_to(tmp_path / "outside.csv")
    with pytest.raises(ConfigError, match="initial_state: .* is outside the scenario's folder"):
        load_scenario(path)
    # allowed explicitly, the file is read (and checked) as any other
    if state in ("../outside.csv", "link.csv"):
        scenario = load_scenario(path, allow_outside_files=True)
        assert load_backlog(scenario.initial_state or "", scenario) == ()


def test_a_file_beside_the_scenario_is_allowed(tmp_path: Path) -> None:
    from ipcsim.scenario.load import load_scenario

    path = _scenario_naming(tmp_path, "sub/backlog.csv")
    (path.parent / "sub").mkdir()
    (path.parent / "sub" / "backlog.csv").write_text(HEADER + "\n")
    scenario = load_scenario(path)
    assert Path(scenario.initial_state or "").name == "backlog.csv"
