"""Automatic backups of SQL Server dossiers: the password, auto's own book of verified
server-side backups, and the ``Target`` that backs up, cross-checks and rotates on the server.

Why a book: the backup files live on the SQL Server host, whose disk this tool cannot read.
``msde auto`` therefore records each backup it made **and** that ``run_backup`` reported
verified (message 3262) in ``<home>/auto/server_backups.json`` — profile, database, server
path, when, movement counter, and the identity ``RESTORE HEADERONLY`` gave right after
(dossier code, GUID, backup finish date). Before a backup counts — for the decision, for
``keep`` and as "the last verified backup" — its header is read again: a file gone,
unreadable, or replaced (another dossier, another backup finish date) never counts and is
never deleted. Backups this tool did not record (taken by hand, by ``msde backup``, or by a run
killed before it recorded) are neither counted nor touched.

Rotation deletes through the server with ``xp_delete_file`` (sysadmin only), then checks the
file is gone; the first failure stops the rotation: nothing else is deleted.

The password: ``msde auto`` runs unattended, so it never prompts and never reads a file. It
takes ``MSDE_PASSWORD_<PROFILE>`` (profile name upper-cased, every other character than
A-Z/0-9 turned into ``_``), else ``MSDE_PASSWORD``, from its environment (the scheduler's).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from msde_tui.engine import naming
from msde_tui.engine.atomic import write_atomic
from msde_tui.engine.auto_records import AUTO_DIR, BackupRecord
from msde_tui.engine.backend import BackupInfo
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import BackupInvalid, BadInput, MsdeError
from msde_tui.engine.events import DossierResult
from msde_tui.engine.plans import Connection
from msde_tui.engine.policy import Policy

SERVER_BACKUPS_FILE = "server_backups.json"
PASSWORD_ENV = "MSDE_PASSWORD"


# ----------------------------------------------------------------------------- password


def password_env_name(profile: str) -> str:
    """``office-1`` -> ``MSDE_PASSWORD_OFFICE_1``."""
    return f"{PASSWORD_ENV}_" + re.sub(r"[^A-Z0-9]", "_", profile.upper())


def password_for(profile: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The profile's own variable first, then ``MSDE_PASSWORD``; None when neither is set."""
    env = os.environ if environ is None else environ
    return env.get(password_env_name(profile)) or env.get(PASSWORD_ENV) or None


class NoPassword(BadInput):
    """``msde auto`` found no password for a SQL Server profile in its environment."""


def server_connection(home: Path, dossier: Dossier) -> Connection:
    """The connection of a SQL Server dossier's profile, with the password from the environment."""
    from msde_tui.engine.mssql import profiles  # late: loads the SQL Server drivers

    if not dossier.profile:
        raise BadInput(
            f"Dossier {dossier.code} is on SQL Server but has no connection profile in the list.",
            "Set its profile (msde server add, then add the dossier again with --server), or "
            f"turn automatic backups off for it: msde auto policy set --dossier {dossier.code} --disable",
        )
    profile = profiles.get(dossier.profile, home)
    password = password_for(profile.name)
    if password is None:
        env = password_env_name(profile.name)
        raise NoPassword(
            f"No password for profile {profile.name}: set {env} in the scheduler's environment.",
            f"'msde auto' runs unattended: it never prompts and never reads a password from a file. "
            f"Set {env} (or {PASSWORD_ENV} for every profile) in the environment of the scheduler "
            "entry that runs it; see 'Automatic backups' in docs/OPERATIONS.md.",
        )
    return profile.connection(password)


# ----------------------------------------------------------------------------- the book


