"""Pure T-SQL quoting and statement builders for SQL Server backup, verify and restore.

Nothing here does I/O. Every piece of user text reaches SQL only through ``quote_ident``
(``[name]`` with ``]`` doubled) or ``quote_literal`` (``N'text'`` with ``'`` doubled); every
number is checked to be an ``int`` in range. The statements follow Microsoft's reference::

    BACKUP DATABASE [db] TO DISK = N'X:\\dir\\db_20261128_120631.bak'
      WITH CHECKSUM, INIT, COPY_ONLY, COMPRESSION, STATS = 5, NAME = N'…', DESCRIPTION = N'…'
    RESTORE VERIFYONLY FROM DISK = N'…' WITH FILE = 1, CHECKSUM[, MOVE …][, STATS = 5]
    RESTORE HEADERONLY FROM DISK = N'…'
    RESTORE FILELISTONLY FROM DISK = N'…'
    RESTORE DATABASE [new] FROM DISK = N'…'
      WITH FILE = 1, MOVE N'data' TO N'…\\new.mdf', MOVE N'log' TO N'…\\new_log.ldf',
           [REPLACE,] RECOVERY, STATS = 5

Server-side paths are built in the *server's* style (``\\`` on Windows, ``/`` on Linux),
never the client's, so a Windows backup restored on Linux never gets a mixed path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from msde_tui.engine.errors import BadInput

MAX_IDENT = 128  # sysname
MAX_BACKUP_NAME = 128
MAX_BACKUP_DESCRIPTION = 255
SEPARATORS = ("\\", "/")
_DRIVE_RE = re.compile(r"^[A-Za-z]:(?:[\\/]|$)")
_UNSAFE_FILE_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
_FILE_NAME_FORBIDDEN = ("/", "\\", "\x00", ":", "*", "?", '"', "<", ">", "|")


# -- quoting -------------------------------------------------------------------------------


def quote_ident(name: str) -> str:
    """``a]b`` -> ``[a]]b]``. Rejects empty names, names over 128 characters and NUL."""
    if not isinstance(name, str) or not name:
        raise BadInput("A SQL Server name cannot be empty.", "Give a database or file name.")
    if len(name) > MAX_IDENT:
        raise BadInput(
            f"The name '{name[:40]}…' is longer than SQL Server's 128 characters.",
            "Choose a shorter name.",
        )
    if "\x00" in name:
        raise BadInput("A SQL Server name cannot hold a NUL character.", "Remove it from the name.")
    return "[" + name.replace("]", "]]") + "]"


def quote_literal(text: str) -> str:
    """``it's`` -> ``N'it''s'``. Rejects NUL (SQL Server would cut the text there)."""
    if not isinstance(text, str):
        raise BadInput(f"Expected text, got {type(text).__name__}.")
    if "\x00" in text:
        raise BadInput("Text sent to SQL Server cannot hold a NUL character.", "Remove it.")
    return "N'" + text.replace("'", "''") + "'"


def _int(value: object, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"{what} must be a whole number, not {value!r}.")
    if not low <= value <= high:
        raise BadInput(f"{what} must be between {low} and {high}, not {value}.")
    return value


def _bounded_literal(text: str, what: str, limit: int) -> str:
    if len(text) > limit:
        raise BadInput(f"The backup {what} is longer than {limit} characters.", "Shorten it.")
    return quote_literal(text)


# -- BACKUP / RESTORE ----------------------------------------------------------------------


def build_backup(
    db: str,
    path: str,
    *,
    checksum: bool = True,
    init: bool = True,
    copy_only: bool = False,
    compression: bool | None = None,
    stats: int | None = 5,
    name: str | None = None,
    description: str | None = None,
) -> str:
    """``BACKUP DATABASE`` to one disk file.

    ``compression``: None leaves the server default (omitted), True adds ``COMPRESSION``,
    False adds ``NO_COMPRESSION``. The caller never asks for either on Express.
    """
    options: list[str] = []
    if checksum:
        options.append("CHECKSUM")
    if init:
        options.append("INIT")
    if copy_only:
        options.append("COPY_ONLY")
    if compression is True:
        options.append("COMPRESSION")
    elif compression is False:
        options.append("NO_COMPRESSION")
    if stats is not None:
        options.append(f"STATS = {_int(stats, 'STATS', 1, 100)}")
    if name is not None:
        options.append(f"NAME = {_bounded_literal(name, 'name', MAX_BACKUP_NAME)}")
    if description is not None:
        options.append(
            f"DESCRIPTION = {_bounded_literal(description, 'description', MAX_BACKUP_DESCRIPTION)}"
        )
    sql = f"BACKUP DATABASE {quote_ident(db)} TO DISK = {quote_literal(path)}"
    return sql + (" WITH " + ", ".join(options) if options else "")


