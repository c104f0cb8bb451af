"""The results of SQL Server backups, verifications and restores in the user's language where
shown (engine/words.py), against the TDS double."""

from __future__ import annotations

from typing import Any

from msde_tui.engine.backends.mssql.backend import MssqlBackend
from msde_tui.engine.events import DossierResult
from msde_tui.engine.plans import BackupOptions
from tests.mssql.test_mssql_cancel import connection, dossier


async def test_the_results_are_said_in_french_where_shown(tds_server: Any) -> None:
    """Backup, verify and restore results of SQL Server dossiers through engine/words.py."""
    from msde_tui import i18n
    from msde_tui.engine.plans import RestoreItem
    from msde_tui.engine.words import shown

    tds_server.create_database("PW0001SOC")
    backend = MssqlBackend(connection(tds_server), login_timeout=5)
    try:
        backed = [e async for e in backend.backup(dossier(), str(tds_server.backup_dir), BackupOptions())]
        (path,) = [e for e in backed if isinstance(e, DossierResult)][0].files
        checked = [e async for e in backend.verify(path)]
        restored = [e async for e in backend.restore(RestoreItem(source=path, number="004", short="X"))]
    finally:
        await backend.close()
    results = [[e for e in events if isinstance(e, DossierResult)][0].message
               for events in (backed, checked, restored)]
    i18n.setup("fr")
    try:
        assert [shown(r) for r in results] == [
            f"Sauvegardé dans {path} et vérifié.",
            f"{path} est valide.",
            f"{path} restauré sous PW0004X.",
        ]
    finally:
        i18n.setup("en")


async def test_what_stops_a_restore_is_said_in_french(tds_server: Any) -> None:
    """The problems a restore's plan lists (shown on the summary), from the real engine."""
    from msde_tui import i18n
    from msde_tui.engine.plans import RestoreItem
    from msde_tui.engine.words import shown

    tds_server.create_database("PW0001SOC")
    tds_server.mark_in_use("PW0001SOC")
    backend = MssqlBackend(connection(tds_server), login_timeout=5)
    try:
        backed = [e async for e in backend.backup(dossier(), str(tds_server.backup_dir), BackupOptions())]
        (path,) = [e for e in backed if isinstance(e, DossierResult)][0].files
        over = await backend.restore_preview(RestoreItem(source=path, number="001", short="SOC"))
        in_use = await backend.restore_preview(
            RestoreItem(source=path, number="001", short="SOC", replace=True))
    finally:
        await backend.close()
    i18n.setup("fr")
    try:
        assert shown(over.problems[0].message) == (
            f"La base PW0001SOC existe déjà sur {tds_server.host}.")
        assert shown(in_use.problems[0].message) == (
            "La base PW0001SOC est utilisée par 1 autre(s) session(s) : compta on POSTE-2 "
            "(Accounting, session 99).")
    finally:
        i18n.setup("en")
