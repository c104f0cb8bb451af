"""Schema-agnostic reading and writing of any database's tables (SQLite files or SQL Server).

``Database`` wraps one DB-API connection: ``reflect()`` describes every table in the portable
vocabulary of docs/FORMAT.md; ``read()`` streams a table as Arrow record batches typed by that
vocabulary (so every backend yields the same values and the same row digests); ``insert``,
``upsert`` and ``delete_keys`` write them back. Reflection goes through SQLAlchemy's inspector;
rows go through the raw DB-API cursor (fast, and one snapshot per ``begin()``).
"""

from __future__ import annotations

import os
import re
import sqlite3
import urllib.parse
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.dialects import mssql as mssql_types

from msde_tui.engine.errors import BadInput, DossierChanged, PackError
from msde_tui.engine.prefetch import prefetch
from msde_tui.packfmt.digest import Digest, row_hashes
from msde_tui.packfmt.names import table_dir
from msde_tui.packfmt.schema import ColumnSpec, PackSchema, TableSpec

BATCH_ROWS = 32_768
_CREATE_RE = re.compile(r"^\s*CREATE\s+(TABLE|(UNIQUE\s+)?INDEX|VIEW|TRIGGER)\b", re.IGNORECASE)


class Database:
    """One open connection to a dossier database (``dialect`` = "sqlite" or "mssql")."""

    def __init__(self, dialect: str, dbapi: Any, engine: sa.Engine, *, label: str) -> None:
        self.dialect = dialect
        self.dbapi = dbapi
        self.engine = engine
        self.label = label
        self.param = "?" if dialect == "sqlite" else "%s"
        self._identity_columns: dict[str, str] | None = None  # SQL Server: table -> its identity column
        self.path: Path | None = None  # SQLite: the file (the Arrow-native reader opens it too)
        self.readonly = False
        self._adbc: Any = None  # read-only ADBC connection, one snapshot until begin/commit/rollback
        self._adbc_safe: dict[str, bool] = {}  # table -> its values fit the ADBC reader exactly
        self._watch: sqlite3.Connection | None = None  # read-only SQLite: sees other programs' commits
        self._version: int | None = None  # PRAGMA data_version when the read transaction began

    # ------------------------------------------------------------------ opening

    @classmethod
    def open_sqlite(cls, path: Path, *, readonly: bool = True, create: bool = False) -> Database:
        path = Path(path)
        if create:
            if path.exists():
                raise BadInput(f"{path} already exists.", "Choose another number or name.")
        elif not path.is_file():
            raise BadInput(f"The database file {path} does not exist.", "Check the dossier list.")
        try:
            if readonly:
                raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
            else:
                raw = sqlite3.connect(path, isolation_level=None)
            raw.execute("PRAGMA busy_timeout=10000")
        except sqlite3.Error as exc:
            raise BadInput(f"{path} cannot be opened as a SQLite database ({exc}).") from exc
        uri = f"file:{path}?mode=ro" if readonly else str(path)

        def creator() -> sqlite3.Connection:
            return sqlite3.connect(uri, uri=readonly)

        engine = sa.create_engine("sqlite://", creator=creator, poolclass=sa.pool.NullPool)
        db = cls("sqlite", raw, engine, label=path.name)
        db.path, db.readonly = path, readonly
        return db

    @classmethod
    def open_engine(cls, engine: sa.Engine, *, label: str) -> Database:
        """A database reached through a SQLAlchemy engine (SQL Server: the profile's driver)."""
        name = engine.dialect.name
        if name not in ("mssql", "sqlite"):
            raise BadInput(f"Database kind {name} is not supported.", "Use SQLite or SQL Server.")
        db = cls(name, engine.raw_connection(), engine, label=label)
        if engine.dialect.paramstyle == "qmark":  # pyodbc, mssql-python (pymssql: %s)
            db.param = "?"
        return db

    def close(self) -> None:
        self._close_adbc()
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        try:
            self.dbapi.close()
        finally:
            self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ SQL helpers

    def q(self, name: str) -> str:
        """Quote an identifier: "x" for SQLite, [x] for SQL Server (escaping doubled)."""
        if self.dialect == "sqlite":
            return '"' + name.replace('"', '""') + '"'
        return "[" + name.replace("]", "]]").replace("%", "%%") + "]"

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        cursor = self.dbapi.cursor()
        try:
            cursor.execute(sql, tuple(params))
        except Exception as exc:
            cursor.close()
            raise self._error(exc, sql) from exc
        return cursor

    def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        cursor = self.dbapi.cursor()
        try:
            cursor.executemany(sql, rows)
        except Exception as exc:
            raise self._error(exc, sql) from exc
        finally:
            cursor.close()

    def _error(self, exc: Exception, sql: str) -> Exception:
        if isinstance(exc, PackError | BadInput):
            return exc
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return PackError(f"{self.label}: the database refused a statement ({text}).", f"Statement: {sql[:200]}")

    def begin(self, *, write: bool = False) -> None:
        self._close_adbc()
        if self.dialect == "sqlite":
            if self.readonly and not write:
                # what is read from here on (schema, sqlite3 and ADBC connections) must be one
                # state: the ADBC connection checks, when it starts reading, that nobody committed
                self._version = self._data_version()
            self.dbapi.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    def _data_version(self) -> int:
        """SQLite's counter of commits by other connections, seen from an idle connection."""
        if self._watch is None:
            self._watch = sqlite3.connect(f"file:{Path(str(self.path)).resolve().as_posix()}?mode=ro", uri=True,
                                          isolation_level=None)
        return int(self._watch.execute("PRAGMA data_version").fetchone()[0])

    def commit(self) -> None:
        self._close_adbc()
        if self.dialect == "sqlite":
            if self.dbapi.in_transaction:
                self.dbapi.execute("COMMIT")
        else:
            self.dbapi.commit()

    def rollback(self) -> None:
        self._close_adbc()
        if self.dialect == "sqlite":
            if self.dbapi.in_transaction:
                self.dbapi.execute("ROLLBACK")
        else:
            self.dbapi.rollback()

    def server_version(self) -> str:
        if self.dialect == "sqlite":
            return sqlite3.sqlite_version
        cursor = self.execute("SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128))")
        row = cursor.fetchone()
        cursor.close()
        return str(row[0]) if row else ""

    # ------------------------------------------------------------------ reflection

    def reflect(self) -> PackSchema:
        """Describe every user table in the portable vocabulary, parents first."""
        try:
            with self.engine.connect() as conn:  # one connection (one login) for the whole catalog
                inspector = sa.inspect(conn)
                names = [n for n in inspector.get_table_names() if not n.startswith("sqlite_")]
                described = _describe(inspector, conn, names, self.dialect)
                specs = {n: self._reflect_table(n, described) for n in names}
        except sa.exc.SQLAlchemyError as exc:
            raise PackError(
                f"{self.label}: the tables cannot be described ({str(exc).splitlines()[0]}).",
                "Check that the database is reachable and that the login may read its catalog.",
            ) from exc
        except UnicodeDecodeError as exc:  # SQLite quoted damaged, non-UTF-8 schema text
            raise PackError(
                f"{self.label}: the tables cannot be described (the database structure is damaged).",
                "Restore the dossier from a backup, then try again.",
            ) from exc
        ordered = _parents_first(specs)
        for index, spec in enumerate(ordered):
            spec.dir = table_dir(index, spec.name)
        objects: list[dict[str, Any]] = []
        if self.dialect == "sqlite":
            cursor = self.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master "
                "WHERE type IN ('index', 'view', 'trigger') AND sql IS NOT NULL "
                "AND name NOT LIKE 'sqlite~_%' ESCAPE '~' ORDER BY CASE type WHEN 'index' THEN 0 "
                "WHEN 'view' THEN 1 ELSE 2 END, rowid"
            )
            objects = [{"type": t, "name": n, "table": tb, "sql": s} for t, n, tb, s in cursor.fetchall()]
            cursor.close()
        return PackSchema(ordered, objects)

    def _reflect_table(self, name: str, described: dict[str, Any]) -> TableSpec:
        pk = list((described["pk"].get(name) or {}).get("constrained_columns") or [])
        columns = []
        sqlite_sql = None
        sqlite_seq = None
        declared: dict[str, str] = {}
        if self.dialect == "sqlite":
            cursor = self.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
            row = cursor.fetchone()
            cursor.close()
            sqlite_sql = row[0] if row else None
            cursor = self.execute(f"PRAGMA table_info({self.q(name)})")
            declared = {r[1]: (r[2] or "") for r in cursor.fetchall()}
            cursor.close()
            if self._has_table("sqlite_sequence"):
                cursor = self.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (name,))
                row = cursor.fetchone()
                cursor.close()
                sqlite_seq = int(row[0]) if row else None
        for col in described["columns"].get(name) or []:
            spec = _portable(col["type"], table=name, column=col["name"], dialect=self.dialect)
            spec.nullable = bool(col.get("nullable", True)) and col["name"] not in pk
            if self.dialect == "sqlite":
                spec.identity = pk == [col["name"]] and declared.get(col["name"], "").upper() == "INTEGER"
            else:
                spec.identity = bool(col.get("identity")) or col.get("autoincrement") is True
            columns.append(spec)
        reflected = [
            {"name": ix.get("name"), "columns": list(ix["column_names"]), "unique": bool(ix.get("unique"))}
            for ix in described["indexes"].get(name) or []
            if all(c is not None for c in ix.get("column_names") or [None])
        ]
        if self.dialect == "mssql":
            # SQL Server's UNIQUE constraints are unique indexes flagged is_unique_constraint;
            # SQLAlchemy lists them with the indexes (its get_unique_constraints is not implemented).
            unique_names = described["unique_names"]
            uniques = [{"name": ix["name"], "columns": ix["columns"]} for ix in reflected
                       if (name, ix["name"]) in unique_names]
            reflected = [ix for ix in reflected if (name, ix["name"]) not in unique_names]
        else:
            uniques = [
                {"name": u.get("name"), "columns": list(u["column_names"])}
                for u in described["uniques"].get(name) or []
            ]
        fks = [
            {
                "name": fk.get("name"),
                "columns": list(fk["constrained_columns"]),
                "ref_table": fk["referred_table"],
                "ref_columns": list(fk["referred_columns"]),
                "on_delete": (fk.get("options") or {}).get("ondelete"),
            }
            for fk in described["fks"].get(name) or []
        ]
        return TableSpec(
            name=name,
            dir="",
            columns=columns,
            primary_key=pk,
            unique=uniques,
            foreign_keys=fks,
            indexes=reflected,
            sqlite_sql=sqlite_sql,
            sqlite_sequence=sqlite_seq,
        )

    def _has_table(self, name: str) -> bool:
        if self.dialect == "sqlite":
            cursor = self.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        else:
            cursor = self.execute(
                f"SELECT 1 FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_NAME = {self.param}", (name,)  # noqa: S608
            )
        found = cursor.fetchone() is not None
        cursor.close()
        return found

    def table_names(self) -> list[str]:
        return [n for n in sa.inspect(self.engine).get_table_names() if not n.startswith("sqlite_")]

    # ------------------------------------------------------------------ reading

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
            self._adbc_safe[table.name] = fast is not None
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
                    raise self._error(exc, sql) from exc
                if not rows:
                    break
                cols = list(zip(*rows, strict=True))
                arrays = [to_arrow(list(values), spec, table.name) for values, spec in zip(cols, specs, strict=True)]
                yield pa.record_batch(arrays, schema=schema)
        finally:
            cursor.close()

    # ------------------------------------------------------------------ Arrow-native SQLite reading

    def _close_adbc(self) -> None:
        if self._adbc is not None:
            conn, self._adbc = self._adbc, None
            self._adbc_safe.clear()
            try:
                conn.close()
            except Exception:  # noqa: BLE001, S110 - a read-only connection: nothing to lose
                pass

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
        if any(c.type not in _ADBC_CLASSES for c in specs):
            return False
        return self._adbc_connection() is not None

    def _classes_ok(self, table: TableSpec, specs: list[ColumnSpec]) -> str:
        """Per row, whether ADBC reads every value exactly. ADBC raises by itself on a value of
        another class in an integer, real or blob column after the first batch; it silently
        turns any value into text in a column it typed as text, text into bytes in a blob
        column, and, within the first batch, a number into its text's bytes in a column it
        widens to blob. So only those cases are tested, with what each column's SQLite affinity
        lets in."""
        affinity = self._affinities(table.name)
        tests = []
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
                tests.append(f"typeof({q}) <> 'blob'")  # TEXT affinity stores numbers as text
            elif kind == "text":
                tests.append(f"typeof({q}) IN ('text', 'null')")
            elif kind in ("date", "datetime"):
                # a number comes as its text, which is no ISO date: refused when it is parsed
                tests.append(f"typeof({q}) <> 'blob'")
        return "(" + " AND ".join(tests or ["1"]) + ")"

    def _affinities(self, table: str) -> dict[str, str]:
        """Each column's SQLite type affinity (from its declared type, SQLite's rules 3.1)."""
        cursor = self.execute(f"PRAGMA table_info({self.q(table)})")
        declared = {r[1]: (r[2] or "").upper() for r in cursor.fetchall()}
        cursor.close()
        return {name: sqlite_affinity(decl) for name, decl in declared.items()}

    def _adbc_connection(self) -> Any:
        if self._adbc is not None:
            return self._adbc
        try:
            import adbc_driver_sqlite.dbapi as adbc_sqlite
        except ImportError:
            return None
        uri = "file:" + urllib.parse.quote(str(Path(str(self.path)).resolve())) + "?mode=ro"
        try:
            # autocommit off: one read transaction, i.e. one snapshot for every table read
            self._adbc = adbc_sqlite.connect(uri)
            if self._version is not None:
                cursor = self._adbc.cursor()
                cursor.execute("SELECT count(*) FROM sqlite_master")  # the snapshot starts here
                cursor.fetchall()
                cursor.close()
        except Exception:  # noqa: BLE001 - fall back to the DB-API path
            self._close_adbc()
            return None
        if self._version is not None and self._data_version() != self._version:
            self._close_adbc()
            raise DossierChanged(
                f"{self.label} changed while msde was reading it (another program wrote to it).",
                "Nothing was written. Do it again, after closing the accounting program if it keeps happening.",
            )
        return self._adbc

    def _read_adbc(self, table: TableSpec, sql: str, plain_sql: str, specs: list[ColumnSpec], schema: pa.Schema,
                   batch_rows: int) -> Iterator[pa.RecordBatch] | None:
        """The batches, or None (nothing read yet) when ADBC would mistype a column: the driver
        takes each column's type from its first batch, and a column NULL throughout it comes
        typed int64, so a later text value would fail."""
        conn = self._adbc_connection()
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
            mistyped = any(first.column(i).type != _ADBC_SOURCE[spec.type] for i, spec in enumerate(specs))
            if mistyped or not _all_ok(first.column(len(specs))):
                cursor.close()
                if not self.readonly:
                    self._close_adbc()
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
                    raise self._error(batch.error, sql) from batch.error
                if not _all_ok(batch.column(len(specs))):
                    self._mixed_classes(table, plain_sql, specs, schema)
                if batch.num_rows:
                    arrays = [_adbc_column(batch.column(i), spec, table.name) for i, spec in enumerate(specs)]
                    yield pa.record_batch(arrays, schema=schema)
        finally:
            try:
                raw.close()  # the reading thread stops before its cursor closes (even through Ctrl-C)
            finally:
                cursor.close()
                if not self.readonly:  # a writer's own changes come next: no snapshot kept open
                    self._close_adbc()

    def _mixed_classes(self, table: TableSpec, plain_sql: str, specs: list[ColumnSpec], schema: pa.Schema) -> None:
        """A value of another storage class after the first batch: the DB-API path refuses it
        (every such value but an integer in a REAL column, which REAL affinity never stores)
        with its own words; otherwise say so plainly."""
        for _ in self._read_dbapi(table, plain_sql, specs, schema, 1 << 16):
            pass
        raise PackError(f"Table {table.name} holds values of several SQLite storage classes "
                        "in one column; msde cannot pack them exactly through its fast reader.",
                        "Set MSDE_NO_ADBC=1 and pack again.")

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
        self._close_adbc()
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
                    schema = pa.schema([pa.field(n, _INGEST_TYPES[table.column(n).type]) for n in names])
                    failed: list[BaseException] = []  # the batches' own error (damaged file...)
                    reader = pa.RecordBatchReader.from_batches(schema, _ingest_batches(batches, table, schema, failed))
                    try:
                        cursor.adbc_ingest(table.name, reader, mode="append")
                    except Exception as exc:
                        if failed:  # ADBC wraps it in its own error: raise the original one
                            raise failed[0] from None
                        if isinstance(exc, PackError | BadInput):
                            raise
                        raise self._error(exc, f"INSERT INTO {table.name}") from exc
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
            if seqs and self._has_table("sqlite_sequence"):
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
                        _sa_type(col, self.dialect, keyed=col.name in keyed),
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


