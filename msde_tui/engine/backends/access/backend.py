"""Backup, verify and restore of Access dossiers (the ``Backend`` protocol of engine/backends/base.py).

A backup is a byte-for-byte copy of the Access file (``<code>_<stamp>.mdb`` or ``.accdb``,
which Access itself can open) and a proof beside it (``proofs``). The copy is hashed while it
is written; the source is hashed again afterwards and must not have changed. Verify re-hashes
the copy and reads every row of every table back through mdbtools. A lock file beside the
dossier (Access has it open, the copy may be inconsistent) refuses the backup unless
``BackupOptions.force``.

Restore verifies the backup first, then either puts it back over the listed Access dossier
(after a verified safety copy of the current file in ``<home>/safety``) or writes it as a new
file ``<home>/<number><short>.mdb`` listed under a new number. Nothing here writes the Access
format: every file is a copy of one Access made.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from msde_tui.engine import naming
from msde_tui.engine.atomic import (
    aside,
    copy_hashed,
    fsync_file,
    is_disk_full,
    publish_file,
    replace_file,
)
from msde_tui.engine.backends.access import fileformat, proofs, reader
from msde_tui.engine.backends.base import BackupInfo, DatabaseInfo, DirEntry, ServerFacts
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import (
    AccessFileInUse,
    AccessUnreadable,
    BackupInvalid,
    BadInput,
    DiskFull,
    DossierChanged,
    DossierExists,
    DossierNotFound,
)
from msde_tui.engine.events import DossierResult, Event, Step
from msde_tui.engine.plans import BackupOptions, RestoreItem
from msde_tui.engine.proof import proof_path, sha256_file

SAFETY_DIR = "safety"
ACCESS_FILE_MODE = 0o666  # what the umask allows, as for any file Access itself makes


def source_file(dossier: Dossier) -> fileformat.AccessFile:
    """The Access file of a listed Access dossier, checked to still be one."""
    path = Path(dossier.location)
    if not path.is_file():
        raise DossierNotFound(
            f"The Access file of dossier {dossier.code} ({path}) is missing.",
            "Restore it from a backup, or remove the dossier from the list.",
        )
    return fileformat.open_access(path)


def refuse_if_open(found: fileformat.AccessFile, force: bool) -> str:
    """AccessFileInUse when a lock file is beside ``found`` (unless ``force``); the warning
    to report when forced, else ""."""
    locks = fileformat.lock_files(found.path)
    if not locks:
        return ""
    text = (f"{found.path.name} is open in Access ({locks[0].name} is beside it): "
            "a copy taken now may be inconsistent.")
    if not force:
        raise AccessFileInUse(text, "Close Access on every computer using it and try again, or "
                              "insist with --force (the copy may then be unusable).")
    return text + " Copied anyway (--force)."


def free_name(directory: Path, name: str) -> Path:
    """``directory/name``, or ``stem_2.ext``... when taken."""
    path = directory / name
    stem, dot, ext = name.partition(".")
    count = 2
    while path.exists() or proof_path(path).exists():
        path = directory / f"{stem}_{count}{dot}{ext}"
        count += 1
    return path


def take_copy(found: fileformat.AccessFile, code: str, directory: Path, *, company: str = "",
              now: datetime | None = None, source: Path | None = None) -> tuple[Path, proofs.AccessProof]:
    """Copy ``found`` into ``directory`` with its proof; the copy is read to its last row.

    The source must not change while it is copied (same SHA-256 before and after), else
    DossierChanged and nothing is left behind.
    """
    now = now or datetime.now().replace(microsecond=0)
    final = free_name(directory, f"{code}_{naming.stamp(now)}{found.suffix}")
    free = shutil.disk_usage(directory).free
    if free < found.size * 1.05:
        raise DiskFull(
            f"{directory} has {fileformat.human_size(free)} free; the copy of {found.path.name} "
            f"needs {fileformat.human_size(int(found.size * 1.05))}.",
            "Free some space there or choose another directory.",
        )
    with aside(final, create=False) as temp:  # a private directory; copy_hashed creates it exclusively
        try:
            sha, size = copy_hashed(found.path, temp, mode=ACCESS_FILE_MODE)
        except OSError as exc:
            if is_disk_full(exc):
                raise DiskFull(f"{directory} became full during the copy of {found.path.name}.",
                               "Free some space there or choose another directory; nothing was kept.") from exc
            raise
        again, _ = sha256_file(found.path)
        if again != sha:
            raise DossierChanged(
                f"{found.path.name} changed while it was copied.",
                "Something (Access?) is writing it; close it and back up again.",
            )
        facts = proofs.inventory(temp)  # every row of every table, read from the copy
        publish_file(temp, final)
    proof = proofs.AccessProof(
        file=final.name, sha256=sha, size=size, access_format=found.format, code=code,
        created_at=now, source=str(source or found.path), tables=facts, reader=reader.reader_version(),
        company=company,
    )
    proofs.write(final, proof)
    return final, proof


def check_backup(file: Path) -> proofs.AccessProof:
    """Verify one Access backup against its proof: size, SHA-256, format, every row."""
    file = Path(file)
    if not file.is_file():
        raise BadInput(f"The file {file} does not exist.", "Check the path and the file name.")
    proof = proofs.read(file)
    size = file.stat().st_size
    if size != proof.size:
        raise BackupInvalid(
            f"{file.name} has {size} bytes; its proof says {proof.size} (truncated or changed).",
            "Do not use this backup; take a new one.",
        )
    sha, _ = sha256_file(file)
    if sha != proof.sha256:
        raise BackupInvalid(f"{file.name} differs from its proof (SHA-256): it is damaged.",
                            "Do not use this backup; use another one or take a new one.")
    found = fileformat.sniff(file)
    if found != proof.access_format:
        raise BackupInvalid(f"{file.name} is not the Access {proof.access_format} file its proof names.",
                            "Do not use this backup; take a new one.")
    try:
        tables = proofs.inventory(file)
    except AccessUnreadable as exc:
        raise BackupInvalid(f"{file.name} cannot be read back: {exc.message}",
                            "Do not use this backup; use another one or take a new one.") from exc
    proofs.compare(tables, proof, file.name)
    return proof


class AccessBackend:
    """Access dossiers: local ``.mdb``/``.accdb`` files, read through mdbtools."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)

    async def facts(self) -> ServerFacts:
        version = await asyncio.to_thread(reader.reader_version)
        return ServerFacts(product=f"Microsoft Access files (read by {version})", version=version,
                           version_major=0, edition="access", engine_edition=None,
                           default_backup_path=str(self.home / "backups"),
                           default_data_path=str(self.home), default_log_path=str(self.home),
                           path_separator=os.sep)

    async def databases(self) -> list[DatabaseInfo]:
        listed = [d for d in Catalog(self.home).dossiers() if d.backend == "access"]  # reading needs no lock
        return [DatabaseInfo(d.location, Path(d.location).stat().st_size if Path(d.location).is_file() else 0)
                for d in listed]

    async def list_dir(self, path: str) -> list[DirEntry]:
        folder = Path(path).expanduser()
        return sorted((DirEntry(p.name, p.is_dir(), 0 if p.is_dir() else p.stat().st_size)
                       for p in folder.iterdir()), key=lambda e: (not e.is_dir, e.name))

    async def check_dir(self, path: str) -> tuple[bool, int | None]:
        folder = Path(path).expanduser()
        if not folder.is_dir():
            return False, None
        return True, shutil.disk_usage(folder).free

    async def backups_in(self, directory: str) -> list[BackupInfo]:
        return await asyncio.to_thread(self._backups_in, directory)

    @staticmethod
    def _backups_in(directory: str) -> list[BackupInfo]:
        found = []
        for path in sorted(Path(directory).expanduser().glob("*")):
            if path.suffix.lower() not in (".mdb", ".accdb") or not proofs.is_access_proof(path):
                continue
            with contextlib.suppress(BackupInvalid):
                proof = proofs.read(path)
                found.append(BackupInfo(str(path), proof.code, proof.created_at, proof.size,
                                        proof.reader, 0, True, None, proof.code))
        return found

    async def close(self) -> None:
        """Nothing to close."""

    # ------------------------------------------------------------------ backup

    async def backup(self, dossier: Dossier, directory: str, options: BackupOptions) -> AsyncIterator[Event]:
        label = dossier.code
        found = source_file(dossier)
        warning = refuse_if_open(found, options.force)
        target = Path(directory).expanduser()
        if not target.is_dir():
            raise BadInput(f"The directory {target} does not exist.", "Create it first or choose another one.")
        yield Step(label, "backup", f"{found.path.name} ({found.describe()})")
        final, proof = await asyncio.to_thread(take_copy, found, dossier.code, target,
                                               company=dossier.company)
        verified = False
        if options.verify:
            yield Step(label, "verify", final.name)
            try:
                await asyncio.to_thread(check_backup, final)
            except BaseException:  # a backup that fails its own verification is not kept
                proof_path(final).unlink(missing_ok=True)
                final.unlink(missing_ok=True)
                raise
            verified = True
        tables = {n: t.rows for n, t in proof.tables.items()}
        yield DossierResult(
            label, ok=True, verified=verified, files=(str(final), str(proof_path(final))),
            message=" ".join(filter(None, (
                f"{final.name}: copy of the Access {found.format} file, {len(tables)} tables, "
                f"{proof.movements} rows{', read back and verified' if verified else ''}.", warning))),
            details={"format": found.format, "size": proof.size, "sha256": proof.sha256,
                     "tables": tables, "movements": proof.movements, "forced": bool(warning)},
        )

    async def verify(self, file: str) -> AsyncIterator[Event]:
        path = Path(file).expanduser()
        label = path.name
        yield Step(label, "verify", path.name)
        proof = await asyncio.to_thread(check_backup, path)
        yield DossierResult(
            label, ok=True, verified=True, files=(str(path),),
            message=(f"{path.name} is intact: Access {proof.access_format} copy of {proof.code}, "
                     f"{len(proof.tables)} tables, {proof.movements} rows read back."),
            details={"format": proof.access_format, "code": proof.code, "size": proof.size,
                     "tables": {n: t.rows for n, t in proof.tables.items()}},
        )

    # ------------------------------------------------------------------ restore

    async def restore(self, item: RestoreItem) -> AsyncIterator[Event]:
        label = f"{item.number}{item.short}"
        source = Path(item.source).expanduser()
        yield Step(label, "verify", source.name)
        proof = await asyncio.to_thread(check_backup, source)
        number = naming.check_number(item.number)
        short = naming.check_short(item.short or naming.parse_code(proof.code).short)
        existing = Catalog(self.home).find(number)
        safety: tuple[str, ...] = ()
        if existing is not None:
            if not item.replace:
                raise DossierExists(f"Number {number} is already taken by {existing.code}.",
                                    "Choose another number, or replace it (a safety copy is kept).")
            if existing.backend != "access":
                raise BadInput(f"Dossier {existing.code} is not an Access dossier.",
                               "Restore the Access backup under another number.")
            target = Path(existing.location)
            if target.exists():
                yield Step(label, "safety copy", target.name)
                safety = await asyncio.to_thread(self._safety_copy, existing, target)
        else:
            target = self.home / f"{number}{short}{Path(proof.file).suffix or '.mdb'}"
            if target.exists():
                raise DossierExists(f"{target} already exists.", "Choose another number or move it aside.")
        yield Step(label, "restore", target.name)
        await asyncio.to_thread(self._put_back, source, proof, target)
        with Catalog(self.home).locked() as catalog:  # read again under the list's file lock
            if existing is None:
                dossier = catalog.add(Dossier(number=number, short=short, company=item.company or proof.company or proof.code,
                                              backend="access", location=str(target), status="restored"))
            else:
                current = catalog.get(number)
                dossier = catalog.update(replace(current, status="restored"))
        yield DossierResult(
            label, ok=True, verified=True, files=(str(target), *safety),
            message=(f"{source.name} restored as {dossier.code} ({target}); an Access file, "
                     "copied back byte for byte."
                     + (f" The file it replaced is kept in {safety[0]}." if safety else "")),
            details={"listed": dossier.code, "target": str(target), "safety_copies": list(safety),
                     "replaced": existing is not None},
        )

    def _safety_copy(self, dossier: Dossier, target: Path) -> tuple[str, ...]:
        found = fileformat.open_access(target)
        refuse_if_open(found, False)  # never swap a file Access has open
        folder = self.home / SAFETY_DIR
        folder.mkdir(parents=True, exist_ok=True)
        copy, _ = take_copy(found, dossier.code, folder, company=dossier.company)
        check_backup(copy)
        return (str(copy),)

    @staticmethod
    def _put_back(source: Path, proof: proofs.AccessProof, target: Path) -> None:
        with aside(target, create=False) as temp:  # a private directory; copy_hashed creates it exclusively
            sha, _ = copy_hashed(source, temp, mode=ACCESS_FILE_MODE)
            if sha != proof.sha256:
                raise BackupInvalid(f"{source.name} changed while it was restored.",
                                    "Nothing was replaced; restore again.")
            fsync_file(temp)
            replace_file(temp, target, sync=False)  # over the file, never through a link
