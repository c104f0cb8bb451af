"""The current database's catalog views, built from SQLite's own catalog.

SQL Server describes a database's tables through ``sys.*`` catalog views and
``INFORMATION_SCHEMA``; client libraries (SQLAlchemy's mssql dialect among them) join them.
The double answers them from what SQLite knows: ``sqlite_master`` and the ``table_info``,
``index_list``, ``index_xinfo`` and ``foreign_key_list`` PRAGMAs, plus the IDENTITY property
and constraint names kept in the stored DDL (:mod:`tests.tdsdouble.ddl`).

One :class:`Model` per schema version is built (and cached on the session); each view is a
projection of it, so object ids, index ids and constraint names agree across views:

- a table's or view's ``object_id`` is its ``sqlite_master`` rowid (as ``OBJECT_ID('t')``);
- its constraints (PK, UQ, F, D) get ids ``2**30 + object_id * 4096 + n``;
- the primary key is the clustered index 1 (a table without one is a heap, index 0);
  UNIQUE constraints and CREATE INDEX indexes are nonclustered, 2, 3... in creation order;
- unnamed constraints get SQL Server-style system names (``PK__account__<hex>``).

Column types are the types the double sends on the wire for the declared SQLite type
(:func:`tests.tdsdouble.catalog.declared_type`), so reflection agrees with the rows read.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tests.tdsdouble import tokens as t
from tests.tdsdouble.catalog import Columns, declared_type
from tests.tdsdouble.ddl import TableText, filter_of, read_table_sql
from tests.tdsdouble.sql import quote_sqlite

if TYPE_CHECKING:
    from tests.tdsdouble.session import Session

Rows = list[tuple[object, ...]]
SUB_OBJECT_BASE = 1 << 30
DBO = 1  # schema_id of dbo


# ---------------------------------------------------------------------------------------------
# Types


@dataclass(frozen=True)
class TypeInfo:
    """How sys.columns / INFORMATION_SCHEMA.COLUMNS describe a column's type."""

    name: str
    type_id: int  # system_type_id (= user_type_id for system types)
    max_length: int  # bytes, -1 for (max)
    precision: int
    scale: int
    char_length: int | None = None  # INFORMATION_SCHEMA: characters or bytes, -1 for (max)
    collated: bool = False

    @property
    def numeric_precision(self) -> int | None:
        return self.precision if self.precision and self.name not in ("date", "datetime2") else None

    @property
    def numeric_scale(self) -> int | None:
        return self.scale if self.numeric_precision is not None else None


def _decimal_bytes(precision: int) -> int:
    return 5 if precision <= 9 else 9 if precision <= 19 else 13 if precision <= 28 else 17


def type_info(decl: str) -> TypeInfo:
    """The SQL Server type of a column declared ``decl`` in SQLite, as sent on the wire."""
    st = declared_type(decl)
    if st is None or st.kind is t.Kind.NVARCHAR:
        size = st.size if st is not None else None
        return TypeInfo("nvarchar", 231, -1 if size is None else 2 * size, 0, 0,
                        -1 if size is None else size, collated=True)  # fmt: skip
    k = st.kind
    if k is t.Kind.INT:
        size = st.size or 4
        name = {1: "tinyint", 2: "smallint", 4: "int", 8: "bigint"}[size]
        type_id = {1: 48, 2: 52, 4: 56, 8: 127}[size]
        return TypeInfo(name, type_id, size, {1: 3, 2: 5, 4: 10, 8: 19}[size], 0)
    if k is t.Kind.BIT:
        return TypeInfo("bit", 104, 1, 1, 0)
    if k is t.Kind.FLOAT:
        return TypeInfo("float", 62, 8, 53, 0)
    if k is t.Kind.DECIMAL:
        return TypeInfo("decimal", 106, _decimal_bytes(st.precision), st.precision, st.scale)
    if k is t.Kind.DATE:
        return TypeInfo("date", 40, 3, 10, 0)
    if k is t.Kind.DATETIME2:
        return TypeInfo("datetime2", 42, 8, 27, 7)
    size = st.size
    return TypeInfo(
        "varbinary", 165, -1 if size is None else size, 0, 0, -1 if size is None else size
    )


