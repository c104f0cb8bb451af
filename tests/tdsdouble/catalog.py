"""Server functions, @@variables, catalog views and result typing for the SQLite pass-through.

Catalog views (``sys.databases``, ``INFORMATION_SCHEMA.COLUMNS``...) and table-valued
functions (``sys.dm_os_enumerate_filesystem(...)``) are materialised as TEMP tables of the
session's SQLite connection right before the statement runs, so any WHERE / ORDER BY / JOIN
over them works. Result column types come from declared column types when a result column
matches a column of a table the statement names, otherwise from the values.
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import re
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tests.tdsdouble import filesystem
from tests.tdsdouble import tokens as t
from tests.tdsdouble.sql import Tok, quote_sqlite

if TYPE_CHECKING:
    from tests.tdsdouble.instance import Database
    from tests.tdsdouble.session import Session


# ---------------------------------------------------------------------------------------------
# Scalar functions and variables


def server_property(session: Session, name: object) -> object:
    inst = session.instance
    f = inst.facts
    major, minor, build = f.parts
    values: dict[str, object] = {
        "PRODUCTVERSION": f.version,
        "PRODUCTMAJORVERSION": str(major),
        "PRODUCTMINORVERSION": str(minor),
        "PRODUCTBUILD": str(build),
        "PRODUCTLEVEL": "RTM",
        "EDITION": f.edition,
        "ENGINEEDITION": f.engine_edition,
        "SERVERNAME": f.server_name,
        "MACHINENAME": f.machine_name,
        "INSTANCENAME": None,
        "COLLATION": f.collation,
        "ISCLUSTERED": 0,
        "ISHADRENABLED": 0,
        "ISINTEGRATEDSECURITYONLY": 0,
        "ISSINGLEUSER": 0,
        "INSTANCEDEFAULTBACKUPPATH": str(inst.backup_dir),
        "INSTANCEDEFAULTDATAPATH": str(inst.data_dir) + "/",
        "INSTANCEDEFAULTLOGPATH": str(inst.log_dir) + "/",
        "PROCESSID": 1,
    }
    return values.get(str(name).upper())


def functions(session: Session) -> dict[str, Any]:
    inst = session.instance

    def db_name(args: list[object]) -> object:
        if not args:
            return session.database.name
        db = inst.by_id(int(args[0])) if args[0] is not None else None
        return db.name if db else None

    def db_id(args: list[object]) -> object:
        if not args:
            return session.database.database_id
        db = inst.find(str(args[0]))
        return db.database_id if db else None

    def object_id(args: list[object]) -> object:
        name = str(args[0]).split(".")[-1].strip("[]")
        row = session.sqlite.execute(
            "SELECT rowid FROM sqlite_master WHERE type IN ('table','view') AND lower(name) = lower(?)",
            (name,),
        ).fetchone()
        return row[0] if row else None

    return {
        "SERVERPROPERTY": lambda args: server_property(session, args[0]),
        "DB_NAME": db_name,
        "DB_ID": db_id,
        "OBJECT_ID": object_id,
        "SCHEMA_NAME": lambda args: "dbo",
        "SUSER_SNAME": lambda args: session.user,
        "SUSER_NAME": lambda args: session.user,
        "USER_NAME": lambda args: "dbo",
        "HOST_NAME": lambda args: inst.facts.machine_name,
        "DATABASEPROPERTYEX": lambda args: _database_property(session, args),
    }


def _database_property(session: Session, args: list[object]) -> object:
    db = session.instance.find(str(args[0]))
    if db is None:
        return None
    prop = str(args[1]).upper()
    return {
        "STATUS": db.state,
        "USERACCESS": db.user_access,
        "RECOVERY": "SIMPLE",
        "COLLATION": session.instance.facts.collation,
        "UPDATEABILITY": "READ_WRITE",
    }.get(prop)


def variables(session: Session) -> dict[str, object]:
    f = session.instance.facts
    major, minor, build = f.parts
    return {
        "@@VERSION": f.version_string,
        "@@SERVERNAME": f.server_name,
        "@@SPID": session.spid,
        "@@TRANCOUNT": session.trancount,
        "@@LANGUAGE": "us_english",
        "@@MICROSOFTVERSION": (major << 24) | (minor << 16) | build,
        "@@ROWCOUNT": 0,
        "@@ERROR": 0,
    }


# ---------------------------------------------------------------------------------------------
# Catalog views and table-valued functions

Columns = list[tuple[str, str]]

DATABASES_COLUMNS: Columns = [
    ("name", "NVARCHAR(128)"),
    ("database_id", "INT"),
    ("create_date", "DATETIME"),
    ("compatibility_level", "TINYINT"),
    ("collation_name", "NVARCHAR(128)"),
    ("user_access", "TINYINT"),
    ("user_access_desc", "NVARCHAR(60)"),
    ("state", "TINYINT"),
    ("state_desc", "NVARCHAR(60)"),
    ("recovery_model", "TINYINT"),
    ("recovery_model_desc", "NVARCHAR(60)"),
    ("is_read_only", "BIT"),
]
MASTER_FILES_COLUMNS: Columns = [
    ("database_id", "INT"),
    ("file_id", "INT"),
    ("type", "TINYINT"),
    ("type_desc", "NVARCHAR(60)"),
    ("name", "NVARCHAR(128)"),
    ("physical_name", "NVARCHAR(260)"),
    ("state_desc", "NVARCHAR(60)"),
    ("size", "INT"),
    ("max_size", "INT"),
]
TABLES_COLUMNS: Columns = [
    ("name", "NVARCHAR(128)"),
    ("object_id", "INT"),
    ("schema_id", "INT"),
    ("type", "NCHAR(2)"),
    ("type_desc", "NVARCHAR(60)"),
    ("create_date", "DATETIME"),
    ("is_ms_shipped", "BIT"),
]
COLUMNS_COLUMNS: Columns = [
    ("object_id", "INT"),
    ("name", "NVARCHAR(128)"),
    ("column_id", "INT"),
    ("system_type_id", "TINYINT"),
    ("user_type_id", "INT"),
    ("max_length", "SMALLINT"),
    ("precision", "TINYINT"),
    ("scale", "TINYINT"),
    ("is_nullable", "BIT"),
    ("is_identity", "BIT"),
]
IS_TABLES_COLUMNS: Columns = [
    ("TABLE_CATALOG", "NVARCHAR(128)"),
    ("TABLE_SCHEMA", "NVARCHAR(128)"),
    ("TABLE_NAME", "NVARCHAR(128)"),
    ("TABLE_TYPE", "NVARCHAR(10)"),
]
IS_COLUMNS_COLUMNS: Columns = [
    ("TABLE_CATALOG", "NVARCHAR(128)"),
    ("TABLE_SCHEMA", "NVARCHAR(128)"),
    ("TABLE_NAME", "NVARCHAR(128)"),
    ("COLUMN_NAME", "NVARCHAR(128)"),
    ("ORDINAL_POSITION", "INT"),
    ("COLUMN_DEFAULT", "NVARCHAR(4000)"),
    ("IS_NULLABLE", "NVARCHAR(3)"),
    ("DATA_TYPE", "NVARCHAR(128)"),
    ("CHARACTER_MAXIMUM_LENGTH", "INT"),
    ("NUMERIC_PRECISION", "TINYINT"),
    ("NUMERIC_SCALE", "INT"),
]
REQUESTS_COLUMNS: Columns = [
    ("session_id", "SMALLINT"),
    ("command", "NVARCHAR(32)"),
    ("database_id", "SMALLINT"),
    ("percent_complete", "REAL"),
    ("status", "NVARCHAR(30)"),
]
BACKUPSET_COLUMNS: Columns = [
    ("backup_set_id", "INT"),
    ("media_set_id", "INT"),
    ("database_name", "NVARCHAR(128)"),
    ("type", "NCHAR(1)"),
    ("backup_start_date", "DATETIME"),
    ("backup_finish_date", "DATETIME"),
    ("backup_size", "DECIMAL(20,0)"),
    ("compressed_backup_size", "DECIMAL(20,0)"),
    ("is_copy_only", "BIT"),
    ("is_damaged", "BIT"),
    ("has_backup_checksums", "BIT"),
    ("first_lsn", "DECIMAL(25,0)"),
    ("last_lsn", "DECIMAL(25,0)"),
]
MEDIAFAMILY_COLUMNS: Columns = [
    ("media_set_id", "INT"),
    ("family_sequence_number", "TINYINT"),
    ("physical_device_name", "NVARCHAR(260)"),
    ("device_type", "TINYINT"),
]
SERVICES_COLUMNS: Columns = [
    ("servicename", "NVARCHAR(256)"),
    ("startup_type_desc", "NVARCHAR(256)"),
    ("status_desc", "NVARCHAR(256)"),
    ("process_id", "INT"),
    ("service_account", "NVARCHAR(256)"),
    ("filename", "NVARCHAR(256)"),
]
SCHEMAS_COLUMNS: Columns = [
    ("name", "NVARCHAR(128)"),
    ("schema_id", "INT"),
    ("principal_id", "INT"),
]


def _sql_type_of(decl: str) -> tuple[str, int | None, int | None, int | None, int]:
    """(DATA_TYPE, char max length, precision, scale, system_type_id) for a declared type."""
    st = declared_type(decl)
    if st is None:
        return "nvarchar", -1, None, None, 231
    k = st.kind
    if k is t.Kind.INT:
        name = st.name
        return (
            name,
            None,
            {1: 3, 2: 5, 4: 10, 8: 19}[st.size or 4],
            0,
            {1: 48, 2: 52, 4: 56, 8: 127}[st.size or 4],
        )
    if k is t.Kind.FLOAT:
        return st.name, None, 53, None, 62
    if k is t.Kind.BIT:
        return "bit", None, 1, 0, 104
    if k is t.Kind.DECIMAL:
        return "decimal", None, st.precision, st.scale, 106
    if k is t.Kind.DATE:
        return "date", None, None, None, 40
    if k is t.Kind.DATETIME2:
        return "datetime2", None, None, 7, 42
    if k is t.Kind.VARBINARY:
        return "varbinary", -1 if st.size is None else st.size, None, None, 165
    return "nvarchar", -1 if st.size is None else st.size, None, None, 231


class Resolver:
    """Maps multi-part names in a statement to SQLite: catalog views become TEMP tables."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.sources: list[str] = []
        self._ids = itertools.count(1)

    def __call__(self, parts: list[str], call: list[object] | None) -> str | None:
        key = [p.lower() for p in parts]
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
        if len(key) == 2 and key[0] == "dbo" and key[1] not in MSDB_VIEWS:
            name = schema + quote_sqlite(parts[1])
            self.sources.append(name)
            return name
        view = ".".join(key)
        builder = VIEWS.get(view)
        if builder is None:
            return None
        columns, rows = builder(self.session, call or [])
        return self._materialise(view, columns, rows)

    def apply(self, parts: list[str]) -> tuple[str, list[str]] | None:
        """A table-valued function joined with CROSS/OUTER APPLY: (table, parameter columns)."""
        view = ".".join(p.lower() for p in parts[-2:])
        if view == "sys.dm_os_volume_stats":
            rows = []
            for db in self.session.instance.databases.values():
                rows += filesystem.volume_stats(self.session.instance, db.database_id, 1)
                rows += filesystem.volume_stats(self.session.instance, db.database_id, 2)
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
        conn = self.session.sqlite
        conn.execute(f"DROP TABLE IF EXISTS {name}")
        conn.execute(
            f"CREATE TEMP TABLE {name} ({', '.join(f'{quote_sqlite(c)} {d}' for c, d in columns)})"
        )
        marks = ", ".join("?" for _ in columns)
        conn.executemany(
            f"INSERT INTO {name} VALUES ({marks})",
            [tuple(_sqlite_value(v) for v in r) for r in rows],
        )
        self.sources.append(name)
        return name

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


