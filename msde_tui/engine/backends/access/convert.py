"""Convert an Access dossier into an embedded dossier (SQLite) or a SQL Server database.

The way off Access: every user table, every row, and each column's type carried over:

=================  ==================  ==========================  ===================
Access             portable type       SQLite                      SQL Server
=================  ==================  ==========================  ===================
Yes/No (Boolean)   boolean             BOOLEAN                     bit
Byte/Integer/Long  integer             INTEGER                     int
Currency           decimal(19, 4)      NUMERIC(19, 4)              decimal(19, 4)
Numeric (p, s)     decimal(p, s)       NUMERIC(p, s)               decimal(p, s)
Single/Double      real                REAL (Single widened)       float
Date/Time          datetime            DATETIME                    datetime2
Text (n)           text(n)             VARCHAR(n)                  nvarchar(n)
Memo/Hyperlink     text                TEXT                        nvarchar(max)
OLE/Binary         blob                BLOB                        varbinary(max)
Replication ID     text                VARCHAR(38)                 nvarchar(38)
=================  ==================  ==========================  ===================

(the right-hand columns are what ``engine.tables`` makes of the portable types). The Access file is
first copied aside (a consistent snapshot; the lock-file rule of backups applies), read from
that copy, written into a new target, and every table is then read back from the target: its
row digest (docs/FORMAT.md section 7) must equal the digest of the rows read from Access, else
the target is removed. Values the reader cannot give exactly (a date outside 1899-12-30 ..
4637, which mdbtools 1.0 prints as day 0) stop the conversion with the table, column and row.
"""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from msde_tui.engine.atomic import copy_hashed
from msde_tui.engine.backends.access import fileformat, reader
from msde_tui.engine.backends.access.backend import refuse_if_open, source_file
from msde_tui.engine.backends.access.plans import ConvertPlan
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import AccessUnreadable, DossierChanged, DossierExists, PackError
from msde_tui.engine.events import DossierResult, Event, Step
from msde_tui.engine.proof import sha256_file
from msde_tui.engine.tables.database import Database
from msde_tui.packfmt.digest import Digest, row_hashes
from msde_tui.packfmt.schema import ColumnSpec, PackSchema, TableSpec

BATCH_ROWS = 2000
Say = Callable[[str], None]


def _quiet(_text: str) -> None:
    """No progress wanted."""


def column_spec(table: str, col: reader.AccessColumn) -> ColumnSpec:
    """The portable column of an Access column; AccessUnreadable for a type msde cannot carry."""
    kind = col.type
    if kind == "Boolean":
        return ColumnSpec(col.name, "boolean", nullable=False)
    if kind in ("Byte", "Integer", "Long Integer"):
        return ColumnSpec(col.name, "integer", col.nullable)
    if kind == "Currency":
        return ColumnSpec(col.name, "decimal", col.nullable, precision=19, scale=4)
    if kind == "Numeric" and len(col.size) == 2:
        return ColumnSpec(col.name, "decimal", col.nullable, precision=col.size[0], scale=col.size[1])
    if kind in ("Single", "Double"):
        return ColumnSpec(col.name, "real", col.nullable)
    if kind == "DateTime":
        return ColumnSpec(col.name, "datetime", col.nullable)
    if kind == "Text":
        return ColumnSpec(col.name, "text", col.nullable, length=col.size[0] if col.size else None)
    if kind == "Memo/Hyperlink":
        return ColumnSpec(col.name, "text", col.nullable)
    if kind in ("OLE", "Binary"):
        return ColumnSpec(col.name, "blob", col.nullable)
    if kind == "Replication ID":
        return ColumnSpec(col.name, "text", col.nullable, length=38)
    raise AccessUnreadable(
        f"Column {col.name} of table {table} has the Access type {kind}, which msde cannot carry over.",
        "Change that column in Access (or export that table by hand) and convert again.",
    )


def access_schema(path: Path) -> PackSchema:
    """Every user table of ``path`` with its portable columns (no keys: Access keys are not read)."""
    specs = []
    for number, name in enumerate(reader.tables(path)):
        cols = [column_spec(name, c) for c in reader.columns(path, name)]
        specs.append(TableSpec(name=name, dir=f"t{number:04d}", columns=cols))
    return PackSchema(specs)