def _moves(moves: Iterable[tuple[str, str]]) -> list[str]:
    return [
        f"MOVE {quote_literal(logical)} TO {quote_literal(physical)}" for logical, physical in moves
    ]


def build_verifyonly(
    path: str,
    *,
    file: int = 1,
    checksum: bool = True,
    moves: Sequence[tuple[str, str]] = (),
    stats: int | None = None,
) -> str:
    """``RESTORE VERIFYONLY`` of one backup set; success is message 3262 and nothing else."""
    options = [f"FILE = {_int(file, 'FILE', 1, 2_147_483_647)}"]
    if checksum:
        options.append("CHECKSUM")
    options.extend(_moves(moves))
    if stats is not None:
        options.append(f"STATS = {_int(stats, 'STATS', 1, 100)}")
    return f"RESTORE VERIFYONLY FROM DISK = {quote_literal(path)} WITH " + ", ".join(options)


def build_headeronly(path: str) -> str:
    """``RESTORE HEADERONLY``: one row per backup set in the file."""
    return f"RESTORE HEADERONLY FROM DISK = {quote_literal(path)}"


def build_filelistonly(path: str, *, file: int | None = None) -> str:
    """``RESTORE FILELISTONLY``: one row per database file in the backup set."""
    sql = f"RESTORE FILELISTONLY FROM DISK = {quote_literal(path)}"
    if file is not None:
        sql += f" WITH FILE = {_int(file, 'FILE', 1, 2_147_483_647)}"
    return sql


def build_restore(
    db: str,
    path: str,
    moves: Sequence[tuple[str, str]],
    *,
    replace: bool = False,
    recovery: bool = True,
    stats: int | None = 5,
    file: int = 1,
    checksum: bool = False,
) -> str:
    """``RESTORE DATABASE`` with one ``MOVE`` per database file."""
    options = [f"FILE = {_int(file, 'FILE', 1, 2_147_483_647)}"]
    options.extend(_moves(moves))
    if checksum:
        options.append("CHECKSUM")
    if replace:
        options.append("REPLACE")
    options.append("RECOVERY" if recovery else "NORECOVERY")
    if stats is not None:
        options.append(f"STATS = {_int(stats, 'STATS', 1, 100)}")
    return (
        f"RESTORE DATABASE {quote_ident(db)} FROM DISK = {quote_literal(path)} WITH "
        + ", ".join(options)
    )


# -- server-side paths ---------------------------------------------------------------------


def guess_separator(*paths: str | None) -> str:
    """The server's path separator, from paths it reported (default paths, file names)."""
    for path in paths:
        if not path:
            continue
        if _DRIVE_RE.match(path) or path.startswith("\\\\") or "\\" in path:
            return "\\"
        if path.startswith("/"):
            return "/"
    return "\\"


def file_stem(database: str) -> str:
    """A database name usable in a file name (a hostile name keeps its quotes, loses slashes)."""
    stem = _UNSAFE_FILE_CHARS.sub("_", database).strip(". ")
    return stem or "database"


def check_file_name(name: str) -> str:
    """A single file name (no directory part, no tricks); returned unchanged."""
    if not name or name in (".", "..") or any(c in name for c in _FILE_NAME_FORBIDDEN):
        raise BadInput(
            f"'{name}' is not a plain file name.",
            "Use letters, digits, '_', '-' and '.', without a directory part.",
        )
    return name


def normalize_server_dir(directory: str, sep: str) -> str:
    """A directory in the server's style, without trailing separator (roots kept: ``C:\\``, ``/``).

    Refuses a Windows path given to a Linux server (the mixed-path bug), NUL, and ``..``.
    """
    if sep not in SEPARATORS:
        raise BadInput(f"Unknown path separator {sep!r}.")
    text = (directory or "").strip()
    if not text or "\x00" in text:
        raise BadInput(
            "The server directory is empty or invalid.", "Give a directory on the server."
        )
    if sep == "/":
        if _DRIVE_RE.match(text) or "\\" in text:
            raise BadInput(
                f"'{directory}' is a Windows path, but this SQL Server runs on Linux.",
                "Give a Linux path on the server, e.g. /var/opt/mssql/backup.",
            )
        if not text.startswith("/"):
            raise BadInput(f"'{directory}' is not an absolute path.", "Start it with '/'.")
    else:
        text = text.replace("/", "\\")
        if text.startswith("\\") and not text.startswith("\\\\"):
            raise BadInput(
                f"'{directory}' has no drive letter.",
                "Give a full path on the server, e.g. C:\\Backups or \\\\server\\share.",
            )
        if not _DRIVE_RE.match(text) and not text.startswith("\\\\"):
            raise BadInput(
                f"'{directory}' is not an absolute path.",
                "Give a full path on the server, e.g. C:\\Backups or \\\\server\\share.",
            )
    parts = text.split(sep)
    if ".." in parts:
        raise BadInput(f"'{directory}' contains '..'.", "Give the directory without '..'.")
    stripped = text.rstrip(sep)
    if stripped == "" or (sep == "\\" and re.fullmatch(r"[A-Za-z]:", stripped)):
        return stripped + sep
    return stripped


