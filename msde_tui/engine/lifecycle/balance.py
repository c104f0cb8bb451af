"""The balance entries of archived years: computed, written in place of the details, checked.

An archived year keeps ONE entry (journal MISC, origin ARCHIVE_BALANCE, dated the year's last
day): per balance key (account; account + third party on 400/440) the net of the year's real
entries (docs/ACCOUNTING.md). ``balance_lines`` computes its lines, ``delete_years`` deletes
the years' details and ``insert_balances`` inserts it, ``check_balances`` proves no trial balance changed, and
``od_matches`` tells whether the entry a dossier holds is the one a PAF describes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import sqlalchemy as sa

from msde_tui.engine.accounting import schema
from msde_tui.engine.accounting.ledger import BalanceLine, FiscalYear
from msde_tui.engine.errors import DossierDamaged


def balance_lines(balances: Iterable[BalanceLine], first_id: int) -> list[dict[str, Any]]:
    """The lines of a year's balance entry, one per non-zero balance, ids from ``first_id``."""
    return [
        {
            "id": first_id + no - 1,
            "line_no": no,
            "account_id": b.account_id,
            "account": b.account_number,
            "third_party_id": b.third_party_id,
            "third_party": b.third_party_code,
            "debit": max(b.balance, 0),
            "credit": max(-b.balance, 0),
        }
        for no, b in enumerate(balances, start=1)
    ]


def od_label(code: str) -> str:
    return f"Soldes de l'exercice archivé {code}"


def delete_years(conn: sa.Connection, years: list[FiscalYear], *, lines: int | None = None) -> None:
    """Inside the caller's transaction: delete the attachments, lines and entries of ``years``."""
    year_ids = [y.id for y in years]
    e, el, att = schema.entry, schema.entry_line, schema.attachment
    in_years = sa.select(e.c.id).where(e.c.fiscal_year_id.in_(year_ids))
    conn.execute(att.delete().where(att.c.entry_id.in_(in_years)))
    with _indexes_rebuilt(conn, el, in_years, lines):
        conn.execute(el.delete().where(el.c.entry_id.in_(in_years)))
    conn.execute(e.delete().where(e.c.fiscal_year_id.in_(year_ids)))


def insert_balances(
    conn: sa.Connection, years: list[FiscalYear], od: dict[int, dict[str, Any]], journal_id: int, paf_name: str
) -> None:
    """Inside the caller's transaction, once the details of ``years`` are deleted: insert each
    year's balance entry ``od[year id]`` (when it has lines); mark the years ARCHIVED."""
    e, el, fy = schema.entry, schema.entry_line, schema.fiscal_year
    for y in years:
        entry = od[y.id]
        if entry["id"] is not None:
            conn.execute(
                e.insert().values(
                    id=entry["id"],
                    fiscal_year_id=y.id,
                    journal_id=journal_id,
                    number=entry["number"],
                    entry_date=y.end,
                    label=od_label(y.code),
                    document_ref=paf_name[:40],
                    document_date=y.end,
                    kind="REAL",
                    origin="ARCHIVE_BALANCE",
                    valid_date=date.today(),  # made and validated now; dated the year's end
                )
            )
            conn.execute(
                el.insert(),
                [
                    {
                        "id": line["id"],
                        "entry_id": entry["id"],
                        "line_no": line["line_no"],
                        "account_id": line["account_id"],
                        "third_party_id": line["third_party_id"],
                        "vat_code_id": None,
                        "label": "Solde archivé",
                        "debit": line["debit"],
                        "credit": line["credit"],
                        "letter": None,
                        "letter_date": None,
                    }
                    for line in entry["lines"]
                ],
            )
        conn.execute(fy.update().where(fy.c.id == y.id).values(status="ARCHIVED"))


@contextmanager
def _indexes_rebuilt(
    conn: sa.Connection, table: sa.Table, in_years: sa.Select[Any], gone: int | None
) -> Iterator[None]:
    """Around a delete of most of ``table``'s rows (those of the entries ``in_years``), inside
    the caller's transaction: its indexes made by CREATE INDEX are dropped, then created again
    by their own statements (the same indexes, over the rows kept): removing each row from every
    index costs more than indexing the rows left (docs/OPERATIONS.md, Archive). The indexes of
    its keys stay (SQLite's own): the delete finds its rows through them. Smaller deletes, and
    other databases, keep the indexes as they are."""
    indexes: list[tuple[str, str]] = []
    if conn.dialect.name == "sqlite":
        total = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        if gone is None:
            gone = conn.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.entry_id.in_(in_years))
            ).scalar_one()
        if gone > total - gone:
            indexes = [
                (str(r.name), str(r.sql))
                for r in conn.execute(
                    sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t "
                            "AND sql IS NOT NULL ORDER BY rowid"),
                    {"t": table.name},
                )
            ]
    for name, _sql in indexes:
        conn.exec_driver_sql("DROP INDEX " + '"' + name.replace('"', '""') + '"')
    yield
    for _name, sql in indexes:
        conn.exec_driver_sql(sql)


def nets(balances: list[tuple[str, str | None, int, int]]) -> dict[tuple[str, str | None], int]:
    return {(a, t): d - c for a, t, d, c in balances if d != c}


def check_balances(
    before: dict[str, list[tuple[str, str | None, int, int]]],
    after: dict[str, list[tuple[str, str | None, int, int]]],
    changed: set[str],
    what: str,
) -> None:
    """Kept years: identical trial balances; changed years: identical net balances."""
    if set(before) != set(after):
        raise DossierDamaged(f"The fiscal years changed during the {what}; nothing was changed.")
    for code, lines in before.items():
        same = nets(lines) == nets(after[code]) if code in changed else lines == after[code]
        if not same:
            raise DossierDamaged(
                f"The trial balance of fiscal year {code} would change; the {what} was undone.",
                "Run 'msde check' on the dossier; nothing was changed.",
            )


def od_matches(conn: sa.Connection, year: dict[str, Any]) -> bool:
    """True when the dossier's entries of the PAF's archived ``year`` are exactly the balance
    entry the PAF describes (this PAF is the one that archived the year as it is now)."""
    od = year["balance_entry"]
    e, el = schema.entry, schema.entry_line
    entries = conn.execute(sa.select(e).where(e.c.fiscal_year_id == year["id"])).all()
    if od["id"] is None:
        return not entries
    if len(entries) != 1 or entries[0].id != od["id"] or entries[0].origin != "ARCHIVE_BALANCE":
        return False
    lines = conn.execute(
        sa.select(el.c.id, el.c.account_id, el.c.third_party_id, el.c.debit, el.c.credit)
        .where(el.c.entry_id == od["id"])
        .order_by(el.c.id)
    ).all()
    wanted = [
        (x["id"], x["account_id"], x["third_party_id"], x["debit"], x["credit"]) for x in od["lines"]
    ]
    return [tuple(r) for r in lines] == wanted

