"""`msde auto` on SQL Server dossiers: through the TDS double, with real pymssql, the real
backup engine, and a travelling clock (time-machine moves the whole process, double included).
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from msde_tui.engine.accounting.demo import build_dossier
from msde_tui.engine.auto import mssql as auto_mssql
from msde_tui.engine.auto.policy import AutoConfig
from msde_tui.engine.auto.records import local_now
from msde_tui.engine.auto.report import DossierOutcome, RunReport, last_run_file
from msde_tui.engine.auto.run import run_auto
from msde_tui.engine.backends.mssql import profiles
from msde_tui.engine.backends.mssql.backend import MssqlBackend
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import DossierNotFound, ServerError
from tests.tdsdouble.server import TdsServer

pytest.importorskip("pymssql")

DAY0 = datetime(2027, 3, 1, 2, 17, 0)
DB1, DB2 = "PW0001SOC", "PW0002ABC"


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(DAY0, tick=True) as traveller:
        yield traveller


@pytest.fixture
def server(home: Path, tmp_path: Path, tds_server: TdsServer,
           monkeypatch: pytest.MonkeyPatch) -> TdsServer:
    """Two accounting databases on the double, both in the dossier list under profile 'office'."""
    catalog = Catalog(home)
    for number, short, db in (("001", "SOC", DB1), ("002", "ABC", DB2)):
        model = tmp_path / f"{db}.sqlite"
        guid = build_dossier(model, code=f"{number}{short}", company=f"Company {short}", years=1,
                             lines=30, seed=int(number))
        tds_server.create_database(db, sqlite_file=model)
        catalog.add(Dossier(number, short, f"Company {short}", backend="mssql", location=db,
                            profile="office", guid=guid))
    add_profile(home, tds_server, "office")
    monkeypatch.delenv("MSDE_PASSWORD", raising=False)
    monkeypatch.setenv("MSDE_PASSWORD_OFFICE", tds_server.password)
    return tds_server


def add_profile(home: Path, tds: TdsServer, name: str, user: str | None = None) -> None:
    profiles.add(profiles.check_profile(name, tds.host, tds.port, user or tds.user, "pymssql"), home)


def config(**changes: object) -> AutoConfig:
    base: dict[str, object] = dict(enabled=True, keep=3, every_days=1, max_movements=100)
    base.update(changes)
    return AutoConfig().with_default(**base)


def run(home: Path, cfg: AutoConfig, **kw: object) -> RunReport:
    return asyncio.run(run_auto(home, config=cfg, clock=local_now, **kw))  # type: ignore[arg-type]


def by_code(report: RunReport) -> dict[str, DossierOutcome]:
    return {d.code: d for d in report.dossiers}


def on_server(tds: TdsServer, db: str) -> list[str]:
    return sorted(p.name for p in tds.backup_dir.glob(f"{db}_*.bak"))


def book(home: Path) -> list[dict[str, object]]:
    path = home / "auto" / auto_mssql.SERVER_BACKUPS_FILE
    return json.loads(path.read_text(encoding="utf-8"))["backups"] if path.exists() else []


def add_entries(tds: TdsServer, db: str, n: int) -> None:
    """INSERT n entries through the server (pymssql, autocommit)."""
    conn = tds.connect(database=db)
    try:
        cur = conn.cursor()
        cur.execute("SELECT TOP 1 fiscal_year_id, journal_id, entry_date FROM entry ORDER BY id")
        fy, journal, when = cur.fetchone()
        cur.execute("SELECT MAX(number) AS top FROM entry WHERE journal_id = %d", (journal,))
        top = cur.fetchone()[0]
        for i in range(n):
            cur.execute(
                "INSERT INTO entry (fiscal_year_id, journal_id, number, entry_date, label, kind, origin)"
                " VALUES (%d, %d, %d, %s, %s, 'REAL', 'NORMAL')",
                (fy, journal, top + i + 1, str(when), f"added {i}"),
            )
    finally:
        conn.close()


def sql_since(tds: TdsServer, mark: int, word: str) -> list[str]:
    return [b for b in tds.batches[mark:] if word.lower() in b.lower()]


# ----------------------------------------------------------------------------- triggers, rotation


def test_days_trigger_keep_three_rotates_on_the_server(home: Path, server: TdsServer,
                                                       clock: time_machine.Traveller) -> None:
    """keep 3, every day: four runs a day apart leave the three newest verified, on the server."""
    cfg = config()  # no server_directory: the instance's default backup directory
    made: list[str] = []
    for day in range(4):
        clock.move_to(DAY0 + timedelta(days=day))
        mark = len(server.batches)
        report = run(home, cfg)
        assert report.ok, [d.text for d in report.dossiers]
        outcome = by_code(report)["001SOC"]
        assert outcome.action == "backup" and outcome.verified and outcome.file
        assert outcome.reason == ("no verified backup yet" if day == 0
                                  else "1 day since last verified backup ≥ 1")
        made.append(Path(outcome.file).name)
        deletes = sql_since(server, mark, "xp_delete_file")
        assert len(deletes) == (2 if day == 3 else 0)  # one per dossier, on the fourth run
    assert on_server(server, DB1) == sorted(made[1:])  # the instance's default backup directory
    assert len(on_server(server, DB2)) == 3
    entries = [e for e in book(home) if e["database"] == DB1]
    assert sorted(Path(str(e["file"])).name for e in entries) == sorted(made[1:])
    assert all(e["verified"] is True and e["profile"] == "office" for e in entries)
    assert by_code(report)["001SOC"].deleted == [str(server.backup_dir / made[0])]


def test_movements_trigger_counts_entries_on_the_server(home: Path, server: TdsServer,
                                                        clock: time_machine.Traveller) -> None:
    cfg = config()
    first = by_code(run(home, cfg))["001SOC"]
    assert first.ok and first.verified
    clock.move_to(DAY0 + timedelta(hours=3))
    add_entries(server, DB1, 99)
    report = by_code(run(home, cfg))
    assert (report["001SOC"].action, report["001SOC"].reason) == ("skip", "99 movements < 100 and 0 days < 1")
    assert (report["002ABC"].action, report["002ABC"].reason) == ("skip", "0 movements < 100 and 0 days < 1")
    add_entries(server, DB1, 1)
    clock.move_to(DAY0 + timedelta(hours=4))
    report = by_code(run(home, cfg))
    assert report["001SOC"].action == "backup" and report["001SOC"].ok and report["001SOC"].verified
    assert report["001SOC"].reason == "100 movements since last verified backup ≥ 100"
    assert report["002ABC"].action == "skip"
    assert len(on_server(server, DB1)) == 2 and len(on_server(server, DB2)) == 1
    clock.move_to(DAY0 + timedelta(hours=5))  # the new record carries the new counter
    assert by_code(run(home, cfg))["001SOC"].action == "skip"


def test_failed_backup_deletes_nothing(home: Path, server: TdsServer,
                                       clock: time_machine.Traveller) -> None:
    cfg = config(keep=2, server_directory=str(server.backup_dir))
    for day in range(2):
        clock.move_to(DAY0 + timedelta(days=day))
        assert run(home, cfg).ok
    before_files, before_book = on_server(server, DB1), book(home)
    assert len(before_files) == 2
    server.deny(server.backup_dir)
    clock.move_to(DAY0 + timedelta(days=2))
    mark = len(server.batches)
    report = run(home, cfg)
    outcome = by_code(report)["001SOC"]
    assert outcome.action == "backup" and not outcome.ok and not outcome.verified
    assert "cannot write" in outcome.message
    assert not report.ok
    assert sql_since(server, mark, "BACKUP DATABASE")  # it really tried
    assert sql_since(server, mark, "xp_delete_file") == []
    assert on_server(server, DB1) == before_files and book(home) == before_book


def test_automatic_backups_with_a_test_restore(
    home: Path, server: TdsServer, clock: time_machine.Traveller
) -> None:
    mark = len(server.batches)
    report = run(home, config(keep=1, test_restore=True))
    for code in ("001SOC", "002ABC"):
        outcome = by_code(report)[code]
        assert outcome.ok and outcome.verified, outcome
        assert outcome.test_restore is not None and outcome.test_restore["checkdb"] == "clean"
    kept = json.loads((home / "auto" / "last_run.json").read_text(encoding="utf-8"))
    assert all(d["test_restore"]["checkdb"] == "clean" for d in kept["dossiers"])
    assert len(sql_since(server, mark, "DBCC CHECKDB")) == 2
    assert not [d for d in server.instance.databases if d.startswith("msde_testrestore_")]


def test_rotation_without_sysadmin_says_so_and_deletes_nothing(
    home: Path, server: TdsServer, clock: time_machine.Traveller, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add_login("backup", "Backup1!", sysadmin=False)
    for db in (DB1, DB2):  # db_backupoperator on the dossiers
        server.grant("backup", "BACKUP DATABASE", db)
    server.grant("backup", "CREATE ANY DATABASE")  # dbcreator: verify reads the backup back
    profiles.remove("office", home)
    add_profile(home, server, "office", user="backup")
    monkeypatch.setenv("MSDE_PASSWORD_OFFICE", "Backup1!")
    cfg = config(keep=1)
    assert run(home, cfg).ok
    clock.move_to(DAY0 + timedelta(days=1))
    report = run(home, cfg)
    outcome = by_code(report)["001SOC"]
    assert outcome.action == "backup" and outcome.verified and not outcome.ok
    assert "may not delete backup files" in outcome.message and "sysadmin" in outcome.message
    assert "nothing else was deleted" in outcome.hint
    assert len(on_server(server, DB1)) == 2 and outcome.deleted == []
    # the new backup is recorded: the next run the same day skips
    assert by_code(run(home, cfg))["001SOC"].action == "skip"


# ----------------------------------------------------------------------------- password


def test_missing_password_fails_that_dossier_only(home: Path, server: TdsServer,
                                                  clock: time_machine.Traveller,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    add_profile(home, server, "branch-2")
    catalog = Catalog(home)
    catalog.update(replace(catalog.get("002"), profile="branch-2"))
    report = run(home, config())
    first, other = by_code(report)["001SOC"], by_code(report)["002ABC"]
    assert first.ok and first.verified
    assert other.action == "error" and not other.ok
    assert other.message == ("No password for profile branch-2: set MSDE_PASSWORD_BRANCH_2 in "
                             "the scheduler's environment.")
    assert "never reads a password from a file" in other.hint
    assert on_server(server, DB2) == []
    # MSDE_PASSWORD covers every profile; a profile's own variable wins over it
    monkeypatch.setenv("MSDE_PASSWORD", server.password)
    monkeypatch.setenv("MSDE_PASSWORD_OFFICE", "wrong")
    clock.move_to(DAY0 + timedelta(days=1))
    report = run(home, config())
    assert by_code(report)["002ABC"].ok and by_code(report)["002ABC"].verified
    assert by_code(report)["001SOC"].action == "error"
    assert "refused the login" in by_code(report)["001SOC"].message
    for path in (home / "auto").iterdir():  # no password written by the run
        assert server.password not in path.read_text(encoding="utf-8", errors="replace")


def test_password_env_names() -> None:
    assert auto_mssql.password_env_name("office") == "MSDE_PASSWORD_OFFICE"
    assert auto_mssql.password_env_name("branch-2.b_x") == "MSDE_PASSWORD_BRANCH_2_B_X"
    env = {"MSDE_PASSWORD": "all", "MSDE_PASSWORD_A": "mine"}
    assert auto_mssql.password_for("a", env) == "mine"
    assert auto_mssql.password_for("b", env) == "all"
    assert auto_mssql.password_for("b", {"MSDE_PASSWORD": ""}) is None


# ----------------------------------------------------------------------------- dry run, cross-check


def test_dry_run_changes_nothing(home: Path, server: TdsServer,
                                 clock: time_machine.Traveller) -> None:
    cfg = config(keep=1)
    assert run(home, cfg).ok
    files, entries = on_server(server, DB1), book(home)
    last_run = last_run_file(home).read_bytes()
    clock.move_to(DAY0 + timedelta(days=1))
    mark = len(server.batches)
    report = run(home, cfg, dry_run=True)
    outcome = by_code(report)["001SOC"]
    assert outcome.action == "backup" and outcome.reason == "1 day since last verified backup ≥ 1"
    assert outcome.would_delete == [str(server.backup_dir / files[0])]
    assert sql_since(server, mark, "BACKUP DATABASE") == [] and sql_since(server, mark, "xp_delete_file") == []
    assert on_server(server, DB1) == files and book(home) == entries
    assert last_run_file(home).read_bytes() == last_run


def test_a_file_gone_or_replaced_is_not_counted_nor_deleted(home: Path, server: TdsServer,
                                                            clock: time_machine.Traveller) -> None:
    cfg = config(keep=1)
    assert run(home, cfg).ok
    (one,) = on_server(server, DB1)
    (two,) = on_server(server, DB2)
    shutil.copyfile(server.backup_dir / two, server.backup_dir / one)  # 001's file now holds 002
    (server.backup_dir / two).unlink()  # 002's file is gone
    clock.move_to(DAY0 + timedelta(hours=1))
    report = by_code(run(home, cfg))
    for code in ("001SOC", "002ABC"):
        assert report[code].action == "backup" and report[code].reason == "no verified backup yet"
        assert report[code].ok and report[code].deleted == []
    assert one in on_server(server, DB1)  # the replaced file is not ours any more: kept
    assert {Path(str(e["file"])).name for e in book(home)} == {
        Path(str(report["001SOC"].file)).name, Path(str(report["002ABC"].file)).name}


# ----------------------------------------------------------------------------- backend and double


def test_backend_movement_count_and_delete(server: TdsServer, tmp_path: Path) -> None:
    server.create_database("NOTACCOUNTING")
    conn = profiles.Profile("office", server.host, server.port, server.user).connection(server.password)

    async def go() -> None:
        backend = MssqlBackend(conn)
        try:
            assert await backend.movement_count(DB1) > 0
            assert await backend.movement_count("NOTACCOUNTING") == 0
            with pytest.raises(DossierNotFound):
                await backend.movement_count("PW0099NONE")
            stray = server.backup_dir / "not_a_backup.bak"
            stray.write_bytes(b"hello")
            with pytest.raises(ServerError, match="did not delete"):
                await backend.delete_backup_file(str(stray))
            assert stray.exists()
            assert await backend.backup_identity(str(stray)) is None
            assert await backend.backup_identity(str(server.backup_dir / "missing.bak")) is None
        finally:
            await backend.close()

    asyncio.run(go())


def test_cli_run_and_status_with_a_server_dossier(home: Path, server: TdsServer,
                                                  clock: time_machine.Traveller,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from msde_tui.cli import main

    assert main(["auto", "policy", "set", "--enable", "--keep", "1"]) == 0
    monkeypatch.delenv("MSDE_PASSWORD_OFFICE")
    capsys.readouterr()
    assert main(["auto", "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert ("FAIL 001SOC: No password for profile office: set MSDE_PASSWORD_OFFICE in the "
            "scheduler's environment.") in out
    assert "What to do: 'msde auto' runs unattended" in out
    monkeypatch.setenv("MSDE_PASSWORD_OFFICE", server.password)
    assert main(["auto"]) == 0
    clock.move_to(DAY0 + timedelta(days=1))
    assert main(["auto"]) == 0
    out = capsys.readouterr().out
    first = on_server(server, DB1)
    assert len(first) == 1 and "OK   001SOC: backup: 1 day since last verified backup ≥ 1" in out
    assert "    001SOC: deleted PW0001SOC_20270301_" in out and f"wrote {server.backup_dir / first[0]} (verified)" in out
    assert main(["auto", "status"]) == 0
    assert "last verified backup 2027-03-02 02:17" in capsys.readouterr().out
    assert main(["auto", "--install", "cron"]) == 0
    assert "MSDE_PASSWORD_<PROFILE>" in capsys.readouterr().out


def test_a_file_overwritten_by_an_older_backup_of_the_same_dossier_is_not_counted(
    home: Path, server: TdsServer, clock: time_machine.Traveller
) -> None:
    cfg = config(keep=3, every_days=2, max_movements=0)
    assert run(home, cfg).ok
    clock.move_to(DAY0 + timedelta(days=2))
    assert run(home, cfg).ok
    older, newer = on_server(server, DB1)
    shutil.copyfile(server.backup_dir / older, server.backup_dir / newer)  # same dossier, other set
    clock.move_to(DAY0 + timedelta(days=3))
    outcome = by_code(run(home, cfg))["001SOC"]
    # the day-2 backup no longer counts: the last verified one is the day-0 backup, 3 days old
    assert (outcome.action, outcome.reason) == ("backup", "3 days since last verified backup ≥ 2")
    assert outcome.ok and outcome.deleted == []
    assert newer in on_server(server, DB1)


def test_a_damaged_book_entry_is_not_counted(home: Path, server: TdsServer,
                                             clock: time_machine.Traveller) -> None:
    assert run(home, config()).ok
    path = home / "auto" / auto_mssql.SERVER_BACKUPS_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    for entry in data["backups"]:
        entry["created_at"] = "not a date"
    path.write_text(json.dumps(data), encoding="utf-8")
    clock.move_to(DAY0 + timedelta(hours=1))
    report = by_code(run(home, config()))
    assert report["001SOC"].reason == "no verified backup yet" and report["001SOC"].ok
    assert report["001SOC"].deleted == [] and len(on_server(server, DB1)) == 2
