"""MssqlBackend against the wire-level TDS double (tests/tdsdouble) with the real pymssql driver.

The double keeps databases as SQLite files and writes real backup files, so these tests check
real outcomes: restored rows equal the original, a flipped byte fails verification, progress
events arrive while the BACKUP still runs.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from msde_tui.engine.backends.mssql import restoring
from msde_tui.engine.backends.mssql.backend import MssqlBackend
from msde_tui.engine.backends.mssql.backupsets import size_warning
from msde_tui.engine.backends.mssql.common import compression_for
from msde_tui.engine.backends.mssql.driver import Session, Target
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import ConnectionFailed, ServerError
from msde_tui.engine.events import DossierResult, Event, Progress, Statement
from msde_tui.engine.plans import BackupOptions, Connection, RestoreItem

tdsdouble = pytest.importorskip(
    "tests.tdsdouble.server", reason="the TDS double has not landed yet"
)


def backend_for(server: Any, *, password: str | None = None) -> MssqlBackend:
    return MssqlBackend(
        Connection(
            kind="mssql",
            profile="double",
            host=server.host,
            port=server.port,
            user=server.user,
            password=server.password if password is None else password,
        ),
        login_timeout=5,
    )


@pytest.fixture
def demo_file(tmp_path: Path) -> Path:
    """A small real dossier-like SQLite database (entries with lines, text with quotes, blobs)."""
    path = tmp_path / "001SOC.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE dossier_info (code TEXT, company TEXT, guid TEXT)")
        db.execute(
            "INSERT INTO dossier_info VALUES ('001SOC', 'Société Lambert & Fils SRL', 'g-1')"
        )
        db.execute(
            "CREATE TABLE entry (id INTEGER PRIMARY KEY, label TEXT, amount INTEGER, doc BLOB)"
        )
        db.executemany(
            "INSERT INTO entry (label, amount, doc) VALUES (?, ?, ?)",
            [
                (f"Facture n°{i} d'Anvers [x]", i * 137 - 5000, bytes([i % 256]) * (i % 50))
                for i in range(3000)
            ],
        )
    return path


def table_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, ordered, to compare a database with its restored copy."""
    with sqlite3.connect(path) as db:
        names = [
            r[0]
            for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        ]
        return {n: sorted(db.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}


async def collect(stream: AsyncIterator[Event]) -> list[Event]:
    return [event async for event in stream]


def result_of(events: list[Event]) -> DossierResult:
    results = [e for e in events if isinstance(e, DossierResult)]
    assert len(results) == 1, events
    return results[0]


# -- facts, databases, directories --------------------------------------------------------------


async def test_facts_of_an_express_instance(tds_server: Any) -> None:
    backend = backend_for(tds_server)
    try:
        facts = await backend.facts()
    finally:
        await backend.close()
    assert facts.version == "16.0.4135.4" and facts.version_major == 16
    assert facts.engine_edition == 4 and facts.is_express
    assert facts.size_limit_bytes == 10 * 1024**3
    assert facts.edition.startswith("Express")
    assert facts.product.startswith("Microsoft SQL Server 2022")
    assert facts.path_separator == "/"
    assert facts.default_backup_path == str(tds_server.backup_dir)
    assert facts.default_data_path == str(tds_server.data_dir)
    assert facts.default_log_path == str(tds_server.log_dir)
    assert compression_for(facts, None) is None and compression_for(facts, True) is None


async def test_facts_of_a_standard_instance(tds_server: Any) -> None:
    tds_server.set_facts(edition="standard")
    backend = backend_for(tds_server)
    try:
        facts = await backend.facts()
    finally:
        await backend.close()
    assert facts.engine_edition == 2 and not facts.is_express and facts.size_limit_bytes is None
    assert compression_for(facts, None) is True and compression_for(facts, False) is False


async def test_databases_lists_dossier_databases_with_sizes(
    tds_server: Any, demo_file: Path
) -> None:
    tds_server.create_database("PW0001SOC", sqlite_file=demo_file)
    tds_server.create_database("PW0002BRA")
    tds_server.create_database("Accounting")
    tds_server.create_database("a]b'c")
    backend = backend_for(tds_server)
    try:
        dbs = await backend.databases()
        facts = await backend.facts()
    finally:
        await backend.close()
    assert [d.name for d in dbs] == ["PW0001SOC", "PW0002BRA"]
    assert dbs[0].size_bytes >= demo_file.stat().st_size - 8192 > 0
    assert dbs[0].state == "ONLINE"
    assert size_warning(dbs[0].size_bytes, facts) is None
    assert (
        size_warning(9 * 1024**3, facts) == "9.0 GB of the SQL Server Express limit of 10 GB (90%)."
    )
    assert "over the SQL Server Express limit" in str(size_warning(11 * 1024**3, facts))


async def test_server_directories(tds_server: Any) -> None:
    backup_dir = Path(tds_server.backup_dir)
    (backup_dir / "sub").mkdir()
    (backup_dir / "b.bak").write_bytes(b"x" * 10)
    (backup_dir / "A.txt").write_bytes(b"")
    backend = backend_for(tds_server)
    try:
        entries = await backend.list_dir(str(backup_dir) + "/")
        exists, free = await backend.check_dir(str(backup_dir))
        missing = await backend.check_dir(str(backup_dir / "nope"))
        with pytest.raises(ServerError) as info:
            await backend.list_dir(str(backup_dir / "nope"))
        with pytest.raises(Exception, match="Windows path"):
            await backend.list_dir("D:\\Backups")
    finally:
        await backend.close()
    assert [(e.name, e.is_dir) for e in entries] == [
        ("sub", True),
        ("A.txt", False),
        ("b.bak", False),
    ]
    assert entries[2].size_bytes == 10
    assert exists is True and free is not None and free > 0
    assert missing == (False, None)
    assert "does not exist on the SQL Server host" in info.value.message


async def test_wrong_password_is_a_clear_connection_failure(tds_server: Any) -> None:
    backend = backend_for(tds_server, password="wrong")
    with pytest.raises(ConnectionFailed) as info:
        await backend.facts()
    await backend.close()
    assert info.value.number == 18456
    assert (
        info.value.message
        == f"SQL Server at {tds_server.host}:{tds_server.port} refused the login for user 'sa'."
    )
    assert "password" in info.value.hint
    assert "wrong" not in str(info.value)


async def test_unreachable_server() -> None:
    backend = MssqlBackend(
        Connection(kind="mssql", host="127.0.0.1", port=9, user="sa", password="x"), login_timeout=3
    )
    with pytest.raises(ConnectionFailed, match="nothing answers on that port"):
        await backend.facts()


async def test_session_streams_messages_and_result_sets(tds_server: Any) -> None:
    session = await Session.open(
        Target(tds_server.host, tds_server.port, tds_server.user, tds_server.password)
    )
    try:
        assert session.spid is not None and session.spid > 0
        seen = [
            m.text
            async for m in session.stream("PRINT 'one'; SELECT 1 AS a; PRINT 'two'; SELECT 2 AS b")
        ]
        assert seen == ["one", "two"]
        assert session.last_results == [[{"a": 1}], [{"b": 2}]]
        assert "password" not in repr(session).lower() and tds_server.password not in repr(session)
    finally:
        await session.close()


# -- backup, verify, restore ---------------------------------------------------------------------


def dossier(location: str = "PW0001SOC", guid: str | None = "g-1") -> Dossier:
    return Dossier(
        "001",
        "SOC",
        "Société Lambert",
        backend="mssql",
        location=location,
        profile="double",
        guid=guid,
    )


async def timed(stream: AsyncIterator[Event]) -> list[tuple[float, Event]]:
    return [(time.monotonic(), event) async for event in stream]


async def backup_once(server: Any, location: str = "PW0001SOC", **options: Any) -> DossierResult:
    backend = backend_for(server)
    try:
        events = await collect(
            backend.backup(dossier(location), str(server.backup_dir), BackupOptions(**options))
        )
    finally:
        await backend.close()
    result = result_of(events)
    assert result.ok, result
    return result


async def test_backup_streams_live_progress_then_verifies(tds_server: Any, demo_file: Path) -> None:
    tds_server.create_database("PW0001SOC", sqlite_file=demo_file)
    tds_server.step_delay = 0.05
    backend = backend_for(tds_server)
    try:
        events = await timed(
            backend.backup(
                dossier(), str(tds_server.backup_dir), BackupOptions(verify=True, stats=10)
            )
        )
        infos = await backend.backups_in(str(tds_server.backup_dir))
    finally:
        await backend.close()
    result = result_of([e for _, e in events])
    assert result.ok and result.verified, result
    (path,) = result.files
    assert Path(path).parent == Path(tds_server.backup_dir) and Path(path).is_file()
    assert Path(path).name.startswith("PW0001SOC_") and path.endswith(".bak")

    statements = [e.text for _, e in events if isinstance(e, Statement)]
    assert statements == [
        f"BACKUP DATABASE [PW0001SOC] TO DISK = N'{path}' WITH CHECKSUM, INIT, COPY_ONLY, STATS = 10, "
        "NAME = N'PW0001SOC full backup', DESCRIPTION = N'msde-tui 0.1.0 dossier=001SOC guid=g-1'",
        f"RESTORE VERIFYONLY FROM DISK = N'{path}' WITH FILE = 1, CHECKSUM",
    ]
    assert "COMPRESSION" not in statements[0]  # Express

    # live progress: percents increase, and they arrive spread over time while BACKUP runs
    backup_progress = []
    for when, event in events:
        if isinstance(event, Statement) and event.text.startswith("RESTORE VERIFYONLY"):
            break
        if isinstance(event, Progress) and event.mb_per_s is None:
            backup_progress.append((when, event.percent))
    percents = [p for _, p in backup_progress]
    assert percents == sorted(set(percents)) and len(percents) >= 5 and percents[-1] == 100
    assert backup_progress[-1][0] - backup_progress[0][0] >= 0.2  # not delivered all at the end
    result_at = next(when for when, e in events if isinstance(e, DossierResult))
    assert backup_progress[0][0] < result_at
    assert result.details["pages"] and result.details["mb_per_s"] is not None

    (info,) = infos
    assert info.file == path and info.database == "PW0001SOC"
    assert info.code == "001SOC" and info.guid == "g-1" and info.has_checksums
    assert info.version_major == 16 and info.created_at is not None


async def test_standard_edition_compresses(tds_server: Any, demo_file: Path) -> None:
    tds_server.set_facts(edition="standard")
    tds_server.create_database("PW0001SOC", sqlite_file=demo_file)
    backend = backend_for(tds_server)
    try:
        events = await collect(
            backend.backup(dossier(), str(tds_server.backup_dir), BackupOptions(verify=True))
        )
    finally:
        await backend.close()
    assert result_of(events).verified
    assert ", COMPRESSION, " in next(e.text for e in events if isinstance(e, Statement))


async def test_verify_detects_a_flipped_byte(tds_server: Any, demo_file: Path) -> None:
    tds_server.create_database("PW0001SOC", sqlite_file=demo_file)
    (path,) = (await backup_once(tds_server, verify=False)).files
    backend = backend_for(tds_server)
    try:
        good = result_of(await collect(backend.verify(path)))
        data = bytearray(Path(path).read_bytes())
        data[len(data) // 2] ^= 0x01
        Path(path).write_bytes(bytes(data))
        bad = result_of(await collect(backend.verify(path)))
    finally:
        await backend.close()
    assert good.ok and good.verified
    assert not bad.ok and not bad.verified
    assert bad.details["error"] == "ServerBackupDamaged"
    assert "damaged" in bad.message and path in bad.message
    assert bad.hint


async def test_restore_to_a_new_number_gives_equal_data(tds_server: Any, demo_file: Path) -> None:
    tds_server.create_database("PW0001SOC", sqlite_file=demo_file)
    (path,) = (await backup_once(tds_server, verify=False)).files
    backend = backend_for(tds_server)
    try:
        events = await collect(
            backend.restore(RestoreItem(source=path, number="2", short="soc", company="Copie"))
        )
        dbs = [d.name for d in await backend.databases()]
    finally:
        await backend.close()
    result = result_of(events)
    assert result.ok and result.verified, result
    assert result.details["database"] == "PW0002SOC" and result.details["replaced"] is False
    assert result.details["dossier"] == {
        "number": "002", "short": "SOC", "company": "Copie", "backend": "mssql",
        "location": "PW0002SOC", "profile": "double", "status": "restored", "guid": None,
        "origin": None, "origin_code": None, "package": None,  # identity: given when it is listed
    }  # fmt: skip
    assert dbs == ["PW0001SOC", "PW0002SOC"]
    restore_sql = [
        e.text for e in events if isinstance(e, Statement) and e.text.startswith("RESTORE DATABASE")
    ]
    data_dir, log_dir = tds_server.data_dir, tds_server.log_dir
    assert len(restore_sql) == 1 and "REPLACE" not in restore_sql[0]
    assert f"TO N'{data_dir}/PW0002SOC.mdf'" in restore_sql[0]
    assert f"TO N'{log_dir}/PW0002SOC_log.ldf'" in restore_sql[0]
    verify_sql = [
        e.text
        for e in events
        if isinstance(e, Statement) and e.text.startswith("RESTORE VERIFYONLY")
    ]
    assert len(verify_sql) == 1 and "MOVE" in verify_sql[0]  # verified with the same MOVE first
    assert table_rows(tds_server.database_file("PW0002SOC")) == table_rows(demo_file)
    assert any(isinstance(e, Progress) and e.percent and e.percent < 100 for e in events)


async def test_restore_over_an_existing_dossier_needs_replace_and_takes_a_safety_copy(
    tds_server: Any, demo_file: Path
) -> None:
    tds_server.create_database("PW0001SOC", sqlite_file=demo_file)
    (path,) = (await backup_once(tds_server, verify=False)).files
    live = tds_server.database_file("PW0001SOC")
    with sqlite3.connect(live) as db:  # the dossier changes after its backup
        db.execute("INSERT INTO entry (label, amount) VALUES ('after the backup', 1)")
    changed = table_rows(live)
    backend = backend_for(tds_server)
    try:
        refused = result_of(
            await collect(backend.restore(RestoreItem(source=path, number="001", short="SOC")))
        )
        assert table_rows(live) == changed  # nothing touched
        events = await collect(
            backend.restore(RestoreItem(source=path, number="001", short="SOC", replace=True))
        )
    finally:
        await backend.close()
    assert not refused.ok and refused.details["error"] == "DossierExists"
    assert "already exists" in refused.message
    # the engine's words fit the wizard's log too: no CLI flag in them
    assert "replace" in refused.hint and "--" not in refused.hint
    result = result_of(events)
    assert result.ok and result.details["replaced"] is True, result
    safety = str(result.details["safety_backup"])
    assert safety.endswith("_before_restore.bak") and Path(safety).is_file()
    assert "REPLACE" in next(
        e.text for e in events if isinstance(e, Statement) and e.text.startswith("RESTORE DATABASE")
    )
    assert table_rows(tds_server.database_file("PW0001SOC")) == table_rows(demo_file)
    # the safety copy holds the changed dossier: restore it elsewhere and compare
    backend = backend_for(tds_server)
    try:
        back = result_of(
            await collect(backend.restore(RestoreItem(source=safety, number="003", short="SOC")))
        )
    finally:
        await backend.close()
    assert back.ok
    assert table_rows(tds_server.database_file("PW0003SOC")) == changed


CUSTOM = "Custom ]DB'x"  # a listed dossier's database not named PW<number><short>


async def test_restore_over_a_listed_dossier_replaces_its_own_database(
    tds_server: Any, demo_file: Path, home: Path
) -> None:
    """Dossier 001SOC lives in the database CUSTOM ('msde add --database'): restoring over
    number 001 replaces CUSTOM after a safety copy of it, never creates PW0001SOC."""
    from msde_tui.engine.catalog import Catalog
    from msde_tui.engine.plans import RestorePlan
    from msde_tui.engine.runs.runner import collect_async, run_restore
    from tests.tdsdouble.backupfile import read_set

    tds_server.create_database(CUSTOM, sqlite_file=demo_file)
    Catalog(home).add(dossier(CUSTOM))
    (path,) = (await backup_once(tds_server, location=CUSTOM, verify=False)).files
    live = tds_server.database_file(CUSTOM)
    with sqlite3.connect(live) as db:  # work done after the backup, to be undone
        db.execute("DELETE FROM entry WHERE id = 7")
    changed = table_rows(live)
    assert changed != table_rows(demo_file)
    connection = backend_for(tds_server).connection

    async def restore(**kw: Any) -> list[Event]:
        item = RestoreItem(source=path, number="001", short="SOC", **kw)
        return await collect_async(run_restore(RestorePlan(connection, (item,)), home=home))

    refused = result_of(await restore())
    assert not refused.ok and refused.details["error"] == "DossierExists"
    assert refused.message == f"The database {CUSTOM} already exists on {tds_server.host}."
    assert table_rows(live) == changed  # nothing touched
    events = await restore(replace=True)
    result = result_of(events)
    assert result.ok and result.verified, result
    assert result.details["database"] == CUSTOM and result.details["replaced"] is True
    assert table_rows(live) == table_rows(demo_file)  # the deleted row is back, in CUSTOM
    with pytest.raises(KeyError):
        tds_server.database_file("PW0001SOC")  # no database under the standard name
    ran = [e.text for e in events if isinstance(e, Statement)]
    restore_sql = next(t for t in ran if t.startswith("RESTORE DATABASE"))
    quoted_path = "N'" + path.replace("'", "''") + "'"  # the backup's name holds a quote too
    assert restore_sql.startswith(f"RESTORE DATABASE [Custom ]]DB'x] FROM DISK = {quoted_path} ")
    assert "REPLACE" in restore_sql
    safety = Path(str(result.details["safety_backup"]))
    assert safety.name.startswith(f"{CUSTOM}_") and safety.name.endswith("_before_restore.bak")
    safety_sql = next(t for t in ran if t.startswith("BACKUP DATABASE"))
    assert safety_sql.startswith("BACKUP DATABASE [Custom ]]DB'x] TO DISK")
    assert ran.index(safety_sql) < ran.index(restore_sql)
    backup_set, image = read_set(safety, 1, keep=True)  # the safety copy holds the changed data
    assert backup_set.database == CUSTOM
    copy = home / "safety.image"
    copy.write_bytes(image)
    assert table_rows(copy) == changed
    (listed,) = Catalog(home).dossiers()  # still one entry, pointing at CUSTOM
    assert (listed.code, listed.location, listed.status) == ("001SOC", CUSTOM, "restored")


async def test_restore_refuses_a_backup_from_a_newer_version_before_trying(
    tds_server: Any, demo_file: Path
) -> None:
    tds_server.create_database("PW0001SOC", sqlite_file=demo_file)
    (path,) = (await backup_once(tds_server, verify=False)).files
    tds_server.set_facts(version="15.0.2000.5")
    backend = backend_for(tds_server)
    try:
        result = result_of(
            await collect(backend.restore(RestoreItem(source=path, number="002", short="SOC")))
        )
    finally:
        await backend.close()
    # an older server cannot even read a newer backup's header (3241): said as such
    assert not result.ok and result.details["number"] == 3241
    assert result.message.startswith("This SQL Server (15.0.2000.5) cannot read ")
    assert "most likely made by a newer SQL Server" in result.message
    assert not any(
        b.lstrip().upper().startswith(("RESTORE DATABASE", "RESTORE VERIFYONLY"))
        for b in tds_server.batches
    )


@pytest.mark.parametrize("case", ["denied", "missing"])
async def test_backup_into_a_bad_directory_is_plain_words(
    tds_server: Any, demo_file: Path, case: str
) -> None:
    tds_server.create_database("PW0001SOC", sqlite_file=demo_file)
    target = Path(tds_server.root) / ("locked" if case == "denied" else "nope")
    if case == "denied":
        target.mkdir()
        tds_server.deny(target)
    backend = backend_for(tds_server)
    try:
        events = await collect(backend.backup(dossier(), str(target), BackupOptions()))
    finally:
        await backend.close()
    result = result_of(events)
    assert not result.ok and result.details["number"] == 3201 and result.files == ()
    if case == "denied":
        account = backend.service_account  # from sys.dm_server_services, else a guess
        assert account
        assert (
            result.message
            == f"The SQL Server service account ({account}) cannot write to {target}."
        )
        assert "write access" in result.hint
    else:
        assert result.message == f"The directory {target} does not exist on the SQL Server host."
    assert list(target.glob("*.bak")) == [] if target.exists() else True


async def test_hostile_database_name(tds_server: Any, demo_file: Path) -> None:
    name = "a]b'c; DROP DATABASE x--"
    tds_server.create_database(name, sqlite_file=demo_file)
    result = await backup_once(tds_server, location=name, verify=True)
    assert result.verified
    (path,) = result.files
    assert Path(path).name.startswith("a]b'c; DROP DATABASE x--_")
    backend = backend_for(tds_server)
    try:
        restored = result_of(
            await collect(backend.restore(RestoreItem(source=path, number="004", short="X")))
        )
    finally:
        await backend.close()
    assert restored.ok, restored
    assert table_rows(tds_server.database_file("PW0004X")) == table_rows(demo_file)


async def test_cancelled_backup_is_never_reported_valid(tds_server: Any, demo_file: Path) -> None:
    tds_server.create_database("PW0001SOC", sqlite_file=demo_file)
    tds_server.step_delay = 0.2
    backend = backend_for(tds_server)
    seen: list[Event] = []
    try:
        stream = backend.backup(dossier(), str(tds_server.backup_dir), BackupOptions(stats=5))
        async for event in stream:
            seen.append(event)
            if isinstance(event, Progress):
                break
        began = time.monotonic()
        await stream.aclose()  # type: ignore[attr-defined]
        stopped_in = time.monotonic() - began
    finally:
        await backend.close()
    assert not any(isinstance(e, DossierResult) for e in seen)
    assert stopped_in < 3.0  # KILL stopped it: 20 steps x 0.2 s would take 4 s
    assert list(Path(tds_server.backup_dir).glob("*.bak")) == []


async def test_cancelled_restore_of_a_new_dossier_leaves_no_database(
    tds_server: Any, demo_file: Path
) -> None:
    tds_server.create_database("PW0001SOC", sqlite_file=demo_file)
    (path,) = (await backup_once(tds_server, verify=False)).files
    tds_server.step_delay = 0.2
    backend = backend_for(tds_server)
    try:
        stream = backend.restore(
            RestoreItem(source=path, number="002", short="SOC"), verify_first=False
        )
        restoring = False
        async for event in stream:
            if isinstance(event, Statement) and event.text.startswith("RESTORE DATABASE"):
                restoring = True
            if restoring and isinstance(event, Progress):
                break
        await stream.aclose()  # type: ignore[attr-defined]
        dbs = [d.name for d in await backend.databases()]
    finally:
        await backend.close()
    assert restoring and dbs == ["PW0001SOC"]


async def test_restore_over_a_database_in_use_says_so(tds_server: Any, demo_file: Path) -> None:
    tds_server.create_database("PW0001SOC", sqlite_file=demo_file)
    (path,) = (await backup_once(tds_server, verify=False)).files
    tds_server.mark_in_use("PW0001SOC")
    backend = backend_for(tds_server)
    try:
        item = RestoreItem(source=path, number="001", short="SOC", replace=True)
        result = result_of(await collect(backend.restore(item, verify_first=False)))
    finally:
        await backend.close()
    assert not result.ok and result.details["number"] == 3101
    assert result.message == (
        "The database PW0001SOC is in use by 1 other session(s): compta on POSTE-2 "
        "(Accounting, session 99)."
    )
    assert "Close the accounting program" in result.hint and "--close-sessions" in result.hint
    assert "safety copy" not in result.hint  # nothing was changed, so nothing to bring back
    assert result.details["safety_backup"] is None  # refused before anything was written
    assert table_rows(tds_server.database_file("PW0001SOC")) == table_rows(demo_file)


async def test_restore_past_the_express_size_limit(tds_server: Any, demo_file: Path) -> None:
    with sqlite3.connect(demo_file) as db:  # make it larger than 1 MB
        db.execute("INSERT INTO entry (label, amount, doc) VALUES ('scan', 0, zeroblob(1500000))")
    tds_server.create_database("PW0001SOC", sqlite_file=demo_file)
    (path,) = (await backup_once(tds_server, verify=False)).files
    tds_server.set_facts(size_limit_mb=1)
    backend = backend_for(tds_server)
    try:
        result = result_of(
            await collect(backend.restore(RestoreItem(source=path, number="002", short="SOC")))
        )
        dbs = [d.name for d in await backend.databases()]
    finally:
        await backend.close()
    assert not result.ok and result.details["number"] == 1827
    assert "Express size limit" in result.message
    assert dbs == ["PW0001SOC"]


def test_cli_server_test_and_dirs(
    tds_server: Any, home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from msde_tui.cli import main

    monkeypatch.setenv("MSDE_PASSWORD", tds_server.password)
    (Path(tds_server.backup_dir) / "old.bak").write_bytes(b"12345")
    args = [
        "server",
        "add",
        "dbl",
        "--host",
        tds_server.host,
        "--port",
        str(tds_server.port),
        "--user",
        "sa",
    ]
    assert main(args) == 0
    capsys.readouterr()
    assert main(["server", "test", "dbl"]) == 0
    out = capsys.readouterr().out
    assert "Express Edition (64-bit) (Express: no backup compression)" in out
    assert "limit     10 GB per database" in out and str(tds_server.backup_dir) in out
    assert main(["--json", "server", "dirs", "dbl"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["directory"] == str(tds_server.backup_dir)
    assert listing["entries"] == [{"name": "old.bak", "is_dir": False, "size_bytes": 5}]
    monkeypatch.setenv("MSDE_PASSWORD", "wrong")
    assert main(["server", "test", "dbl"]) == 1
    err = capsys.readouterr().err
    assert "refused the login for user 'sa'" in err and "wrong" not in err


async def test_only_a_half_restored_database_is_ever_dropped(
    tds_server: Any, demo_file: Path
) -> None:
    tds_server.create_database("PW0001SOC", sqlite_file=demo_file)
    (path,) = (await backup_once(tds_server, verify=False)).files
    conn = tds_server.connect()
    cursor = conn.cursor()
    moves = f"MOVE N'PW0001SOC' TO N'{tds_server.data_dir}/h.mdf', MOVE N'PW0001SOC_log' TO N'{tds_server.log_dir}/h.ldf'"
    cursor.execute(f"RESTORE DATABASE [PW0005H] FROM DISK = N'{path}' WITH {moves}, NORECOVERY")
    while cursor.nextset():
        pass
    conn.close()
    backend = backend_for(tds_server)
    try:
        before = {d.name: d.state for d in await backend.databases()}
        await restoring.drop_half_restored(backend, "PW0001SOC")  # ONLINE: must stay
        await restoring.drop_half_restored(backend, "PW0005H")  # RESTORING: removed
        dbs = [d.name for d in await backend.databases()]
    finally:
        await backend.close()
    assert before == {"PW0001SOC": "ONLINE", "PW0005H": "RESTORING"}
    assert before == {"PW0001SOC": "ONLINE", "PW0005H": "RESTORING"}
    assert dbs == ["PW0001SOC"]


async def test_sql_server_2016_lists_directories_with_xp_dirtree(tds_server: Any) -> None:
    tds_server.set_facts(version="13.0.5026.0")
    (Path(tds_server.backup_dir) / "sub").mkdir()
    (Path(tds_server.backup_dir) / "x.bak").write_bytes(b"1")
    backend = backend_for(tds_server)
    try:
        facts = await backend.facts()
        entries = await backend.list_dir(str(tds_server.backup_dir))
    finally:
        await backend.close()
    assert facts.version_major == 13
    assert [(e.name, e.is_dir) for e in entries] == [("sub", True), ("x.bak", False)]
    assert any("xp_dirtree" in b for b in tds_server.batches)
    assert not any("dm_os_enumerate_filesystem" in b for b in tds_server.batches)


async def test_round_trip_on_the_double_or_a_real_server(mssql_target: Any) -> None:
    """Backup -> verify -> restore under a new number with plain T-SQL only, so it also runs
    against a real SQL Server when MSDE_TEST_MSSQL="host,port,user,password" is set."""
    source, copy = "PW0998RT", "PW0999RT"
    target = Target(mssql_target.host, mssql_target.port, mssql_target.user, mssql_target.password)
    admin = await Session.open(target)
    try:
        if mssql_target.is_real:  # leftovers of an earlier run
            for name in (source, copy):
                await admin.query(f"IF DB_ID(N'{name}') IS NOT NULL DROP DATABASE [{name}]")
        await admin.query(f"CREATE DATABASE [{source}]")
    finally:
        await admin.close()
    rows = [(i, f"ligne {i} l'été [{i}]") for i in range(1, 201)]
    values = ", ".join(f"({i}, N'{label.replace(chr(39), chr(39) * 2)}')" for i, label in rows)
    filler = await Session.open(
        Target(target.host, target.port, target.user, target.password, database=source)
    )
    try:
        await filler.query(
            "CREATE TABLE t (id int NOT NULL PRIMARY KEY, label nvarchar(100) NOT NULL)"
        )
        await filler.query(f"INSERT INTO t (id, label) VALUES {values}")
    finally:
        await filler.close()

    backend = MssqlBackend(
        Connection(
            kind="mssql",
            host=target.host,
            port=target.port,
            user=target.user,
            password=target.password,
        ),
        login_timeout=10,
    )
    try:
        facts = await backend.facts()
        backed = result_of(
            await collect(
                backend.backup(dossier(source), facts.default_backup_path, BackupOptions())
            )
        )
        assert backed.ok and backed.verified, backed
        item = RestoreItem(source=backed.files[0], number="999", short="RT")
        restored = result_of(await collect(backend.restore(item)))
        assert restored.ok, restored
    finally:
        await backend.close()

    reader = await Session.open(
        Target(target.host, target.port, target.user, target.password, database=copy)
    )
    try:
        got = await reader.rows("SELECT id, label FROM t ORDER BY id")
    finally:
        await reader.close()
    assert [(r["id"], r["label"]) for r in got] == rows
