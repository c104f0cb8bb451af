"""Tax-audit transfer: only the years asked, REAL entries when simplified, never restorable."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from msde_tui.cli import main
from msde_tui.engine import audit, demo, naming
from msde_tui.engine.errors import BadInput, DossierExists
from tests.dossier_files import demo_file


def rows(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_file(tmp_path_factory.mktemp("tpl"), years=6)


@pytest.fixture
def dossier(template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "001SOC.sqlite"
    shutil.copy(template, path)
    return path


def fec_totals(path: Path) -> tuple[int, int]:
    lines = path.read_bytes().decode("utf-8").split("\r\n")[1:-1]
    debit = credit = 0
    for line in lines:
        fields = line.split("\t")
        debit += int(fields[11].replace(",", ""))
        credit += int(fields[12].replace(",", ""))
    return debit, credit


def test_simplified_copy_with_fec(dossier: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = audit.audit_dossier(dossier, ["2017", "2018"], out, simplified=True, with_fec=True)
    copy = out / "Admin001SOC.sqlite"
    assert result.path == copy and result.verified
    assert [r[0] for r in rows(copy, "SELECT code FROM fiscal_year ORDER BY id")] == ["2017", "2018"]
    assert rows(copy, "SELECT DISTINCT kind FROM entry") == [("REAL",)]
    wanted = "SELECT * FROM entry WHERE kind = 'REAL' AND fiscal_year_id IN (3, 4) ORDER BY id"
    assert rows(copy, "SELECT * FROM entry ORDER BY id") == rows(dossier, wanted)
    lines_sql = ("SELECT l.* FROM entry_line l JOIN entry e ON e.id = l.entry_id "
                 "WHERE e.kind = 'REAL' AND e.fiscal_year_id IN (3, 4) ORDER BY l.id")
    assert rows(copy, "SELECT * FROM entry_line ORDER BY id") == rows(dossier, lines_sql)
    assert len(rows(copy, "SELECT id FROM attachment")) > 0
    for table in ("account", "third_party", "journal", "vat_code"):
        assert rows(copy, f"SELECT * FROM {table} ORDER BY id") == rows(dossier, f"SELECT * FROM {table} ORDER BY id")
    (info,) = rows(copy, "SELECT guid, code, company FROM dossier_info")
    (source,) = rows(dossier, "SELECT guid, code, vat_number FROM dossier_info")
    assert info[0] != source[0] and info[1] == "Admin001SOC" and "non restaurable" in info[2]
    assert naming.is_audit_copy(info[1]) and not naming.is_audit_copy("001SOC")
    ident = "".join(c for c in source[2] if c.isdigit())
    names = sorted(f.path.name for f in result.fec_files)
    assert names == [f"{ident}FEC20171231.txt", f"{ident}FEC20181231.txt"]
    for f in result.fec_files:
        debit, credit = fec_totals(f.path)
        assert debit == credit == f.debit_total > 0
    assert sorted(p.name for p in out.iterdir()) == sorted(["Admin001SOC.sqlite", *names])


def test_full_copy_without_attachments_and_refusals(dossier: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = audit.audit_dossier(dossier, ["2016"], out, attachments=False)
    copy = result.path
    assert rows(copy, "SELECT COUNT(*) FROM attachment") == [(0,)]
    assert ("SIMULATION",) in rows(copy, "SELECT DISTINCT kind FROM entry")
    assert rows(copy, "SELECT * FROM entry ORDER BY id") == rows(
        dossier, "SELECT * FROM entry WHERE fiscal_year_id = 2 ORDER BY id"
    )
    before = copy.read_bytes()
    with pytest.raises(DossierExists):
        audit.audit_dossier(dossier, ["2016"], out)
    assert copy.read_bytes() == before
    with pytest.raises(BadInput, match="2040"):
        audit.audit_dossier(dossier, ["2040"], tmp_path)
    with pytest.raises(BadInput):
        audit.audit_dossier(dossier, ["2016"], tmp_path / "missing")
    assert not list(tmp_path.glob(".*building*"))


def test_cli_audit_json(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo.create_demo(home, dossiers=1, years=3, lines=600)
    out = tmp_path / "admin"
    out.mkdir()
    capsys.readouterr()
    year = str(__import__("datetime").date.today().year - 1)
    code = main(["--json", "audit", "001", "--years", year, "--dir", str(out), "--simplified", "--fec",
                 "--encoding", "iso-8859-15"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["ok"] and payload["restorable"] is False
    assert payload["years"] == [year] and payload["code"] == "Admin001SOC"
    (f,) = payload["fec"]
    assert f["debit_total"] == f["credit_total"]
    assert Path(f["file"]).read_bytes().decode("iso-8859-15").startswith("JournalCode\t")
    assert main(["audit", "001", "--years", year, "--dir", str(out), "--to", "SRV1"]) == 2
    assert main(["audit", "001", "--years", year, "--dir", str(out), "--encoding", "ebcdic"]) == 2
    err = capsys.readouterr().err
    assert "No SQL Server connection profile named 'SRV1'" in err and "utf-8" in err
