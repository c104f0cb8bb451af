""""Operational" means it: the settings screen installs the schedule it shows (with consent),
shows the next run and the log, removes it when unticked, and refuses a directory that cannot
be created or written. Against a fake ``crontab`` on PATH (no systemctl: cron is chosen)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Input

from msde_tui.engine.auto import installed, policy
from msde_tui.engine.plans import WizardPlan
from msde_tui.i18n import setup
from msde_tui.screens.auto_screen import AutoScreen
from msde_tui.screens.context import WizardContext
from msde_tui.screens.dialogs import ConfirmScreen
from msde_tui.screens.registry import StepPosition
from msde_tui.screens.steps import Back
from msde_tui.screens.widgets import SpaceCheckbox
from tests.fake_schedulers import CRONTAB
from tests.fake_schedulers import make_tool as _tool
from tests.tui.app_support import screen_text, wait_for, wait_screen, wait_text

linux_only = pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc and /sys")


class Host(App[None]):
    def __init__(self, home: Path) -> None:
        super().__init__()
        self.home = home
        self.results: list[WizardPlan | None] = []

    def get_css_variables(self) -> dict[str, str]:
        return {**super().get_css_variables(), "msde-border": "round"}

    def on_mount(self) -> None:
        screen = AutoScreen(WizardContext(home=self.home), WizardPlan(operation="auto"), StepPosition(2, 2))
        self.push_screen(screen, self.results.append)


def _flat(app: App[None]) -> str:
    return " ".join(screen_text(app).split())


async def _toggle_and_next(pilot: object, app: Host) -> None:
    app.screen.query_one("#enabled", SpaceCheckbox).focus()
    await pilot.press("space")  # type: ignore[attr-defined]
    app.screen.query_one("#keep", Input).focus()
    await pilot.press("enter")  # type: ignore[attr-defined]


async def test_tick_installs_untick_removes(home: Path, fakes: Path) -> None:
    _tool(fakes, "crontab", CRONTAB)
    table = fakes / "crontab.table"
    app = Host(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_text(pilot, "none installed")
        await _toggle_and_next(pilot, app)
        await wait_screen(pilot, ConfirmScreen)
        assert "crontab line" in _flat(app) and "every hour at minute 17" in _flat(app)
        await pilot.press("y")
        await wait_text(pilot, "Saved and scheduled")
        text = _flat(app)
        assert "Next run:" in text and "crontab line" in text
        assert str(installed.log_path(home))[:40] in "".join(screen_text(app).split())
        assert "msde-auto" in table.read_text()
        assert policy.load(home).default.enabled
        # untick: the line goes, the others' lines would stay
        await _toggle_and_next(pilot, app)
        await wait_text(pilot, "schedule is removed")
        assert "none installed" in _flat(app)
        assert "msde-auto" not in table.read_text()
        assert not policy.load(home).default.enabled
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(app.results))


async def test_no_to_install_saves_but_schedules_nothing(home: Path, fakes: Path) -> None:
    _tool(fakes, "crontab", CRONTAB)
    app = Host(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await _toggle_and_next(pilot, app)
        await wait_screen(pilot, ConfirmScreen)
        await pilot.press("n")
        await wait_text(pilot, "No schedule installed")
        assert not (fakes / "crontab.table").exists()
        assert not app.results
        await pilot.press("enter")  # said no once: Enter leaves
        await wait_for(pilot, lambda: bool(app.results))
    assert policy.load(home).default.enabled and not installed.state(home).installed


@linux_only
@pytest.mark.parametrize(("where", "said"), [("/sys/kernel/msde", "Cannot create"),
                                             ("/sys/kernel", "not a place for backups")])
async def test_directory_that_cannot_take_backups_is_refused(home: Path, fakes: Path, where: str,
                                                             said: str) -> None:
    app = Host(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.screen.query_one("#directory", Input).value = where
        app.screen.query_one("#keep", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: said in str(app.screen.query_one("#message").render()))
        assert not app.results
        assert app.focused is app.screen.query_one("#directory", Input)
    assert not policy.config_file(home).exists()


async def test_absent_directory_is_created(home: Path, fakes: Path, tmp_path: Path) -> None:
    target = tmp_path / "new" / "backups"
    app = Host(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.screen.query_one("#directory", Input).value = str(target)
        app.screen.query_one("#keep", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(app.results))
    assert target.is_dir() and policy.load(home).default.directory == str(target)


async def test_schedule_said_in_french(home: Path, fakes: Path) -> None:
    _tool(fakes, "crontab", CRONTAB)
    installed.install(home)
    setup("fr")
    try:
        app = Host(home)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_text(pilot, "Prochaine")
            text = _flat(app)
            assert "ligne crontab" in text and "toutes les heures" in text
    finally:
        setup("en")


async def test_enter_on_the_install_question_installs_nothing(home: Path, fakes: Path) -> None:
    """An Enter typed ahead (before the question appeared) is never consent: Enter = no."""
    _tool(fakes, "crontab", CRONTAB)
    app = Host(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await _toggle_and_next(pilot, app)
        await wait_screen(pilot, ConfirmScreen)
        assert "Enter = no" in _flat(app)
        await pilot.press("enter")
        await wait_text(pilot, "No schedule installed")
    assert not (fakes / "crontab.table").exists() and not installed.state(home).installed


async def test_a_missing_crontab_is_said_in_french_with_what_to_do(home: Path, fakes: Path) -> None:
    setup("fr")  # no crontab and no systemctl on PATH: cron is chosen, and it is not there
    try:
        app = Host(home)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await _toggle_and_next(pilot, app)
            await wait_screen(pilot, ConfirmScreen)
            await pilot.press("o")
            await wait_text(pilot, "La commande 'crontab' n'est pas installée")
            assert "Installez cron" in _flat(app) and "not installed" not in _flat(app)
            await pilot.press("f2")  # the screen is not left busy
            await wait_for(pilot, lambda: bool(app.results))
    finally:
        setup("en")


async def test_back_while_the_scheduler_is_looked_for(home: Path, fakes: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The look for the scheduler says so at once, and F2 leaves it (nothing installed)."""
    release = threading.Event()

    def slow_kind() -> str:
        release.wait(30)
        return "cron"

    monkeypatch.setattr(installed, "machine_kind", slow_kind)
    _tool(fakes, "crontab", CRONTAB)
    app = Host(home)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await _toggle_and_next(pilot, app)
            await wait_text(pilot, "Looking for this machine's scheduler")
            await pilot.press("f2")
            await wait_for(pilot, lambda: bool(app.results))
            assert len(app.results) == 1 and isinstance(app.results[0], Back)  # Back, not Next
            release.set()
    finally:
        release.set()
    assert not (fakes / "crontab.table").exists()
