"""Immutable plans: what an operation will do. Built by the wizard or the CLI, run by the engine.

The wizard passes a plan from step to step with ``dataclasses.replace``; nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from msde_tui.engine import naming
from msde_tui.engine.catalog import Dossier

OPERATIONS = ("backup", "restore", "verify")


@dataclass(frozen=True)
class Connection:
    """Where dossiers live: the embedded default, or a SQL Server connection profile.

    The password is held in memory only, never written anywhere.
    """

    kind: str = "embedded"  # "embedded" | "mssql"
    profile: str | None = None  # saved profile name, if any
    host: str = ""
    port: int = 1433
    user: str = ""
    password: str = ""  # memory only
    driver: str = "pymssql"  # pymssql | pyodbc | mssql-python

    @property
    def is_embedded(self) -> bool:
        return self.kind == "embedded"

    def __repr__(self) -> str:  # never show the password
        return (
            f"Connection(kind={self.kind!r}, profile={self.profile!r}, host={self.host!r}, "
            f"port={self.port}, user={self.user!r}, driver={self.driver!r})"
        )


@dataclass(frozen=True)
class BackupOptions:
    verify: bool = True
    copy_only: bool = True  # SQL Server: do not break the office's own backup chain
    compression: bool | None = None  # None = when the edition allows it (never on Express)
    stats: int = 5


@dataclass(frozen=True)
class BackupPlan:
    connection: Connection
    dossiers: tuple[Dossier, ...]
    directory: str  # for SQL Server: a path on the server host
    options: BackupOptions = BackupOptions()
    concurrency: int = 0  # 0 = follow the machine (runs.concurrency)


@dataclass(frozen=True)
class VerifyPlan:
    connection: Connection
    files: tuple[str, ...]  # for SQL Server: paths on the server host
    concurrency: int = 0  # 0 = follow the machine (runs.concurrency)


@dataclass(frozen=True)
class RestoreItem:
    source: str  # backup file (server-side path for SQL Server)
    number: str  # target dossier number
    short: str  # target short name
    company: str = ""
    replace: bool = False  # overwrite an existing dossier (after a safety copy)
    data_dir: str | None = None  # SQL Server: where data files go (default: instance default)
    log_dir: str | None = None
    # SQL Server: the database restored into; None = the one ``restore_database`` decides
    # (the engine fills it in from the dossier list when the restore runs)
    database: str | None = None


def restore_database(number: str, short: str, listed: Dossier | None = None) -> str:
    """The SQL Server database a restore as dossier ``number`` writes into.

    Restoring over a listed SQL Server dossier replaces the database that dossier uses,
    whatever its name (``msde add --database X``); any other number gets the standard name
    ``PW<number><short>``. ``listed`` is the dossier list's entry for ``number``, if any.
    """
    if listed is not None and not listed.is_embedded and listed.location:
        return listed.location
    return naming.database_name(number, short)


@dataclass(frozen=True)
class RestorePlan:
    connection: Connection
    items: tuple[RestoreItem, ...]
    verify_first: bool = True
    concurrency: int = 1


@dataclass(frozen=True)
class WizardPlan:
    """Everything the MSDE wizard has asked so far (each step returns a new one)."""

    connection: Connection = Connection()
    operation: str = "backup"
    verify_after: bool = True
    directory: str = ""
    data_dir: str = ""  # restore: where data files go
    dossiers: tuple[Dossier, ...] = ()
    restore_items: tuple[RestoreItem, ...] = ()
