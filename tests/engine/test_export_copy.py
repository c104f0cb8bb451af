"""The export copy E + base name, and importing it back under its base name."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from msde_tui.cli import main
from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.catalog import Catalog
from msde_tui.engine.errors import BadInput, DossierExists
from msde_tui.engine.packs import export_copy
from tests.dossier_files import masked


def _rows(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return sorted(conn.iterdump())
    finally:
        conn.close()


def test_embedded_export_copy_and_import(home: Path, tmp_path: Path) -> None:
    [dossier] = create_demo(home, dossiers=1, years=1, lines=400)
    result = export_copy.export_copy(dossier, home)
    target = home / "E001SOC.sqlite"
    assert result.target == str(target) and _rows(target) == _rows(home / dossier.location)
    with pytest.raises(DossierExists):
        export_copy.export_copy(dossier, home)
    with pytest.raises(DossierExists, match="already taken"):
        export_copy.import_export_copy(target, home)
    Catalog(home).remove("001", delete_data=True)
    record = export_copy.import_export_copy(target, home)
    assert record.code == "001SOC" and record.guid == dossier.guid
    assert _rows(home / "001SOC.sqlite") == _rows(target)
    elsewhere = tmp_path / "out"
    elsewhere.mkdir()
    assert export_copy.export_copy(record, home, directory=elsewhere).target == str(elsewhere / "E001SOC.sqlite")


def test_import_refuses_names_that_are_not_export_copies(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "copy.sqlite"
    sqlite3.connect(bad).close()
    with pytest.raises(BadInput, match="not named like an export copy"):
        export_copy.import_export_copy(bad, home)


def test_cli_pack_import_apply_export(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    create_demo(home, dossiers=1, years=1, lines=300)
    out = tmp_path / "out"
    out.mkdir()
    assert main(["pack", "001", "--dir", str(out)]) == 0
    [pbf] = list(out.glob("001-SOC_*.pbf"))
    assert main(["import", str(pbf), "--number", "9"]) == 0
    assert main(["import", str(pbf), "--number", "9"]) == 2
    assert "already taken" in capsys.readouterr().err
    conn = sqlite3.connect(home / "001SOC.sqlite")
    conn.execute("UPDATE entry SET label = 'edited' WHERE id = 2")
    conn.commit()
    conn.close()
    assert main(["pack", "001", "--dir", str(out), "--partial"]) == 0
    [ptf] = list(out.glob("*.ptf"))
    assert main(["--json", "apply", str(ptf), "--dossier", "9"]) == 0
    assert '"upserted": 1' in capsys.readouterr().out
    assert _rows(masked(home / "009SOC.sqlite")) == _rows(masked(home / "001SOC.sqlite"))
    raw = bytearray(ptf.read_bytes())
    raw[100] ^= 1
    ptf.write_bytes(bytes(raw))
    assert main(["apply", str(ptf)]) == 1
    err = capsys.readouterr().err
    assert "damaged" in err and "Traceback" not in err
    assert main(["export", "001"]) == 0
    assert (home / "E001SOC.sqlite").exists()
