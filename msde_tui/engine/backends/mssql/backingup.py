"""A SQL Server backup: ``BACKUP DATABASE … WITH CHECKSUM`` to a server-side folder, read
back with ``RESTORE VERIFYONLY`` (and, as an option, a test restore). The login's rights are
read first, so a backup it may not make or verify is refused before anything is written."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import TYPE_CHECKING

from msde_tui.engine import naming
from msde_tui.engine.backends.mssql import messages as msgs
from msde_tui.engine.backends.mssql import rights, testrestore, tsql
from msde_tui.engine.backends.mssql.backupsets import backup_description
from msde_tui.engine.backends.mssql.common import (
    as_bool,
    as_text,
    compression_for,
    despite_cancel,
    error_details,
    failure_events,
)
from msde_tui.engine.backends.mssql.driver import Session, SqlFailure
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import BackupInvalid, BadInput, MsdeError, ServerError
from msde_tui.engine.events import DossierResult, Event, ServerMessage, Started, Statement, Step
from msde_tui.engine.plans import BackupOptions

if TYPE_CHECKING:
    from msde_tui.engine.backends.mssql.backend import MssqlBackend

log = logging.getLogger(__name__)


async def backup_events(
    backend: MssqlBackend, dossier: Dossier, directory: str, options: BackupOptions
) -> AsyncGenerator[Event, None]:
    code = dossier.code
    began = time.monotonic()
    steps = ("backup", "verify") if options.verify else ("backup",)
    yield Started(code, "backup", steps)
    session: Session | None = None
    path = ""
    done = False
    sent = written = settled = False  # BACKUP sent / finished; the file verified (or not asked)
    try:
        if dossier.backend != "mssql":
            raise BadInput(
                f"Dossier {code} is not on SQL Server.", "Use the embedded backup for it."
            )
        facts = await backend.facts()
        database = dossier.location or naming.database_name(dossier.number, dossier.short)
        folder = tsql.normalize_server_dir(directory, facts.path_separator)
        path = tsql.server_path_join(
            folder,
            naming.native_backup_name(tsql.file_stem(database), datetime.now()),
            facts.path_separator,
        )
        compression = compression_for(facts, options.compression)
        sql = tsql.build_backup(
            database,
            path,
            checksum=True,
            init=True,
            copy_only=options.copy_only,
            compression=compression,
            stats=options.stats,
            name=f"{tsql.file_stem(database)} full backup"[: tsql.MAX_BACKUP_NAME],
            description=backup_description(dossier),
        )
        session = await backend.open_session()
        login = await backend.login_rights(session, [database])
        if login is not None:
            refuse_backup(login, database, options)
        yield Step(code, "backup", path)
        yield Statement(code, sql)
        seen: list[msgs.SqlMessage] = []
        sent = True
        async with contextlib.aclosing(
            backend.run_events(
                session,
                sql,
                code,
                "backup",
                seen,
                database=database,
                path=path,
                directory=folder,
            )
        ) as events:
            async for event in events:
                yield event
        written = True
        settled = not options.verify
        rate = next((t for t in map(msgs.throughput, seen) if t is not None), None)
        details: dict[str, object] = {
            "database": database,
            "file": path,
            "compressed": bool(compression),
            "copy_only": options.copy_only,
        }
        if rate is not None:
            details.update(
                pages=rate.pages,
                bytes=rate.bytes,
                mb_per_s=rate.mb_per_s,
                server_seconds=rate.seconds,
            )
        verified = False
        if options.verify:
            yield Step(code, "verify", path)
            refusal = BackupInvalid(
                f"The backup {path} was written but SQL Server did not confirm it is valid.",
                "Do not rely on it; run the backup again.",
            )
            async with contextlib.aclosing(
                backend.verify_events(session, code, path, refusal, checksum=True)
            ) as events:
                async for event in events:
                    yield event
            verified = settled = True
        if options.test_restore and verified:
            outcome: dict[str, object] = {"source_database": database}
            async with contextlib.aclosing(
                testrestore.run(backend, session, code, path, 1, facts, outcome)
            ) as events:
                async for event in events:
                    yield event
            details["test_restore"] = outcome
        warning = await page_verify_warning(session, database)
        if warning:
            details["page_verify_warning"] = warning
            yield ServerMessage(code, "WARNING: " + warning, None, 10)
        done = True
        yield DossierResult(
            code,
            ok=True,
            message=f"Backed up to {path}"
            + (" and verified" if verified else "")
            + (", test restore and DBCC CHECKDB clean" if "test_restore" in details else "")
            + "."
            + (f" WARNING: {warning}" if warning else ""),
            verified=verified,
            files=(path,),
            seconds=time.monotonic() - began,
            details=details,
        )
    except MsdeError as exc:
        done = True
        for event in failure_events(exc, code):
            yield event
        extra: dict[str, object] = {"file": path}
        if written and not settled:  # written, but not proven valid: removed, as embedded does
            extra["removed"] = await remove_unproven(backend, code, path, "failed its verification")
        yield DossierResult(
            code,
            ok=False,
            message=exc.message,
            hint=exc.hint,
            files=(),
            seconds=time.monotonic() - began,
            details=error_details(exc) | extra,
        )
    finally:
        if session is not None:
            await session.close()
        if not done and sent and not settled:
            await despite_cancel(remove_unproven(backend, code, path, "was cancelled"))


async def remove_unproven(backend: MssqlBackend, code: str, path: str, why: str) -> bool:
    """Delete ``path`` on the server: a backup this run started but did not prove valid (a
    cancelled BACKUP may leave a partial file, error 3266's "improperly terminated" media; a
    cancelled or failed VERIFYONLY leaves an unchecked one). True when the file is gone.

    With ``xp_delete_file`` (sysadmin), checked afterwards with ``xp_fileexist``. When it stays
    (another login, a file SQL Server does not read as a backup) the log says so, naming it: a
    partial file fails ``RESTORE HEADERONLY``, so the restore list never offers it, and the
    automatic backups count only backups they saw verified (engine/auto/mssql.py).
    """
    try:
        session = await backend.open_session()
    except MsdeError as exc:
        log.warning("backup of %s %s: cannot reach the server to delete %s (%s); it is not a "
                    "valid backup: delete it on the server", code, why, path, exc.message)
        return False
    try:
        rows = await session.rows(tsql.build_fileexist(path))
        if rows and as_bool(rows[0].get("File Exists")):
            with contextlib.suppress(SqlFailure):
                await session.query(tsql.build_delete_backup_file(path))
            rows = await session.rows(tsql.build_fileexist(path))
        gone = not (rows and as_bool(rows[0].get("File Exists")))
    except SqlFailure as failure:
        log.info("cannot look for %s on the server: %s", path, failure)
        gone = False
    finally:
        await session.close()
    if gone:
        log.warning("backup of %s %s: its unverified file %s is deleted on the server",
                    code, why, path)
    else:
        log.warning("backup of %s %s: %s on the server is incomplete or unverified and could "
                    "not be deleted (xp_delete_file needs a sysadmin login): it is not a valid "
                    "backup; delete it on the server", code, why, path)
    return gone


async def page_verify_warning(session: Session, database: str) -> str | None:
    """A warning when ``database`` does not use CHECKSUM page verification."""
    try:
        rows = await session.rows(testrestore.build_page_verify(database))
    except SqlFailure:
        return None
    option = as_text(rows[0].get("page_verify_option_desc")) if rows else ""
    return testrestore.page_verify_warning(database, option)


def refuse_backup(login: rights.LoginRights, database: str, options: BackupOptions) -> None:
    """Say before anything is written what this login may not do (BACKUP, VERIFYONLY)."""
    if not login.can_backup(database):
        raise ServerError(
            f"The login '{login.login}' may not back up {database}.",
            f"Make it db_backupoperator (or db_owner) of {database}, or use a sysadmin login; "
            "nothing was written.",
            number=262,
        )
    if (options.verify or options.test_restore) and not login.can_verify:
        raise ServerError(
            f"The login '{login.login}' may back up {database} but not verify backups: RESTORE "
            "VERIFYONLY needs CREATE DATABASE permission (since SQL Server 2008).",
            "Give the login the dbcreator role (or CREATE ANY DATABASE), or back up with "
            "--no-verify knowing the backup is unchecked; nothing was written.",
            number=262,
        )
