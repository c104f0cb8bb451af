"""FEC files: checked by a parser written here from art. A47 A-1 LPF, not by the writer."""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from pathlib import Path

import pytest

from msde_tui.engine.accounting import demo, fec, ledger
from msde_tui.engine.errors import BadInput, DossierDamaged, FecRefused
from tests.fec_checker import assert_valid_fec, check_fec, luhn

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


SIREN = "732829320"  # Luhn-valid
FR_VAT = f"FR{(12 + 3 * (int(SIREN) % 97)) % 97:02d}{SIREN}"


def _closed(conn: object) -> list[ledger.FiscalYear]:
    return [y for y in ledger.fiscal_years(conn) if y.status == "CLOSED"]  # type: ignore[arg-type]


def test_belgian_dossier_fec_of_each_closed_year_passes_the_checker(dossier: Path, tmp_path: Path) -> None:
    out = tmp_path / "fec"
    out.mkdir()
    engine = ledger.open_engine(dossier)
    with engine.connect() as conn:
        info = fec.Identity.of(conn)
        # a Belgian enterprise number is no SIREN: the user gives the identifier
        with pytest.raises(FecRefused, match="French format") as refused:
            fec.identifier(info.vat_number, info.country, info.code)
        assert "--fec-id" in refused.value.hint and refused.value.exit_code == 2
        ident = fec.identifier(info.vat_number, info.country, info.code, "BE0403170701")
        assert ident == "BE0403170701"
        for year in _closed(conn):
            result = fec.write_fec(conn, year, out, ident=ident)
            assert result.path.name == f"{ident}FEC{year.end:%Y%m%d}.txt" and not result.provisional
            report = assert_valid_fec(result.path)
            records = parse_fec(result.path)
            check_entries(records)
            assert len(records) == len(report.records) == result.lines
            assert result.debit_total == result.credit_total
            assert sum(cents(r["Debit"]) for r in records) == result.debit_total
            # REAL entries only: neither the simulations nor the appropriation (class 6/7 closing)
            assert not any("Simulation" in r["EcritureLib"] for r in records)
            assert not {"690", "693", "790", "793"} & {r["CompteNum"] for r in records}
            # ValidDate is the entry's own: the demo validates each entry the day it is dated
            assert all(r["ValidDate"] == r["EcritureDate"] for r in records)
            # third parties on the collective accounts
            assert all(r["CompAuxNum"] for r in records if r["CompteNum"] in ("400", "440"))
            assert all(r["EcritureDate"][:4] == year.code for r in records)
            text = result.description.read_text(encoding="utf-8")  # type: ignore[union-attr]
            for needed in ("format français", "UTF-8", "tabulation", "PCMN", "411",
                           "OD (Opérations diverses)", info.company, "BE0403170701",
                           "n'a pas de SIREN"):
                assert needed in text, needed
    engine.dispose()


def test_french_dossier_is_named_after_its_siren(dossier: Path, tmp_path: Path) -> None:
    raw = sqlite3.connect(dossier)
    raw.execute("UPDATE dossier_info SET vat_number = ?, country = 'FR'", (FR_VAT,))
    raw.commit()
    raw.close()
    assert luhn(SIREN)
    engine = ledger.open_engine(dossier)
    with engine.connect() as conn:
        info = fec.Identity.of(conn)
        ident = fec.identifier(info.vat_number, info.country, info.code)
        assert ident == SIREN
        year = _closed(conn)[-1]
        result = fec.write_fec(conn, year, tmp_path, ident=ident)
        assert result.path.name == f"{SIREN}FEC{year.end:%Y%m%d}.txt"
        assert_valid_fec(result.path, siren=SIREN)
        assert "(SIREN)" in result.description.read_text(encoding="utf-8")  # type: ignore[union-attr]
    engine.dispose()


def test_open_year_is_refused_unless_provisional(dossier: Path, tmp_path: Path) -> None:
    engine = ledger.open_engine(dossier)
    with engine.connect() as conn:
        open_year = ledger.fiscal_years(conn)[-1]
        assert open_year.status == "OPEN"
        with pytest.raises(FecRefused, match=f"No FEC for {open_year.code}: fiscal year "
                           f"{open_year.code} is still open") as refused:
            fec.write_fec(conn, open_year, tmp_path, ident="X1")
        assert "--provisional" in refused.value.hint
        assert list(tmp_path.glob("*FEC*")) == []
        result = fec.write_fec(conn, open_year, tmp_path, ident="X1", provisional=True)
        assert result.provisional and result.path.name.endswith("_PROVISOIRE.txt")
        assert_valid_fec(result.path, provisional=True)
        assert "FICHIER PROVISOIRE" in result.description.read_text(encoding="utf-8")  # type: ignore[union-attr]
    engine.dispose()


