from __future__ import annotations

from pathlib import Path

import pytest

from msde_tui.cli import main
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import BadInput, DossierExists, DossierNotFound


def _dossier(number: str, short: str = "SOC") -> Dossier:
    return Dossier(number=number, short=short, company=f"Company {number}", location=f"{number}{short}.sqlite")


def test_add_list_persist_and_first_free(home: Path) -> None:
    catalog = Catalog(home)
    catalog.add(_dossier("001"))
    catalog.add(_dossier("3", "ABC"))
    again = Catalog(home)
    assert [d.code for d in again.dossiers()] == ["001SOC", "003ABC"]
    assert again.first_free_number() == "002"
    assert again.get("3").code == "003ABC"
    assert again.get("003abc").number == "003"


def test_duplicates_are_refused(home: Path) -> None:
    catalog = Catalog(home)
    catalog.add(_dossier("001"))
    with pytest.raises(DossierExists, match="already taken"):
        catalog.add(_dossier("001", "XYZ"))
    with pytest.raises(DossierExists, match="already in the list"):
        catalog.add(Dossier("002", "SOC", "Other", location="001SOC.sqlite"))
    assert len(Catalog(home)) == 1


def test_mssql_record(home: Path) -> None:
    catalog = Catalog(home)
    catalog.add(Dossier("001", "SOC", "Soc", backend="mssql", location="PW0001SOC", profile="office"))
    catalog.add(Dossier("002", "SOC", "Soc", backend="mssql", location="PW0001SOC", profile="other"))
    assert not Catalog(home).get("001").is_embedded
    with pytest.raises(BadInput):
        Catalog(home).get("001").path(home)


def test_remove_keeps_data_unless_asked(home: Path) -> None:
    catalog = Catalog(home)
    catalog.add(_dossier("001"))
    catalog.add(_dossier("002"))
    (home / "001SOC.sqlite").write_bytes(b"data")
    (home / "002SOC.sqlite").write_bytes(b"data")
    catalog.remove("001")
    assert (home / "001SOC.sqlite").read_bytes() == b"data"
    catalog.remove("002SOC", delete_data=True)
    assert not (home / "002SOC.sqlite").exists()
    assert len(Catalog(home)) == 0
    with pytest.raises(DossierNotFound):
        catalog.get("001")


def test_rename(home: Path) -> None:
    catalog = Catalog(home)
    catalog.add(_dossier("001"))
    catalog.rename("001", company="Société Nouvelle")
    assert Catalog(home).get("001").company == "Société Nouvelle"


def test_cli_list_remove_and_errors(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Catalog(home).add(_dossier("001"))
    assert main(["list"]) == 0
    assert "001SOC" in capsys.readouterr().out
    assert main(["remove", "009"]) == 2
    err = capsys.readouterr().err
    assert "No dossier '009'" in err and "Traceback" not in err
    assert main(["free"]) == 0
    assert capsys.readouterr().out.strip() == "002"


def test_corrupt_list_is_a_clear_error(home: Path) -> None:
    (home / "dossiers.json").write_text("{not json")
    with pytest.raises(BadInput, match="cannot be read"):
        Catalog(home)
