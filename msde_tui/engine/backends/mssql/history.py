"""What is backed up, and when: msdb's backup history of every database on the server.

Whoever made the backup — SSMS, a SQL Server Agent job, a maintenance plan, msde — SQL
Server records it in ``msdb.dbo.backupset``. ``read`` gives, per user database, its recovery
model, the finish time of its last full backup and of its last log backup, and the warnings a
DBA would raise (docs/OPERATIONS.md, "Backup history"):

- no full backup at all, or none for more than ``stale_days``;
- FULL (or BULK_LOGGED) recovery without any log backup: the log grows until the disk is full.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from msde_tui.engine.backends.mssql.driver import Session

DATABASES_SQL = (
    "SELECT name, recovery_model_desc, state_desc FROM sys.databases "
    "WHERE database_id > 4 ORDER BY name"
)
LAST_BACKUPS_SQL = (
    "SELECT database_name, type, MAX(backup_finish_date) AS last_finish "
    "FROM msdb.dbo.backupset GROUP BY database_name, type"
)
STALE_DAYS = 7


@dataclass(frozen=True)
class BackupState:
    database: str
    recovery_model: str
    state: str
    last_full: datetime | None
    last_log: datetime | None
    warnings: tuple[str, ...] = field(default=())

    def age_days(self, now: datetime) -> float | None:
        """Days since the last full backup (never below 0: the server's clock may run ahead)."""
        if self.last_full is None:
            return None
        return max(0.0, (now - self.last_full).total_seconds() / 86400)

    def age_text(self, now: datetime) -> str:
        days = self.age_days(now)
        if days is None:
            return "never"
        if days < 1:
            return f"{days * 24:.0f} h ago"
        return f"{days:.0f} days ago"


def _when(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def judge(
    database: str,
    recovery_model: str,
    state: str,
    last_full: datetime | None,
    last_log: datetime | None,
    now: datetime,
    stale_days: int = STALE_DAYS,
) -> BackupState:
    warnings: list[str] = []
    if last_full is None:
        warnings.append(f"{database} has never had a full backup.")
    elif (now - last_full).days >= stale_days:
        warnings.append(
            f"The last full backup of {database} is {(now - last_full).days} days old."
        )
    if recovery_model.upper() in ("FULL", "BULK_LOGGED") and last_log is None:
        warnings.append(
            f"{database} is in {recovery_model.upper()} recovery but its log is never backed "
            "up: the log grows until the disk is full. Schedule log backups, or switch it to "
            "SIMPLE recovery if point-in-time restores are not needed."
        )
    return BackupState(database, recovery_model, state, last_full, last_log, tuple(warnings))


async def read(session: Session, now: datetime | None = None) -> list[BackupState]:
    """Every user database with its last full and log backups (raises ``SqlFailure``)."""
    now = now or datetime.now()
    databases = await session.rows(DATABASES_SQL)
    last: dict[tuple[str, str], datetime] = {}
    for row in await session.rows(LAST_BACKUPS_SQL):
        when = _when(row.get("last_finish"))
        kind = str(row.get("type") or "").strip().upper()
        if when is not None:
            last[(str(row.get("database_name")).lower(), kind)] = when
    return [
        judge(
            str(row.get("name")),
            str(row.get("recovery_model_desc") or ""),
            str(row.get("state_desc") or ""),
            last.get((str(row.get("name")).lower(), "D")),
            last.get((str(row.get("name")).lower(), "L")),
            now,
        )
        for row in databases
    ]
