"""FEC files: checked by a parser written here from art. A47 A-1 LPF, not by the writer."""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from pathlib import Path

import pytest

from msde_tui.engine.accounting import demo, fec, ledger
from msde_tui.engine.errors import BadInput, DossierDamaged

HEADER = (
    "JournalCode\tJournalLib\tEcritureNum\tEcritureDate\tCompteNum\tCompteLib\tCompAuxNum\t"
    "CompAuxLib\tPieceRef\tPieceDate\tEcritureLib\tDebit\tCredit\tEcritureLet\tDateLet\t"
    "ValidDate\tMontantdevise\tIdevise"
)
AMOUNT = re.compile(r"^\d+,\d{2}$")
DATE = re.compile(r"^(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$")


def parse_fec(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    """Parse and validate a FEC file; return its records as dicts."""
    text = path.read_bytes().decode(encoding)  # strict: raises if not that encoding
    lines = text.split("\r\n")
    assert lines[-1] == "", "the file ends with a line break"
    lines = lines[:-1]
    assert lines[0] == HEADER
    names = lines[0].split("\t")
    records = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        assert len(fields) == 18, f"line {number}: {len(fields)} fields"
        record = dict(zip(names, fields, strict=True))
        for name in ("EcritureDate", "PieceDate", "ValidDate"):
            assert DATE.match(record[name]), f"line {number}: {name}={record[name]!r}"
        assert record["DateLet"] == "" or DATE.match(record["DateLet"])
        assert AMOUNT.match(record["Debit"]) and AMOUNT.match(record["Credit"]), line
        for name in ("JournalCode", "JournalLib", "EcritureNum", "CompteNum", "CompteLib",
                     "PieceRef", "EcritureLib"):
            assert record[name], f"line {number}: {name} empty"
        records.append(record)
    return records


def cents(value: str) -> int:
    whole, frac = value.split(",")
    return int(whole) * 100 + int(frac)


def check_entries(records: list[dict[str, str]]) -> dict[str, int]:
    """Each entry balanced, lines of an entry contiguous, openings first then by date."""
    balance: dict[str, int] = defaultdict(int)
    order: list[str] = []
    for r in records:
        key = r["EcritureNum"]
        if not order or order[-1] != key:
            assert key not in order, f"entry {key} is not contiguous"
            order.append(key)
        balance[key] += cents(r["Debit"]) - cents(r["Credit"])
    assert all(v == 0 for v in balance.values()), {k: v for k, v in balance.items() if v}
    firsts = {}
    for r in records:
        firsts.setdefault(r["EcritureNum"], r)
    kinds = [firsts[k]["JournalCode"] == "OUV" for k in order]
    assert kinds == sorted(kinds, reverse=True), "opening entries come first"
    dates = [firsts[k]["EcritureDate"] for k in order if firsts[k]["JournalCode"] != "OUV"]
    assert dates == sorted(dates), "then chronological"
    return balance


@pytest.fixture
def dossier(tmp_path: Path) -> Path:
    path = tmp_path / "001SOC.sqlite"
    demo.build_dossier(path, code="001SOC", company="Soc", years=3, lines=1500, first_year=2021)
    return path


def test_fec_of_each_year_is_valid(dossier: Path, tmp_path: Path) -> None:
    out = tmp_path / "fec"
    out.mkdir()
    raw = sqlite3.connect(dossier)
    vat = raw.execute("SELECT vat_number FROM dossier_info").fetchone()[0]
    raw.close()
    engine = ledger.open_engine(dossier)
    with engine.connect() as conn:
        years = ledger.fiscal_years(conn)
        ident = fec.identifier(vat, "BE", "001SOC")
        assert ident == re.sub(r"\D", "", vat)
        for year in years:
            result = fec.write_fec(conn, year, out, ident=ident)
            assert result.path.name == f"{ident}FEC{year.end:%Y%m%d}.txt"
            records = parse_fec(result.path)
            check_entries(records)
            assert len(records) == result.lines
            assert result.debit_total == result.credit_total
            assert sum(cents(r["Debit"]) for r in records) == result.debit_total
            # REAL entries only: the demo's simulations never appear
            assert not any("Simulation" in r["EcritureLib"] for r in records)
            # third parties on the collective accounts
            assert all(r["CompAuxNum"] for r in records if r["CompteNum"] in ("400", "440"))
            assert all(r["EcritureDate"][:4] == year.code for r in records)
    engine.dispose()


def test_identifier_and_amounts() -> None:
    assert fec.identifier("FR 40 123456789", "FR", "001SOC") == "123456789"
    assert fec.identifier("BE0123.456.789", "BE", "001SOC") == "0123456789"
    assert fec.identifier(None, "BE", "001SOC") == "001SOC"
    assert fec.amount(0) == "0,00"
    assert fec.amount(123456789) == "1234567,89"
    assert fec.amount(5) == "0,05"
    assert fec.text("a\tb\r\nc") == "a b c"
    with pytest.raises(BadInput):
        fec.check_encoding("cp1252")


def test_iso_8859_15_replaces_what_it_cannot_hold(dossier: Path, tmp_path: Path) -> None:
    raw = sqlite3.connect(dossier)
    raw.execute("UPDATE third_party SET name = 'Łódź Œuvre € ő' WHERE code = 'C00001'")
    raw.execute("UPDATE account SET label = 'Clients\tà payer' WHERE number = '400'")
    raw.commit()
    raw.close()
    engine = ledger.open_engine(dossier)
    with engine.connect() as conn:
        year = ledger.fiscal_years(conn)[1]
        result = fec.write_fec(conn, year, tmp_path, ident="X", encoding="ISO-8859-15")
        records = parse_fec(result.path, "iso-8859-15")
        names = {r["CompAuxLib"] for r in records if r["CompAuxNum"] == "C00001"}
        assert names == {"?ódz Œuvre € o"}  # Ł: no plain form; ź -> z, ő -> o; ó Œ € kept
        assert result.replaced_chars == 3 * sum(r["CompAuxNum"] == "C00001" for r in records)
        assert {r["CompteLib"] for r in records if r["CompteNum"] == "400"} == {"Clients à payer"}
        (tmp_path / "utf").mkdir()
        utf = fec.write_fec(conn, year, tmp_path / "utf", ident="Y")
        assert "Łódź" in utf.path.read_text(encoding="utf-8") and utf.replaced_chars == 0
    engine.dispose()


def test_unbalanced_entry_writes_nothing(dossier: Path, tmp_path: Path) -> None:
    raw = sqlite3.connect(dossier)
    raw.execute(
        "UPDATE entry_line SET debit = debit + 1 WHERE id = (SELECT MAX(l.id) FROM entry_line l"
        " JOIN entry e ON e.id = l.entry_id WHERE e.kind = 'REAL' AND l.debit > 0)"
    )
    raw.commit()
    raw.close()
    out = tmp_path / "out"
    out.mkdir()
    engine = ledger.open_engine(dossier)
    with engine.connect() as conn:
        last = ledger.fiscal_years(conn)[-1]
        with pytest.raises(DossierDamaged, match="does not balance"):
            fec.write_fec(conn, last, out, ident="X")
    engine.dispose()
    assert list(out.iterdir()) == []
