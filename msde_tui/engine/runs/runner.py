"""Async operations over plans: backup, verify and restore of many dossiers at once.

Each operation is an async generator of events (see ``events``). For every dossier (or file)
of the plan it yields ``Started`` first, then the backend's steps and progress, and exactly
one ``DossierResult`` last — also when the backend failed, raised an unexpected exception or
ended without a result. Dossiers run with bounded concurrency (``plan.concurrency``); one
dossier's failure never stops the others. Closing the generator (or cancelling the task that
consumes it) cancels the running work, whose backends clean up after themselves.

Events of one dossier always carry the same label: the dossier code for a backup,
``number + short`` for a restore, the file name for a verify.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from msde_tui.engine import identity, naming
from msde_tui.engine.atomic import os_problem
from msde_tui.engine.backends import open_backend
from msde_tui.engine.backends.access.plans import ConvertPlan
from msde_tui.engine.backends.base import Backend
from msde_tui.engine.backends.embedded.backend import EmbeddedBackend
from msde_tui.engine.backends.embedded.files import SQLITE_HEADER
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import BadInput, DossierExists, MsdeError
from msde_tui.engine.events import DossierResult, Event, Started, Step
from msde_tui.engine.plans import (
    BackupPlan,
    Connection,
    RestoreItem,
    RestorePlan,
    VerifyPlan,
    restore_database,
)
from msde_tui.engine.proof import proof_path
from msde_tui.engine.runs import concurrency as _concurrency
from msde_tui.engine.runs.outcome import failed
from msde_tui.engine.runs.registry import audited

log = logging.getLogger(__name__)

PACKED_SUFFIXES = (".pbf", ".ptf", ".paf")
PACK_PASSPHRASE_ENV = "MSDE_PACK_PASSPHRASE"
QUEUE_SIZE = 256


@dataclass(frozen=True)
class _Job:
    label: str
    operation: str
    steps: tuple[str, ...]
    make: Callable[[], Awaitable[AsyncIterator[Event]]]


class _Backends:
    """The backends a run needs, opened once and closed at the end."""

    def __init__(self, connection: Connection, home: Path) -> None:
        self.connection = connection
        self.home = home
        self._embedded = EmbeddedBackend(home)
        self._server: Backend | None = None
        self._access: Backend | None = None
        self._lock = asyncio.Lock()

    @property
    def embedded(self) -> EmbeddedBackend:
        return self._embedded

    async def server(self) -> Backend:
        if self.connection.kind != "mssql":
            raise BadInput(
                "This needs a SQL Server connection.",
                "Choose the dossier's SQL Server connection profile first.",
            )
        async with self._lock:
            if self._server is None:
                self._server = open_backend(self.connection, home=self.home)
            return self._server

    @property
    def access(self) -> Backend:
        from msde_tui.engine.backends.access.backend import AccessBackend

        if self._access is None:
            self._access = AccessBackend(self.home)
        return self._access

    async def for_dossier(self, dossier: Dossier) -> Backend:
        if dossier.is_embedded:
            return self._embedded
        if dossier.backend == "access":
            return self.access
        wanted, have = dossier.profile, self.connection.profile
        if self.connection.kind == "mssql" and wanted and have and wanted != have:
            raise BadInput(
                f"Dossier {dossier.code} is reached through the profile '{wanted}', not '{have}'.",
                "Run it with its own connection profile.",
            )
        return await self.server()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._embedded.close()  # saves what it learnt (integrity checks done)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.close()


# --------------------------------------------------------------------------- public API


async def run_backup(plan: BackupPlan, *, home: Path) -> AsyncIterator[Event]:
    """Back up every dossier of ``plan`` into ``plan.directory``; a result per dossier."""
    backends = _Backends(plan.connection, Path(home))
    steps = ("backup", "verify") if plan.options.verify else ("backup",)

    def job(dossier: Dossier) -> _Job:
        async def make() -> AsyncIterator[Event]:
            backend = await backends.for_dossier(dossier)
            return backend.backup(dossier, plan.directory, plan.options)

        return _Job(dossier.code, "backup", steps, make)

    options = {"directory": plan.directory, "verify": plan.options.verify, **_where(plan.connection)}
    try:
        at_once = _concurrency.resolve(plan.concurrency, embedded=plan.connection.is_embedded,
                                       jobs=len(plan.dossiers))
        async for event in _audited(home, "backup", options, [job(d) for d in plan.dossiers],
                                    at_once):
            yield event
    finally:
        await backends.close()


async def run_verify(plan: VerifyPlan, *, home: Path) -> AsyncIterator[Event]:
    """Verify every file of ``plan``: embedded backups (+ proof), packed files, or server backups."""
    backends = _Backends(plan.connection, Path(home))

    def job(file: str) -> _Job:
        async def make() -> AsyncIterator[Event]:
            kind = file_kind(file, plan.connection)
            if kind == "packed":
                return _verify_packed(Path(file), label_of(file))
            if kind == "embedded":
                return backends.embedded.verify(file)
            if kind == "access":
                return backends.access.verify(file)
            server = await backends.server()
            if plan.position is None and not plan.test_restore:
                return server.verify(file)
            return server.verify(  # type: ignore[call-arg]
                file, position=plan.position, test_restore=plan.test_restore
            )

        return _Job(label_of(file), "verify", ("verify",), make)

    try:
        at_once = _concurrency.resolve(plan.concurrency, embedded=plan.connection.is_embedded,
                                       jobs=len(plan.files))
        async for event in _audited(home, "verify", _where(plan.connection),
                                    [job(f) for f in plan.files], at_once, subjects=plan.files):
            yield event
    finally:
        await backends.close()


async def run_restore(plan: RestorePlan, *, home: Path) -> AsyncIterator[Event]:
    """Restore every item of ``plan`` (verify first, safety copy of what is replaced)."""
    backends = _Backends(plan.connection, Path(home))

    def job(item: RestoreItem) -> _Job:
        kind = file_kind(item.source, plan.connection)
        steps: tuple[str, ...]
        if kind == "embedded":
            steps = ("verify", "copy", "safety copy", "restore")
        elif kind == "access":
            steps = ("verify", "safety copy", "restore")
        else:
            steps = ("read",) + (("verify",) if plan.verify_first else ()) + ("safety copy", "restore")

        async def make() -> AsyncIterator[Event]:
            if kind == "packed":
                raise BadInput(
                    f"{label_of(item.source)} is a packed file, not a backup.",
                    "Import it with 'msde import' (PBF) or 'msde apply' (PTF).",
                    wizard_hint="Import it with the operation 'Import (complete)' (PBF) or 'Import (partial)' (PTF).",
                )
            if kind == "embedded":
                return backends.embedded.restore(item)  # lists the dossier itself
            if kind == "access":
                return backends.access.restore(item)  # lists the dossier itself
            server: Any = await backends.server()
            target = _server_target(Path(home), item)
            events = server.restore(target, verify_first=plan.verify_first)
            return _listing_restored(events, Path(home), plan.connection, target)

        label = f"{item.number}{item.short}" or label_of(item.source)
        return _Job(label, "restore", steps, make)

    options = {
        "sources": [i.source for i in plan.items],
        "replace": [i.replace for i in plan.items],
        **_where(plan.connection),
    }
    try:
        async for event in _audited(home, "restore", options, [job(i) for i in plan.items],
                                    plan.concurrency):
            yield event
    finally:
        await backends.close()


async def run_convert(plan: ConvertPlan, *, home: Path) -> AsyncIterator[Event]:
    """Convert an Access dossier into a new embedded or SQL Server dossier (engine/access)."""
    from msde_tui.engine.backends.access import convert  # late: pyarrow is heavy

    def make_job() -> _Job:
        async def make() -> AsyncIterator[Event]:
            return convert.run(plan, Path(home))

        return _Job(plan.dossier.code, "convert", ("convert", "check"), make)

    options: dict[str, object] = {"to": plan.to, "number": plan.number, "source": plan.dossier.location}
    async for event in _audited(home, "convert", options, [make_job()], 1):
        yield event


# --------------------------------------------------------------------------- dossier list


def _server_target(home: Path, item: RestoreItem) -> RestoreItem:
    """``item`` with the database a SQL Server restore writes into (``item.database``).

    A number the dossier list has is restored into the database that dossier uses, whatever
    its name (``plans.restore_database``); whether it may be overwritten is left to the
    backend (an existing database needs ``replace``, and a verified safety copy is taken
    first). An embedded dossier's number is never taken over by a server one.
    """
    catalog = Catalog(home)
    existing = catalog.find(item.number)
    first = catalog.first_free_number() if len(catalog) < 999 else "none"
    if existing is not None and existing.backend != "mssql":
        kind = "Access" if existing.backend == "access" else "embedded"
        raise BadInput(
            f"Number {existing.number} is the {kind} dossier {existing.code}.",
            f"Restore the SQL Server backup under another number; the first free is {first}.",
        )
    if item.database:
        return item
    return replace(item, database=restore_database(item.number, item.short, existing))


async def _listing_restored(
    events: AsyncIterator[Event], home: Path, connection: Connection, item: RestoreItem
) -> AsyncIterator[Event]:
    """The server restore's events; its successful result also puts the dossier in the list."""
    async with contextlib.aclosing(events):  # type: ignore[type-var]
        async for event in events:
            if isinstance(event, DossierResult) and event.ok:
                event = list_restored(home, connection, item, event)
            yield event


