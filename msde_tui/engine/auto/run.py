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
- SQL Server dossiers (``auto_mssql``): the movement counter is counted on the server; the
  backups that count are the ones this tool recorded as verified in
  ``<home>/auto/server_backups.json``, each cross-checked with ``RESTORE HEADERONLY`` (a file
  gone or replaced never counts, is never deleted); rotation deletes on the server with
  ``xp_delete_file``. The password comes from ``MSDE_PASSWORD_<PROFILE>`` or ``MSDE_PASSWORD``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from msde_tui.engine import auditlog, proof
from msde_tui.engine.atomic import write_atomic
from msde_tui.engine.auto import policy as policy_mod
from msde_tui.engine.auto.policy import AutoConfig, Policy
from msde_tui.engine.auto.records import (
    AUTO_DIR,
    BackupRecord,
    VerifiedCache,
    as_local,
    backup_names,
    last_verified,
    local_now,
    stamp_of,
)
from msde_tui.engine.backends.embedded import dossier as embedded
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import BackupInvalid, Busy, DossierNotFound, MsdeError
from msde_tui.engine.events import DossierResult, Event
from msde_tui.engine.naming import proof_name
from msde_tui.engine.plans import BackupOptions, BackupPlan, Connection
from msde_tui.osdep import ExclusiveLock, LockBusy

LOCK_FILE = "auto.lock"
LAST_RUN_FILE = "last_run.json"
LEFTOVER_GRACE = timedelta(hours=1)

Action = Literal["backup", "skip", "off", "error"]
Clock = Callable[[], datetime]


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


# ----------------------------------------------------------------------------- lock


class RunLock:
    """An OS-level exclusive lock on ``<home>/auto/auto.lock`` (``osdep.ExclusiveLock``).

    The OS releases it when the process ends, even after a crash or a kill, so a stale lock file
    never blocks later runs. The file itself stays (removing it would race with other runs).
    Who holds it is written beside, in ``auto.lock.holder`` (a locked file cannot be read by
    others on Windows).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = ExclusiveLock(self.path)

    @classmethod
    def for_home(cls, home: Path) -> RunLock:
        return cls(Path(home) / AUTO_DIR / LOCK_FILE)

    @property
    def holder_file(self) -> Path:
        return self.path.with_name(self.path.name + ".holder")

    def holder(self) -> str:
        try:
            text = self.holder_file.read_text(encoding="utf-8", errors="replace").strip("\x00 \n")
        except OSError:
            return ""
        return text

    def acquire(self) -> None:
        try:
            self._lock.acquire()
        except LockBusy as exc:
            who = self.holder()
            raise Busy(
                "Another 'msde auto' run is in progress" + (f" ({who})." if who else "."),
                "Wait for it to finish; runs never overlap. If no run is active, another program "
                f"holds {self.path}.",
            ) from exc
        try:
            self.holder_file.write_text(
                f"pid {os.getpid()}, started {local_now().isoformat(sep=' ')}\n", encoding="utf-8"
            )
        except OSError:
            pass  # the lock is what matters; the note only helps the message

    def release(self) -> None:
        if not self._lock.held:
            return
        with contextlib.suppress(OSError):
            self.holder_file.write_text("", encoding="utf-8")
        self._lock.release()

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


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
    # SQL Server with the policy's test_restore: the scratch restore's outcome (database,
    # checkdb "clean" or "damaged", page_verify), kept in last_run.json
    test_restore: dict[str, object] | None = None

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


# ----------------------------------------------------------------------------- targets


class Target(Protocol):
    """Where one dossier's automatic backups live, and how to look at them."""

    dossier: Dossier
    directory: str  # as passed to the backup plan and shown to people
    connection: Connection

    async def movements(self) -> int | None: ...

    async def backups(self) -> list[BackupRecord]: ...

    async def delete(self, record: BackupRecord) -> None: ...

    async def recorded(self, result: DossierResult, movements: int | None, at: datetime) -> None:
        """A backup was made and verified: remember it where ``backups()`` will find it."""
        ...

    async def aclose(self) -> None: ...


BackupRunner = Callable[[BackupPlan], AsyncIterator[Event]]
TargetFactory = Callable[[Path, Dossier, Policy, "VerifiedCache"], Target]


