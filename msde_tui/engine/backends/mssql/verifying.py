"""Verifying a SQL Server backup file: ``RESTORE VERIFYONLY`` of every backup set in it,
each reported with its own identity, and as an option a test restore of every full set."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING

from msde_tui.engine.backends.mssql import restoreplan, testrestore, tsql
from msde_tui.engine.backends.mssql.backupsets import backup_info
from msde_tui.engine.backends.mssql.common import as_int, error_details, failure_events
from msde_tui.engine.backends.mssql.driver import Session
from msde_tui.engine.errors import BackupInvalid, MsdeError
from msde_tui.engine.events import DossierResult, Event, Started, Step

if TYPE_CHECKING:
    from msde_tui.engine.backends.mssql.backend import MssqlBackend


async def verify_file_events(
    backend: MssqlBackend, file: str, position: int | None, test_restore: bool
) -> AsyncGenerator[Event, None]:
    name = tsql.server_basename(file)
    began = time.monotonic()
    yield Started(name, "verify", ("verify",) + (("test restore",) if test_restore else ()))
    session: Session | None = None
    try:
        facts = await backend.facts()
        folder = tsql.normalize_server_dir(
            tsql.server_dirname(file, facts.path_separator), facts.path_separator
        )
        path = tsql.server_path_join(folder, name, facts.path_separator)
        session = await backend.open_session()
        yield Step(name, "read", path)
        headers = await backend.rows_on(
            session, tsql.build_headeronly(path), name, "headeronly", path=path
        )
        if not headers:
            raise BackupInvalid(
                f"{path} holds no backup set.", "Choose a .bak file made by BACKUP DATABASE."
            )
        chosen = [
            h for h in headers if position is None or as_int(h.get("Position"), 1) == position
        ]
        if not chosen:
            restoreplan.choose_set(headers, path, position)  # raises: no such set
        sets: list[dict[str, object]] = []
        tests: list[dict[str, object]] = []
        for header in chosen:
            info = backup_info(path, [header])
            assert info is not None
            number = as_int(header.get("Position"), 1) or 1
            yield Step(name, "verify", f"{path} (set {number})")
            refusal = BackupInvalid(
                f"SQL Server did not confirm that set {number} of {path} is valid.",
                "Do not rely on this backup; take a new one.",
            )
            async with contextlib.aclosing(
                backend.verify_events(
                    session, name, path, refusal, checksum=info.has_checksums, file=number
                )
            ) as events:
                async for event in events:
                    yield event
            sets.append(
                {
                    "position": number,
                    "database": info.database,
                    "code": info.code,
                    "guid": info.guid,
                    "checksums": info.has_checksums,
                    "server_version": info.server_version,
                }
            )
            if test_restore and as_int(header.get("BackupType"), 1) == 1:
                outcome: dict[str, object] = {"source_database": info.database}
                async with contextlib.aclosing(
                    testrestore.run(backend, session, name, path, number, facts, outcome)
                ) as events:
                    async for event in events:
                        yield event
                tests.append(outcome)
        first = sets[-1] if len(sets) == 1 else sets[0]
        checksums = all(bool(s["checksums"]) for s in sets)
        note = "" if checksums else " (without page checksums: only its structure was checked)"
        what = f"{path} is valid" if len(sets) == 1 else f"{path}: {len(sets)} backup sets valid"
        if tests:
            what += ", test restore and DBCC CHECKDB clean"
        yield DossierResult(
            name,
            ok=True,
            message=f"{what}{note}.",
            verified=True,
            files=(path,),
            seconds=time.monotonic() - began,
            details={
                "database": first["database"],
                "code": first["code"],
                "guid": first["guid"],
                "checksums": checksums,
                "sets": sets,
            }
            | ({"test_restore": tests} if test_restore else {}),
        )
    except MsdeError as exc:
        for event in failure_events(exc, name):
            yield event
        yield DossierResult(
            name,
            ok=False,
            message=exc.message,
            hint=exc.hint,
            seconds=time.monotonic() - began,
            details=error_details(exc) | {"file": file},
        )
    finally:
        if session is not None:
            await session.close()
