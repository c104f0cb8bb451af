"""Multi-part names of one statement, resolved for SQLite.

- ``dbo.t`` / ``db.dbo.t`` -> the table (another database's file is ATTACHed);
  ``dbo.t.c`` -> the column;
- catalog views (``sys.objects``, ``INFORMATION_SCHEMA.TABLES``...; server-wide ones in
  catalog.py, the current database's in schemaviews.py) and table-valued functions become
  TEMP tables filled just before the statement runs. Each view is materialised once per
  statement, so ``FROM sys.objects JOIN ... WHERE sys.objects.name = ...`` (a view's name used
  to qualify its columns, as SQLAlchemy writes) refers to the same table.
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tests.tdsdouble import catalog, filesystem, schemaviews
from tests.tdsdouble.catalog import Columns
from tests.tdsdouble.sql import Tok, quote_sqlite

if TYPE_CHECKING:
    from tests.tdsdouble.instance import Database
    from tests.tdsdouble.session import Session

VIEWS = {**catalog.VIEWS, **schemaviews.VIEWS}


class Resolver:
    """Maps multi-part names in a statement to SQLite: catalog views become TEMP tables."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.sources: list[str] = []
        self._ids = itertools.count(1)
        self._made: dict[tuple[str, tuple[object, ...]], str] = {}

    def __call__(self, parts: list[str], call: list[object] | None) -> str | None:
        key = [p.lower() for p in parts]
        if call is None and len(key) in (3, 4) and ".".join(key[-3:-1]) in VIEWS:
            # sys.objects.name / [INFORMATION_SCHEMA].[TABLES].[TABLE_NAME] / db.sys.objects.name
            return f"{self.view('.'.join(key[-3:-1]), [])}.{quote_sqlite(parts[-1])}"
        if call is None and len(key) == 3 and key[0] == "dbo" and key[1] not in catalog.MSDB_VIEWS:
            return f"{quote_sqlite(parts[1])}.{quote_sqlite(parts[2])}"  # dbo.t.c
        schema = ""
        if len(key) == 3:  # [db].[schema].name
            other = self.session.instance.find(parts[0])
            if (
                other is not None
                and other is not self.session.db
                and f"{key[1]}.{key[2]}" not in VIEWS
            ):
                schema = self._attach(other) + "."
            key = key[1:]
            parts = parts[1:]
        if len(key) == 2 and key[0] == "dbo" and key[1] not in catalog.MSDB_VIEWS:
            name = schema + quote_sqlite(parts[1])
            self.sources.append(name)
            return name
        view = ".".join(key)
        if view not in VIEWS:
            return None
        return self.view(view, call or [])

    def view(self, view: str, args: list[object]) -> str:
        """The TEMP table holding catalog view ``view`` for this statement."""
        made_key = (view, tuple(args))
        if made_key not in self._made:
            if view in schemaviews.SCHEMA_ONLY:
                self._made[made_key] = self._schema_view(view)
            else:
                columns, rows = VIEWS[view](self.session, args)
                self._made[made_key] = self._materialise(view, columns, rows)
        return self._made[made_key]

    def _schema_view(self, view: str) -> str:
        """A view that depends on the schema only: kept for the session while it is unchanged
        (SQLAlchemy's reflection of one table joins up to 8 of them, table after table)."""
        session = self.session
        key = schemaviews.schema_key(session)
        cached = session.view_cache.get(view)
        name = f"tds_cached_{view.replace('.', '_')}"
        if cached != key or not session.sqlite.execute(
            "SELECT 1 FROM temp.sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone():  # a ROLLBACK also takes back the TEMP tables made in its transaction
            columns, rows = VIEWS[view](session, [])
            self._create(f'temp."{name}"', columns, rows)
            session.view_cache[view] = key
        self.sources.append(f'temp."{name}"')
        return f'temp."{name}"'

    def apply(self, parts: list[str]) -> tuple[str, list[str]] | None:
        """A table-valued function joined with CROSS/OUTER APPLY: (table, parameter columns)."""
        view = ".".join(p.lower() for p in parts[-2:])
        if view == "sys.dm_os_volume_stats":
            rows = []
            seen: dict[str, Any] = {}
            for db in self.session.instance.databases.values():
                rows += filesystem.volume_stats(self.session.instance, db.database_id, 1, seen)
                rows += filesystem.volume_stats(self.session.instance, db.database_id, 2, seen)
            return self._materialise(view, filesystem.VOLUME_COLUMNS, rows), [
                "database_id",
                "file_id",
            ]
        return None

    def _attach(self, db: Database) -> str:
        """Attach another database's file to this connection; returns its schema name."""
        alias = quote_sqlite(f"db_{db.database_id}")
        attached = {row[1] for row in self.session.sqlite.execute("PRAGMA database_list")}
        if f"db_{db.database_id}" not in attached:
            self.session.sqlite.execute(f"ATTACH DATABASE ? AS {alias}", (str(db.data_path),))
        return alias

    def _materialise(self, view: str, columns: Columns, rows: Sequence[Sequence[object]]) -> str:
        name = f'temp."tds_{view.replace(".", "_")}_{next(self._ids)}"'
        self._create(name, columns, rows)
        self.sources.append(name)
        return name

    def _create(self, name: str, columns: Columns, rows: Sequence[Sequence[object]]) -> None:
        conn = self.session.sqlite
        conn.execute(f"DROP TABLE IF EXISTS {name}")
        conn.execute(
            f"CREATE TEMP TABLE {name} ({', '.join(f'{quote_sqlite(c)} {d}' for c, d in columns)})"
        )
        marks = ", ".join("?" for _ in columns)
        conn.executemany(
            f"INSERT INTO {name} VALUES ({marks})",
            [tuple(v if type(v) in _PLAIN else _sqlite_value(v) for v in r) for r in rows],
        )

    def tables(self, toks: list[Tok]) -> list[str]:
        """SQLite tables whose declared column types may type the result."""
        names = {tok.name.lower() for tok in toks if tok.name}
        user = [
            quote_sqlite(r[0])
            for r in self.session.sqlite.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
            if r[0].lower() in names
        ]
        return self.sources + user


_PLAIN = (int, str, float, bytes, type(None))


def _sqlite_value(v: object) -> object:
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    return v