# (name, system_type_id, user_type_id, max_length, precision, scale, collated)
SYSTEM_TYPES: list[tuple[str, int, int, int, int, int, bool]] = [
    ("image", 34, 34, 16, 0, 0, False), ("text", 35, 35, 16, 0, 0, True),
    ("uniqueidentifier", 36, 36, 16, 0, 0, False), ("date", 40, 40, 3, 10, 0, False),
    ("time", 41, 41, 5, 16, 7, False), ("datetime2", 42, 42, 8, 27, 7, False),
    ("datetimeoffset", 43, 43, 10, 34, 7, False), ("tinyint", 48, 48, 1, 3, 0, False),
    ("smallint", 52, 52, 2, 5, 0, False), ("int", 56, 56, 4, 10, 0, False),
    ("smalldatetime", 58, 58, 4, 16, 0, False), ("real", 59, 59, 4, 24, 0, False),
    ("money", 60, 60, 8, 19, 4, False), ("datetime", 61, 61, 8, 23, 3, False),
    ("float", 62, 62, 8, 53, 0, False), ("sql_variant", 98, 98, 8016, 0, 0, False),
    ("ntext", 99, 99, 16, 0, 0, True), ("bit", 104, 104, 1, 1, 0, False),
    ("decimal", 106, 106, 17, 38, 38, False), ("numeric", 108, 108, 17, 38, 38, False),
    ("smallmoney", 122, 122, 4, 10, 4, False), ("bigint", 127, 127, 8, 19, 0, False),
    ("varbinary", 165, 165, 8000, 0, 0, False), ("varchar", 167, 167, 8000, 0, 0, True),
    ("binary", 173, 173, 8000, 0, 0, False), ("char", 175, 175, 8000, 0, 0, True),
    ("timestamp", 189, 189, 8, 0, 0, False), ("nvarchar", 231, 231, 8000, 0, 0, True),
    ("nchar", 239, 239, 8000, 0, 0, True), ("xml", 241, 241, -1, 0, 0, False),
    ("sysname", 231, 256, 256, 0, 0, True),
]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The model


@dataclass
class ColumnInfo:
    column_id: int
    name: str
    type: TypeInfo
    nullable: bool
    default: str | None  # SQLite's default expression text
    default_id: int = 0  # object_id of its DEFAULT constraint
    default_name: str | None = None
    identity: tuple[int, int] | None = None  # (seed, increment)


@dataclass
class KeyInfo:
    """A PRIMARY KEY or UNIQUE constraint (sys.key_constraints) and its index."""

    object_id: int
    name: str
    type: str  # "PK" | "UQ"
    columns: list[str]
    index_id: int
    system_named: bool


@dataclass
class IndexInfo:
    index_id: int
    name: str | None
    type: int  # 0 heap, 1 clustered, 2 nonclustered
    unique: bool
    primary_key: bool = False
    unique_constraint: bool = False
    columns: list[tuple[str, bool]] = field(default_factory=list)  # (column, descending)
    filter: str | None = None


@dataclass
class ForeignKeyInfo:
    object_id: int
    name: str
    columns: list[str]
    ref_table: str
    ref_columns: list[str]
    update_rule: str
    delete_rule: str
    system_named: bool


@dataclass
class TableInfo:
    object_id: int
    name: str
    type: str  # "U" | "V"
    columns: list[ColumnInfo]
    keys: list[KeyInfo] = field(default_factory=list)
    indexes: list[IndexInfo] = field(default_factory=list)
    foreign_keys: list[ForeignKeyInfo] = field(default_factory=list)

    def column(self, name: str) -> ColumnInfo | None:
        return next((c for c in self.columns if c.name.lower() == name.lower()), None)

    def column_id(self, name: str) -> int:
        col = self.column(name)
        return col.column_id if col else 0


@dataclass
class Model:
    tables: list[TableInfo]

    def by_id(self, object_id: object) -> TableInfo | None:
        return next((tb for tb in self.tables if tb.object_id == object_id), None)

    def by_name(self, name: str) -> TableInfo | None:
        return next((tb for tb in self.tables if tb.name.lower() == name.lower()), None)

    def user_tables(self) -> list[TableInfo]:
        return [tb for tb in self.tables if tb.type == "U"]


def _system_name(prefix: str, table: str, *parts: str) -> str:
    """SQL Server-style name of an unnamed constraint: ``PK__account__1A2B3C4D5E6F7081``."""
    digest = hashlib.sha1("\x00".join((prefix, table, *parts)).encode()).hexdigest().upper()
    if prefix in ("PK", "UQ"):
        return f"{prefix}__{table[:8]}__{digest[:16]}"
    return f"{prefix}__{table[:8]}__{parts[0][:8]}__{digest[:8]}"


def _rule(sqlite_rule: str) -> str:
    rule = (sqlite_rule or "NO ACTION").upper()
    return rule if rule in ("CASCADE", "SET NULL", "SET DEFAULT") else "NO ACTION"


