"""One refusal for the operations that work on embedded and SQL Server dossiers only."""

from __future__ import annotations

from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import BadInput


def refuse_access(dossier: Dossier, operation: str) -> None:
    """BadInput when ``dossier`` is an Access dossier: ``operation`` needs its tables in
    SQLite or SQL Server (pack, export, check, archive, cut, tax-audit transfer)."""
    if dossier.backend == "access":
        raise BadInput(
            f"{dossier.code} is an Access dossier, and {operation} is only for embedded and "
            "SQL Server dossiers.",
            "Convert it into one first (msde convert); the Access file is only read.",
            wizard_hint="Convert it into one first (operation 'Convert an Access dossier'); the Access file is only read.",
        )
