"""A backup's bytes: an online copy of a dossier (possibly in use), synced, hashed, published.

The copy is written in a private staging directory inside the target directory (shared by the
copies made there at the same moment, ``files.SharedStaging``), turned into
a self-contained file (``journal_mode=DELETE``), synced, renamed to its final name and only
then given its proof ``NAME.json``. A cancelled or failed copy leaves neither a final file nor
a proof.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from datetime import datetime
from pathlib import Path

from msde_tui.engine.atomic import (
    is_disk_full,
    open_exclusive,
    publish_new,
    touch_exclusive,
)
from msde_tui.engine.backends.embedded.dossier import dossier_guid, movement_count
from msde_tui.engine.backends.embedded.files import (
    DIR_SYNCS,
    STAGING,
    disk_full_error,
    fsync_file,
    remove_files,
    sqlite_siblings,
    sqlite_uri,
)
from msde_tui.engine.backends.embedded.work import Beside
from msde_tui.engine.errors import BadInput, DossierDamaged, DossierExists, MsdeError
from msde_tui.engine.proof import Proof, proof_bytes, proof_path, sha256_file
from msde_tui.engine.runs.threads import Work

MAX_RESTARTS = 3  # incremental backup restarts (source written meanwhile) before one-pass copy
# Copied in memory (serialize) when it will be verified, up to this size: at most this much
# memory per dossier copied at once; larger dossiers take SQLite's online backup API.
SERIALIZE_MAX = 8 * 2**20


def snapshot(
    work: Work, label: str, source: Path, final: Path, code: str, step: str = "backup",
    *, verified: bool = False,
) -> Proof:
    """Copy ``source`` (possibly in use) into ``final`` + proof. Nothing valid-looking on failure.

    ``verified``: the caller verifies the copy (integrity check included) before reporting
    it, which lets a small dossier take the in-memory copy (``serialize_copy``).
    """
    with STAGING.use(final.parent) as staging:  # private: no planted name is followed
        return _snapshot_in(staging, work, label, source, final, code, step, verified)


def _snapshot_in(
    staging: Path, work: Work, label: str, source: Path, final: Path, code: str, step: str,
    verified: bool,
) -> Proof:
    partial = staging / final.name
    staged_proof = staging / proof_path(final).name
    renamed = proof_published = False
    try:
        src = sqlite3.connect(sqlite_uri(source, "rw"), uri=True, timeout=10)
        try:
            src.execute("PRAGMA busy_timeout=10000")
            page_size = int(src.execute("PRAGMA page_size").fetchone()[0])
            page_count = int(src.execute("PRAGMA page_count").fetchone()[0])
            if verified and page_size * page_count <= SERIALIZE_MAX:
                copied = serialize_copy(work, label, src, partial, page_size, page_count, step)
            else:
                copied = _backup_api_copy(work, label, src, partial, page_size, page_count, step)
        finally:
            src.close()
        digest, size, guid, movements, synced = copied
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
        syncing = None if synced else Beside(fsync_file, partial)  # the copy's sync, beside ...
        try:
            with open_exclusive(staged_proof) as handle:
                handle.write(proof_bytes(proof))
                handle.flush()
                os.fsync(handle.fileno())  # ... the proof's: one wait for the disk, not two
        finally:
            if syncing is not None:
                syncing.join()
        if syncing is not None:
            syncing.result()
        # The backup gets its name first, then its proof (a crash in between leaves a backup
        # without proof, never valid); both bytes are synced already, and a directory sync
        # that starts after the proof has its name makes both names durable before anything
        # reports the backup (one sync serves the dossiers published at that moment).
        publish_new(partial, final, sync=False, sync_dir=False)  # never replaces or follows a name
        renamed = True
        publish_new(staged_proof, proof_path(final), sync=False, sync_dir=False)
        proof_published = True
        DIR_SYNCS.sync(final.parent)
        return proof
    except BaseException as exc:
        remove_files(partial, *sqlite_siblings(partial), staged_proof)  # ours in the shared staging
        if renamed:  # the proof only if it is ours: a name taken meanwhile is someone else's
            remove_files(final, *((proof_path(final),) if proof_published else ()))
        if isinstance(exc, MsdeError):
            raise
        if isinstance(exc, OSError | sqlite3.Error) and is_disk_full(exc):
            raise disk_full_error(final.parent) from exc
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


# (SHA-256, size, dossier GUID, movements) of the copy, and whether it is synced already
Copied = tuple[str, int, str | None, int, bool]


def serialize_copy(
    work: Work,
    label: str,
    src: sqlite3.Connection,
    partial: Path,
    page_size: int,
    page_count: int,
    step: str,
) -> Copied:
    """A small dossier copied in one consistent read into memory (``sqlite3_serialize``) and
    written (synced by ``snapshot`` beside its proof), hashed from memory: the proof's SHA-256
    is of exactly the bytes written.

    The file is made self-contained as ``PRAGMA journal_mode=DELETE`` would make it: header
    bytes 18 and 19 (write and read versions: 2 = WAL) become 1 (rollback journal), the only
    bytes of a database file that differ between the two modes. GUID and movements are read in
    the same read transaction, so they describe the pages copied. SQLite writes zeros for a
    page it cannot read here (where the backup API would fail), so this copy is only taken when
    the caller verifies it (``snapshot(verified=True)``): the integrity check finds such a page.
    """
    src.isolation_level = None  # explicit transaction: every read below sees one snapshot
    work.step(label, step, f"{page_count * page_size / 1e6:.1f} MB")
    src.execute("BEGIN")
    try:
        guid = dossier_guid(src)
        movements = movement_count(src)
        image = src.serialize()
    finally:
        if src.in_transaction:
            src.execute("COMMIT")
    work.check()
    header = bytearray(image[:100])
    header[18] = header[19] = 1  # rollback journal: no WAL beside the copy
    rest = memoryview(image)[100:]
    digest = hashlib.sha256(header)
    digest.update(rest)
    with open_exclusive(partial) as out:
        out.write(header)
        out.write(rest)
    work.progress(label, len(image), len(image), final=True)
    return digest.hexdigest(), len(image), guid, movements, False


def _backup_api_copy(
    work: Work,
    label: str,
    src: sqlite3.Connection,
    partial: Path,
    page_size: int,
    page_count: int,
    step: str,
) -> Copied:
    """SQLite's online backup API into ``partial`` (synced), then the SHA-256 of what it wrote."""
    dst = sqlite3.connect(touch_exclusive(partial))  # a name of the shared staging: never reused
    try:
        # The partial file is private until it is synced (below) and renamed: SQLite's
        # own journal and syncs on it would only cost time (eight syncs per dossier).
        dst.execute("PRAGMA synchronous=OFF")
        dst.execute("PRAGMA journal_mode=OFF").fetchone()
        copy_pages(work, label, src, dst, page_size, page_count, step)
        # A self-contained file: no WAL beside it, whoever opens it later.
        dst.execute("PRAGMA journal_mode=DELETE").fetchone()
        guid = dossier_guid(dst)
        movements = movement_count(dst)
    finally:
        dst.close()
    remove_files(*sqlite_siblings(partial))
    work.check()
    work.step(label, step, "SHA-256 checksum")
    size = partial.stat().st_size
    # The copy's sync (waiting for the disk) runs while its bytes are hashed (the CPU); both
    # are done before it gets a name.
    syncing = Beside(fsync_file, partial)
    try:
        digest, size = sha256_file(
            partial,
            progress=lambda done: work.progress(label, done, size),
            should_stop=work.cancel.is_set,
        )
    finally:
        syncing.join()
    syncing.result()
    return digest, size, guid, movements, True


class _Restart(Exception):
    """The source changed during an incremental copy more often than MAX_RESTARTS."""


def copy_pages(
    work: Work,
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

