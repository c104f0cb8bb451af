"""The export copy ``E`` + base name (SPEC 5.3): a complete, schema-agnostic copy of a dossier.

embedded -> embedded (``E001SOC.sqlite`` in the data directory or a chosen directory),
embedded -> SQL Server and SQL Server -> SQL Server (database ``EPW0001SOC`` through a
connection profile). Every row is checked after the copy (row digests of docs/FORMAT.md).
Importing an export copy registers it under its base name: a file ``E001SOC.sqlite``
becomes dossier 001SOC (``001SOC.sqlite``); a database ``EPW0001SOC`` on a server is copied
to ``PW0001SOC`` (or to an embedded file) and becomes dossier 001SOC. The export copy itself
is left as it is.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from msde_tui.engine import identity, naming
from msde_tui.engine.atomic import aside, is_disk_full, publish_file, write_error
from msde_tui.engine.backends.mssql import database as serverdb
from msde_tui.engine.backends.mssql.database import mssql_engine
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import BadInput, DossierExists, PackError
from msde_tui.engine.events import Emit
from msde_tui.engine.packs.dossierdb import not_enough_space, open_dossier
from msde_tui.engine.reporting import Reporter, ignore
from msde_tui.engine.tables.database import Database
from msde_tui.packfmt.digest import Digest, row_hashes
from msde_tui.packfmt.schema import PackSchema

SQLITE_MAGIC = b"SQLite format 3\x00"
ANOTHER_NUMBER = "Type another dossier number (F6 proposes the first free one)."  # the wizard's words


@dataclass
class ExportResult:
    target: str  # file path or database name
    backend: str
    profile: str | None
    tables: dict[str, int]


def copy_tables(src: Database, dst: Database, schema: PackSchema, report: Reporter | None = None,
                step: str = "copy") -> dict[str, int]:
    """Copy every table of ``schema`` from ``src`` into the empty ``dst``; check every row after.

    ``report`` gets a ``step`` per table and the rows copied (``Progress``), then ``check``."""
    rows = report or Reporter()
    digests: dict[str, Digest] = {}
    counts = {table.name: src.count(table) for table in schema.tables}  # src's snapshot: what is read
    rows.tables(step, sum(counts.values()))
    dst.create_tables(schema)
    dst.begin(write=True)
    try:
        for table in schema.tables:
            rows.table(table.name, counts[table.name])
            digest = Digest()
            for batch in rows.counted(src.read(table)):
                digest.add(row_hashes(batch, table))
                dst.insert(table, batch)
            digests[table.name] = digest
        dst.commit()
    except BaseException:
        dst.rollback()
        raise
    dst.finish_schema(schema)
    if dst.dialect == "mssql":
        dst.commit()
    rows.step("check", "every row against the dossier's digests")
    differ = [t.name for t in schema.tables if dst.digest(t).as_json() != digests[t.name].as_json()]
    if differ:
        raise PackError(
            f"The copy of {', '.join(differ[:5])} differs from the dossier.",
            "The target cannot hold these values exactly; the copy was removed.",
        )
    return {name: d.rows for name, d in digests.items()}


def export_copy(
    dossier: Dossier,
    home: Path,
    *,
    to: str = "embedded",
    directory: Path | None = None,
    password: str | None = None,
    emit: Emit = ignore,
) -> ExportResult:
    """Write the ``E`` copy of ``dossier`` (``to``: "embedded" or a connection profile name);
    ``emit`` gets a ``copy`` step per table, the rows copied, then ``check``."""
    report = Reporter(emit, dossier.code)
    with open_dossier(dossier, home, readonly=True, password=password) as src:
        src.begin()  # schema and rows: one state of the dossier
        schema = src.reflect()
        try:
            if to == "embedded":
                folder = Path(directory) if directory else Path(home)
                if not folder.is_dir():
                    raise BadInput(f"The directory {folder} does not exist.", "Create it or choose another one.")
                target = folder / naming.embedded_file_name(naming.export_name(dossier.code))
                if os.path.lexists(target):
                    raise DossierExists(f"{target} already exists.", "Remove or rename the old export copy first.")
                rows = _copy_to_file(src, schema, target, report)
                return ExportResult(str(target), "embedded", None, rows)
            database = naming.export_name(naming.database_name(dossier.number, dossier.short))
            serverdb.create_database(home, to, database, password,
                                     hint="Drop or rename the old export copy on the server first.")
            rows = _copy_to_server(src, schema, home, to, database, password, report)
            return ExportResult(database, "mssql", to, rows)
        finally:
            src.rollback()


Stamp = Callable[[Database], None]


def _copy_to_file(src: Database, schema: PackSchema, target: Path, report: Reporter,
                  stamp: Stamp | None = None, step: str = "copy") -> dict[str, int]:
    """Copy into a new SQLite file ``target`` (written aside, renamed into place when checked),
    reported as ``step``; ``stamp`` then gives the copy its own identity (an import under
    another number)."""
    with aside(target, create=False) as tmp:  # a private directory: no planted name is followed
        try:
            with Database.open_sqlite(tmp, readonly=False, create=True) as dst:
                for pragma in ("journal_mode=OFF", "synchronous=OFF", "foreign_keys=OFF"):
                    dst.dbapi.execute(f"PRAGMA {pragma}")
                rows = copy_tables(src, dst, schema, report, step)
                if stamp is not None:
                    dst.begin(write=True)
                    stamp(dst)
                    dst.commit()
                dst.dbapi.execute("PRAGMA journal_mode=WAL")
        except (sqlite3.Error, sa.exc.DBAPIError, OSError, PackError) as exc:
            if is_disk_full(exc):  # the copy being written: name where it goes
                raise write_error(exc, target) from exc
            raise
        if os.path.lexists(target):
            raise DossierExists(f"{target} appeared during the copy.", "Choose another number or name.")
        publish_file(tmp, target)  # written without syncing: on the disk before its name says it is done
    return rows


def _copy_to_server(src: Database, schema: PackSchema, home: Path, profile: str, database: str,
                    password: str | None, report: Reporter, stamp: Stamp | None = None,
                    step: str = "copy") -> dict[str, int]:
    """Copy into the new, empty ``database`` (reported as ``step``); it is dropped again if the
    copy fails."""
    try:
        engine = mssql_engine(profile, database, home, password)
        with Database.open_engine(engine, label=database) as dst:
            rows = copy_tables(src, dst, schema, report, step)
            if stamp is not None:
                stamp(dst)
                dst.commit()
            return rows
    except BaseException:
        serverdb.drop_database(home, profile, database, password)
        raise


def copy_file_to_server(path: Path, home: Path, profile: str, database: str, password: str | None, *,
                        hint: str) -> dict[str, int]:
    """Copy the embedded dossier file ``path`` into the new database ``database`` on ``profile``
    (refused with ``hint`` when it exists; dropped again if the copy fails)."""
    with Database.open_sqlite(path, readonly=True) as src:
        schema = src.reflect()
        serverdb.create_database(home, profile, database, password, hint=hint)
        src.begin()
        try:
            return _copy_to_server(src, schema, home, profile, database, password, Reporter())
        finally:
            src.rollback()


def copy_dossier_to_file(dossier: Dossier, home: Path, target: Path, *, password: str | None = None) -> dict[str, int]:
    """Copy every table of ``dossier`` (any backend) into the new SQLite file ``target``."""
    with open_dossier(dossier, home, readonly=True, password=password) as src:
        src.begin()  # schema and rows: one state of the dossier
        schema = src.reflect()
        try:
            return _copy_to_file(src, schema, target, Reporter())
        finally:
            src.rollback()


def import_export_database(
    database: str,
    home: Path,
    *,
    profile: str,
    number: str | None = None,
    to: str | None = None,
    password: str | None = None,
    emit: Emit = ignore,
) -> Dossier:
    """Import the export copy ``EPW0001SOC`` found on ``profile`` as dossier 001SOC.

    ``emit`` gets an ``import`` step per table and the rows copied, then ``check``.

    The copy is copied (every row checked) to the base-name database ``PW0001SOC`` on the
    same server, on the server of profile ``to``, or (``to="embedded"``) to ``001SOC.sqlite``;
    ``number`` imports it under another number. The export copy itself is not changed.
    """
    _refuse_audit_copy(database)
    report = Reporter(emit, database)
    base = naming.base_of_export(database)
    parsed = naming.parse_database_name(base) if base else None
    if parsed is None:
        raise BadInput(
            f"{database} is not named like a SQL Server export copy (EPW0001SOC).",
            "Give the export copy database's name, or a .pbf or export copy file.",
        )
    catalog = Catalog(home)
    wanted = catalog.free_number(number or parsed.number)
    code = f"{wanted}{parsed.short}"
    target = to or profile
    source = Dossier(number=parsed.number, short=parsed.short, company=code, backend="mssql",
                     location=database, profile=profile)
    with open_dossier(source, home, readonly=True, password=password) as src:
        schema = src.reflect()
        guid, company = _server_info(src)
        server_code = _server_code(src)
        _refuse_audit_copy(server_code, database)
        # the copy under its number: its own identity when it is not the dossier itself
        ident = identity.for_copy(catalog, wanted, parsed.short, guid, server_code)

        def stamp(db: Database) -> None:
            identity.stamp_db(db, ident)

        src.begin()
        try:
            if target == "embedded":
                path = Path(home) / naming.embedded_file_name(code)
                if path.exists():
                    raise DossierExists(f"{path} already exists.", "Give another number with --number.",
                                         wizard_hint=ANOTHER_NUMBER)
                _copy_to_file(src, schema, path, report, stamp, "import")
                record = Dossier(number=wanted, short=parsed.short, company=company or code, backend="embedded",
                                 location=path.name, status="imported", **ident.fields())
            else:
                name = naming.database_name(wanted, parsed.short)
                serverdb.create_database(home, target, name, password, hint="Give another number with --number.")
                _copy_to_server(src, schema, home, target, name, password, report, stamp, "import")
                record = Dossier(number=wanted, short=parsed.short, company=company or code, backend="mssql",
                                 location=name, profile=target, status="imported", **ident.fields())
        finally:
            src.rollback()
    return catalog.add(record)


def _server_info(db: Database) -> tuple[str | None, str | None]:
    """GUID and company of a dossier database (None, None when it has no dossier_info)."""
    try:
        cursor = db.execute(f"SELECT guid, company FROM {db.q('dossier_info')}")  # noqa: S608
        row = cursor.fetchone()
        cursor.close()
    except (PackError, BadInput):
        db.rollback()
        return None, None
    return (str(row[0]) if row and row[0] else None, str(row[1]) if row and row[1] else None)


def _server_code(db: Database) -> str | None:
    """The dossier code in a server database's dossier_info (None when it has none)."""
    try:
        cursor = db.execute(f"SELECT code FROM {db.q('dossier_info')}")  # noqa: S608
        row = cursor.fetchone()
        cursor.close()
    except (PackError, BadInput):
        db.rollback()
        return None
    return str(row[0]) if row and row[0] else None