class EmbeddedTarget:
    """An embedded dossier; its backups are ``<code>_<stamp>.sqlite.bak`` + proof in a local dir."""

    def __init__(self, home: Path, dossier: Dossier, directory: Path, cache: VerifiedCache | None = None) -> None:
        self.home = Path(home)
        self.dossier = dossier
        self.path = Path(directory)
        self.directory = str(self.path)
        self.connection = Connection()
        self.cache = cache

    async def movements(self) -> int | None:
        return await asyncio.to_thread(self._movements)

    def _movements(self) -> int | None:
        path = self.dossier.path(self.home)
        if not path.exists():
            raise DossierNotFound(
                f"The file of dossier {self.dossier.code} ({path}) is missing.",
                "Restore it, or remove the dossier from the list.",
            )
        # A plain connection, closed at once: as the last one it removes the -wal/-shm files
        # it needed (a read-only one would leave them behind). Only the counter is read, so
        # none of a working connection's settings (journal mode, foreign keys) are set.
        try:
            conn = sqlite3.connect(path, timeout=10)
        except sqlite3.OperationalError:  # no write access to the dossier's directory
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            return embedded.movement_count(conn)
        finally:
            conn.close()

    async def backups(self) -> list[BackupRecord]:
        return await asyncio.to_thread(self._backups)

    def _backups(self) -> list[BackupRecord]:
        if not self.path.is_dir():
            return []
        names = (self.cache.listing(self.path) if self.cache is not None
                 else backup_names(self.path)).get(self.dossier.code, [])
        records = []
        for name in names:
            entry = self.path / name
            if not entry.is_file():
                continue
            records.append(read_embedded_record(entry, self.dossier, self.cache))
        return records

    async def delete(self, record: BackupRecord) -> None:
        await asyncio.to_thread(_delete_local, Path(record.file))
        if self.cache is not None:
            self.cache.forget_listings()

    async def recorded(self, result: DossierResult, movements: int | None, at: datetime) -> None:
        """Nothing to do: the proof beside the file is the record."""

    async def aclose(self) -> None:
        """Nothing to close."""


# 001SOC_20261128_120631.sqlite.bak, or ..._120631_2.sqlite.bak when that second was taken
def _delete_local(path: Path) -> None:
    # the proof first: a crash in between leaves a file without proof, which never counts
    Path(proof_name(str(path))).unlink(missing_ok=True)
    path.unlink(missing_ok=True)


# ----------------------------------------------------------------------------- the run


@dataclass
class _Work:
    dossier: Dossier
    policy: Policy
    target: Target | None
    outcome: DossierOutcome
    records: list[BackupRecord] = field(default_factory=list)
    movements: int | None = None  # the counter before the backup (a new backup's record)


def _iso(when: datetime | None) -> str | None:
    return as_local(when).isoformat(sep=" ", timespec="seconds") if when else None


async def run_auto(
    home: Path,
    *,
    config: AutoConfig | None = None,
    clock: Clock = local_now,
    dry_run: bool = False,
    only: list[str] | None = None,
    make_target: TargetFactory | None = None,
    backup_runner: BackupRunner | None = None,
    on_outcome: Callable[[DossierOutcome], None] | None = None,
) -> RunReport:
    """Apply the policy to every dossier of the list (or ``only`` these codes/numbers).

    Holds the run lock for the whole run (``Busy`` when another run holds it). With
    ``dry_run`` nothing is written: not the backups, not the rotation, not last_run.json.
    """
    home = Path(home)
    config = config if config is not None else policy_mod.load(home)
    catalog = Catalog(home)
    dossiers = [catalog.get(ref) for ref in only] if only else catalog.dossiers()
    make_target = make_target or default_target
    report = RunReport(started_at=_iso(clock()) or "", dry_run=dry_run)
    real_start = time.time()

    lock = RunLock.for_home(home)
    if not dry_run:
        lock.acquire()
    works: list[_Work] = []
    try:
        cache = VerifiedCache(home)
        for d in dossiers:
            works.append(await _decide_one(home, d, config.effective(d.code), make_target, cache, clock, dry_run))
        due = [w for w in works if w.outcome.action == "backup" and w.target is not None]
        if not dry_run and due:
            results = await _backup_all(home, due, backup_runner)
            cache.forget_listings()  # the backups just written are in the directories now
            for work in due:
                await _after_backup(work, results.get(work.dossier.code), clock)
        for work in works:
            report.dossiers.append(work.outcome)
            if on_outcome is not None:
                on_outcome(work.outcome)
        report.finished_at = _iso(clock()) or ""
        if not dry_run:
            cache.save()
            _carry_forward(home, report)
            save_last_run(home, report)
            _audit(home, report, real_start)
    finally:
        for work in works:
            await _close(work.target)
        if not dry_run:
            lock.release()
    return report


