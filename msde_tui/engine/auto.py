"""Automatic backups (SPEC 5.1): decide, back up with verification, rotate; one run at a time.

The pieces, each usable alone:

- ``decide(policy, last, current_movements, now)``: pure; is a backup due, and why.
- ``plan_rotation(records, keep, ...)``: pure; which old backups a successful run removes.
- ``RunLock``: an OS-level lock file so that two runs never overlap (``Busy`` otherwise).
- ``run_auto(home, ...)``: applies the policy to every dossier of the list.

Rules (the document's "Opérationnelle" options, made precise):

- A backup is due when there is no verified backup yet, or when ``every_days`` calendar days
  (local time) passed since the last verified one, or when ``max_movements`` movements were
  added (or removed) since it, whichever comes first. 0 turns a trigger off; with both off,
  every run backs up (the scheduler then sets the rhythm).
- Only a backup whose proof says it was read back and checked ("verified") counts: for the
  decision, for ``keep`` and as "the last verified backup". A backup file without a valid proof
  (an interrupted or failed run) never counts.
- Rotation happens only after the new backup was made AND verified: it keeps the ``keep``
  newest verified backups and deletes the older ones, never the newest verified one. It also
  removes leftovers without a valid proof that are older than the new verified backup and were
  last written more than an hour ago (so a backup still being written is never touched).
  When the new backup fails, nothing at all is deleted.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Literal

from msde_tui.engine.atomic import write_atomic
from msde_tui.engine.errors import Busy
from msde_tui.engine.policy import Policy

AUTO_DIR = "auto"
LOCK_FILE = "auto.lock"
LAST_RUN_FILE = "last_run.json"
LEFTOVER_GRACE = timedelta(hours=1)

Action = Literal["backup", "skip", "off", "error"]
Clock = Callable[[], datetime]


def local_now() -> datetime:
    """The default clock: local time, naive, to the second."""
    return datetime.now().replace(microsecond=0)


def as_local(when: datetime) -> datetime:
    """A naive local datetime (aware values are converted to local time)."""
    if when.tzinfo is not None:
        return when.astimezone().replace(tzinfo=None)
    return when


# ----------------------------------------------------------------------------- records


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

    def sort_key(self) -> tuple[datetime, str]:
        return (as_local(self.created_at) if self.created_at else datetime.min, self.file)


def last_verified(records: list[BackupRecord]) -> BackupRecord | None:
    verified = [r for r in records if r.verified]
    return max(verified, key=BackupRecord.sort_key) if verified else None


# ----------------------------------------------------------------------------- decision


@dataclass(frozen=True)
class Decision:
    code: str
    action: Action
    reason: str
    days: int | None = None
    new_movements: int | None = None

    @property
    def text(self) -> str:
        return f"{self.code}: {self.action} — {self.reason}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def decide(
    code: str,
    policy: Policy,
    last: BackupRecord | None,
    current_movements: int | None,
    now: datetime,
) -> Decision:
    """Is a backup of dossier ``code`` due now? Pure: same inputs, same answer."""
    if not policy.enabled:
        return Decision(code, "off", "automatic backups are off for this dossier")
    if last is None or last.created_at is None:
        return Decision(code, "backup", "no verified backup yet")
    days = max(0, (as_local(now).date() - as_local(last.created_at).date()).days)
    new: int | None = None
    if current_movements is not None and last.movements is not None:
        new = abs(current_movements - last.movements)
    if not policy.every_days and not policy.max_movements:
        return Decision(code, "backup", "no trigger set: every run backs up", days, new)

    due: list[str] = []
    not_due: list[str] = []
    if policy.max_movements:
        if new is None:
            not_due.append("movement counter unknown")
        elif new >= policy.max_movements:
            due.append(f"{_plural(new, 'movement')} since last verified backup ≥ {policy.max_movements}")
        else:
            not_due.append(f"{_plural(new, 'movement')} < {policy.max_movements}")
    if policy.every_days:
        if days >= policy.every_days:
            due.append(f"{_plural(days, 'day')} since last verified backup ≥ {policy.every_days}")
        else:
            not_due.append(f"{_plural(days, 'day')} < {policy.every_days}")
    if due:
        return Decision(code, "backup", " and ".join(due), days, new)
    return Decision(code, "skip", " and ".join(not_due), days, new)


# ----------------------------------------------------------------------------- rotation


def plan_rotation(
    records: list[BackupRecord],
    keep: int,
    *,
    now: datetime,
    grace: timedelta = LEFTOVER_GRACE,
) -> list[BackupRecord]:
    """Backups to delete after a successful verified backup (``records`` include the new one).

    Keeps the ``keep`` newest verified backups (at least one, always the newest), deletes the
    older verified ones, and the leftovers without a valid proof that are older than the newest
    verified backup and untouched for ``grace``. Never call this when the new backup failed.
    """
    verified = sorted((r for r in records if r.verified), key=BackupRecord.sort_key, reverse=True)
    if not verified:
        return []
    doomed = verified[max(1, keep):]
    newest = verified[0].sort_key()
    for record in records:
        if record.verified or record.created_at is None:
            continue
        if record.sort_key() >= newest:
            continue
        if record.modified_at is not None and as_local(now) - as_local(record.modified_at) < grace:
            continue
        doomed.append(record)
    return doomed


def predicted_rotation(records: list[BackupRecord], keep: int, *, now: datetime) -> list[BackupRecord]:
    """What ``plan_rotation`` would delete once one more verified backup is added (dry-run)."""
    future = BackupRecord(file="\x00new", created_at=datetime.max, movements=None, verified=True)
    return plan_rotation([*records, future], keep, now=now)


# ----------------------------------------------------------------------------- lock


class RunLock:
    """An OS-level exclusive lock on ``<home>/auto/auto.lock`` (flock on POSIX, msvcrt on Windows).

    The OS releases it when the process ends, even after a crash or a kill, so a stale lock file
    never blocks later runs. The file itself stays (removing it would race with other runs).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._handle: IO[str] | None = None

    @classmethod
    def for_home(cls, home: Path) -> RunLock:
        return cls(Path(home) / AUTO_DIR / LOCK_FILE)

    def holder(self) -> str:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace").strip("\x00 \n")
        except OSError:
            return ""
        return text

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - kept open while locked
        try:
            _lock(handle)
        except OSError as exc:
            handle.close()
            who = self.holder()
            raise Busy(
                "Another 'msde auto' run is in progress" + (f" ({who})." if who else "."),
                "Wait for it to finish; runs never overlap. If no run is active, another program "
                f"holds {self.path}.",
            ) from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f" pid {os.getpid()}, started {local_now().isoformat(sep=' ')}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        try:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            _unlock(handle)
        finally:
            handle.close()

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(handle: IO[str]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(handle: IO[str]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# ----------------------------------------------------------------------------- last run


@dataclass
class DossierOutcome:
    """What a run did for one dossier (kept in last_run.json for the wizard)."""

    code: str
    action: Action
    reason: str
    ok: bool = True
    message: str = ""
    hint: str = ""
    file: str | None = None
    verified: bool = False
    deleted: list[str] = field(default_factory=list)
    would_delete: list[str] = field(default_factory=list)
    last_verified_file: str | None = None
    last_verified_at: str | None = None
    at: str = ""

    @property
    def text(self) -> str:
        line = f"{self.code}: {self.action} — {self.reason}"
        if self.action == "backup" and not self.ok:
            line += f" — FAILED: {self.message}"
        elif self.action == "error":
            line = f"{self.code}: error — {self.message}"
        return line


@dataclass
class RunReport:
    started_at: str
    finished_at: str = ""
    dry_run: bool = False
    dossiers: list[DossierOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(d.ok for d in self.dossiers)

    def to_json(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "dossiers": [asdict(d) for d in self.dossiers],
        }


def last_run_file(home: Path) -> Path:
    return Path(home) / AUTO_DIR / LAST_RUN_FILE


def save_last_run(home: Path, report: RunReport) -> None:
    data = json.dumps(report.to_json(), indent=2, ensure_ascii=False).encode("utf-8")
    write_atomic(last_run_file(home), data)


def load_last_run(home: Path) -> dict[str, Any] | None:
    """The last real (not dry) run's report, or None when there was none or it is unreadable."""
    path = last_run_file(home)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) else None
