"""Ledger queries: trial balances per account / per third party on collective accounts."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from msde_tui.engine.accounting import demo, ledger, schema
from msde_tui.engine.backends.embedded.dossier import create_dossier, sa_engine
from msde_tui.engine.errors import BadInput, DossierDamaged


def small_dossier(path: Path) -> Path:
    """Two years, known amounts: 400 per customer, SIMULATION entry, one opening entry."""
    create_dossier(path, code="009TST", name="TST", company="Test SRL")
    engine = sa_engine(path)
    with engine.begin() as conn:
        conn.execute(schema.fiscal_year.insert(), [
            {"id": 1, "code": "2020", "start_date": date(2020, 1, 1), "end_date": date(2020, 12, 31), "status": "CLOSED"},
            {"id": 2, "code": "FY21", "start_date": date(2021, 1, 1), "end_date": date(2021, 12, 31), "status": "OPEN"},
        ])
        conn.execute(schema.account.insert(), [
            {"id": 1, "number": "400", "label": "Clients", "class_no": 4},
            {"id": 2, "number": "700", "label": "Ventes", "class_no": 7},
            {"id": 3, "number": "550", "label": "Banque", "class_no": 5},
            {"id": 4, "number": "140", "label": "Bénéfice reporté", "class_no": 1},
        ])
        conn.execute(schema.third_party.insert(), [
            {"id": 1, "code": "C1", "kind": "CUSTOMER", "name": "Un"},
            {"id": 2, "code": "C2", "kind": "CUSTOMER", "name": "Deux"},
        ])
        conn.execute(schema.journal.insert(), [
            {"id": 1, "code": "VEN", "label": "Ventes", "kind": "SALES"},
            {"id": 2, "code": "OD", "label": "OD", "kind": "MISC"},
            {"id": 3, "code": "ZZ", "label": "Autres OD", "kind": "MISC"},
        ])
        e = [
            (1, 1, 1, 1, date(2020, 3, 1), "REAL"),
            (2, 1, 1, 2, date(2020, 4, 1), "REAL"),
            (3, 1, 2, 1, date(2020, 5, 1), "REAL"),
            (4, 1, 2, 2, date(2020, 12, 31), "SIMULATION"),
            (5, 2, 1, 1, date(2021, 1, 5), "REAL"),
        ]
        conn.execute(schema.entry.insert(), [
            {"id": i, "fiscal_year_id": fy, "journal_id": j, "number": n, "entry_date": d,
             "label": f"e{i}", "kind": k, "origin": "NORMAL"} for i, fy, j, n, d, k in e
        ])
        lines = [
            (1, 1, 1, 1, 1, 12100, 0), (2, 1, 2, 2, None, 0, 12100),
            (3, 2, 1, 1, 2, 5000, 0), (4, 2, 2, 2, None, 0, 5000),
            (5, 3, 1, 3, None, 12100, 0), (6, 3, 2, 1, 1, 0, 12100),
            (7, 4, 1, 3, None, 999, 0), (8, 4, 2, 2, None, 0, 999),
            (9, 5, 1, 1, 2, 700, 0), (10, 5, 2, 2, 1, 0, 700),  # third party on 700: folded
        ]
        conn.execute(schema.entry_line.insert(), [
            {"id": i, "entry_id": en, "line_no": no, "account_id": a, "third_party_id": t,
             "debit": d, "credit": c} for i, en, no, a, t, d, c in lines
        ])
    engine.dispose()
    return path


def test_trial_balance_per_third_party_on_collective_accounts(tmp_path: Path) -> None:
    path = small_dossier(tmp_path / "009TST.sqlite")
    engine = ledger.open_engine(path)
    with engine.connect() as conn:
        tb = ledger.comparable(ledger.trial_balance(conn, 1))
        assert tb == [
            ("400", "C1", 12100, 12100),
            ("400", "C2", 5000, 0),
            ("550", None, 12100, 0),
            ("700", None, 0, 17100),
        ]  # the SIMULATION entry is left out
        with_sim = ledger.comparable(ledger.trial_balance(conn, 1, include_simulation=True))
        assert ("550", None, 13099, 0) in with_sim
        assert ledger.comparable(ledger.trial_balance(conn, 2)) == [
            ("400", "C2", 700, 0),
            ("700", None, 0, 700),  # not collective: the third party is folded away
        ]
        nets = ledger.year_balances(conn, 1)
        assert sum(nets.values()) == 0 and (1, 1) not in nets  # C1 settled: zero dropped
        assert ledger.misc_journal(conn) == (2, "OD")
        assert ledger.next_number(conn, 1, 2) == 3
        assert ledger.next_number(conn, 2, 2) == 1
        assert [y.code for y in ledger.find_years(conn, ["2021", "2020"])] == ["2020", "FY21"]
        with pytest.raises(BadInput, match="2019"):
            ledger.find_years(conn, ["2019"])
    engine.dispose()


def test_damaged_references_are_reported(tmp_path: Path) -> None:
    path = small_dossier(tmp_path / "009TST.sqlite")
    raw = sqlite3.connect(path)  # foreign keys off by default: damage on purpose
    raw.execute("UPDATE entry_line SET account_id = 99 WHERE id = 1")
    raw.execute("DELETE FROM journal WHERE kind = 'MISC'")
    raw.commit()
    raw.close()
    engine = ledger.open_engine(path)
    with engine.connect() as conn:
        with pytest.raises(DossierDamaged, match="99"):
            ledger.trial_balance(conn, 1)
        with pytest.raises(DossierDamaged, match="OD"):
            ledger.misc_journal(conn)
    engine.dispose()
    with pytest.raises(BadInput, match="does not exist"):
        ledger.open_engine(tmp_path / "missing.sqlite")


def test_ended_years_ago() -> None:
    fy = ledger.FiscalYear(1, "2018", date(2018, 1, 1), date(2018, 12, 31), "CLOSED")
    assert fy.ended_years_ago(date(2025, 12, 30)) == 6
    assert fy.ended_years_ago(date(2025, 12, 31)) == 7
    assert fy.ended_years_ago(date(2017, 1, 1)) == 0


def test_demo_opening_entries_carry_the_previous_closing(tmp_path: Path) -> None:
    """The ledger reads the demo the way the opening rule says: opening(Y) = closing(Y-1)
    for classes 0-5, the net of classes 6-7 into 140/141."""
    path = tmp_path / "001SOC.sqlite"
    demo.build_dossier(path, code="001SOC", company="X", years=4, lines=1500, first_year=2020)
    engine = ledger.open_engine(path)
    with engine.connect() as conn:
        years = ledger.fiscal_years(conn)
        accounts = {r.id: r.number for r in conn.execute(sa.select(schema.account))}
        for prev, year in zip(years, years[1:], strict=False):
            closing = ledger.trial_balance(conn, prev.id)
            expected: dict[tuple[str, int | None], int] = {}
            result = 0
            for b in closing:
                if b.class_no >= 6:
                    result += b.balance
                elif b.balance:
                    expected[(b.account_number, b.third_party_id)] = b.balance
            carry = "140" if result < 0 else "141"
            if result:
                expected[(carry, None)] = expected.get((carry, None), 0) + result
            e, el = schema.entry, schema.entry_line
            rows = conn.execute(
                sa.select(el.c.account_id, el.c.third_party_id, el.c.debit, el.c.credit)
                .join(e, el.c.entry_id == e.c.id)
                .where(e.c.fiscal_year_id == year.id, e.c.origin == "OPENING")
            ).all()
            opening = {(accounts[r.account_id], r.third_party_id): r.debit - r.credit for r in rows}
            assert opening == {k: v for k, v in expected.items() if v}
    engine.dispose()


def test_database_errors_become_plain_words(tmp_path: Path) -> None:
    from msde_tui.engine.errors import Busy

    locked = sa.exc.OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))
    with pytest.raises(Busy, match="another program"), ledger.db_errors(tmp_path / "001SOC.sqlite"):
        raise locked
    (tmp_path / "junk.sqlite").write_bytes(b"not a database at all" * 100)
    sqlite3.connect(tmp_path / "plain.sqlite").execute("CREATE TABLE t (a)").connection.commit()
    from msde_tui.engine.lifecycle import archive

    with pytest.raises(DossierDamaged, match="junk.sqlite"):
        archive.archive_dossier(tmp_path / "junk.sqlite", ["2020"], tmp_path)
    with pytest.raises(BadInput, match="not an accounting dossier"):
        archive.archive_dossier(tmp_path / "plain.sqlite", ["2020"], tmp_path)


def test_years_of_a_dossier_file(tmp_path: Path) -> None:
    path = small_dossier(tmp_path / "009TST.sqlite")
    assert [(y.code, y.status) for y in ledger.years_of(path)] == [("2020", "CLOSED"), ("FY21", "OPEN")]
    (tmp_path / "junk.sqlite").write_bytes(b"not a database at all" * 100)
    sqlite3.connect(tmp_path / "plain.sqlite").execute("CREATE TABLE t (a)").connection.commit()
    with pytest.raises(DossierDamaged, match="junk.sqlite"):
        ledger.years_of(tmp_path / "junk.sqlite")
    with pytest.raises(BadInput, match="not an accounting dossier"):
        ledger.years_of(tmp_path / "plain.sqlite")
    with pytest.raises(BadInput, match="does not exist"):
        ledger.years_of(tmp_path / "none.sqlite")
