"""Whole wizard flows on SQL Server (the TDS double, real pymssql), at 80x24, keyboard only,
with real detached jobs: backup + verify of two dossiers, restore over an existing dossier
(its code typed first), and a server backup that outlives the terminal that started it.

Restore into a new number is in tests/tui/test_app_server.py (it checks the restored rows too).
Dossiers "only on the server" are databases named like dossiers (PW0001SOC) that the dossier
list does not have yet: the backup step offers them, and a restore counts them as taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import Input

from msde_tui.app import MsdeApp
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.events import DossierResult
from msde_tui.engine.plans import BackupPlan, WizardPlan
from msde_tui.engine.runs import jobs
from msde_tui.engine.runs.runner import collect_async, run_backup
from msde_tui.screens.backups import BackupsScreen
from msde_tui.screens.dialogs import TextViewScreen
from msde_tui.screens.dossiers import DossiersScreen
from msde_tui.screens.jobs_screen import JobsScreen
from msde_tui.screens.operation import OperationScreen
from msde_tui.screens.progress import ProgressScreen
from msde_tui.screens.summary import SummaryScreen
from tests.tdsdouble.backupfile import read_set
from tests.tui.app_support import screen_text, wait_for, wait_screen, wait_text
from tests.tui.test_app_server import _connection, table_rows, with_two_dossiers


@pytest.fixture
def server(tds_server, tmp_path: Path):  # type: ignore[no-untyped-def]
    return with_two_dossiers(tds_server, tmp_path)


async def test_server_backup_and_verify_of_two_dossiers_to_the_result(
    home: Path, server, tmp_path: Path
) -> None:
    app = MsdeApp(home=home, lang="en", offer_jobs=False)
    app.plan = WizardPlan(connection=_connection(server))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_text(pilot, "Step 1 of 5")
        await pilot.press("enter")
        screen = await wait_screen(pilot, OperationScreen)
        directory = screen.query_one("#directory", Input)
        await wait_for(pilot, lambda: directory.value == str(server.backup_dir))
        await pilot.press("enter")
        await wait_screen(pilot, DossiersScreen)
        await wait_text(pilot, "0 of 2 ticked")
        await pilot.press("a")
        await wait_text(pilot, "2 of 2 ticked")
        await pilot.press("enter")
        await wait_screen(pilot, SummaryScreen)
        await wait_text(pilot, "then RESTORE VERIFYONLY")
        await pilot.press("enter")
        progress = await wait_screen(pilot, ProgressScreen)
        await wait_text(pilot, "Result:", timeout=30)
        text = screen_text(app)
        assert "Result: OK. 2 OK, 0 not OK." in text
        rows = text.split("Dossier", 1)[1]
        assert "001SOC" in rows and "002BRA" in rows and rows.count(" OK ") >= 2
        assert "FAILED" not in text
        log = "\n".join(progress.view.log)
        assert "001SOC: OK (verified)" in log and "002BRA: OK (verified)" in log
        job = progress.job
    assert job is not None
    result = json.loads((job.directory / jobs.RESULT).read_text())
    assert result["state"] == "ok"
    for database, code in (("PW0001SOC", "001SOC"), ("PW0002BRA", "002BRA")):
        done = result["dossiers"][code]
        assert done["ok"] and done["verified"]
        (file,) = done["files"]
        path = Path(file)
        assert path.parent == server.backup_dir and path.name.startswith(database + "_")
        assert path.suffix == ".bak" and path.stat().st_size > 0
        # the verify step really ran, on that very file, after the backup wrote it
        backup = next(i for i, b in enumerate(server.batches)
                      if b.startswith(f"BACKUP DATABASE [{database}] TO DISK = N'{file}'"))
        verify = next(i for i, b in enumerate(server.batches)
                      if b.startswith(f"RESTORE VERIFYONLY FROM DISK = N'{file}'"))
        assert backup < verify
        assert "CHECKSUM" in server.batches[verify]
        # a real backup set of that database, with checksums, holding its rows
        backup_set, image = read_set(path, 1, keep=True)
        assert backup_set.database == database and backup_set.has_checksums
        copy = tmp_path / f"{database}.image"
        copy.write_bytes(image)
        assert table_rows(copy) == table_rows(server.database_file(database))


async def _backup_of(home: Path, server, source: Dossier, directory: Path) -> str:  # type: ignore[no-untyped-def]
    made = await collect_async(
        run_backup(BackupPlan(_connection(server), (source,), str(directory)), home=home)
    )
    (result,) = [e for e in made if isinstance(e, DossierResult)]
    assert result.ok, result
    return result.files[0]


@pytest.mark.parametrize(
    ("listed", "database"),
    [(True, "PW0001SOC"), (False, "PW0001SOC"), (True, "Custom ]DB'x")],
    ids=["listed", "only-on-the-server", "listed-under-its-own-database-name"],
)
async def test_server_restore_over_an_existing_dossier_needs_its_code_typed(
    home: Path, server, listed: bool, database: str
) -> None:
    """The same whether 001SOC is in the dossier list or only a database on the server (the
    backup step offers those too): number 001 is taken, typing it means replacing it. A
    dossier listed under another database name ('msde add --database') has THAT database
    replaced, as F3 says; no PW0001SOC is made."""
    if database != "PW0001SOC":
        server.create_database(database, sqlite_file=server.database_file("PW0001SOC"))
        with contextlib.closing(server.connect()) as conn:
            conn.cursor().execute("DROP DATABASE [PW0001SOC]")
    victim = Dossier("001", "SOC", "Company SOC", backend="mssql", location=database)
    if listed:
        Catalog(home).add(victim)
    office = server.backup_dir / "office"  # not the server's default backup directory
    office.mkdir()
    backup = await _backup_of(home, server, victim, office)
    before = table_rows(server.database_file(database))
    with contextlib.closing(server.connect(database=database)) as conn:
        conn.cursor().execute("DELETE FROM third_party")  # work done after the backup: undone
    assert table_rows(server.database_file(database)) != before
    server.mark_in_use(database)  # the dossier is open on a workstation
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
        await wait_for(pilot, lambda: target.value == "003")  # 001, 002 are on the server
        target.value = "001"  # typed over the proposal: the existing dossier
        await wait_text(pilot, "REPLACES 001SOC")
        await pilot.press("enter")
        summary = await wait_screen(pilot, SummaryScreen)
        await wait_text(pilot, "Type 001SOC to replace it:")
        assert "WARNING:" in screen_text(app) and "REPLACES it" in screen_text(app)
        # what the engine will do: the set, its version, room per folder, sessions closed
        said = " | ".join(str(w.content) for w in summary.query(".line"))
        assert "Backup set: set 1: full backup of " in said
        assert "Made by SQL Server 2022 (16.0.4135)" in said
        assert f"data and log in {server.data_dir}: " in said and " needed, " in said
        assert f"safety copy in {server.backup_dir}: " in said
        assert "Sessions that will be closed: compta on POSTE-2 (Accounting, session 99)" in said
        await pilot.press("f3")  # the safety copy is shown where the engine writes it
        await wait_screen(pilot, TextViewScreen)
        actions = app.screen.query_one("#view-text").text
        ident = "[" + database.replace("]", "]]") + "]"
        shown = f"{server.backup_dir}/{database}_YYYYMMDD_HHMMSS_before_restore.bak"
        assert f"BACKUP DATABASE {ident} TO DISK = {literal(shown)}" in actions
        (shown_restore,) = [line for line in actions.splitlines()
                            if line.startswith("RESTORE DATABASE")]
        assert shown_restore.startswith(f"RESTORE DATABASE {ident} FROM DISK = {literal(backup)}")
        assert "REPLACE" in shown_restore
        await pilot.press("escape")
        await wait_screen(pilot, SummaryScreen)
        await pilot.press("enter")  # nothing typed: refused
        await wait_text(pilot, "type each code in its box first")
        assert isinstance(app.screen, SummaryScreen)
        box = summary.query_one("#confirm-0", Input)  # the first (only) dossier replaced
        box.value = "002BRA"
        await pilot.press("enter")  # another dossier's code: still refused
        await pilot.pause()
        assert isinstance(app.screen, SummaryScreen)
        assert not any("RESTORE DATABASE" in b for b in server.batches)
        box.value = "001soc"
        await pilot.press("enter")
        progress = await wait_screen(pilot, ProgressScreen)
        await wait_text(pilot, "Result:", timeout=30)
        assert "Result: OK. 1 OK, 0 not OK." in screen_text(app)
        job = progress.job
    assert job is not None
    done = json.loads((job.directory / jobs.RESULT).read_text())["dossiers"]["001SOC"]
    assert done["ok"] and done["details"]["replaced"] is True
    assert done["details"]["sessions_closed"] is True  # typing the code agreed to it
    assert any("SET SINGLE_USER WITH ROLLBACK IMMEDIATE" in b for b in server.batches)
    (restore,) = [b for b in server.batches if b.startswith("RESTORE DATABASE")]
    assert restore.startswith(f"RESTORE DATABASE {ident} FROM DISK = {literal(backup)}")
    assert "REPLACE" in restore  # the very statement F3 showed, over the same database
    safety = Path(done["details"]["safety_backup"])  # taken before replacing, as announced
    assert safety.exists() and safety.parent == server.backup_dir
    assert re.fullmatch(re.escape(database) + r"_\d{8}_\d{6}_before_restore\.bak", safety.name)
    assert table_rows(server.database_file(database)) == before  # the backup's data is back
    if database != "PW0001SOC":
        with pytest.raises(KeyError):
            server.database_file("PW0001SOC")  # no new database under the standard name
    (listed_now,) = Catalog(home).dossiers()  # replaced, not added as another number
    assert (listed_now.code, listed_now.location) == ("001SOC", database)


def literal(text: str) -> str:
    """How T-SQL spells ``text`` (N'...' with quotes doubled), to find it in statements."""
    return "N'" + text.replace("'", "''") + "'"


# The "terminal side": the wizard (headless, 80x24) in its own session, like msde-tui in an
# SSH or RDP session. It takes the two server dossiers to the progress step, says which job
# started once the server reports progress, then waits to be killed with its session.
WIZARD = """
import asyncio, sys
from msde_tui.app import MsdeApp
from msde_tui.engine.plans import Connection, WizardPlan
from msde_tui.screens.dossiers import DossiersScreen
from msde_tui.screens.progress import ProgressScreen
from msde_tui.screens.summary import SummaryScreen
from textual.widgets import Input
from tests.tui.app_support import wait_for, wait_screen, wait_text

