"""Server-side directories: what the SQL Server service sees on its own host (listing,
existence, free space, whether it may write there) and the backups in a folder. The backup
folder is on the server's machine, not this one, and the file is written by the SQL Server
**service account**, not by the technician nor by the login (docs/OPERATIONS.md, "A directory
the service account cannot write").

Whether the service account may write in a folder is checked the way the DBA tools do it:
``xp_fileexist`` answers as the service account sees the disk (dbatools' ``Test-DbaPath``), and
the account's name comes from ``sys.dm_server_services`` (``MssqlBackend.facts``). A folder it
may open but not write in looks fine to ``xp_fileexist``, so a sysadmin login also makes a
real write: a ``COPY_ONLY`` backup of ``master`` (a few MB, outside any backup chain) to
``msde-write-test-<stamp>-<hex>.tmp`` in that folder, deleted at once with ``xp_delete_file``.
A login that is not sysadmin cannot delete that file, so nothing is tried for it (the wizard
still asks ``xp_fileexist`` whether the folder exists), and a refused write is reported by the
BACKUP itself (3201, before anything is written), naming the account and the folder too.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from msde_tui.engine import naming
from msde_tui.engine.backends.base import BackupInfo, DirEntry
from msde_tui.engine.backends.mssql import backupsets, tsql
from msde_tui.engine.backends.mssql import messages as msgs
from msde_tui.engine.backends.mssql.common import as_bool, as_int, as_text
from msde_tui.engine.backends.mssql.driver import SqlFailure
from msde_tui.engine.errors import MsdeError, ServerError
from msde_tui.engine.paths import DirProblem
from msde_tui.i18n import N_

if TYPE_CHECKING:
    from msde_tui.engine.backends.mssql.backend import MssqlBackend

log = logging.getLogger(__name__)

PROBE_PREFIX = "msde-write-test-"
# what an OS error met by the service account means for a backup folder
_WRITE_ERRORS = {
    5: N_("access is denied"),
    3: N_("the path does not exist"),
    112: N_("the disk is full"),
    53: N_("the network path cannot be reached"),
    67: N_("the network name cannot be found"),
    1326: N_("the network share refused the account"),
}


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


async def write_problem(backend: MssqlBackend, path: str) -> DirProblem | None:
    """Why the SQL Server service account cannot take backups in ``path``, or None.

    ``DirProblem.kind`` is "service" (``account``: the service account; ``detail``: the
    reason). None also when the login cannot tell: a login that is not sysadmin could not
    delete a test file (and may not run ``xp_fileexist``), so nothing is tried for it.
    """
    facts = await backend.facts()
    directory = await server_dir(backend, path)
    account = backend.service_account or msgs.service_account_guess(
        backend.instance_name, facts.path_separator
    )
    login = await backend.login_rights(databases=[])
    if login is None or not login.sysadmin:
        return None
    rows = await backend.meta_rows(tsql.build_fileexist(directory), "list", directory=directory)
    row = rows[0] if rows else {}
    if not as_bool(row.get("File is a Directory")):
        reason = (
            N_("it is a file")
            if as_bool(row.get("File Exists"))
            else N_("it does not exist there or the account cannot open it")
        )
        return DirProblem("service", directory, account, reason)
    probe = tsql.server_path_join(
        directory,
        f"{PROBE_PREFIX}{naming.stamp(datetime.now())}-{secrets.token_hex(4)}.tmp",
        facts.path_separator,
    )
    sql = tsql.build_backup(
        "master",
        probe,
        checksum=False,
        copy_only=True,
        stats=None,
        name="msde-tui write test",
        description="msde-tui: can the service account write here? (deleted at once)",
    )
    session = await backend.open_session()
    try:
        try:
            await session.query(sql)
        except SqlFailure as failure:
            texts = [m.text for m in failure.messages if m.number == 3201]
            if failure.number == 3201:
                texts.append(failure.text)
            code = next((c for c in map(msgs.os_error, texts) if c is not None), None)
            if code in _WRITE_ERRORS:
                return DirProblem("service", directory, account, _WRITE_ERRORS[code])
            log.info("write test in %s inconclusive: %s", directory, failure)
            return None
        try:
            await session.query(tsql.build_delete_backup_file(probe))
            left = await session.rows(tsql.build_fileexist(probe))
        except SqlFailure as failure:
            log.warning("could not delete the write test %s on the server: %s", probe, failure)
            return None
        if left and as_bool(left[0].get("File Exists")):
            log.warning("the write test %s is still on the server; delete it by hand", probe)
        return None
    finally:
        await session.close()