def test_entries_never_validated_refuse_the_year_naming_them(dossier: Path, tmp_path: Path) -> None:
    raw = sqlite3.connect(dossier)
    raw.execute("UPDATE entry SET valid_date = NULL WHERE fiscal_year_id = 1 AND number IN (4, 6) "
                "AND journal_id = (SELECT id FROM journal WHERE code = 'VEN') AND kind = 'REAL'")
    raw.commit()
    raw.close()
    engine = ledger.open_engine(dossier)
    with engine.connect() as conn:
        year = ledger.fiscal_years(conn)[0]
        assert year.status == "CLOSED"
        with pytest.raises(FecRefused, match=r"2 entries were never validated: VEN-000004 \(.*\), "
                           r"VEN-000006"):
            fec.write_fec(conn, year, tmp_path, ident="X1")
        result = fec.write_fec(conn, year, tmp_path, ident="X1", provisional=True)
        report = assert_valid_fec(result.path, provisional=True)
        empty = {r["EcritureNum"] for r in report.records if r["ValidDate"] == ""}
        assert empty == {"VEN-000004", "VEN-000006"}  # not written as validated
    # the same file under a final name is flagged by the checker
    final = tmp_path / result.path.name.replace("_PROVISOIRE", "")
    final.write_bytes(result.path.read_bytes())
    assert any("ValidDate is empty" in e for e in check_fec(final).errors)
    engine.dispose()


def test_the_checker_catches_what_an_auditor_would(dossier: Path, tmp_path: Path) -> None:
    engine = ledger.open_engine(dossier)
    with engine.connect() as conn:
        good = fec.write_fec(conn, _closed(conn)[0], tmp_path, ident="X1").path
    engine.dispose()
    lines = good.read_bytes().decode("utf-8").split("\r\n")

    def variant(name: str, rows: list[str]) -> list[str]:
        path = tmp_path / "bad" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes("\r\n".join(rows).encode("utf-8"))
        return check_fec(path).errors

    od3 = [x for x in lines if x.startswith("OD\t") and "\tOD-000003\t" in x]
    assert od3
    assert any("journal OD: numbering is not continuous" in e
               for e in variant(good.name, [x for x in lines if x not in od3]))
    swapped = [x.replace("\t", "|", 1) if i == 5 else x for i, x in enumerate(lines)]
    assert any("fields instead of 18" in e for e in variant(good.name, swapped))
    cols = lines[1].split("\t")
    cols[11], cols[12] = "12.50", "0,00"
    assert any("are not 1234,56" in e for e in variant(good.name, [lines[0], "\t".join(cols), *lines[2:]]))
    assert any("not a 9-digit SIREN" in e for e in variant("0403170701FEC20211231.txt", lines))
    assert any("is not <SIREN>FEC" in e for e in variant("FEC.txt", lines))
    header = lines[0].replace("PieceRef\tPieceDate", "PieceDate\tPieceRef")
    assert any("18 field names in order" in e for e in variant(good.name, [header, *lines[1:]]))
    unbalanced = lines[1].split("\t")
    unbalanced[11] = "999999,99" if unbalanced[11] != "0,00" else "0,00"
    unbalanced[12] = "0,00" if unbalanced[11] != "0,00" else "999999,99"
    assert any("does not balance" in e for e in variant(good.name, [lines[0], "\t".join(unbalanced), *lines[2:]]))


def test_identifier_and_amounts() -> None:
    assert fec.identifier("FR 40 123456789", "FR", "001SOC") == "123456789"
    assert fec.identifier(FR_VAT, None, "001SOC") == SIREN
    assert fec.identifier("BE0123.456.789", "BE", "001SOC", "ID42") == "ID42"
    for no_siren in ("BE0123.456.789", None, "NL123456789B01"):
        with pytest.raises(FecRefused):
            fec.identifier(no_siren, "BE", "001SOC")
    with pytest.raises(BadInput):
        fec.identifier(None, "BE", "001SOC", "../x")
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
        assert_valid_fec(result.path)
        assert "ISO-8859-15" in result.description.read_text(encoding="utf-8")  # type: ignore[union-attr]
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
            fec.write_fec(conn, last, out, ident="X", provisional=True)
    engine.dispose()
    assert list(out.iterdir()) == []
