"""The wizard backs up an Access dossier like an embedded one (80x24, keyboard only, real job)."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Input

from msde_tui.app import MsdeApp
from msde_tui.engine.backends.access import proofs
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.runs import jobs
from msde_tui.screens.connection import ConnectionScreen
from msde_tui.screens.dossiers import DossiersScreen
from msde_tui.screens.operation import OperationScreen
from msde_tui.screens.progress import ProgressScreen
from msde_tui.screens.summary import SummaryScreen
from tests.access_fixtures import FIXTURES, copy_fixture, needs_access
from tests.tui.app_support import screen_text, wait_for, wait_screen, wait_text

pytestmark = needs_access


async def test_wizard_lists_and_backs_up_an_access_dossier(home: Path, tmp_path: Path) -> None:
    file = copy_fixture("nwind.mdb", tmp_path / "office")
    Catalog(home).add(Dossier(number="001", short="NW", company="Northwind", backend="access",
                              location=str(file)))
    (home / "backups").mkdir()
    app = MsdeApp(home=home, lang="en", offer_jobs=False, ansi_theme=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        await pilot.press("enter")  # Local
        screen = await wait_screen(pilot, OperationScreen)
        field = screen.query_one("#directory", Input)
        await wait_for(pilot, lambda: field.value == str(home / "backups"))
        await pilot.press("enter")
        await wait_screen(pilot, DossiersScreen)
        await wait_text(pilot, "Northwind")
        await pilot.press("a")
        await wait_text(pilot, "1 of 1 ticked")
        await pilot.press("enter")
        await wait_screen(pilot, SummaryScreen)
        await pilot.press("enter")
        screen = await wait_screen(pilot, ProgressScreen)
        await wait_text(pilot, "Result:", timeout=60)
        assert "Result: OK. 1 OK, 0 not OK." in screen_text(app)
        job = screen.job
    assert job is not None
    result = json.loads((job.directory / jobs.RESULT).read_text())
    files = [Path(f) for f in result["dossiers"]["001NW"]["files"]]
    backup = next(f for f in files if f.suffix == ".mdb")
    assert backup.read_bytes() == file.read_bytes()
    assert proofs.read(backup).movements == sum(FIXTURES["nwind.mdb"][1].values())


async def test_wizard_restores_an_access_backup_as_a_new_dossier(home: Path, tmp_path: Path) -> None:
    from msde_tui.engine.plans import BackupOptions, BackupPlan, Connection
    from msde_tui.engine.runs.runner import collect_async, run_backup
    from msde_tui.screens.backups import BackupsScreen

    file = copy_fixture("sample.accdb", tmp_path / "office")
    dossier = Catalog(home).add(Dossier(number="001", short="ASSET", company="Assets", backend="access",
                                        location=str(file)))
    (home / "backups").mkdir()
    await collect_async(run_backup(BackupPlan(Connection(), (dossier,), str(home / "backups"), BackupOptions()), home=home))
    app = MsdeApp(home=home, lang="en", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        await pilot.press("enter")
        screen = await wait_screen(pilot, OperationScreen)
        await pilot.press("down")  # Restore
        field = screen.query_one("#directory", Input)
        await wait_for(pilot, lambda: field.value != "")
        field.value = str(home / "backups")
        await pilot.press("enter")
        await wait_screen(pilot, BackupsScreen)
        await wait_text(pilot, "of 1 ticked")
        await pilot.press("space")
        target = app.screen.query_one("#target", Input)
        await wait_for(pilot, lambda: target.value == "002")
        await pilot.press("enter")
        await wait_screen(pilot, SummaryScreen)
        await pilot.press("enter")
        await wait_screen(pilot, ProgressScreen)
        await wait_text(pilot, "Result:", timeout=60)
        assert "Result: OK. 1 OK, 0 not OK." in screen_text(app)
    restored = Catalog(home).get("002")
    assert (restored.code, restored.backend) == ("002ASSET", "access")
    assert Path(restored.location).read_bytes() == file.read_bytes()


async def test_wizard_verifies_an_access_backup(home: Path, tmp_path: Path) -> None:
    from msde_tui.engine.plans import BackupOptions, BackupPlan, Connection
    from msde_tui.engine.runs.runner import collect_async, run_backup
    from msde_tui.screens.backups import BackupsScreen

    file = copy_fixture("nwind.mdb", tmp_path / "office")
    dossier = Catalog(home).add(Dossier(number="001", short="NW", company="Northwind", backend="access",
                                        location=str(file)))
    (home / "backups").mkdir()
    await collect_async(run_backup(BackupPlan(Connection(), (dossier,), str(home / "backups"), BackupOptions()),
                                   home=home))
    app = MsdeApp(home=home, lang="en", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        await pilot.press("enter")
        screen = await wait_screen(pilot, OperationScreen)
        await pilot.press("down", "down")  # Verify
        field = screen.query_one("#directory", Input)
        await wait_for(pilot, lambda: field.value != "")
        field.value = str(home / "backups")
        await pilot.press("enter")
        await wait_screen(pilot, BackupsScreen)
        await wait_text(pilot, "of 1 ticked")
        await pilot.press("space")
        await wait_text(pilot, "1 of 1 ticked")
        await pilot.press("enter")
        await wait_screen(pilot, SummaryScreen)
        await pilot.press("enter")
        progress = await wait_screen(pilot, ProgressScreen)
        await wait_text(pilot, "Result:", timeout=60)
        assert "Result: OK. 1 OK, 0 not OK." in screen_text(app)
        job = progress.job
    assert job is not None
    result = json.loads((job.directory / jobs.RESULT).read_text())
    (outcome,) = result["dossiers"].values()
    assert "is intact: Access JET3 copy of 001NW, 9 tables, 4032 rows read back" in outcome["message"]
