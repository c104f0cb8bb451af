"""Start-up shortcuts of the wizard look exactly like the plain way (bench/bench_tui_startup.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.css.stylesheet import Stylesheet

from msde_tui.app import MsdeApp
from msde_tui.screens.connection import ConnectionScreen


async def first_screen(app: MsdeApp) -> str:
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(2000):
            if isinstance(app.screen, ConnectionScreen) and app.screen.is_mounted:
                break
            await asyncio.sleep(0.005)
        await pilot.pause()
        return app.export_screenshot()


@pytest.mark.parametrize("ascii_borders", [False, True])
async def test_ansi_theme_chosen_before_textual_builds_the_stylesheet(
    home: Path, ascii_borders: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    reparsed: list[Stylesheet] = []
    reparse = Stylesheet.reparse

    def counting_reparse(self: Stylesheet) -> None:
        reparsed.append(self)
        reparse(self)

    monkeypatch.setattr(Stylesheet, "reparse", counting_reparse)
    app = MsdeApp(home=home, lang="en", offer_jobs=False, ascii_borders=ascii_borders, ansi_theme=True)
    assert app.theme == "ansi-dark"
    fast = await first_screen(app)
    assert reparsed == []  # every stylesheet parsed once, not again for a theme change

    # The plain way: set the theme on a constructed app (Textual re-parses for the new theme).
    plain = MsdeApp(home=home, lang="en", offer_jobs=False, ascii_borders=ascii_borders, ansi_theme=False)
    plain.theme = "ansi-dark"
    plain.add_class("-ansi")
    assert await first_screen(plain) == fast
    assert reparsed  # the counter does see a theme change
    assert set(plain.classes) == set(app.classes)
