"""Immutable plans: what an operation will do. Built by the wizard or the CLI, run by the engine.

The wizard passes a plan from step to step with ``dataclasses.replace``; nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
    # SQL Server: after verifying, restore the backup under a scratch name, DBCC CHECKDB it
    # and drop it (engine/backends/mssql/testrestore.py)
    test_restore: bool = False
    force: bool = False  # Access: back up even with a lock file beside it (copy may be inconsistent)


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
    position: int | None = None  # SQL Server: verify only this backup set (else every set)
    test_restore: bool = False  # SQL Server: also a test restore (scratch database + CHECKDB)


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
    # SQL Server: which backup set of the file (RESTORE ... WITH FILE = n); None = the only
    # full set (a file holding several must name one)
    position: int | None = None
    # SQL Server: the user agreed to close the other sessions on the database replaced
    # (SINGLE_USER WITH ROLLBACK IMMEDIATE, then MULTI_USER again whatever happens)
    close_sessions: bool = False


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
    # The plan of an operation registered in ``engine.runner`` (export, PBF, archive, cut...):
    # its own choice screen puts it here; the summary, the job and the CLI run it as it is.
    op: Any = None
    # What a step screen held when the user went Back from it (per screen: field id -> value),
    # shown again when that step comes back; the wizard's memory only (a job's plan is written
    # field by field and leaves it out, see engine/runs/jobspec.py).
    drafts: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()


# ------------------------------------------------------------------------------------------
# Plans of the operations registered in engine.runner. Dossiers are named by their code (or
# number); a field marked SECRET (a passphrase, a password) is never written to a file: a job
# gets it through its stdin pipe (engine.jobs).

SECRET: dict[str, Any] = {"secret": True}


def secret() -> Any:
    return field(default="", repr=False, metadata=SECRET)


@dataclass(frozen=True)
class PackPlan:
    """A PBF of each dossier, or with ``partial`` a PTF of what changed since the last one."""

    dossiers: tuple[str, ...]
    directory: str
    partial: bool = False
    passphrase: str = secret()
    password: str = secret()  # SQL Server dossiers: the connection's password


@dataclass(frozen=True)
class ExportCopyPlan:
    """The export copy E<name> of each dossier: a file in ``directory`` or a database on ``to``."""

    dossiers: tuple[str, ...]
    to: str = "embedded"  # "embedded" or a connection profile
    directory: str = ""
    password: str = secret()  # of the profile written to (or of the dossiers' server)


@dataclass(frozen=True)
class ImportPlan:
    """A PBF, an export copy or a cut file becomes dossier ``number`` of the list."""

    file: str  # a file, or with source "database" an export copy database's name
    source: str = "pbf"  # pbf | copy | cut | database
    number: str = ""  # "" = the first free number
    to: str = "embedded"  # or a connection profile (PBF, database; "" = the database's server)
    from_profile: str = ""  # source "database": the server holding the export copy database
    passphrase: str = secret()
    password: str = secret()


@dataclass(frozen=True)
class ApplyPlan:
    """A PTF applied to ``dossier`` (its code; "" = the dossier it follows), in one transaction."""

    file: str
    dossier: str
    passphrase: str = secret()
    password: str = secret()


@dataclass(frozen=True)
class ArchivePlan:
    """For each dossier code, the fiscal years archived into a PAF in ``directory``."""

    directory: str
    years: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class UnarchivePlan:
    """For each PAF file, the archived years put back into the dossier it came from."""

    items: tuple[tuple[str, tuple[str, ...]], ...]  # (PAF, years; () = every archived year)
    delete: bool = False
    dossier: str = ""  # the dossier to put them into ("" = the one each PAF came from)


@dataclass(frozen=True)
class CutPlan:
    """The fiscal years of ``dossier`` before ``keep_from`` move into a new dossier _CUTnnn."""

    dossier: str
    keep_from: str
    clean_references: bool = False


@dataclass(frozen=True)
class AuditPlan:
    """A tax-audit copy Admin<code> of ``years`` of ``dossier``, with FEC files if asked."""

    dossier: str
    years: tuple[str, ...]
    directory: str
    to: str = "embedded"  # or a connection profile (database AdminPW...)
    simplified: bool = False
    attachments: bool = True
    fec: bool = False
    encoding: str = "utf-8"
    fec_id: str = ""  # the identifier the FEC files are named by, where the dossier has no SIREN
    provisional: bool = False  # FEC of an open year or with drafts: written as provisional
    paf: str = ""  # an archived year's PAF (file or directory): its entries go into the copy
    password: str = secret()  # of the profile written to
    source_password: str = secret()  # a SQL Server dossier: its own server's password


@dataclass(frozen=True)
class AutoRunPlan:
    """One run of the automatic backups now (the policy decides which dossiers are due)."""

    only: tuple[str, ...] = ()
    dry_run: bool = False  # decide and say why, change nothing
