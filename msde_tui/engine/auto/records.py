"""What automatic backups know of one backup file: its record (from the proof beside it), the
time stamp in its name, the cache of checks already done, and the clock they decide with.
Shared by the run (``auto.run``), its SQL Server side (``auto.mssql``) and the Access one
(``backends.access.auto``), which import it; none of them imports another at load time."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from msde_tui.engine.atomic import write_atomic
from msde_tui.engine.naming import STAMP_FORMAT

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


def stamp_of(name: str) -> datetime | None:
    """The time stamp in a backup file name (``..._20261128_120631...``), or None."""
    match = re.search(r"_(\d{8}_\d{6})(?:_\d{1,3})?\.", name)
    if not match:
        return None
    try:
        return datetime.strptime(match[1], STAMP_FORMAT)
    except ValueError:
        return None


VERIFIED_CACHE = "verified.json"


EMBEDDED_BACKUP_RE = re.compile(
    r"^(?P<code>\d{3}[A-Z0-9]{1,12})_(?P<stamp>\d{8}_\d{6})(?:_\d{1,3})?\.sqlite\.bak$"
)


def backup_names(directory: Path) -> dict[str, list[str]]:
    """The embedded backup file names in ``directory``, by dossier code (one listing for all)."""
    found: dict[str, list[str]] = {}
    with os.scandir(directory) as entries:
        for entry in entries:
            match = EMBEDDED_BACKUP_RE.match(entry.name)
            if match:
                found.setdefault(match["code"], []).append(entry.name)
    return found


class VerifiedCache:
    """SHA-256 checks already done, by backup path, valid while size and mtime are unchanged.

    So that an hourly run does not re-read every backup: a file is re-hashed only when it is
    new or changed. Saved in ``<home>/auto/verified.json`` (never by a dry run).
    """

    def __init__(self, home: Path) -> None:
        self.path = Path(home) / AUTO_DIR / VERIFIED_CACHE
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            self.entries: dict[str, dict[str, Any]] = raw if isinstance(raw, dict) else {}
        except (OSError, ValueError):
            self.entries = {}
        # Backup directories listed once per run for every dossier (not once per dossier);
        # forgotten whenever this run writes or deletes a backup.
        self._listings: dict[Path, dict[str, list[str]]] = {}

    def listing(self, directory: Path) -> dict[str, list[str]]:
        """``backup_names(directory)``, listed at most once until ``forget_listings``."""
        found = self._listings.get(directory)
        if found is None:
            found = self._listings[directory] = backup_names(directory)
        return found

    def forget_listings(self) -> None:
        self._listings.clear()

    def lookup(self, path: Path, size: int, mtime_ns: int) -> str | None:
        entry = self.entries.get(str(path))
        if isinstance(entry, dict) and entry.get("size") == size and entry.get("mtime_ns") == mtime_ns:
            sha = entry.get("sha256")
            return sha if isinstance(sha, str) else None
        return None

    def store(self, path: Path, size: int, mtime_ns: int, sha: str) -> None:
        self.entries[str(path)] = {"size": size, "mtime_ns": mtime_ns, "sha256": sha}

    def save(self) -> None:
        alive = {k: v for k, v in self.entries.items() if Path(k).exists()}
        write_atomic(self.path, json.dumps(alive, indent=1, sort_keys=True).encode("utf-8"))
