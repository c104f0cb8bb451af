"""What automatic backups know of one backup file: its record (from the proof beside it) and
the clock they decide with. Shared by the run (``auto``) and its SQL Server side
(``auto_mssql``), which import it; neither imports the other at load time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

AUTO_DIR = "auto"


def local_now() -> datetime:
    """The default clock: local time, naive, to the second."""
    return datetime.now().replace(microsecond=0)


def as_local(when: datetime) -> datetime:
    """A naive local datetime (aware values are converted to local time)."""
    if when.tzinfo is not None:
        return when.astimezone().replace(tzinfo=None)
    return when


@dataclass(frozen=True)
class BackupRecord:
    """One backup of a dossier as found in the target directory.

    ``verified`` is True only when a valid proof says the backup was read back and checked;
    ``created_at`` and ``movements`` come from that proof (for a file without a valid proof,
    ``created_at`` is the time stamp in its name and ``note`` says what is wrong).
    """

    file: str
    created_at: datetime | None
    movements: int | None
    verified: bool
    modified_at: datetime | None = None  # last write of the file (leftover grace period)
    note: str = ""
    proven: bool = False  # a readable proof of THIS dossier is beside it (verified or not)

    def sort_key(self) -> tuple[datetime, str]:
        return (as_local(self.created_at) if self.created_at else datetime.min, self.file)


def last_verified(records: list[BackupRecord]) -> BackupRecord | None:
    verified = [r for r in records if r.verified]
    return max(verified, key=BackupRecord.sort_key) if verified else None
