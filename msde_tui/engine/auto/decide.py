"""Is an automatic backup due, and which old backups does a successful one remove (pure).

``decide`` and ``plan_rotation`` apply the rules written at the top of ``auto.run``; same
inputs, same answer, no file read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from msde_tui.engine.auto.policy import Policy
from msde_tui.engine.auto.records import (
    BackupRecord,
    as_local,
)

LEFTOVER_GRACE = timedelta(hours=1)

Action = Literal["backup", "skip", "off", "error"]


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
        if record.verified or record.proven or record.created_at is None:
            continue  # a file with a proof of this dossier is never a leftover
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
