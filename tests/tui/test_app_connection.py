"""Step 1 (connection) in the real app at 80x24, against the TDS double for SQL Server."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Static

from msde_tui.app import MsdeApp
from msde_tui.screens.connection import ConnectionScreen
from msde_tui.screens.operation import OperationScreen
from tests.tui.app_support import screen_text, type_text, wait_for, wait_screen, wait_text


async def test_first_screen_says_step_1_and_keys(home: Path) -> None:
    app = MsdeApp(home=home, lang="en", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        text = screen_text(app)
        assert "Step 1 of 5: Connection" in text
        assert "Local (embedded)" in text
        assert "(*) Local" in text  # the choice is shown by a character, not by colour
        for key in ("Enter Next", "F1 Help", "^Q Quit"):
            assert key in text
        assert "F2" not in text  # no step before the first: Back is not offered


async def test_french_with_lang_fr(home: Path) -> None:
    app = MsdeApp(home=home, lang="fr", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        text = screen_text(app)
        assert "Étape 1 sur 5 : Connexion" in text
        assert "Où sont les dossiers ?" in text
        assert "Suivant" in text and "Quitter" in text
        await pilot.press("f1")
        await wait_text(pilot, "Touches")
    app_en = MsdeApp(home=home, lang="en", offer_jobs=False)
    async with app_en.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        assert "Step 1 of 5" in screen_text(app_en)


async def _fill_server(pilot, host: str, port: int, user: str, password: str) -> None:
    await pilot.press("down")  # "Another SQL Server": the fields become editable
    screen = pilot.app.screen
    await wait_for(pilot, lambda: not screen.query_one("#host", Input).disabled)
    screen.query_one("#host", Input).value = host
    screen.query_one("#port", Input).value = str(port)
    screen.query_one("#user", Input).value = user
    screen.query_one("#password", Input).focus()
    await type_text(pilot, password)  # typed for real: the field masks it


async def test_failed_login_is_shown_inline_in_plain_words(home: Path, tds_server) -> None:
    app = MsdeApp(home=home, lang="en", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        await _fill_server(pilot, tds_server.host, tds_server.port, tds_server.user, "wrong")
        assert app.screen.query_one("#password", Input).password  # masked
        assert "wrong" not in screen_text(app)
        await pilot.press("enter")
        message = app.screen.query_one("#message", Static)
        await wait_for(pilot, lambda: "ERROR" in str(message.render()))
        text = str(message.render())
        assert "Traceback" not in text
        assert "login" in text.lower() or "password" in text.lower()
        assert isinstance(app.screen, ConnectionScreen)  # stays, nothing lost
        assert app.screen.query_one("#host", Input).value == tds_server.host


async def test_login_then_operation_proposes_the_server_backup_directory(
    home: Path, tds_server
) -> None:
    app = MsdeApp(home=home, lang="en", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        await _fill_server(pilot, tds_server.host, tds_server.port, tds_server.user, tds_server.password)
        await pilot.press("tab")  # the Test connection button
        await pilot.press("enter")
        await wait_text(pilot, "Connected:")
        assert isinstance(app.screen, ConnectionScreen)
        await pilot.press("shift+tab")
        await pilot.press("enter")  # Next
        screen = await wait_screen(pilot, OperationScreen)
        directory = screen.query_one("#directory", Input)
        await wait_for(pilot, lambda: directory.value != "")
        assert directory.value == str(tds_server.backup_dir)
        text = screen_text(app)
        assert "Step 2 of 5: Operation" in text
        assert f"{tds_server.user}@{tds_server.host}" in text  # the choices so far
        assert "on the SQL Server host" in text


async def test_ascii_borders_and_remappable_keys(home: Path) -> None:
    app = MsdeApp(home=home, lang="en", offer_jobs=False, ascii_borders=True, ansi_theme=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        text = screen_text(app)
        assert "+------" in text and "╭" not in text and "│" not in text
        app.set_keymap({"back": "f9", "next": "f10"})  # bindings are remapped by their id
        await pilot.press("f10")
        await wait_screen(pilot, OperationScreen)
        await pilot.press("f2")  # the old key does nothing now
        await pilot.pause()
        assert isinstance(app.screen, OperationScreen)
        await pilot.press("f9")
        await wait_screen(pilot, ConnectionScreen)


async def test_a_bare_escape_never_goes_back(home: Path) -> None:
    app = MsdeApp(home=home, lang="en", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        await pilot.press("enter")
        await wait_screen(pilot, OperationScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, OperationScreen)
        await pilot.press("ctrl+b")
        await wait_screen(pilot, ConnectionScreen)


def _not_ascii(text: str) -> set[str]:
    return {c for c in text if ord(c) > 126}


async def test_ascii_mode_draws_fields_buttons_and_scrollbars_in_ascii(home: Path) -> None:
    from textual.scrollbar import ScrollBar, ScrollBarRender

    from msde_tui.screens.dialogs import TextViewScreen
    from msde_tui.screens.widgets import AsciiScrollBarRender

    # Textual's own bar ends in eighth blocks; the ASCII one has the same thumb, as '#'.
    bars = {"size": 10, "virtual_size": 100, "window_size": 23, "position": 37}
    assert _not_ascii("".join(s.text for s in ScrollBarRender.render_bar(**bars).segments))
    assert "".join(s.text for s in AsciiScrollBarRender.render_bar(**bars).segments) == "   ###    "

    app = MsdeApp(home=home, lang="en", offer_jobs=False, ascii_borders=True, ansi_theme=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        text = screen_text(app)
        assert _not_ascii(text) == set() and "Test connection" in text  # compact button shown
        long_text = "\n".join(f"line {i}" for i in range(300))
        app.push_screen(TextViewScreen("T-SQL", long_text, home / "actions.sql"))
        await wait_screen(pilot, TextViewScreen)
        await pilot.pause()
        text = screen_text(app)
        assert _not_ascii(text) == set()
        assert "line 0" in text and "##" in text  # the scrollbar's thumb
    assert ScrollBar.renderer is ScrollBarRender  # given back when the app ends
