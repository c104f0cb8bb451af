"""Restore an embedded backup (SPEC 6): verified first, copied aside, swapped in, registered.

Restore verifies the backup, copies it into a temporary file beside the dossiers (its bytes
compared with the proof while copied), keeps a verified safety copy of the dossier being
replaced, then swaps the file in with one atomic rename and registers the dossier in the
dossier list. One restore at a time per data directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from msde_tui.engine import identity, naming
from msde_tui.engine.atomic import copy_hashed, fsync_dir, is_disk_full, remove_staging, staging_dir
from msde_tui.engine.backends.embedded.checked import IntegrityMemo
from msde_tui.engine.backends.embedded.files import (
    disk_full_error,
    free_name,
    fsync_file,
    remove_files,
    sqlite_siblings,
    sqlite_uri,
)
from msde_tui.engine.backends.embedded.snapshot import snapshot
from msde_tui.engine.backends.embedded.verify import Checked, check_backup, check_or_remove
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import BackupInvalid, BadInput, Busy, DossierExists, UnsafePath
from msde_tui.engine.events import DossierResult
from msde_tui.engine.plans import RestoreItem
from msde_tui.engine.proof import Proof
from msde_tui.engine.runs.threads import Work

SAFETY_DIR = "safety"


# The dossier list has its own file lock (catalog.Catalog.locked), across processes.
_restore_locks_guard = threading.Lock()
# One restore at a time per data directory: two restores onto the same number or file can
# never interleave their checks, safety copies and renames.
_restore_locks: dict[str, threading.Lock] = {}


@contextlib.contextmanager
def _restore_lock(home: Path, work: Work) -> Iterator[None]:
    with _restore_locks_guard:
        lock = _restore_locks.setdefault(str(Path(home).resolve()), threading.Lock())
    while not lock.acquire(timeout=0.1):
        work.check()
    try:
        yield
    finally:
        lock.release()


def in_use_check(path: Path, code: str) -> None:
    """Fold the WAL into the file, close; a WAL still there means someone else has it open."""
    if not path.exists():
        return
    try:
        conn = sqlite3.connect(sqlite_uri(path, "rw"), uri=True, timeout=10)
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


class Restorer:
    """Restores into the data directory ``home``; ``memo`` spares integrity checks already run."""

    def __init__(self, home: Path, memo: IntegrityMemo) -> None:
        self.home = Path(home)
        self.memo = memo

    def run(self, work: Work, item: RestoreItem) -> None:
        with _restore_lock(self.home, work):
            self._restore_locked(work, item)

    def _restore_locked(self, work: Work, item: RestoreItem) -> None:
        started = time.monotonic()
        source = Path(item.source).expanduser()
        if item.number:
            number = naming.check_number(item.number)
        else:
            number = Catalog(self.home).first_free_number()
        label = f"{number}{item.short.strip().upper()}" if item.short else source.name
        checked = check_backup(work, label, source, memo=self.memo)
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
                raise disk_full_error(self.home)
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
                in_use_check(old, old_code)
                work.step(label, "safety copy", old.name)
                folder = self.home / SAFETY_DIR
                folder.mkdir(parents=True, exist_ok=True)
                stamped = f"{old_code}_{naming.stamp(datetime.now())}.sqlite"
                copy = free_name(folder, stamped)
                snapshot(work, label, old, copy, old_code, step="safety copy", verified=True)
                safety.append(copy)
                check_or_remove(work, label, copy, self.memo, step="safety copy")
            work.check()
            for old, old_code in olds:
                in_use_check(old, old_code)

            # Swap in: from here on the job runs to its end.
            work.step(label, "restore", target.name)
            remove_files(*sqlite_siblings(target))
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
                remove_files(old, *sqlite_siblings(old))
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

    @staticmethod
    def _short_of(proof: Proof, checked: Checked) -> str:
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
    def _copy_checked(work: Work, label: str, source: Path, temp: Path, proof: Proof) -> None:
        try:
            digest, done = copy_hashed(
                source, temp, progress=lambda done: work.progress(label, done, proof.size), check=work.check
            )
        except OSError as exc:
            if is_disk_full(exc):
                raise disk_full_error(temp.parent) from exc
            raise
        work.progress(label, done, proof.size, final=True)
        if done != proof.size or digest != proof.sha256:
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
            remove_files(wal)
        remove_files(Path(f"{path}-shm"))
        fsync_file(path)

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