def _sqlite_value(v: object) -> object:
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    return v


def _user_tables(session: Session) -> list[tuple[int, str]]:
    return list(
        session.sqlite.execute(
            "SELECT rowid, name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    )


def _table_columns(session: Session, table: str) -> list[tuple[int, str, str, int, object, int]]:
    return list(session.sqlite.execute(f"PRAGMA table_info({quote_sqlite(table)})"))


def v_databases(session: Session, args: list[object]) -> tuple[Columns, list[tuple[object, ...]]]:
    inst = session.instance
    rows = []
    for db in sorted(inst.databases.values(), key=lambda d: d.database_id):
        access = {"MULTI_USER": 0, "SINGLE_USER": 1, "RESTRICTED_USER": 2}[db.user_access]
        state = {"ONLINE": 0, "RESTORING": 1, "OFFLINE": 6}.get(db.state, 0)
        rows.append(
            (db.name, db.database_id, db.create_date, inst.facts.major * 10, inst.facts.collation,
             access, db.user_access, state, db.state, 3, "SIMPLE", 0)
        )  # fmt: skip
    return DATABASES_COLUMNS, rows


def v_master_files(
    session: Session, args: list[object]
) -> tuple[Columns, list[tuple[object, ...]]]:
    rows = []
    for db in sorted(session.instance.databases.values(), key=lambda d: d.database_id):
        data, log = db.size_bytes()
        rows.append(
            (
                db.database_id,
                1,
                0,
                "ROWS",
                db.logical_data,
                str(db.data_path),
                "ONLINE",
                -(-data // 8192),
                -1,
            )
        )
        rows.append(
            (
                db.database_id,
                2,
                1,
                "LOG",
                db.logical_log,
                str(db.log_path),
                "ONLINE",
                -(-log // 8192),
                -1,
            )
        )
    return MASTER_FILES_COLUMNS, rows


def v_database_files(
    session: Session, args: list[object]
) -> tuple[Columns, list[tuple[object, ...]]]:
    _, rows = v_master_files(session, args)
    mine = [r[1:] for r in rows if r[0] == session.database.database_id]
    return MASTER_FILES_COLUMNS[1:], mine


def v_tables(session: Session, args: list[object]) -> tuple[Columns, list[tuple[object, ...]]]:
    now = session.database.create_date
    rows = [(name, oid, 1, "U", "USER_TABLE", now, 0) for oid, name in _user_tables(session)]
    return TABLES_COLUMNS, rows


def v_columns(session: Session, args: list[object]) -> tuple[Columns, list[tuple[object, ...]]]:
    rows = []
    for oid, table in _user_tables(session):
        for cid, name, decl, notnull, _default, pk in _table_columns(session, table):
            _, length, precision, scale, type_id = _sql_type_of(decl)
            identity = int(pk == 1 and decl.upper() == "INTEGER")
            max_length = -1 if length == -1 else (length * 2 if type_id == 231 and length else 8)
            rows.append(
                (
                    oid,
                    name,
                    cid + 1,
                    type_id,
                    type_id,
                    max_length,
                    precision or 0,
                    scale or 0,
                    int(not notnull),
                    identity,
                )
            )
    return COLUMNS_COLUMNS, rows


def v_is_tables(session: Session, args: list[object]) -> tuple[Columns, list[tuple[object, ...]]]:
    db = session.database.name
    return IS_TABLES_COLUMNS, [(db, "dbo", name, "BASE TABLE") for _, name in _user_tables(session)]


def v_is_columns(session: Session, args: list[object]) -> tuple[Columns, list[tuple[object, ...]]]:
    db = session.database.name
    rows = []
    for _, table in _user_tables(session):
        for cid, name, decl, notnull, default, _pk in _table_columns(session, table):
            data_type, length, precision, scale, _ = _sql_type_of(decl)
            rows.append(
                (
                    db,
                    "dbo",
                    table,
                    name,
                    cid + 1,
                    default,
                    "NO" if notnull else "YES",
                    data_type,
                    length,
                    precision,
                    scale,
                )
            )
    return IS_COLUMNS_COLUMNS, rows


def v_schemas(session: Session, args: list[object]) -> tuple[Columns, list[tuple[object, ...]]]:
    return SCHEMAS_COLUMNS, [("dbo", 1, 1), ("sys", 4, 4), ("INFORMATION_SCHEMA", 3, 3)]


def v_server_services(
    session: Session, args: list[object]
) -> tuple[Columns, list[tuple[object, ...]]]:
    account = session.instance.facts.service_account
    return SERVICES_COLUMNS, [
        ("SQL Server (MSSQLSERVER)", "Automatic", "Running", 1, account, "/opt/mssql/bin/sqlservr"),
        (
            "SQL Server Agent (MSSQLSERVER)",
            "Manual",
            "Stopped",
            None,
            account,
            "/opt/mssql/bin/sqlagent",
        ),
    ]


def v_requests(session: Session, args: list[object]) -> tuple[Columns, list[tuple[object, ...]]]:
    inst = session.instance
    with inst.lock:
        running = dict(inst.requests)
    rows: list[tuple[object, ...]] = [
        (session.spid, "SELECT", session.database.database_id, 0.0, "running")
    ]
    for spid, (command, dbname, percent) in running.items():
        db = inst.find(dbname)
        rows.append((spid, command, db.database_id if db else 0, percent, "suspended"))
    return REQUESTS_COLUMNS, rows


def v_backupset(session: Session, args: list[object]) -> tuple[Columns, list[tuple[object, ...]]]:
    rows = []
    for i, b in enumerate(session.instance.history, start=1):
        rows.append(
            (i, i, b.database_name, b.type, b.backup_start_date, b.backup_finish_date, b.backup_size,
             b.compressed_backup_size, int(b.is_copy_only), 0, int(b.has_backup_checksums), i * 1000, i * 1000 + 1)
        )  # fmt: skip
    return BACKUPSET_COLUMNS, rows


def v_mediafamily(session: Session, args: list[object]) -> tuple[Columns, list[tuple[object, ...]]]:
    rows = [
        (i, 1, b.physical_device_name, 2) for i, b in enumerate(session.instance.history, start=1)
    ]
    return MEDIAFAMILY_COLUMNS, rows


def tvf_enumerate(session: Session, args: list[object]) -> tuple[Columns, list[tuple[object, ...]]]:
    path = str(args[0]) if args else ""
    pattern = str(args[1]) if len(args) > 1 and args[1] is not None else "*"
    return filesystem.ENUMERATE_COLUMNS, filesystem.enumerate_filesystem(path, pattern)


def tvf_volume_stats(
    session: Session, args: list[object]
) -> tuple[Columns, list[tuple[object, ...]]]:
    database_id = int(args[0]) if args and args[0] is not None else session.database.database_id
    file_id = int(args[1]) if len(args) > 1 and args[1] is not None else 1
    return filesystem.VOLUME_COLUMNS, filesystem.volume_stats(
        session.instance, database_id, file_id
    )


MSDB_VIEWS = {"backupset", "backupmediafamily"}
VIEWS = {
    "sys.databases": v_databases,
    "sys.master_files": v_master_files,
    "sys.database_files": v_database_files,
    "sys.tables": v_tables,
    "sys.columns": v_columns,
    "sys.schemas": v_schemas,
    "information_schema.tables": v_is_tables,
    "information_schema.columns": v_is_columns,
    "sys.dm_exec_requests": v_requests,
    "sys.dm_server_services": v_server_services,
    "dbo.backupset": v_backupset,
    "dbo.backupmediafamily": v_mediafamily,
    "sys.dm_os_enumerate_filesystem": tvf_enumerate,
    "sys.dm_os_volume_stats": tvf_volume_stats,
}


# ---------------------------------------------------------------------------------------------
# Result typing


def column_name(sqlite_name: str) -> str:
    """SQL Server leaves unaliased expression columns unnamed; SQLite names them by their text."""
    if re.fullmatch(r"[A-Za-z_#@][\w#@$ ]*", sqlite_name) and " " not in sqlite_name.strip():
        return sqlite_name
    if re.fullmatch(r"[^\s'\"()+*/-]+", sqlite_name) and not re.fullmatch(r"[\d.]+", sqlite_name):
        return sqlite_name
    return ""


def declared_type(decl: str) -> t.SqlType | None:
    m = re.match(r"\s*([A-Za-z0-9_ ]+?)\s*(?:\(\s*(\w+)\s*(?:,\s*(\d+)\s*)?\))?\s*$", decl or "")
    if m is None:
        return None
    base = m.group(1).upper().split()[0] if m.group(1).strip() else ""
    arg = m.group(2)
    size = int(arg) if arg and arg.isdigit() else None
    if base in ("INT", "INTEGER", "MEDIUMINT"):
        return t.INT
    if base == "BIGINT":
        return t.BIGINT
    if base == "SMALLINT":
        return t.SMALLINT
    if base == "TINYINT":
        return t.TINYINT
    if base in ("BIT", "BOOLEAN", "BOOL"):
        return t.BIT
    if base in ("REAL", "FLOAT", "DOUBLE"):
        return t.FLOAT
    if base in ("DECIMAL", "NUMERIC"):
        return t.decimal_type(size or 18, int(m.group(3) or 0))
    if base in ("MONEY",):
        return t.decimal_type(19, 4)
    if base == "DATE":
        return t.DATE
    if base in ("DATETIME", "DATETIME2", "SMALLDATETIME", "TIMESTAMP"):
        return t.DATETIME2
    if base in (
        "NVARCHAR",
        "VARCHAR",
        "NCHAR",
        "CHAR",
        "TEXT",
        "NTEXT",
        "CLOB",
        "STRING",
        "UNIQUEIDENTIFIER",
    ):
        return t.nvarchar(size if size is not None and size <= 4000 else None)
    if base in ("VARBINARY", "BINARY", "BLOB", "IMAGE"):
        return t.varbinary(size if size is not None and size <= 8000 else None)
    return None


def _convert(st: t.SqlType, v: object) -> object:
    """A SQLite value as a Python value of ``st``; raises ValueError when it does not fit."""
    if v is None:
        return None
    k = st.kind
    if k is t.Kind.INT:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(v)
        return v
    if k is t.Kind.BIT:
        if not isinstance(v, int):
            raise ValueError(v)
        return bool(v)
    if k is t.Kind.FLOAT:
        if not isinstance(v, int | float):
            raise ValueError(v)
        return float(v)
    if k is t.Kind.DECIMAL:
        if isinstance(v, bytes):
            raise ValueError(v)
        return decimal.Decimal(str(v))
    if k is t.Kind.DATE:
        return dt.date.fromisoformat(str(v)[:10])
    if k is t.Kind.DATETIME2:
        return dt.datetime.fromisoformat(str(v))
    if k is t.Kind.NVARCHAR:
        if isinstance(v, bytes):
            raise ValueError(v)
        return str(v)
    if k is t.Kind.VARBINARY:
        if isinstance(v, str):  # implicit varchar -> varbinary conversion, as SQL Server does
            return v.encode("latin-1", errors="replace")
        if not isinstance(v, bytes):
            raise ValueError(v)
        return v
    raise ValueError(v)


def _fits_int32(values: list[object]) -> bool:
    return all(-(2**31) <= v < 2**31 for v in values if isinstance(v, int))


def _infer(values: list[object]) -> t.SqlType:
    present = [v for v in values if v is not None]
    if not present:
        return t.nvarchar(1)
    if all(isinstance(v, bytes) for v in present):
        n = max(len(v) for v in present if isinstance(v, bytes))
        return t.varbinary(max(n, 1) if n <= 8000 else None)
    if all(isinstance(v, int) for v in present):
        return t.INT if _fits_int32(present) else t.BIGINT
    if all(isinstance(v, int | float) for v in present):
        return t.FLOAT
    n = max(len(str(v).encode("utf-16-le")) // 2 for v in present)
    return t.nvarchar(max(n, 1) if n <= 4000 else None)


def result_types(
    conn: sqlite3.Connection, names: list[str], rows: list[tuple[Any, ...]], sources: list[str]
) -> tuple[list[t.Column], list[tuple[Any, ...]]]:
    """TDS columns for a SQLite result, and the rows converted to match them."""
    decls: dict[str, str] = {}
    for src in sources:
        for _cid, name, decl, *_ in conn.execute(f"PRAGMA {_pragma_target(src)}"):
            decls.setdefault(name.lower(), decl)
    columns: list[t.Column] = []
    data = [list(r) for r in rows]
    for i, name in enumerate(names):
        values = [r[i] for r in data]
        st = declared_type(decls.get(name.lower(), "")) if name else None
        converted: list[object] | None = None
        if st is not None:
            try:
                converted = [_convert(st, v) for v in values]
            except (ValueError, TypeError, decimal.InvalidOperation):
                converted = None
            if (
                converted is not None
                and st.kind is t.Kind.INT
                and st.size == 4
                and not _fits_int32(converted)
            ):
                st = t.BIGINT
        if converted is None:
            st = _infer(values)
            if st.kind is t.Kind.NVARCHAR:
                converted = [None if v is None else str(v) for v in values]
            elif st.kind is t.Kind.FLOAT:
                converted = [None if v is None else float(v) for v in values]
            else:
                converted = values
        assert st is not None
        for r, v in zip(data, converted, strict=True):
            r[i] = v
        columns.append(t.Column(name, st))
    return columns, [tuple(r) for r in data]


def _pragma_target(src: str) -> str:
    """``schema.table`` or ``table`` as a PRAGMA table_info target."""
    if src.startswith('"') and '"."' in src:
        schema, table = src.split('"."', 1)
        return f'{schema}".table_info("{table})'
    if src.startswith("temp."):
        return f"temp.table_info({src[5:]})"
    return f"table_info({src})"
