"""The time field of the automatic-backup settings: "Run every ... hours from HH:MM", typed by
keyboard, checked where it is typed (a plain sentence, nothing lost), installed as the exact
crontab line (a fake ``crontab`` on PATH), shown with its run times and the next run, and said
in French."""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.widgets import Input, Static

from msde_tui.engine.auto import installed, policy
from msde_tui.engine.auto.schedule import CRON_MARKER, Rhythm
from msde_tui.i18n import setup
from msde_tui.screens.dialogs import ConfirmScreen
from msde_tui.screens.widgets import SpaceCheckbox
from tests.fake_schedulers import CRONTAB
from tests.fake_schedulers import make_tool as _tool
from tests.tui.app_support import flat, screen_text, type_text, wait_for, wait_screen, wait_text
from tests.tui.test_auto_screen_schedule import Host


def _flat(app: App[None]) -> str:
    return flat(screen_text(app))


def _times(app: App[None]) -> str:
    return flat(str(app.screen.query_one("#run-times", Static).render()))


def _message(app: App[None]) -> str:
    return flat(str(app.screen.query_one("#message").render()))


async def _retype(pilot: object, app: App[None], field: str, text: str) -> None:
    """Focus a field, clear it by keyboard, type ``text``."""
    box = app.screen.query_one(f"#{field}", Input)
    box.focus()
    await pilot.press("end", *["backspace"] * len(box.value))  # type: ignore[attr-defined]
    await type_text(pilot, text)  # type: ignore[arg-type]


def _msde_lines(table: Path) -> list[str]:
    return [line for line in table.read_text().splitlines() if line.endswith(CRON_MARKER)]


async def test_every_six_hours_from_08_17_is_installed_as_typed(home: Path, fakes: Path) -> None:
    _tool(fakes, "crontab", CRONTAB)
    table = fakes / "crontab.table"
    app = Host(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_text(pilot, "every hour at minute 17")  # the default, before anything is typed
        await _retype(pilot, app, "every_hours", "6")
        await _retype(pilot, app, "at", "08:17")
        await wait_for(pilot, lambda: "08:17, 14:17, 20:17, 02:17" in _times(app))
        assert "every 6 hours from 08:17" in _times(app) and "next run " in _times(app)
        app.screen.query_one("#enabled", SpaceCheckbox).focus()
        await pilot.press("space", "enter")
        await wait_screen(pilot, ConfirmScreen)
        assert "every 6 hours from 08:17 (08:17, 14:17, 20:17, 02:17)" in _flat(app)
        await pilot.press("y")
        await wait_text(pilot, "Saved and scheduled")
        lines = _msde_lines(table)
        assert len(lines) == 1 and lines[0].startswith("17 2,8,14,20 * * * ")
        assert "Next run:" in _flat(app) and "every 6 hours from 08:17" in _flat(app)
    found = installed.state(home)
    assert found.installed and found.rhythm == Rhythm(6, 8, 17)
    assert found.next_run is not None and (found.next_run.hour % 6, found.next_run.minute) == (2, 17)


async def test_a_wrong_time_is_refused_where_it_is_typed_and_nothing_is_lost(home: Path, fakes: Path) -> None:
    _tool(fakes, "crontab", CRONTAB)
    app = Host(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await _retype(pilot, app, "keep", "7")
        await _retype(pilot, app, "every_hours", "5")
        await wait_for(pilot, lambda: "must be 1, 2, 3, 4, 6, 8, 12 or 24" in _times(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "must be 1, 2, 3, 4, 6, 8, 12 or 24" in _message(app))
        assert app.focused is app.screen.query_one("#every_hours", Input)
        await _retype(pilot, app, "every_hours", "24")
        await _retype(pilot, app, "at", "25:30")
        await wait_for(pilot, lambda: "'25:30' is not a time of day" in _times(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Type the time as HH:MM" in _message(app))
        assert app.focused is app.screen.query_one("#at", Input)
        assert not app.results and not policy.config_file(home).exists()  # nothing saved
        values = {n: app.screen.query_one(f"#{n}", Input).value for n in ("keep", "every_hours", "at")}
        assert values == {"keep": "7", "every_hours": "24", "at": "25:30"}  # every answer kept
        await _retype(pilot, app, "at", "03:30")
        await wait_for(pilot, lambda: "every day at 03:30" in _times(app))
        await pilot.press("enter")  # not Operational: saved, nothing installed, the time kept
        await wait_for(pilot, lambda: bool(app.results))
    assert policy.load(home).default.keep == 7
    assert not (fakes / "crontab.table").exists()
    found = installed.state(home)
    assert not found.installed and found.rhythm == Rhythm(24, 3, 30)  # shown again next time


async def test_changing_the_time_replaces_the_installed_line(home: Path, fakes: Path) -> None:
    _tool(fakes, "crontab", CRONTAB)
    table = fakes / "crontab.table"
    policy.save(policy.AutoConfig().with_default(enabled=True), home)
    installed.install(home, Rhythm(), "cron")
    assert _msde_lines(table)[0].startswith("17 * * * * ")
    app = Host(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_text(pilot, "Next run:")
        await _retype(pilot, app, "every_hours", "24")
        await _retype(pilot, app, "at", "03:30")
        await pilot.press("enter")
        await wait_screen(pilot, ConfirmScreen)
        assert "Replace the installed schedule" in _flat(app) and "every day at 03:30" in _flat(app)
        await pilot.press("y")
        await wait_text(pilot, "Saved and scheduled")
    lines = _msde_lines(table)
    assert len(lines) == 1 and lines[0].startswith("30 3 * * * ")
    assert installed.state(home).rhythm == Rhythm(24, 3, 30)


async def test_the_time_field_in_french(home: Path, fakes: Path) -> None:
    setup("fr")
    try:
        app = Host(home)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_text(pilot, "Toutes les ... heures")
            await _retype(pilot, app, "every_hours", "6")
            await _retype(pilot, app, "at", "08:17")
            await wait_for(pilot, lambda: "toutes les 6 heures à partir de 08:17" in _times(app))
            assert "prochain lancement" in _times(app)
            await _retype(pilot, app, "at", "8h")
            await wait_for(pilot, lambda: "'8' n'est pas une heure de la journée" in _times(app))
    finally:
        setup("en")


async def test_the_time_field_is_whole_at_60_columns_in_french(home: Path) -> None:
    """At 60x20 the page scrolls (its scrollbar takes two columns): the French label before the
    time left the field's end under the scrollbar ("00:1▇▇")."""
    setup("fr")
    try:
        app = Host(home)
        async with app.run_test(size=(60, 20)) as pilot:
            await wait_text(pilot, "Toutes les ... heures")
            at = app.screen.query_one("#at", Input)
            body = app.screen.query_one("#body")
            assert at.region.right <= body.content_region.right - body.styles.scrollbar_size_vertical, (
                at.region, body.content_region)
            assert "00:17" in screen_text(app) or at.value in screen_text(app), screen_text(app)
    finally:
        setup("en")