async def _close(target: Target | None) -> None:
    """Close what a target holds open (a SQL Server connection); never raises."""
    close = getattr(target, "aclose", None)
    if close is not None:
        with contextlib.suppress(Exception):
            await close()


def default_target(home: Path, dossier: Dossier, policy: Policy, cache: VerifiedCache) -> Target:
    if dossier.is_embedded:
        return EmbeddedTarget(home, dossier, policy.target_dir(home), cache)
    if dossier.backend == "access":
        from msde_tui.engine.backends.access.auto import AccessTarget

        return AccessTarget(dossier, policy.target_dir(home), cache)
    from msde_tui.engine.auto import mssql as auto_mssql  # late: loads the SQL Server drivers

    return auto_mssql.MssqlTarget(home, dossier, policy, auto_mssql.server_connection(home, dossier))


async def _decide_one(
    home: Path,
    dossier: Dossier,
    policy: Policy,
    make_target: TargetFactory,
    cache: VerifiedCache,
    clock: Clock,
    dry_run: bool,
) -> _Work:
    now = clock()
    outcome = DossierOutcome(code=dossier.code, action="off", reason="", at=_iso(now) or "")
    work = _Work(dossier, policy, None, outcome)
    if not policy.enabled:
        decision = decide(dossier.code, policy, None, None, now)
        outcome.reason = decision.reason
        return work
    target: Target | None = None
    try:
        target = make_target(home, dossier, policy, cache)
        records = await target.backups()
        last = last_verified(records)
        current = await target.movements()
    except MsdeError as exc:
        await _close(target)
        outcome.action, outcome.ok = "error", False
        outcome.reason, outcome.message, outcome.hint = "cannot look at this dossier", exc.message, exc.hint
        return work
    except OSError as exc:
        await _close(target)
        outcome.action, outcome.ok = "error", False
        outcome.reason = "cannot look at this dossier"
        outcome.message = f"{exc.strerror or exc} ({exc.filename or ''})".replace(" ()", "")
        outcome.hint = "Check that the backup directory and the dossier file can be read."
        return work
    work.target, work.records, work.movements = target, records, current
    decision = decide(dossier.code, policy, last, current, now)
    outcome.action, outcome.reason = decision.action, decision.reason
    if last is not None:
        outcome.last_verified_file, outcome.last_verified_at = last.file, _iso(last.created_at)
    if dry_run and decision.action == "backup":
        outcome.would_delete = [r.file for r in predicted_rotation(records, policy.keep, now=now)]
    return work


async def _backup_all(
    home: Path, due: list[_Work], runner: BackupRunner | None
) -> dict[str, DossierResult]:
    """One backup plan per (connection, directory), verification on; a result per dossier."""
    if runner is None:
        from msde_tui.engine.runs import (
            runner as operations,  # late import: the backup engine is heavy
        )

        def runner(plan: BackupPlan) -> AsyncIterator[Event]:
            return operations.run_backup(plan, home=home)

    groups: dict[tuple[str, str | None, str, bool], list[_Work]] = {}
    for work in due:
        assert work.target is not None
        key = (work.target.connection.kind, work.target.connection.profile, work.target.directory,
               work.policy.test_restore)
        groups.setdefault(key, []).append(work)
    results: dict[str, DossierResult] = {}
    for works in groups.values():
        target = works[0].target
        assert target is not None
        for work in works:
            if work.target is not None and work.target.connection.is_embedded:  # a local directory
                try:
                    Path(work.target.directory).mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    results[work.dossier.code] = DossierResult(
                        dossier=work.dossier.code, ok=False,
                        message=f"Cannot create the backup directory {work.target.directory} ({exc.strerror or exc}).",
                        hint="Create it or choose another one: msde auto policy set --dir DIR",
                    )
        todo = [w for w in works if w.dossier.code not in results]
        if not todo:
            continue
        plan = BackupPlan(
            connection=target.connection,
            dossiers=tuple(w.dossier for w in todo),
            directory=target.directory,
            options=BackupOptions(verify=True, test_restore=works[0].policy.test_restore),
        )
        try:
            async for event in runner(plan):
                if isinstance(event, DossierResult):
                    results[event.dossier] = event
        except MsdeError as exc:
            for work in todo:
                results.setdefault(work.dossier.code, DossierResult(
                    dossier=work.dossier.code, ok=False, message=exc.message, hint=exc.hint))
    return results


