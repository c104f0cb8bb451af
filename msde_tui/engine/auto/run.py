"""Automatic backups (SPEC 5.1): decide, back up with verification, rotate; one run at a time.

The pieces, each usable alone (one module each in this package):

- ``decide.decide(code, policy, last, current_movements, now)``: pure; is a backup due, and why;
  ``decide.plan_rotation(records, keep, ...)``: pure; which old backups a successful run removes.
- ``lock.RunLock``: an OS-level lock file so that two runs never overlap (``Busy`` otherwise).
- ``targets``: where a dossier's backups live and what their proofs say (``EmbeddedTarget``,
  ``read_embedded_record``); ``report``: what a run did, kept in ``last_run.json``.
- ``run_auto(home, ...)`` (here): applies the policy to every dossier of the list.

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
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from msde_tui.engine import auditlog
from msde_tui.engine.auto import policy as policy_mod
from msde_tui.engine.auto.decide import decide, plan_rotation, predicted_rotation
from msde_tui.engine.auto.lock import RunLock
from msde_tui.engine.auto.policy import AutoConfig, Policy
from msde_tui.engine.auto.records import (
    BackupRecord,
    VerifiedCache,
    as_local,
    last_verified,
    local_now,
)
from msde_tui.engine.auto.report import DossierOutcome, RunReport, load_last_run, save_last_run
from msde_tui.engine.auto.targets import (
    BackupRunner,
    Target,
    TargetFactory,
    close_target,
    default_target,
)
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import MsdeError
from msde_tui.engine.events import DossierResult, Emit, Event, Started, Step
from msde_tui.engine.plans import BackupOptions, BackupPlan

Clock = Callable[[], datetime]
_BACKUP_STEPS = ("decide", "backup", "verify", "rotate")


def _silent(event: Event) -> None:
    """No one listens to the run's events."""


# ----------------------------------------------------------------------------- the run


@dataclass
class _Work:
    dossier: Dossier
    policy: Policy
    target: Target | None
    outcome: DossierOutcome
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
    emit: Emit | None = None,
) -> RunReport:
    """Apply the policy to every dossier of the list (or ``only`` these codes/numbers).

    Holds the run lock for the whole run (``Busy`` when another run holds it). With
    ``dry_run`` nothing is written: not the backups, not the rotation, not last_run.json.

    ``emit`` receives the events every operation reports (``events``): per dossier a
    ``Started`` once it is decided, the backup's steps and progress when one is due, a
    ``rotate`` step, and one ``DossierResult`` (``DossierOutcome.result``) as soon as its
    outcome is final (at once for a dossier skipped, off or in error).
    """
    say: Emit = emit if emit is not None else _silent
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
        await _decide_all(works, home, dossiers, config, make_target, cache, clock, dry_run)
        for work in works if emit is not None else ():
            backing_up = not dry_run and work.outcome.action == "backup" and work.target is not None
            say(Started(work.dossier.code, "auto", _BACKUP_STEPS if backing_up else ("decide",)))
            if not backing_up:
                say(work.outcome.result())
        due = [w for w in works if w.outcome.action == "backup" and w.target is not None]
        if not dry_run and due:
            results = await _backup_all(home, due, backup_runner, say)
            cache.forget_listings()  # the backups just written are in the directories now
            for work in due:
                say(Step(work.dossier.code, "rotate"))
                made = results.get(work.dossier.code)
                await _after_backup(work, made, clock)
                say(replace(work.outcome.result(), seconds=made.seconds if made is not None else 0.0))
        for work in works:
            report.dossiers.append(work.outcome)
        report.finished_at = _iso(clock()) or ""
        if not dry_run:
            cache.save()
            _carry_forward(home, report)
            save_last_run(home, report)
            _audit(home, report, real_start)
    finally:
        for work in works:
            await close_target(work.target)
        if not dry_run:
            lock.release()
    return report


