"""Fields that show a value use that value: a cleared restore number is "no number yet", not
the summary's silent default (English and French, 80x24, keyboard)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from msde_tui.app import MsdeApp
from msde_tui.screens.backups import BackupsScreen
from msde_tui.screens.summary import SummaryScreen
from tests.tui.app_support import screen_text, wait_for, wait_screen, wait_text
from tests.tui.test_app_embedded import _to_restore_list, backed_up, demo_home  # noqa: F401 - fixtures


@pytest.mark.parametrize(("lang", "none_yet", "refused"), [
    ("en", "No number yet", "has no number yet"),
    ("fr", "Pas encore de numéro", "n'a pas encore de numéro"),
])
async def test_cleared_restore_number_is_no_number(backed_up: Path, lang: str, none_yet: str,  # noqa: F811
                                                    refused: str) -> None:
    app = MsdeApp(home=backed_up, lang=lang, offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _to_restore_list(pilot, backed_up) if lang == "en" else None
        if screen is None:  # the same steps, French words
            from msde_tui.screens.connection import ConnectionScreen
            from msde_tui.screens.operation import OperationScreen

            await wait_screen(pilot, ConnectionScreen)
            await pilot.press("enter")
            op = await wait_screen(pilot, OperationScreen)
            await pilot.press("down")
            field = op.query_one("#directory", Input)
            await wait_for(pilot, lambda: field.value != "")
            field.value = str(backed_up / "backups")
            await pilot.press("enter")
            screen = await wait_screen(pilot, BackupsScreen)
            await wait_text(pilot, "sur 2")
        await pilot.press("space")
        target = screen.query_one("#target", Input)
        await wait_for(pilot, lambda: target.value == "003")
        target.focus()
        await pilot.press("backspace", "backspace", "backspace")
        await wait_text(pilot, none_yet)
        await pilot.press("enter")
        await wait_for(pilot, lambda: refused in " ".join(screen_text(app).split()))
        assert isinstance(app.screen, BackupsScreen)  # not the summary with 003 put back
        assert app.focused is target and target.value == ""
        await pilot.press("0", "0", "7")
        await pilot.press("enter")
        await wait_screen(pilot, SummaryScreen)
        await wait_text(pilot, "007")
        assert "003" not in screen_text(app)


async def test_export_uses_the_directory_its_screen_shows(tmp_path: Path, home: Path) -> None:
    from msde_tui.engine.accounting.demo import create_demo
    from msde_tui.screens import pack_screens as ps
    from tests.tui.test_app_pack import host

    create_demo(home, dossiers=1, years=1, lines=20)
    chosen = tmp_path / "chosen-here"
    app = host(home, ps.ExportScreen, tmp_path / "first", operation="export")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_text(pilot, "001SOC")
        field = app.screen.query_one("#directory", Input)
        assert field.value == str(tmp_path / "first")
        field.value = str(chosen)
        await pilot.press("space")
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(app.results))
    op = app.results[-1].op  # type: ignore[union-attr]
    assert op.directory == str(chosen) and "exports" not in op.directory
