"""The embedded backend: backup, verify and restore of SQLite dossier files (SPEC 5.1, 5.2, 6).

Backup uses SQLite's online backup API, so a dossier can be backed up while another program
has it open and writes to it. The copy is written in a private staging directory inside the target
directory, turned into a self-contained file (``journal_mode=DELETE``), synced, renamed to
its final name and only then given its proof ``NAME.json``. A cancelled or failed backup
leaves neither a final file nor a proof.

Verify re-reads the whole file and compares it with its proof (size + SHA-256), runs
``PRAGMA integrity_check`` on it (opened read-only) and checks that the dossier inside is the
one the proof names. Restore verifies first, copies into a temporary file beside the
dossiers, keeps a verified safety copy of the dossier being replaced, then swaps the file in
with one atomic rename and registers the dossier in the dossier list.

Every blocking step runs in a worker thread; events stream back through an asyncio queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from msde_tui.engine import identity, naming
from msde_tui.engine.atomic import (
    fsync_dir,
    open_exclusive,
    publish_new,
    remove_staging,
    staging_dir,
)
from msde_tui.engine.backends.base import BackupInfo, DatabaseInfo, DirEntry, ServerFacts
from msde_tui.engine.backends.embedded.checked import IntegrityMemo
from msde_tui.engine.backends.embedded.dossier import dossier_guid, movement_count
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import (
    BackupInvalid,
    BadInput,
    Busy,
    Cancelled,
    DiskFull,
    DossierDamaged,
    DossierExists,
    DossierNotFound,
    MsdeError,
    UnsafePath,
    WrongDossier,
)
from msde_tui.engine.events import DossierResult, Event, Progress, Step
from msde_tui.engine.plans import BackupOptions, RestoreItem
from msde_tui.engine.proof import Proof, proof_bytes, proof_path, read_proof, sha256_file

SQLITE_HEADER = b"SQLite format 3\x00"
BACKUP_DIR = "backups"
SAFETY_DIR = "safety"
PROGRESS_EVERY_S = 0.1  # at most ten progress events a second per dossier
MAX_RESTARTS = 3  # incremental backup restarts (source written meanwhile) before one-pass copy
COPY_CHUNK = 1024 * 1024

# The dossier list has its own file lock (catalog.Catalog.locked), across processes.
_restore_locks_guard = threading.Lock()
# One restore at a time per data directory: two restores onto the same number or file can
# never interleave their checks, safety copies and renames.
_restore_locks: dict[str, threading.Lock] = {}


@contextlib.contextmanager
def _restore_lock(home: Path, work: _Work) -> Iterator[None]:
    with _restore_locks_guard:
        lock = _restore_locks.setdefault(str(Path(home).resolve()), threading.Lock())
    while not lock.acquire(timeout=0.1):
        work.check()
    try:
        yield
    finally:
        lock.release()


# --------------------------------------------------------------------------- thread bridge


@dataclass(frozen=True)
class _Done:
    error: BaseException | None


class _Work:
    """What a worker thread sees: emit events, report progress, check for cancellation."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Event | _Done]) -> None:
        self._loop = loop
        self._queue = queue
        self.cancel = threading.Event()
        self._last_progress = 0.0
        self._started = time.monotonic()

    def put(self, item: Event | _Done) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody listens any more
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    def emit(self, event: Event) -> None:
        self.put(event)

    def step(self, label: str, step: str, detail: str = "") -> None:
        self._started = time.monotonic()
        self._last_progress = 0.0
        self.put(Step(label, step, detail))

    def progress(self, label: str, done: int, total: int, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self._last_progress < PROGRESS_EVERY_S:
            return
        self._last_progress = now
        elapsed = max(now - self._started, 1e-6)
        rate = done / elapsed
        percent = 100.0 if total <= 0 else min(100.0, 100.0 * done / total)
        eta = (total - done) / rate if rate > 0 and total >= done else None
        self.put(
            Progress(
                label,
                percent=round(percent, 1),
                bytes_done=done,
                bytes_total=total,
                mb_per_s=round(rate / 1e6, 2),
                eta_s=None if eta is None else round(eta, 1),
            )
        )

    def check(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("Cancelled; nothing was changed.", "Run it again when you are ready.")


async def _stream(job: Callable[[_Work], None]) -> AsyncIterator[Event]:
    """Run ``job`` in a thread and yield the events it emits, in order.

    Closing the generator (or cancelling its consumer) asks the job to stop and waits for it,
    so its clean-up (removing partial files) is done when the generator has closed.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Event | _Done] = asyncio.Queue()
    work = _Work(loop, queue)

    def run() -> None:
        try:
            job(work)
        except BaseException as exc:  # handed to the async side, raised there
            work.put(_Done(exc))
        else:
            work.put(_Done(None))

    future = loop.run_in_executor(None, run)
    try:
        while True:
            item = await queue.get()
            if isinstance(item, _Done):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        work.cancel.set()
        if not future.done():
            await asyncio.shield(future)


# --------------------------------------------------------------------------- helpers


def _uri(path: Path, mode: str) -> str:
    uri = Path(path).resolve().as_uri()
    return f"{uri}?mode=ro&immutable=1" if mode == "immutable" else f"{uri}?mode={mode}"


def _is_disk_full(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "disk is full" in text or "no space left" in text or getattr(exc, "errno", None) == 28


def _disk_full(where: Path) -> DiskFull:
    return DiskFull(
        f"There is not enough free space in {where}.",
        "Free some space there or choose another directory; nothing was changed.",
    )


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _remove(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            Path(path).unlink(missing_ok=True)


def _siblings(path: Path) -> tuple[Path, Path, Path]:
    return (Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal"))


def _check_sqlite_file(path: Path, what: str) -> None:
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError as exc:
        raise DossierNotFound(
            f"The file of {what} ({path}) is missing.",
            "Check the data directory, or remove the dossier from the list with 'msde remove'.",
        ) from exc
    except OSError as exc:
        raise DossierDamaged(f"The file of {what} ({path}) cannot be read ({exc.strerror}).") from exc
    if header != SQLITE_HEADER:
        raise DossierDamaged(
            f"The file of {what} ({path}) is not a SQLite database.",
            "Restore the dossier from a backup.",
        )


def _check_target_dir(directory: Path, needed: int) -> None:
    if not directory.exists():
        raise BadInput(
            f"The directory {directory} does not exist.",
            "Create it first or choose another directory.",
        )
    if not directory.is_dir():
        raise BadInput(f"{directory} is not a directory.", "Choose a directory.")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise BadInput(
            f"This user cannot write in {directory}.",
            "Choose a directory you can write to, or fix its permissions.",
        )
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise DiskFull(
            f"{directory} has {free // 2**20} MB free; the backup needs about {needed // 2**20 + 1} MB.",
            "Free some space there or choose another directory; nothing was changed.",
        )


def _free_name(directory: Path, name: str) -> Path:
    """``name`` in ``directory``, or ``stem_2.ext``... when it (or its proof) is taken."""
    candidate = directory / name
    if not os.path.lexists(candidate) and not os.path.lexists(proof_path(candidate)):
        return candidate
    stem, dot, ext = name.partition(".")
    for n in range(2, 1000):
        candidate = directory / f"{stem}_{n}{dot}{ext}"
        if not os.path.lexists(candidate) and not os.path.lexists(proof_path(candidate)):
            return candidate
    raise DossierExists(f"Too many backups named {name} in {directory}.", "Clean up the directory.")


@dataclass(frozen=True)
class _Checked:
    proof: Proof
    guid: str | None
    company: str | None
    code: str | None


# --------------------------------------------------------------------------- blocking jobs


def _snapshot(
    work: _Work, label: str, source: Path, final: Path, code: str, step: str = "backup"
) -> Proof:
    """Copy ``source`` (possibly in use) into ``final`` + proof. Nothing valid-looking on failure."""
    staging = staging_dir(final.parent)  # private: no planted name is followed
    partial = staging / final.name
    renamed = proof_published = False
    try:
        src = sqlite3.connect(_uri(source, "rw"), uri=True, timeout=10)
        try:
            src.execute("PRAGMA busy_timeout=10000")
            page_size = int(src.execute("PRAGMA page_size").fetchone()[0])
            page_count = int(src.execute("PRAGMA page_count").fetchone()[0])
            dst = sqlite3.connect(partial)
            try:
                # The partial file is private until it is synced (below) and renamed: SQLite's
                # own journal and syncs on it would only cost time (eight syncs per dossier).
                dst.execute("PRAGMA synchronous=OFF")
                dst.execute("PRAGMA journal_mode=OFF").fetchone()
                _copy_pages(work, label, src, dst, page_size, page_count, step)
                # A self-contained file: no WAL beside it, whoever opens it later.
                dst.execute("PRAGMA journal_mode=DELETE").fetchone()
                guid = dossier_guid(dst)
                movements = movement_count(dst)
            finally:
                dst.close()
        finally:
            src.close()
        _remove(*_siblings(partial))
        _fsync_file(partial)
        work.check()
        work.step(label, step, "SHA-256 checksum")
        size = partial.stat().st_size
        digest, size = sha256_file(
            partial,
            progress=lambda done: work.progress(label, done, size),
            should_stop=work.cancel.is_set,
        )
        work.check()  # last point where cancelling is honoured: rename + proof follow at once
        if os.path.lexists(final) or os.path.lexists(proof_path(final)):
            raise DossierExists(f"{final} already exists.", "Nothing was overwritten; run it again.")
        proof = Proof(
            file=final.name,
            sha256=digest,
            size=size,
            guid=guid,
            code=code,
            created_at=datetime.now().replace(microsecond=0),
            movements=movements,
            source=source.name,
        )
        staged_proof = staging / proof_path(final).name
        with open_exclusive(staged_proof) as handle:
            handle.write(proof_bytes(proof))
            handle.flush()
            os.fsync(handle.fileno())
        # The backup gets its name first, then its proof (a crash in between leaves a backup
        # without proof, never valid); both bytes are synced already, and one directory sync
        # after the proof makes both names durable before anything reports the backup.
        publish_new(partial, final, sync=False, sync_dir=False)  # never replaces or follows a name
        renamed = True
        publish_new(staged_proof, proof_path(final), sync=False)
        proof_published = True
        remove_staging(staging)
        return proof
    except BaseException as exc:
        remove_staging(staging)
        if renamed:  # the proof only if it is ours: a name taken meanwhile is someone else's
            _remove(final, *((proof_path(final),) if proof_published else ()))
        if isinstance(exc, MsdeError):
            raise
        if isinstance(exc, OSError | sqlite3.Error) and _is_disk_full(exc):
            raise _disk_full(final.parent) from exc
        if isinstance(exc, sqlite3.Error | UnicodeDecodeError):  # non-UTF-8 text: a damaged schema
            raise DossierDamaged(
                f"The dossier {code} could not be copied: {exc}.",
                "Run 'msde check' on it; if it is damaged, restore it from a backup.",
            ) from exc
        if isinstance(exc, OSError):
            raise BadInput(
                f"Cannot write the backup in {final.parent}: {exc.strerror or exc}.",
                "Check that the directory exists and that this user can write there.",
            ) from exc
        raise


class _Restart(Exception):
    """The source changed during an incremental copy more often than MAX_RESTARTS."""


def _copy_pages(
    work: _Work,
    label: str,
    src: sqlite3.Connection,
    dst: sqlite3.Connection,
    page_size: int,
    page_count: int,
    step: str,
) -> None:
    """Online backup, a slice of pages per step with progress; one pass if writers keep racing."""
    pages = max(256, page_count // 50)
    last_remaining: int | None = None
    restarts = 0

    def progress(_status: int, remaining: int, total: int) -> None:
        nonlocal last_remaining, restarts
        work.check()
        if last_remaining is not None and remaining > last_remaining:
            restarts += 1
            if restarts > MAX_RESTARTS:
                raise _Restart
        last_remaining = remaining
        work.progress(label, (total - remaining) * page_size, total * page_size, final=remaining == 0)

    work.step(label, step, f"{page_count * page_size / 1e6:.1f} MB")
    try:
        src.backup(dst, pages=pages, progress=progress)
    except _Restart:
        # The dossier is being written continuously: copy it in one step, which reads one
        # consistent snapshot (writers are not blocked in WAL mode).
        work.step(label, step, "the dossier is in use; copying it in one pass")
        src.backup(dst, pages=-1)
        total = int(dst.execute("PRAGMA page_count").fetchone()[0]) * page_size
        work.progress(label, total, total, final=True)


def _check_backup(
    work: _Work, label: str, file: Path, step: str = "verify", memo: IntegrityMemo | None = None
) -> _Checked:
    """Verify ``file`` against its proof: size, SHA-256, integrity_check, identity.

    ``integrity_check`` is not run again on bytes ``memo`` saw pass it (same SHA-256)."""
    if not file.exists():
        raise BadInput(f"The file {file} does not exist.", "Check the path and the file name.")
    if not file.is_file():
        raise BadInput(f"{file} is not a file.", "Give the path of a backup file.")
    proof = read_proof(file)
    work.step(label, step, file.name)
    size = file.stat().st_size
    if size != proof.size:
        state = "truncated (incomplete)" if size < proof.size else "longer than when it was written"
        raise BackupInvalid(
            f"The backup {file.name} is {state}: {size} bytes, its proof says {proof.size}.",
            "Use another backup; this one cannot be restored.",
        )
    digest, _ = sha256_file(
        file,
        progress=lambda done: work.progress(label, done, size),
        should_stop=work.cancel.is_set,
    )
    work.progress(label, size, size, final=True)
    guid, company, code = _identity(file)
    if digest != proof.sha256:
        if guid is not None and proof.guid is not None and guid != proof.guid:
            raise WrongDossier(
                f"The proof beside {file.name} describes another backup ({proof.file}, dossier "
                f"{proof.code}).",
                "Put the right proof beside the backup, or use another backup.",
            )
        raise BackupInvalid(
            f"The backup {file.name} is damaged: its content differs from its proof (SHA-256).",
            "Use another backup; this one cannot be trusted.",
        )
    if memo is not None and memo.known(digest):
        work.step(label, step, "integrity check (already passed by these exact bytes)")
        problems = []
    else:
        work.step(label, step, "integrity check")
        problems = _integrity(file)
        if not problems and memo is not None:
            memo.add(digest)
    if problems:
        raise BackupInvalid(
            f"The backup {file.name} is damaged: the integrity check found {len(problems)} "
            f"problem(s), first: {problems[0]}.",
            "Use another backup; this one cannot be restored.",
        )
    if guid != proof.guid:
        raise WrongDossier(
            f"The backup {file.name} holds dossier {guid or '(no identity)'}, but its proof names "
            f"{proof.guid} ({proof.code}).",
            "Use the proof written with this backup, or another backup.",
        )
    return _Checked(proof=proof, guid=guid, company=company, code=code)


def _identity(file: Path) -> tuple[str | None, str | None, str | None]:
    """(guid, company, code) from the file's dossier_info; Nones when unreadable or absent."""
    try:
        conn = sqlite3.connect(_uri(file, "immutable"), uri=True)
    except sqlite3.Error:
        return None, None, None
    try:
        guid = dossier_guid(conn)
        try:
            row = conn.execute("SELECT company, code FROM dossier_info WHERE id = 1").fetchone()
        except (sqlite3.DatabaseError, UnicodeDecodeError):
            row = None
        return guid, (row[0] if row else None), (row[1] if row else None)
    except (sqlite3.DatabaseError, UnicodeDecodeError):  # a damaged file: text that is not UTF-8
        return None, None, None
    finally:
        conn.close()


def _integrity(file: Path) -> list[str]:
    try:
        conn = sqlite3.connect(_uri(file, "immutable"), uri=True)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        return [str(exc)]
    messages = [str(r[0]) for r in rows]
    return [] if messages == ["ok"] else messages


def _in_use_check(path: Path, code: str) -> None:
    """Fold the WAL into the file, close; a WAL still there means someone else has it open."""
    if not path.exists():
        return
    try:
        conn = sqlite3.connect(_uri(path, "rw"), uri=True, timeout=10)
        try:
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise Busy(
            f"Dossier {code} cannot be locked for the restore ({exc}).",
            "Close the programs using it and try again.",
        ) from exc
    if Path(f"{path}-wal").exists():
        raise Busy(
            f"Dossier {code} is open in another program.",
            "Close every program using it (Allegro, msde-tui...) and run the restore again.",
        )


# --------------------------------------------------------------------------- backend


class EmbeddedBackend:
    """Backend over SQLite dossier files in the data directory ``home``."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.memo = IntegrityMemo(self.home)

    # ---- facts and browsing

    async def facts(self) -> ServerFacts:
        version = sqlite3.sqlite_version
        return ServerFacts(
            product=f"SQLite {version}",
            version=version,
            version_major=int(version.split(".")[0]),
            edition="embedded",
            engine_edition=None,
            default_backup_path=str(self.home / BACKUP_DIR),
            default_data_path=str(self.home),
            default_log_path=str(self.home),
            path_separator=os.sep,
        )

    async def databases(self) -> list[DatabaseInfo]:
        def scan() -> list[DatabaseInfo]:
            found = []
            for path in sorted(self.home.glob("*.sqlite")):
                if path.name.startswith(".") or not path.is_file():
                    continue
                size = path.stat().st_size
                wal = Path(f"{path}-wal")
                if wal.exists():
                    size += wal.stat().st_size
                found.append(DatabaseInfo(name=path.name, size_bytes=size))
            return found

        return await asyncio.to_thread(scan)

    async def list_dir(self, path: str) -> list[DirEntry]:
        def scan() -> list[DirEntry]:
            directory = Path(path).expanduser()
            if not directory.is_dir():
                raise BadInput(f"The directory {directory} does not exist.", "Choose another directory.")
            entries = []
            try:
                children = list(directory.iterdir())
            except PermissionError as exc:
                raise BadInput(
                    f"This user cannot read {directory}.", "Choose another directory."
                ) from exc
            for child in children:
                try:
                    is_dir = child.is_dir()
                    size = 0 if is_dir else child.stat().st_size
                except OSError:
                    continue
                entries.append(DirEntry(name=child.name, is_dir=is_dir, size_bytes=size))
            return sorted(entries, key=lambda e: (not e.is_dir, e.name.lower()))

        return await asyncio.to_thread(scan)

    async def check_dir(self, path: str) -> tuple[bool, int | None]:
        def check() -> tuple[bool, int | None]:
            directory = Path(path).expanduser()
            if not directory.is_dir():
                return False, None
            try:
                return True, shutil.disk_usage(directory).free
            except OSError:
                return True, None

        return await asyncio.to_thread(check)

    async def backups_in(self, directory: str) -> list[BackupInfo]:
        def scan() -> list[BackupInfo]:
            folder = Path(directory).expanduser()
            if not folder.is_dir():
                raise BadInput(f"The directory {folder} does not exist.", "Choose another directory.")
            found = []
            # Backups, plus safety copies (``*.sqlite`` with a proof beside them).
            candidates = sorted(
                [*folder.glob("*.sqlite.bak"),
                 *(p for p in folder.glob("*.sqlite") if proof_path(p).exists())]
            )
            for path in candidates:
                if path.name.startswith(".") or not path.is_file():
                    continue
                try:
                    proof = read_proof(path)
                except BackupInvalid:
                    found.append(
                        BackupInfo(
                            file=str(path),
                            database="",
                            created_at=None,
                            size_bytes=path.stat().st_size,
                            server_version="",
                            version_major=0,
                            has_checksums=False,
                        )
                    )
                    continue
                found.append(
                    BackupInfo(
                        file=str(path),
                        database=proof.source,
                        created_at=proof.created_at,
                        size_bytes=proof.size,
                        server_version=f"SQLite {proof.sqlite_version}",
                        version_major=int((proof.sqlite_version or "3").split(".")[0]),
                        has_checksums=True,
                        guid=proof.guid,
                        code=proof.code,
                    )
                )
            return found

        return await asyncio.to_thread(scan)

    async def close(self) -> None:
        await asyncio.to_thread(self.memo.save)

    # ---- operations

    def backup(self, dossier: Dossier, directory: str, options: BackupOptions) -> AsyncIterator[Event]:
        return _stream(lambda work: self._backup_job(work, dossier, Path(directory), options))

    def verify(self, file: str) -> AsyncIterator[Event]:
        return _stream(lambda work: self._verify_job(work, Path(file)))

    def restore(self, item: RestoreItem, *, verify_first: bool = True) -> AsyncIterator[Event]:
        """Restore ``item``. The backup is always verified first (``verify_first`` is accepted
        for symmetry with SQL Server): its bytes are compared with the proof while copied."""
        return _stream(lambda work: self._restore_job(work, item))

    # ---- jobs (run in a worker thread)

    def _backup_job(self, work: _Work, dossier: Dossier, directory: Path, options: BackupOptions) -> None:
        work.check()
        started = time.monotonic()
        label = dossier.code
        if not dossier.is_embedded:
            raise BadInput(
                f"Dossier {dossier.code} is on SQL Server.",
                "Back it up with its server connection profile.",
            )
        source = dossier.path(self.home)
        _check_sqlite_file(source, f"dossier {label}")
        size = source.stat().st_size
        wal = Path(f"{source}-wal")
        if wal.exists():
            size += wal.stat().st_size
        directory = directory.expanduser()
        _check_target_dir(directory, needed=int(size * 1.05) + 2**20)
        final = _free_name(directory, naming.embedded_backup_name(label, datetime.now()))
        proof = _snapshot(work, label, source, final, label)
        verified = False
        if options.verify:
            self._check_or_remove(work, label, final)
            verified = True
        work.emit(
            DossierResult(
                label,
                ok=True,
                message=f"Backed up to {final}" + (" and verified." if verified else "."),
                verified=verified,
                files=(str(final), str(proof_path(final))),
                seconds=round(time.monotonic() - started, 3),
                details={
                    "file": str(final),
                    "proof": str(proof_path(final)),
                    "sha256": proof.sha256,
                    "size": proof.size,
                    "guid": proof.guid,
                    "movements": proof.movements,
                },
            )
        )

    def _check_or_remove(self, work: _Work, label: str, final: Path, step: str = "verify") -> _Checked:
        """Verify a backup just written; if it fails, remove it so that nothing invalid stays."""
        try:
            return _check_backup(work, label, final, step, self.memo)
        except Cancelled:
            raise
        except MsdeError:
            _remove(final, proof_path(final))
            raise

    def _verify_job(self, work: _Work, file: Path) -> None:
        started = time.monotonic()
        label = file.name
        checked = _check_backup(work, label, file, memo=self.memo)
        proof = checked.proof
        work.emit(
            DossierResult(
                label,
                ok=True,
                message=f"{file.name} is intact: dossier {proof.code}, {proof.movements} entries, "
                f"taken {proof.created_at:%Y-%m-%d %H:%M}.",
                verified=True,
                files=(str(file),),
                seconds=round(time.monotonic() - started, 3),
                details={
                    "file": str(file),
                    "sha256": proof.sha256,
                    "size": proof.size,
                    "guid": proof.guid,
                    "code": proof.code,
                    "movements": proof.movements,
                    "created_at": proof.created_at.isoformat(),
                },
            )
        )

    def _restore_job(self, work: _Work, item: RestoreItem) -> None:
        with _restore_lock(self.home, work):
            self._restore_locked(work, item)

    def _restore_locked(self, work: _Work, item: RestoreItem) -> None:
        started = time.monotonic()
        source = Path(item.source).expanduser()
        if item.number:
            number = naming.check_number(item.number)
        else:
            number = Catalog(self.home).first_free_number()
        label = f"{number}{item.short.strip().upper()}" if item.short else source.name
        checked = _check_backup(work, label, source, memo=self.memo)
        proof = checked.proof
        short = naming.check_short(item.short) if item.short else self._short_of(proof, checked)
        code = f"{number}{short}"
        label = code
        company = item.company.strip() or checked.company or code
        target = self.home / naming.embedded_file_name(code)
        existing = self._refuse_conflicts(number, code, target, item.replace)
        # a copy under another number gets its own identity (docs/OPERATIONS.md "Dossier identity")
        ident = identity.for_copy(Catalog(self.home), number, short, checked.guid, checked.code, replacing=existing)

        # Copy into a temporary file beside the dossiers, checking the bytes against the proof.
        self.home.mkdir(parents=True, exist_ok=True)
        staging = staging_dir(self.home)  # private: no planted name is followed
        temp = staging / target.name
        safety: list[Path] = []
        try:
            free = shutil.disk_usage(self.home).free
            if free < proof.size * 2 + 2**20:
                raise _disk_full(self.home)
            work.step(label, "copy", f"{source.name} -> {target.name}")
            self._copy_checked(work, label, source, temp, proof)
            identity.stamp_sqlite(temp, ident)
            self._to_wal(temp)
            work.check()

            # Keep a verified safety copy of what is replaced.
            olds: list[tuple[Path, str]] = []
            if existing is not None and existing.path(self.home).exists():
                olds.append((existing.path(self.home), existing.code))
            if target.exists() and all(p != target for p, _ in olds):
                olds.append((target, code))
            for old, old_code in olds:
                _in_use_check(old, old_code)
                work.step(label, "safety copy", old.name)
                folder = self.home / SAFETY_DIR
                folder.mkdir(parents=True, exist_ok=True)
                stamped = f"{old_code}_{naming.stamp(datetime.now())}.sqlite"
                copy = _free_name(folder, stamped)
                _snapshot(work, label, old, copy, old_code, step="safety copy")
                safety.append(copy)
                self._check_or_remove(work, label, copy, step="safety copy")
            work.check()
            for old, old_code in olds:
                _in_use_check(old, old_code)

            # Swap in: from here on the job runs to its end.
            work.step(label, "restore", target.name)
            _remove(*_siblings(target))
            if target.is_symlink():
                raise UnsafePath(f"{target} is a link; msde does not write through links.",
                                 "Replace the link by the file itself, or remove it; nothing was changed.")
            os.replace(temp, target)
            fsync_dir(self.home)
        finally:
            remove_staging(staging)

        dossier = self._register(number, short, company, target, ident)
        # The file of a replaced dossier under another name (001's backup over 002BRA: the new
        # file is 002SOC.sqlite) is no longer listed: its verified safety copy holds it, so it
        # goes, rather than staying unlisted on disk without a word.
        dropped = []
        for old, _ in olds:
            if old != target and old.exists():
                _remove(old, *_siblings(old))
                dropped.append(old.name)
        note = ""
        if dropped:
            note = (f" The replaced file {', '.join(dropped)} was removed; its verified safety copy is "
                    f"{', '.join(str(p) for p in safety)}.")
        if ident.is_new:
            note += (f" It is a copy of {ident.origin_code or ident.origin} with an identity of its own "
                     f"(internal code {ident.code}).")
        work.emit(
            DossierResult(
                label,
                ok=True,
                message=f"{source.name} restored as dossier {dossier.code} ({dossier.company}).{note}",
                verified=True,
                files=(str(target), *(str(p) for p in safety)),
                seconds=round(time.monotonic() - started, 3),
                details={
                    "dossier": dossier.code,
                    "file": str(target),
                    "guid": ident.guid,
                    "origin": ident.origin,
                    "internal_code": ident.code if ident.guid else None,
                    "movements": proof.movements,
                    "safety_copies": [str(p) for p in safety],
                    "old_files_removed": dropped,
                    "replaced": bool(olds),
                },
            )
        )

    # ---- restore helpers

    @staticmethod
    def _short_of(proof: Proof, checked: _Checked) -> str:
        for code in (proof.code, checked.code):
            if code:
                with contextlib.suppress(BadInput):
                    return naming.parse_code(code).short
        raise BadInput(
            "The backup does not say which short name the dossier had.",
            "Give the short name (--short).",
        )

    def _refuse_conflicts(self, number: str, code: str, target: Path, replace_ok: bool) -> Dossier | None:
        catalog = Catalog(self.home)  # a check: _register re-reads the list under its lock
        existing = catalog.find(number)
        for other in catalog.dossiers():
            if other.number != number and other.is_embedded and other.location == target.name:
                raise DossierExists(
                    f"{target.name} belongs to dossier {other.number} in the list.",
                    "Choose another short name or number.",
                )
        first = catalog.first_free_number() if len(catalog) < 999 else "none"
        if existing is not None and not existing.is_embedded:
            kind = "Access" if existing.backend == "access" else "SQL Server"
            raise BadInput(
                f"Number {number} is the {kind} dossier {existing.code}.",
                f"Restore the embedded backup under another number; the first free is {first}.",
            )
        if existing is not None and not replace_ok:
            raise DossierExists(
                f"Number {number} is already taken by {existing.code} ({existing.company}).",
                f"Choose another number (the first free is {first}), or replace it explicitly "
                "(a safety copy is kept).",
            )
        if target.exists() and not replace_ok and existing is None:
            raise DossierExists(
                f"{target.name} already exists in the data directory, outside the dossier list.",
                "Move it aside, or replace it explicitly (a safety copy is kept).",
            )
        return existing

    @staticmethod
    def _copy_checked(work: _Work, label: str, source: Path, temp: Path, proof: Proof) -> None:
        digest = hashlib.sha256()
        done = 0
        try:
            with open(source, "rb") as src, open_exclusive(temp) as dst:
                while chunk := src.read(COPY_CHUNK):
                    work.check()
                    digest.update(chunk)
                    dst.write(chunk)
                    done += len(chunk)
                    work.progress(label, done, proof.size)
                dst.flush()
                os.fsync(dst.fileno())
        except OSError as exc:
            if _is_disk_full(exc):
                raise _disk_full(temp.parent) from exc
            raise
        work.progress(label, done, proof.size, final=True)
        if done != proof.size or digest.hexdigest() != proof.sha256:
            raise BackupInvalid(
                f"The backup {source.name} changed while it was being restored.",
                "Make sure nothing writes to the backup and run the restore again.",
            )

    @staticmethod
    def _to_wal(path: Path) -> None:
        """Put the restored file in WAL mode (like every dossier) and check it opens."""
        conn = sqlite3.connect(path)
        try:
            conn.execute("PRAGMA journal_mode=WAL").fetchone()
            conn.execute("PRAGMA quick_check").fetchone()
        finally:
            conn.close()
        wal = Path(f"{path}-wal")
        if wal.exists() and wal.stat().st_size == 0:
            _remove(wal)
        _remove(Path(f"{path}-shm"))
        _fsync_file(path)

    def _register(
        self,
        number: str,
        short: str,
        company: str,
        target: Path,
        ident: identity.Identity,
    ) -> Dossier:
        with Catalog(self.home).locked() as catalog:
            record = Dossier(
                number=number,
                short=short,
                company=company,
                backend="embedded",
                location=target.name,
                status="restored",
                **ident.fields(),
            )
            current = catalog.find(number)
            if current is not None:
                return catalog.update(replace(record, company=company or current.company))
            return catalog.add(record)
