"""Reading tables as Arrow record batches typed by the portable schema (docs/FORMAT.md).

Two paths give the same values (and so the same row digests): the DB-API cursor (any database,
every type) and, for a SQLite file, ADBC's Arrow-native reader, which is used only where every
value of a column has the one storage class its portable type expects (checked per row in SQL).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from msde_tui.engine.errors import PackError
from msde_tui.engine.prefetch import prefetch
from msde_tui.engine.tables.connection import Connection
from msde_tui.engine.tables.convert import (
    ADBC_CLASSES,
    ADBC_SOURCE,
    adbc_column,
    sqlite_affinity,
    to_arrow,
)
from msde_tui.packfmt.digest import Digest, row_hashes
from msde_tui.packfmt.schema import ColumnSpec, TableSpec

BATCH_ROWS = 32_768


class Reads(Connection):
    """``read()`` a table's rows, ``digest()`` and ``count()`` them."""

    def read(
        self,
        table: TableSpec,
        *,
        columns: list[str] | None = None,
        batch_rows: int = BATCH_ROWS,
        ordered: bool = True,
    ) -> Iterator[pa.RecordBatch]:
        """Stream ``table`` as record batches typed as the portable schema says."""
        names = columns if columns is not None else table.column_names
        schema = table.arrow_schema(names)
        selected = ", ".join(self.q(n) for n in names)
        tail = f" FROM {self.q(table.name)}"
        if ordered and table.key:
            tail += " ORDER BY " + ", ".join(self.q(n) for n in table.key)
        sql = f"SELECT {selected}{tail}"  # noqa: S608
        specs = [table.column(n) for n in names]
        if self._adbc_usable(table, specs):
            checked = f"SELECT {selected}, {self._classes_ok(table, specs)}{tail}"  # noqa: S608
            fast = self._read_adbc(table, checked, sql, specs, schema, batch_rows)
            self.adbc_safe[table.name] = fast is not None
            if fast is not None:
                yield from fast
                return
        yield from self._read_dbapi(table, sql, specs, schema, batch_rows)

    def _read_dbapi(self, table: TableSpec, sql: str, specs: list[ColumnSpec], schema: pa.Schema,
                    batch_rows: int) -> Iterator[pa.RecordBatch]:
        cursor = self.execute(sql)
        try:
            while True:
                try:
                    rows = cursor.fetchmany(batch_rows)
                except Exception as exc:
                    raise self.refused(exc, sql) from exc
                if not rows:
                    break
                cols = list(zip(*rows, strict=True))
                arrays = [to_arrow(list(values), spec, table.name) for values, spec in zip(cols, specs, strict=True)]
                yield pa.record_batch(arrays, schema=schema)
        finally:
            cursor.close()

    # ------------------------------------------------------------------ Arrow-native SQLite reading

    def _adbc_usable(self, table: TableSpec, specs: list[ColumnSpec]) -> bool:
        """Whether ADBC's SQLite driver may read these columns of ``table`` (then ``_read_adbc``
        still checks every row). ADBC infers one Arrow type per column and silently turns a
        column of mixed storage classes into text (1.5 becomes '1.500000e+00'), so the query
        carries, per row, whether every value has the one storage class its portable type
        expects (``_classes_ok``). Decimal and untyped columns keep the DB-API path."""
        if self.dialect != "sqlite" or self.path is None or os.environ.get("MSDE_NO_ADBC"):
            return False
        if not self.readonly and self.dbapi.in_transaction:
            return False  # uncommitted rows: only this connection sees them
        if any(c.type not in ADBC_CLASSES for c in specs):
            return False
        return self.adbc_connection() is not None

    def _classes_ok(self, table: TableSpec, specs: list[ColumnSpec]) -> str:
        """Per row, whether ADBC reads every value exactly. ADBC raises by itself on a value of
        another class in an integer, real or blob column after the first batch; it silently
        turns any value into text in a column it typed as text, text into bytes in a blob
        column, and, within the first batch, a number into its text's bytes in a column it
        widens to blob. So only those cases are tested, with what each column's SQLite affinity
        lets in."""
        affinity = self._affinities(table.name)
        tests = []
        no_blob = []  # columns that may hold anything but a blob
        for col in specs:
            q = self.q(col.name)
            kind, seen = col.type, affinity.get(col.name, "NUMERIC")
            if kind == "boolean":
                tests.append(f"typeof({q}) IN ('integer', 'null')")
                tests.append(f"coalesce({q} IN (0, 1), 1)")
            elif kind == "real" and seen != "REAL":
                tests.append(f"typeof({q}) <> 'integer'")
            elif kind == "blob":
                tests.append(f"typeof({q}) IN ('blob', 'null')")
            elif kind == "text" and seen == "TEXT":
                no_blob.append(q)  # TEXT affinity stores numbers as text
            elif kind == "text":
                tests.append(f"typeof({q}) IN ('text', 'null')")
            elif kind in ("date", "datetime"):
                # a number comes as its text, which is no ISO date: refused when it is parsed
                no_blob.append(q)
        if no_blob:
            # a blob sorts after every other value, and x'' is the least blob (SQLite's
            # datatype3 section 4.1; no affinity turns a blob into anything else): a plain
            # comparison, cheaper per row than typeof() and a string compare
            tests.append("CASE WHEN " + " OR ".join(f"{q} >= x''" for q in no_blob) + " THEN 0 ELSE 1 END")
        return "(" + " AND ".join(tests or ["1"]) + ")"

    def _affinities(self, table: str) -> dict[str, str]:
        """Each column's SQLite type affinity (from its declared type, SQLite's rules 3.1)."""
        cursor = self.execute(f"PRAGMA table_info({self.q(table)})")
        declared = {r[1]: (r[2] or "").upper() for r in cursor.fetchall()}
        cursor.close()
        return {name: sqlite_affinity(decl) for name, decl in declared.items()}

    def _read_adbc(self, table: TableSpec, sql: str, plain_sql: str, specs: list[ColumnSpec], schema: pa.Schema,
                   batch_rows: int) -> Iterator[pa.RecordBatch] | None:
        """The batches, or None (nothing read yet) when ADBC would mistype a column: the driver
        takes each column's type from its first batch, and a column NULL throughout it comes
        typed int64, so a later text value would fail."""
        conn = self.adbc_connection()
        cursor = conn.cursor()
        try:
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(batch_rows)})
            cursor.execute(sql)
            reader = cursor.fetch_record_batch()
            first = reader.read_next_batch()
        except StopIteration:
            first = None
        except Exception:  # noqa: BLE001 - the DB-API path reports the problem in its own words
            cursor.close()
            return None
        if first is not None:
            mistyped = any(first.column(i).type != ADBC_SOURCE[spec.type] for i, spec in enumerate(specs))
            if mistyped or not _all_ok(first.column(len(specs))):
                cursor.close()
                if not self.readonly:
                    self.close_adbc()
                return None
        return self._adbc_batches(table, sql, plain_sql, specs, schema, cursor, reader, first)

    def _adbc_batches(self, table: TableSpec, sql: str, plain_sql: str, specs: list[ColumnSpec],  # noqa: PLR0913
                      schema: pa.Schema, cursor: Any, reader: Any, first: pa.RecordBatch | None,
                      ) -> Iterator[pa.RecordBatch]:
        # only ADBC's reading runs ahead in a thread; checks and conversions stay in this one
        # (they may fall back to the sqlite3 connection, which belongs to this thread)
        raw = prefetch(_raw_batches(reader, first))
        try:
            for batch in raw:
                if isinstance(batch, _ReadFailed):
                    if "type mismatch" in str(batch.error).lower():  # ADBC's own check of later batches
                        self._mixed_classes(table, plain_sql, specs, schema)
                    raise self.refused(batch.error, sql) from batch.error
                if not _all_ok(batch.column(len(specs))):
                    self._mixed_classes(table, plain_sql, specs, schema)
                if batch.num_rows:
                    arrays = [adbc_column(batch.column(i), spec, table.name) for i, spec in enumerate(specs)]
                    yield pa.record_batch(arrays, schema=schema)
        finally:
            try:
                raw.close()  # the reading thread stops before its cursor closes (even through Ctrl-C)
            finally:
                cursor.close()
                if not self.readonly:  # a writer's own changes come next: no snapshot kept open
                    self.close_adbc()

    def _mixed_classes(self, table: TableSpec, plain_sql: str, specs: list[ColumnSpec], schema: pa.Schema) -> None:
        """A value of another storage class after the first batch: the DB-API path refuses it
        (every such value but an integer in a REAL column, which REAL affinity never stores)
        with its own words; otherwise say so plainly."""
        for _ in self._read_dbapi(table, plain_sql, specs, schema, 1 << 16):
            pass
        raise PackError(f"Table {table.name} holds values of several SQLite storage classes "
                        "in one column; msde cannot pack them exactly through its fast reader.",
                        "Set MSDE_NO_ADBC=1 and pack again.")

    def digest(self, table: TableSpec) -> Digest:
        digest = Digest()
        for batch in self.read(table, ordered=False):
            digest.add(row_hashes(batch, table))
        return digest

    def count(self, table: TableSpec) -> int:
        cursor = self.execute(f"SELECT COUNT(*) FROM {self.q(table.name)}")  # noqa: S608
        value = int(cursor.fetchone()[0])
        cursor.close()
        return value


class _ReadFailed:
    """An error of ADBC's reader, handed from the reading thread to the reader's caller."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _raw_batches(reader: Any, first: pa.RecordBatch | None) -> Iterator[pa.RecordBatch | _ReadFailed]:
    batch = first
    while batch is not None:
        yield batch
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - judged by the caller, in its own thread
            yield _ReadFailed(exc)
            return


def _all_ok(flags: pa.Array) -> bool:
    return flags.null_count == 0 and bool(pc.all(pc.equal(flags, 1)).as_py())

