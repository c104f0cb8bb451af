"""Open the backend for a connection: the embedded default or a SQL Server profile."""

from __future__ import annotations

from pathlib import Path

from msde_tui.engine.backend import Backend
from msde_tui.engine.embedded_backend import EmbeddedBackend
from msde_tui.engine.errors import BadInput, MsdeError
from msde_tui.engine.plans import Connection


def open_backend(connection: Connection, *, home: Path) -> Backend:
    """``EmbeddedBackend`` for ``kind == "embedded"``, ``MssqlBackend`` for ``"mssql"``."""
    if connection.kind == "embedded":
        return EmbeddedBackend(Path(home))
    if connection.kind == "mssql":
        try:
            from msde_tui.engine.mssql.backend import MssqlBackend  # late: drivers are heavy
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
