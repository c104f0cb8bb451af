"""The "Automatic backups" wizard screen at 80x24: shows the policy and last run, saves edits."""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.widgets import DataTable, Input

from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.auto import policy
from msde_tui.engine.auto import run as auto
from msde_tui.engine.plans import WizardPlan
from msde_tui.i18n import setup
from msde_tui.screens.auto_screen import AutoScreen
from msde_tui.screens.context import WizardContext
from msde_tui.screens.dialogs import ConfirmScreen
from msde_tui.screens.registry import StepPosition
from tests.fake_schedulers import CRONTAB
from tests.fake_schedulers import make_tool as _tool
from tests.tui.app_support import wait_screen, wait_text


class Host(App[None]):
    def __init__(self, home: Path) -> None:
        super().__init__()
        self.home = home
        self.results: list[WizardPlan | None] = []

    def get_css_variables(self) -> dict[str, str]:  # the wizard app's own variable
        return {**super().get_css_variables(), "msde-border": "round"}

    def on_mount(self) -> None:
        screen = AutoScreen(WizardContext(home=self.home), WizardPlan(operation="auto"), StepPosition(3, 3))
        self.push_screen(screen, self.results.append)


async def test_screen_saves_policy_and_shows_last_run(home: Path, tmp_path: Path, fakes: Path) -> None:
    _tool(fakes, "crontab", CRONTAB)
    create_demo(home, dossiers=1, years=1, lines=10)
    target = tmp_path / "b"
    await auto.run_auto(home, config=policy.AutoConfig().with_default(enabled=False), dry_run=False)
    app = Host(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#last-run", DataTable)
        assert table.row_count == 1
        await pilot.press("space")  # Operational: on
        app.screen.query_one("#keep", Input).value = "5"
        app.screen.query_one("#max_movements", Input).value = "250"
        app.screen.query_one("#directory", Input).value = str(target)
        app.screen.query_one("#keep", Input).focus()
        await pilot.press("enter")
        await wait_screen(pilot, ConfirmScreen)
        await pilot.press("y")  # install the schedule
        await wait_text(pilot, "Saved and scheduled")
        await pilot.press("enter")
        await pilot.pause()
    saved = policy.load(home).default
    assert (saved.enabled, saved.keep, saved.max_movements, saved.directory) == (True, 5, 250, str(target))
    assert app.results and app.results[0] is not None


async def test_screen_refuses_bad_number(home: Path) -> None:
    app = Host(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.screen.query_one("#every_days", Input).value = ""
        app.screen.query_one("#keep", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert "whole number" in str(app.screen.query_one("#message").render())
        assert not app.results
    assert not policy.config_file(home).exists()


async def test_last_run_reasons_in_french(home: Path, tmp_path: Path) -> None:
    """The "Pourquoi" column of a dossier not due: its reason in French, not the engine's English."""
    create_demo(home, dossiers=1, years=1, lines=10)
    config = policy.AutoConfig().with_default(enabled=True, every_days=1, max_movements=100,
                                             directory=str(tmp_path / "b"))
    await auto.run_auto(home, config=config)  # backs up (no verified backup yet)
    await auto.run_auto(home, config=config)  # skips: 0 movements, the same day
    setup("fr")
    try:
        app = Host(home)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            row = [str(cell) for cell in app.screen.query_one("#last-run", DataTable).get_row_at(0)]
            assert row[1] == "ignoré"
            assert row[3].startswith("0 mouvements < 100 et 0 jours < 1 Dernière vérification")
    finally:
        setup("en")
