"""The footer shows the keys that work, as the rest of the footer names them, and only those;
F1 helps on every screen; an empty field's hint is not read as a value without colours; a
refused connection field takes the cursor, one Shift+Tab from the choice."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from msde_tui.app import MsdeApp
from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.lifecycle import cut
from msde_tui.engine.plans import Connection, WizardPlan
from msde_tui.screens import lifecycle_screens as ls
from msde_tui.screens import pack_screens as ps
from msde_tui.screens.browse import BrowseScreen
from msde_tui.screens.connection import ConnectionScreen
from msde_tui.screens.dialogs import HelpScreen, SaveScreen, TextViewScreen
from msde_tui.screens.jobs_screen import JobsScreen
from msde_tui.screens.progress import ProgressScreen
from msde_tui.screens.registry import StepPosition
from msde_tui.screens.widgets import ChoiceList
from tests.tui.app_support import StepHost, flat, screen_text, wait_for, wait_screen, wait_text


@pytest.fixture
def demo_home(home: Path) -> Path:
    create_demo(home, dossiers=2, years=8, lines=50)
    return home


def footer(app: object) -> str:
    return flat(screen_text(app).splitlines()[-1])


@pytest.mark.parametrize(("lang", "close", "save", "cancel"), [
    ("en", "F2 Close", "F4 Save", "F2 Cancel"), ("fr", "F2 Fermer", "F4 Enregistrer", "F2 Annuler")])
async def test_view_and_save_dialogs_show_f2_and_help(home: Path, lang: str, close: str, save: str,
                                                     cancel: str) -> None:
    app = MsdeApp(home=home, lang=lang, offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        app.push_screen(TextViewScreen("T-SQL", "BACKUP DATABASE x", home / "a.sql"))
        await wait_screen(pilot, TextViewScreen)
        await pilot.pause()
        shown = footer(app)
        assert close in shown and save in shown and "esc" not in shown.lower()
        await pilot.press("f1")
        await wait_screen(pilot, HelpScreen)
        await wait_text(pilot, "T-SQL")
        await pilot.press("f1")
        await wait_screen(pilot, TextViewScreen)
        await pilot.press("f4")
        await wait_screen(pilot, SaveScreen)
        await pilot.pause()
        assert cancel in footer(app) and "esc" not in footer(app).lower()
        await pilot.press("f2")
        await wait_screen(pilot, TextViewScreen)
        await pilot.press("f2")
        await wait_screen(pilot, ConnectionScreen)


async def test_f1_helps_in_the_browse_dialog_and_the_jobs_screen(home: Path) -> None:
    app = MsdeApp(home=home, lang="en", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        app.push_screen(BrowseScreen(app.ctx, Connection(), str(home), "/"))
        await wait_screen(pilot, BrowseScreen)
        await pilot.press("f1")
        await wait_screen(pilot, HelpScreen)
        await wait_text(pilot, "F4 chooses the directory shown at the top")
        await pilot.press("f1")
        await wait_screen(pilot, BrowseScreen)
        await pilot.press("f2")
        await wait_screen(pilot, ConnectionScreen)
        await pilot.press("f5")
        await wait_screen(pilot, JobsScreen)
        assert "F1 Help" in footer(app)
        await pilot.press("f1")
        await wait_screen(pilot, HelpScreen)
        await wait_text(pilot, "F5 reads the list again")


async def test_no_tick_all_where_one_dossier_only_is_chosen(demo_home: Path) -> None:
    for form, operation in ((ls.CutScreen, "cut"), (ls.AuditScreen, "audit")):
        plan = WizardPlan(operation=operation, directory=str(demo_home))
        app = StepHost.make(demo_home, lambda ctx, form=form, plan=plan: form(ctx, plan, StepPosition(3, 5)))
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_text(pilot, "002BRA")
            assert "Tick all" not in footer(app)
            await pilot.press("a")
            await pilot.pause()
            assert app.screen.query_one("#dossiers", ls.TickList).selected == []


async def test_f7_and_f9_are_in_the_footer_where_they_work(demo_home: Path) -> None:
    made = cut.cut(demo_home, "002", "2025")  # a cut file in the data directory, listed
    elsewhere = demo_home / "exports"
    elsewhere.mkdir()
    (elsewhere / made.cut_path.name).write_bytes(made.cut_path.read_bytes())
    plan = WizardPlan(connection=Connection(), operation="import", directory=str(demo_home))
    app = StepHost.make(demo_home, lambda ctx: ps.ImportScreen(ctx, plan, StepPosition(3, 5)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.query_one("#source", ps.PickList).choice == "pbf")
        assert "F7" not in footer(app) and "F9" not in footer(app)  # a PBF is imported, not listed
        await pilot.press("down", "down")  # cut files
        await wait_text(pilot, made.cut_path.stem)
        await wait_for(pilot, lambda: "F9 Unlist" in footer(app))
        assert "F7" not in footer(app)  # already in the list
        screen.query_one("#directory", Input).value = str(elsewhere)
        await wait_for(pilot, lambda: str(elsewhere) in str(screen.query_one("#files", ps.PickList).choice))
        await pilot.pause()
        assert "F7" not in footer(app) and "F9" not in footer(app)  # not in the data directory
        await pilot.press("f7")
        await pilot.pause()
        assert "not in the data directory" not in flat(screen_text(app))


async def test_f8_leaves_the_footer_once_the_job_ended(demo_home: Path) -> None:
    from msde_tui.engine.catalog import Catalog

    dossier = Catalog(demo_home).dossiers()[0]
    plan = WizardPlan(connection=Connection(), operation="backup", directory=str(demo_home / "b"),
                      dossiers=(dossier,), verify_after=False)
    (demo_home / "b").mkdir()
    app = StepHost.make(demo_home, lambda ctx: ProgressScreen(ctx, plan=plan, position=StepPosition(5, 5)))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "F8 Cancel job" in footer(app) or "Result:" in screen_text(app))
        if "Result:" not in screen_text(app):  # F8 was there while the job ran
            await wait_text(pilot, "Result:", timeout=60)
        await pilot.pause()
        assert "F8" not in footer(app) and "F6 Save report" in footer(app)


@pytest.mark.parametrize(("lang", "hint"), [("en", "e.g. "), ("fr", "p. ex. ")])
async def test_an_empty_year_field_shows_a_hint_not_a_value(demo_home: Path, lang: str, hint: str) -> None:
    for form, field in ((ls.CutScreen, "#keep-from"), (ls.AuditScreen, "#years")):
        plan = WizardPlan(operation=form.__name__, directory=str(demo_home))
        app = StepHost.make(demo_home, lambda ctx, form=form, plan=plan: form(ctx, plan, StepPosition(3, 5)),
                            lang=lang)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_text(pilot, "002BRA")
            placeholder = app.screen.query_one(field, Input).placeholder
            assert placeholder.startswith(hint), placeholder
            assert hint.strip() in screen_text(app)


async def test_a_refused_server_field_takes_the_cursor_one_shift_tab_from_the_choice(home: Path) -> None:
    app = MsdeApp(home=home, lang="fr", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_screen(pilot, ConnectionScreen)
        await pilot.press("down")  # another SQL Server, nothing typed
        await pilot.press("tab", "tab", "tab", "tab", "tab")  # to the Test button
        await pilot.press("enter")
        await wait_text(pilot, "Le nom du serveur est vide")
        assert app.focused is screen.query_one("#host", Input)
        await pilot.press("shift+tab")
        assert app.focused is screen.query_one("#where", ChoiceList)
        await pilot.press("up")
        await wait_for(pilot, lambda: screen.query_one("#where", ChoiceList).choice == "embedded")
