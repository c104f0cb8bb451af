"""One protocol, two backends: embedded (SQLite files) and SQL Server.

Every long operation is an async generator of ``events``; blocking driver calls run off the
event loop (``asyncio.to_thread``). A backend is stateless apart from its connection settings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from msde_tui.engine.catalog import Dossier
from msde_tui.engine.events import Event
from msde_tui.engine.plans import BackupOptions, RestoreItem


@dataclass(frozen=True)
class ServerFacts:
    product: str  # "SQLite 3.45.1" or "Microsoft SQL Server 2022 ..."
    version: str  # "16.0.4135.4"
    version_major: int
    edition: str  # "Express Edition (64-bit)" / "embedded"
    engine_edition: int | None  # 4 = Express
    default_backup_path: str
    default_data_path: str
    default_log_path: str
    path_separator: str  # "\\" or "/" as the server writes paths

    @property
    def is_express(self) -> bool:
        return self.engine_edition == 4

    @property
    def size_limit_bytes(self) -> int | None:
        """Express's database size limit (10 GB; 50 GB from SQL Server 2025 = major 17)."""
        if not self.is_express:
            return None
        return (50 if self.version_major >= 17 else 10) * 1024**3


@dataclass(frozen=True)
class DatabaseInfo:
    name: str  # database name (SQL Server) or file name (embedded)
    size_bytes: int
    state: str = "ONLINE"


@dataclass(frozen=True)
class BackupInfo:
    """What a backup file holds (RESTORE HEADERONLY or the embedded proof)."""

    file: str
    database: str
    created_at: datetime | None
    size_bytes: int
    server_version: str
    version_major: int
    has_checksums: bool
    guid: str | None = None
    code: str | None = None
    sets: int = 1  # SQL Server: backup sets in the file (a restore of several names one)
    problem: str = ""  # SQL Server: why the server cannot read it (listed, not restorable)


@dataclass(frozen=True)
class DirEntry:
    name: str
    is_dir: bool
    size_bytes: int = 0


class Backend(Protocol):
    async def facts(self) -> ServerFacts: ...

    async def databases(self) -> list[DatabaseInfo]: ...

    async def list_dir(self, path: str) -> list[DirEntry]:
        """Directories and files as the server (or the local disk for embedded) sees them."""
        ...

    async def check_dir(self, path: str) -> tuple[bool, int | None]:
        """(exists and is a directory, free bytes or None when unknown)."""
        ...

    async def backups_in(self, directory: str) -> list[BackupInfo]: ...

    def backup(self, dossier: Dossier, directory: str, options: BackupOptions) -> AsyncIterator[Event]:
        """Back up one dossier into ``directory``; ends with a DossierResult event."""
        ...

    def verify(self, file: str) -> AsyncIterator[Event]: ...

    def restore(self, item: RestoreItem) -> AsyncIterator[Event]: ...

    async def close(self) -> None: ...
