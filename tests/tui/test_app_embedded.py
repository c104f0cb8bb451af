"""Full wizard flows on embedded demo dossiers, at 80x24, keyboard only, with real detached jobs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import Input

from msde_tui.app import MsdeApp
from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.catalog import Catalog
from msde_tui.engine.events import DossierResult
from msde_tui.engine.runs import jobs
from msde_tui.screens.backups import BackupsScreen
from msde_tui.screens.connection import ConnectionScreen
from msde_tui.screens.dossiers import DossiersScreen
from msde_tui.screens.operation import OperationScreen
from msde_tui.screens.progress import ProgressScreen
from msde_tui.screens.summary import SummaryScreen
from tests.tui.app_support import screen_text, wait_for, wait_screen, wait_text


@pytest.fixture
def demo_home(home: Path) -> Path:
    create_demo(home, dossiers=2, years=3, lines=300)
    return home


async def test_backup_with_verify_of_two_dossiers(demo_home: Path) -> None:
    app = MsdeApp(home=demo_home, lang="en", offer_jobs=False, ansi_theme=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        await pilot.press("enter")  # Local (embedded)
        screen = await wait_screen(pilot, OperationScreen)
        field = screen.query_one("#directory", Input)
        await wait_for(pilot, lambda: field.value == str(demo_home / "backups"))
        await pilot.press("enter")
        await wait_text(pilot, "does not exist. Create it?")
        await pilot.press("y")
        await wait_screen(pilot, DossiersScreen)
        await wait_text(pilot, "002")
        await pilot.press("a")
        await wait_text(pilot, "2 of 2 ticked")
        await pilot.press("enter")
        await wait_screen(pilot, SummaryScreen)
        await wait_text(pilot, "then verify")
        await pilot.press("enter")
        screen = await wait_screen(pilot, ProgressScreen)
        await wait_text(pilot, "Result:", timeout=30)
        text = screen_text(app)
        assert "Result: OK. 2 OK, 0 not OK." in text
        assert text.count(" OK ") >= 2
        job = screen.job
    assert job is not None
    result = json.loads((job.directory / jobs.RESULT).read_text())
    assert result["state"] == "ok"
    for code in ("001SOC", "002BRA"):
        files = [Path(f) for f in result["dossiers"][code]["files"]]
        assert any(f.suffix == ".bak" and f.exists() for f in files)
        assert any(f.name.endswith(".bak.json") and f.exists() for f in files)
        assert result["dossiers"][code]["verified"] is True
    assert len(Catalog(demo_home)) == 2


@pytest.fixture
def backed_up(demo_home: Path) -> Path:
    """Demo dossiers with a verified backup of each in <home>/backups."""
    from msde_tui.engine.plans import BackupOptions, BackupPlan, Connection
    from msde_tui.engine.runs.runner import collect, run_backup

    directory = demo_home / "backups"
    directory.mkdir()
    plan = BackupPlan(Connection(), tuple(Catalog(demo_home).dossiers()), str(directory), BackupOptions())
    results = [e for e in collect(run_backup(plan, home=demo_home)) if isinstance(e, DossierResult)]
    assert [r.ok for r in results] == [True, True]
    return demo_home


async def _to_restore_list(pilot, home: Path) -> BackupsScreen:  # type: ignore[no-untyped-def]
    await wait_screen(pilot, ConnectionScreen)
    await pilot.press("enter")
    screen = await wait_screen(pilot, OperationScreen)
    await pilot.press("down")  # Restore
    field = screen.query_one("#directory", Input)
    await wait_for(pilot, lambda: field.value != "")
    field.value = str(home / "backups")
    await pilot.press("enter")
    backups = await wait_screen(pilot, BackupsScreen)
    await wait_text(pilot, "of 2 ticked")
    return backups


async def test_restore_into_the_first_free_number(backed_up: Path) -> None:
    app = MsdeApp(home=backed_up, lang="en", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _to_restore_list(pilot, backed_up)
        text = screen_text(app)
        assert "Step 3 of 5: Backups" in text and "checksums" in text
        await pilot.press("space")  # tick the first (newest) backup
        await wait_text(pilot, "1 of 2 ticked")
        target = app.screen.query_one("#target", Input)
        await wait_for(pilot, lambda: target.value == "003")  # first free number proposed
        await wait_text(pilot, "new dossier 003")
        await pilot.press("enter")
        await wait_screen(pilot, SummaryScreen)
        await wait_text(pilot, "new dossier 003")
        assert "REPLACE" not in screen_text(app)
        await pilot.press("enter")
        await wait_screen(pilot, ProgressScreen)
        await wait_text(pilot, "Result:", timeout=30)
        assert "Result: OK. 1 OK, 0 not OK." in screen_text(app)
    restored = Catalog(backed_up).get("003")
    assert restored.path(backed_up).exists()
    originals = {d.guid for d in Catalog(backed_up).dossiers() if d.number != "003"}
    # the same dossier's data under a new number: a copy with an identity of its own
    assert restored.origin in originals and restored.guid not in originals


async def test_restore_over_an_existing_dossier_needs_its_name_typed(backed_up: Path) -> None:
    app = MsdeApp(home=backed_up, lang="en", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _to_restore_list(pilot, backed_up)
        await pilot.press("space")
        target = app.screen.query_one("#target", Input)
        await wait_for(pilot, lambda: target.value == "003")
        highlighted = app.screen._highlighted_info()
        victim = Catalog(backed_up).get(highlighted.code[:3])
        target.value = victim.number  # typed over the proposal
        await wait_text(pilot, f"REPLACES {victim.code}")
        await pilot.press("enter")
        summary = await wait_screen(pilot, SummaryScreen)
        await wait_text(pilot, f"Type {victim.code} to replace it:")
        assert "WARNING:" in screen_text(app) and "REPLACES it" in screen_text(app)
        await pilot.press("enter")  # nothing typed: refused
        await wait_text(pilot, "type each code in its box first")
        assert isinstance(app.screen, SummaryScreen)
        box = summary.query_one("#confirm-0", Input)  # the first (only) dossier replaced
        box.value = "999XXX"
        await pilot.press("enter")  # wrong name: still refused
        assert isinstance(app.screen, SummaryScreen)
        box.value = victim.code.lower()
        await pilot.press("enter")
        await wait_screen(pilot, ProgressScreen)
        await wait_text(pilot, "Result:", timeout=30)
        assert "Result: OK. 1 OK, 0 not OK." in screen_text(app)
    assert len(Catalog(backed_up)) == 2  # replaced, not added


async def test_verify_of_backups_in_a_directory(backed_up: Path) -> None:
    app = MsdeApp(home=backed_up, lang="fr", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        await pilot.press("enter")
        screen = await wait_screen(pilot, OperationScreen)
        await pilot.press("down", "down")  # Vérification
        field = screen.query_one("#directory", Input)
        await wait_for(pilot, lambda: field.value != "")
        assert not screen.query_one("#verify").display  # no "verify after" for a verify
        field.value = str(backed_up / "backups")
        await pilot.press("enter")
        await wait_screen(pilot, BackupsScreen)
        await wait_text(pilot, "sur 2 cochés")
        assert not app.screen.query_one("#target-row").display  # no target number
        await pilot.press("a")
        await wait_text(pilot, "2 sur 2 cochés")
        await pilot.press("enter")
        await wait_screen(pilot, SummaryScreen)
        await wait_text(pilot, "relire et contrôler")
        await pilot.press("enter")
        await wait_screen(pilot, ProgressScreen)
        await wait_text(pilot, "Résultat :", timeout=30)
        assert "Résultat : OK. Réussis : 2, en échec : 0." in screen_text(app)


async def test_dossier_list_filters_by_typing_and_keeps_ticks(demo_home: Path) -> None:
    from msde_tui.engine.plans import WizardPlan
    from msde_tui.screens.registry import StepPosition
    from tests.tui.app_support import StepHost

    plan = WizardPlan(directory=str(demo_home))
    app = StepHost.make(demo_home, lambda ctx: DossiersScreen(ctx, plan, StepPosition(3, 5)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_screen(pilot, DossiersScreen)
        await wait_text(pilot, "0 of 2 ticked")
        await pilot.press("b", "r")  # typed in the list: goes to the filter
        await wait_for(pilot, lambda: screen.query_one("#filter", Input).value == "br")
        await wait_for(pilot, lambda: "001SOC" not in screen_text(app))
        assert "002BRA" in screen_text(app)
        await pilot.press("tab")  # back to the list
        await pilot.press("space")
        await wait_text(pilot, "1 of 2 ticked")
        screen.query_one("#filter", Input).value = ""
        await wait_text(pilot, "001SOC")
        assert "[x] 002BRA" in screen_text(app) and "[ ] 001SOC" in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.results)
        assert [d.code for d in app.results[0].dossiers] == ["002BRA"]


async def test_down_in_the_filter_box_goes_back_to_the_list(demo_home: Path) -> None:
    from msde_tui.engine.plans import WizardPlan
    from msde_tui.screens.registry import StepPosition
    from tests.tui.app_support import StepHost

    plan = WizardPlan(directory=str(demo_home))
    app = StepHost.make(demo_home, lambda ctx: DossiersScreen(ctx, plan, StepPosition(3, 5)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_screen(pilot, DossiersScreen)
        await wait_text(pilot, "0 of 2 ticked")
        await pilot.press("b", "r")
        await wait_for(pilot, lambda: screen.query_one("#filter", Input).value == "br")
        await pilot.press("down", "space")  # from the filter, Down returns to the list; Space ticks
        await wait_text(pilot, "1 of 2 ticked")
        assert screen.query_one("#filter", Input).value == "br"


async def test_backup_list_filters_by_typing_and_keeps_ticks(backed_up: Path) -> None:
    from msde_tui.engine.plans import WizardPlan
    from msde_tui.screens.registry import StepPosition
    from tests.tui.app_support import StepHost

    plan = WizardPlan(operation="verify", directory=str(backed_up / "backups"))
    app = StepHost.make(backed_up, lambda ctx: BackupsScreen(ctx, plan, StepPosition(3, 5)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_screen(pilot, BackupsScreen)
        await wait_text(pilot, "0 of 2 ticked")
        await pilot.press("b", "r")  # typed in the list: goes to the filter
        await wait_for(pilot, lambda: screen.query_one("#filter", Input).value == "br")
        await wait_for(pilot, lambda: "001SOC" not in screen_text(app))
        await pilot.press("tab")  # back to the list
        await pilot.press("space")
        await wait_text(pilot, "1 of 2 ticked")
        screen.query_one("#filter", Input).value = ""
        await wait_text(pilot, "001SOC")
        assert "[x]" in screen_text(app) and "[ ]" in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.results)
        assert [item.source for item in app.results[0].restore_items] == [
            i.file for i in screen.infos if "002BRA" in (i.code or i.database)
        ]