def _describe(
    conn: sqlite3.Connection, oid: int, name: str, kind: str, sql: str | None
) -> TableInfo:
    q = quote_sqlite(name)
    text: TableText = read_table_sql(sql) if kind == "U" else TableText()
    info = list(conn.execute(f"PRAGMA main.table_info({q})"))
    columns = [
        ColumnInfo(cid + 1, col, type_info(decl or ""), not notnull and not pk, default,
                   identity=text.identity.get(col.lower()))
        for cid, col, decl, notnull, default, pk in info
    ]  # fmt: skip
    table = TableInfo(oid, name, kind, columns)
    if kind != "U":
        return table
    sub_ids = iter(range(SUB_OBJECT_BASE + oid * 4096, SUB_OBJECT_BASE + (oid + 1) * 4096))
    pk_columns = [col for _cid, col, _d, _nn, _df, pk in sorted(info, key=lambda r: r[5]) if pk]
    if pk_columns:
        given = text.name_of("PRIMARY KEY", pk_columns)
        pk_name = given or _system_name("PK", name)
        table.keys.append(KeyInfo(next(sub_ids), pk_name, "PK", pk_columns, 1, given is None))
        table.indexes.append(
            IndexInfo(
                1, pk_name, 1, True, primary_key=True, columns=[(c, False) for c in pk_columns]
            )
        )
    else:
        table.indexes.append(IndexInfo(0, None, 0, False))
    index_sql = {
        r[0]: (r[1], r[2])
        for r in conn.execute(
            "SELECT name, rowid, sql FROM main.sqlite_master WHERE type = 'index' AND tbl_name = ?",
            (name,),
        )
    }
    listed = [(r[1], bool(r[2]), r[3]) for r in conn.execute(f"PRAGMA main.index_list({q})")]
    listed.sort(key=lambda r: index_sql.get(r[0], (0, None))[0])
    next_index = 2
    for index_name, unique, origin in listed:
        if origin == "pk":
            continue  # the primary key (WITHOUT ROWID / non-integer key) is index 1 above
        xinfo = conn.execute(f"PRAGMA main.index_xinfo({quote_sqlite(index_name)})").fetchall()
        cols = [(r[2], bool(r[3])) for r in xinfo if r[5] and r[1] is not None and r[1] >= 0]
        if not cols:
            continue  # an index on expressions only: SQL Server has no such index
        index = IndexInfo(
            next_index,
            index_name,
            2,
            unique,
            filter=filter_of(index_sql.get(index_name, (0, None))[1]),
        )
        index.columns = cols
        if origin == "u":
            given = text.name_of("UNIQUE", [c for c, _ in cols])
            index.name = given or _system_name("UQ", name, *[c for c, _ in cols])
            index.unique_constraint = True
            table.keys.append(
                KeyInfo(
                    next(sub_ids), index.name, "UQ", [c for c, _ in cols], next_index, given is None
                )
            )
        table.indexes.append(index)
        next_index += 1
    table.foreign_keys = _foreign_keys(conn, name, text, sub_ids)
    for col in table.columns:
        if col.default is not None:
            col.default_id = next(sub_ids)
            col.default_name = _system_name("DF", name, col.name)
    return table


def _foreign_keys(
    conn: sqlite3.Connection, table: str, text: TableText, ids: Iterator[int]
) -> list[ForeignKeyInfo]:
    grouped: dict[int, list[tuple[object, ...]]] = {}
    for row in conn.execute(f"PRAGMA main.foreign_key_list({quote_sqlite(table)})"):
        grouped.setdefault(row[0], []).append(row)
    keys: list[ForeignKeyInfo] = []
    for fk_id in sorted(grouped):
        rows = sorted(grouped[fk_id], key=lambda r: int(str(r[1])))
        ref_table = str(rows[0][2])
        columns = [str(r[3]) for r in rows]
        ref_columns = [str(r[4]) if r[4] is not None else "" for r in rows]
        given = text.name_of("FOREIGN KEY", columns, ref_table)
        name = given or _system_name("FK", table, *columns)
        keys.append(
            ForeignKeyInfo(next(ids), name, columns, ref_table, ref_columns,
                           _rule(str(rows[0][5])), _rule(str(rows[0][6])), given is None)
        )  # fmt: skip
    return keys


def build_model(conn: sqlite3.Connection) -> Model:
    objects = conn.execute(
        "SELECT rowid, name, type, sql FROM main.sqlite_master WHERE type IN ('table', 'view') "
        "AND name NOT LIKE 'sqlite~_%' ESCAPE '~' ORDER BY name"
    ).fetchall()
    tables = [
        _describe(conn, oid, name, "U" if kind == "table" else "V", sql)
        for oid, name, kind, sql in objects
    ]
    model = Model(tables)
    for table in model.tables:  # references without columns mean the referenced primary key
        for fk in table.foreign_keys:
            target = model.by_name(fk.ref_table)
            pk = next((k for k in target.keys if k.type == "PK"), None) if target else None
            if pk is not None and not all(fk.ref_columns):
                fk.ref_columns = list(pk.columns)
    return model


