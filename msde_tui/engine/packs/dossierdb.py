"""The dossier side of a packed file: opening its database, its identity and source as a
package records them, and comparing its tables with recorded digests (docs/FORMAT.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from msde_tui.engine import identity
from msde_tui.engine.backends.access.guard import refuse_access
from msde_tui.engine.backends.mssql.database import mssql_engine
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import BadInput, DiskFull, PackError
from msde_tui.engine.tables.database import Database
from msde_tui.packfmt.schema import PackSchema


def open_dossier(dossier: Dossier, home: Path, *, readonly: bool, password: str | None = None) -> Database:
    if dossier.is_embedded:
        return Database.open_sqlite(dossier.path(home), readonly=readonly)
    refuse_access(dossier, "a packed file or an export copy")
    if not dossier.profile:
        raise BadInput(f"Dossier {dossier.code} has no connection profile.", "Fix the dossier list.")
    engine = mssql_engine(dossier.profile, dossier.location, home, password)
    try:
        return Database.open_engine(engine, label=dossier.location)
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        raise PackError(f"Cannot open {dossier.location} on {dossier.profile} ({str(exc).splitlines()[0]}).") from exc
    except Exception as exc:  # the DB-API driver's own error types
        engine.dispose()
        raise PackError(f"Cannot open {dossier.location} on {dossier.profile} ({exc}).") from exc


def dossier_guid(db: Database, dossier: Dossier) -> str | None:
    try:
        cursor = db.execute(f"SELECT guid FROM {db.q('dossier_info')}")  # noqa: S608
        row = cursor.fetchone()
        cursor.close()
        if row and row[0]:
            return str(row[0])
    except (PackError, BadInput):
        if db.dialect == "mssql":
            db.rollback()
    return dossier.guid


def db_identity(db: Database) -> tuple[str | None, str | None]:
    """(guid, code) of the database's dossier_info; (None, None) without one."""
    try:
        return identity.read_db(db)
    except (PackError, BadInput):
        if db.dialect == "mssql":
            db.rollback()
        return None, None


def pack_identity(db: Database, dossier: Dossier) -> dict[str, Any]:
    guid = dossier_guid(db, dossier)
    return {
        "guid": guid,
        "code": dossier.code,
        "number": dossier.number,
        "short": dossier.short,
        "name": dossier.short,
        "company": dossier.company,
    }


def source_of(db: Database, dossier: Dossier) -> dict[str, Any]:
    return {
        "backend": dossier.backend,
        "dialect": db.dialect,
        "server_version": db.server_version(),
        "database": dossier.location,
        "profile": dossier.profile,
    }


def check_digests(db: Database, schema: PackSchema, expected: dict[str, Any], what: str) -> list[str]:
    """Names of tables whose digest in ``db`` differs from ``expected``."""
    differ = []
    for table in schema.tables:
        want = (expected.get("tables") or {}).get(table.name)
        got = db.digest(table).as_json()
        if want != got:
            differ.append(table.name)
    return differ


def not_enough_space(directory: Path, what: str) -> DiskFull:
    return DiskFull(
        f"There is not enough free space in {directory} to {what}.",
        "Free some space there, or move the data directory to a larger disk; nothing was changed.",
    )