def server_path_join(directory: str, name: str, sep: str) -> str:
    """``directory`` + ``sep`` + ``name`` in the server's style (``C:\\B`` + ``x.bak``)."""
    base = normalize_server_dir(directory, sep)
    check_file_name(name)
    return base + name if base.endswith(sep) else base + sep + name


def server_basename(path: str) -> str:
    """The last part of a server path written with either separator."""
    return re.split(r"[\\/]", path.rstrip("\\/"))[-1]


def server_dirname(path: str, sep: str) -> str:
    """The directory part of a server path, in the server's style."""
    parts = re.split(r"[\\/]", path.rstrip("\\/"))
    head = sep.join(parts[:-1])
    if not head:
        return sep
    if sep == "\\" and re.fullmatch(r"[A-Za-z]:", head):
        return head + sep
    return head


def restore_targets(
    db: str,
    files: Sequence[tuple[str, str]],
    *,
    data_dir: str,
    log_dir: str | None = None,
    sep: str,
    taken: Iterable[str] = (),
) -> list[tuple[str, str]]:
    """MOVE targets for restoring ``files`` (logical name, type D/L/F/S) as database ``db``.

    First data file -> ``<data_dir><sep><db>.mdf``, more data files -> ``<db>_2.ndf``...,
    first log -> ``<log_dir><sep><db>_log.ldf``, more logs -> ``<db>_log2.ldf``..., FILESTREAM
    containers -> ``<db>_fs1``..., full-text catalogs -> ``<db>_ft1``.... A name in ``taken``
    (files that already exist or belong to another database) gets ``_2``, ``_3``... instead.
    Comparison ignores case on Windows servers.
    """
    check_file_name(db)
    log_dir = log_dir or data_dir

    def key(path: str) -> str:
        return path.lower() if sep == "\\" else path

    used = {key(p) for p in taken}
    counts = {"D": 0, "L": 0, "F": 0, "S": 0}
    result: list[tuple[str, str]] = []
    for logical, kind in files:
        kind = (kind or "D").upper()
        if kind not in counts:
            kind = "D"
        counts[kind] += 1
        n = counts[kind]
        directory = log_dir if kind == "L" else data_dir
        if kind == "D":
            stem, ext = (db, ".mdf") if n == 1 else (f"{db}_{n}", ".ndf")
        elif kind == "L":
            stem, ext = (f"{db}_log", ".ldf") if n == 1 else (f"{db}_log{n}", ".ldf")
        elif kind == "S":
            stem, ext = f"{db}_fs{n}", ""
        else:
            stem, ext = f"{db}_ft{n}", ""
        candidate = server_path_join(directory, stem + ext, sep)
        bump = 2
        while key(candidate) in used:
            candidate = server_path_join(directory, f"{stem}_{bump}{ext}", sep)
            bump += 1
        used.add(key(candidate))
        result.append((logical, candidate))
    return result


# -- queries the backend sends (fixed text, or quoted values only) -------------------------

FACTS_SQL = (
    "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS ProductVersion, "
    "CAST(SERVERPROPERTY('ProductMajorVersion') AS int) AS ProductMajorVersion, "
    "CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS Edition, "
    "CAST(SERVERPROPERTY('EngineEdition') AS int) AS EngineEdition, "
    "CAST(SERVERPROPERTY('InstanceName') AS nvarchar(128)) AS InstanceName, "
    "CAST(SERVERPROPERTY('InstanceDefaultBackupPath') AS nvarchar(260)) AS InstanceDefaultBackupPath, "
    "CAST(SERVERPROPERTY('InstanceDefaultDataPath') AS nvarchar(260)) AS InstanceDefaultDataPath, "
    "CAST(SERVERPROPERTY('InstanceDefaultLogPath') AS nvarchar(260)) AS InstanceDefaultLogPath, "
    "@@VERSION AS Version"
)