def schema_key(session: Session) -> tuple[str, int]:
    """Changes whenever the current database or its schema does."""
    version = session.sqlite.execute("PRAGMA main.schema_version").fetchone()[0]
    return str(session.database.data_path), int(version)


def model(session: Session) -> Model:
    """The current database's model, rebuilt when its schema version changes."""
    conn = session.sqlite
    key = schema_key(session)
    cached = session.schema_cache
    if cached is not None and cached[0] == key:
        return cached[1]  # type: ignore[no-any-return]
    built = build_model(conn)
    session.schema_cache = (key, built)
    return built


# ---------------------------------------------------------------------------------------------
# Views

OBJECTS_COLUMNS: Columns = [
    ("name", "NVARCHAR(128)"), ("object_id", "INT"), ("principal_id", "INT"), ("schema_id", "INT"),
    ("parent_object_id", "INT"), ("type", "NCHAR(2)"), ("type_desc", "NVARCHAR(60)"),
    ("create_date", "DATETIME"), ("modify_date", "DATETIME"), ("is_ms_shipped", "BIT"),
]  # fmt: skip
TABLES_COLUMNS: Columns = [
    ("name", "NVARCHAR(128)"), ("object_id", "INT"), ("schema_id", "INT"), ("type", "NCHAR(2)"),
    ("type_desc", "NVARCHAR(60)"), ("create_date", "DATETIME"), ("is_ms_shipped", "BIT"),
]  # fmt: skip
COLUMNS_COLUMNS: Columns = [
    ("object_id", "INT"), ("name", "NVARCHAR(128)"), ("column_id", "INT"),
    ("system_type_id", "TINYINT"), ("user_type_id", "INT"), ("max_length", "SMALLINT"),
    ("precision", "TINYINT"), ("scale", "TINYINT"), ("collation_name", "NVARCHAR(128)"),
    ("is_nullable", "BIT"), ("is_ansi_padded", "BIT"), ("is_rowguidcol", "BIT"),
    ("is_identity", "BIT"), ("is_computed", "BIT"), ("is_sparse", "BIT"),
    ("default_object_id", "INT"), ("rule_object_id", "INT"),
]  # fmt: skip
TYPES_COLUMNS: Columns = [
    ("name", "NVARCHAR(128)"), ("system_type_id", "TINYINT"), ("user_type_id", "INT"),
    ("schema_id", "INT"), ("principal_id", "INT"), ("max_length", "SMALLINT"),
    ("precision", "TINYINT"), ("scale", "TINYINT"), ("collation_name", "NVARCHAR(128)"),
    ("is_nullable", "BIT"), ("is_user_defined", "BIT"), ("is_assembly_type", "BIT"),
    ("default_object_id", "INT"), ("rule_object_id", "INT"), ("is_table_type", "BIT"),
]  # fmt: skip
IDENTITY_COLUMNS: Columns = [
    ("object_id", "INT"), ("name", "NVARCHAR(128)"), ("column_id", "INT"),
    ("system_type_id", "TINYINT"), ("user_type_id", "INT"), ("max_length", "SMALLINT"),
    ("precision", "TINYINT"), ("scale", "TINYINT"), ("is_nullable", "BIT"), ("is_identity", "BIT"),
    # sql_variant in SQL Server (not modelled): sent as decimal(38,0)
    ("seed_value", "DECIMAL(38,0)"), ("increment_value", "DECIMAL(38,0)"),
    ("last_value", "DECIMAL(38,0)"), ("is_not_for_replication", "BIT"),
]  # fmt: skip
COMPUTED_COLUMNS: Columns = [
    ("object_id", "INT"), ("name", "NVARCHAR(128)"), ("column_id", "INT"),
    ("system_type_id", "TINYINT"), ("user_type_id", "INT"), ("is_computed", "BIT"),
    ("is_persisted", "BIT"), ("definition", "NVARCHAR(4000)"),
]  # fmt: skip
DEFAULTS_COLUMNS: Columns = [
    ("name", "NVARCHAR(128)"), ("object_id", "INT"), ("principal_id", "INT"), ("schema_id", "INT"),
    ("parent_object_id", "INT"), ("type", "NCHAR(2)"), ("type_desc", "NVARCHAR(60)"),
    ("parent_column_id", "INT"), ("definition", "NVARCHAR(4000)"), ("is_system_named", "BIT"),
]  # fmt: skip
EXTENDED_COLUMNS: Columns = [
    ("class", "TINYINT"), ("class_desc", "NVARCHAR(60)"), ("major_id", "INT"), ("minor_id", "INT"),
    ("name", "NVARCHAR(128)"), ("value", "NVARCHAR(4000)"),
]  # fmt: skip
KEYS_COLUMNS: Columns = [
    ("name", "NVARCHAR(128)"), ("object_id", "INT"), ("principal_id", "INT"), ("schema_id", "INT"),
    ("parent_object_id", "INT"), ("type", "NCHAR(2)"), ("type_desc", "NVARCHAR(60)"),
    ("unique_index_id", "INT"), ("is_system_named", "BIT"), ("is_enforced", "BIT"),
]  # fmt: skip
INDEXES_COLUMNS: Columns = [
    ("object_id", "INT"), ("name", "NVARCHAR(128)"), ("index_id", "INT"), ("type", "TINYINT"),
    ("type_desc", "NVARCHAR(60)"), ("is_unique", "BIT"), ("data_space_id", "INT"),
    ("ignore_dup_key", "BIT"), ("is_primary_key", "BIT"), ("is_unique_constraint", "BIT"),
    ("fill_factor", "TINYINT"), ("is_padded", "BIT"), ("is_disabled", "BIT"),
    ("is_hypothetical", "BIT"), ("allow_row_locks", "BIT"), ("allow_page_locks", "BIT"),
    ("has_filter", "BIT"), ("filter_definition", "NVARCHAR(4000)"),
]  # fmt: skip
INDEX_COLUMNS_COLUMNS: Columns = [
    ("object_id", "INT"), ("index_id", "INT"), ("index_column_id", "INT"), ("column_id", "INT"),
    ("key_ordinal", "TINYINT"), ("partition_ordinal", "TINYINT"), ("is_descending_key", "BIT"),
    ("is_included_column", "BIT"),
]  # fmt: skip
SCHEMAS_COLUMNS: Columns = [
    ("name", "NVARCHAR(128)"),
    ("schema_id", "INT"),
    ("principal_id", "INT"),
]
IS_SCHEMATA_COLUMNS: Columns = [
    ("CATALOG_NAME", "NVARCHAR(128)"), ("SCHEMA_NAME", "NVARCHAR(128)"), ("SCHEMA_OWNER", "NVARCHAR(128)"),
]  # fmt: skip
IS_TABLES_COLUMNS: Columns = [
    ("TABLE_CATALOG", "NVARCHAR(128)"), ("TABLE_SCHEMA", "NVARCHAR(128)"),
    ("TABLE_NAME", "NVARCHAR(128)"), ("TABLE_TYPE", "NVARCHAR(10)"),
]  # fmt: skip
IS_COLUMNS_COLUMNS: Columns = [
    ("TABLE_CATALOG", "NVARCHAR(128)"), ("TABLE_SCHEMA", "NVARCHAR(128)"),
    ("TABLE_NAME", "NVARCHAR(128)"), ("COLUMN_NAME", "NVARCHAR(128)"), ("ORDINAL_POSITION", "INT"),
    ("COLUMN_DEFAULT", "NVARCHAR(4000)"), ("IS_NULLABLE", "NVARCHAR(3)"),
    ("DATA_TYPE", "NVARCHAR(128)"), ("CHARACTER_MAXIMUM_LENGTH", "INT"),
    ("NUMERIC_PRECISION", "TINYINT"), ("NUMERIC_SCALE", "INT"), ("COLLATION_NAME", "NVARCHAR(128)"),
]  # fmt: skip
IS_TABLE_CONSTRAINTS_COLUMNS: Columns = [
    ("CONSTRAINT_CATALOG", "NVARCHAR(128)"), ("CONSTRAINT_SCHEMA", "NVARCHAR(128)"),
    ("CONSTRAINT_NAME", "NVARCHAR(128)"), ("TABLE_CATALOG", "NVARCHAR(128)"),
    ("TABLE_SCHEMA", "NVARCHAR(128)"), ("TABLE_NAME", "NVARCHAR(128)"),
    ("CONSTRAINT_TYPE", "NVARCHAR(11)"), ("IS_DEFERRABLE", "NVARCHAR(2)"),
    ("INITIALLY_DEFERRED", "NVARCHAR(2)"),
]  # fmt: skip
IS_KEY_COLUMN_USAGE_COLUMNS: Columns = [
    ("CONSTRAINT_CATALOG", "NVARCHAR(128)"), ("CONSTRAINT_SCHEMA", "NVARCHAR(128)"),
    ("CONSTRAINT_NAME", "NVARCHAR(128)"), ("TABLE_CATALOG", "NVARCHAR(128)"),
    ("TABLE_SCHEMA", "NVARCHAR(128)"), ("TABLE_NAME", "NVARCHAR(128)"),
    ("COLUMN_NAME", "NVARCHAR(128)"), ("ORDINAL_POSITION", "INT"),
]  # fmt: skip
IS_REFERENTIAL_COLUMNS: Columns = [
    ("CONSTRAINT_CATALOG", "NVARCHAR(128)"), ("CONSTRAINT_SCHEMA", "NVARCHAR(128)"),
    ("CONSTRAINT_NAME", "NVARCHAR(128)"), ("UNIQUE_CONSTRAINT_CATALOG", "NVARCHAR(128)"),
    ("UNIQUE_CONSTRAINT_SCHEMA", "NVARCHAR(128)"), ("UNIQUE_CONSTRAINT_NAME", "NVARCHAR(128)"),
    ("MATCH_OPTION", "NVARCHAR(7)"), ("UPDATE_RULE", "NVARCHAR(11)"), ("DELETE_RULE", "NVARCHAR(11)"),
]  # fmt: skip

