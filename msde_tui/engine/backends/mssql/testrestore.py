"""The test restore: "verified" meaning *restorable*, the Test-DbaLastBackup ladder.

``RESTORE VERIFYONLY`` reads the backup back and checks its page checksums, but not the
structure of the data inside; and a database that still uses TORN_PAGE_DETECTION (upgraded
from MSDE) has no page checksums for ``WITH CHECKSUM`` to check. So, as an option of verify
and of the automatic backups, a full set is restored under a scratch name
(``msde_testrestore_<stamp>_<hex>``, files in the instance's default data and log folders),
``DBCC CHECKDB … WITH NO_INFOMSGS, ALL_ERRORMSGS`` runs on it, its page verification option
is read, and the scratch database is dropped — always, also after a failure or a cancel.
The outcome lands in ``outcome`` (the caller puts it in the result's details, which the run
record and the audit log keep: docs/OPERATIONS.md, "Test restore").
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import TYPE_CHECKING

from msde_tui.engine import naming
from msde_tui.engine.backends.mssql import messages as msgs
from msde_tui.engine.backends.mssql import tsql
from msde_tui.engine.backends.mssql.driver import Session, SqlFailure
from msde_tui.engine.errors import ServerBackupDamaged
from msde_tui.engine.events import Event, Statement, Step

if TYPE_CHECKING:
    from msde_tui.engine.backends.base import ServerFacts
    from msde_tui.engine.backends.mssql.backend import MssqlBackend

log = logging.getLogger(__name__)
PREFIX = "msde_testrestore_"


def scratch_name(now: datetime | None = None) -> str:
    return f"{PREFIX}{naming.stamp(now or datetime.now())}_{secrets.token_hex(3)}"


def build_checkdb(db: str) -> str:
    """Structure check of every page and index of ``db``; only errors are sent back."""
    return f"DBCC CHECKDB ({tsql.quote_ident(db)}) WITH NO_INFOMSGS, ALL_ERRORMSGS"


def build_page_verify(db: str) -> str:
    return (
        "SELECT page_verify_option_desc FROM sys.databases WHERE name = "  # noqa: S608
        + tsql.quote_literal(db)
    )


def page_verify_warning(database: str, option: str) -> str | None:
    """The warning for a database whose pages are not protected by checksums, else None."""
    if not option or option.upper() == "CHECKSUM":
        return None
    return (
        f"{database} uses {option.upper()} page verification, not CHECKSUM: its pages carry "
        "no checksums, so a backup's CHECKSUM protects nothing of them. Run ALTER DATABASE "
        f"{tsql.quote_ident(database)} SET PAGE_VERIFY CHECKSUM on the server (then rebuild "
        "its indexes so every page gets one)."
    )


async def run(
    backend: MssqlBackend,
    session: Session,
    code: str,
    source: str,
    position: int,
    facts: ServerFacts,
    outcome: dict[str, object],
) -> AsyncGenerator[Event, None]:
    """Restore set ``position`` of ``source`` as a scratch database, CHECKDB it, drop it.

    Raises the translated error (``ServerBackupDamaged`` when CHECKDB finds damage)."""
    scratch = scratch_name()
    sep = facts.path_separator
    outcome.update(position=position, database=scratch, restored=False, checkdb=None)
    yield Step(code, "test restore", f"{source} (set {position}) as {scratch}")
    files = await backend.rows_on(
        session, tsql.build_filelistonly(source, file=position), code, "headeronly", path=source
    )
    moves = await backend.restore_targets(
        session, code, scratch, files,
        tsql.normalize_server_dir(facts.default_data_path, sep),
        tsql.normalize_server_dir(facts.default_log_path or facts.default_data_path, sep),
        sep, False,
    )  # fmt: skip
    created = False
    try:
        sql = tsql.build_restore(scratch, source, moves, recovery=True, stats=10, file=position)
        yield Statement(code, sql)
        created = True
        sink: list[msgs.SqlMessage] = []
        try:
            async for message in session.stream(sql):
                sink.append(message)
                for event in msgs.events_for(message, code):
                    yield event
        except SqlFailure as failure:
            raise backend.translate(failure, "restore", database=scratch, path=source) from None
        outcome["restored"] = True
        rows = await backend.rows_on(session, build_page_verify(scratch), code, "query")
        option = str(rows[0].get("page_verify_option_desc") or "") if rows else ""
        outcome["page_verify"] = option or None
        warning = page_verify_warning(str(outcome.get("source_database") or "the database"), option)
        if warning:
            outcome["warning"] = warning
        sql = build_checkdb(scratch)
        yield Statement(code, sql)
        try:
            await session.query(sql)
        except SqlFailure as failure:
            outcome["checkdb"] = "damaged"
            error = backend.translate(failure, "checkdb", database=scratch, path=source)
            if not isinstance(error, ServerBackupDamaged):
                raise error from None
            raise ServerBackupDamaged(
                f"The test restore of {source} (set {position}) found damaged data: DBCC "
                f"CHECKDB reported {_count(failure)} error(s), although the backup read back "
                "fine.",
                "Do not rely on this backup: use an older backup that passes a test restore, "
                "and run DBCC CHECKDB on the dossier's database.",
                number=error.number,
            ) from None
        outcome["checkdb"] = "clean"
    finally:
        if created:
            await _drop(backend, session, scratch)


def _count(failure: SqlFailure) -> int:
    return max(1, sum(1 for m in failure.messages if m.is_error and m.number != 8989))


async def _drop(backend: MssqlBackend, session: Session, scratch: str) -> None:
    """Drop the scratch database (a fresh connection when the session is gone)."""
    sql = tsql.build_drop_database(scratch)
    with contextlib.suppress(SqlFailure, OSError):
        if not session.closed:
            if await session.rows(tsql.build_database_exists(scratch)):
                await session.query(sql)
            return
    try:
        side = await backend.open_session()
        try:
            if await side.rows(tsql.build_database_exists(scratch)):
                await side.query(sql)
        finally:
            await side.close()
    except (SqlFailure, OSError) as exc:
        log.warning("test restore: could not drop %s (%s); drop it on the server", scratch, exc)
