"""The state of one emulated SQL Server instance: facts, logins, databases, disk rules.

Shared by every connection (guarded by ``lock``). Databases are SQLite files named like
SQL Server's (``<data>/<name>.mdf`` plus a token ``<log>/<name>_log.ldf``); the "server
filesystem" is the real filesystem of this machine, seen through the rules a SQL Server
service account would meet (directories it may not write, missing directories).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PRODUCT_YEARS = {11: 2012, 12: 2014, 13: 2016, 14: 2017, 15: 2019, 16: 2022, 17: 2025}
EDITIONS = {
    "express": ("Express Edition (64-bit)", 4),
    "standard": ("Standard Edition (64-bit)", 2),
    "enterprise": ("Enterprise Edition (64-bit)", 3),
    "developer": ("Developer Edition (64-bit)", 3),
}
SYSTEM_DATABASES = ("master", "tempdb", "model", "msdb")
LOG_STUB = b"TDSDOUBLE-LOG\n" + bytes(8192 - 14)


@dataclass
class Facts:
    """What SERVERPROPERTY and @@VERSION report."""

    version: str = "16.0.4135.4"
    edition: str = "Express Edition (64-bit)"
    engine_edition: int = 4
    server_name: str = "TDSDOUBLE"
    machine_name: str = "tdsdouble"
    collation: str = "SQL_Latin1_General_CP1_CI_AS"
    service_account: str | None = None  # sys.dm_server_services.service_account (NULL if None)

    @property
    def parts(self) -> tuple[int, int, int]:
        major, minor, build = (int(p) for p in self.version.split(".")[:3])
        return major, minor, build

    @property
    def major(self) -> int:
        return self.parts[0]

    @property
    def product_year(self) -> int:
        return PRODUCT_YEARS.get(self.major, 2022)

    @property
    def version_string(self) -> str:
        return (
            f"Microsoft SQL Server {self.product_year} (RTM) - {self.version} (X64) \n"
            f"\tJan  1 2024 00:00:00 \n"
            f"\tCopyright (C) {self.product_year} Microsoft Corporation\n"
            f"\t{self.edition} on Linux (TDS test double) <X64>"
        )


@dataclass
class Database:
    name: str
    database_id: int
    data_path: Path
    log_path: Path
    family_guid: str = field(default_factory=lambda: str(uuid.uuid4()).upper())
    create_date: dt.datetime = field(default_factory=dt.datetime.now)
    user_access: str = "MULTI_USER"  # SINGLE_USER / MULTI_USER
    state: str = "ONLINE"  # ONLINE / RESTORING / OFFLINE
    logical_data: str = ""  # logical file names (kept from the backup by RESTORE)
    logical_log: str = ""
    recovery_model: str = "SIMPLE"  # ALTER DATABASE ... SET RECOVERY FULL | SIMPLE
    page_verify: str = "CHECKSUM"  # ALTER DATABASE ... SET PAGE_VERIFY ... (kept by backups)

    def __post_init__(self) -> None:
        self.logical_data = self.logical_data or self.name
        self.logical_log = self.logical_log or f"{self.name}_log"

    @property
    def is_system(self) -> bool:
        return self.name.lower() in SYSTEM_DATABASES

    def size_bytes(self) -> tuple[int, int]:
        def size(p: Path) -> int:
            try:
                return p.stat().st_size
            except OSError:
                return 0

        return size(self.data_path), size(self.log_path)


@dataclass
class BackupRecord:
    """One row of msdb.dbo.backupset joined to backupmediafamily."""

    database_name: str
    physical_device_name: str
    backup_start_date: dt.datetime
    backup_finish_date: dt.datetime
    backup_size: int
    compressed_backup_size: int
    is_copy_only: bool
    has_backup_checksums: bool
    type: str = "D"


class Instance:
    def __init__(self, root: Path, *, logins: dict[str, str] | None = None) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.log_dir = root / "log"
        self.backup_dir = root / "backup"
        for d in (self.data_dir, self.log_dir, self.backup_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.facts = Facts()
        self.logins = dict(logins or {"sa": "Passw0rd!"})
        self.lock = threading.RLock()
        self.databases: dict[str, Database] = {}
        self.denied: set[Path] = set()
        self.in_use: set[str] = set()
        self.not_sysadmin: set[str] = set()  # logins without sysadmin (xp_delete_file: 229)
        # what a login without sysadmin may do: {login: {(securable or "", permission)}};
        # securable "" is the server ("CREATE ANY DATABASE"), else a database name
        self.grants: dict[str, set[tuple[str, str]]] = {}
        self.evicted: set[int] = set()  # spids ended by SET SINGLE_USER WITH ROLLBACK IMMEDIATE
        self.free_bytes: dict[Path, int] = {}  # directory -> free space reported (else real)
        self.default_language = "us_english"  # logins' language (language.py: "Français")
        self.step_delay = 0.0
        # a BACKUP interrupted (KILL, ATTENTION) leaves what it wrote so far in a new file
        # (error 3266's "improperly terminated" media) instead of removing it
        self.partial_backups = False
        self.size_limit_mb: int | None = None
        self.history: list[BackupRecord] = []
        self.requests: dict[int, tuple[str, str, float]] = {}  # spid -> (command, db, percent)
        self.sessions: dict[int, Any] = {}  # spid -> Session
        self.killed: set[int] = set()  # spids a KILL was sent to
        self._next_id = 5
        for i, name in enumerate(SYSTEM_DATABASES, start=1):
            db = Database(name, i, self.data_dir / f"{name}.mdf", self.log_dir / f"{name}_log.ldf")
            self._materialise(db)
            self.databases[name.lower()] = db

    # -- databases -----------------------------------------------------------------------------

    def _materialise(self, db: Database) -> None:
        if not db.data_path.exists():
            conn = sqlite3.connect(db.data_path)
            conn.execute("PRAGMA page_size = 8192")  # SQL Server's page size
            conn.execute("PRAGMA user_version = 1")  # writes the header: a non-empty file
            conn.close()
        if not db.log_path.exists():
            db.log_path.write_bytes(LOG_STUB)

    def find(self, name: str) -> Database | None:
        return self.databases.get(name.lower())

    def by_id(self, database_id: int) -> Database | None:
        return next((d for d in self.databases.values() if d.database_id == database_id), None)

    def new_database(
        self, name: str, data_path: Path | None = None, log_path: Path | None = None
    ) -> Database:
        """Register a database (its files are created if missing)."""
        with self.lock:
            db = Database(
                name,
                self._next_id,
                data_path or self.data_dir / f"{name}.mdf",
                log_path or self.log_dir / f"{name}_log.ldf",
            )
            self._next_id += 1
            self._materialise(db)
            self.databases[name.lower()] = db
            return db

    def used_by_others(self, db: Database, spid: int) -> bool:
        """Another session has ``db`` as its current database (or a test marked it in use)."""
        if db.name.lower() in self.in_use:
            return True
        return any(
            s.db is db for sid, s in self.sessions.items() if sid != spid and sid not in self.evicted
        )

    # -- logins and permissions ----------------------------------------------------------------

    def is_sysadmin(self, login: str) -> bool:
        return login.lower() not in self.not_sysadmin

    def has_permission(self, login: str, securable: str, permission: str) -> bool:
        """HAS_PERMS_BY_NAME: sysadmin may do anything; others what ``grants`` holds."""
        if self.is_sysadmin(login):
            return True
        granted = self.grants.get(login.lower(), set())
        return (securable.lower(), permission.upper()) in granted

    def drop(self, db: Database) -> None:
        with self.lock:
            self.databases.pop(db.name.lower(), None)
            for p in (db.data_path, db.log_path):
                p.unlink(missing_ok=True)

    def file_owner(self, path: Path) -> Database | None:
        """The database using this physical file, if any."""
        target = os.path.normcase(os.path.abspath(path))
        for db in self.databases.values():
            for p in (db.data_path, db.log_path):
                if os.path.normcase(os.path.abspath(p)) == target:
                    return db
        return None

    def attach_sqlite(self, name: str, source: Path) -> Database:
        """Create database ``name`` holding a copy of the SQLite file ``source``."""
        data = self.data_dir / f"{name}.mdf"
        shutil.copyfile(source, data)
        return self.new_database(name, data)

    # -- the service account's view of the disk ------------------------------------------------

    def resolve(self, path: str, default_dir: Path) -> Path:
        p = Path(path)
        return p if p.is_absolute() else default_dir / p

    def is_denied(self, path: Path) -> bool:
        p = Path(os.path.abspath(path))
        return any(p == d or d in p.parents for d in self.denied)

    def write_error(self, file: Path) -> int | None:
        """OS error the service account meets creating ``file``: 3 no directory, 5 denied."""
        parent = file.parent
        if not parent.is_dir():
            return 3
        if self.is_denied(parent) or self.is_denied(file):
            return 5
        if file.is_dir():
            return 5
        return None

    def read_error(self, file: Path) -> int | None:
        if not file.parent.is_dir():
            return 3
        if not file.exists():
            return 2
        if file.is_dir():
            return 5
        return None
