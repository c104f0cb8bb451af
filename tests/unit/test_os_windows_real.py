"""The Windows side against the real Windows: run by .github/workflows/windows.yml, skipped
elsewhere (tests/unit/test_os_layer.py checks the same functions' inputs and outputs everywhere).

Nothing here touches a real installation: the task gets a name of its own and is deleted,
files live under pytest's temporary directory."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import xmlschema

from msde_tui import osdep
from msde_tui.cli import main
from msde_tui.engine.auto import schedule
from msde_tui.osdep import windows

pytestmark = pytest.mark.windows_only

TASK_XSD = Path(__file__).parents[1] / "schemas" / "task-scheduler.xsd"


def test_a_detached_runner_starts_and_ends() -> None:
    child = windows.spawn_detached(
        [sys.executable, "-c", "import sys; sys.exit(7)"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    assert child.wait(timeout=60) == 7
    assert not osdep.pid_alive(child.pid)


def test_a_detached_runner_reads_its_password_from_the_pipe(tmp_path: Path) -> None:
    out = tmp_path / "got.txt"
    code = f"import sys, pathlib; pathlib.Path({str(out)!r}).write_text(sys.stdin.readline().strip())"
    child = windows.spawn_detached([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert child.stdin is not None
    child.stdin.write(b"s3cret\n")
    child.stdin.close()
    assert child.wait(timeout=60) == 0
    assert out.read_text() == "s3cret"


def test_replace_waits_for_a_reader(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    target.write_text("old")
    new = tmp_path / "new.json"
    new.write_text("new")
    reader = open(target, encoding="utf-8")  # noqa: SIM115 - Python opens without FILE_SHARE_DELETE
    closer = threading.Timer(0.3, reader.close)
    closer.start()
    try:
        windows.replace_file(new, target)
    finally:
        closer.join()
        reader.close()
    assert target.read_text() == "new"


def test_make_private_with_icacls(tmp_path: Path) -> None:
    target = tmp_path / "audit.log.jsonl"
    target.write_text("x")
    windows.make_private(target)
    listing = subprocess.run(["icacls", str(target)], capture_output=True, text=True, check=True).stdout
    assert os.environ.get("USERNAME", "").lower() in listing.lower()
    assert "BUILTIN\\Users" not in listing
    assert target.read_text() == "x"


def test_console_detection_answers() -> None:
    assert isinstance(windows._virtual_terminal_available(), bool)
    assert osdep.SIDE == "windows" and osdep.executable_name("msde") == "msde.exe"


def test_the_task_scheduler_takes_the_task(home: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Register, query and delete a task through the real schtasks (a name of its own)."""
    name = f"msde-tui test {os.getpid()}"
    monkeypatch.setattr(schedule, "TASK_NAME", name)
    code = main(["auto", "--install", "taskscheduler", "--write"])
    captured = capsys.readouterr()
    if code != 0 and "Access is denied" in captured.err:
        pytest.skip("registering an S4U task needs an administrator's console here")
    assert code == 0, captured.err
    try:
        xml = (home / "auto" / "msde-auto.xml").read_bytes().decode("utf-16")
        xmlschema.XMLSchema(str(TASK_XSD)).validate(xml)
        assert main(["--json", "auto", "--install", "taskscheduler", "--status"]) == 0
        assert name in capsys.readouterr().out
    finally:
        assert main(["auto", "--uninstall", "taskscheduler"]) == 0
    assert main(["auto", "--install", "taskscheduler", "--status"]) == 1
