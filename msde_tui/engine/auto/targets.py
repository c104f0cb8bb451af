"""Where a dossier's automatic backups live and how a run looks at them (``Target``): embedded
dossiers here (backups and their proofs in a local directory), SQL Server in ``auto.mssql``,
Access in ``backends.access.auto``; and what a local backup's proof says."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Protocol

from msde_tui.engine import proof
from msde_tui.engine.auto.policy import Policy
from msde_tui.engine.auto.records import (
    BackupRecord,
    VerifiedCache,
    backup_names,
    file_state,
    stamp_of,
)
from msde_tui.engine.backends.embedded import dossier as embedded
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import BackupInvalid, DossierNotFound
from msde_tui.engine.events import DossierResult, Event
from msde_tui.engine.naming import proof_name
from msde_tui.engine.plans import BackupPlan, Connection

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
        if self.cache is not None:
            known = self.cache.known_movements(path)  # unchanged since it was counted: not opened
            if known is not None:
                return known
        before = file_state(path)
        if before is None and not path.exists():
            raise DossierNotFound(
                f"The file of dossier {self.dossier.code} ({path}) is missing.",
                "Restore it, or remove the dossier from the list.",
            )
        count = self._count(path)
        if self.cache is not None:
            self.cache.remember_movements(path, before, count)
        return count

    @staticmethod
    def _count(path: Path) -> int:
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

    def _names(self) -> list[str]:
        if not self.path.is_dir():
            return []
        return (self.cache.listing(self.path) if self.cache is not None
                else backup_names(self.path)).get(self.dossier.code, [])

    def _backups(self) -> list[BackupRecord]:
        records = []
        for name in self._names():
            entry = self.path / name
            if not entry.is_file():
                continue
            records.append(read_embedded_record(entry, self.dossier, self.cache))
        return records

    def look(self) -> tuple[BackupRecord | None, int | None]:
        """What the decision needs, in the calling thread: the last verified backup and the
        movement counter. Only the newest backups' proofs are read, newest first by the time
        stamp in their names, down to the first verified one (``backups()`` reads them all,
        for the rotation); the dossier is not opened when it did not change since it was
        last counted."""
        ordered = sorted(self._names(), key=lambda name: (stamp_of(name) or datetime.min, name), reverse=True)
        last: BackupRecord | None = None
        for name in ordered:
            entry = self.path / name
            if entry.is_file():
                record = read_embedded_record(entry, self.dossier, self.cache)
                if record.verified:
                    last = record
                    break
        return last, self._movements()

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


async def close_target(target: Target | None) -> None:
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