View = Callable[["Session", list[object]], tuple[Columns, Rows]]
KEY_DESC = {"PK": "PRIMARY_KEY_CONSTRAINT", "UQ": "UNIQUE_CONSTRAINT"}


def v_objects(session: Session, args: list[object]) -> tuple[Columns, Rows]:
    when = session.database.create_date
    rows: Rows = []
    for tb in model(session).tables:
        desc = "USER_TABLE" if tb.type == "U" else "VIEW"
        rows.append((tb.name, tb.object_id, None, DBO, 0, f"{tb.type:<2}", desc, when, when, 0))
        for key in tb.keys:
            rows.append((key.name, key.object_id, None, DBO, tb.object_id, f"{key.type:<2}",
                         KEY_DESC[key.type], when, when, 0))  # fmt: skip
        for fk in tb.foreign_keys:
            rows.append((fk.name, fk.object_id, None, DBO, tb.object_id, "F ",
                         "FOREIGN_KEY_CONSTRAINT", when, when, 0))  # fmt: skip
        for col in tb.columns:
            if col.default_id:
                rows.append((col.default_name, col.default_id, None, DBO, tb.object_id, "D ",
                             "DEFAULT_CONSTRAINT", when, when, 0))  # fmt: skip
    return OBJECTS_COLUMNS, rows


