"""Tax-audit transfer: only the years asked, REAL entries when simplified, never restorable."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from msde_tui.cli import main
from msde_tui.engine import naming
from msde_tui.engine.accounting import demo
from msde_tui.engine.errors import BadInput, DossierExists, FecRefused
from msde_tui.engine.lifecycle import archive, unarchive
from msde_tui.engine.lifecycle import tax_audit as audit
from tests.dossier_files import demo_file
from tests.fec_checker import assert_valid_fec, check_fec


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
    result = audit.audit_dossier(dossier, ["2017", "2018"], out, simplified=True, with_fec=True,
                                 fec_id="BE0403170701")
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
    ident = "BE0403170701"  # a Belgian dossier has no SIREN: the identifier given
    names = sorted(f.path.name for f in result.fec_files)
    assert names == [f"{ident}FEC20171231.txt", f"{ident}FEC20181231.txt"]
    for f in result.fec_files:
        debit, credit = fec_totals(f.path)
        assert debit == credit == f.debit_total > 0
        assert_valid_fec(f.path)
    described = sorted(f.description.name for f in result.fec_files)  # type: ignore[union-attr]
    assert described == [n.replace(".txt", "_DESCRIPTION.txt") for n in names]
    assert any("French format" in w for w in result.warnings)
    assert sorted(p.name for p in out.iterdir()) == sorted(["Admin001SOC.sqlite", *names, *described])


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
    assert main(["audit", "001", "--years", year, "--dir", str(out), "--fec"]) == 2
    assert "French format" in capsys.readouterr().err  # Belgian: no SIREN, no --fec-id
    code = main(["--json", "audit", "001", "--years", year, "--dir", str(out), "--simplified", "--fec",
                 "--encoding", "iso-8859-15", "--fec-id", "BE0403170701"])
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


def _fec_lines(path: Path) -> list[str]:
    return path.read_bytes().decode("utf-8").split("\r\n")[1:-1]


def test_archived_year_is_audited_from_its_paf(dossier: Path, tmp_path: Path) -> None:
    """An archived year's copy and FEC hold its real entries, taken from its verified PAF."""
    before = tmp_path / "before"
    before.mkdir()
    reference = audit.audit_dossier(dossier, ["2016"], before, with_fec=True, fec_id="X1")
    pafs = tmp_path / "pafs"
    pafs.mkdir()
    archive.archive_dossier(dossier, ["2015", "2016"], pafs)
    out = tmp_path / "out"
    out.mkdir()
    # without its PAF the archived year is refused in words, nothing written
    with pytest.raises(FecRefused, match="2016 of 001SOC are archived") as refused:
        audit.audit_dossier(dossier, ["2016", "2017"], out, with_fec=True, fec_id="X1")
    assert "--paf" in refused.value.hint and list(out.iterdir()) == []
    # the PAF's directory is enough; the copy and FEC then equal those made before archiving
    result = audit.audit_dossier(dossier, ["2016", "2017"], out, with_fec=True, fec_id="X1", paf=pafs)
    paf_fec = next(f for f in result.fec_files if f.year == "2016")
    assert _fec_lines(paf_fec.path) == _fec_lines(reference.fec_files[0].path)
    assert_valid_fec(paf_fec.path)
    assert rows(result.path, "SELECT * FROM entry WHERE fiscal_year_id = 2 ORDER BY id") == rows(
        reference.path, "SELECT * FROM entry ORDER BY id")
    assert rows(result.path, "SELECT status FROM fiscal_year WHERE code = '2016'") == [("CLOSED",)]
    assert next(pafs.glob("*.paf")).name in paf_fec.description.read_text(  # type: ignore[union-attr]
        encoding="utf-8")
    # the dossier itself stays archived
    assert rows(dossier, "SELECT status FROM fiscal_year WHERE code = '2016'") == [("ARCHIVED",)]
    # simplified, without attachments: the PAF's simulations and documents are left out too
    lean = tmp_path / "lean"
    lean.mkdir()
    result = audit.audit_dossier(dossier, ["2016"], lean, paf=pafs, simplified=True, attachments=False)
    assert rows(result.path, "SELECT DISTINCT kind FROM entry") == [("REAL",)]
    assert rows(result.path, "SELECT COUNT(*) FROM attachment") == [(0,)]
    assert rows(result.path, "SELECT * FROM entry ORDER BY id") == rows(
        reference.path, "SELECT * FROM entry WHERE kind = 'REAL' ORDER BY id")
    assert result.rows["entry"] == len(rows(result.path, "SELECT id FROM entry"))


