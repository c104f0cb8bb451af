"""The wizard's directory step on SQL Server: the folder is written by the server's service
account, so one it cannot write in is refused there, naming the account and the folder
(TDS double, real pymssql)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from msde_tui.engine.plans import Connection, WizardPlan
from msde_tui.screens.operation import OperationScreen
from msde_tui.screens.registry import StepPosition
from tests.tui.app_support import StepHost, flat, screen_text, wait_for, wait_screen, wait_text

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
        assert f"The SQL Server service account {ACCOUNT} cannot write in {locked}" in text
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
        assert ACCOUNT in text and str(locked) in text and "accès refusé" in text
        assert "cannot write" not in text and "access is denied" not in text
        assert app.results == []