def _describe(inspector: Any, conn: sa.Connection, names: list[str], dialect: str) -> dict[str, Any]:
    """Columns, keys, references and indexes of ``names``, a few catalog queries for all of them
    (SQL Server: one query per kind, not per table)."""
    if not names:
        return {}

    def by_name(multi: dict[tuple[str | None, str], Any]) -> dict[str, Any]:
        return {key[1]: value for key, value in multi.items()}

    described: dict[str, Any] = {
        "columns": by_name(inspector.get_multi_columns(filter_names=names)),
        "pk": by_name(inspector.get_multi_pk_constraint(filter_names=names)),
        "fks": by_name(inspector.get_multi_foreign_keys(filter_names=names)),
        "indexes": by_name(inspector.get_multi_indexes(filter_names=names)),
    }
    if dialect == "mssql":
        described["unique_names"] = _mssql_unique_constraints(conn)
    else:
        described["uniques"] = by_name(inspector.get_multi_unique_constraints(filter_names=names))
    return described


MSSQL_ROWS_PER_INSERT = 1000  # the most rows a VALUES list may hold in SQL Server
MSSQL_BYTES_PER_INSERT = 4 << 20  # keep each statement's text a few MB at most


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


def _mssql_unique_constraints(conn: sa.Connection) -> set[tuple[str, str]]:
    """(table, index name) of every UNIQUE constraint of the default schema (SQL Server)."""
    rows = conn.execute(
        sa.text(
            "SELECT o.name, i.name FROM sys.indexes AS i "
            "JOIN sys.objects AS o ON o.object_id = i.object_id "
            "JOIN sys.schemas AS s ON s.schema_id = o.schema_id "
            "WHERE i.is_unique_constraint = 1 AND s.name = SCHEMA_NAME()"
        )
    )
    return {(str(table), str(index)) for table, index in rows}


