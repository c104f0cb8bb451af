"""One open connection to a dossier database: opening, SQL helpers, transactions.

``Connection`` wraps one DB-API connection (SQLite file or SQL Server through SQLAlchemy) and,
for a SQLite file, the read-only ADBC connection the Arrow-native reader uses (one snapshot
until ``begin``/``commit``/``rollback``). ``tables.database.Database`` adds reflection, reads
and writes to it.
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import sqlalchemy as sa

from msde_tui.engine.errors import BadInput, DossierChanged, PackError


class Connection:
    """One open connection to a dossier database (``dialect`` = "sqlite" or "mssql")."""

    def __init__(self, dialect: str, dbapi: Any, engine: sa.Engine, *, label: str) -> None:
        self.dialect = dialect
        self.dbapi = dbapi
        self.engine = engine
        self.label = label
        self.param = "?" if dialect == "sqlite" else "%s"
        self.path: Path | None = None  # SQLite: the file (the Arrow-native reader opens it too)
        self.readonly = False
        self._adbc: Any = None  # read-only ADBC connection, one snapshot until begin/commit/rollback
        self.adbc_safe: dict[str, bool] = {}  # table -> its values fit the ADBC reader exactly
        self._watch: sqlite3.Connection | None = None  # read-only SQLite: sees other programs' commits
        self._version: int | None = None  # PRAGMA data_version when the read transaction began

    # ------------------------------------------------------------------ opening

    @classmethod
    def open_sqlite(cls, path: Path, *, readonly: bool = True, create: bool = False) -> Self:
        path = Path(path)
        if create:
            if path.exists():
                raise BadInput(f"{path} already exists.", "Choose another number or name.")
        elif not path.is_file():
            raise BadInput(f"The database file {path} does not exist.", "Check the dossier list.")
        raw: sqlite3.Connection | None = None
        try:
            if readonly:
                raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
            else:
                raw = sqlite3.connect(path, isolation_level=None)
            raw.execute("PRAGMA busy_timeout=10000")
        except sqlite3.Error as exc:
            if raw is not None:
                raw.close()
            raise BadInput(f"{path} cannot be opened as a SQLite database ({exc}).") from exc
        uri = f"file:{path}?mode=ro" if readonly else str(path)

        def creator() -> sqlite3.Connection:
            return sqlite3.connect(uri, uri=readonly)

        engine = sa.create_engine("sqlite://", creator=creator, poolclass=sa.pool.NullPool)
        db = cls("sqlite", raw, engine, label=path.name)
        db.path, db.readonly = path, readonly
        return db

    @classmethod
    def open_engine(cls, engine: sa.Engine, *, label: str) -> Self:
        """A database reached through a SQLAlchemy engine (SQL Server: the profile's driver)."""
        name = engine.dialect.name
        if name not in ("mssql", "sqlite"):
            raise BadInput(f"Database kind {name} is not supported.", "Use SQLite or SQL Server.")
        db = cls(name, engine.raw_connection(), engine, label=label)
        if engine.dialect.paramstyle == "qmark":  # pyodbc, mssql-python (pymssql: %s)
            db.param = "?"
        return db

    def close(self) -> None:
        self.close_adbc()
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        try:
            self.dbapi.close()
        finally:
            self.engine.dispose()

    def __enter__(self) -> Self:
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
            raise self.refused(exc, sql) from exc
        return cursor

    def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        cursor = self.dbapi.cursor()
        try:
            cursor.executemany(sql, rows)
        except Exception as exc:
            raise self.refused(exc, sql) from exc
        finally:
            cursor.close()

    def refused(self, exc: Exception, sql: str) -> Exception:
        if isinstance(exc, PackError | BadInput):
            return exc
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return PackError(f"{self.label}: the database refused a statement ({text}).", f"Statement: {sql[:200]}")

    def begin(self, *, write: bool = False) -> None:
        self.close_adbc()
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
        self.close_adbc()
        if self.dialect == "sqlite":
            if self.dbapi.in_transaction:
                self.dbapi.execute("COMMIT")
        else:
            self.dbapi.commit()

    def rollback(self) -> None:
        self.close_adbc()
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

    # ------------------------------------------------------------------ the Arrow-native reader's connection

    def close_adbc(self) -> None:
        if self._adbc is not None:
            conn, self._adbc = self._adbc, None
            self.adbc_safe.clear()
            try:
                conn.close()
            except Exception:  # noqa: BLE001, S110 - a read-only connection: nothing to lose
                pass

    def adbc_connection(self) -> Any:
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
            self.close_adbc()
            return None
        if self._version is not None and self._data_version() != self._version:
            self.close_adbc()
            raise DossierChanged(
                f"{self.label} changed while msde was reading it (another program wrote to it).",
                "Nothing was written. Do it again, after closing the accounting program if it keeps happening.",
            )
        return self._adbc

    def has_table(self, name: str) -> bool:
        if self.dialect == "sqlite":
            cursor = self.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        else:
            cursor = self.execute(
                f"SELECT 1 FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_NAME = {self.param}", (name,)  # noqa: S608
            )
        found = cursor.fetchone() is not None
        cursor.close()
        return found