home, host, port, user, backup_dir = sys.argv[1:6]
password = sys.stdin.readline().rstrip("\\n")

async def main():
    app = MsdeApp(home=home, lang="en", offer_jobs=False)
    app.plan = WizardPlan(connection=Connection(
        kind="mssql", host=host, port=int(port), user=user, password=password))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_text(pilot, "Step 1 of 5")
        await pilot.press("enter")
        await wait_text(pilot, "Step 2 of 5")
        directory = app.screen.query_one("#directory", Input)
        await wait_for(pilot, lambda: directory.value == backup_dir)  # the server's default
        await pilot.press("enter")
        await wait_screen(pilot, DossiersScreen)
        await wait_text(pilot, "0 of 2 ticked")
        await pilot.press("a")
        await wait_text(pilot, "2 of 2 ticked")
        await pilot.press("enter")
        await wait_screen(pilot, SummaryScreen)
        await wait_text(pilot, "then RESTORE VERIFYONLY")
        await pilot.press("enter")
        screen = await wait_screen(pilot, ProgressScreen)
        await wait_text(pilot, "percent processed.")
        print(screen.job.id, flush=True)
        await asyncio.sleep(600)

asyncio.run(main())
"""


@pytest.mark.skipif(os.name == "nt", reason="process groups and SIGHUP are POSIX")
async def test_server_backup_outlives_its_terminal_and_a_new_wizard_shows_it_finished(
    home: Path, server
) -> None:
    server.step_delay = 0.5  # each 5 % of a backup takes half a second until released below
    terminal = subprocess.Popen(
        [sys.executable, "-c", WIZARD, str(home), server.host, str(server.port), server.user,
         str(server.backup_dir)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parents[2], start_new_session=True,
    )
    try:
        assert terminal.stdin is not None and terminal.stdout is not None
        terminal.stdin.write(server.password + "\n")
        terminal.stdin.close()
        job_id = await asyncio.wait_for(asyncio.to_thread(terminal.stdout.readline), 60)
        job_id = job_id.strip()
        assert job_id, "the wizard did not reach a running server backup"
    finally:
        if terminal.poll() is None:  # the terminal goes away: SIGHUP to its session, then gone
            os.killpg(terminal.pid, signal.SIGHUP)
            os.killpg(terminal.pid, signal.SIGKILL)
        terminal.wait(timeout=10)
    job = jobs.load_job(home, job_id)
    assert job.state == jobs.RUNNING and job.result is None  # in the middle of the backup
    assert job.pid is not None and job.pid != terminal.pid
    app = MsdeApp(home=home, lang="en")  # a new wizard, as after logging in again
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, JobsScreen)
        await wait_text(pilot, job_id)
        assert "RUNNING" in screen_text(app) and "001SOC, 002BRA" in screen_text(app)
        await pilot.press("enter")
        progress = await wait_screen(pilot, ProgressScreen)
        await wait_text(pilot, "RUNNING")
        assert "sa@127.0.0.1" in screen_text(app)  # the job's own connection, from its spec
        server.step_delay = 0.0  # let the server finish
        await wait_text(pilot, "Result:", timeout=30)
        text = screen_text(app)
        assert "Result: OK. 2 OK, 0 not OK." in text
        rows = text.split("Dossier", 1)[1]
        assert "001SOC" in rows and "002BRA" in rows and rows.count(" OK ") >= 2
        log = "\n".join(progress.view.log)
        assert "001SOC: OK (verified)" in log and "002BRA: OK (verified)" in log
    finished = jobs.load_job(home, job_id)
    assert finished.state == jobs.OK and finished.seen
    for database, code in (("PW0001SOC", "001SOC"), ("PW0002BRA", "002BRA")):
        done = finished.result["dossiers"][code]
        assert done["ok"] and done["verified"]
        (file,) = done["files"]
        assert Path(file).parent == server.backup_dir and Path(file).name.startswith(database)
        backup_set, _image = read_set(Path(file), 1, keep=False)  # complete and intact
        assert backup_set.database == database
        assert any(b.startswith(f"RESTORE VERIFYONLY FROM DISK = N'{file}'") for b in server.batches)
    for path in finished.directory.iterdir():  # the password went through a pipe only
        assert server.password not in path.read_text(errors="replace"), path.name
