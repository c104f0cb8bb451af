"""A dossier file the import screen lists can be added to the dossier list and removed from it
there (F7 / F9), as in the document's Fichier/Import/Complet, through the engine's catalog API;
removing asks first and keeps the file unless asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from msde_tui.engine import dossier_files
from msde_tui.engine.catalog import Catalog
from msde_tui.engine.errors import BadInput, DossierExists
from msde_tui.engine.lifecycle import cut
from msde_tui.screens import pack_screens as ps
from msde_tui.screens.dialogs import ConfirmScreen
from tests.tui.app_support import screen_text, wait_for, wait_screen, wait_text
from tests.tui.test_app_pack import demo_home, host  # noqa: F401 - the fixture


def _flat(app: object) -> str:
    return " ".join(screen_text(app).split())


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_remove_then_add_back_from_the_import_list(demo_home: Path, lang: str) -> None:  # noqa: F811
    result = cut.cut(demo_home, "002", "2025")  # 002BRA_CUT001.sqlite in the data directory, as 003
    file = result.cut_path
    number = result.catalog_number
    app = host(demo_home, ps.ImportScreen, demo_home, operation="import", lang=lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one("#source", ps.PickList).choice == "pbf")
        await pilot.press("down", "down")  # cut files
        await wait_text(pilot, "002BRA_CUT001")
        app.screen.query_one("#files", ps.PickList).focus()
        await pilot.press("f9")
        await wait_screen(pilot, ConfirmScreen)
        await pilot.press("n")  # no: nothing changes
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert Catalog(demo_home).get(number).location == file.name
        await pilot.press("f9")
        await wait_screen(pilot, ConfirmScreen)
        await pilot.press("y" if lang == "en" else "o")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen) and "DELETE" in _flat(app)
                       or "SUPPRIMER" in _flat(app))
        await pilot.press("n")  # keep the file
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await wait_text(pilot, "003BRA")
        assert ("its file stays" if lang == "en" else "son fichier reste") in _flat(app)
        assert file.exists()
        assert number not in [d.number for d in Catalog(demo_home).dossiers()]
        await pilot.press("f7")  # back in the list, as it is
        await wait_for(pilot, lambda: any(d.location == file.name for d in Catalog(demo_home).dossiers()))
        await wait_text(pilot, "BRA")
        assert ("dossier list as" if lang == "en" else "liste des dossiers comme") in _flat(app)
    again = next(d for d in Catalog(demo_home).dossiers() if d.location == file.name)
    assert again.short == "BRA" and again.guid is not None and again.status == "cut"


async def test_remove_can_delete_the_file_when_asked(demo_home: Path) -> None:  # noqa: F811
    result = cut.cut(demo_home, "001", "2025")
    app = host(demo_home, ps.ImportScreen, demo_home, operation="import")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one("#source", ps.PickList).choice == "pbf")
        await pilot.press("down", "down")
        await wait_text(pilot, "001SOC_CUT001")
        app.screen.query_one("#files", ps.PickList).focus()
        await pilot.press("f9")
        await wait_screen(pilot, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: "DELETE" in _flat(app))
        await pilot.press("y")
        await wait_text(pilot, "file deleted")
    assert not result.cut_path.exists()


def test_engine_refuses_files_outside_the_data_dir_and_twins(demo_home: Path, tmp_path: Path) -> None:  # noqa: F811
    outside = tmp_path / "elsewhere.sqlite"
    outside.write_bytes((demo_home / "001SOC.sqlite").read_bytes())
    with pytest.raises(BadInput, match="not in the data directory"):
        dossier_files.add_file(demo_home, outside)
    twin = demo_home / "001SOC_copy.sqlite"
    twin.write_bytes((demo_home / "001SOC.sqlite").read_bytes())
    with pytest.raises(DossierExists, match="same dossier"):
        dossier_files.add_file(demo_home, twin)
