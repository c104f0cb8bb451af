"""Operations over many dossiers: bounded concurrency, one result each, failures isolated."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import pytest

from msde_tui.engine import auditlog
from msde_tui.engine.accounting import demo
from msde_tui.engine.backends.embedded.backend import EmbeddedBackend
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.events import DossierResult, Event, Progress, Started
from msde_tui.engine.plans import (
    BackupOptions,
    BackupPlan,
    Connection,
    RestoreItem,
    RestorePlan,
    VerifyPlan,
)
from msde_tui.engine.runs import runner as operations


def make_many(home: Path, count: int) -> list[Dossier]:
    """``count`` dossiers: one demo dossier built, copied under other numbers."""
    model = home / "model.tmp"
    demo.build_dossier(model, code="001SOC", company="Model SA", years=1, lines=60, seed=3)
    catalog = Catalog(home)
    dossiers = []
    for i in range(1, count + 1):
        number, short = f"{i:03d}", f"D{i}"
        shutil.copy(model, home / f"{number}{short}.sqlite")
        dossiers.append(catalog.add(Dossier(number, short, f"Company {i}", location=f"{number}{short}.sqlite")))
    model.unlink()
    return dossiers


def check_stream(events: list[Event], labels: list[str]) -> dict[str, DossierResult]:
    """Started first per label, exactly one result per label, nothing after it."""
    results: dict[str, DossierResult] = {}
    started: set[str] = set()
    for event in events:
        assert event.dossier in labels, event
        if isinstance(event, Started):
            assert event.dossier not in started
            started.add(event.dossier)
            continue
        assert event.dossier in started, f"{event} before Started"
        assert event.dossier not in results, f"{event} after the result"
        if isinstance(event, DossierResult):
            results[event.dossier] = event
    assert set(results) == set(labels)
    return results


async def test_twenty_dossiers_concurrency_three_one_fails(home: Path, tmp_path: Path) -> None:
    dossiers = make_many(home, 20)
    (home / dossiers[6].location).unlink()  # 007D7 has lost its file
    out = tmp_path / "out"
    out.mkdir()
    plan = BackupPlan(Connection(), tuple(dossiers), str(out), BackupOptions(verify=True), concurrency=3)
    events = [e async for e in operations.run_backup(plan, home=home)]
    results = check_stream(events, [d.code for d in dossiers])
    assert operations.summarize(events) == (19, 1)
    failed = results["007D7"]
    assert not failed.ok and "missing" in failed.message and failed.hint
    assert all(r.verified for c, r in results.items() if c != "007D7")
    running = peak = 0
    for event in events:
        if isinstance(event, Started):
            running += 1
            peak = max(peak, running)
        elif isinstance(event, DossierResult):
            running -= 1
    assert peak == 3
    assert len(list(out.glob("*.sqlite.bak"))) == 19 and len(list(out.glob("*.json"))) == 19
    logged = auditlog.read(home)[-1]
    assert logged["operation"] == "backup" and logged["result"] == "partial"
    assert len(logged["dossiers"]) == 20 and "007D7" in logged["message"]


async def test_an_unexpected_exception_fails_only_its_dossier(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dossiers = make_many(home, 4)
    real = EmbeddedBackend.backup

    def broken(self, dossier, directory, options):  # type: ignore[no-untyped-def]
        if dossier.number == "002":
            raise RuntimeError("boom")
        return real(self, dossier, directory, options)

    monkeypatch.setattr(EmbeddedBackend, "backup", broken)
    plan = BackupPlan(Connection(), tuple(dossiers), str(tmp_path), BackupOptions(verify=False))
    events = [e async for e in operations.run_backup(plan, home=home)]
    results = check_stream(events, [d.code for d in dossiers])
    assert not results["002D2"].ok and "boom" in results["002D2"].message
    assert [r.ok for c, r in sorted(results.items())] == [True, False, True, True]
    assert not any(r.verified for r in results.values())


async def test_sql_server_dossier_without_connection_fails_alone(home: Path, tmp_path: Path) -> None:
    dossiers = make_many(home, 1)
    server = Dossier("002", "SRV", "On server", backend="mssql", location="PW0002SRV", profile="office")
    plan = BackupPlan(Connection(), (dossiers[0], server), str(tmp_path))
    results = check_stream([e async for e in operations.run_backup(plan, home=home)], ["001D1", "002SRV"])
    assert results["001D1"].ok and not results["002SRV"].ok
    assert "SQL Server" in results["002SRV"].message


async def test_cancelling_the_consumer_stops_and_cleans_up(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dossiers = make_many(home, 6)
    from msde_tui.engine.runs import threads

    slow = threads.Work.progress

    def slow_progress(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        slow(self, *args, **kwargs)
        import time

        time.sleep(0.2)

    monkeypatch.setattr(threads.Work, "progress", slow_progress)
    out = tmp_path / "out"
    out.mkdir()
    plan = BackupPlan(Connection(), tuple(dossiers), str(out), concurrency=2)
    seen: list[Event] = []

    async def consume() -> None:
        async for event in operations.run_backup(plan, home=home):
            seen.append(event)

    task = asyncio.create_task(consume())
    while not any(isinstance(e, Progress) for e in seen):
        await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Whatever finished is complete (file + proof); nothing partial is left.
    names = sorted(p.name for p in out.iterdir())
    assert not [n for n in names if n.startswith(".")]
    backups = [n for n in names if n.endswith(".bak")]
    assert sorted(n for n in names if n.endswith(".json")) == sorted(f"{b}.json" for b in backups)
    assert len(backups) < 6


async def test_verify_and_restore_runs(home: Path, tmp_path: Path) -> None:
    dossiers = make_many(home, 3)
    out = tmp_path / "out"
    out.mkdir()
    plan = BackupPlan(Connection(), tuple(dossiers), str(out), BackupOptions(verify=False))
    backups = sorted(  # results arrive in completion order: sort, so backups[1] is 002's
        Path(e.files[0]) for e in [e async for e in operations.run_backup(plan, home=home)]
        if isinstance(e, DossierResult))
    damaged = backups[1]
    data = bytearray(damaged.read_bytes())
    data[1000] ^= 0x10
    damaged.write_bytes(bytes(data))
    missing = out / "nothing.sqlite.bak"
    files = (*map(str, backups), str(missing))
    events = await operations.collect_async(operations.run_verify(VerifyPlan(Connection(), files), home=home))
    results = check_stream(events, [Path(f).name for f in files])
    assert [results[Path(f).name].ok for f in files] == [True, False, True, False]
    assert "damaged" in results[damaged.name].message
    assert results[missing.name].details["exit_code"] == 2

    good = next(b for b in backups if b.name.startswith("003"))
    with sqlite3.connect(home / "003D3.sqlite") as conn:
        conn.execute("DELETE FROM entry_line")
    conn.close()
    items = (
        RestoreItem(str(good), "003", "D3", replace=True),
        RestoreItem(str(good), "001", "D1"),  # taken, no replace
        RestoreItem(str(damaged), "010", "X"),
    )
    events = [e async for e in operations.run_restore(RestorePlan(Connection(), items), home=home)]
    results = check_stream(events, ["003D3", "001D1", "010X"])
    assert results["003D3"].ok and results["003D3"].details["safety_copies"]
    assert not results["001D1"].ok and results["001D1"].details["exit_code"] == 2
    assert "first free is 004" in results["001D1"].hint
    assert not results["010X"].ok
    with sqlite3.connect(home / "003D3.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM entry_line").fetchone()[0] > 0
    conn.close()
    assert Catalog(home).find("010") is None


def test_collect_and_file_kind(home: Path, tmp_path: Path) -> None:
    assert operations.collect(operations.run_verify(VerifyPlan(Connection(), ()), home=home)) == []
    server = Connection(kind="mssql", host="h", user="u")
    assert operations.file_kind(r"D:\Backups\PW0001SOC_20260101_000000.bak", server) == "server"
    assert operations.file_kind("/x/001SOC.sqlite.bak", Connection()) == "embedded"
    assert operations.file_kind("/x/001-SOC_20260101_000000.pbf", Connection()) == "packed"
    assert operations.label_of(r"D:\Backups\PW0001SOC.bak") == "PW0001SOC.bak"


async def test_two_restores_onto_one_number_never_interleave(home: Path, tmp_path: Path) -> None:
    dossiers = make_many(home, 2)
    plan = BackupPlan(Connection(), tuple(dossiers), str(tmp_path), BackupOptions(verify=False))
    backups = [Path(e.files[0]) async for e in operations.run_backup(plan, home=home)
               if isinstance(e, DossierResult)]
    items = (RestoreItem(str(backups[0]), "009", "X"), RestoreItem(str(backups[1]), "009", "X"))
    events = [e async for e in operations.run_restore(
        RestorePlan(Connection(), items, concurrency=2), home=home)]
    results = [e for e in events if isinstance(e, DossierResult)]
    assert sorted(r.ok for r in results) == [False, True]
    assert "already taken" in next(r for r in results if not r.ok).message
    assert Catalog(home).get("009X").location == "009X.sqlite"
    assert not (home / "safety").exists()


async def test_the_audit_line_of_a_verify_names_each_file_with_its_directory(home: Path, tmp_path: Path) -> None:
    """Two copies of one backup name, a good one and a damaged one elsewhere: the log says which
    one failed (a bare file name read as if the good backup had failed)."""
    dossiers = make_many(home, 1)
    good = tmp_path / "backups"
    good.mkdir()
    plan = BackupPlan(Connection(), tuple(dossiers), str(good), BackupOptions(verify=False))
    [e async for e in operations.run_backup(plan, home=home)]
    backup = next(good.glob("*.sqlite.bak"))
    bad = tmp_path / "elsewhere"
    bad.mkdir()
    damaged = bad / backup.name
    shutil.copy(backup, damaged)
    shutil.copy(backup.with_name(backup.name + ".json"), bad / (backup.name + ".json"))
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    events = [e async for e in operations.run_verify(VerifyPlan(Connection(), (str(damaged),)), home=home)]
    assert operations.summarize(events) == (0, 1)
    logged = auditlog.read(home)[-1]
    assert logged["operation"] == "verify" and logged["result"] == "failed"
    assert logged["dossiers"] == [str(damaged)]
