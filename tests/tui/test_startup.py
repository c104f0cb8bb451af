"""Start-up shortcuts of the wizard look exactly like the plain way (bench/bench_tui_startup.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from textual.css.stylesheet import Stylesheet
from textual.pilot import Pilot
from textual.widgets._footer import FooterKey

from msde_tui.app import MsdeApp
from msde_tui.screens.connection import ConnectionScreen


async def wait_for_first_screen(app: MsdeApp, pilot: Pilot[None]) -> None:
    for _ in range(2000):
        if isinstance(app.screen, ConnectionScreen) and app.screen.is_mounted:
            break
        await asyncio.sleep(0.005)
    await pilot.pause()


async def first_screen(app: MsdeApp) -> str:
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_first_screen(app, pilot)
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


async def test_the_footer_is_in_the_first_frame_built_once_and_follows_the_keys(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[FooterKey] = []
    init = FooterKey.__init__

    def counting_init(self: FooterKey, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        init(self, *args, **kwargs)

    monkeypatch.setattr(FooterKey, "__init__", counting_init)
    app = MsdeApp(home=home, lang="en", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(2000):
            if isinstance(app.screen, ConnectionScreen) and app.screen.is_mounted:
                break
            await asyncio.sleep(0.001)
        # In the screen's first frame (Textual's footer gets its keys a frame later).
        assert len(app.screen.query(FooterKey)) == 3  # no F2 Back on the first step
        await pilot.pause()
        shown = [key.key for key in app.screen.query(FooterKey)]
        assert shown == ["enter", "f1", "ctrl+q"]
        assert len(built) == len(shown)  # Textual alone builds it three times here
        app.set_keymap({"next": "f10"})
        for _ in range(200):
            if "f10" in [key.key for key in app.screen.query(FooterKey)]:
                break
            await pilot.pause(0.01)
        assert sorted(key.key for key in app.screen.query(FooterKey)) == ["ctrl+q", "f1", "f10"]