def list_restored(
    home: Path, connection: Connection, item: RestoreItem, result: DossierResult
) -> DossierResult:
    """Add (or update) the dossier a SQL Server restore made; idempotent.

    The backend's result names the database (``details["database"]``) and the dossier
    record (``details["dossier"]``). Returns ``result`` with ``details["listed"]`` set to the
    dossier code, or with a note in its message when the list could not take it (the
    restore itself stays done).
    """
    details = dict(result.details) if isinstance(result.details, dict) else {}
    found = details.get("dossier")
    raw: dict[str, Any] = found if isinstance(found, dict) else {}
    database = str(details.get("database") or raw.get("location") or "")
    if not database:
        return result
    ident, note = _restored_identity(home, connection, item, database)
    try:
        with Catalog(home).locked() as catalog:
            existing = catalog.find(item.number)
            dossier = Dossier(
                number=item.number,
                short=item.short,
                company=item.company
                or (existing.company if existing else "")
                or str(raw.get("company") or "")
                or database,
                backend="mssql",
                location=database,
                profile=connection.profile,
                status="restored",
                guid=str(raw.get("guid") or "") or (existing.guid if existing else None),
            )
            if ident is not None and ident.guid:
                dossier = replace(dossier, **ident.fields())
            if existing is None:
                dossier = catalog.add(dossier)
            elif existing.is_embedded or not (
                item.replace or existing.location == database
            ):
                raise DossierExists(
                    f"Number {existing.number} is already taken by {existing.code}.",
                    "Add the restored database to the list under another number "
                    "('msde add').",
                )
            elif existing != dossier:
                dossier = catalog.update(dossier)
    except MsdeError as exc:
        note += f" It was not added to the dossier list: {exc.message}"
        return replace(result, message=result.message + note,
                       hint=" ".join(filter(None, (result.hint, exc.hint))))
    return replace(result, message=result.message + note, details={
        **details, "listed": dossier.code, "guid": dossier.guid, "origin": dossier.origin})