async def _after_backup(work: _Work, result: DossierResult | None, clock: Clock) -> None:
    """Record the backup's outcome; rotate only after a verified success."""
    outcome = work.outcome
    assert work.target is not None
    if result is None:
        outcome.ok, outcome.message = False, "The backup engine gave no result for this dossier."
        return
    outcome.file = result.files[0] if result.files else None
    outcome.verified = result.verified
    tested = result.details.get("test_restore")
    if isinstance(tested, dict):
        outcome.test_restore = tested
    if not result.ok or not result.verified:
        outcome.ok = False
        outcome.message = result.message or "The backup was made but could not be verified."
        outcome.hint = result.hint or "Nothing was deleted; the previous backups are kept."
        return
    try:
        await work.target.recorded(result, work.movements, clock())
    except (MsdeError, OSError) as exc:
        outcome.ok = False
        outcome.message = f"The backup was made and verified but cannot be recorded: {getattr(exc, 'message', exc)}"
        outcome.hint = getattr(exc, "hint", "") or "Nothing was deleted; the previous backups are kept."
        return
    try:
        records = await work.target.backups()
        newest = last_verified(records)
        doomed = plan_rotation(records, work.policy.keep, now=clock())
        for record in doomed:
            await work.target.delete(record)
            outcome.deleted.append(record.file)
    except (MsdeError, OSError) as exc:
        outcome.ok = False
        outcome.message = f"The backup is made and verified, but rotation failed: {getattr(exc, 'message', exc)}"
        outcome.hint = (getattr(exc, "hint", "") or "Check the rights on the backup directory.") + (
            " No verified backup was lost.")
        return
    if newest is not None:
        outcome.last_verified_file, outcome.last_verified_at = newest.file, _iso(newest.created_at)


def _carry_forward(home: Path, report: RunReport) -> None:
    """Keep each dossier's last verified backup known across runs that skip it."""
    previous = load_last_run(home) or {}
    by_code = {d.get("code"): d for d in previous.get("dossiers", []) if isinstance(d, dict)}
    for outcome in report.dossiers:
        old = by_code.get(outcome.code)
        if old and outcome.last_verified_file is None:
            outcome.last_verified_file = old.get("last_verified_file")
            outcome.last_verified_at = old.get("last_verified_at")


def _audit(home: Path, report: RunReport, started: float) -> None:
    backed = [d for d in report.dossiers if d.action == "backup"]
    if not backed and report.ok:
        return  # nothing happened: keep the audit log for operations
    record = auditlog.Record(
        operation="auto",
        dossiers=[d.code for d in report.dossiers if d.action in ("backup", "error")],
        options={"deleted": [f for d in report.dossiers for f in d.deleted]},
        result="ok" if report.ok else ("failed" if not any(d.ok for d in backed) else "partial"),
        message="; ".join(d.text for d in report.dossiers if not d.ok),
        files=[d.file for d in backed if d.file and d.ok],
    )
    auditlog.append(home, record, started=started)


# ----------------------------------------------------------------------------- reading proofs

def read_embedded_record(path: Path, dossier: Dossier | None = None,
                         cache: VerifiedCache | None = None) -> BackupRecord:
    """A backup file and what its proof says.

    ``verified`` only when the proof is readable, names this dossier (code, and GUID when both
    are known), and the file's size and SHA-256 equal the proof's (the hash is taken from
    ``cache`` when the file did not change since it was last checked).
    """
    path = Path(path)
    stat = path.stat()
    modified = datetime.fromtimestamp(stat.st_mtime).replace(microsecond=0)
    unproven = BackupRecord(str(path), stamp_of(path.name), None, False, modified, "")
    try:
        found = proof.read_proof(path)
    except BackupInvalid as exc:
        return replace(unproven, note=exc.message)
    if dossier is not None and (
        found.code != dossier.code or (found.guid and dossier.guid and found.guid != dossier.guid)
    ):
        return replace(unproven, note=f"its proof belongs to another dossier ({found.code})")
    proven = replace(unproven, created_at=found.created_at, movements=found.movements, proven=True)
    if found.size != stat.st_size:
        return replace(proven, note=f"size {stat.st_size} differs from the proof's {found.size}")
    sha = cache.lookup(path, stat.st_size, stat.st_mtime_ns) if cache else None
    if sha is None:
        sha, _size = proof.sha256_file(path)
        if cache is not None:
            cache.store(path, stat.st_size, stat.st_mtime_ns, sha)
    if sha != found.sha256:
        return replace(proven, note="its content differs from its proof (SHA-256)")
    return replace(proven, verified=True, note="")
