"""The wizard's directory step on SQL Server: the folder is written by the server's service
account, so one it cannot write in is refused there, naming the account and the folder
(TDS double, real pymssql)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from msde_tui.engine.plans import Connection, WizardPlan
from msde_tui.screens.operation import OperationScreen
from msde_tui.screens.registry import StepPosition
from tests.tui.app_support import (
    StepHost,
    flat,
    screen_text,
    squashed,
    wait_for,
    wait_screen,
    wait_text,
)

ACCOUNT = "NT Service\\MSSQL$SQLEXPRESS"


def _plan(server, directory: Path) -> WizardPlan:  # type: ignore[no-untyped-def]
    connection = Connection(
        kind="mssql", host=server.host, port=server.port, user=server.user, password=server.password
    )
    return WizardPlan(connection=connection, directory=str(directory))


async def test_a_folder_the_service_account_cannot_write_is_refused_at_the_step(
    home: Path, tds_server
) -> None:  # type: ignore[no-untyped-def]
    locked = Path(tds_server.root) / "Locked"
    locked.mkdir()
    tds_server.deny(locked)
    tds_server.set_facts(service_account=ACCOUNT)
    plan = _plan(tds_server, locked)
    app = StepHost.make(home, lambda ctx: OperationScreen(ctx, plan, StepPosition(2, 5)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_screen(pilot, OperationScreen)
        await pilot.press("enter")
        await wait_text(pilot, "cannot write in")
        text = flat(screen_text(app))
        assert squashed(f"The SQL Server service account {ACCOUNT} cannot write in {locked}") in squashed(text)
        assert "access is denied" in text
        assert f"Give {ACCOUNT} the right to write in" in text
        assert app.results == [] and app.screen is screen
        assert "Checking the directory" not in text
        field = screen.query_one("#directory", Input)
        assert app.focused is field
        # another folder, one it can write in: the step goes on
        field.value = str(tds_server.backup_dir)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.results)
    assert app.results[0].directory == str(tds_server.backup_dir)
    assert list(locked.iterdir()) == []  # the write test left nothing there


async def test_the_refusal_in_french(home: Path, tds_server) -> None:  # type: ignore[no-untyped-def]
    locked = Path(tds_server.root) / "Locked"
    locked.mkdir()
    tds_server.deny(locked)
    tds_server.set_facts(service_account=ACCOUNT)
    plan = _plan(tds_server, locked)
    app = StepHost.make(home, lambda ctx: OperationScreen(ctx, plan, StepPosition(2, 5)), lang="fr")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, OperationScreen)
        await pilot.press("enter")
        await wait_text(pilot, "ne peut pas écrire")
        text = flat(screen_text(app))
        assert ACCOUNT in text and squashed(str(locked)) in squashed(text) and "accès refusé" in text
        assert "cannot write" not in text and "access is denied" not in text
        assert app.results == []


async def test_a_relative_server_path_is_refused_in_french(home: Path, tds_server) -> None:  # type: ignore[no-untyped-def]
    plan = _plan(tds_server, Path(tds_server.backup_dir))
    app = StepHost.make(home, lambda ctx: OperationScreen(ctx, plan, StepPosition(2, 5)), lang="fr")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_screen(pilot, OperationScreen)
        field = screen.query_one("#directory", Input)
        await wait_for(pilot, lambda: bool(field.value))
        field.value = "Locked"
        await pilot.press("enter")
        await wait_text(pilot, "n'est pas un chemin absolu")
        text = flat(screen_text(app))
        assert "'Locked' n'est pas un chemin absolu. Que faire : Commencez-le par '/'." in text
        assert "absolute" not in text and "Start it" not in text
        assert app.results == []


def test_the_server_side_errors_of_a_backup_in_french() -> None:
    """What a BACKUP refused by the server's disk says (messages._device), in French."""
    from msde_tui import i18n
    from msde_tui.engine.backends.mssql import messages
    from msde_tui.engine.words import shown

    context = messages.Context(operation="backup", path="D:\\Locked\\x.bak", directory="D:\\Locked",
                               service_account=ACCOUNT)
    cases = {
        5: ("Le compte de service de SQL Server (NT Service\\MSSQL$SQLEXPRESS) ne peut pas écrire "
            "dans D:\\Locked.", "Donnez au compte de service"),
        3: ("Le répertoire D:\\Locked n'existe pas sur la machine du SQL Server.",
            "Les chemins sont résolus par le service SQL Server"),
        112: ("Le disque du serveur est plein : D:\\Locked\\x.bak ne peut pas être écrit.",
              "Libérez-y de la place"),
    }
    i18n.setup("fr")
    try:
        for code, (message, hint) in cases.items():
            text = f"Cannot open backup device 'D:\\Locked\\x.bak'. Operating system error {code}(x)."
            error = messages.translate(3201, text, context=context)
            assert shown(error.message) == message
            assert shown(error.hint).startswith(hint)
    finally:
        i18n.setup("en")


async def test_the_restore_plan_on_the_summary_in_french(home: Path, tds_server) -> None:  # type: ignore[no-untyped-def]
    """The engine's plan of a SQL Server restore (the set, room per folder) in French."""
    from msde_tui.app import MsdeApp
    from msde_tui.engine.backends.mssql.backend import MssqlBackend
    from msde_tui.engine.catalog import Dossier
    from msde_tui.engine.plans import BackupOptions
    from msde_tui.screens.backups import BackupsScreen
    from msde_tui.screens.summary import SummaryScreen

    tds_server.create_database("PW0001SOC")
    backend = MssqlBackend(_plan(tds_server, tds_server.backup_dir).connection, login_timeout=5)
    try:
        dossier = Dossier("001", "SOC", "Soc", backend="mssql", location="PW0001SOC")
        async for _event in backend.backup(dossier, str(tds_server.backup_dir), BackupOptions()):
            pass
    finally:
        await backend.close()
    app = MsdeApp(home=home, lang="fr", offer_jobs=False)
    app.plan = WizardPlan(connection=_plan(tds_server, tds_server.backup_dir).connection,
                          operation="restore")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        screen = await wait_screen(pilot, OperationScreen)
        field = screen.query_one("#directory", Input)
        await wait_for(pilot, lambda: bool(field.value))
        field.value = str(tds_server.backup_dir)
        await pilot.press("enter")
        await wait_screen(pilot, BackupsScreen)
        await wait_text(pilot, "0 sur 1")
        await pilot.press("space")
        await pilot.press("enter")
        summary = await wait_screen(pilot, SummaryScreen)
        await wait_text(pilot, "Jeu de back-up")
        said = " | ".join(str(w.content) for w in summary.query(".line"))
        assert "Jeu de back-up : jeu 1 : back-up complet de PW0001SOC du " in said
        assert f"données et journal dans {tds_server.data_dir}" in said
        assert "full backup" not in said and "data and log" not in said