def _restored_identity(
    home: Path, connection: Connection, item: RestoreItem, database: str
) -> tuple[identity.Identity | None, str]:
    """Give a database restored under another number its own identity (docs/OPERATIONS.md
    "Dossier identity"): read its dossier_info, decide, write it. Returns the identity (None
    when the database could not be read) and a sentence for the result."""
    from msde_tui.engine.backends.mssql import database as serverdb
    from msde_tui.engine.packs.dossierdb import open_dossier
    from msde_tui.engine.tables.database import Database

    catalog = Catalog(home)
    existing = catalog.find(item.number)
    replacing = existing if existing is not None and not existing.is_embedded and (
        existing.location == database) else None
    short = naming.check_short(item.short)
    probe = Dossier(number=item.number, short=short, company=database, backend="mssql",
                    location=database, profile=connection.profile)
    try:
        if connection.profile:
            opened = open_dossier(probe, home, readonly=False, password=connection.password or None)
        else:  # a connection typed in the wizard, without a saved profile
            engine = serverdb.server_engine(connection.host, connection.port, connection.user,
                                            connection.password, database, connection.driver)
            try:
                opened = Database.open_engine(engine, label=database)
            except Exception as exc:  # noqa: BLE001 - the driver's own error types
                engine.dispose()
                raise MsdeError(f"cannot open {database}: {str(exc).splitlines()[0]}") from exc
        with opened as db:
            try:
                guid, code = identity.read_db(db)
            except MsdeError:
                db.rollback()
                return None, ""  # no dossier_info: not an accounting dossier, nothing to stamp
            ident = identity.for_copy(catalog, item.number, short, guid, code, replacing=replacing)
            if ident.guid and (ident.guid, ident.code) != (guid, code):
                identity.stamp_db(db, ident)
                db.commit()
    except MsdeError as exc:
        return None, f" Its identity could not be checked ({exc.message})."
    if ident.is_new:
        return ident, (f" It is a copy of {ident.origin_code or ident.origin} with an identity of its own "
                       f"(internal code {ident.code}).")
    return ident, ""


