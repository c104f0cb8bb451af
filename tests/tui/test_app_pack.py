"""Export / import wizard forms (PBF, PTF, export copy, cut files) at 80x24, their plans run for real.

Each form returns a plan and changes nothing; ``run`` then runs that plan through the engine's
runner (as the job does) and shows the form again with the plan, as Back from the summary does:
the answers are still there.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from textual.widgets import Input

from msde_tui.app import MsdeApp
from msde_tui.engine import auditlog
from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.backends.mssql import profiles
from msde_tui.engine.catalog import Catalog
from msde_tui.engine.errors import DossierExists
from msde_tui.engine.events import DossierResult
from msde_tui.engine.lifecycle import cut
from msde_tui.engine.packs import cutimport, packimport, packinfo, packwrite
from msde_tui.engine.plans import Connection, PackPlan, WizardPlan
from msde_tui.engine.runs import registry as runner
from msde_tui.engine.runs.runner import collect_async
from msde_tui.screens import pack_screens as ps
from msde_tui.screens import registry
from msde_tui.screens.connection import ConnectionScreen
from msde_tui.screens.operation import OperationScreen
from msde_tui.screens.registry import StepPosition
from msde_tui.screens.widgets import ChoiceList, SpaceCheckbox
from tests.dossier_files import masked
from tests.tui.app_support import screen_text, wait_for, wait_screen, wait_text


@pytest.fixture
def demo_home(home: Path) -> Path:
    create_demo(home, dossiers=2, years=3, lines=300)
    return home


def host(home: Path, cls: type[ps.PackStep], directory: Path, *, operation: str, lang: str = "en",  # type: ignore[no-untyped-def]
         connection: Connection | None = None):
    plan = WizardPlan(connection=connection or Connection(), operation=operation, directory=str(directory))

    class Host(MsdeApp):
        results: list[WizardPlan | None]

        def drive(self) -> None:  # type: ignore[override]
            self.results = []
            self.show(plan)

        def show(self, shown: WizardPlan) -> None:
            self.push_screen(cls(self.ctx, shown, StepPosition(3, 5)), self.results.append)

    return Host(home=home, lang=lang, offer_jobs=False)


def rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, in primary-key order."""
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )]
        return {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in tables}  # noqa: S608
    finally:
        conn.close()