def test_a_paf_of_another_dossier_is_refused(dossier: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    twin = other / "002SOC.sqlite"
    demo.build_dossier(twin, code="002SOC", company="Twin", years=6, lines=2400, first_year=2015, seed=4)
    archive.archive_dossier(twin, ["2015"], other)
    archive.archive_dossier(dossier, ["2015"], tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(FecRefused, match="belong.* to another dossier"):
        audit.audit_dossier(dossier, ["2015"], out, paf=other)
    with pytest.raises(FecRefused, match="is an archive of dossier 002SOC, not of 001SOC"):
        audit.audit_dossier(dossier, ["2015"], out, paf=next(other.glob("*.paf")))
    assert list(out.iterdir()) == []


def test_open_year_and_drafts_refused_or_provisional(dossier: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(FecRefused, match="2020 is still open"):
        audit.audit_dossier(dossier, ["2019", "2020"], out, with_fec=True, fec_id="X1")
    assert list(out.iterdir()) == []  # no copy, no FEC
    result = audit.audit_dossier(dossier, ["2019", "2020"], out, with_fec=True, fec_id="X1",
                                 provisional=True)
    final, provisional = result.fec_files
    assert not final.provisional and provisional.provisional
    assert provisional.path.name == "X1FEC20201231_PROVISOIRE.txt"
    assert check_fec(provisional.path).provisional
    assert any("PROVISIONAL" in w for w in result.warnings)


def test_french_dossier_cli_names_the_fec_after_its_siren(home: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    demo.create_demo(home, dossiers=1, years=3, lines=600)
    siren = "732829320"
    conn = sqlite3.connect(home / "001SOC.sqlite")
    conn.execute("UPDATE dossier_info SET vat_number = ?, country = 'FR'",
                 (f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}",))
    conn.commit()
    conn.close()
    out = tmp_path / "admin"
    out.mkdir()
    year = str(__import__("datetime").date.today().year - 1)
    capsys.readouterr()
    assert main(["--json", "audit", "001", "--years", year, "--dir", str(out), "--fec"]) == 0
    payload = json.loads(capsys.readouterr().out)
    (f,) = payload["fec"]
    assert Path(f["file"]).name == f"{siren}FEC{year}1231.txt" and not f["provisional"]
    assert_valid_fec(Path(f["file"]), siren=siren)
    assert not any("French format" in w for w in payload["warnings"])


def test_an_older_paf_of_a_year_archived_again_is_passed_over(dossier: Path, tmp_path: Path) -> None:
    pafs = tmp_path / "pafs"
    pafs.mkdir()
    first = archive.archive_dossier(dossier, ["2015"], pafs).paf
    unarchive.unarchive(dossier, first)  # the PAF stays
    conn = sqlite3.connect(dossier)  # a line of 2015 moves from 604 to 600 (a correction)
    conn.execute("UPDATE entry_line SET account_id = (SELECT id FROM account WHERE number = '600') "
                 "WHERE id = (SELECT MIN(l.id) FROM entry_line l JOIN entry e ON e.id = l.entry_id "
                 "JOIN account a ON a.id = l.account_id WHERE e.fiscal_year_id = 1 AND a.number = '604')")
    conn.commit()
    conn.close()
    second = archive.archive_dossier(dossier, ["2015"], pafs).paf
    assert first != second and first.exists()
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(FecRefused, match="describe.* another balance entry: an older archive"):
        audit.audit_dossier(dossier, ["2015"], out, paf=first)
    result = audit.audit_dossier(dossier, ["2015"], out, paf=pafs, with_fec=True, fec_id="X1")
    assert second.name in result.fec_files[0].description.read_text(encoding="utf-8")  # type: ignore[union-attr]
    assert first.name not in result.fec_files[0].description.read_text(encoding="utf-8")  # type: ignore[union-attr]
