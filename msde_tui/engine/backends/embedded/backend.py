"""The embedded backend: backup, verify and restore of SQLite dossier files (SPEC 5.1, 5.2, 6).

Backup uses SQLite's online backup API, so a dossier can be backed up while another program
has it open and writes to it (``snapshot.py``: a private staging copy, synced, renamed, then
its proof ``NAME.json``). Verify re-reads the whole file and compares it with its proof (size +
SHA-256), runs ``PRAGMA integrity_check`` on it (opened read-only) and checks that the dossier
inside is the one the proof names (``verify.py``). Restore is ``restore.py``.

Every blocking step runs in a worker thread; events stream back through an asyncio queue
(``engine.runs.threads``; ``work.py``: work run beside it).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

from msde_tui import osdep
from msde_tui.engine import naming
from msde_tui.engine.backends.base import BackupInfo, DatabaseInfo, DirEntry, ServerFacts
from msde_tui.engine.backends.embedded.checked import IntegrityMemo
from msde_tui.engine.backends.embedded.files import (
    check_sqlite_file,
    check_target_dir,
    free_name,
)
from msde_tui.engine.backends.embedded.restore import Restorer
from msde_tui.engine.backends.embedded.snapshot import snapshot
from msde_tui.engine.backends.embedded.verify import check_backup, check_or_remove
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import BackupInvalid, BadInput
from msde_tui.engine.events import DossierResult, Event
from msde_tui.engine.plans import BackupOptions, RestoreItem
from msde_tui.engine.proof import proof_path, read_proof
from msde_tui.engine.runs.threads import Work, stream

BACKUP_DIR = "backups"


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
        osdep.reuse_large_blocks()  # each dossier's copy reuses the last one's memory
        return stream(lambda work: self._backup_job(work, dossier, Path(directory), options))

    def verify(self, file: str) -> AsyncIterator[Event]:
        osdep.reuse_large_blocks()
        return stream(lambda work: self._verify_job(work, Path(file)))

    def restore(self, item: RestoreItem, *, verify_first: bool = True) -> AsyncIterator[Event]:
        """Restore ``item``. The backup is always verified first (``verify_first`` is accepted
        for symmetry with SQL Server): its bytes are compared with the proof while copied."""
        return stream(lambda work: Restorer(self.home, self.memo).run(work, item))

    # ---- jobs (run in a worker thread)

    def _backup_job(self, work: Work, dossier: Dossier, directory: Path, options: BackupOptions) -> None:
        work.check()
        started = time.monotonic()
        label = dossier.code
        if not dossier.is_embedded:
            raise BadInput(
                f"Dossier {dossier.code} is on SQL Server.",
                "Back it up with its server connection profile.",
            )
        source = dossier.path(self.home)
        check_sqlite_file(source, f"dossier {label}")
        size = source.stat().st_size
        wal = Path(f"{source}-wal")
        if wal.exists():
            size += wal.stat().st_size
        directory = directory.expanduser()
        check_target_dir(directory, needed=int(size * 1.05) + 2**20)
        final = free_name(directory, naming.embedded_backup_name(label, datetime.now()))
        proof = snapshot(work, label, source, final, label, verified=options.verify)
        verified = False
        if options.verify:
            check_or_remove(work, label, final, self.memo)
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

    def _verify_job(self, work: Work, file: Path) -> None:
        started = time.monotonic()
        label = file.name
        checked = check_backup(work, label, file, memo=self.memo)
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