# ---------------------------------------------------------------------- type mapping


def _portable(kind: Any, *, table: str, column: str, dialect: str) -> ColumnSpec:
    if isinstance(kind, sa.types.NullType):
        return ColumnSpec(column, "any")
    if isinstance(kind, sa.Boolean):
        return ColumnSpec(column, "boolean")
    if isinstance(kind, sa.BigInteger):
        return ColumnSpec(column, "bigint")
    if isinstance(kind, sa.Integer):
        return ColumnSpec(column, "integer")
    if isinstance(kind, sa.Float):
        return ColumnSpec(column, "real")
    if isinstance(kind, sa.Numeric):
        if kind.precision is None:
            if dialect == "sqlite":
                return ColumnSpec(column, "any")
            return ColumnSpec(column, "decimal", precision=38, scale=kind.scale or 0)
        return ColumnSpec(column, "decimal", precision=kind.precision, scale=kind.scale or 0)
    if isinstance(kind, sa.DateTime):
        return ColumnSpec(column, "datetime")
    if isinstance(kind, sa.Date):
        return ColumnSpec(column, "date")
    if isinstance(kind, sa.types._Binary):
        return ColumnSpec(column, "blob", length=getattr(kind, "length", None))
    if isinstance(kind, sa.Uuid):
        return ColumnSpec(column, "text", length=36)
    if isinstance(kind, sa.String):
        length = kind.length if isinstance(kind.length, int) and kind.length > 0 else None
        return ColumnSpec(column, "text", length=length)
    if isinstance(kind, sa.Time):
        return ColumnSpec(column, "text", length=16)
    if dialect == "mssql" and type(kind).__name__ in ("MONEY", "SMALLMONEY"):
        return ColumnSpec(column, "decimal", precision=19, scale=4)
    if isinstance(kind, mssql_types.SQL_VARIANT):
        return ColumnSpec(column, "any")
    raise PackError(
        f"Column {table}.{column} has type {kind!r}, which msde cannot pack exactly.",
        "Tell the maintainers which type it is; no file was written.",
    )


