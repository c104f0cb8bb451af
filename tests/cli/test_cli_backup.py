"""`msde backup / verify / restore` end to end on embedded dossiers: exit codes, --json, output."""

from __future__ import annotations

import asyncio
import io
import json
import re
import sqlite3
from pathlib import Path

import pytest
from rich.console import Console

from msde_tui.cli import backup as cli_backup
from msde_tui.cli import main
from msde_tui.engine import events as ev
from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.catalog import Catalog
from tests.dossier_files import dump_all as dump


@pytest.fixture
def office(home: Path, tmp_path: Path) -> Path:
    create_demo(home, dossiers=2, years=2, lines=150, seed=5)
    out = tmp_path / "backups"
    out.mkdir()
    return out


def test_backup_verify_flip_restore(home: Path, office: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backup", "001", "002BRA", "--dir", str(office), "--verify"]) == 0
    out = capsys.readouterr().out
    assert "2 done, 0 failed." in out and out.count("OK   ") == 2
    backups = sorted(office.glob("*.sqlite.bak"))
    assert len(backups) == 2 and all(Path(f"{b}.json").exists() for b in backups)
    first = backups[0]
    assert first.name.startswith("001SOC_")

    # The dossier changes after its backup ...
    dossier = home / "001SOC.sqlite"
    at_backup = dump(dossier)
    with sqlite3.connect(dossier) as conn:
        conn.execute("DELETE FROM entry_line WHERE id % 2 = 0")
    conn.close()
    # ... a taken number is refused without --replace ...
    assert main(["restore", str(first), "--number", "001"]) == 2
    err = " ".join(capsys.readouterr().err.split())  # stderr may be wrapped
    assert "already taken" in err and "first free is 003" in err and "Traceback" not in err
    # ... and comes back exactly with --replace.
    assert main(["--json", "restore", str(first), "--number", "001", "--replace"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] == 1 and doc["results"][0]["dossier"] == "001SOC"
    assert doc["results"][0]["details"]["safety_copies"]
    assert dump(dossier) == at_backup
    assert Catalog(home).get("001").status == "restored"

    # One flipped byte: verify exits 1 with a plain "damaged" message.
    data = bytearray(backups[1].read_bytes())
    data[len(data) // 3] ^= 0x04
    backups[1].write_bytes(bytes(data))
    assert main(["verify", str(first), str(backups[1])]) == 1
    out = capsys.readouterr().out
    assert "damaged" in out and "What to do:" in out and "1 done, 1 failed." in out


def test_json_run_with_one_failure_exits_1(home: Path, office: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (home / "002BRA.sqlite").unlink()
    assert main(["--json", "backup", "001", "002", "--dir", str(office), "--no-verify"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["operation"] == "backup" and (doc["ok"], doc["failed"]) == (1, 1)
    by = {r["dossier"]: r for r in doc["results"]}
    assert by["001SOC"]["ok"] and not by["001SOC"]["verified"]
    assert not by["002BRA"]["ok"] and "missing" in by["002BRA"]["message"]


def test_bad_input_exits_2(home: Path, office: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backup", "009", "--dir", str(office)]) == 2
    assert "No dossier '009'" in capsys.readouterr().err
    assert main(["backup", "001", "--dir", str(office / "nope")]) == 2
    assert "does not exist" in " ".join(capsys.readouterr().err.split())
    assert main(["restore", str(office / "none.sqlite.bak"), "--number", "5"]) == 2
    assert main(["restore", str(office / "none.sqlite.bak"), "--number", "abc"]) == 2
    assert main(["verify", str(office / "none.sqlite.bak")]) == 1  # ran, and that file failed
    assert "does not exist" in " ".join(capsys.readouterr().out.split())
    assert list(office.iterdir()) == []


def test_restore_as_new_number_takes_short_from_proof(
    home: Path, office: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backup", "002", "--dir", str(office)]) == 0
    backup = next(office.glob("*.sqlite.bak"))
    assert main(["restore", str(backup), "--number", "12", "--company", "Copie SA"]) == 0
    record = Catalog(home).get("012BRA")
    assert record.company == "Copie SA"
    copy, original = dump(home / "012BRA.sqlite"), dump(home / "002BRA.sqlite")
    info = copy.pop("dossier_info")[0], original.pop("dossier_info")[0]
    assert copy == original  # every row; the copy has its own identity (docs/OPERATIONS.md)
    assert record.guid in info[0] and "012BRA" in info[0] and "002BRA" in info[1]
    assert "restored as dossier 012BRA" in capsys.readouterr().out


def test_live_display_draws_bars_and_results() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100)
    display = cli_backup._LiveDisplay(console, "backup", total=1)
    with display:
        display.show(ev.Started("001SOC", "backup", ("backup",)))
        display.show(ev.Step("001SOC", "backup"))
        display.show(ev.Progress("001SOC", percent=50.0, mb_per_s=12.5, eta_s=3.0))
        assert display.progress.tasks[1].completed == 50.0
        display.show(ev.DossierResult("001SOC", ok=False, message="Broken.", hint="Fix it."))
        assert display.tasks == {}
    text = buffer.getvalue()
    assert "FAIL 001SOC: Broken." in text and "What to do: Fix it." in text


async def test_live_display_prints_results_of_the_same_moment_together_and_in_order() -> None:
    """Many dossiers finishing at once: every result line, in order, with the bars redrawn a
    few times (Rich's own pace) — not once per dossier started and once per result printed."""
    buffer = io.StringIO()
    display = cli_backup._LiveDisplay(Console(file=buffer, force_terminal=True, width=100), "backup", total=50)
    labels = [f"{n:03d}SOC" for n in range(1, 51)]
    with display:
        for label in labels:
            display.show(ev.Started(label, "backup", ("backup",)))
            display.show(ev.Step(label, "backup", "2.2 MB"))
        for label in labels:
            display.show(ev.DossierResult(label, ok=True, message="Backed up.", seconds=0.1))
        await asyncio.sleep(2 / cli_backup.REFRESH_PER_SECOND)  # printed by now, bars still shown
        assert re.findall(r"DONE (\d{3}SOC)", buffer.getvalue()) == labels
        display.show(ev.Started("051SOC", "backup", ("backup",)))
        display.show(ev.DossierResult("051SOC", ok=False, message="Broken :warning:.", hint="Fix it."))
    text = buffer.getvalue()
    assert "Broken :warning:." in text  # words from data are not turned into emoji
    said = re.findall(r"(?:DONE|FAIL) (\d{3}SOC)", text)
    assert said == [*labels, "051SOC"]  # each once, in order; the last one printed on the way out
    assert len(re.findall(r"Backup \d+/50", text)) < 10, text.count("Backup ")


class _CountingBuffer(io.StringIO):
    flushed = ""

    def flush(self) -> None:
        self.flushed = self.getvalue()  # what a reader of the pipe has seen so far


def test_line_display_writes_each_line_at_once_with_controls_escaped() -> None:
    buffer = _CountingBuffer()
    display = cli_backup._LineDisplay(Console(file=buffer, width=30))  # narrow: never wrapped
    name = "evil\x1b]0;owned\x07\u202e.sqlite.bak"
    display.show(ev.Started(name, "verify", ("verify",)))
    display.show(ev.Step(name, "verify", "integrity check"))
    assert buffer.flushed == f"     {name}: verify (integrity check)\n".replace(
        "\x1b", "\\x1b").replace("\x07", "\\x07").replace("\u202e", "\\u202e")
    display.show(ev.Progress(name, percent=50.0))  # no progress spam in a log
    display.show(ev.DossierResult(name, ok=False, message=f"The backup {name} is damaged.", hint="Use another."))
    lines = buffer.flushed.splitlines()
    assert lines[1:] == [
        "FAIL evil\\x1b]0;owned\\x07\\u202e.sqlite.bak: The backup evil\\x1b]0;owned\\x07\\u202e.sqlite.bak "
        "is damaged.",
        "     What to do: Use another.",
    ]


def test_sql_server_dossier_round_trip_through_the_cli(
    home: Path, tmp_path: Path, tds_server, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    from msde_tui.engine.accounting.demo import build_dossier
    from msde_tui.engine.catalog import Dossier

    model = tmp_path / "model.sqlite"
    build_dossier(model, code="001SOC", company="Server SA", years=1, lines=60, seed=9)
    tds_server.create_database("PW0001SOC", sqlite_file=model)
    monkeypatch.setenv("MSDE_PASSWORD", tds_server.password)
    assert main(["server", "add", "office", "--host", tds_server.host, "--port",
                 str(tds_server.port), "--user", tds_server.user]) == 0
    Catalog(home).add(Dossier("001", "SOC", "Server SA", backend="mssql", location="PW0001SOC",
                              profile="office"))
    capsys.readouterr()
    assert main(["--json", "backup", "001", "--dir", str(tds_server.backup_dir)]) == 0
    doc = json.loads(capsys.readouterr().out)
    result = doc["results"][0]
    assert result["ok"] and result["verified"] and result["dossier"] == "001SOC"
    backup = result["files"][0]

    database = tds_server.database_file("PW0001SOC")
    at_backup = dump(database)
    with sqlite3.connect(database) as conn:
        conn.execute("DELETE FROM entry_line WHERE id % 2 = 1")
    conn.close()
    assert main(["verify", backup, "--server", "office"]) == 0
    assert main(["restore", backup, "--number", "001", "--server", "office"]) == 2
    assert main(["--json", "restore", backup, "--number", "001", "--server", "office", "--replace"]) == 0
    capsys.readouterr()
    assert dump(tds_server.database_file("PW0001SOC")) == at_backup


def test_sql_server_restore_puts_the_dossier_in_the_list(
    home: Path, tmp_path: Path, tds_server, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    from msde_tui.engine.accounting.demo import build_dossier

    model = tmp_path / "model.sqlite"
    build_dossier(model, code="001SOC", company="Server SA", years=1, lines=40, seed=3)
    tds_server.create_database("PW0001SOC", sqlite_file=model)
    create_demo(home, dossiers=1, years=1, lines=20, seed=1)  # 001 is an embedded dossier
    monkeypatch.setenv("MSDE_PASSWORD", tds_server.password)
    assert main(["server", "add", "office", "--host", tds_server.host, "--port",
                 str(tds_server.port), "--user", tds_server.user]) == 0
    backup = f"{tds_server.backup_dir}/PW0001SOC.bak"
    conn = tds_server.connect()
    try:
        conn.cursor().execute(f"BACKUP DATABASE [PW0001SOC] TO DISK = N'{backup}' WITH CHECKSUM")
    finally:
        conn.close()

    def listed() -> list[dict[str, object]]:
        capsys.readouterr()
        assert main(["--json", "list"]) == 0
        return json.loads(capsys.readouterr().out)["dossiers"]

    # the embedded dossier's number is never taken over, not even with --replace
    capsys.readouterr()
    assert main(["restore", backup, "--number", "001", "--short", "SOC", "--server", "office",
                 "--replace"]) == 1
    assert "Number 001 is the embedded dossier 001SOC" in capsys.readouterr().out
    assert [d["code"] for d in listed()] == ["001SOC"]
    assert not any("RESTORE DATABASE" in batch for batch in tds_server.batches)

    capsys.readouterr()
    assert main(["--json", "restore", backup, "--number", "002", "--short", "BIS",
                 "--company", "Copie SA", "--server", "office"]) == 0
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert result["ok"] and result["details"]["listed"] == "002BIS"
    entry = next(d for d in listed() if d["number"] == "002")
    assert (entry["backend"], entry["location"], entry["profile"], entry["company"], entry["status"]) == (
        "mssql", "PW0002BIS", "office", "Copie SA", "restored")
    # a copy under another number: its own GUID and code inside, the original as its origin
    restored, original = dump(tds_server.database_file("PW0002BIS")), dump(model)
    mine, theirs = restored.pop("dossier_info")[0], original.pop("dossier_info")[0]
    assert restored == original
    assert (mine[1], mine[2]) == (entry["guid"], "002BIS") and entry["origin"] == theirs[1] != mine[1]
    assert "internal code 002BIS" in result["message"]

    # restoring it again over itself keeps one entry (idempotent)
    assert main(["restore", backup, "--number", "002", "--short", "BIS", "--server", "office",
                 "--replace"]) == 0
    assert [d["code"] for d in listed()] == ["001SOC", "002BIS"]
    assert next(d for d in listed() if d["number"] == "002")["company"] == "Copie SA"


def test_sql_server_restore_over_a_listed_dossier_with_its_own_database_name(
    home: Path, tmp_path: Path, tds_server, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    """001SOC was listed with 'msde add --database': --replace restores into that database
    (after its safety copy), not into a new PW0001SOC."""
    from msde_tui.engine.accounting.demo import build_dossier

    custom = "Custom ]DB'x"
    model = tmp_path / "model.sqlite"
    build_dossier(model, code="001SOC", company="Server SA", years=1, lines=40, seed=4)
    tds_server.create_database(custom, sqlite_file=model)
    tds_server.create_database("PW0002BRA", sqlite_file=model)  # on the server, not listed
    monkeypatch.setenv("MSDE_PASSWORD", tds_server.password)
    assert main(["server", "add", "office", "--host", tds_server.host, "--port",
                 str(tds_server.port), "--user", tds_server.user]) == 0
    assert main(["add", "--number", "001", "--short", "SOC", "--company", "Server SA",
                 "--profile", "office", "--database", custom]) == 0
    capsys.readouterr()
    assert main(["--json", "backup", "001", "--dir", str(tds_server.backup_dir)]) == 0
    backup = json.loads(capsys.readouterr().out)["results"][0]["files"][0]
    database = tds_server.database_file(custom)
    at_backup = dump(database)
    with sqlite3.connect(database) as conn:
        conn.execute("DELETE FROM entry_line WHERE id % 2 = 1")
    conn.close()
    changed = dump(database)

    assert main(["restore", backup, "--number", "001", "--server", "office"]) == 2
    assert "add --replace" in capsys.readouterr().err  # refused before anything ran
    assert dump(database) == changed
    # no --short: the listed dossier keeps its code (the backup's file name has no PW name)
    assert main(["--json", "restore", backup, "--number", "001", "--server", "office",
                 "--replace"]) == 0
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert result["ok"] and result["details"]["listed"] == "001SOC"
    assert result["details"]["database"] == custom and result["details"]["replaced"] is True
    assert dump(database) == at_backup  # the deleted lines are back, in the dossier's database
    with pytest.raises(KeyError):
        tds_server.database_file("PW0001SOC")  # nothing restored under the standard name
    safety = Path(result["details"]["safety_backup"])
    assert safety.is_file() and safety.name.startswith(f"{custom}_")
    (restore,) = [b for b in tds_server.batches if b.startswith("RESTORE DATABASE")]
    assert restore.startswith("RESTORE DATABASE [Custom ]]DB'x] FROM DISK") and "REPLACE" in restore
    (listed,) = Catalog(home).dossiers()
    assert (listed.code, listed.location, listed.profile) == ("001SOC", custom, "office")

    # a database on the server the list does not have: the engine refuses, in the CLI's words
    assert main(["restore", backup, "--number", "002", "--short", "BRA", "--server",
                 "office"]) == 1
    out = capsys.readouterr().out
    assert "The database PW0002BRA already exists" in out and "Add --replace" in out
