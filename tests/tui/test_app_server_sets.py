"""The wizard on SQL Server as offices use it: the summary before a restore of a file holding
several backup sets (SSMS appends by default) lists them and the one typed — not the last
one — is restored (RESTORE … WITH FILE = n); the dossier list shows the age of each
database's last full backup, whoever made it (msdb's history)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from textual.widgets import Input

from msde_tui.app import MsdeApp
from msde_tui.engine.plans import WizardPlan
from msde_tui.screens.backups import BackupsScreen
from msde_tui.screens.dossiers import DossiersScreen
from msde_tui.screens.operation import OperationScreen
from msde_tui.screens.progress import ProgressScreen
from msde_tui.screens.summary import SummaryScreen
from tests.tui.app_support import screen_text, wait_for, wait_screen, wait_text
from tests.tui.test_app_server import _connection, table_rows, with_two_dossiers


@pytest.fixture
def server(tds_server, tmp_path: Path):  # type: ignore[no-untyped-def]
    return with_two_dossiers(tds_server, tmp_path)


async def test_the_backup_set_to_restore_is_typed_on_the_summary(
    home: Path, server, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    office = server.backup_dir / "office"
    office.mkdir()
    path = office / "PW0001SOC_ssms.bak"
    first = tmp_path / "set1.sqlite"
    first.write_bytes(server.database_file("PW0001SOC").read_bytes())
    with contextlib.closing(server.connect()) as conn:
        cursor = conn.cursor()
        cursor.execute(f"BACKUP DATABASE [PW0001SOC] TO DISK = N'{path}' WITH CHECKSUM")
        while cursor.nextset():
            pass
    with contextlib.closing(server.connect(database="PW0001SOC")) as conn:
        conn.cursor().execute("DELETE FROM third_party")
    with contextlib.closing(server.connect()) as conn:
        cursor = conn.cursor()
        cursor.execute(f"BACKUP DATABASE [PW0001SOC] TO DISK = N'{path}' WITH CHECKSUM")  # set 2
        while cursor.nextset():
            pass
    app = MsdeApp(home=home, lang="en", offer_jobs=False)
    app.plan = WizardPlan(connection=_connection(server), operation="restore")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        screen = await wait_screen(pilot, OperationScreen)
        data_dir = screen.query_one("#data-dir", Input)
        await wait_for(pilot, lambda: data_dir.value == str(server.data_dir))
        screen.query_one("#directory", Input).value = str(office)
        await pilot.press("enter")
        await wait_screen(pilot, BackupsScreen)
        await wait_text(pilot, "0 of 1 ticked")
        await pilot.press("space")
        target = app.screen.query_one("#target", Input)
        await wait_for(pilot, lambda: target.value == "003")
        await pilot.press("enter")
        summary = await wait_screen(pilot, SummaryScreen)
        await wait_text(pilot, "Backup set to restore (1, 2):")
        said = " | ".join(str(w.content) for w in summary.query(".line"))
        assert "set 1: full backup of PW0001SOC" in said and "set 2: full backup of PW0001SOC" in said
        await pilot.press("enter")  # nothing typed: refused, nothing sent
        await wait_text(pilot, "Type the backup set to restore in its box first")
        assert not any(b.startswith("RESTORE DATABASE") for b in server.batches)
        summary.query_one("#set-003", Input).value = "1"
        await pilot.press("enter")
        await wait_screen(pilot, ProgressScreen)
        await wait_text(pilot, "Result:", timeout=40)
        assert "Result: OK. 1 OK, 0 not OK." in screen_text(app)
    (restore,) = [b for b in server.batches if b.startswith("RESTORE DATABASE")]
    assert "FILE = 1" in restore
    # set 1's rows; the copy restored under 003 has its own identity (docs/OPERATIONS.md)
    restored = table_rows(server.database_file("PW0003SOC"))
    assert restored.pop("dossier_info")[0][2] == "003SOC"
    original = table_rows(first)
    original.pop("dossier_info")
    assert restored == original


async def test_the_dossier_list_shows_the_age_of_each_last_full_backup(
    home: Path, server  # type: ignore[no-untyped-def]
) -> None:
    with contextlib.closing(server.connect()) as conn:  # made outside msde (SSMS, an Agent job)
        cursor = conn.cursor()
        cursor.execute(f"BACKUP DATABASE [PW0001SOC] TO DISK = N'{server.backup_dir}/by_ssms.bak'")
        while cursor.nextset():
            pass
    app = MsdeApp(home=home, lang="en", offer_jobs=False)
    app.plan = WizardPlan(connection=_connection(server))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        screen = await wait_screen(pilot, OperationScreen)
        directory = screen.query_one("#directory", Input)
        await wait_for(pilot, lambda: directory.value == str(server.backup_dir))
        await pilot.press("enter")
        await wait_screen(pilot, DossiersScreen)
        await wait_text(pilot, "0 of 2 ticked")
        text = screen_text(app)
    (soc,) = [line for line in text.splitlines() if "001SOC" in line]
    (bra,) = [line for line in text.splitlines() if "002BRA" in line]
    assert "full 0 h ago" in soc and "never backed up" in bra
