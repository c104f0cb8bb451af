"""What the connected login may do, asked before anything runs.

Least-privilege logins are common in offices (a ``db_backupoperator`` login for the backups).
Since SQL Server 2008, ``RESTORE VERIFYONLY``, ``HEADERONLY`` and ``FILELISTONLY`` need
CREATE DATABASE permission, so such a login can back up but not verify — its automatic
backups would all fail verification and never be recorded or rotated. ``read`` asks the
server once (``IS_SRVROLEMEMBER``, ``HAS_PERMS_BY_NAME``, which need no special right) and
``LoginRights`` says, per operation, allowed or not and what is missing
(docs/OPERATIONS.md, "Login rights per operation").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from msde_tui.engine.backends.mssql import tsql
from msde_tui.engine.backends.mssql.driver import Session, SqlFailure

SERVER_SQL = (
    "SELECT IS_SRVROLEMEMBER(N'sysadmin') AS sysadmin, "
    "IS_SRVROLEMEMBER(N'dbcreator') AS dbcreator, "
    "HAS_PERMS_BY_NAME(NULL, NULL, N'CREATE ANY DATABASE') AS create_any_database, "
    "HAS_PERMS_BY_NAME(NULL, NULL, N'VIEW SERVER STATE') AS view_server_state, "
    "HAS_PERMS_BY_NAME(N'msdb.dbo.backupset', N'OBJECT', N'SELECT') AS read_history"
)


def build_database_rights(db: str) -> str:
    """BACKUP DATABASE permission on one database (db_backupoperator, db_owner)."""
    return (
        "SELECT HAS_PERMS_BY_NAME("  # noqa: S608
        + tsql.quote_literal(db)
        + ", N'DATABASE', N'BACKUP DATABASE') AS backup_database"
    )


@dataclass(frozen=True)
class Right:
    operation: str
    allowed: bool
    needs: str  # what grants it, in the words a DBA uses

    def label(self) -> str:
        return f"{'yes' if self.allowed else 'NO '}  {self.operation}  ({self.needs})"


@dataclass
class LoginRights:
    login: str
    sysadmin: bool = False
    dbcreator: bool = False
    create_any_database: bool = False
    view_server_state: bool = False
    read_history: bool = False
    backup: dict[str, bool] = field(default_factory=dict)  # database -> BACKUP DATABASE
    new_browse: bool = True  # SQL Server 2017+: sys.dm_os_enumerate_filesystem

    @property
    def can_verify(self) -> bool:
        return self.sysadmin or self.create_any_database

    @property
    def can_replace(self) -> bool:
        return self.sysadmin or self.dbcreator

    def can_backup(self, database: str) -> bool:
        return self.sysadmin or self.backup.get(database, False)

    def rights(self) -> list[Right]:
        found = [
            Right(f"back up {db}", self.can_backup(db), "db_backupoperator or db_owner on it")
            for db in sorted(self.backup)
        ]
        browse = self.sysadmin or (self.new_browse and self.view_server_state)
        found += [
            Right("verify backups, read their contents", self.can_verify,
                  "CREATE DATABASE permission: dbcreator or sysadmin"),
            Right("test restore", self.can_verify, "CREATE DATABASE permission: dbcreator or sysadmin"),
            Right("restore as a new dossier", self.can_verify,
                  "CREATE DATABASE permission: dbcreator or sysadmin"),
            Right("restore over a dossier, close its sessions", self.can_replace,
                  "dbcreator or sysadmin"),
            Right("browse server folders", browse,
                  "VIEW SERVER STATE (SQL Server 2017+) or sysadmin"),
            Right("delete old automatic backups", self.sysadmin, "sysadmin (xp_delete_file)"),
            Right("read the backup history", self.sysadmin or self.read_history,
                  "SELECT on msdb.dbo.backupset"),
        ]  # fmt: skip
        return found

    def missing(self) -> list[Right]:
        return [r for r in self.rights() if not r.allowed]


def _flag(row: dict[str, Any], name: str) -> bool:
    value = row.get(name)
    try:
        return int(value) == 1  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


async def read(
    session: Session, login: str, databases: Iterable[str] = (), *, version_major: int = 16
) -> LoginRights:
    """The login's rights (raises ``SqlFailure`` when the server cannot say)."""
    rows = await session.rows(SERVER_SQL)
    row = rows[0] if rows else {}
    rights = LoginRights(
        login=login,
        sysadmin=_flag(row, "sysadmin"),
        dbcreator=_flag(row, "dbcreator"),
        create_any_database=_flag(row, "create_any_database"),
        view_server_state=_flag(row, "view_server_state"),
        read_history=_flag(row, "read_history"),
        new_browse=version_major >= 14,
    )
    for db in databases:
        try:
            found = await session.rows(build_database_rights(db))
        except SqlFailure:
            found = []
        rights.backup[db] = bool(found) and _flag(found[0], "backup_database")
    return rights