def summarize(results: Iterable[Event]) -> tuple[int, int]:
    """(ok, failed) over the ``DossierResult`` events in ``results`` (other events ignored)."""
    ok = failed = 0
    for event in results:
        if isinstance(event, DossierResult):
            if event.ok:
                ok += 1
            else:
                failed += 1
    return ok, failed


async def collect_async(events: AsyncIterator[Event]) -> list[Event]:
    return [event async for event in events]


def collect(events: AsyncIterator[Event]) -> list[Event]:
    """Run an operation to its end from synchronous code; every event, in order."""
    return asyncio.run(collect_async(events))


def label_of(file: str) -> str:
    """The label of a file's events: its name, whatever the path style (server paths use \\)."""
    return Path(str(file).replace("\\", "/")).name


def file_kind(file: str, connection: Connection) -> str:
    """``packed``, ``embedded`` (a local SQLite backup), ``access`` (a local copy of an Access
    file: its proof says so, or its header) or ``server`` (a path on SQL Server)."""
    path = Path(file).expanduser()
    if path.suffix.lower() in PACKED_SUFFIXES and (connection.is_embedded or path.exists()):
        return "packed"
    if access_file_kind(path):
        return "access"
    if connection.is_embedded:
        return "embedded"
    if proof_path(path).exists():
        return "embedded"
    try:
        with open(path, "rb") as handle:
            if handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER:
                return "embedded"
    except OSError:
        pass
    return "server"


def access_file_kind(path: Path) -> bool:
    """True for a local Access backup: an Access proof beside it, or a Jet/ACE header."""
    from msde_tui.engine.backends.access import fileformat, proofs

    return proofs.is_access_proof(path) or fileformat.sniff(path) is not None


# --------------------------------------------------------------------------- running many


def _where(connection: Connection) -> dict[str, object]:
    if connection.is_embedded:
        return {"backend": "embedded"}
    return {"backend": "mssql", "profile": connection.profile, "host": connection.host,
            "user": connection.user}