def v_tables(session: Session, args: list[object]) -> tuple[Columns, Rows]:
    when = session.database.create_date
    rows: Rows = [
        (tb.name, tb.object_id, DBO, "U ", "USER_TABLE", when, 0)
        for tb in model(session).user_tables()
    ]
    return TABLES_COLUMNS, rows


def v_columns(session: Session, args: list[object]) -> tuple[Columns, Rows]:
    collation = session.instance.facts.collation
    rows: Rows = []
    for tb in model(session).tables:
        for c in tb.columns:
            ty = c.type
            rows.append(
                (tb.object_id, c.name, c.column_id, ty.type_id, ty.type_id, ty.max_length, ty.precision,
                 ty.scale, collation if ty.collated else None, int(c.nullable), int(ty.collated), 0,
                 int(c.identity is not None), 0, 0, c.default_id, 0)
            )  # fmt: skip
    return COLUMNS_COLUMNS, rows


def v_types(session: Session, args: list[object]) -> tuple[Columns, Rows]:
    collation = session.instance.facts.collation
    rows: Rows = [
        (name, sys_id, user_id, 4, None, length, precision, scale, collation if collated else None,
         1, 0, 0, 0, 0, 0)
        for name, sys_id, user_id, length, precision, scale, collated in SYSTEM_TYPES
    ]  # fmt: skip
    return TYPES_COLUMNS, rows


def _last_identity(session: Session, table: TableInfo, column: ColumnInfo) -> object:
    sql = f"SELECT MAX({quote_sqlite(column.name)}) FROM main.{quote_sqlite(table.name)}"  # noqa: S608
    return session.sqlite.execute(sql).fetchone()[0]


def v_identity_columns(session: Session, args: list[object]) -> tuple[Columns, Rows]:
    rows: Rows = []
    for tb in model(session).user_tables():
        for c in tb.columns:
            if c.identity is None:
                continue
            ty = c.type
            rows.append(
                (tb.object_id, c.name, c.column_id, ty.type_id, ty.type_id, ty.max_length, ty.precision,
                 ty.scale, int(c.nullable), 1, c.identity[0], c.identity[1],
                 _last_identity(session, tb, c), 0)
            )  # fmt: skip
    return IDENTITY_COLUMNS, rows


def v_computed_columns(session: Session, args: list[object]) -> tuple[Columns, Rows]:
    return COMPUTED_COLUMNS, []  # table_info does not list SQLite generated columns


