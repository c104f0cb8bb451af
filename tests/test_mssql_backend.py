"""MssqlBackend against the wire-level TDS double (tests/tdsdouble) with the real pymssql driver.

The double keeps databases as SQLite files and writes real backup files, so these tests check
real outcomes: restored rows equal the original, a flipped byte fails verification, progress
events arrive while the BACKUP still runs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from msde_tui.engine.errors import ConnectionFailed, ServerError
from msde_tui.engine.events import DossierResult, Event
from msde_tui.engine.mssql.backend import MssqlBackend, compression_for, size_warning
from msde_tui.engine.mssql.driver import Session, Target
from msde_tui.engine.plans import Connection

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
