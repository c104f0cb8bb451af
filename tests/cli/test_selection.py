"""`--all` / `--where` choose the dossiers of multi-dossier commands (engine + CLI)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from msde_tui.cli import main
from msde_tui.engine import selection
from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import BadInput


def add_entries(home: Path, dossier: Dossier, n: int) -> None:
    with sqlite3.connect(dossier.path(home)) as conn:
        conn.execute(
            "INSERT INTO entry SELECT id + 1000000, fiscal_year_id, journal_id, number + 1000000, "
            "entry_date, label, document_ref, document_date, kind, origin, valid_date FROM entry "
            f"ORDER BY id LIMIT {n}"
        )
    conn.close()


def test_parse_terms_and_refusals() -> None:
    where = selection.parse("001-010, 20 profile=Office")
    assert where.ranges == ((1, 10), (20, 20)) and where.profiles == ("office",)
    assert not where.changed and not where.everything
    assert selection.parse("all").everything
    assert selection.parse("changed").changed
    for bad in ("", "010-001", "1000", "soc", "profile=", "0"):
        with pytest.raises(BadInput):
            selection.parse(bad)


def test_static_terms_combine() -> None:
    ds = [Dossier("001", "A", "a"), Dossier("005", "B", "b"), Dossier("050", "C", "c", backend="mssql",
                                                                            profile="office")]
    pick = lambda text: [d.code for d in selection.select(ds, selection.parse(text), home=Path("."),  # noqa: E731
                                                          backup_dir=lambda _d: Path("."))]
    assert pick("001-010") == ["001A", "005B"]
    assert pick("001 050") == ["001A", "050C"]  # same kind: either
    assert pick("001-099 profile=office") == ["050C"]  # different kinds: both
    assert pick("profile=embedded") == ["001A", "005B"]
    assert pick("all") == ["001A", "005B", "050C"]


def test_cli_backup_where_changed_and_all(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    create_demo(home, dossiers=4, years=1, lines=60, seed=2)
    out = tmp_path / "out"
    out.mkdir()
    # a range: only those two are backed up
    assert main(["--json", "backup", "--where", "002-003", "--dir", str(out)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert sorted(r["dossier"] for r in doc["results"]) == ["002BRA", "003GAR"]
    # changed: the two without a backup yet
    assert main(["--json", "backup", "--where", "changed", "--dir", str(out)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert sorted(r["dossier"] for r in doc["results"]) == ["001SOC", "004BOU"]
    # nothing changed now: nothing to do, exit 0
    assert main(["backup", "--where", "changed", "--dir", str(out)]) == 0
    assert "No dossier matches" in capsys.readouterr().out
    # one dossier gets new entries: only it is chosen
    add_entries(home, Catalog(home).get("003"), 5)
    assert main(["--json", "backup", "--where", "changed", "--dir", str(out)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["dossier"] for r in doc["results"]] == ["003GAR"]
    # --all: every dossier
    assert main(["--json", "backup", "--all", "--dir", str(out), "--no-verify"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] == 4
    assert len(list(out.glob("*.sqlite.bak"))) == 4 + 1 + 4


def test_cli_refuses_names_with_filter_and_nothing(home: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    create_demo(home, dossiers=1, years=1, lines=30, seed=2)
    assert main(["backup", "001", "--all", "--dir", str(tmp_path)]) == 2
    assert main(["backup", "--dir", str(tmp_path)]) == 2
    assert main(["backup", "--where", "nonsense", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not both" in err and "Which dossiers" in err and "Traceback" not in err
    assert not list(tmp_path.glob("*.sqlite.bak"))


def test_cli_pack_and_auto_where(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    create_demo(home, dossiers=3, years=1, lines=30, seed=4)
    assert main(["--json", "pack", "--where", "001-002", "--dir", str(tmp_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["dossier"] for r in doc["results"]] == ["001SOC", "002BRA"] and doc["failed"] == 0
    assert len(list(tmp_path.glob("*.pbf"))) == 2
    assert main(["auto", "policy", "set", "--enable", "--dir", str(tmp_path / "auto")]) == 0
    capsys.readouterr()
    assert main(["--json", "auto", "--where", "003", "--dry-run"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [d["code"] for d in doc["dossiers"]] == ["003GAR"]


def test_cli_verify_all_takes_each_dossiers_newest_backup(home: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    create_demo(home, dossiers=3, years=1, lines=40, seed=6)
    out = tmp_path / "out"
    out.mkdir()
    assert main(["backup", "--where", "001-002", "--dir", str(out), "--no-verify"]) == 0
    capsys.readouterr()
    assert main(["--json", "verify", "--where", "001-002", "--dir", str(out)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] == 2 and doc["failed"] == 0
    # 003 has no backup there: --all verifies the two, says so, and fails the run
    assert main(["verify", "--all", "--dir", str(out)]) == 1
    assert "No backup in" in capsys.readouterr().out
    # the newest backup is the one verified: damage it and the run fails
    newest = sorted(out.glob("001SOC_*.sqlite.bak"))[-1]
    data = bytearray(newest.read_bytes())
    data[len(data) // 2] ^= 0x10
    newest.write_bytes(bytes(data))
    assert main(["verify", "--where", "001", "--dir", str(out)]) == 1
    assert main(["verify", "--all"]) == 2  # no --dir