class _Untyped(sa.types.UserDefinedType):  # type: ignore[type-arg]
    """A SQLite column declared without a type (each value keeps its own storage class)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return ""


def _sa_type(col: ColumnSpec, dialect: str, *, keyed: bool) -> Any:
    kind = col.type
    if kind == "integer":
        return sa.Integer()
    if kind == "bigint":
        return sa.BigInteger()
    if kind == "real":
        return sa.Float(precision=53)
    if kind == "decimal":
        return sa.Numeric(col.precision or 38, col.scale or 0)
    if kind == "text":
        if dialect == "mssql":
            length = col.length if col.length and col.length <= 4000 else None
            if length is None and keyed:
                length = 450
            return mssql_types.NVARCHAR(length) if length else mssql_types.NVARCHAR()
        return sa.String(col.length) if col.length else sa.Text()
    if kind == "blob":
        return sa.LargeBinary()
    if kind == "date":
        return sa.Date()
    if kind == "datetime":
        return mssql_types.DATETIME2(precision=6) if dialect == "mssql" else sa.DateTime()
    if kind == "boolean":
        return sa.Boolean(create_constraint=False)
    if kind == "any":
        return mssql_types.SQL_VARIANT() if dialect == "mssql" else _Untyped()
    raise PackError(f"Unknown portable type {kind!r}.")


def _parents_first(specs: dict[str, TableSpec]) -> list[TableSpec]:
    done: list[TableSpec] = []
    placed: set[str] = set()
    pending = sorted(specs)
    while pending:
        progress = False
        for name in list(pending):
            parents = {fk["ref_table"] for fk in specs[name].foreign_keys} - {name}
            if parents <= placed or not (parents & set(pending)):
                done.append(specs[name])
                placed.add(name)
                pending.remove(name)
                progress = True
        if not progress:  # a cycle: keep name order for the rest
            done.extend(specs[n] for n in pending)
            break
    return done


# ---------------------------------------------------------------------- value conversion


def _bad(table: str, col: ColumnSpec, value: Any, why: str = "") -> PackError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return PackError(
        f"Table {table}, column {col.name} ({col.type}) holds {shown}{why}; msde cannot pack it exactly.",
        "Correct that value in the dossier (or declare the column without a type) and pack again.",
    )


def _to_decimal(value: Any, col: ColumnSpec, table: str) -> Decimal | None:
    if value is None:
        return None
    try:
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, float):
            number = Decimal(repr(value))
        elif isinstance(value, int | str):
            number = Decimal(value)
        else:
            raise _bad(table, col, value)
        scale = col.scale or 0
        exact = number.quantize(Decimal(1).scaleb(-scale))
    except (InvalidOperation, ValueError) as exc:
        raise _bad(table, col, value) from exc
    if exact != number:
        raise _bad(table, col, value, f" (more than {scale} decimals)")
    return exact


def _any_value(value: Any, col: ColumnSpec, table: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return {"int": value, "real": None, "text": None, "blob": None}
    if isinstance(value, float):
        return {"int": None, "real": value, "text": None, "blob": None}
    if isinstance(value, str):
        return {"int": None, "real": None, "text": value, "blob": None}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"int": None, "real": None, "text": None, "blob": bytes(value)}
    if isinstance(value, Decimal):
        return {"int": None, "real": None, "text": str(value), "blob": None}
    if isinstance(value, datetime | date):
        return {"int": None, "real": None, "text": value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat(), "blob": None}
    raise _bad(table, col, value)


_NONE = type(None)


def to_arrow(values: list[Any], col: ColumnSpec, table: str) -> pa.Array:
    """Convert one column of DB-API values to the Arrow type of its portable type, exactly."""
    kind = col.type
    arrow_type = col.arrow_type()
    kinds = set(map(type, values)) - {_NONE}

    def refuse(*allowed: type) -> None:
        for value in values:
            if value is not None and type(value) not in allowed:
                raise _bad(table, col, value)

    try:
        if kind in ("integer", "bigint"):
            if kinds - {int}:
                refuse(int)
            return pa.array(values, arrow_type)
        if kind == "real":
            if kinds - {float}:
                refuse(float, int)
                values = [None if v is None else float(v) for v in values]
            return pa.array(values, arrow_type)
        if kind == "text":
            if kinds - {str}:
                refuse(str, uuid.UUID, time)
                values = [v if v is None or isinstance(v, str) else str(v) for v in values]
            return pa.array(values, arrow_type)
        if kind == "blob":
            if kinds - {bytes}:
                refuse(bytes, bytearray, memoryview)
                values = [None if v is None else bytes(v) for v in values]
            return pa.array(values, arrow_type)
        if kind in ("date", "datetime"):
            if kinds <= {str}:
                try:
                    return pc.cast(pa.array(values, pa.string()), arrow_type)
                except pa.ArrowInvalid as exc:
                    raise _bad(table, col, _first_unparsable(values, arrow_type), " (not a valid date/time)") from exc
            if kind == "date":
                refuse(date, datetime)
                values = [v.date() if isinstance(v, datetime) else v for v in values]
            else:
                refuse(date, datetime)
                values = [datetime(v.year, v.month, v.day) if type(v) is date else v for v in values]
                for v in values:
                    if v is not None and v.tzinfo is not None:
                        raise _bad(table, col, v, " (a time zone)")
            return pa.array(values, arrow_type)
        if kind == "boolean":
            if kinds - {bool}:
                refuse(bool, int)
                if any(v not in (0, 1) for v in values if v is not None):
                    raise _bad(table, col, next(v for v in values if v is not None and v not in (0, 1)))
                values = [None if v is None else bool(v) for v in values]
            return pa.array(values, arrow_type)
        if kind == "decimal":
            return pa.array([_to_decimal(v, col, table) for v in values], arrow_type)
        if kind == "any":
            return pa.array([_any_value(v, col, table) for v in values], arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        raise PackError(
            f"Table {table}, column {col.name}: a value cannot be packed as {kind} ({exc}).",
            "Correct that value in the dossier and pack again.",
        ) from exc
    raise PackError(f"Unknown portable type {kind!r} for {table}.{col.name}.")


def sqlite_affinity(declared: str) -> str:
    """The type affinity SQLite gives a column declared with this type (datatype3 section 3.1)."""
    declared = declared.upper()
    if "INT" in declared:
        return "INTEGER"
    if any(word in declared for word in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in declared or not declared:
        return "BLOB"
    if any(word in declared for word in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


_ADBC_CLASSES = {  # portable type -> the one SQLite storage class the ADBC path accepts
    "integer": "integer", "bigint": "integer", "boolean": "integer", "real": "real",
    "text": "text", "date": "text", "datetime": "text", "blob": "blob",
}


_ADBC_SOURCE = {  # portable type -> the Arrow type ADBC gives for its one storage class
    "integer": pa.int64(), "bigint": pa.int64(), "boolean": pa.int64(), "real": pa.float64(),
    "text": pa.string(), "date": pa.string(), "datetime": pa.string(), "blob": pa.binary(),
}


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


def _adbc_column(array: pa.Array, col: ColumnSpec, table: str) -> pa.Array:
    """One column from ADBC (one storage class, checked) as the Arrow type of its portable type;
    the conversions are those of ``to_arrow`` (ISO text parsed by Arrow, 0/1 as booleans)."""
    arrow_type = col.arrow_type()
    if array.type == arrow_type:
        if pa.types.is_string(arrow_type):
            try:
                array.validate(full=True)  # UTF-8 checked, as the DB-API path decodes it
            except pa.ArrowInvalid as exc:
                raise PackError(f"Table {table}, column {col.name} holds text that is not valid UTF-8.",
                                "Correct that value in the dossier and pack again.") from exc
        return array
    if array.type != _ADBC_SOURCE[col.type]:
        raise PackError(f"Table {table}, column {col.name}: the SQLite reader gave {array.type} values.",
                        "Pack again; if it happens again, tell the maintainers.")
    if col.type in ("date", "datetime"):
        try:
            return pc.cast(array, arrow_type)
        except pa.ArrowInvalid:
            return to_arrow(array.to_pylist(), col, table)  # raises the DB-API path's message
    return pc.cast(array, arrow_type)  # boolean: 0/1 checked in SQL


_INGEST_TYPES = {  # portable type -> the Arrow type bound by ADBC ingest (what ``insert`` binds)
    "integer": pa.int64(), "bigint": pa.int64(), "boolean": pa.int64(), "real": pa.float64(),
    "text": pa.string(), "date": pa.string(), "datetime": pa.string(), "decimal": pa.string(),
    "blob": pa.binary(),
}


def _ingest_batches(batches: Iterable[pa.RecordBatch], table: TableSpec, schema: pa.Schema,
                    failed: list[BaseException]) -> Iterator[pa.RecordBatch]:
    try:
        for batch in batches:
            yield pa.record_batch([_ingest_column(batch.column(n), table.column(n)) for n in schema.names], schema=schema)
    except BaseException as exc:
        failed.append(exc)
        raise


def _ingest_column(array: pa.Array, col: ColumnSpec) -> pa.Array:
    """``from_arrow``'s SQLite conversions, kept in Arrow."""
    target = _INGEST_TYPES[col.type]
    if array.type == target:
        return array
    return pc.cast(array, target)


def _first_unparsable(values: list[Any], arrow_type: pa.DataType) -> Any:
    for value in values:
        if value is None:
            continue
        try:
            pc.cast(pa.array([value], pa.string()), arrow_type)
        except pa.ArrowInvalid:
            return value
    return None


def from_arrow(array: pa.Array, col: ColumnSpec, dialect: str) -> list[Any]:
    """DB-API parameter values for one column."""
    kind = col.type
    if kind == "any":
        out: list[Any] = []
        for item in array.to_pylist():
            if item is None:
                out.append(None)
            else:
                out.append(next((v for v in (item["int"], item["real"], item["text"], item["blob"]) if v is not None), None))
        return out
    if dialect == "sqlite":
        if kind in ("date", "datetime", "decimal"):
            return pc.cast(array, pa.string()).to_pylist()
        if kind == "boolean":
            return pc.cast(array, pa.int64()).to_pylist()
    if kind == "datetime":
        # pymssql writes a datetime parameter to the millisecond; text keeps the microseconds
        # (SQL Server converts it to datetime2 exactly)
        return [v.isoformat(sep=" ") if v is not None and v.microsecond % 1000 else v for v in array.to_pylist()]
    return array.to_pylist()
