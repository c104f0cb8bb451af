"""Automatic backups of Access dossiers: the ``auto.Target`` of one Access dossier.

The seed's three settings apply as for every dossier (keep N backups, a delay in days, a
maximum number of movements). Movements of an Access file, whose schema msde does not know,
are its rows across all user tables (read through mdbtools); the backups are the Access
copies ``<code>_<stamp>.mdb``/``.accdb`` with their proof in the policy's directory.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from msde_tui.engine.auto.records import BackupRecord, VerifiedCache, stamp_of
from msde_tui.engine.backends.access import proofs
from msde_tui.engine.backends.access.backend import source_file
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import BackupInvalid
from msde_tui.engine.events import DossierResult
from msde_tui.engine.plans import Connection
from msde_tui.engine.proof import proof_path, sha256_file

# 001NW_20261128_120631.mdb, or ..._120631_2.accdb when that second was taken
ACCESS_BACKUP_RE = re.compile(r"^(?P<code>\d{3}[A-Z0-9]{1,12})_\d{8}_\d{6}(?:_\d{1,3})?\.(?:mdb|accdb)$")


class AccessTarget:
    """An Access dossier; its backups are Access copies + proof in a local directory."""

    def __init__(self, dossier: Dossier, directory: Path, cache: VerifiedCache | None = None) -> None:
        self.dossier = dossier
        self.path = Path(directory)
        self.directory = str(self.path)
        self.connection = Connection()
        self.cache = cache

    async def movements(self) -> int | None:
        return await asyncio.to_thread(self._movements)

    def _movements(self) -> int:
        found = source_file(self.dossier)
        return proofs.movements(proofs.inventory(found.path))

    async def backups(self) -> list[BackupRecord]:
        return await asyncio.to_thread(self._backups)

    def _backups(self) -> list[BackupRecord]:
        if not self.path.is_dir():
            return []
        records = []
        for entry in self.path.iterdir():
            match = ACCESS_BACKUP_RE.match(entry.name)
            if match and match["code"] == self.dossier.code and entry.is_file():
                records.append(self._record(entry))
        return records

    def _record(self, path: Path) -> BackupRecord:
        """The backup and what its proof says; verified when size and SHA-256 match it."""
        stat = path.stat()
        modified = datetime.fromtimestamp(stat.st_mtime).replace(microsecond=0)
        unproven = BackupRecord(str(path), stamp_of(path.name), None, False, modified, "")
        try:
            found = proofs.read(path)
        except BackupInvalid as exc:
            return replace(unproven, note=exc.message)
        if found.code != self.dossier.code:
            return replace(unproven, note=f"its proof belongs to another dossier ({found.code})")
        proven = replace(unproven, created_at=found.created_at, movements=found.movements, proven=True)
        if found.size != stat.st_size:
            return replace(proven, note=f"size {stat.st_size} differs from the proof's {found.size}")
        sha = self.cache.lookup(path, stat.st_size, stat.st_mtime_ns) if self.cache else None
        if sha is None:
            sha, _ = sha256_file(path)
            if self.cache is not None:
                self.cache.store(path, stat.st_size, stat.st_mtime_ns, sha)
        if sha != found.sha256:
            return replace(proven, note="its content differs from its proof (SHA-256)")
        return replace(proven, verified=True)

    async def delete(self, record: BackupRecord) -> None:
        await asyncio.to_thread(self._delete, Path(record.file))

    @staticmethod
    def _delete(path: Path) -> None:
        # the proof first: a crash in between leaves a file without proof, which never counts
        proof_path(path).unlink(missing_ok=True)
        path.unlink(missing_ok=True)

    async def recorded(self, result: DossierResult, movements: int | None, at: datetime) -> None:
        """Nothing to do: the proof beside the file is the record."""

    async def aclose(self) -> None:
        """Nothing to close."""
