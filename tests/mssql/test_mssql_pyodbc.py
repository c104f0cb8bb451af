"""The mssql backend through pyodbc + FreeTDS's ODBC driver against the TDS double.

Runs where an ODBC driver named FreeTDS is installed (Debian: apt install tdsodbc), skipped
otherwise. Backup -> verify -> restore round-trips the rows; a flipped byte fails verify.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from msde_tui.engine.backends.mssql.backend import MssqlBackend
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.events import DossierResult, Progress
from msde_tui.engine.plans import BackupOptions, Connection, RestoreItem

pyodbc = pytest.importorskip("pyodbc")
pytestmark = [
    pytest.mark.mssql,
    pytest.mark.skipif("FreeTDS" not in pyodbc.drivers(), reason="no FreeTDS ODBC driver"),
]


def rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as db:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        out = {n: sorted(db.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}
    db.close()
    return out


async def test_round_trip_and_damage_through_pyodbc(tds_server: Any, tmp_path: Path) -> None:
    source = tmp_path / "src.sqlite"
    with sqlite3.connect(source) as db:
        db.execute("CREATE TABLE entry (id INTEGER PRIMARY KEY, label TEXT, doc BLOB)")
        db.executemany("INSERT INTO entry (label, doc) VALUES (?, ?)",
                       [(f"n°{i} d'Anvers ]x[", bytes([i % 256]) * (i % 40)) for i in range(2000)])
    db.close()
    tds_server.create_database("PW0001SOC", sqlite_file=source)
    backend = MssqlBackend(Connection(kind="mssql", profile="odbc", host=tds_server.host,
                                      port=tds_server.port, user=tds_server.user,
                                      password=tds_server.password, driver="pyodbc"),
                           login_timeout=5)
    dossier = Dossier("001", "SOC", "Soc", backend="mssql", location="PW0001SOC", profile="odbc")
    try:
        facts = await backend.facts()
        assert facts.version_major == 16
        events = [e async for e in backend.backup(dossier, str(tds_server.backup_dir),
                                                  BackupOptions(verify=True))]
        (result,) = [e for e in events if isinstance(e, DossierResult)]
        assert result.ok and result.verified, result
        assert any(isinstance(e, Progress) and e.percent and e.percent < 100 for e in events)
        backup = result.files[0]

        damaged = Path(backup).with_name("damaged.bak")
        data = bytearray(Path(backup).read_bytes())
        data[len(data) // 2] ^= 0x01
        damaged.write_bytes(bytes(data))
        (bad,) = [e async for e in backend.verify(str(damaged)) if isinstance(e, DossierResult)]
        assert not bad.ok and "damaged" in bad.message

        restore = backend.restore(RestoreItem(source=backup, number="2", short="SOC"))
        (done,) = [e async for e in restore if isinstance(e, DossierResult)]
        assert done.ok, done
    finally:
        await backend.close()
    assert rows(tds_server.database_file("PW0002SOC")) == rows(source)