async def _audited(
    home: Path, operation: str, options: dict[str, object], jobs: list[_Job], concurrency: int,
    subjects: Iterable[str] = (),
) -> AsyncIterator[Event]:
    """``_run_jobs`` plus one audit-log line for the run (``registry.audited``: who, when, what,
    result, files); ``subjects`` name what the line is about when the labels are not enough
    (a verify names each file with its directory)."""
    if not jobs:
        return
    named = list(subjects) or [j.label for j in jobs]
    async for event in audited(home, operation, dict(options), _run_jobs(jobs, concurrency), named):
        yield event


async def _run_jobs(jobs: list[_Job], concurrency: int) -> AsyncIterator[Event]:
    """Run ``jobs`` with at most ``concurrency`` at once; merge their events as they come."""
    if not jobs:
        return
    queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=QUEUE_SIZE)
    pending = iter(jobs)

    async def worker() -> None:
        try:
            for job in pending:  # shared iterator: each worker takes the next job
                await _run_one(job, queue.put)
        finally:
            await queue.put(None)

    count = max(1, min(int(concurrency or 1), len(jobs)))
    workers = [asyncio.create_task(worker()) for _ in range(count)]
    running = count
    try:
        while running:
            event = await queue.get()
            if event is None:
                running -= 1
                continue
            yield event
    finally:
        for task in workers:
            task.cancel()
        # Let every backend clean up (partial files removed) before the caller goes on.
        await asyncio.gather(*workers, return_exceptions=True)


async def _run_one(job: _Job, put: Callable[[Event], Awaitable[None]]) -> None:
    """Started, the job's events relabelled, then exactly one DossierResult."""
    label = job.label
    began = time.monotonic()
    await put(Started(label, job.operation, job.steps))
    result_sent = False
    try:
        events = await job.make()
        async with contextlib.aclosing(events):  # type: ignore[type-var]
            async for event in events:
                if isinstance(event, Started):
                    continue  # ours went first
                if isinstance(event, DossierResult):
                    if result_sent:
                        continue
                    result_sent = True
                    seconds = event.seconds or round(time.monotonic() - began, 3)
                    await put(replace(event, dossier=label, seconds=seconds))
                    continue
                await put(event if event.dossier == label else replace(event, dossier=label))
    except MsdeError as exc:
        if not result_sent:
            result_sent = True
            await put(failed(label, exc, began))
    except Exception as exc:  # a bug must not stop the other dossiers
        if os_problem(exc) is None:  # read-only, full, not a directory: plain words, not a bug
            log.exception("%s of %s failed unexpectedly", job.operation, label)
        if not result_sent:
            result_sent = True
            await put(failed(label, exc, began))
    if not result_sent:
        await put(
            DossierResult(
                label,
                ok=False,
                message=f"The {job.operation} ended without a result.",
                hint="Do not rely on it; run it again.",
                seconds=round(time.monotonic() - began, 3),
                details={"exit_code": 1},
            )
        )


# --------------------------------------------------------------------------- packed files


async def _verify_packed(path: Path, label: str) -> AsyncIterator[Event]:
    from msde_tui.engine.packs import packinfo  # late: pyarrow is heavy

    began = time.monotonic()
    yield Step(label, "verify", path.name)
    if not path.is_file():
        raise BadInput(f"The file {path} does not exist.", "Check the path and the file name.")
    passphrase = os.environ.get(PACK_PASSPHRASE_ENV) or None
    info = await asyncio.to_thread(packinfo.package_info, path, passphrase=passphrase, verify=True)
    dossier = info.get("dossier") or {}
    yield DossierResult(
        label,
        ok=True,
        message=f"{path.name} is intact: {info.get('kind')} of dossier {dossier.get('code')}.",
        verified=True,
        files=(str(path),),
        seconds=round(time.monotonic() - began, 3),
        details={k: v for k, v in info.items() if k != "tables"},
    )