def _value(raw: Any, col: ColumnSpec, access_type: str, where: str) -> Any:  # noqa: PLR0911
    if raw is None:
        return None
    kind = col.type
    if kind == "boolean":
        return bool(int(raw))
    if kind == "integer":
        return int(raw)
    if kind == "decimal":
        return Decimal(str(raw)).quantize(Decimal(1).scaleb(-(col.scale or 0)))
    if kind == "real":
        value = float(raw)
        if access_type == "Single":  # a 4-byte float printed in 9 digits: exactly that float
            value = struct.unpack("<f", struct.pack("<f", value))[0]
        return value
    if kind == "datetime":
        try:
            return datetime.strptime(str(raw), reader.DATETIME_FORMAT)
        except ValueError as exc:
            raise AccessUnreadable(
                f"{where}: the date {raw!r} is outside what the Access reader can read exactly "
                "(before 1899-12-30 or after 4637).",
                "Correct that date in Access, then convert again; nothing was converted.",
            ) from exc
    if kind == "blob":
        if isinstance(raw, dict) and "$binary" in raw:
            return base64.b64decode(raw["$binary"])
        return str(raw).encode("utf-8")
    return str(raw)


def batches(path: Path, table: TableSpec, types: dict[str, str]) -> Iterator[pa.RecordBatch]:
    """The rows of ``table`` (read by mdbtools) as typed record batches."""
    schema = table.arrow_schema()
    names = table.column_names
    values: list[list[Any]] = [[] for _ in names]
    count = 0
    for line in reader.lines(path, table.name):
        count += 1
        try:
            row = json.loads(line, parse_float=Decimal)
        except ValueError as exc:
            raise AccessUnreadable(f"Table {table.name}, row {count}: the reader gave a row it cannot "
                                   f"have meant ({exc}).", "The file may be damaged; use a verified backup.") from exc
        for index, name in enumerate(names):
            where = f"Table {table.name}, column {name}, row {count}"
            values[index].append(_value(row.get(name), table.columns[index], types[name], where))
        if len(values[0]) >= BATCH_ROWS:
            yield pa.record_batch([pa.array(v, type=schema.field(i).type) for i, v in enumerate(values)],
                                  schema=schema)
            values = [[] for _ in names]
    if values and values[0]:
        yield pa.record_batch([pa.array(v, type=schema.field(i).type) for i, v in enumerate(values)],
                              schema=schema)


@dataclass
class Converted:
    tables: dict[str, int]  # table -> rows
    format: str
    warning: str = ""


def snapshot(dossier: Dossier, folder: Path, *, force: bool = False) -> tuple[fileformat.AccessFile, Path, str]:
    """A private copy of the dossier's Access file to read from (unchanged while copied)."""
    found = source_file(dossier)
    warning = refuse_if_open(found, force)
    copy = folder / f"source{found.suffix}"
    sha, _ = copy_hashed(found.path, copy)  # a private copy, read then removed
    if sha256_file(found.path)[0] != sha:
        raise DossierChanged(f"{found.path.name} changed while it was copied.",
                             "Something (Access?) is writing it; close it and convert again.")
    return found, copy, warning


def fill(source: Path, dst: Database, say: Say = _quiet) -> dict[str, int]:
    """Create every table of ``source`` in the empty ``dst``, copy the rows, then compare each
    table's row digest read back from ``dst`` with the one of the rows read from Access."""
    schema = access_schema(source)
    types = {t.name: {c.name: c.type for c in reader.columns(source, t.name)} for t in schema.tables}
    digests: dict[str, Digest] = {}
    dst.create_tables(schema)
    dst.begin(write=True)
    try:
        for table in schema.tables:
            say(table.name)
            digest = Digest()
            for batch in batches(source, table, types[table.name]):
                digest.add(row_hashes(batch, table))
                dst.insert(table, batch)
            digests[table.name] = digest
        dst.commit()
    except BaseException:
        dst.rollback()
        raise
    dst.finish_schema(schema)
    if dst.dialect == "mssql":
        dst.commit()  # as export_copy.copy_tables: pymssql opened a transaction meanwhile
    say("checking")
    differ = [t.name for t in schema.tables if dst.digest(t).as_json() != digests[t.name].as_json()]
    if differ:
        raise PackError(f"The converted rows of {', '.join(differ[:5])} differ from the Access file.",
                        "The target cannot hold these values exactly; it was removed.")
    return {name: d.rows for name, d in digests.items()}


