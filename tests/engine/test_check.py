from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msde_tui.cli import app
from msde_tui.engine.accounting.check import check_dossier
from msde_tui.engine.accounting.demo import build_dossier, create_demo
from msde_tui.engine.backends.embedded.dossier import sa_engine
from msde_tui.engine.backends.mssql import profiles
from msde_tui.engine.catalog import Catalog


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("check") / "001SOC.sqlite"
    build_dossier(path, code="001SOC", company="Soc", years=4, lines=1600, seed=3,
                  first_year=2020)
    return path


@pytest.fixture
def conn(pristine: Path, tmp_path: Path) -> Iterator[sqlite3.Connection]:
    copy = tmp_path / "001SOC.sqlite"
    copy.write_bytes(pristine.read_bytes())
    connection = sqlite3.connect(copy)
    connection.execute("PRAGMA foreign_keys=OFF")  # as in an imported file
    yield connection
    connection.close()


def _kinds(conn: sqlite3.Connection) -> set[str]:
    return {p.kind for p in check_dossier(conn)}


def _entry(conn: sqlite3.Connection, where: str) -> int:
    return conn.execute(f"SELECT id FROM entry WHERE {where} ORDER BY id LIMIT 1").fetchone()[0]


def test_pristine_dossier_is_healthy(conn: sqlite3.Connection, pristine: Path) -> None:
    assert check_dossier(conn) == []
    engine = sa_engine(pristine)
    try:
        assert check_dossier(engine) == []
        with engine.connect() as sa_conn:
            assert check_dossier(sa_conn) == []
    finally:
        engine.dispose()


def test_unbalanced_entry(conn: sqlite3.Connection) -> None:
    eid = _entry(conn, "journal_id = (SELECT id FROM journal WHERE code = 'VEN') AND number = 5")
    conn.execute("UPDATE entry_line SET credit = credit + 1 WHERE entry_id = ? AND credit > 0 "
                 "AND line_no = (SELECT MAX(line_no) FROM entry_line WHERE entry_id = ?)",
                 (eid, eid))
    problems = [p for p in check_dossier(conn) if p.kind == "unbalanced"]
    assert len(problems) == 1
    assert problems[0].entry_id == eid and problems[0].journal == "VEN"
    assert problems[0].number == 5 and problems[0].fiscal_year == "2020"
    assert "unbalanced" in problems[0].message


