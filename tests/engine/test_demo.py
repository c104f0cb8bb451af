from __future__ import annotations

import json
import sqlite3
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msde_tui.cli import app
from msde_tui.engine.accounting import schema
from msde_tui.engine.accounting.check import check_dossier
from msde_tui.engine.accounting.demo import build_dossier, create_demo
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import BadInput, DossierExists


def _dump(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    try:
        return {
            t.name: conn.execute(f"SELECT * FROM {t.name} ORDER BY 1").fetchall()
            for t in schema.TABLES
        }
    finally:
        conn.close()


def _build(path: Path, **kw: object) -> str:
    args: dict[str, object] = {"code": "001SOC", "company": "A", "years": 3, "lines": 900,
                               "seed": 7, "first_year": 2020}
    args.update(kw)
    return build_dossier(path, **args)  # type: ignore[arg-type]


def test_same_seed_same_rows_other_seed_other_rows(tmp_path: Path) -> None:
    a = _build(tmp_path / "a.sqlite")
    b = _build(tmp_path / "b.sqlite")
    c = _build(tmp_path / "c.sqlite", seed=8)
    assert a == b != c
    rows_a, rows_b, rows_c = (_dump(tmp_path / f"{x}.sqlite") for x in "abc")
    assert rows_a == rows_b
    for table in ("entry", "entry_line", "third_party", "attachment"):
        assert rows_a[table] != rows_c[table], table
    assert 800 <= len(rows_a["entry_line"]) <= 1000


def test_demo_dossier_is_realistic_and_healthy(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite"
    guid = _build(path, years=4, lines=4000)
    conn = sqlite3.connect(path)
    try:
        assert check_dossier(conn) == []
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT guid, code FROM dossier_info").fetchone() == (guid, "001SOC")
        years = conn.execute("SELECT code, status FROM fiscal_year ORDER BY code").fetchall()
        assert years == [("2020", "CLOSED"), ("2021", "CLOSED"), ("2022", "CLOSED"),
                         ("2023", "OPEN")]
        journals = dict(conn.execute("SELECT code, kind FROM journal"))
        assert journals == {"ACH": "PURCHASES", "VEN": "SALES", "BNK": "FINANCIAL",
                            "OD": "MISC", "OUV": "OPENING"}
        # every journal is used every year, its REAL entries numbered 1..N, the simulations
        # (OD only) 1..M apart
        per = conn.execute(
            "SELECT fiscal_year_id, journal_id, kind, MIN(number), MAX(number), COUNT(*) "
            "FROM entry GROUP BY 1, 2, 3").fetchall()
        assert len([p for p in per if p[2] == "REAL"]) == 4 * 5
        assert len([p for p in per if p[2] == "SIMULATION"]) == 4
        assert all(lo == 1 and hi == n for _, _, _, lo, hi, n in per)
        # one opening per year, dated the first day, origin OPENING
        openings = conn.execute(
            "SELECT e.entry_date, f.start_date FROM entry e JOIN fiscal_year f "
            "ON f.id = e.fiscal_year_id WHERE e.origin = 'OPENING'").fetchall()
        assert len(openings) == 4 and all(d == s for d, s in openings)
        sims = conn.execute("SELECT COUNT(*) FROM entry WHERE kind = 'SIMULATION'").fetchone()[0]
        assert sims == 3 * 4
        # VAT lines at the four Belgian rates; sales VAT on 451, purchases VAT on 411
        rates = {r[0] for r in conn.execute(
            "SELECT v.rate_bp FROM entry_line l JOIN vat_code v ON v.id = l.vat_code_id")}
        assert rates == {2100, 1200, 600, 0}
        vat_accounts = {r[0] for r in conn.execute(
            "SELECT a.number FROM entry_line l JOIN vat_code v ON v.id = l.vat_code_id "
            "JOIN account a ON a.id = l.account_id WHERE a.number LIKE '4%'")}
        assert vat_accounts == {"411", "451"}
        # domestic sales never at 0 %: every sale to a Belgian customer carries VAT
        zero_sales = conn.execute(
            "SELECT COUNT(*) FROM entry_line l JOIN vat_code v ON v.id = l.vat_code_id "
            "WHERE v.code = 'V00'").fetchone()[0]
        assert zero_sales == 0
        # customers on 400 and suppliers on 440 are third parties; lettered payments match
        kinds = conn.execute(
            "SELECT a.number, t.kind, COUNT(*) FROM entry_line l JOIN account a ON a.id = "
            "l.account_id JOIN third_party t ON t.id = l.third_party_id GROUP BY 1, 2").fetchall()
        assert {(n, k) for n, k, _ in kinds} == {("400", "CUSTOMER"), ("440", "SUPPLIER")}
        unmatched = conn.execute(
            "SELECT letter FROM entry_line WHERE letter IS NOT NULL "
            "GROUP BY third_party_id, letter HAVING SUM(debit) <> SUM(credit) OR COUNT(*) <> 2"
        ).fetchall()
        assert unmatched == []
        assert conn.execute("SELECT COUNT(*) FROM entry_line WHERE letter IS NOT NULL"
                            ).fetchone()[0] > 100
        classes = {r[0] for r in conn.execute(
            "SELECT DISTINCT a.class_no FROM entry_line l JOIN account a ON a.id = l.account_id")}
        assert classes == {1, 2, 4, 5, 6, 7}
    finally:
        conn.close()


def _png_ok(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, size = 8, b"", (0, 0)
    kinds = []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        kinds.append(kind)
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        if kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    width, height = size
    assert len(zlib.decompress(idat)) == height * (1 + 3 * width)
    return width, height


def _pdf_ok(data: bytes) -> None:
    assert data.startswith(b"%PDF-1.") and data.rstrip().endswith(b"%%EOF")
    startxref = int(data[data.rindex(b"startxref") + 9:].split()[0])
    assert data[startxref:startxref + 4] == b"xref"
    table = data[startxref:].split(b"trailer")[0].split(b"\n")[3:]
    for number, row in enumerate(r for r in table if r.strip()):
        offset = int(row.split()[0])
        assert data[offset:].startswith(f"{number + 1} 0 obj".encode())


def test_attachments_are_real_pdf_and_png(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite"
    _build(path)
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT a.file_name, a.mime_type, a.content, e.id FROM attachment a "
                        "JOIN entry e ON e.id = a.entry_id").fetchall()
    conn.close()
    mimes = [m for _, m, _, _ in rows]
    assert mimes.count("application/pdf") >= 3 and mimes.count("image/png") >= 3
    for name, mime, content, _ in rows:
        if mime == "image/png":
            assert name.endswith(".png") and _png_ok(content) == (48, 32)
        else:
            assert name.endswith(".pdf")
            _pdf_ok(content)


def test_bad_arguments_and_existing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput):
        _build(tmp_path / "x.sqlite", years=0)
    with pytest.raises(BadInput):
        _build(tmp_path / "x.sqlite", code="SOC")
    (tmp_path / "x.sqlite").write_bytes(b"keep")
    with pytest.raises(DossierExists):
        _build(tmp_path / "x.sqlite")
    assert (tmp_path / "x.sqlite").read_bytes() == b"keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.sqlite"]  # no leftovers


def test_create_demo_uses_free_numbers_and_distinct_names(home: Path) -> None:
    Catalog(home).add(Dossier("002", "OLD", "Old SRL", location="002OLD.sqlite"))
    created = create_demo(home, dossiers=3, years=2, lines=200, seed=1)
    assert [d.code for d in created] == ["001SOC", "003BRA", "004GAR"]
    assert len({d.company for d in created}) == 3
    catalog = Catalog(home)
    assert [d.number for d in catalog.dossiers()] == ["001", "002", "003", "004"]
    for d in created:
        conn = sqlite3.connect(d.path(home))
        assert conn.execute("SELECT guid FROM dossier_info").fetchone()[0] == d.guid
        assert conn.execute("SELECT COUNT(*) FROM fiscal_year").fetchone()[0] == 2
        conn.close()
    assert len({d.guid for d in created}) == 3


def test_cli_demo_json_then_list_and_check(home: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["--json", "demo", "--dossiers", "2", "--years", "3",
                                 "--lines", "600", "--seed", "5"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [d["code"] for d in payload["created"]] == ["001SOC", "002BRA"]
    assert all(500 <= d["lines"] <= 700 and d["years"] == 3 for d in payload["created"])
    listed = json.loads(runner.invoke(app, ["--json", "list"]).stdout)["dossiers"]
    assert [d["code"] for d in listed] == ["001SOC", "002BRA"]
    result = runner.invoke(app, ["check", "002BRA"])
    assert result.exit_code == 0 and "no problem" in result.stdout
    result = runner.invoke(app, ["demo", "--dossiers", "0"])
    assert result.exit_code == 2


def test_cli_demo_as_real_subprocess(home: Path) -> None:
    script = Path(sys.executable).with_name("msde")
    command = [str(script)] if script.exists() else [
        sys.executable, "-c", "import sys; from msde_tui.cli import main; sys.exit(main())"]
    run = subprocess.run(
        [*command, "--home", str(home), "demo", "--dossiers", "1", "--years", "10",
         "--lines", "1500"],
        capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "001SOC" in run.stdout
    conn = sqlite3.connect(home / "001SOC.sqlite")
    assert conn.execute("SELECT COUNT(*) FROM fiscal_year").fetchone()[0] == 10
    assert check_dossier(conn) == []
    conn.close()


def test_schema_is_the_one_create_dossier_makes(tmp_path: Path) -> None:
    from datetime import datetime

    from msde_tui.engine.backends.embedded.dossier import create_dossier

    demo_file = tmp_path / "d.sqlite"
    steps: dict[str, float] = {}
    _build(demo_file, years=2, lines=300, timings=steps)
    ref = tmp_path / "ref.sqlite"
    create_dossier(ref, code="001SOC", name="SOC", company="A", guid="g",
                   created_at=datetime(2020, 1, 1, 9))

    def ddl(path: Path) -> set[tuple]:
        conn = sqlite3.connect(path)
        try:
            return set(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
        finally:
            conn.close()

    assert ddl(demo_file) == ddl(ref)
    info = [_dump(p)["dossier_info"][0] for p in (demo_file, ref)]
    assert info[0][9] == info[1][9] == "2020-01-01 09:00:00.000000"  # created_at, same format
    assert {"lines (invoices)", "invoices (doc)", "closing balances"} <= set(steps)
    assert all(seconds >= 0 for seconds in steps.values())


def test_invoices_and_daily_bank_statements(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite"
    _build(path, years=2, lines=6000)
    conn = sqlite3.connect(path)
    try:
        def per_entry(journal: str) -> list[tuple]:
            return conn.execute(
                "SELECT e.fiscal_year_id, e.entry_date, COUNT(*), "
                "SUM(a.number = '550'), SUM(l.line_no = 1 AND a.number = '550') "
                "FROM entry e JOIN entry_line l ON l.entry_id = e.id "
                "JOIN account a ON a.id = l.account_id "
                "WHERE e.journal_id = (SELECT id FROM journal WHERE code = ?) "
                "GROUP BY e.id", (journal,)).fetchall()

        # an invoice: third party line + 3..8 items (purchases 3..6) + a VAT line unless 0 %,
        # or the two reverse-charge lines (411/451) of an intra-EU purchase
        sizes = {n for _, _, n, _, _ in per_entry("VEN")}
        assert min(sizes) >= 5 and max(sizes) <= 10 and len(sizes) >= 4
        sizes = {n for _, _, n, _, _ in per_entry("ACH")}
        assert min(sizes) >= 4 and max(sizes) <= 9
        # one statement per day with movements, its first line on the bank account
        statements = per_entry("BNK")
        days = [(fy, day) for fy, day, _, _, _ in statements]
        assert len(days) == len(set(days)) > 50
        assert all(bank == 1 and first == 1 for _, _, _, bank, first in statements)
        assert max(n for _, _, n, _, _ in statements) >= 3
        # statement numbers follow the dates
        rows = conn.execute(
            "SELECT fiscal_year_id, number, entry_date FROM entry WHERE journal_id = "
            "(SELECT id FROM journal WHERE code = 'BNK') ORDER BY fiscal_year_id, number"
        ).fetchall()
        assert rows == sorted(rows, key=lambda r: (r[0], r[2]))
    finally:
        conn.close()


# ---------------------------------------------------------------------- books an accountant signs


def _net(conn: sqlite3.Connection, year: str, where: str) -> int:
    return conn.execute(
        "SELECT COALESCE(SUM(l.debit - l.credit), 0) FROM entry_line l JOIN entry e "
        "ON e.id = l.entry_id JOIN account a ON a.id = l.account_id JOIN fiscal_year f "
        f"ON f.id = e.fiscal_year_id WHERE e.kind = 'REAL' AND f.code = ? AND ({where})",
        (year,)).fetchone()[0]


@pytest.mark.parametrize("years, lines, seed", [(4, 4000, 7), (10, 3000, 0), (2, 300, 5), (2, 200, 9)])
def test_every_year_closes_like_a_belgian_company_s(tmp_path: Path, years: int, lines: int,
                                                     seed: int) -> None:
    """Per year: classes 6/7 net to zero after the appropriation (closed years), 411/451
    never hold more than one quarter's VAT, the trial balance closes, nothing after today."""
    from datetime import date

    path = tmp_path / "d.sqlite"
    _build(path, years=years, lines=lines, seed=seed, first_year=date.today().year - years + 1)
    _assert_books(path, years, lines)


def test_every_dossier_of_msde_demo_keeps_the_books(home: Path) -> None:
    for dossier in create_demo(home, dossiers=3, years=10, lines=3000, seed=11):
        _assert_books(dossier.path(home), 10, 3000)


def _assert_books(path: Path, years: int, lines: int) -> None:
    from datetime import date

    conn = sqlite3.connect(path)
    try:
        assert check_dossier(conn) == []
        today = date.today().isoformat()
        assert conn.execute("SELECT MAX(entry_date), MAX(valid_date) FROM entry").fetchone() <= (
            today, today)
        statuses = conn.execute("SELECT code, status FROM fiscal_year ORDER BY code").fetchall()
        for year, status in statuses:
            # the trial balance closes: debits = credits over the year's REAL lines
            assert _net(conn, year, "1 = 1") == 0
            result = _net(conn, year, "a.class_no >= 6")
            appropriation = conn.execute(
                "SELECT COUNT(*) FROM entry e JOIN fiscal_year f ON f.id = e.fiscal_year_id "
                "WHERE f.code = ? AND e.origin = 'CLOSING'", (year,)).fetchone()[0]
            if status == "CLOSED":
                assert result == 0, year
                assert appropriation == 1, year
                assert _net(conn, year, "a.number IN ('411', '451')") == 0  # Q4 settled
                assert _net(conn, year, "a.number = '140'") * _net(conn, year, "a.number = '141'") == 0
            else:
                assert appropriation == 0
            # one period's VAT: what 411/451 hold at year end is at most a quarter's VAT
            quarters = conn.execute(
                "SELECT MAX(v) FROM (SELECT SUM(l.credit) v FROM entry_line l JOIN entry e "
                "ON e.id = l.entry_id JOIN account a ON a.id = l.account_id JOIN fiscal_year f "
                "ON f.id = e.fiscal_year_id WHERE a.number = '451' AND e.origin <> 'OPENING' "
                "AND e.label NOT LIKE 'Déclaration TVA%' AND f.code = ? "
                "GROUP BY (CAST(substr(e.entry_date, 6, 2) AS INTEGER) + 2) / 3)",
                (year,)).fetchone()[0] or 0
            assert -_net(conn, year, "a.number = '451'") <= quarters
            assert _net(conn, year, "a.number = '411'") <= quarters
        # what the year-end entries use
        used = {r[0] for r in conn.execute(
            "SELECT DISTINCT a.number FROM entry_line l JOIN account a ON a.id = l.account_id "
            "JOIN entry e ON e.id = l.entry_id WHERE e.kind = 'REAL'")}
        if years >= 2:
            assert {"693", "140", "4512"} <= used
        if years >= 3:
            assert {"670", "450", "790"} <= used
        assert {"173", "650"} <= used  # the loan: capital repaid and interest
        if lines // years >= 1000:  # a business that pays a wage: payroll, paid, every year
            assert {"620", "621", "453", "454", "455"} <= used
            assert conn.execute("SELECT COUNT(DISTINCT fiscal_year_id) FROM entry WHERE label "
                                "LIKE 'Salaires %'").fetchone()[0] == years
    finally:
        conn.close()


def test_reverse_charge_and_foreign_vat_numbers(tmp_path: Path) -> None:
    import re

    path = tmp_path / "d.sqlite"
    _build(path, years=3, lines=12000, seed=2)
    conn = sqlite3.connect(path)
    try:
        formats = {"NL": r"NL\d{9}B\d{2}", "FR": r"FR\d{2}\d{9}", "DE": r"DE\d{9}",
                   "LU": r"LU\d{8}", "BE": r"BE0\d{9}"}
        for country, vat in conn.execute("SELECT country, vat_number FROM third_party"):
            assert re.fullmatch(formats[country], vat), vat
            if country == "FR":  # key = (12 + 3 * (SIREN mod 97)) mod 97
                assert int(vat[2:4]) == (12 + 3 * (int(vat[4:]) % 97)) % 97
            if country == "LU":
                assert int(vat[-2:]) == int(vat[2:8]) % 89
        # every purchase from another EU country: 0 % invoice + 21 % self-assessed 411/451
        foreign = conn.execute(
            "SELECT e.id, SUM(CASE WHEN l.line_no > 1 AND a.number NOT IN ('411', '451') "
            "THEN l.debit END), SUM(CASE WHEN a.number = '411' THEN l.debit END), "
            "SUM(CASE WHEN a.number = '451' THEN l.credit END) FROM entry e "
            "JOIN entry_line l ON l.entry_id = e.id JOIN account a ON a.id = l.account_id "
            "WHERE e.id IN (SELECT entry_id FROM entry_line x JOIN third_party t "
            "ON t.id = x.third_party_id WHERE t.country <> 'BE') AND e.journal_id = "
            "(SELECT id FROM journal WHERE code = 'ACH') GROUP BY e.id").fetchall()
        assert len(foreign) > 5
        for _id, net, recover, due in foreign:
            assert recover == due == (net * 2100 + 5000) // 10000
    finally:
        conn.close()


def test_no_demo_year_after_today(tmp_path: Path) -> None:
    from datetime import date

    with pytest.raises(BadInput, match="after today"):
        _build(tmp_path / "x.sqlite", years=2, first_year=date.today().year)