async def _decide_all(
    works: list[_Work],
    home: Path,
    dossiers: list[Dossier],
    config: AutoConfig,
    make_target: TargetFactory,
    cache: VerifiedCache,
    clock: Clock,
    dry_run: bool,
) -> None:
    """Every dossier decided, in the list's order, into ``works`` (whose targets the caller
    closes, whatever happens).

    Targets that can be looked at synchronously (``look()``: embedded dossiers, local files)
    are looked at together in one worker thread — one thread hop per dossier costs more than
    the look itself on a loaded machine; the others (SQL Server) one by one, as async calls.
    """
    quick: list[_Work] = []
    for dossier in dossiers:
        policy = config.effective(dossier.code)
        work = _Work(dossier, policy, None, DossierOutcome(code=dossier.code, action="off", reason=""))
        works.append(work)
        if not policy.enabled:
            now = clock()
            work.outcome.at, work.outcome.reason = _iso(now) or "", decide(dossier.code, policy, None, None, now).reason
            continue
        try:
            work.target = make_target(home, dossier, policy, cache)
        except (MsdeError, OSError) as exc:
            _cannot_look(work, exc, clock())
            continue
        if callable(getattr(work.target, "look", None)):
            quick.append(work)
    looked = await asyncio.to_thread(_look_all, quick) if quick else {}
    for work in works:
        if work.target is None:
            continue  # off, or its target could not be made
        found = looked.get(id(work))
        if found is None:
            try:
                last = last_verified(await work.target.backups())
                found = (last, await work.target.movements())
            except (MsdeError, OSError) as exc:
                found = exc
        if isinstance(found, MsdeError | OSError):
            await close_target(work.target)
            work.target = None
            _cannot_look(work, found, clock())
            continue
        last, current = found
        await _decided(work, last, current, clock(), dry_run)


def _look_all(works: list[_Work]) -> dict[int, tuple[BackupRecord | None, int | None] | MsdeError | OSError]:
    """``look()`` of each work's target, in this (worker) thread; an error is kept as its answer."""
    found: dict[int, tuple[BackupRecord | None, int | None] | MsdeError | OSError] = {}
    for work in works:
        try:
            found[id(work)] = work.target.look()  # type: ignore[union-attr]  # chosen for having look()
        except (MsdeError, OSError) as exc:
            found[id(work)] = exc
    return found


def _cannot_look(work: _Work, exc: MsdeError | OSError, now: datetime) -> None:
    outcome = work.outcome
    outcome.at = _iso(now) or ""
    outcome.action, outcome.ok = "error", False
    outcome.reason = "cannot look at this dossier"
    if isinstance(exc, MsdeError):
        outcome.message, outcome.hint = exc.message, exc.hint
    else:
        outcome.message = f"{exc.strerror or exc} ({exc.filename or ''})".replace(" ()", "")
        outcome.hint = "Check that the backup directory and the dossier file can be read."


async def _decided(work: _Work, last: BackupRecord | None, current: int | None, now: datetime,
                   dry_run: bool) -> None:
    """Apply the policy to what was found; a dry run also says what rotation would delete."""
    outcome = work.outcome
    work.movements = current
    decision = decide(work.dossier.code, work.policy, last, current, now)
    outcome.at, outcome.action, outcome.reason = _iso(now) or "", decision.action, decision.reason
    if last is not None:
        outcome.last_verified_file, outcome.last_verified_at = last.file, _iso(last.created_at)
    if dry_run and decision.action == "backup" and work.target is not None:
        records = await work.target.backups()
        outcome.would_delete = [r.file for r in predicted_rotation(records, work.policy.keep, now=now)]


async def _backup_all(
    home: Path, due: list[_Work], runner: BackupRunner | None, say: Emit
) -> dict[str, DossierResult]:
    """One backup plan per (connection, directory), verification on; a result per dossier.

    The backup's steps, progress and server messages are passed on to ``say``; its own
    ``Started`` and result are not (the run gives its own, once rotation is done)."""
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
                elif not isinstance(event, Started):
                    say(event)
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