def to_sqlite(dossier: Dossier, target: Path, *, force: bool = False, say: Say = _quiet) -> Converted:
    """Convert into the new SQLite file ``target`` (built aside, renamed when checked)."""
    from msde_tui.engine.atomic import aside, publish_file

    with tempfile.TemporaryDirectory(prefix="msde-access-") as folder:
        found, copy, warning = snapshot(dossier, Path(folder), force=force)
        with aside(target, create=False) as temp:  # a private directory: no planted name is followed
            with Database.open_sqlite(temp, readonly=False, create=True) as dst:
                dst.dbapi.execute("PRAGMA journal_mode=OFF")
                rows = fill(copy, dst, say)
                dst.dbapi.execute("PRAGMA journal_mode=WAL")
            publish_file(temp, target)
    return Converted(rows, found.format, warning)


def to_server(dossier: Dossier, home: Path, profile: str, database: str, *, password: str | None = None,
              force: bool = False, say: Say = _quiet) -> Converted:
    """Convert into the new database ``database`` on ``profile`` (dropped again on failure)."""
    from msde_tui.engine.backends.mssql import database as serverdb

    with tempfile.TemporaryDirectory(prefix="msde-access-") as folder:
        found, copy, warning = snapshot(dossier, Path(folder), force=force)
        access_schema(copy)  # refuse an unsupported column before creating anything
        serverdb.create_database(home, profile, database, password,
                                 hint="Choose another number, or drop that database first.")
        try:
            engine = serverdb.mssql_engine(profile, database, home, password)
            with Database.open_engine(engine, label=database) as dst:
                rows = fill(copy, dst, say)
        except BaseException:
            serverdb.drop_database(home, profile, database, password)
            raise
    return Converted(rows, found.format, warning)


# --------------------------------------------------------------------------- the operation


async def run(plan: ConvertPlan, home: Path) -> AsyncIterator[Event]:
    """The events of one conversion; ends with a DossierResult (the new dossier listed)."""
    from msde_tui.engine import naming
    from msde_tui.engine.catalog import Catalog

    home = Path(home)
    label = plan.dossier.code
    short = naming.check_short(plan.short or plan.dossier.short)
    number = Catalog(home).free_number(plan.number)
    code = f"{number}{short}"
    lines: list[str] = []

    def say(text: str) -> None:
        lines.append(text)

    if plan.to == "embedded":
        target = home / naming.embedded_file_name(code)
        if target.exists():
            raise DossierExists(f"{target} already exists.", "Choose another number or move that file aside.")
        yield Step(label, "convert", f"{plan.dossier.location} -> {target.name} (embedded)")
        done = await asyncio.to_thread(to_sqlite, plan.dossier, target, force=plan.force, say=say)
        record = Dossier(number=number, short=short, company=plan.company or plan.dossier.company,
                         location=target.name, status="converted")
        where = str(target)
    else:
        database = naming.database_name(number, short)
        yield Step(label, "convert", f"{plan.dossier.location} -> {plan.to}:{database} (SQL Server)")
        done = await asyncio.to_thread(to_server, plan.dossier, home, plan.to, database,
                                       password=plan.password or None, force=plan.force, say=say)
        record = Dossier(number=number, short=short, company=plan.company or plan.dossier.company,
                         backend="mssql", location=database, profile=plan.to, status="converted")
        where = f"{plan.to}:{database}"
    yield Step(label, "check", f"{len(done.tables)} tables read back, row digests compared")
    listed = Catalog(home).add(record)  # under the list's file lock, read again
    rows = sum(done.tables.values())
    yield DossierResult(
        label, ok=True, verified=True, files=(where,),
        message=" ".join(filter(None, (
            f"Access {done.format} dossier {label} converted into {listed.code} ({where}): "
            f"{len(done.tables)} tables, {rows} rows, every table's rows equal to the Access file's "
            "(row digests compared). The Access file was only read.", done.warning))),
        details={"listed": listed.code, "target": where, "tables": done.tables, "format": done.format},
    )
