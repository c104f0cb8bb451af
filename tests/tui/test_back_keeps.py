"""Back (F2) keeps what the screen left holds: ticks, typed fields, choices, on every step."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Checkbox, Input

from msde_tui.app import MsdeApp
from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.plans import Connection, WizardPlan
from msde_tui.screens import drafts
from msde_tui.screens import lifecycle_screens as ls
from msde_tui.screens import pack_screens as ps
from msde_tui.screens.connection import ConnectionScreen
from msde_tui.screens.dossiers import DossiersScreen
from msde_tui.screens.operation import OperationScreen
from msde_tui.screens.registry import StepPosition
from msde_tui.screens.steps import Back
from msde_tui.screens.widgets import ChoiceList, TickList
from tests.tui.app_support import screen_text, wait_for, wait_screen, wait_text


@pytest.fixture
def demo_home(home: Path) -> Path:
    create_demo(home, dossiers=3, years=8, lines=50)
    return home


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_back_from_the_dossier_list_keeps_the_ticks(demo_home: Path, lang: str) -> None:
    app = MsdeApp(home=demo_home, lang=lang, offer_jobs=False)
    ticked = "2 of 3 ticked" if lang == "en" else "2 sur 3 cochés"
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        await pilot.press("enter")
        screen = await wait_screen(pilot, OperationScreen)
        await wait_for(pilot, lambda: screen.query_one("#directory", Input).value != "")
        (demo_home / "backups").mkdir(exist_ok=True)
        await pilot.press("enter")
        await wait_screen(pilot, DossiersScreen)
        await wait_text(pilot, "003GAR")
        await pilot.press("space", "down", "space")
        await wait_text(pilot, ticked)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, OperationScreen))
        await pilot.press("enter")
        await wait_screen(pilot, DossiersScreen)
        await wait_text(pilot, "003GAR")
        await wait_text(pilot, ticked)
        assert "[x] 001SOC" in screen_text(app) and "[x] 002BRA" in screen_text(app)


async def test_back_from_the_operation_screen_keeps_the_choice(demo_home: Path) -> None:
    app = MsdeApp(home=demo_home, lang="en", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        await pilot.press("enter")
        screen = await wait_screen(pilot, OperationScreen)
        await wait_for(pilot, lambda: screen.query_one("#directory", Input).value != "")
        await pilot.press("down", "down")
        chosen = screen.query_one("#operation", ChoiceList).choice
        screen.query_one("#directory", Input).value = str(demo_home / "elsewhere")
        await pilot.press("f2")
        await wait_screen(pilot, ConnectionScreen)
        await pilot.press("enter")
        screen = await wait_screen(pilot, OperationScreen)
        await pilot.pause()
        assert screen.query_one("#operation", ChoiceList).choice == chosen != "backup"
        assert screen.query_one("#directory", Input).value == str(demo_home / "elsewhere")


FORMS = [
    (ps.ExportScreen, "export"),
    (ps.PartialExportScreen, "export_partial"),
    (ps.ImportScreen, "import"),
    (ps.ApplyScreen, "apply"),
    (ls.ArchiveScreen, "archive"),
    (ls.UnarchiveScreen, "unarchive"),
    (ls.CutScreen, "cut"),
    (ls.AuditScreen, "audit"),
]
TYPED = {"keep-from": "2020", "years": "2022,2023", "number": "042", "passphrase": "pw",
         "passphrase2": "pw", "fec-id": "BE0403170701"}


@pytest.mark.parametrize(("form", "operation"), FORMS, ids=[op for _f, op in FORMS])
async def test_back_from_a_form_keeps_what_it_held(demo_home: Path, tmp_path: Path, form: type,
                                                  operation: str) -> None:
    plan = WizardPlan(connection=Connection(), operation=operation, directory=str(tmp_path))

    class Host(MsdeApp):
        results: list[object]

        def drive(self) -> None:  # type: ignore[override]
            self.results = []
            self.show(plan)

        def show(self, shown: WizardPlan) -> None:
            self.push_screen(form(self.ctx, shown, StepPosition(3, 5)), self.results.append)

    app = Host(home=demo_home, lang="en", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        for ticks in screen.query(TickList):
            await wait_for(pilot, lambda ticks=ticks: ticks.option_count > 0 or ticks.id == "years")
            if ticks.option_count:
                ticks.focus()
                await pilot.press("space")
        for box in screen.query(Checkbox):
            box.value = not box.value
        for field in screen.query(Input):
            if field.id in TYPED:
                field.value = TYPED[field.id]
        await pilot.pause()
        held = drafts.take(screen)
        assert held, "the form has fields"
        await pilot.press("f2")
        await wait_for(pilot, lambda: bool(app.results))
        back = app.results[-1]
        assert isinstance(back, Back)
        app.show(back.plan)
        await wait_for(pilot, lambda: app.screen is not screen and isinstance(app.screen, form))
        again = app.screen
        await wait_for(pilot, lambda: drafts.take(again) == held, timeout=5)
