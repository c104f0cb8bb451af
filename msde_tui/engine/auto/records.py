"""What automatic backups know of one backup file: its record (from the proof beside it), the
time stamp in its name, the cache of checks already done, and the clock they decide with.
Shared by the run (``auto.run``), its SQL Server side (``auto.mssql``) and the Access one
(``backends.access.auto``), which import it; none of them imports another at load time."""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from msde_tui.engine.atomic import write_atomic

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


_STAMP_RE = re.compile(r"_(\d{8}_\d{6})(?:_\d{1,3})?\.")


def stamp_of(name: str) -> datetime | None:
    """The time stamp in a backup file name (``..._20261128_120631...``), or None."""
    match = _STAMP_RE.search(name)
    if not match:
        return None
    digits = match[1]  # STAMP_FORMAT, read by slicing (strptime costs more than the rest of a look)
    try:
        return datetime(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]),
                        int(digits[9:11]), int(digits[11:13]), int(digits[13:15]))
    except ValueError:
        return None



VERIFIED_CACHE = "verified.json"
MOVEMENTS_MEMO = "movements.json"
# A dossier's state is trusted for its movement count only when the dossier was left alone this
# long before it was read: a write in the same tick of a coarse file clock (2 s on FAT) as the
# last one it was read after could otherwise leave size and times unchanged.
QUIET_NS = 2_000_000_000


def file_state(path: Path) -> list[int] | None:
    """What changes whenever SQLite writes the dossier file: the file's identity, size and
    times, and those of its ``-wal`` (in WAL mode a commit writes only there); None when it
    cannot be read."""
    try:
        main = os.stat(path)
    except OSError:
        return None
    state = [main.st_dev, main.st_ino, main.st_size, main.st_mtime_ns, main.st_ctime_ns]
    try:
        wal = os.stat(f"{path}-wal")
    except FileNotFoundError:
        return [*state, 0, 0, 0, 0]
    except OSError:
        return None
    return [*state, wal.st_ino, wal.st_size, wal.st_mtime_ns, wal.st_ctime_ns]


def _quiet(state: list[int], now_ns: int) -> bool:
    return now_ns - max(state[3], state[4], state[7], state[8]) > QUIET_NS


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
        # Movement counts read from dossiers, by dossier path, with the state (``file_state``)
        # they were read in: an unchanged dossier is not opened again (``<home>/auto/movements.json``).
        self.movements_path = self.path.with_name(MOVEMENTS_MEMO)
        try:
            raw = json.loads(self.movements_path.read_text(encoding="utf-8"))
            self.counted: dict[str, dict[str, Any]] = raw if isinstance(raw, dict) else {}
        except (OSError, ValueError):
            self.counted = {}

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

    def known_movements(self, dossier: Path) -> int | None:
        """The movement count of ``dossier`` when it was read in the state the file is in now."""
        entry = self.counted.get(str(dossier))
        if not isinstance(entry, dict) or entry.get("state") != file_state(dossier):
            return None
        count = entry.get("count")
        return count if isinstance(count, int) and not isinstance(count, bool) else None

    def remember_movements(self, dossier: Path, before: list[int] | None, count: int | None) -> None:
        """Keep ``count`` for the state the dossier was in when it was read (``before``, taken
        just before reading), if it still is in it now and was quiet then."""
        if before is None or count is None or file_state(dossier) != before:
            self.counted.pop(str(dossier), None)
            return
        if _quiet(before, time.time_ns()):
            self.counted[str(dossier)] = {"state": before, "count": count}

    def save(self) -> None:
        alive = {k: v for k, v in self.entries.items() if Path(k).exists()}
        write_atomic(self.path, json.dumps(alive, indent=1, sort_keys=True).encode("utf-8"))
        counted = {k: v for k, v in self.counted.items() if Path(k).exists()}
        write_atomic(self.movements_path, json.dumps(counted, sort_keys=True).encode("utf-8"))