def _definition(default: str) -> str:
    """SQL Server shows ``DEFAULT 0`` as ``((0))`` and ``DEFAULT 'x'`` as ``('x')``."""
    text = default.strip()
    if text.lstrip("-").replace(".", "", 1).isdigit():
        return f"(({text}))"
    return f"({text})"


def v_default_constraints(session: Session, args: list[object]) -> tuple[Columns, Rows]:
    rows: Rows = []
    for tb in model(session).user_tables():
        for c in tb.columns:
            if c.default_id and c.default is not None:
                rows.append((c.default_name, c.default_id, None, DBO, tb.object_id, "D ",
                             "DEFAULT_CONSTRAINT", c.column_id, _definition(c.default), 1))  # fmt: skip
    return DEFAULTS_COLUMNS, rows


def v_extended_properties(session: Session, args: list[object]) -> tuple[Columns, Rows]:
    return EXTENDED_COLUMNS, []


def v_key_constraints(session: Session, args: list[object]) -> tuple[Columns, Rows]:
    rows: Rows = []
    for tb in model(session).user_tables():
        for k in tb.keys:
            rows.append((k.name, k.object_id, None, DBO, tb.object_id, f"{k.type:<2}",
                         KEY_DESC[k.type], k.index_id, int(k.system_named), 1))  # fmt: skip
    return KEYS_COLUMNS, rows


def v_indexes(session: Session, args: list[object]) -> tuple[Columns, Rows]:
    rows: Rows = []
    for tb in model(session).user_tables():
        for ix in tb.indexes:
            desc = {0: "HEAP", 1: "CLUSTERED", 2: "NONCLUSTERED"}[ix.type]
            rows.append(
                (tb.object_id, ix.name, ix.index_id, ix.type, desc, int(ix.unique), 1, 0,
                 int(ix.primary_key), int(ix.unique_constraint), 0, 0, 0, 0, 1, 1,
                 int(ix.filter is not None), ix.filter)
            )  # fmt: skip
    return INDEXES_COLUMNS, rows


def v_index_columns(session: Session, args: list[object]) -> tuple[Columns, Rows]:
    rows: Rows = []
    for tb in model(session).user_tables():
        for ix in tb.indexes:
            for n, (col, descending) in enumerate(ix.columns, start=1):
                rows.append(
                    (tb.object_id, ix.index_id, n, tb.column_id(col), n, 0, int(descending), 0)
                )
    return INDEX_COLUMNS_COLUMNS, rows


def v_schemas(session: Session, args: list[object]) -> tuple[Columns, Rows]:
    return SCHEMAS_COLUMNS, [("dbo", 1, 1), ("sys", 4, 4), ("INFORMATION_SCHEMA", 3, 3)]


def v_is_schemata(session: Session, args: list[object]) -> tuple[Columns, Rows]:
    db = session.database.name
    return IS_SCHEMATA_COLUMNS, [(db, name, name) for name in ("dbo", "sys", "INFORMATION_SCHEMA")]


def v_is_tables(session: Session, args: list[object]) -> tuple[Columns, Rows]:
    db = session.database.name
    rows: Rows = [
        (db, "dbo", tb.name, "BASE TABLE" if tb.type == "U" else "VIEW")
        for tb in model(session).tables
    ]
    return IS_TABLES_COLUMNS, rows


def v_is_columns(session: Session, args: list[object]) -> tuple[Columns, Rows]:
    db = session.database.name
    collation = session.instance.facts.collation
    rows: Rows = []
    for tb in model(session).tables:
        for c in tb.columns:
            ty = c.type
            rows.append(
                (db, "dbo", tb.name, c.name, c.column_id,
                 None if c.default is None else _definition(c.default), "YES" if c.nullable else "NO",
                 ty.name, ty.char_length, ty.numeric_precision, ty.numeric_scale,
                 collation if ty.collated else None)
            )  # fmt: skip
    return IS_COLUMNS_COLUMNS, rows


def _constraints(session: Session) -> list[tuple[TableInfo, str, str, list[str]]]:
    """(table, constraint name, CONSTRAINT_TYPE, columns) of every PK, UNIQUE and FOREIGN KEY."""
    out: list[tuple[TableInfo, str, str, list[str]]] = []
    for tb in model(session).user_tables():
        for k in tb.keys:
            out.append((tb, k.name, "PRIMARY KEY" if k.type == "PK" else "UNIQUE", k.columns))
        for fk in tb.foreign_keys:
            out.append((tb, fk.name, "FOREIGN KEY", fk.columns))
    return out


def v_is_table_constraints(session: Session, args: list[object]) -> tuple[Columns, Rows]:
    db = session.database.name
    rows: Rows = [
        (db, "dbo", name, db, "dbo", tb.name, kind, "NO", "NO")
        for tb, name, kind, _ in _constraints(session)
    ]
    return IS_TABLE_CONSTRAINTS_COLUMNS, rows


