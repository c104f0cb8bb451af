"""A cancelled SQL Server backup leaves no file that looks valid (docs/OPERATIONS.md, "A
cancelled backup"): SQL Server may leave an interrupted backup's partial file on its disk
(error 3266), and a backup cancelled while being verified is unchecked; msde deletes either on
the server, as the embedded backups remove theirs. Against the TDS double (``partial_backups``:
an interrupted BACKUP leaves what it wrote), real pymssql."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from msde_tui.engine.backends.mssql.backend import MssqlBackend
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.events import DossierResult, Event, Progress, Statement
from msde_tui.engine.plans import BackupOptions, BackupPlan, Connection
from msde_tui.engine.runs import runner


def connection(server: Any, user: str | None = None, password: str | None = None) -> Connection:
    return Connection(
        kind="mssql", profile="double", host=server.host, port=server.port,
        user=user or server.user, password=password or server.password,
    )


def dossier() -> Dossier:
    return Dossier("001", "SOC", "Société Lambert", backend="mssql", location="PW0001SOC",
                   profile="double", guid="g-1")


@pytest.fixture
def server(tds_server: Any, tmp_path: Path) -> Any:
    """PW0001SOC (a few hundred KB: a BACKUP of many progress steps), slow steps, and an
    interrupted BACKUP leaves its partial file, as SQL Server can."""
    source = tmp_path / "001SOC.sqlite"
    with sqlite3.connect(source) as db:
        db.execute("CREATE TABLE entry (id INTEGER PRIMARY KEY, label TEXT)")
        db.executemany("INSERT INTO entry (label) VALUES (?)", [(f"entry {i} " * 20,) for i in range(3000)])
    tds_server.create_database("PW0001SOC", sqlite_file=source)
    tds_server.partial_backups = True
    tds_server.step_delay = 0.2
    return tds_server


def deleted(server: Any) -> list[str]:
    return [b for b in server.batches if "xp_delete_file" in b]


async def cancel_at(stream: Any, stop: Any) -> list[Event]:
    seen: list[Event] = []
    async for event in stream:
        seen.append(event)
        if stop(event):
            break
    await stream.aclose()
    return seen


async def test_a_backup_cancelled_mid_write_leaves_no_partial_file(server: Any) -> None:
    backend = MssqlBackend(connection(server), login_timeout=5)
    try:
        seen = await cancel_at(
            backend.backup(dossier(), str(server.backup_dir), BackupOptions(stats=5)),
            lambda e: isinstance(e, Progress),
        )
    finally:
        await backend.close()
    (path,) = [e.text.split("N'", 1)[1].split("'", 1)[0] for e in seen
               if isinstance(e, Statement) and e.text.startswith("BACKUP")]
    assert not any(isinstance(e, DossierResult) for e in seen)
    assert list(Path(server.backup_dir).iterdir()) == []
    # the double did leave it (partial_backups), and msde deleted it on the server
    assert any(path in b for b in deleted(server))


async def test_a_backup_cancelled_while_verified_leaves_no_unchecked_file(server: Any) -> None:
    server.step_delay = 0.01  # the BACKUP runs to its end here: its 20 steps need not be slow
    backend = MssqlBackend(connection(server), login_timeout=5)
    try:
        seen = await cancel_at(
            backend.backup(dossier(), str(server.backup_dir), BackupOptions(stats=5)),
            lambda e: isinstance(e, Statement) and e.text.startswith("RESTORE VERIFYONLY"),
        )
    finally:
        await backend.close()
    assert any(isinstance(e, Statement) and e.text.startswith("BACKUP") for e in seen)
    assert list(Path(server.backup_dir).iterdir()) == []
    assert len(deleted(server)) == 1


async def test_a_cancelled_backup_job_cleans_up_through_the_runner(server: Any, tmp_path: Path) -> None:
    """What the wizard and the CLI do: cancelling the run cancels the job's task."""
    home = tmp_path / "home"
    home.mkdir()
    plan = BackupPlan(connection(server), (dossier(),), str(server.backup_dir), BackupOptions(stats=5))
    progressing = asyncio.Event()

    async def consume() -> None:
        async for event in runner.run_backup(plan, home=home):
            if isinstance(event, Progress):
                progressing.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(progressing.wait(), 30)
    task.cancel()  # as the jobs runner and the wizard's workers stop a run
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert list(Path(server.backup_dir).iterdir()) == []
    assert len(deleted(server)) == 1


