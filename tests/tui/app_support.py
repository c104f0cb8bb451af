"""Helpers for the wizard's pilot tests (no tests here)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

from textual.pilot import Pilot
from textual.screen import Screen


def screen_text(app: object) -> str:
    """What the terminal shows, as plain text lines."""
    strips = app.screen._compositor.render_strips()  # type: ignore[attr-defined]
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


async def wait_for(pilot: Pilot, predicate: Callable[[], object], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause()
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; screen:\n{screen_text(pilot.app)}")
        await asyncio.sleep(0.05)


async def wait_screen(pilot: Pilot, kind: type[Screen], timeout: float = 15.0) -> Screen:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, kind), timeout)
    return pilot.app.screen


def flat(text: str) -> str:
    """Text as read, whatever its wrapping: box-drawing characters and line breaks are spaces,
    runs of spaces one (a long path wraps a sentence differently on every machine)."""
    return " ".join(re.sub(r"[\u2500-\u259f]", " ", text).split())


def squashed(text: str) -> str:
    """Text with no space at all: a path longer than the screen is broken inside a word,
    wherever the machine's temporary directory makes it fall."""
    return "".join(flat(text).split())


async def wait_text(pilot: Pilot, text: str, timeout: float = 15.0) -> None:
    wanted = flat(text)
    await wait_for(pilot, lambda: wanted in flat(screen_text(pilot.app)), timeout)


async def type_text(pilot: Pilot, text: str) -> None:
    for char in text:
        await pilot.press(char if char != " " else "space")


class StepHost:
    """Build an app that shows one step screen alone and records what it dismissed with."""

    @staticmethod
    def make(home, factory, *, lang: str = "en"):  # type: ignore[no-untyped-def]
        from msde_tui.app import MsdeApp

        class Host(MsdeApp):
            results: list[object]

            def drive(self) -> None:  # type: ignore[override]
                self.results = []
                self.push_screen(factory(self.ctx), self.results.append)

        return Host(home=home, lang=lang, offer_jobs=False)


async def burst(pilot: Pilot, *keys: str) -> None:
    """Send ``keys`` as a slow link delivers them: all at once, with no pause for the app to
    handle one before the next arrives (``pilot.press`` waits for idle between keys)."""
    import unicodedata

    from textual import events
    from textual.keys import _character_to_key, _get_unicode_name_from_key

    driver = pilot.app._driver
    assert driver is not None
    for key in keys:
        if len(key) == 1 and not key.isalnum():
            key = _character_to_key(key)
        try:
            char: str | None = unicodedata.lookup(_get_unicode_name_from_key(key))
        except KeyError:
            char = key if len(key) == 1 else None
        event = events.Key(key, char)
        event.set_sender(pilot.app)
        driver.send_message(event)
    await pilot.pause()
