"""SQL Server restore: read, check, verify, safety copy, close sessions, RESTORE.

What the restore will do is worked out first by ``restoreplan.prepare`` (the backup set, the
version, the target database and its state, the sessions on it, MOVE targets, free space);
its first problem stops the restore before anything is written. Then, in order: VERIFYONLY
of the chosen set with the same MOVE, a verified COPY_ONLY safety copy of a database being
replaced (only when it is ONLINE: a RESTORING or OFFLINE one cannot be backed up, 927),
``SINGLE_USER WITH ROLLBACK IMMEDIATE`` when the user agreed to close other sessions, and
``RESTORE DATABASE … WITH FILE = n, MOVE …, [REPLACE,] RECOVERY``; ``MULTI_USER`` again
whatever happened. A RESTORE stopped half-way never goes unsaid: a new database left
half-restored is dropped, a replaced one is reported with its safety copy to restore
(docs/OPERATIONS.md, "SQL Server in the field").
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncGenerator
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING

from msde_tui import __version__
from msde_tui.engine import naming
from msde_tui.engine.backends.mssql import messages as msgs
from msde_tui.engine.backends.mssql import restoreplan, tsql
from msde_tui.engine.backends.mssql.common import (
    as_bool,
    as_text,
    compression_for,
    error_details,
    failure_events,
)
from msde_tui.engine.backends.mssql.driver import Session, SqlFailure
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import BackupInvalid, MsdeError
from msde_tui.engine.events import DossierResult, Event, Progress, Started, Statement, Step
from msde_tui.engine.plans import RestoreItem

if TYPE_CHECKING:
    from msde_tui.engine.backends.mssql.backend import MssqlBackend

log = logging.getLogger(__name__)


async def restore_events(
    backend: MssqlBackend, item: RestoreItem, *, verify_first: bool
) -> AsyncGenerator[Event, None]:
    """Restore ``item`` (see the module's docstring), yielding progress and one result."""
    began = time.monotonic()
    number = naming.check_number(item.number)
    short = naming.check_short(item.short)
    code = f"{number}{short}"
    # the operations layer names a listed dossier's own database; else PW<number><short>
    database = item.database or naming.database_name(number, short)
    names = ("read",) + (("verify",) if verify_first else ()) + ("safety copy", "restore")
    yield Started(code, "restore", names)
    session: Session | None = None
    state = "preparing"  # preparing | restoring | done
    existed = False
    single_user = False
    safety = ""
    try:
        facts = await backend.facts()
        session = await backend.open_session()

        # 1-2. what the backup holds, the target database, its sessions, files and space
        yield Step(code, "read", item.source)
        steps = await restoreplan.prepare(backend, session, item, facts, code)
        source, header, moves = steps.source, steps.header, steps.moves
        sep = facts.path_separator
        position = steps.position
        existed = steps.exists
        if steps.problems:
            raise steps.problems[0]
        # 3. verify with the same MOVE
        if verify_first:
            yield Step(code, "verify", source)
            refusal = BackupInvalid(
                f"SQL Server did not confirm that {source} is valid; nothing was restored.",
                "Use another backup.",
            )
            async with contextlib.aclosing(
                backend.verify_events(
                    session,
                    code,
                    source,
                    refusal,
                    checksum=as_bool(header.get("HasBackupChecksums")),
                    file=position,
                    moves=tuple(moves),
                )
            ) as events:
                async for event in events:
                    yield event

        # 4. safety copy of the database about to be replaced (only an ONLINE one has
        # anything to save: a RESTORING or OFFLINE database cannot even be backed up, 927)
        if existed and not steps.safety_needed:
            yield Step(code, "safety copy", steps.no_safety_reason)
        if steps.safety_needed:
            safety = tsql.server_path_join(
                facts.default_backup_path,
                f"{tsql.file_stem(database)}_{naming.stamp(datetime.now())}_before_restore.bak",
                sep,
            )
            yield Step(code, "safety copy", safety)
            sql = tsql.build_backup(
                database,
                safety,
                copy_only=True,
                compression=compression_for(facts, None),
                stats=10,
                name=f"{database} safety copy before restore"[: tsql.MAX_BACKUP_NAME],
                description=f"msde-tui {__version__} dossier={code} safety copy before restore",
            )
            yield Statement(code, sql)
            sink: list[msgs.SqlMessage] = []
            async with contextlib.aclosing(
                backend.run_events(
                    session,
                    sql,
                    code,
                    "backup",
                    sink,
                    database=database,
                    path=safety,
                    directory=facts.default_backup_path,
                )
            ) as events:
                async for event in events:
                    yield event
            refusal = BackupInvalid(
                f"The safety copy {safety} of {database} could not be verified; nothing was "
                "restored.",
                "Check the default backup directory on the server, then try again.",
            )
            async with contextlib.aclosing(
                backend.verify_events(session, code, safety, refusal, checksum=True)
            ) as events:
                async for event in events:
                    yield event

        # 5. close the other sessions (the user agreed), then restore
        if existed and item.close_sessions and steps.state == "ONLINE":
            sql = tsql.build_single_user(database)
            yield Statement(code, sql)
            single_user = True
            await backend.rows_on(session, sql, code, "restore", database=database)
        yield Step(code, "restore", database)
        sql = tsql.build_restore(
            database, source, moves, replace=existed, recovery=True, stats=5, file=position
        )
        yield Statement(code, sql)
        state = "restoring"
        sink = []
        async with contextlib.aclosing(
            backend.run_events(session, sql, code, "restore", sink, database=database, path=source)
        ) as events:
            async for event in events:
                yield event
        state = "done"
        dossier = Dossier(
            number=number,
            short=short,
            company=item.company or as_text(header.get("DatabaseName")),
            backend="mssql",
            location=database,
            profile=backend.connection.profile,
            status="restored",
        )
        yield Progress(code, percent=100.0)
        yield DossierResult(
            code,
            ok=True,
            message=f"Restored {source} as {database}"
            + (f" (safety copy: {safety})." if safety else "."),
            verified=verify_first,
            files=(source,) + ((safety,) if safety else ()),
            seconds=time.monotonic() - began,
            details={
                "database": database,
                "source_database": as_text(header.get("DatabaseName")),
                "position": position,
                "backup_version": steps.chosen.version_text if steps.chosen else None,
                "replaced": existed,
                "sessions_closed": single_user,
                "no_safety_reason": steps.no_safety_reason or None,
                "safety_backup": safety or None,
                "moves": [list(m) for m in moves],
                "dossier": asdict(dossier),
            },
        )
    except MsdeError as exc:
        failed_state = state
        state = "done"
        for event in failure_events(exc, code):
            yield event
        hint = exc.hint
        if failed_state == "restoring" and not existed:
            await drop_half_restored(backend, database)
        if (
            failed_state == "restoring"
            and existed
            and safety
            and not await online(backend, database)
        ):
            hint = f"{hint} The previous database can be brought back from the safety copy {safety}.".strip()
        yield DossierResult(
            code,
            ok=False,
            message=exc.message,
            hint=hint,
            seconds=time.monotonic() - began,
            details=error_details(exc)
            | {"database": database, "safety_backup": safety or None},
        )
    finally:
        if single_user:  # back to MULTI_USER whatever happened
            await multi_user(backend, session, database)
        if session is not None:
            await session.close()
        if state == "restoring":
            await after_cancelled_restore(backend, database, existed, safety)


async def multi_user(backend: MssqlBackend, session: Session | None, database: str) -> None:
    """Put ``database`` back to MULTI_USER (after SINGLE_USER WITH ROLLBACK IMMEDIATE)."""
    sql = tsql.build_multi_user(database)
    try:
        if session is not None and not session.closed:
            await session.query(sql)
            return
        side = await Session.open(backend.target)
        try:
            await side.query(sql)
        finally:
            await side.close()
    except (SqlFailure, OSError) as exc:
        log.warning(
            "could not put %s back to MULTI_USER (%s): run ALTER DATABASE ... SET MULTI_USER "
            "on the server",
            database,
            exc,
        )


async def after_cancelled_restore(
    backend: MssqlBackend, database: str, existed: bool, safety: str
) -> None:
    """A RESTORE was stopped half-way: never leave it silently."""
    if existed:
        log.warning(
            "restore over %s cancelled: the database is left unusable (RESTORING); restore the "
            "safety copy %s to bring the previous data back",
            database,
            safety,
        )
        return
    await drop_half_restored(backend, database)

async def online(backend: MssqlBackend, database: str) -> bool:
    """Whether ``database`` exists and is ONLINE (asked on a fresh connection)."""
    try:
        side = await Session.open(backend.target)
        try:
            rows = await side.rows(tsql.build_database_exists(database))
        finally:
            await side.close()
    except (SqlFailure, OSError):
        return False
    return bool(rows) and as_text(rows[0].get("state_desc")).upper() == "ONLINE"

async def drop_half_restored(backend: MssqlBackend, database: str) -> None:
    """Remove a *new* database a stopped or failed RESTORE left behind (nothing to lose)."""
    try:
        side = await Session.open(backend.target)
        try:
            rows = await side.rows(tsql.build_database_exists(database))
            # never drop a database that is usable: only what the RESTORE left half-done
            if rows and as_text(rows[0].get("state_desc")).upper() != "ONLINE":
                await side.query(tsql.build_drop_database(database))
                log.warning(
                    "restore of %s stopped: the half-restored database was removed", database
                )
        finally:
            await side.close()
    except (SqlFailure, OSError) as exc:
        log.warning(
            "restore of %s stopped: the half-restored database could not be removed (%s); "
            "drop it on the server",
            database,
            exc,
        )
