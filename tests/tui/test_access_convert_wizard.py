"""The wizard converts an Access dossier (80x24, keyboard only, a real detached job): the summary
comes before anything is written, Back from it leaves the data directory as it was, and the
result equals what 'msde convert' makes of the same file."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from msde_tui.app import MsdeApp
from msde_tui.cli import main
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.runs import jobs
from msde_tui.screens.access_screens import ConvertScreen
from msde_tui.screens.connection import ConnectionScreen
from msde_tui.screens.operation import OperationScreen
from msde_tui.screens.progress import ProgressScreen
from msde_tui.screens.summary import SummaryScreen
from tests.access_fixtures import FIXTURES, copy_fixture, needs_access
from tests.tui.app_support import flat, screen_text, wait_screen, wait_text

pytestmark = needs_access


def tree(home: Path) -> dict[str, bytes]:
    """Every file under ``home`` (the jobs' own records apart) and its bytes."""
    return {str(p.relative_to(home)): p.read_bytes() for p in sorted(home.rglob("*"))
            if p.is_file() and "jobs" not in p.relative_to(home).parts}


def rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table of an SQLite file and its rows, sorted."""
    with sqlite3.connect(path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: sorted(conn.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}


async def test_wizard_converts_an_access_dossier_as_the_cli_does(home: Path, tmp_path: Path) -> None:
    file = copy_fixture("nwind.mdb", tmp_path / "office")
    Catalog(home).add(Dossier(number="001", short="NW", company="Northwind", backend="access",
                              location=str(file)))
    before, original = tree(home), file.read_bytes()
    app = MsdeApp(home=home, lang="en", offer_jobs=False, ansi_theme=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        await pilot.press("enter")  # Local
        await wait_screen(pilot, OperationScreen)
        await pilot.press("end")  # the last operation: Convert an Access dossier
        await wait_text(pilot, "Convert an Access dossier")
        await pilot.press("enter")
        await wait_screen(pilot, ConvertScreen)
        await wait_text(pilot, "001NW  Northwind  (nwind.mdb)")
        await pilot.press("tab", "tab", "0", "0", "1", "enter")  # a number in use is refused here
        await wait_text(pilot, "Number 001 is already taken by 001NW (Northwind).")
        assert isinstance(app.screen, ConvertScreen)
        await pilot.press("backspace", "backspace", "backspace", "0", "0", "2", "enter")  # embedded, 002
        await wait_screen(pilot, SummaryScreen)
        await wait_text(pilot, "new embedded dossier 002NW (002NW.sqlite) from the Access JET3 file nwind.mdb")
        assert "9 tables: Order Details" in flat(screen_text(app))
        assert tree(home) == before  # the summary is shown; nothing written yet
        await pilot.press("f2")  # Back
        await wait_screen(pilot, ConvertScreen)
        assert tree(home) == before  # byte for byte as it was
        await pilot.press("enter")
        await wait_screen(pilot, SummaryScreen)
        await wait_text(pilot, "new embedded dossier 002NW")
        await pilot.press("enter")
        progress = await wait_screen(pilot, ProgressScreen)
        await wait_text(pilot, "Result:", timeout=120)
        assert "Result: OK. 1 OK, 0 not OK." in screen_text(app)
        job = progress.job
    assert job is not None  # ran as a detached job (F5 / msde jobs)
    result = json.loads((job.directory / jobs.RESULT).read_text())
    assert result["dossiers"]["001NW"]["ok"]
    assert Catalog(home).get("002").code == "002NW"
    # the CLI on the same Access dossier (in a thread: it runs its own event loop)
    assert await asyncio.to_thread(main, ["--home", str(home), "convert", "001", "--number", "003"]) == 0
    wizard, cli = rows(home / "002NW.sqlite"), rows(home / "003NW.sqlite")
    assert {t: len(r) for t, r in wizard.items()} == FIXTURES["nwind.mdb"][1]
    assert wizard == cli  # every table's rows equal
    assert file.read_bytes() == original  # the Access file was only read


async def test_wizard_converts_to_sql_server_keeping_the_password_in_memory(  # type: ignore[no-untyped-def]
    tds_server, home: Path, tmp_path: Path
) -> None:
    from msde_tui.engine.backends.mssql import profiles

    profiles.add(profiles.Profile(name="office", host=tds_server.host, port=tds_server.port,
                                  user=tds_server.user), home)
    file = copy_fixture("sample.accdb", tmp_path / "office")
    Catalog(home).add(Dossier(number="001", short="ASSET", company="Assets", backend="access",
                              location=str(file)))
    app = MsdeApp(home=home, lang="en", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        await pilot.press("enter")  # Local: the Access file is on this computer
        await wait_screen(pilot, OperationScreen)
        await pilot.press("end", "enter")
        await wait_screen(pilot, ConvertScreen)
        await wait_text(pilot, "a new database on SQL Server office")
        await pilot.press("tab", "down")  # into a new database on the profile "office"
        await wait_text(pilot, "SQL Server password")
        await pilot.press("enter")  # no password typed: refused on the form
        await wait_text(pilot, "Type the password of SQL Server profile office.")
        await pilot.press("tab", "tab", *tds_server.password, "enter")
        await wait_screen(pilot, SummaryScreen)
        await wait_text(pilot, "new SQL Server dossier 002ASSET: database PW0002ASSET on office")
        await pilot.press("enter")
        progress = await wait_screen(pilot, ProgressScreen)
        await wait_text(pilot, "Result:", timeout=120)
        assert "Result: OK. 1 OK, 0 not OK." in screen_text(app)
        job = progress.job
    assert job is not None
    listed = Catalog(home).get("002")
    assert (listed.backend, listed.location, listed.profile) == ("mssql", "PW0002ASSET", "office")
    with tds_server.connect(database="PW0002ASSET") as conn:
        rows = conn.cursor()
        rows.execute("SELECT COUNT(*) FROM [Asset Items]")
        assert rows.fetchone()[0] == FIXTURES["sample.accdb"][1]["Asset Items"]
    written = b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())
    assert tds_server.password.encode() not in written  # the job got it through its stdin only
