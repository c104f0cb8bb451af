"""The backends, each its own package behind one protocol (``base.Backend``): ``embedded``
(SQLite dossier files) and ``mssql`` (SQL Server). ``open_backend`` picks one for a connection.

Importing this package loads no backend: each loads when a connection asks for it (drivers
and the SQL engine are heavy, and the first screen needs neither).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from msde_tui.engine.errors import BadInput, MsdeError
from msde_tui.engine.paths import DirProblem, dir_problem, refusal

if TYPE_CHECKING:
    from msde_tui.engine.backends.base import Backend
    from msde_tui.engine.plans import Connection


def open_backend(connection: Connection, *, home: Path) -> Backend:
    """``EmbeddedBackend`` for ``kind == "embedded"``, ``MssqlBackend`` for ``"mssql"``."""
    if connection.kind == "embedded":
        from msde_tui.engine.backends.embedded.backend import EmbeddedBackend

        return EmbeddedBackend(Path(home))
    if connection.kind == "mssql":
        try:
            from msde_tui.engine.backends.mssql.backend import (
                MssqlBackend,  # late: drivers are heavy
            )
        except ImportError as exc:
            raise MsdeError(
                f"SQL Server support cannot be loaded ({exc}).",
                "Install the complete msde-tui package (pymssql) or use embedded dossiers.",
            ) from exc
        return MssqlBackend(connection)
    raise BadInput(
        f"Unknown kind of connection '{connection.kind}'.",
        "Use the embedded default or a SQL Server connection profile.",
    )


async def directory_problem(backend: Backend, directory: str) -> DirProblem | None:
    """What stops an existing ``directory`` from taking backups, checked for whoever writes
    them: this computer's user for files here (``paths.dir_problem``), the SQL Server service
    account on the server host for a server (``MssqlBackend.write_problem``)."""
    write_problem = getattr(backend, "write_problem", None)
    if write_problem is not None:
        problem: DirProblem | None = await write_problem(directory)
        return problem
    return await asyncio.to_thread(dir_problem, Path(directory))


async def check_backup_directory(connection: Connection, directory: str, *, home: Path) -> None:
    """``BadInput`` before any backup when ``directory`` of ``connection`` does not exist or
    cannot be written by whoever writes there (for SQL Server: its service account)."""
    backend = open_backend(connection, home=home)
    try:
        if connection.kind != "mssql":  # on a server, write_problem looks for it (sysadmin)
            exists, _free = await backend.check_dir(directory)
            if not exists:
                raise BadInput(
                    f"The directory {directory} does not exist.",
                    "Create it first or choose another directory.",
                )
        problem = await directory_problem(backend, directory)
    finally:
        await backend.close()
    if problem is not None:
        raise refusal(problem)