def test_pending_changes_of_the_caller_are_kept(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE entry_line SET debit = debit + 7 WHERE id = 40 AND debit > 0")
    conn.execute("UPDATE entry_line SET credit = credit + 7 WHERE id = 40 AND credit > 0")
    assert conn.in_transaction
    assert "unbalanced" in _kinds(conn)
    assert conn.in_transaction  # not rolled back by the check
    conn.rollback()
    assert check_dossier(conn) == []


def test_bad_amounts(conn: sqlite3.Connection) -> None:
    # the table's CHECK constraints refuse these: an imported file may not have them
    conn.execute("PRAGMA ignore_check_constraints=ON")
    conn.execute("UPDATE entry_line SET debit = -debit WHERE id = 10 AND debit > 0")
    conn.execute("UPDATE entry_line SET credit = -credit WHERE id = 10 AND credit > 0")
    conn.execute("UPDATE entry_line SET debit = 5, credit = 5 WHERE id = 20")
    bad = [p for p in check_dossier(conn) if p.kind == "bad_amount"]
    assert [p.row_id for p in bad] == [10, 20]


def test_entry_outside_its_year(conn: sqlite3.Connection) -> None:
    eid = _entry(conn, "fiscal_year_id = 2 AND origin = 'NORMAL'")
    conn.execute("UPDATE entry SET entry_date = '2022-01-01' WHERE id = ?", (eid,))
    problems = [p for p in check_dossier(conn) if p.kind == "outside_year"]
    assert [(p.entry_id, p.fiscal_year) for p in problems] == [(eid, "2021")]


def test_dangling_references(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE entry_line SET account_id = 9999 WHERE id = 33")
    conn.execute("UPDATE entry SET journal_id = 77 WHERE id = 44")
    conn.execute("UPDATE attachment SET entry_id = 123456 WHERE id = 1")
    third = conn.execute("SELECT id FROM entry_line WHERE third_party_id IS NOT NULL LIMIT 1"
                         ).fetchone()[0]
    conn.execute("UPDATE entry_line SET third_party_id = 5555 WHERE id = ?", (third,))
    orphan_entry = _entry(conn, "fiscal_year_id = 3 AND origin = 'NORMAL'")
    conn.execute("DELETE FROM entry WHERE id = ?", (orphan_entry,))
    found = {(p.table, p.row_id) for p in check_dossier(conn) if p.kind == "dangling_reference"}
    children = {("entry_line", r[0]) for r in conn.execute(
        "SELECT id FROM entry_line WHERE entry_id = ?", (orphan_entry,))}
    children |= {("attachment", r[0]) for r in conn.execute(
        "SELECT id FROM attachment WHERE entry_id = ?", (orphan_entry,))}
    assert len(children) >= 2
    assert found == {("entry_line", 33), ("entry", 44), ("attachment", 1),
                     ("entry_line", third)} | children


def test_entry_without_lines(conn: sqlite3.Connection) -> None:
    eid = _entry(conn, "fiscal_year_id = 1 AND journal_id = (SELECT id FROM journal "
                       "WHERE code = 'OD') AND kind = 'SIMULATION'")
    conn.execute("DELETE FROM entry_line WHERE entry_id = ?", (eid,))
    assert [p.entry_id for p in check_dossier(conn) if p.kind == "empty_entry"] == [eid]
    # simulations are numbered apart: removing one leaves the real numbering whole
    conn.execute("DELETE FROM entry WHERE id = ?", (eid,))
    assert check_dossier(conn) == []


def test_gap_in_a_journal_s_real_numbering_is_named(conn: sqlite3.Connection) -> None:
    # the real OD entry numbered 3 of 2020 moves past the end: 3 and 4 more are missing
    eid = _entry(conn, "fiscal_year_id = 1 AND journal_id = (SELECT id FROM journal "
                       "WHERE code = 'OD') AND kind = 'REAL' AND number = 3")
    last = conn.execute("SELECT MAX(number) FROM entry WHERE fiscal_year_id = 1 AND kind = 'REAL' "
                        "AND journal_id = (SELECT id FROM journal WHERE code = 'OD')").fetchone()[0]
    conn.execute("UPDATE entry SET number = ? WHERE id = ?", (last + 5, eid))
    problems = check_dossier(conn)
    assert [(p.kind, p.fiscal_year, p.journal, p.number) for p in problems] == [
        ("number_gap", "2020", "OD", 3)
    ]
    missing = [3] + list(range(last + 1, last + 5))
    assert f"number(s) {', '.join(map(str, missing))} missing" in problems[0].message
    # a simulation numbered like a missing real entry does not fill the real sequence
    conn.execute("UPDATE entry SET number = ? WHERE id = (SELECT MIN(id) FROM entry WHERE "
                 "fiscal_year_id = 1 AND kind = 'SIMULATION')", (last + 4,))
    assert [p.message for p in check_dossier(conn)] == [problems[0].message]


def test_entries_never_validated_are_reported(conn: sqlite3.Connection) -> None:
    eid = _entry(conn, "journal_id = (SELECT id FROM journal WHERE code = 'VEN') AND number = 7 "
                       "AND fiscal_year_id = 2")
    conn.execute("UPDATE entry SET valid_date = NULL WHERE id = ?", (eid,))
    problems = check_dossier(conn)
    assert [(p.kind, p.entry_id, p.journal, p.number, p.fiscal_year) for p in problems] == [
        ("unvalidated", eid, "VEN", 7, "2021")
    ]
    assert "never validated" in problems[0].message
    # simulations are never validated, and that is no problem
    assert conn.execute("SELECT COUNT(*) FROM entry WHERE kind = 'SIMULATION' "
                        "AND valid_date IS NULL").fetchone()[0] > 0


def test_duplicate_number(conn: sqlite3.Connection) -> None:
    # an imported file without the UNIQUE constraint
    conn.executescript("""
        CREATE TABLE entry_copy AS SELECT * FROM entry;
        DROP TABLE entry;
        ALTER TABLE entry_copy RENAME TO entry;
    """)
    second = _entry(conn, "fiscal_year_id = 2 AND journal_id = (SELECT id FROM journal "
                          "WHERE code = 'ACH') AND number = 2")
    conn.execute("UPDATE entry SET number = 1 WHERE id = ?", (second,))
    problems = check_dossier(conn)
    dup = [p for p in problems if p.kind == "duplicate_number"]
    assert [(p.fiscal_year, p.journal, p.number) for p in dup] == [("2021", "ACH", 1)]
    assert "used 2 times" in dup[0].message
    assert {p.kind for p in problems} == {"duplicate_number", "number_gap"}


def _opening_line(conn: sqlite3.Connection, year_id: int, account: str) -> int:
    return conn.execute(
        "SELECT l.id FROM entry_line l JOIN entry e ON e.id = l.entry_id JOIN account a "
        "ON a.id = l.account_id WHERE e.origin = 'OPENING' AND e.fiscal_year_id = ? "
        "AND a.number = ?", (year_id, account)).fetchone()[0]


def test_wrong_opening_even_when_balanced(conn: sqlite3.Connection) -> None:
    bank = _opening_line(conn, 3, "550")
    capital = _opening_line(conn, 3, "100")
    conn.execute("UPDATE entry_line SET debit = debit + 100 WHERE id = ?", (bank,))
    conn.execute("UPDATE entry_line SET credit = credit + 100 WHERE id = ?", (capital,))
    problems = check_dossier(conn)
    # 2022's closing balances carry the change too, so 2023's opening no longer matches them
    assert [(p.kind, p.fiscal_year) for p in problems] == [("opening_mismatch", "2022"),
                                                          ("opening_mismatch", "2023")]
    assert "550: expected" in problems[0].message and "100: expected" in problems[0].message


def test_missing_opening_and_wrong_result_carry(conn: sqlite3.Connection) -> None:
    # the 140/141 line carries the previous result: moving it to the other account is wrong
    row = conn.execute(
        "SELECT l.id, a.number FROM entry_line l JOIN entry e ON e.id = l.entry_id JOIN account a "
        "ON a.id = l.account_id WHERE e.origin = 'OPENING' AND e.fiscal_year_id = 2 "
        "AND a.number IN ('140', '141')").fetchone()
    other = "141" if row[1] == "140" else "140"
    conn.execute("UPDATE entry_line SET account_id = (SELECT id FROM account WHERE number = ?) "
                 "WHERE id = ?", (other, row[0]))
    problems = check_dossier(conn)
    assert [(p.kind, p.fiscal_year) for p in problems][:1] == [("opening_mismatch", "2021")]
    assert f"{row[1]}: expected" in problems[0].message
    assert f"{other}: expected 0" in problems[0].message
    conn.rollback()
    opening = _entry(conn, "origin = 'OPENING' AND fiscal_year_id = 4")
    conn.execute("DELETE FROM entry_line WHERE entry_id = ?", (opening,))
    conn.execute("DELETE FROM entry WHERE id = ?", (opening,))
    problems = check_dossier(conn)
    assert ("missing_opening", "2023") in {(p.kind, p.fiscal_year) for p in problems}


def _archive(conn: sqlite3.Connection, year_id: int, *, result_to_equity: bool) -> None:
    """Archive a year as ACCOUNTING.md describes (balance OD, then delete the details)."""
    end = conn.execute("SELECT end_date FROM fiscal_year WHERE id = ?", (year_id,)).fetchone()[0]
    od = conn.execute("SELECT id FROM journal WHERE code = 'OD'").fetchone()[0]
    rows = conn.execute(
        "SELECT l.account_id, a.class_no, CASE WHEN a.number LIKE '400%' OR a.number LIKE "
        "'440%' THEN l.third_party_id END, SUM(l.debit) - SUM(l.credit) FROM entry_line l "
        "JOIN entry e ON e.id = l.entry_id JOIN account a ON a.id = l.account_id "
        "WHERE e.fiscal_year_id = ? AND e.kind = 'REAL' GROUP BY 1, 2, 3", (year_id,)).fetchall()
    lines = [(acc, tp, net) for acc, cls, tp, net in rows if net and cls <= 5]
    result = sum(net for _, cls, _, net in rows if cls >= 6)
    if result_to_equity:
        carry = "140" if result < 0 else "141"
        carry_id = conn.execute("SELECT id FROM account WHERE number = ?", (carry,)).fetchone()[0]
        lines.append((carry_id, None, result))
    else:
        lines += [(acc, tp, net) for acc, cls, tp, net in rows if net and cls >= 6]
    number = conn.execute("SELECT MAX(number) + 1 FROM entry WHERE fiscal_year_id = ? "
                          "AND journal_id = ?", (year_id, od)).fetchone()[0]
    keep = conn.execute(
        "INSERT INTO entry (fiscal_year_id, journal_id, number, entry_date, label, kind, origin) "
        "VALUES (?, ?, ?, ?, 'Balance', 'REAL', 'ARCHIVE_BALANCE')",
        (year_id, od, number, end)).lastrowid
    conn.executemany(
        "INSERT INTO entry_line (entry_id, line_no, account_id, third_party_id, debit, credit) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(keep, i, acc, tp, max(net, 0), max(-net, 0)) for i, (acc, tp, net) in enumerate(lines, 1)])
    gone = "SELECT id FROM entry WHERE fiscal_year_id = ? AND id <> ?"
    conn.execute(f"DELETE FROM attachment WHERE entry_id IN ({gone})", (year_id, keep))
    conn.execute(f"DELETE FROM entry_line WHERE entry_id IN ({gone})", (year_id, keep))
    conn.execute("DELETE FROM entry WHERE fiscal_year_id = ? AND id <> ?", (year_id, keep))
    conn.execute("UPDATE fiscal_year SET status = 'ARCHIVED' WHERE id = ?", (year_id,))


@pytest.mark.parametrize("result_to_equity", [False, True])
def test_archived_years_keep_the_opening_rule(conn: sqlite3.Connection,
                                              result_to_equity: bool) -> None:
    _archive(conn, 1, result_to_equity=result_to_equity)
    _archive(conn, 2, result_to_equity=result_to_equity)
    assert check_dossier(conn) == []
    # and a wrong archive balance is still caught at the next year's opening
    conn.execute("UPDATE entry_line SET debit = debit + 1 WHERE id = (SELECT MIN(l.id) FROM "
                 "entry_line l JOIN entry e ON e.id = l.entry_id WHERE e.origin = "
                 "'ARCHIVE_BALANCE' AND e.fiscal_year_id = 2 AND l.debit > 0)")
    kinds = {(p.kind, p.fiscal_year) for p in check_dossier(conn)}
    assert kinds == {("unbalanced", "2021"), ("opening_mismatch", "2022")}


# ---------------------------------------------------------------------------- CLI


def test_cli_check_exit_codes(home: Path) -> None:
    create_demo(home, dossiers=1, years=3, lines=600, seed=2)
    runner = CliRunner()
    assert runner.invoke(app, ["check", "001"]).exit_code == 0
    conn = sqlite3.connect(home / "001SOC.sqlite")
    conn.execute("UPDATE entry_line SET debit = debit + 3 WHERE id = 12 AND debit > 0")
    conn.execute("UPDATE entry_line SET credit = credit + 3 WHERE id = 12 AND credit > 0")
    conn.commit()
    conn.close()
    from msde_tui.cli import main

    assert main(["check", "001SOC"]) == 1
    result = runner.invoke(app, ["--json", "check", "1"])
    payload = json.loads(result.stdout)
    assert payload["healthy"] is False and payload["dossier"] == "001SOC"
    assert "unbalanced" in {p["kind"] for p in payload["problems"]}
    assert main(["check", "042"]) == 2
    (home / "not-a-dossier.sqlite").write_bytes(b"")
    sqlite3.connect(home / "empty.sqlite").execute("CREATE TABLE t (x)").connection.close()
    assert main(["add", "--short", "EMP", "--company", "Empty", "--file", "empty.sqlite"]) == 0
    assert main(["check", "EMPTY"]) == 2  # not a code
    assert main(["check", "002"]) == 1  # not an accounting dossier: damaged, no traceback


def test_cli_add(home: Path, tmp_path: Path) -> None:
    create_demo(home, dossiers=1, years=2, lines=200, seed=2)
    other = home / "777XYZ.sqlite"
    guid = build_dossier(other, code="777XYZ", company="Xyz", years=2, lines=200, seed=9)
    from msde_tui.cli import main

    assert main(["add", "--short", "XYZ", "--company", "Xyz SRL", "--file", str(other)]) == 0
    added = Catalog(home).get("002")
    assert (added.code, added.location, added.guid) == ("002XYZ", "777XYZ.sqlite", guid)
    assert main(["check", "002"]) == 0
    # duplicates, files outside the data dir, non-SQLite files, missing arguments
    assert main(["add", "--short", "XYZ", "--company", "X", "--file", "777XYZ.sqlite"]) == 2
    (home / "copy.sqlite").write_bytes((home / "001SOC.sqlite").read_bytes())
    assert main(["add", "--short", "CPY", "--company", "C", "--file", "copy.sqlite"]) == 2
    outside = tmp_path / "outside.sqlite"
    outside.write_bytes(other.read_bytes())
    assert main(["add", "--short", "OUT", "--company", "O", "--file", str(outside)]) == 2
    assert main(["add", "--short", "OUT", "--company", "O", "--file", "../x.sqlite"]) == 2
    (home / "text.sqlite").write_text("hello")
    assert main(["add", "--short", "TXT", "--company", "T", "--file", "text.sqlite"]) == 2
    assert main(["add", "--short", "NOP", "--company", "N"]) == 2
    assert main(["add", "--short", "SRV", "--company", "S", "--profile", "office",
                 "--database", "PW0003SRV"]) == 2  # unknown profile
    profiles.add(profiles.check_profile("office", "srv", 1433, "sa", "pymssql"), home)
    assert main(["add", "--number", "9", "--short", "SRV", "--company", "S", "--profile",
                 "office", "--database", "PW0009SRV"]) == 0
    srv = Catalog(home).get("009")
    assert (srv.backend, srv.profile, srv.location) == ("mssql", "office", "PW0009SRV")
    assert main(["add", "--short", "SRV", "--company", "S", "--profile", "office",
                 "--database", "PW0009SRV"]) == 2  # same database twice
    assert [d.code for d in Catalog(home).dossiers()] == ["001SOC", "002XYZ", "009SRV"]


def test_cli_check_reports_gaps_and_drafts(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from msde_tui.cli import main

    create_demo(home, dossiers=1, years=3, lines=600, seed=4)
    conn = sqlite3.connect(home / "001SOC.sqlite")
    year = conn.execute("SELECT id, code FROM fiscal_year ORDER BY id LIMIT 1").fetchone()
    conn.execute("DELETE FROM entry_line WHERE entry_id IN (SELECT id FROM entry WHERE "
                 "fiscal_year_id = ? AND journal_id = (SELECT id FROM journal WHERE code = 'VEN') "
                 "AND number = 2)", (year[0],))
    conn.execute("DELETE FROM entry WHERE fiscal_year_id = ? AND number = 2 AND journal_id = "
                 "(SELECT id FROM journal WHERE code = 'VEN')", (year[0],))
    conn.execute("UPDATE entry SET valid_date = NULL WHERE fiscal_year_id = ? AND number = 3 AND "
                 "journal_id = (SELECT id FROM journal WHERE code = 'ACH')", (year[0],))
    conn.commit()
    conn.close()
    capsys.readouterr()
    assert main(["--json", "check", "001"]) == 1
    found = {p["kind"]: p for p in json.loads(capsys.readouterr().out)["problems"]}
    assert {"number_gap", "unvalidated"} <= set(found)
    assert found["number_gap"]["journal"] == "VEN" and "number(s) 2 missing" in found["number_gap"]["message"]
    assert found["unvalidated"]["journal"] == "ACH" and found["unvalidated"]["number"] == 3
    assert main(["check", "001"]) == 1
    shown = " ".join(capsys.readouterr().out.split())
    assert "number(s) 2 missing" in shown and "never validated" in shown


def test_gaps_and_drafts_on_a_sql_server_dossier(tds_server, pristine: Path,  # type: ignore[no-untyped-def]
                                                 tmp_path: Path) -> None:
    """The same checks run as SQLAlchemy Core on SQL Server (through the TDS double)."""
    import sqlalchemy as sa

    copy = tmp_path / "001SOC.sqlite"
    copy.write_bytes(pristine.read_bytes())
    tds_server.create_database("PW0001SOC", sqlite_file=copy)
    url = sa.URL.create("mssql+pymssql", username=tds_server.user, password=tds_server.password,
                        host=tds_server.host, port=tds_server.port, database="PW0001SOC")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        assert check_dossier(engine) == []
        with engine.begin() as conn:
            ven = conn.execute(sa.text("SELECT id FROM journal WHERE code = 'VEN'")).scalar()
            conn.execute(sa.text("UPDATE entry SET valid_date = NULL WHERE fiscal_year_id = 2 "
                                 "AND journal_id = :j AND number = 3"), {"j": ven})
            conn.execute(sa.text("UPDATE entry SET number = 900 WHERE fiscal_year_id = 2 "
                                 "AND journal_id = :j AND number = 5"), {"j": ven})
        found = {(p.kind, p.journal, p.number) for p in check_dossier(engine)}
        assert found == {("unvalidated", "VEN", 3), ("number_gap", "VEN", 5)}
    finally:
        engine.dispose()
