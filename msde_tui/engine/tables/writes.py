"""Writing tables: creating them from a portable schema, loading rows, upserts and deletes.

Rows come as Arrow record batches; they are bound through the DB-API cursor (SQL Server: many
rows per statement) or, for the tables of a NEW SQLite file, through ADBC's bulk ingest.
"""

from __future__ import annotations

import os
import re
import sqlite3
import urllib.parse
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from msde_tui.engine.errors import BadInput, PackError
from msde_tui.engine.tables.connection import Connection
from msde_tui.engine.tables.convert import INGEST_TYPES, from_arrow, ingest_column, sa_type
from msde_tui.packfmt.schema import PackSchema, TableSpec

_CREATE_RE = re.compile(r"^\s*CREATE\s+(TABLE|(UNIQUE\s+)?INDEX|VIEW|TRIGGER)\b", re.IGNORECASE)
MSSQL_ROWS_PER_INSERT = 1000  # the most rows a VALUES list may hold in SQL Server
MSSQL_BYTES_PER_INSERT = 4 << 20  # keep each statement's text a few MB at most


class Writes(Connection):
    """Create tables, load, upsert and delete rows."""

    _identity_columns: dict[str, str] | None = None  # SQL Server: table -> its identity column

    def ingest_new(self, tables: Iterable[tuple[TableSpec, Iterable[pa.RecordBatch]]]) -> bool:
        """Load the rows of freshly created tables of a NEW SQLite file in one transaction through
        ADBC's bulk ingest (Arrow batches bound straight to INSERT statements, no Python rows).
        Values are bound as ``insert`` binds them (dates, datetimes and decimals as their ISO text,
        booleans as 0/1), so the file holds the same values with the same storage classes.
        Returns False (nothing done) when this path cannot be used; the caller then inserts."""
        tables = list(tables)
        if (self.dialect != "sqlite" or self.path is None or self.readonly or self.dbapi.in_transaction
                or os.environ.get("MSDE_NO_ADBC")):
            return False
        if any(c.type == "any" for t, _ in tables for c in t.columns):
            return False
        try:
            import adbc_driver_sqlite.dbapi as adbc_sqlite
        except ImportError:
            return False
        self.close_adbc()
        uri = "file:" + urllib.parse.quote(str(Path(str(self.path)).resolve()))
        conn = adbc_sqlite.connect(uri, autocommit=True)
        try:
            cursor = conn.cursor()
            try:
                # a new file renamed into place only once verified: no journal, no syncing
                for pragma in ("journal_mode=OFF", "synchronous=OFF", "foreign_keys=OFF", "cache_size=-32000"):
                    cursor.execute(f"PRAGMA {pragma}")
                    cursor.fetchall()
                conn.adbc_connection.set_autocommit(False)  # one transaction for every table
                for table, batches in tables:
                    names = table.column_names
                    schema = pa.schema([pa.field(n, INGEST_TYPES[table.column(n).type]) for n in names])
                    failed: list[BaseException] = []  # the batches' own error (damaged file...)
                    reader = pa.RecordBatchReader.from_batches(schema, _ingest_batches(batches, table, schema, failed))
                    try:
                        cursor.adbc_ingest(table.name, reader, mode="append")
                    except Exception as exc:
                        if failed:  # ADBC wraps it in its own error: raise the original one
                            raise failed[0] from None
                        if isinstance(exc, PackError | BadInput):
                            raise
                        raise self.refused(exc, f"INSERT INTO {table.name}") from exc
                    if failed:
                        raise failed[0]
            finally:
                cursor.close()
            conn.adbc_connection.commit()
        except BaseException:
            try:
                conn.adbc_connection.rollback()
            except Exception:  # noqa: BLE001, S110 - the new file is discarded by the caller
                pass
            raise
        finally:
            conn.close()
        return True

    # ------------------------------------------------------------------ schema creation

    def create_tables(self, schema: PackSchema) -> None:
        """Create every table (no secondary index yet: they come after the data)."""
        if self.dialect == "sqlite" and all(t.sqlite_sql for t in schema.tables):
            for table in schema.tables:
                self._exec_sqlite_ddl(str(table.sqlite_sql), table.name)
            return
        metadata = self._metadata(schema, with_indexes=False)
        self._identity_columns = None
        try:
            with self.engine.begin() as conn:
                metadata.create_all(conn, checkfirst=False)
        except sa.exc.SQLAlchemyError as exc:
            raise PackError(f"{self.label}: the tables cannot be created ({str(exc).splitlines()[0]}).") from exc

    def finish_schema(self, schema: PackSchema) -> None:
        """Indexes, views, triggers and AUTOINCREMENT counters, once the rows are in."""
        if self.dialect == "sqlite" and all(t.sqlite_sql for t in schema.tables):
            for obj in schema.sqlite_objects:
                self._exec_sqlite_ddl(str(obj.get("sql") or ""), str(obj.get("name")))
            seqs = [(t.name, t.sqlite_sequence) for t in schema.tables if t.sqlite_sequence is not None]
            if seqs and self.has_table("sqlite_sequence"):
                for name, seq in seqs:
                    self.execute("DELETE FROM sqlite_sequence WHERE name = ?", (name,)).close()
                    self.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (name, seq)).close()
            return
        metadata = self._metadata(schema, with_indexes=True)
        try:
            with self.engine.begin() as conn:
                for table in metadata.sorted_tables:
                    for index in table.indexes:
                        index.create(conn, checkfirst=False)
        except sa.exc.SQLAlchemyError as exc:
            raise PackError(f"{self.label}: the indexes cannot be created ({str(exc).splitlines()[0]}).") from exc

    def _exec_sqlite_ddl(self, sql: str, name: str) -> None:
        if not _CREATE_RE.match(sql):
            raise PackError(
                f"The packed file holds a statement for {name!r} that is not a plain CREATE.",
                "The file was not made by msde or was tampered with; nothing was imported.",
            )
        try:
            self.dbapi.execute(sql)
        except (sqlite3.Error, sqlite3.Warning) as exc:
            raise PackError(f"{self.label}: {name!r} cannot be created ({exc}).") from exc

    def _metadata(self, schema: PackSchema, *, with_indexes: bool) -> sa.MetaData:
        metadata = sa.MetaData()
        for table in schema.tables:
            keyed = set(table.key) | {c for u in table.unique for c in u["columns"]}
            keyed |= {c for ix in table.indexes for c in ix["columns"]}
            keyed |= {c for fk in table.foreign_keys for c in fk["ref_columns"]}
            cols = []
            for col in table.columns:
                args: list[Any] = []
                if col.identity and self.dialect == "mssql":
                    args.append(sa.Identity(start=1, increment=1))
                cols.append(
                    sa.Column(
                        col.name,
                        sa_type(col, self.dialect, keyed=col.name in keyed),
                        *args,
                        nullable=col.nullable,
                        autoincrement=col.identity,
                    )
                )
            items: list[Any] = list(cols)
            if table.primary_key:
                items.append(sa.PrimaryKeyConstraint(*table.primary_key))
            for u in table.unique:
                items.append(sa.UniqueConstraint(*u["columns"], name=u.get("name")))
            for fk in table.foreign_keys:
                if any(t.name == fk["ref_table"] for t in schema.tables):
                    items.append(
                        sa.ForeignKeyConstraint(
                            fk["columns"],
                            [f"{fk['ref_table']}.{c}" for c in fk["ref_columns"]],
                            name=fk.get("name"),
                            ondelete=fk.get("on_delete"),
                        )
                    )
            sa_table = sa.Table(table.name, metadata, *items)
            if with_indexes:
                for ix in table.indexes:
                    sa.Index(ix.get("name") or f"ix_{table.name}_{'_'.join(ix['columns'])}",
                             *[sa_table.c[c] for c in ix["columns"]], unique=bool(ix.get("unique")))
        return metadata

    # ------------------------------------------------------------------ writing

    def identity_column(self, table: TableSpec) -> str | None:
        """The IDENTITY column of ``table`` in this SQL Server database (not in the package's
        schema: a dossier created elsewhere may lack the property, and SQL Server refuses
        SET IDENTITY_INSERT on a table without it)."""
        if self.dialect != "mssql":
            return None
        if self._identity_columns is None:
            cursor = self.execute(
                "SELECT o.name, ic.name FROM sys.identity_columns AS ic "
                "JOIN sys.objects AS o ON o.object_id = ic.object_id WHERE o.type = 'U'"
            )
            self._identity_columns = {str(t).lower(): str(c) for t, c in cursor.fetchall()}
            cursor.close()
        return self._identity_columns.get(table.name.lower())

    def _identity_insert(self, table: TableSpec, on: bool) -> None:
        if self.identity_column(table) is not None:
            self.execute(f"SET IDENTITY_INSERT {self.q(table.name)} {'ON' if on else 'OFF'}").close()

    def _params(self, batch: pa.RecordBatch, table: TableSpec, names: list[str]) -> list[tuple[Any, ...]]:
        cols = [from_arrow(batch.column(n), table.column(n), self.dialect) for n in names]
        return list(zip(*cols, strict=True))

    def insert(self, table: TableSpec, batch: pa.RecordBatch) -> None:
        self._identity_insert(table, True)
        try:
            self._insert_rows(table, self._params(batch, table, table.column_names))
        finally:
            self._identity_insert(table, False)

    def _insert_rows(self, table: TableSpec, rows: list[tuple[Any, ...]]) -> None:
        """INSERT ``rows`` (all columns): one statement per row for SQLite (prepared once);
        for SQL Server, many rows per statement (one round trip for up to 1,000 rows)."""
        names = table.column_names
        head = f"INSERT INTO {self.q(table.name)} ({', '.join(self.q(n) for n in names)}) VALUES "  # noqa: S608
        group = f"({', '.join([self.param] * len(names))})"
        if self.dialect != "mssql":
            self.executemany(head + group, rows)
            return
        for chunk in _statement_chunks(rows):
            self.execute(head + ", ".join([group] * len(chunk)), [v for row in chunk for v in row]).close()

    def upsert(self, table: TableSpec, batch: pa.RecordBatch) -> tuple[int, int]:
        """Update rows whose key exists, insert the others. Returns (updated, inserted)."""
        key = table.key
        fixed = (self.identity_column(table) or "").lower()  # SQL Server cannot update it (8102)
        others = [n for n in table.column_names if n not in key and n.lower() != fixed]
        where = " AND ".join(f"{self.q(k)} = {self.param}" for k in key)
        if others:
            sets = ", ".join(f"{self.q(n)} = {self.param}" for n in others)
            update = f"UPDATE {self.q(table.name)} SET {sets} WHERE {where}"  # noqa: S608
        else:
            update = f"SELECT 1 FROM {self.q(table.name)} WHERE {where}"  # noqa: S608
        rows = self._params(batch, table, table.column_names)
        positions = {n: i for i, n in enumerate(table.column_names)}
        missing = []
        updated = 0
        for row in rows:
            params = [row[positions[n]] for n in others] + [row[positions[k]] for k in key]
            cursor = self.execute(update, params)
            hit = cursor.rowcount > 0 if others else cursor.fetchone() is not None
            cursor.close()
            if hit:
                updated += 1
            else:
                missing.append(row)
        if missing:
            self._identity_insert(table, True)
            try:
                self._insert_rows(table, missing)
            finally:
                self._identity_insert(table, False)
        return updated, len(missing)

    def delete_keys(self, table: TableSpec, keys: pa.RecordBatch) -> int:
        where = " AND ".join(f"{self.q(k)} = {self.param}" for k in table.key)
        sql = f"DELETE FROM {self.q(table.name)} WHERE {where}"  # noqa: S608
        rows = self._params(keys, table, table.key)
        self.executemany(sql, rows)
        return len(rows)

    def delete_all(self, table: TableSpec) -> None:
        self.execute(f"DELETE FROM {self.q(table.name)}").close()  # noqa: S608


def _statement_chunks(rows: list[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    size = 0
    for row in rows:
        row_size = sum(len(v) for v in row if isinstance(v, str | bytes)) + 8 * len(row)
        if chunk and (len(chunk) >= MSSQL_ROWS_PER_INSERT or size + row_size > MSSQL_BYTES_PER_INSERT):
            yield chunk
            chunk, size = [], 0
        chunk.append(row)
        size += row_size
    if chunk:
        yield chunk


def _ingest_batches(batches: Iterable[pa.RecordBatch], table: TableSpec, schema: pa.Schema,
                    failed: list[BaseException]) -> Iterator[pa.RecordBatch]:
    try:
        for batch in batches:
            yield pa.record_batch([ingest_column(batch.column(n), table.column(n)) for n in schema.names], schema=schema)
    except BaseException as exc:
        failed.append(exc)
        raise