async def test_a_partial_file_msde_cannot_delete_is_named_and_never_offered(
    server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A login that is not sysadmin may not run xp_delete_file: the file stays, the log names
    it, and it is never offered as a backup (HEADERONLY cannot read it)."""
    server.add_login("operator", "Op3rator!", sysadmin=False)
    server.grant("operator", "BACKUP DATABASE", "PW0001SOC")
    operator = MssqlBackend(connection(server, "operator", "Op3rator!"), login_timeout=5)
    caplog.set_level(logging.WARNING)
    try:
        await cancel_at(
            operator.backup(dossier(), str(server.backup_dir), BackupOptions(stats=5, verify=False)),
            lambda e: isinstance(e, Progress),
        )
    finally:
        await operator.close()
    (left,) = list(Path(server.backup_dir).iterdir())
    assert any(str(left) in r.getMessage() and "not a valid backup" in r.getMessage()
               for r in caplog.records)
    admin = MssqlBackend(connection(server), login_timeout=5)
    try:
        assert await admin.backups_in(str(server.backup_dir)) == []
        assert await admin.backup_identity(str(left)) is None
    finally:
        await admin.close()


async def test_a_finished_unverified_backup_is_kept_when_verification_is_off(server: Any) -> None:
    """--no-verify: a BACKUP that finished is what was asked for; only the cancel of an
    unfinished one removes its file."""
    server.step_delay = 0
    backend = MssqlBackend(connection(server), login_timeout=5)
    try:
        events = [e async for e in backend.backup(dossier(), str(server.backup_dir),
                                                  BackupOptions(stats=5, verify=False))]
    finally:
        await backend.close()
    result = [e for e in events if isinstance(e, DossierResult)][0]
    assert result.ok and not result.verified
    assert [p.name for p in Path(server.backup_dir).iterdir()] == [Path(result.files[0]).name]
    assert deleted(server) == []


async def test_a_backup_that_fails_its_own_verification_is_removed(server: Any) -> None:
    """As an embedded backup failing its read-back: nothing invalid stays on the server."""
    server.step_delay = 0
    backend = MssqlBackend(connection(server), login_timeout=5)
    events: list[Event] = []
    try:
        async for event in backend.backup(dossier(), str(server.backup_dir), BackupOptions(stats=5)):
            events.append(event)
            if isinstance(event, Statement) and event.text.startswith("RESTORE VERIFYONLY"):
                (written,) = list(Path(server.backup_dir).iterdir())
                data = bytearray(written.read_bytes())
                data[len(data) // 2] ^= 0xFF  # a page damaged on the server's disk
                written.write_bytes(bytes(data))
    finally:
        await backend.close()
    result = [e for e in events if isinstance(e, DossierResult)][0]
    assert not result.ok and not result.verified
    assert result.details["removed"] is True
    assert list(Path(server.backup_dir).iterdir()) == []


async def test_a_job_cancelled_again_and_again_still_cleans_up(server: Any, tmp_path: Path) -> None:
    """The jobs runner cancels its task every quarter second until the job ends (runs/jobs.py):
    the KILL and the deletion must not be cut short by the second, third... cancel."""
    home = tmp_path / "home"
    home.mkdir()
    plan = BackupPlan(connection(server), (dossier(),), str(server.backup_dir), BackupOptions(stats=5))
    progressing = asyncio.Event()

    async def consume() -> None:
        async for event in runner.run_backup(plan, home=home):
            if isinstance(event, Progress):
                progressing.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(progressing.wait(), 30)
    for _ in range(400):  # as the heartbeat does, faster
        if task.done():
            break
        task.cancel()
        await asyncio.sleep(0.01)
    with contextlib.suppress(asyncio.CancelledError):
        await task
    # when the run ends the job's process ends: the clean-up must be done by then
    assert len(deleted(server)) == 1
    assert list(Path(server.backup_dir).iterdir()) == []
    server.step_delay = 0  # a BACKUP still running (not KILLed) would now finish its file
    await asyncio.sleep(0.5)  # the step under way (0.2 s) ends, and the rest take no time
    assert list(Path(server.backup_dir).iterdir()) == []


async def test_the_kill_and_the_deletion_outlast_repeated_cancels(server: Any) -> None:
    """Cancelled again while it stops the statement and deletes the file (a job's heartbeat
    cancels every quarter second): both still happen before the backup's task ends."""
    backend = MssqlBackend(connection(server), login_timeout=5)
    progressing = asyncio.Event()

    async def consume() -> None:
        async for event in backend.backup(dossier(), str(server.backup_dir), BackupOptions(stats=5)):
            if isinstance(event, Progress):
                progressing.set()

    try:
        task = asyncio.create_task(consume())
        await asyncio.wait_for(progressing.wait(), 30)
        while not task.done():
            task.cancel()
            await asyncio.sleep(0.002)
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert len(deleted(server)) == 1
        assert list(Path(server.backup_dir).iterdir()) == []
        server.step_delay = 0  # a BACKUP that was not stopped would now finish its file
        await asyncio.sleep(0.5)  # the step under way (0.2 s) ends, and the rest take no time
        assert list(Path(server.backup_dir).iterdir()) == []
    finally:
        await backend.close()

