"""Reflection: every table of a database described in the portable vocabulary (docs/FORMAT.md).

Reflection goes through SQLAlchemy's inspector (a few catalog queries for all tables); the
SQLite file's own CREATE statements, indexes, views and triggers are kept as they are.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from msde_tui.engine.errors import PackError
from msde_tui.engine.tables.connection import Connection
from msde_tui.engine.tables.convert import portable_type
from msde_tui.packfmt.names import table_dir
from msde_tui.packfmt.schema import PackSchema, TableSpec


class Reflection(Connection):
    """``reflect()``: the database's tables as a ``PackSchema``, parents first."""

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
            if self.has_table("sqlite_sequence"):
                cursor = self.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (name,))
                row = cursor.fetchone()
                cursor.close()
                sqlite_seq = int(row[0]) if row else None
        for col in described["columns"].get(name) or []:
            spec = portable_type(col["type"], table=name, column=col["name"], dialect=self.dialect)
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

    def table_names(self) -> list[str]:
        return [n for n in sa.inspect(self.engine).get_table_names() if not n.startswith("sqlite_")]

    # ------------------------------------------------------------------ reading

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

