"""`msde auto` runs through the registered operation and shows the shared progress display
(cli/running.py, the one every command uses): the same events, plain lines in a log, Rich bars
on a terminal, one JSON document with --json. Real runs over demo dossiers."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from msde_tui.cli import backup as cli_backup
from msde_tui.cli import main
from msde_tui.engine.accounting.demo import create_demo

CODES = ("001SOC", "002BRA", "003GAR")


@pytest.fixture
def office(home: Path, tmp_path: Path) -> Path:
    """Three demo dossiers, automatic backups on, every run backs up, one backup kept."""
    create_demo(home, dossiers=3, years=1, lines=40, seed=5)
    target = tmp_path / "backups"
    assert main(["auto", "policy", "set", "--enable", "--keep", "1", "--every-days", "0",
                 "--max-movements", "0", "--dir", str(target)]) == 0
    return target


def test_plain_lines_name_each_step_result_and_file(office: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["auto"]) == 0
    out = capsys.readouterr().out
    first = {code: next(office.glob(f"{code}_*.sqlite.bak")) for code in CODES}
    for code in CODES:
        for step in ("backup", "verify", "rotate"):
            assert f"     {code}: {step}" in out  # the backup engine's steps, then the run's own
        assert f"OK   {code}: backup: no verified backup yet" in out
        assert f"    {code}: wrote {first[code]} (verified)" in out
    assert "DONE auto: 3 dossier(s) looked at." in out

    assert main(["auto"]) == 0  # keep = 1: the second run's backup replaces the first
    out = capsys.readouterr().out
    for code in CODES:
        assert f"OK   {code}: backup: no trigger set: every run backs up" in out
        assert f"    {code}: deleted {first[code].name}" in out
        assert not first[code].exists()
        assert len(list(office.glob(f"{code}_*.sqlite.bak"))) == 1


def test_a_terminal_gets_the_rich_progress_display(office: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(cli_backup, "console", Console(file=screen, force_terminal=True, width=120))
    capsys.readouterr()
    assert main(["auto"]) == 0
    drawn = screen.getvalue()
    for code in CODES:
        assert f"OK   {code}: backup: no verified backup yet" in drawn
    assert "Auto run 3/3" in drawn  # the overall count: the three dossiers (not the run itself)
    assert "Auto run 4/4" not in drawn
    assert "DONE auto: 3 dossier(s) looked at." in drawn
    assert "\x1b[" in drawn  # drawn as a terminal display, not printed as plain lines


def test_json_is_one_document_and_a_failure_says_what_to_do(
    office: Path, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["--json", "auto", "--dossier", "001"]) == 0
    report = json.loads(capsys.readouterr().out)  # nothing else on stdout
    assert [(d["code"], d["action"], d["ok"]) for d in report["dossiers"]] == [("001SOC", "backup", True)]
    assert report["dossiers"][0]["file"].startswith(str(office))

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    assert main(["auto", "policy", "set", "--dossier", "002", "--dir", str(blocker / "sub")]) == 0
    capsys.readouterr()
    assert main(["auto", "--dossier", "002"]) == 1
    out = capsys.readouterr().out
    assert "FAIL 002BRA: Cannot create the backup directory" in out
    assert "What to do: Create it or choose another one" in out and "Traceback" not in out
