"""Server functions, @@variables, server-wide catalog views and result typing.

Server-wide catalog views (``sys.databases``, ``msdb.dbo.backupset``...) and table-valued
functions (``sys.dm_os_enumerate_filesystem(...)``) are ``(columns, rows)`` builders; the
current database's views (``sys.objects``, ``INFORMATION_SCHEMA.COLUMNS``...) are in
schemaviews.py; resolver.py materialises both as TEMP tables right before the statement
runs, so any WHERE / ORDER BY / JOIN over them works. Result column types come from
declared column types when a result column matches a column of a table the statement
names, otherwise from the values.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import sqlite3
from typing import TYPE_CHECKING, Any

from tests.tdsdouble import filesystem
from tests.tdsdouble import tokens as t

if TYPE_CHECKING:
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
        "SCOPE_IDENTITY": lambda args: session.last_identity,
        "HAS_PERMS_BY_NAME": lambda args: _has_perms(session, args),
        "IS_SRVROLEMEMBER": lambda args: _is_srvrolemember(session, args),
    }


def _has_perms(session: Session, args: list[object]) -> int:
    """HAS_PERMS_BY_NAME(securable, class, permission): NULL securable = the server."""
    securable = "" if args[0] is None else str(args[0])
    permission = str(args[2]) if len(args) > 2 else ""
    if str(args[1] or "").upper() == "OBJECT":
        securable = securable.split(".")[0]  # msdb.dbo.backupset -> the msdb grant
    return int(session.instance.has_permission(session.user, securable, permission))


def _is_srvrolemember(session: Session, args: list[object]) -> int:
    role = str(args[0]).lower()
    inst = session.instance
    if role == "sysadmin":
        return int(inst.is_sysadmin(session.user))
    return int(inst.has_permission(session.user, "", f"ROLE {role.upper()}"))


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
        "@@LANGUAGE": session.language,
        "@@MICROSOFTVERSION": (major << 24) | (minor << 16) | build,
        "@@ROWCOUNT": 0,
        "@@IDENTITY": session.last_identity,
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
    ("page_verify_option", "TINYINT"),
    ("page_verify_option_desc", "NVARCHAR(60)"),
]
SESSIONS_COLUMNS: Columns = [
    ("session_id", "SMALLINT"),
    ("login_name", "NVARCHAR(128)"),
    ("host_name", "NVARCHAR(128)"),
    ("program_name", "NVARCHAR(128)"),
    ("database_id", "SMALLINT"),
    ("status", "NVARCHAR(30)"),
    ("is_user_process", "BIT"),
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


def v_databases(session: Session, args: list[object]) -> tuple[Columns, list[tuple[object, ...]]]:
    inst = session.instance
    rows = []
    for db in sorted(inst.databases.values(), key=lambda d: d.database_id):
        access = {"MULTI_USER": 0, "SINGLE_USER": 1, "RESTRICTED_USER": 2}[db.user_access]
        state = {"ONLINE": 0, "RESTORING": 1, "OFFLINE": 6}.get(db.state, 0)
        model = {"FULL": 1, "BULK_LOGGED": 2, "SIMPLE": 3}[db.recovery_model]
        verify = {"NONE": 0, "TORN_PAGE_DETECTION": 1, "CHECKSUM": 2}[db.page_verify]
        rows.append(
            (db.name, db.database_id, db.create_date, inst.facts.major * 10, inst.facts.collation,
             access, db.user_access, state, db.state, model, db.recovery_model, 0, verify,
             db.page_verify)
        )  # fmt: skip
    return DATABASES_COLUMNS, rows


IN_USE_SPID = 99  # the session ``mark_in_use`` pretends (a workstation's accounting program)


def v_sessions(session: Session, args: list[object]) -> tuple[Columns, list[tuple[object, ...]]]:
    """sys.dm_exec_sessions: every open session with its current database."""
    inst = session.instance
    rows: list[tuple[object, ...]] = []
    with inst.lock:
        for sid, other in sorted(inst.sessions.items()):
            if sid in inst.evicted:
                continue
            db_id = other.db.database_id if other.db is not None else 1
            rows.append((sid, other.user, inst.facts.machine_name, "pymssql", db_id, "sleeping", 1))
        for name in sorted(inst.in_use):
            db = inst.find(name)
            if db is not None:
                rows.append((IN_USE_SPID, "compta", "POSTE-2", "Accounting", db.database_id,
                             "sleeping", 1))  # fmt: skip
    return SESSIONS_COLUMNS, rows


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
    "sys.dm_exec_requests": v_requests,
    "sys.dm_exec_sessions": v_sessions,
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
    decls: dict[str, list[str]] = {}
    for src in sources:
        for _cid, name, decl, *_ in conn.execute(f"PRAGMA {_pragma_target(src)}"):
            decls.setdefault(name.lower(), []).append(decl)
    columns: list[t.Column] = []
    data = [list(r) for r in rows]
    for i, name in enumerate(names):
        values = [r[i] for r in data]
        st, converted = _declared(decls.get(name.lower(), []) if name else [], values)
        if st is not None:
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


def _declared(
    decls: list[str], values: list[object]
) -> tuple[t.SqlType | None, list[object] | None]:
    """The declared type of a result column, when a table of the statement has a column of
    that name: among several (``sys.objects.type`` nchar(2) vs ``sys.indexes.type`` tinyint),
    the first one the values fit without conversion; else the first one they convert to."""
    typed = [st for st in (declared_type(d) for d in decls) if st is not None]
    for strict in (True, False):
        for st in typed:
            if (
                strict
                and st.kind is t.Kind.NVARCHAR
                and any(v is not None and not isinstance(v, str) for v in values)
            ):
                continue
            try:
                return st, [_convert(st, v) for v in values]
            except (ValueError, TypeError, decimal.InvalidOperation):
                continue
    return None, None


def _pragma_target(src: str) -> str:
    """``schema.table`` or ``table`` as a PRAGMA table_info target."""
    if src.startswith('"') and '"."' in src:
        schema, table = src.split('"."', 1)
        return f'{schema}".table_info("{table})'
    if src.startswith("temp."):
        return f"temp.table_info({src[5:]})"
    return f"table_info({src})"