def v_is_key_column_usage(session: Session, args: list[object]) -> tuple[Columns, Rows]:
    db = session.database.name
    rows: Rows = []
    for tb, name, _kind, columns in _constraints(session):
        for n, col in enumerate(columns, start=1):
            rows.append((db, "dbo", name, db, "dbo", tb.name, col, n))
    return IS_KEY_COLUMN_USAGE_COLUMNS, rows


def _referenced_key(target: TableInfo, columns: list[str]) -> str | None:
    """The PK/UQ constraint (or unique index) of ``target`` over exactly ``columns``."""
    want = sorted(c.lower() for c in columns)
    for key in target.keys:
        if sorted(c.lower() for c in key.columns) == want:
            return key.name
    for ix in target.indexes:
        if ix.unique and sorted(c.lower() for c, _ in ix.columns) == want:
            return ix.name
    return None


def v_is_referential_constraints(session: Session, args: list[object]) -> tuple[Columns, Rows]:
    db = session.database.name
    m = model(session)
    rows: Rows = []
    for tb in m.user_tables():
        for fk in tb.foreign_keys:
            target = m.by_name(fk.ref_table)
            unique = _referenced_key(target, fk.ref_columns) if target else None
            rows.append((db, "dbo", fk.name, db if unique else None, "dbo" if unique else None, unique,
                         "SIMPLE", fk.update_rule, fk.delete_rule))  # fmt: skip
    return IS_REFERENTIAL_COLUMNS, rows


def _case_insensitive(view: View) -> View:
    """Text columns compare as SQL Server's CI_AS collation does (``type = 'U'`` matches 'U ')."""

    def run(session: Session, args: list[object]) -> tuple[Columns, Rows]:
        columns, rows = view(session, args)
        collated = [
            (c, f"{d} COLLATE TDS_CI" if d.split("(")[0] in ("NVARCHAR", "NCHAR") else d)
            for c, d in columns
        ]
        return collated, rows

    return run


_VIEWS: dict[str, View] = {
    "sys.objects": v_objects,
    "sys.tables": v_tables,
    "sys.columns": v_columns,
    "sys.types": v_types,
    "sys.identity_columns": v_identity_columns,
    "sys.computed_columns": v_computed_columns,
    "sys.default_constraints": v_default_constraints,
    "sys.extended_properties": v_extended_properties,
    "sys.key_constraints": v_key_constraints,
    "sys.indexes": v_indexes,
    "sys.index_columns": v_index_columns,
    "sys.schemas": v_schemas,
    "information_schema.schemata": v_is_schemata,
    "information_schema.tables": v_is_tables,
    "information_schema.columns": v_is_columns,
    "information_schema.table_constraints": v_is_table_constraints,
    "information_schema.key_column_usage": v_is_key_column_usage,
    "information_schema.referential_constraints": v_is_referential_constraints,
}
VIEWS: dict[str, View] = {name: _case_insensitive(view) for name, view in _VIEWS.items()}
SCHEMA_ONLY = set(VIEWS) - {"sys.identity_columns"}  # last_value depends on the rows


# ---------------------------------------------------------------------------------------------
# Metadata functions with column arguments (run by SQLite itself)


def register_functions(session: Session, conn: sqlite3.Connection) -> None:
    """``COLUMNPROPERTY(id, column, property)`` and ``OBJECT_NAME(id)`` as SQLite functions.

    Unlike the literal-only server functions of catalog.py, these take column arguments
    (``WHERE COLUMNPROPERTY(c.object_id, c.name, 'IsIdentity') = 1``).
    """

    def columnproperty(object_id: object, column: object, prop: object) -> object:
        table = model(session).by_id(object_id)
        col = table.column(str(column)) if table is not None and column is not None else None
        if col is None or prop is None:
            return None
        ty = col.type
        return {
            "ISIDENTITY": int(col.identity is not None),
            "ALLOWSNULL": int(col.nullable),
            "COLUMNID": col.column_id,
            "PRECISION": ty.precision if ty.precision else (ty.char_length or 0),
            "SCALE": ty.scale if ty.precision else None,
            "ISCOMPUTED": 0,
        }.get(str(prop).upper())

    def object_name(object_id: object) -> object:
        for tb in model(session).tables:
            if tb.object_id == object_id:
                return tb.name
            for k in tb.keys:
                if k.object_id == object_id:
                    return k.name
            for fk in tb.foreign_keys:
                if fk.object_id == object_id:
                    return fk.name
        return None

    conn.create_function("COLUMNPROPERTY", 3, columnproperty)
    conn.create_function("OBJECT_NAME", 1, object_name)
