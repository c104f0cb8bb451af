"""The backends, each its own package behind one protocol (``base.Backend``): ``embedded``
(SQLite dossier files) and ``mssql`` (SQL Server). ``open_backend`` picks one for a connection.

Importing this package loads no backend: each loads when a connection asks for it (drivers
and the SQL engine are heavy, and the first screen needs neither).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from msde_tui.engine.errors import BadInput, MsdeError

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
