"""Importing a PBF as a new dossier (embedded, or SQL Server through a profile).

The rows are loaded into a file aside (or a new database), checked against the package's
digests, given the copy's own identity, and only then named and listed (docs/FORMAT.md,
docs/OPERATIONS.md "Dossier identity").
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from msde_tui.engine import identity, naming, paths
from msde_tui.engine.atomic import aside, is_disk_full, publish_file, write_atomic
from msde_tui.engine.backends.mssql import database as serverdb
from msde_tui.engine.backends.mssql.database import mssql_engine
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import DossierExists, MsdeError, PackError
from msde_tui.engine.events import Emit, Step
from msde_tui.engine.packs.dossierdb import (
    check_digests,
    db_identity,
    not_enough_space,
)
from msde_tui.engine.reporting import Reporter, ignore
from msde_tui.engine.tables.database import Database
from msde_tui.packfmt.reader import PackReader
from msde_tui.packfmt.schema import PackSchema, TableSpec


def import_package(
    path: Path,
    home: Path,
    *,
    number: str | None = None,
    to_profile: str | None = None,
    passphrase: str | None = None,
    password: str | None = None,
    emit: Emit = ignore,
) -> Dossier:
    """Import a PBF as a new dossier (embedded, or SQL Server with ``to_profile``).

    ``emit`` gets ``read``, an ``import`` step per table and the rows loaded (``Progress``),
    then ``check``; its events are named for the file."""
    recover_imports(home)
    catalog = Catalog(home)
    label = Path(path).name
    emit(Step(label, "read", label))
    with PackReader(path, kind="PBF", passphrase=passphrase) as reader:
        ident = reader.content.get("dossier") or {}
        short = naming.check_short(str(ident.get("short") or "IMP"))
        number = catalog.free_number(number)
        code = f"{number}{short}"
        schema = reader.schema
        state = reader.content.get("state") or {}
        company = str(ident.get("company") or code)
        guid = ident.get("guid")
        package = str(reader.manifest.get("package_id") or "") or None
        counts = _row_counts(reader)
        rows = Reporter(emit, label)
        rows.tables("import", sum(counts.values()))
        report = Report(rows, counts)

        def decide(file_guid: str | None, file_code: str | None) -> identity.Identity:
            # a copy under another number gets its own identity (docs/OPERATIONS.md "Dossier identity")
            return identity.for_copy(Catalog(home), number, short, file_guid, file_code)

        if to_profile is None:
            record = Dossier(number=number, short=short, company=company, backend="embedded",
                             location=naming.embedded_file_name(code), status="imported", guid=guid,
                             package=package)
            target = Path(home) / record.location
            if os.path.lexists(target):
                raise DossierExists(f"{target} already exists.", "Choose another number or move that file.")
            intent = _intent_path(home, record.location)
            intent.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(intent, json.dumps(dataclasses.asdict(record)).encode("utf-8"))
            try:
                ident_ = _import_embedded(reader, schema, state, target, report, decide)
            except BaseException:
                _drop_intent(intent)
                raise
        else:
            database = naming.database_name(number, short)
            record = Dossier(number=number, short=short, company=company, backend="mssql",
                             location=database, profile=to_profile, status="imported", guid=guid,
                             package=package)
            ident_ = _import_mssql(reader, schema, state, home, to_profile, database, password, report, decide)
        record = identity.record(record, ident_) if ident_.guid else record
    added = catalog.add(record)
    if to_profile is None:
        _drop_intent(_intent_path(home, record.location))
    return added


IMPORT_PENDING = paths.IMPORT_PENDING_DIR  # one intent per embedded import between its rename and its listing


def _intent_path(home: Path, location: str) -> Path:
    return Path(home) / IMPORT_PENDING / f"{location}.json"


def _drop_intent(intent: Path) -> None:
    intent.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        intent.parent.rmdir()  # only when no other import is pending


def recover_imports(home: Path) -> list[Dossier]:
    """List the imported dossiers a kill left unlisted between their rename and their listing.

    The file only gets its final name once every row was loaded and checked, so a file named
    by an intent is complete: it is listed (roll forward). An intent without its file (the
    kill came earlier) is dropped. Returns the dossiers listed.
    """
    folder = Path(home) / IMPORT_PENDING
    if not folder.is_dir():
        return []
    added = []
    for intent in sorted(folder.glob("*.json")):
        try:
            record = Dossier(**json.loads(intent.read_text(encoding="utf-8")))
            file_guid, _code = identity.read_sqlite(record.path(home))
            if file_guid and file_guid != record.guid:  # the copy got its own identity before the kill
                record = replace(record, guid=file_guid, origin=record.guid)
            catalog = Catalog(home)
            listed = {d.location for d in catalog.dossiers() if d.is_embedded}
            if record.path(home).is_file() and record.location not in listed and record.number not in catalog.numbers():
                added.append(catalog.add(record))
        except (OSError, ValueError, TypeError):
            continue  # unreadable: keep it for a later run
        _drop_intent(intent)
    return added


@dataclass(frozen=True)
class Report:
    """Where an import reports: its rows' progress and each table's rows (as the file says)."""

    rows: Reporter
    counts: dict[str, int]

    def batches(self, reader: PackReader, table: TableSpec) -> Iterator[pa.RecordBatch]:
        """The table's batches from the file, announced and counted."""
        self.rows.table(table.name, self.counts.get(table.name))
        yield from self.rows.counted(reader.batches(table))

    def check(self) -> None:
        self.rows.step("check", "every row against the file's digests")