def is_sqlite_file(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def import_export_copy(path: Path, home: Path, *, number: str | None = None) -> Dossier:
    """Register an export copy file (``E001SOC.sqlite``) as a dossier under its base name."""
    path = Path(path)
    stem = path.name.removesuffix(".sqlite")
    _refuse_audit_copy(stem)
    base = naming.base_of_export(stem)
    if base is None or not naming.CODE_RE.match(base):
        raise BadInput(
            f"{path.name} is not named like an export copy (E001SOC.sqlite).",
            "Give an export copy file, a .pbf, or a cut file.",
        )
    parsed = naming.parse_code(base)
    catalog = Catalog(home)
    wanted = catalog.free_number(number or parsed.number)
    code = f"{wanted}{parsed.short}"
    target = Path(home) / naming.embedded_file_name(code)
    if os.path.lexists(target):
        raise DossierExists(f"{target} already exists.", "Give another number with --number.",
                            wizard_hint=ANOTHER_NUMBER)
    with aside(target, create=False) as tmp:  # a private directory: no planted name is followed
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            problem = source.execute("PRAGMA quick_check").fetchone()[0]
            if problem != "ok":
                raise PackError(f"{path.name} is damaged ({problem}).", "Use another copy.")
            guid, company = _info(source)
            file_code = _code(source)
            _refuse_audit_copy(file_code, path.name)
            dest = sqlite3.connect(tmp)
            try:
                source.backup(dest)
            finally:
                dest.close()
            ident = identity.for_copy(catalog, wanted, parsed.short, guid, file_code)
            identity.stamp_sqlite(tmp, ident)  # the copy under its number: its own identity
        except sqlite3.DatabaseError as exc:
            if is_disk_full(exc):  # the copy being written, not the source
                raise not_enough_space(target.parent, f"import {path.name}") from exc
            raise PackError(f"{path.name} cannot be read as a dossier ({exc}).", "Use another copy.") from exc
        finally:
            source.close()
        publish_file(tmp, target)
    record = Dossier(number=wanted, short=parsed.short, company=company or code, backend="embedded",
                     location=target.name, status="imported", **ident.fields())
    return catalog.add(record)


def _refuse_audit_copy(code: str | None, name: str | None = None) -> None:
    """Tax-audit copies (``Admin001SOC``, ``AdminPW0001SOC``) are never imported (SPEC 5.6)."""
    if naming.is_audit_copy(code):
        raise BadInput(f"{name or code} is a tax-audit copy ({code}). {naming.NOT_RESTORABLE}",
                       "Import the dossier's own backup, PBF or export copy instead.")


def _code(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT code FROM dossier_info").fetchone()
    except sqlite3.DatabaseError:
        return None
    return str(row[0]) if row and row[0] else None


def _info(conn: sqlite3.Connection) -> tuple[str | None, str | None]:
    try:
        row = conn.execute("SELECT guid, company FROM dossier_info").fetchone()
    except sqlite3.DatabaseError:
        return None, None
    return (row[0], row[1]) if row else (None, None)