def edit(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def message(app) -> str:  # type: ignore[no-untyped-def]
    """The inline message of the step (errors), unwrapped."""
    return str(app.screen.query_one("#message").render())


def outcome(app) -> str:  # type: ignore[no-untyped-def]
    """The outcome lines of the step, unwrapped."""
    return str(app.screen.query_one("#outcome").render())


async def run(pilot) -> str:  # type: ignore[no-untyped-def]
    """Enter on the form: refused inline (the message), or its plan run by the engine's runner,
    one "OK|FAILED  subject: message hint" line per result; then the form again with that plan."""
    app = pilot.app
    screen = app.screen
    count = len(app.results)
    await pilot.press("enter")
    await wait_for(pilot, lambda: len(app.results) > count or "ERROR" in screen_text(app))
    if len(app.results) == count:
        return "\n" + message(app)
    plan = app.results[-1]
    assert plan is not None and plan.op is not None
    results = [e for e in await collect_async(runner.run(plan.op, app.home)) if isinstance(e, DossierResult)]
    app.show(plan)  # back to the form, as from the summary
    await wait_for(pilot, lambda: isinstance(app.screen, type(screen)) and app.screen is not screen)
    await pilot.pause(0.3)
    return "\n".join(f"{'OK' if r.ok else 'FAILED'}  {r.dossier}: {r.message} {r.hint}".rstrip() for r in results)



async def test_export_pbf_then_import_it_as_the_first_free_number(demo_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "packs"  # created by the export
    app = host(demo_home, ps.ExportScreen, out, operation="export")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_text(pilot, "002BRA")
        text = screen_text(app)
        assert "Step 3 of 5: Export (complete)" in text and "Copy to:" in text
        await pilot.press("space")  # tick 001SOC
        await pilot.press("tab")
        assert app.screen.focused.id == "pbf"
        await pilot.press("space")  # Backup files (*.pbf)
        await wait_text(pilot, "Passphrase again")
        assert "Copy to:" not in screen_text(app)
        text = await run(pilot)
        assert "OK  001SOC: PBF 001-SOC_" in text and "written and verified" in text
        assert app.results[0].op == PackPlan(("001SOC",), str(out))
        assert ps.PackStep.last_directory[demo_home] == str(out)
        assert app.screen.query_one("#pbf", SpaceCheckbox).value  # the answers are kept
    [pbf] = list(out.glob("*.pbf"))
    info = packinfo.package_info(pbf)  # every member read back and checked
    assert info["kind"] == "PBF" and info["dossier"]["code"] == "001SOC"
    assert auditlog.read(demo_home)[-1]["operation"] == "pack"

    app = host(demo_home, ps.ImportScreen, out, operation="import")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_text(pilot, "001SOC         Société")
        assert app.screen.query_one("#number", Input).value == "003"  # first free, proposed
        assert "free" in screen_text(app)
        text = await run(pilot)
        assert f"OK  {pbf.name}: Imported as 003SOC" in text
    imported = Catalog(demo_home).get("003")
    assert imported.origin == Catalog(demo_home).get("001").guid != imported.guid  # a copy: its own identity
    assert rows(masked(demo_home / imported.location)) == rows(masked(demo_home / "001SOC.sqlite"))


async def test_taken_number_is_refused_inline_and_select_proposes_a_free_one(demo_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "packs"
    out.mkdir()
    packwrite.export_package(Catalog(demo_home).get("002"), demo_home, out)
    app = host(demo_home, ps.ImportScreen, out, operation="import", lang="fr")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_text(pilot, "002BRA")
        assert "Étape 3 sur 5" in screen_text(app)
        number = app.screen.query_one("#number", Input)
        number.focus()
        number.value = ""
        for key in "001":
            await pilot.press(key)
        await wait_text(pilot, "refusé")
        assert "001SOC" in screen_text(app) and "ERREUR" in screen_text(app)
        await pilot.press("enter")  # refused: nothing imported
        await pilot.pause()
        assert not app.results and len(Catalog(demo_home)) == 2
        await pilot.press("f6")  # Select: the first free number
        assert number.value == "003"
        await wait_text(pilot, "libre")
        text = await run(pilot)
        assert "Imported as 003BRA" in text
    with pytest.raises(DossierExists):  # and the engine refuses a taken number too
        packimport.import_package(next(out.glob("*.pbf")), demo_home, number="003")


async def test_encrypted_pbf_passphrase_typed_twice_then_asked_on_import(demo_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "enc"
    app = host(demo_home, ps.ExportScreen, out, operation="export")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_text(pilot, "002BRA")
        await pilot.press("down", "space")  # tick 002BRA
        app.screen.query_one("#pbf", SpaceCheckbox).value = True
        first, second = app.screen.query_one("#passphrase", Input), app.screen.query_one("#passphrase2", Input)
        first.value, second.value = "s3cret", "s3cre"
        await pilot.press("enter")
        await wait_text(pilot, "The two passphrases differ.")
        assert not out.exists()
        second.value = "s3cret"
        assert "s3cret" not in screen_text(app)  # masked
        text = await run(pilot)
        assert "Encrypted." in text
    app = host(demo_home, ps.ImportScreen, out, operation="import")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_text(pilot, "(encrypted)")
        assert app.screen.query_one("#passphrase-row").display
        app.screen.query_one("#passphrase", Input).value = "wrong"
        text = await run(pilot)
        assert "Wrong passphrase" in text and "Traceback" not in text
        assert app.screen.query_one("#passphrase", Input).value == "wrong"  # kept, to correct
        app.screen.query_one("#passphrase", Input).value = "s3cret"
        text = await run(pilot)
        assert "Imported as 003BRA" in text
    assert rows(masked(demo_home / "003BRA.sqlite")) == rows(masked(demo_home / "002BRA.sqlite"))


async def test_partial_export_warns_first_then_writes_a_ptf_that_applies(demo_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "ptf"
    app = host(demo_home, ps.PartialExportScreen, out, operation="export_partial")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_text(pilot, "the first partial export writes a PBF")
        await pilot.press("down", "space")  # 002BRA
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.results)
        described = runner.describe(app.results[-1].op, demo_home)  # what the summary shows first
        assert "the first partial export writes a complete packed backup file (PBF)" in described.warnings[0]
        assert not out.exists()
        app.show(app.results[-1])
        await wait_for(pilot, lambda: isinstance(app.screen, ps.PartialExportScreen))
        await pilot.pause(0.3)
        text = await run(pilot)
        assert "OK  002BRA: PBF 002-BRA_" in text
    [pbf] = list(out.glob("*.pbf"))
    copy = packimport.import_package(pbf, demo_home, number="007")  # the office's copy of the old state
    source = demo_home / "002BRA.sqlite"
    edit(source, "UPDATE entry_line SET label = 'corrigé' WHERE id IN (3, 4, 5)",
         "DELETE FROM attachment WHERE id = (SELECT MAX(id) FROM attachment)")

    app = host(demo_home, ps.PartialExportScreen, out, operation="export_partial")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down")
        await wait_text(pilot, f"Follows {pbf.name}")
        await pilot.press("space")
        text = await run(pilot)  # no question the second time
        assert "OK  002BRA: PTF 002-BRA_" in text and "3 rows changed, 1 deleted." in text
    [ptf] = list(out.glob("*.ptf"))
    assert ptf.stat().st_size < pbf.stat().st_size  # only the changes (plus the fixed schema/manifest)

    app = host(demo_home, ps.ApplyScreen, out, operation="apply")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_text(pilot, "002BRA         Brasserie")
        picked = app.screen.query_one("#dossier", ps.PickList)
        assert picked.choice == "007BRA"  # the copy made from 002BRA's PBF, not 002BRA itself
        picked.choose("001SOC")  # the wrong dossier: refused in plain words
        text = await run(pilot)
        assert "FAILED  001SOC: This PTF belongs to dossier" in text and "not to 001SOC" in text
        picked = app.screen.query_one("#dossier", ps.PickList)
        assert picked.choice == "001SOC"  # the answer kept
        picked.choose("007BRA")
        text = await run(pilot)
        assert "OK  007BRA: 007BRA is up to date with" in text and "1 deleted" in text
    assert rows(masked(demo_home / copy.location)) == rows(masked(source))
    assert Catalog(demo_home).get("007").guid == copy.guid  # the copy kept its own identity

    app = host(demo_home, ps.ApplyScreen, out, operation="apply")
    async with app.run_test(size=(80, 24)) as pilot:  # the same PTF again: base mismatch
        await wait_text(pilot, "002BRA         Brasserie")
        picked = app.screen.query_one("#dossier", ps.PickList)
        assert picked.choice is None  # 007 now follows this PTF, not its base: not pre-selected
        picked.choose("007BRA")
        text = await run(pilot)
        assert "FAILED  007BRA: 007BRA is not in the state this PTF follows" in text


async def test_export_copy_and_cut_file_come_back_through_import(demo_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "copies"
    app = host(demo_home, ps.ExportScreen, out, operation="export")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_text(pilot, "Embedded file E<code>.sqlite")
        await pilot.press("space")
        text = await run(pilot)
        assert "OK  001SOC: Export copy E001SOC.sqlite written and checked" in text
    assert (out / "E001SOC.sqlite").exists()
    result = cut.cut(demo_home, "002", "2025")  # 002BRA_CUT001, registered as 003
    Catalog(demo_home).remove(result.catalog_number)
    moved = out / result.cut_path.name
    result.cut_path.rename(moved)

    app = host(demo_home, ps.ImportScreen, out, operation="import")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one("#source", ps.PickList).choice == "pbf")
        await pilot.press("down")  # export copies
        await wait_text(pilot, "E001SOC")
        text = await run(pilot)
        assert "E001SOC.sqlite: Imported as 003SOC" in text
        app.screen.query_one("#source", ps.PickList).focus()
        await pilot.press("down")  # cut files
        await wait_text(pilot, "002BRA_CUT001")
        assert app.screen.query_one("#number", Input).value == "004"
        text = await run(pilot)
        assert "002BRA_CUT001.sqlite: Imported as 004BRA" in text
    cut_dossier = Catalog(demo_home).get("004")
    # each became a dossier of its own number: its own identity, where it came from kept
    assert cut_dossier.status == "cut" and cut_dossier.origin == result.cut_guid != cut_dossier.guid
    assert rows(demo_home / "002BRA_CUT001.sqlite")["dossier_info"][0][1:3] == (cut_dossier.guid, "004BRA")
    assert rows(masked(demo_home / "002BRA_CUT001.sqlite")) == rows(masked(moved))
    assert Catalog(demo_home).get("003").origin == Catalog(demo_home).get("001").guid
    assert rows(masked(demo_home / "003SOC.sqlite")) == rows(masked(demo_home / "001SOC.sqlite"))
    with pytest.raises(DossierExists, match="already"):
        cutimport.import_cut_file(moved, demo_home)


async def test_sql_server_copy_and_pbf_import_through_the_double(  # type: ignore[no-untyped-def]
    tds_server, demo_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MSDE_PASSWORD", raising=False)  # only the password typed in the wizard
    profiles.add(profiles.Profile(name="double", host=tds_server.host, port=tds_server.port,
                                  user=tds_server.user), demo_home)
    app = host(demo_home, ps.ExportScreen, tmp_path, operation="export")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_text(pilot, "SQL Server double: database E<name>")
        await pilot.press("space")  # 001SOC
        app.screen.query_one("#destination", ps.PickList).choose("double")
        await wait_text(pilot, "SQL Server password")
        await run(pilot)
        assert "Type the password of SQL Server profile double." in message(app)
        app.screen.query_one("#password", Input).value = tds_server.password
        assert tds_server.password not in screen_text(app)
        text = await run(pilot)
        assert "OK  001SOC: Export copy EPW0001SOC (double) written and checked" in text
    assert tds_server.database_file("EPW0001SOC").exists()
    pbf = packwrite.export_package(Catalog(demo_home).get("002"), demo_home, tmp_path)
    server = Connection(kind="mssql", profile="double", host=tds_server.host, port=tds_server.port,
                        user=tds_server.user, password=tds_server.password)
    app = host(demo_home, ps.ImportScreen, tmp_path, operation="import", connection=server)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_text(pilot, "002BRA")
        text = await run(pilot)
        assert f"OK  {pbf.path.name}: Imported as 003BRA" in text
    record = Catalog(demo_home).get("003")
    assert (record.backend, record.location, record.profile) == ("mssql", "PW0003BRA", "double")


def test_cut_file_in_the_data_directory_is_registered_in_place(demo_home: Path) -> None:
    result = cut.cut(demo_home, "001", "2025")
    Catalog(demo_home).remove(result.catalog_number)  # e.g. a kill after the rename
    record = cutimport.import_cut_file(result.cut_path, demo_home, number="9")
    assert (record.number, record.location, record.status) == ("009", result.cut_path.name, "cut")
    assert not list(demo_home.glob(".*importing*"))
    with pytest.raises(DossierExists, match="already in the dossier list"):
        cutimport.import_cut_file(result.cut_path, demo_home)


async def test_operations_are_offered_after_the_operation_screen(demo_home: Path) -> None:
    ps.register()
    ids = [op.id for op in registry.operations()]
    assert {"export", "export_partial", "import", "apply"} <= set(ids)
    app = MsdeApp(home=demo_home, lang="en", offer_jobs=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_screen(pilot, ConnectionScreen)
        await pilot.press("enter")
        screen = await wait_screen(pilot, OperationScreen)
        offered = [cid for cid, _label in screen.query_one("#operation", ChoiceList)._choices]
        for _ in range(offered.index("apply")):
            await pilot.press("down")
        await pilot.press("enter")
        step = await wait_screen(pilot, ps.ApplyScreen)
        await wait_text(pilot, "Step 3 of 5: Import (partial)")
        assert "Import (partial)" in screen_text(app).splitlines()[1]  # the choices so far
        await pilot.press("f1")
        await wait_text(pilot, "one transaction")
        await pilot.press("f1")
        await pilot.press("f2")  # Back keeps the wizard going
        await wait_screen(pilot, OperationScreen)
        assert step is not app.screen
        assert not isinstance(app.screen, ps.PackStep)
        assert isinstance(app.screen.query_one("#operation"), ChoiceList)