def _row_counts(reader: PackReader) -> dict[str, int]:
    """Each table's rows as the file's content lists them (0 where it does not say)."""
    listed = reader.content.get("tables") or {}
    counts = {}
    for table in reader.schema.tables:
        info = listed.get(table.name) if isinstance(listed, dict) else None
        value = info.get("rows") if isinstance(info, dict) else None
        counts[table.name] = value if isinstance(value, int) and value >= 0 else 0
    return counts


def load_into(db: Database, reader: PackReader, schema: PackSchema, report: Report) -> None:
    """Create the tables of ``schema`` in an empty database and load every row."""
    db.create_tables(schema)
    if db.dialect == "sqlite" and db.ingest_new(
        (table, report.batches(reader, table)) for table in schema.tables
    ):
        db.finish_schema(schema)
        return
    db.begin(write=True)
    try:
        for table in schema.tables:
            for batch in report.batches(reader, table):
                db.insert(table, batch)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    db.finish_schema(schema)
    if db.dialect == "mssql":
        db.commit()


Decide = Callable[[str | None, str | None], identity.Identity]


def _import_embedded(reader: PackReader, schema: PackSchema, state: dict[str, Any], target: Path,
                     report: Report, decide: Decide) -> identity.Identity:
    try:
        return _import_embedded_file(reader, schema, state, target, report, decide)
    except Exception as exc:  # noqa: BLE001 - the drivers' own error types (sqlite3, ADBC)
        if is_disk_full(exc):
            raise not_enough_space(target.parent, f"import {reader.where}") from exc
        if isinstance(exc, MsdeError):
            raise
        raise PackError(f"The dossier {target.name} cannot be written ({exc}).",
                        "Nothing was added to the dossier list; check the data directory.") from exc


def _import_embedded_file(reader: PackReader, schema: PackSchema, state: dict[str, Any], target: Path,
                          report: Report, decide: Decide) -> identity.Identity:
    with aside(target, create=False) as tmp:  # a private directory: no planted name is followed
        with Database.open_sqlite(tmp, readonly=False, create=True) as db:
            for pragma in ("journal_mode=OFF", "synchronous=OFF", "foreign_keys=OFF", "cache_size=-32000"):
                db.dbapi.execute(f"PRAGMA {pragma}")
            load_into(db, reader, schema, report)
            report.check()
            _verify_loaded(db, schema, state)
            db.dbapi.execute("PRAGMA journal_mode=WAL")
        ident = decide(*identity.read_sqlite(tmp))
        identity.stamp_sqlite(tmp, ident)  # checked rows first, then the copy's own identity
        with contextlib.closing(sqlite3.connect(tmp)) as check:  # closed: no handle outlives the import
            problems = check.execute("PRAGMA foreign_key_check").fetchmany(5)
        if problems:
            raise PackError(f"The imported rows break foreign keys (e.g. table {problems[0][0]}).",
                            "The packed file is inconsistent; nothing was added to the dossier list.")
        if os.path.lexists(target):
            raise DossierExists(f"{target} appeared during the import.", "Choose another number.")
        publish_file(tmp, target)  # written without syncing: on the disk before its name says it is done
    return ident


def _verify_loaded(db: Database, schema: PackSchema, state: dict[str, Any]) -> None:
    differ = check_digests(db, schema, state, "import")
    if differ:
        raise PackError(
            f"After the import, the rows of {', '.join(differ[:5])} differ from the packed file.",
            "The target cannot hold these values exactly; nothing was added to the dossier list.",
        )


def _import_mssql(reader: PackReader, schema: PackSchema, state: dict[str, Any], home: Path, profile: str,
                  database: str, password: str | None, report: Report, decide: Decide) -> identity.Identity:
    serverdb.create_database(home, profile, database, password, hint="Choose another number.")
    try:
        engine = mssql_engine(profile, database, home, password)
        with Database.open_engine(engine, label=database) as db:
            load_into(db, reader, schema, report)
            report.check()
            _verify_loaded(db, schema, state)
            ident = decide(*db_identity(db))
            identity.stamp_db(db, ident)
            db.commit()
            return ident
    except BaseException:
        serverdb.drop_database(home, profile, database, password)  # nothing left half-made
        raise