MASTER_FILE_SQL = "SELECT physical_name FROM sys.master_files WHERE database_id = 1 AND file_id = 1"

BACKUP_DIR_REGREAD_SQL = (
    "EXEC master.dbo.xp_instance_regread N'HKEY_LOCAL_MACHINE', "
    "N'Software\\Microsoft\\MSSQLServer\\MSSQLServer', N'BackupDirectory'"
)

SERVICE_ACCOUNT_SQL = (
    "SELECT service_account FROM sys.dm_server_services WHERE servicename LIKE N'SQL Server (%'"
)

DATABASES_SQL = (
    "SELECT d.name AS name, d.state_desc AS state, "
    "CAST(SUM(CAST(f.size AS bigint)) * 8192 AS bigint) AS size_bytes "
    "FROM sys.databases AS d JOIN sys.master_files AS f "
    "ON f.database_id = d.database_id AND f.type = 0 "
    "GROUP BY d.name, d.state_desc ORDER BY d.name"
)

MASTER_FILES_SQL = "SELECT database_id, physical_name FROM sys.master_files"

VOLUMES_SQL = (
    "SELECT DISTINCT vs.volume_mount_point AS volume_mount_point, "
    "vs.available_bytes AS available_bytes FROM sys.master_files AS f "
    "CROSS APPLY sys.dm_os_volume_stats(f.database_id, f.file_id) AS vs"
)

FIXED_DRIVES_SQL = "EXEC master.sys.xp_fixeddrives"

SPID_SQL = "SELECT @@SPID AS spid"


def build_database_exists(db: str) -> str:
    """One row (``database_id``, ``state_desc``) when database ``db`` exists."""
    return (
        "SELECT database_id, state_desc FROM sys.databases WHERE name = "  # noqa: S608
        + quote_literal(db)
    )


def build_database_files(db: str) -> str:
    """The physical files of database ``db`` (type 0 data, 1 log; size in 8 KB pages)."""
    return (
        "SELECT f.physical_name AS physical_name, f.type AS type, f.size AS size "  # noqa: S608
        "FROM sys.master_files AS f "
        "JOIN sys.databases AS d ON d.database_id = f.database_id WHERE d.name = "
        + quote_literal(db)
        + " ORDER BY f.file_id"
    )


def build_single_user(db: str) -> str:
    """Close every other session on ``db`` (their open transactions are rolled back)."""
    return f"ALTER DATABASE {quote_ident(db)} SET SINGLE_USER WITH ROLLBACK IMMEDIATE"


def build_multi_user(db: str) -> str:
    """Open ``db`` to every session again."""
    return f"ALTER DATABASE {quote_ident(db)} SET MULTI_USER"


def build_enumerate_filesystem(path: str) -> str:
    """Directory listing on SQL Server 2017+ (one level)."""
    return (
        "SELECT file_or_directory_name, is_directory, size_in_bytes "  # noqa: S608
        "FROM sys.dm_os_enumerate_filesystem(" + quote_literal(path) + ", N'*')"
    )


def build_dirtree(path: str) -> str:
    """Directory listing before 2017 (``subdirectory``, ``depth``, ``file``; sysadmin)."""
    return f"EXEC master.sys.xp_dirtree {quote_literal(path)}, 1, 1"


def build_fileexist(path: str) -> str:
    """``File Exists``, ``File is a Directory``, ``Parent Directory Exists``."""
    return f"EXEC master.dbo.xp_fileexist {quote_literal(path)}"


def build_kill(spid: int) -> str:
    """Stop another session's statement (a cancelled BACKUP or RESTORE)."""
    return f"KILL {_int(spid, 'session id', 1, 32767)}"


def build_drop_database(db: str) -> str:
    """Remove a database left half-restored by a cancelled RESTORE of a *new* database."""
    return f"DROP DATABASE {quote_ident(db)}"


def build_movement_count(db: str) -> str:
    """Number of entries in dossier database ``db`` (the auto-backup movement counter).

    A three-part name, so it runs from any current database; an accounting-less database
    answers 208 (invalid object name), which the caller reads as 0.
    """
    return f"SELECT COUNT(*) AS movements FROM {quote_ident(db)}.dbo.[entry]"  # noqa: S608


def build_delete_backup_file(path: str) -> str:
    """Delete one backup file on the server host (sysadmin; deletes only SQL Server backups)."""
    return f"EXEC master.sys.xp_delete_file 0, {quote_literal(path)}"
