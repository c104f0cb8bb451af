"""Embedded dossiers: SQLite files (WAL journal, foreign keys on).

SQLAlchemy and the accounting schema are imported by the functions that use them: ``msde list``
reads fiscal-year counts through this module and must not load the SQL toolkit.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from msde_tui.engine.errors import BadInput, DossierExists

if TYPE_CHECKING:
    import sqlalchemy as sa


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A DB-API connection to an embedded dossier with WAL and foreign keys on."""
    path = Path(path)
    if not path.exists():
        raise BadInput(f"The dossier file {path} does not exist.", "Check the dossier list.")
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    else:
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def _pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def sa_engine(path: Path) -> sa.Engine:
    """A SQLAlchemy engine on an embedded dossier (foreign keys on for every connection)."""
    import sqlalchemy as sa
    from sqlalchemy import event

    engine = sa.create_engine(f"sqlite:///{Path(path)}", poolclass=sa.pool.NullPool)
    event.listen(engine, "connect", _pragmas)
    return engine


def create_dossier(
    path: Path,
    *,
    code: str,
    name: str,
    company: str,
    vat_number: str | None = None,
    country: str = "BE",
    currency: str = "EUR",
    guid: str | None = None,
    created_at: datetime | None = None,
) -> str:
    """Create an empty embedded dossier file with the accounting schema. Returns its GUID."""
    from msde_tui.engine.accounting import schema

    path = Path(path)
    if path.exists():
        raise DossierExists(f"{path} already exists.", "Choose another number or remove it first.")
    path.parent.mkdir(parents=True, exist_ok=True)
    guid = guid or str(uuid.uuid4())
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA journal_mode=WAL")
    engine = sa_engine(path)
    try:
        schema.metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(
                schema.dossier_info.insert().values(
                    id=1,
                    guid=guid,
                    code=code,
                    name=name,
                    company=company,
                    vat_number=vat_number,
                    country=country,
                    currency=currency,
                    schema_version=schema.SCHEMA_VERSION,
                    created_at=created_at or datetime.now().replace(microsecond=0),
                )
            )
    finally:
        engine.dispose()
    return guid


def dossier_guid(conn: sqlite3.Connection) -> str | None:
    """The dossier's GUID, or None for a database without ``dossier_info``."""
    try:
        row = conn.execute("SELECT guid FROM dossier_info WHERE id = 1").fetchone()
    except sqlite3.DatabaseError:
        return None
    return row[0] if row else None


def movement_count(conn: sqlite3.Connection) -> int:
    """Number of entries (the auto-backup movement counter); 0 without accounting tables."""
    try:
        return int(conn.execute("SELECT COUNT(*) FROM entry").fetchone()[0])
    except sqlite3.DatabaseError:
        return 0


def _row_count(path: Path, table: str) -> int | None:
    if not Path(path).is_file():
        return None
    try:  # not mode=ro: a read-only reader of a WAL file leaves its -wal/-shm files behind
        conn = sqlite3.connect(Path(path))
    except sqlite3.Error:
        return None
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608 - fixed names
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def fiscal_year_count(path: Path) -> int | None:
    """Number of fiscal years of the dossier file at ``path``; None when it cannot be read."""
    return _row_count(path, "fiscal_year")


def entry_line_count(path: Path) -> int | None:
    """Number of entry lines of the dossier file at ``path``; None when it cannot be read."""
    return _row_count(path, "entry_line")
