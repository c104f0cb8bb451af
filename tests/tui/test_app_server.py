"""The wizard against SQL Server (the TDS double, real pymssql): connection to summary."""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from textual.widgets import Input

from msde_tui.app import MsdeApp
from msde_tui.engine.accounting.demo import build_dossier
from msde_tui.engine.plans import Connection, WizardPlan
from msde_tui.screens.browse import BrowseScreen
from msde_tui.screens.dialogs import TextViewScreen
from msde_tui.screens.dossiers import DossiersScreen
from msde_tui.screens.operation import OperationScreen
from msde_tui.screens.registry import StepPosition
from msde_tui.screens.summary import SummaryScreen
from tests.tui.app_support import StepHost, screen_text, wait_for, wait_screen, wait_text


def with_two_dossiers(tds_server, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The double with databases PW0001SOC and PW0002BRA (demo books) and one non-dossier."""
    for number, short in (("001", "SOC"), ("002", "BRA")):
        source = tmp_path / f"{number}{short}.sqlite"
        build_dossier(source, code=f"{number}{short}", company=f"Company {short}", years=2, lines=100)
        tds_server.create_database(f"PW0{number}{short}", sqlite_file=source)
    tds_server.create_database("master_copy")  # not a dossier: not offered
    return tds_server


@pytest.fixture
def server(tds_server, tmp_path: Path):  # type: ignore[no-untyped-def]
    return with_two_dossiers(tds_server, tmp_path)


def table_rows(database: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of a database of the double (read from its SQLite file)."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )]
        return {n: sorted(conn.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}


def _connection(server) -> Connection:  # type: ignore[no-untyped-def]
    return Connection(
        kind="mssql", host=server.host, port=server.port, user=server.user, password=server.password
    )


async def test_server_backup_to_summary_with_back_keeping_answers(home: Path, server) -> None:
    app = MsdeApp(home=home, lang="en", offer_jobs=False)
    app.plan = WizardPlan(connection=_connection(server))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_text(pilot, "Step 1 of 5")
        await pilot.press("enter")  # the form is filled from the plan: connect + Next
        screen = await wait_screen(pilot, OperationScreen)
        directory = screen.query_one("#directory", Input)
        await wait_for(pilot, lambda: directory.value == str(server.backup_dir))
        await pilot.press("enter")
        screen = await wait_screen(pilot, DossiersScreen)
        await wait_text(pilot, "PW0002BRA")
        text = screen_text(app)
        assert "Step 3 of 5: Dossiers" in text
        assert "master_copy" not in text
        assert "[ ] 001SOC" in text
        await pilot.press("a")  # tick all
        await wait_text(pilot, "2 of 2 ticked")
        assert "[x] 001SOC" in screen_text(app) and "[x] 002BRA" in screen_text(app)
        await pilot.press("space")  # untick the highlighted (first) one
        await wait_text(pilot, "1 of 2 ticked")
        await pilot.press("enter")
        screen = await wait_screen(pilot, SummaryScreen)
        await wait_text(pilot, "BACKUP DATABASE PW0002BRA")
        assert "Step 4 of 5: Summary" in screen_text(app)
        assert "PW0001SOC" not in screen_text(app).split("Summary", 1)[1]
        await pilot.press("f3")
        await wait_screen(pilot, TextViewScreen)
        actions = app.screen.query_one("#view-text").text
        assert "BACKUP DATABASE [PW0002BRA] TO DISK = N'" in actions
        assert "WITH CHECKSUM" in actions
        assert "RESTORE VERIFYONLY FROM DISK" in actions
        await pilot.press("f4")  # save them
        save = app.screen.query_one("#save-path", Input)
        target = home / "plan.sql"
        save.value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, target.exists)
        assert "BACKUP DATABASE [PW0002BRA]" in target.read_text()
        await pilot.press("escape")  # close the viewer (a modal: Esc is fine there)
        await wait_screen(pilot, SummaryScreen)
        await pilot.press("f2")  # Back: the ticks are kept
        await wait_screen(pilot, DossiersScreen)
        await wait_text(pilot, "1 of 2 ticked")
        assert "[x] 002BRA" in screen_text(app) and "[ ] 001SOC" in screen_text(app)
        await pilot.press("ctrl+b")
        screen = await wait_screen(pilot, OperationScreen)
        assert screen.query_one("#directory", Input).value == str(server.backup_dir)


async def test_browser_lists_the_server_hosts_directories(home: Path, server) -> None:
    (server.backup_dir / "office-a").mkdir()
    (server.backup_dir / "office-b").mkdir()
    plan = WizardPlan(connection=_connection(server))
    app = StepHost.make(home, lambda ctx: OperationScreen(ctx, plan, StepPosition(2, 5)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_screen(pilot, OperationScreen)
        directory = screen.query_one("#directory", Input)
        await wait_for(pilot, lambda: directory.value == str(server.backup_dir))
        await pilot.press("f4")
        await wait_screen(pilot, BrowseScreen)
        await wait_text(pilot, "[office-b]")
        assert "on the SQL Server host" in screen_text(app)
        await pilot.press("down", "down")  # ".." -> office-a -> office-b
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.current.endswith("office-b"))
        await pilot.press("f4")  # choose it
        await wait_screen(pilot, OperationScreen)
        assert directory.value == str(server.backup_dir / "office-b")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.results)
        assert app.results[0] == replace(plan, directory=str(server.backup_dir / "office-b"))


async def test_missing_server_directory_is_refused_in_plain_words(home: Path, server) -> None:
    plan = WizardPlan(connection=_connection(server), directory=str(server.root / "nowhere"))
    app = StepHost.make(home, lambda ctx: OperationScreen(ctx, plan, StepPosition(2, 5)))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, OperationScreen)
        await pilot.press("enter")
        await wait_text(pilot, "does not exist on the server host")
        assert app.results == []


async def test_server_restore_into_a_new_number_runs_as_a_job(home: Path, server) -> None:
    from msde_tui.engine.catalog import Catalog, Dossier
    from msde_tui.engine.events import DossierResult
    from msde_tui.engine.plans import BackupPlan
    from msde_tui.engine.runs.runner import collect_async, run_backup
    from msde_tui.screens.backups import BackupsScreen
    from msde_tui.screens.progress import ProgressScreen

    connection = _connection(server)
    source = Dossier("001", "SOC", "Company SOC", backend="mssql", location="PW0001SOC")
    made = await collect_async(run_backup(BackupPlan(connection, (source,), str(server.backup_dir)), home=home))
    assert [e.ok for e in made if isinstance(e, DossierResult)] == [True]
    Catalog(home).add(source)  # 001 is listed, 002 only on the server: the restore is proposed 003
    app = MsdeApp(home=home, lang="en", offer_jobs=False)
    app.plan = WizardPlan(connection=connection, operation="restore")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        screen = await wait_screen(pilot, OperationScreen)
        data_dir = screen.query_one("#data-dir", Input)
        await wait_for(pilot, lambda: data_dir.value == str(server.data_dir))
        await pilot.press("enter")
        await wait_screen(pilot, BackupsScreen)
        await wait_text(pilot, "001SOC")
        assert "checksums" in screen_text(app) and "v16" in screen_text(app)
        await pilot.press("space")
        await wait_text(pilot, "new dossier 003SOC")
        await pilot.press("enter")
        await wait_screen(pilot, SummaryScreen)
        await wait_text(pilot, "new dossier 003SOC")
        await pilot.press("f3")
        await wait_screen(pilot, TextViewScreen)
        actions = app.screen.query_one("#view-text").text
        assert "RESTORE DATABASE [PW0003SOC] FROM DISK = N'" in actions
        assert str(server.data_dir) in actions
        await pilot.press("escape")
        await wait_screen(pilot, SummaryScreen)
        await pilot.press("enter")
        await wait_screen(pilot, ProgressScreen)
        await wait_text(pilot, "Result:", timeout=40)
        assert "Result: OK. 1 OK, 0 not OK." in screen_text(app)
    restored = Catalog(home).get("003")
    assert (restored.backend, restored.location) == ("mssql", "PW0003SOC")
    # the new database holds the original's rows, every table, and the server serves them; as a
    # copy under another number it has its own identity (docs/OPERATIONS.md "Dossier identity")
    copy, original = table_rows(server.database_file("PW0003SOC")), table_rows(server.database_file("PW0001SOC"))
    assert copy.pop("dossier_info") != original.pop("dossier_info") and copy == original
    with contextlib.closing(server.connect(database="PW0003SOC")) as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT guid, code, company FROM dossier_info")
        assert cursor.fetchall() == [(restored.guid, "003SOC", "Company SOC")]
    assert restored.origin and restored.origin != restored.guid


async def test_saved_profile_fills_the_form_and_only_the_password_is_typed(
    home: Path, server
) -> None:
    from msde_tui.engine.backends.mssql import profiles
    from msde_tui.screens.connection import ConnectionScreen
    from tests.tui.app_support import type_text

    profiles.add(profiles.check_profile("office", server.host, server.port, server.user, "pymssql"), home)
    app = MsdeApp(home=home, lang="en", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await wait_screen(pilot, ConnectionScreen)
        await wait_text(pilot, f"office: {server.user}@{server.host}:{server.port}")
        await pilot.press("down")  # the profile
        host = screen.query_one("#host", Input)
        await wait_for(pilot, lambda: host.value == server.host)
        assert screen.query_one("#user", Input).value == server.user
        screen.query_one("#password", Input).focus()
        await type_text(pilot, server.password)
        await pilot.press("enter")
        await wait_screen(pilot, OperationScreen)
        assert app.screen.plan.connection.profile == "office"
        assert "office (" in screen_text(app)
    assert server.password not in profiles.profiles_file(home).read_text()
