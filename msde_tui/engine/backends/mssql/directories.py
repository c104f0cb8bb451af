"""Server-side directories: what the SQL Server service sees on its own host (listing,
existence, free space) and the backups in a folder. The backup folder is on the server's
machine, not this one (docs/OPERATIONS.md)."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from msde_tui.engine.backends.base import BackupInfo, DirEntry
from msde_tui.engine.backends.mssql import backupsets, tsql
from msde_tui.engine.backends.mssql.common import as_bool, as_int, as_text
from msde_tui.engine.errors import MsdeError, ServerError

if TYPE_CHECKING:
    from msde_tui.engine.backends.mssql.backend import MssqlBackend

log = logging.getLogger(__name__)


async def server_dir(backend: MssqlBackend, path: str) -> str:
    facts = await backend.facts()
    return tsql.normalize_server_dir(path, facts.path_separator)


async def list_dir(backend: MssqlBackend, path: str) -> list[DirEntry]:
    """Directories and files in ``path`` as the SQL Server service sees them."""
    facts = await backend.facts()
    directory = await server_dir(backend, path)
    entries: list[DirEntry] = []
    if facts.version_major >= 14:
        try:
            rows = await backend.meta_rows(
                tsql.build_enumerate_filesystem(directory), "list", directory=directory
            )
            entries = [
                DirEntry(
                    as_text(r.get("file_or_directory_name")),
                    as_bool(r.get("is_directory")),
                    as_int(r.get("size_in_bytes")),
                )
                for r in rows
            ]
        except ServerError as exc:
            if exc.number not in (208, 2812, 4121, 195):
                raise
            entries = await dirtree(backend, directory)
    else:
        entries = await dirtree(backend, directory)
    entries = [e for e in entries if e.name and e.name not in (".", "..")]
    if not entries:
        exists, _ = await check_dir(backend, directory)
        if not exists:
            raise ServerError(
                f"The directory {directory} does not exist on the SQL Server host.",
                "Directories are on the server's machine, not this one; pick one that exists "
                f"there (e.g. {facts.default_backup_path}).",
            )
    return sorted(entries, key=lambda e: (not e.is_dir, e.name.lower()))


async def dirtree(backend: MssqlBackend, directory: str) -> list[DirEntry]:
    rows = await backend.meta_rows(tsql.build_dirtree(directory), "list", directory=directory)
    return [
        DirEntry(as_text(r.get("subdirectory")), as_int(r.get("file", 0)) == 0)
        for r in rows
        if as_int(r.get("depth", 1)) == 1
    ]


async def check_dir(backend: MssqlBackend, path: str) -> tuple[bool, int | None]:
    """(exists and is a directory on the server, free bytes there or None)."""
    directory = await server_dir(backend, path)
    rows = await backend.meta_rows(tsql.build_fileexist(directory), "list", directory=directory)
    row = rows[0] if rows else {}
    is_dir = as_bool(row.get("File is a Directory"))
    if not is_dir:
        return False, None
    return True, await free_bytes(backend, directory)


async def free_bytes(backend: MssqlBackend, directory: str) -> int | None:
    facts = await backend.facts()
    windows = facts.path_separator == "\\"

    def norm(p: str) -> str:
        return p.lower() if windows else p

    with contextlib.suppress(MsdeError):
        rows = await backend.meta_rows(tsql.VOLUMES_SQL)
        best: tuple[int, int] | None = None
        for row in rows:
            mount = as_text(row.get("volume_mount_point"))
            if mount and norm(directory + facts.path_separator).startswith(norm(mount)):
                if best is None or len(mount) > best[0]:
                    best = (len(mount), as_int(row.get("available_bytes")))
        if best is not None:
            return best[1]
    # xp_fixeddrives: a drive letter per row on Windows, a mount point elsewhere
    with contextlib.suppress(MsdeError):
        best = None
        for row in await backend.meta_rows(tsql.FIXED_DRIVES_SQL):
            drive = as_text(row.get("drive"))
            if len(drive) == 1 and windows:
                hit = directory[:1].upper() == drive.upper()
            else:
                hit = bool(drive) and norm(directory + facts.path_separator).startswith(
                    norm(drive)
                )
            if hit and (best is None or len(drive) > best[0]):
                best = (len(drive), as_int(row.get("MB free")) * 1024 * 1024)
        if best is not None:
            return best[1]
    return None


async def backups_in(backend: MssqlBackend, directory: str) -> list[BackupInfo]:
    """Every ``*.bak`` in ``directory`` (server side) that ``RESTORE HEADERONLY`` can read."""
    facts = await backend.facts()
    folder = await server_dir(backend, directory)
    found: list[BackupInfo] = []
    for entry in await list_dir(backend, folder):
        if entry.is_dir or not entry.name.lower().endswith(".bak"):
            continue
        path = tsql.server_path_join(folder, entry.name, facts.path_separator)
        try:
            headers = await backend.meta_rows(
                tsql.build_headeronly(path), "headeronly", path=path
            )
        except MsdeError as exc:
            if getattr(exc, "number", None) != 3241 or "newer SQL Server" not in exc.message:
                log.info("skipping unreadable backup %s: %s", path, exc)
                continue
            # most likely made by a newer SQL Server: listed, with the reason it cannot be
            # restored here (not hidden as if damaged)
            found.append(
                BackupInfo(path, "", None, entry.size_bytes, "", 0, False, problem=exc.message)
            )
            continue
        info = backupsets.backup_info(path, headers)
        if info is not None:
            found.append(info)
    return found