@dataclass(frozen=True)
class BookEntry:
    profile: str
    database: str
    code: str
    file: str  # path on the server host
    created_at: str  # ISO, local time of this computer when the backup was recorded
    movements: int | None
    verified: bool  # always True: only verified backups are written in the book
    guid: str | None = None
    server_finished: str | None = None  # HEADERONLY BackupFinishDate, the file's identity
    size_bytes: int = 0

    @classmethod
    def from_json(cls, raw: Any) -> BookEntry | None:
        if not isinstance(raw, dict):
            return None
        try:
            return cls(
                profile=str(raw["profile"]),
                database=str(raw["database"]),
                code=str(raw["code"]),
                file=str(raw["file"]),
                created_at=str(raw["created_at"]),
                movements=raw.get("movements") if isinstance(raw.get("movements"), int) else None,
                verified=raw.get("verified") is True,
                guid=raw.get("guid") if isinstance(raw.get("guid"), str) else None,
                server_finished=(
                    raw.get("server_finished") if isinstance(raw.get("server_finished"), str) else None
                ),
                size_bytes=size if isinstance(size := raw.get("size_bytes"), int) else 0,
            )
        except KeyError:
            return None

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class ServerBackupBook:
    """``<home>/auto/server_backups.json``: read and rewritten (atomically) on each change.

    Changes happen one at a time under the run lock, so read-modify-write is enough.
    """

    def __init__(self, home: Path) -> None:
        self.path = Path(home) / AUTO_DIR / SERVER_BACKUPS_FILE

    def entries(self) -> list[BookEntry]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        items = raw.get("backups", []) if isinstance(raw, dict) else []
        found = [BookEntry.from_json(item) for item in items] if isinstance(items, list) else []
        return [e for e in found if e is not None]

    def of(self, profile: str, database: str) -> list[BookEntry]:
        return [e for e in self.entries() if e.profile == profile and e.database == database]

    def _write(self, entries: list[BookEntry]) -> None:
        data = {"version": 1, "backups": [e.to_json() for e in entries]}
        write_atomic(self.path, json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8"))

    def add(self, entry: BookEntry, *, drop: Collection[str] = ()) -> None:
        """Record ``entry`` (replacing any entry of the same server file of that profile) and
        forget this database's entries whose files are in ``drop``."""
        kept = [
            e for e in self.entries()
            if not (e.profile == entry.profile and e.file == entry.file)
            and not (e.profile == entry.profile and e.database == entry.database and e.file in drop)
        ]
        self._write([*kept, entry])

    def remove(self, profile: str, file: str) -> None:
        entries = self.entries()
        kept = [e for e in entries if not (e.profile == profile and e.file == file)]
        if len(kept) != len(entries):
            self._write(kept)


def _iso(when: datetime | None) -> str | None:
    return when.replace(tzinfo=None).isoformat(timespec="seconds") if when else None


# ----------------------------------------------------------------------------- the target


class MssqlTarget:
    """A SQL Server dossier: movements counted on the server, backups from auto's book,
    each cross-checked with ``RESTORE HEADERONLY``, deleted with ``xp_delete_file``."""

    def __init__(self, home: Path, dossier: Dossier, policy: Policy, connection: Connection) -> None:
        from msde_tui.engine.mssql.backend import MssqlBackend  # late: drivers are heavy

        self.home = Path(home)
        self.dossier = dossier
        self.connection = connection
        self.profile = connection.profile or ""
        self.database = dossier.location or naming.database_name(dossier.number, dossier.short)
        self.directory = policy.server_directory  # "" -> the instance default, resolved later
        self.book = ServerBackupBook(home)
        self.backend = MssqlBackend(connection)
        self._gone: set[str] = set()

    async def _resolve_directory(self) -> None:
        if not self.directory:
            facts = await self.backend.facts()
            self.directory = facts.default_backup_path
            if not self.directory:
                raise BadInput(
                    f"SQL Server at {self.connection.host} reports no default backup directory.",
                    "Set one for automatic backups: msde auto policy set --server-dir DIR "
                    "(a directory on the server host).",
                )

    async def movements(self) -> int | None:
        return await self.backend.movement_count(self.database)

    def _matches(self, info: BackupInfo) -> str:
        """Why ``info`` is not this dossier's backup ('' when it is)."""
        if info.code != self.dossier.code:
            return f"it now holds a backup of {info.code or info.database or 'another database'}"
        if info.guid and self.dossier.guid and info.guid != self.dossier.guid:
            return "it now holds a backup of another dossier with the same code (GUID differs)"
        return ""

    async def backups(self) -> list[BackupRecord]:
        await self._resolve_directory()
        records: list[BackupRecord] = []
        self._gone = set()
        for entry in self.book.of(self.profile, self.database):
            if not entry.verified:
                continue
            try:
                created = datetime.fromisoformat(entry.created_at)
            except ValueError:
                records.append(BackupRecord(entry.file, None, None, False, None,
                                            f"unreadable record in {self.book.path.name}"))
                continue
            info = await self.backend.backup_identity(entry.file)
            note = ""
            if info is None:
                note = "gone or unreadable on the server"
                self._gone.add(entry.file)
            else:
                note = self._matches(info)
                if not note and entry.server_finished and _iso(info.created_at) != entry.server_finished:
                    note = "replaced by another backup since it was verified"
                if note:
                    self._gone.add(entry.file)
            if note:  # never counted, never deleted (created_at None keeps it out of rotation)
                records.append(BackupRecord(entry.file, None, None, False, None, note))
                continue
            records.append(BackupRecord(
                file=entry.file,
                created_at=created,
                movements=entry.movements,
                verified=True,
                proven=True,
            ))
        return records

    async def recorded(self, result: DossierResult, movements: int | None, at: datetime) -> None:
        """Write a backup ``run_backup`` reported verified into the book (nothing else ever is)."""
        if not (result.ok and result.verified and result.files):
            return
        path = result.files[0]
        info = await self.backend.backup_identity(path)
        why = "SQL Server cannot read its header back" if info is None else self._matches(info)
        if why:
            raise BackupInvalid(
                f"The backup {path} was verified, but {why}; it is not counted.",
                "Run 'msde auto' again; nothing was deleted.",
            )
        assert info is not None
        self.book.add(
            BookEntry(
                profile=self.profile,
                database=self.database,
                code=self.dossier.code,
                file=path,
                created_at=_iso(at) or "",
                movements=movements,
                verified=True,
                guid=info.guid,
                server_finished=_iso(info.created_at),
                size_bytes=info.size_bytes,
            ),
            drop=self._gone,
        )

    async def delete(self, record: BackupRecord) -> None:
        await self.backend.delete_backup_file(record.file)
        self.book.remove(self.profile, record.file)

    async def aclose(self) -> None:
        try:
            await self.backend.close()
        except (MsdeError, OSError):  # pragma: no cover - closing a dead connection
            pass
