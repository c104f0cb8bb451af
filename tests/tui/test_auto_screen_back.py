"""F2 from the automatic-backups settings keeps what was typed: coming back to the screen shows
the ticked "Operational" and the number typed, not the saved values (nothing is saved by F2)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from msde_tui.app import MsdeApp
from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.auto import policy
from msde_tui.screens.auto_screen import AutoScreen
from msde_tui.screens.connection import ConnectionScreen
from msde_tui.screens.operation import OperationScreen
from msde_tui.screens.widgets import SpaceCheckbox
from tests.tui.app_support import wait_for, wait_screen


async def _to_settings(app: MsdeApp, pilot: object) -> AutoScreen:
    screen = await wait_screen(pilot, OperationScreen)  # type: ignore[arg-type]
    for _ in range(20):
        if screen.operation_id == "auto":  # type: ignore[attr-defined]
            break
        await pilot.press("down")  # type: ignore[attr-defined]
    await pilot.press("enter")  # type: ignore[attr-defined]
    found = await wait_screen(pilot, AutoScreen)  # type: ignore[arg-type]
    assert isinstance(found, AutoScreen)
    return found


async def test_back_keeps_the_settings_typed(home: Path, fakes: Path) -> None:
    create_demo(home, dossiers=1, years=1, lines=10)
    app = MsdeApp(home=home, lang="fr", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        await pilot.press("enter")
        settings = await _to_settings(app, pilot)
        await pilot.pause()
        assert not settings.query_one("#enabled", SpaceCheckbox).value
        settings.query_one("#enabled", SpaceCheckbox).focus()
        await pilot.press("space", "tab", "backspace", "5")
        await pilot.pause()
        assert settings.query_one("#keep", Input).value == "5"
        await pilot.press("f2")
        await wait_screen(pilot, OperationScreen)
        await pilot.press("enter")
        again = await wait_screen(pilot, AutoScreen)
        await wait_for(pilot, lambda: again.query_one("#keep", Input).value == "5", timeout=5)
        assert again.query_one("#enabled", SpaceCheckbox).value
    assert not policy.load(home).default.enabled  # F2 saved nothing
