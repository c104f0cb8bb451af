"""Ledger queries on the accounting schema: fiscal years, trial balances, balance keys.

A *balance key* is an account, or an (account, third party) pair on collective accounts
(customers 400, suppliers 440 — ``schema.is_collective``). The trial balance of a fiscal
year sums the year's REAL entries per key. Because every year begins with an opening entry
carrying classes 0–5 forward, classes 0–5 read as cumulative balances at the year's end and
classes 6–7 as the year's movements — exactly what a balance OD must carry (ACCOUNTING.md).

Everything is SQLAlchemy Core on ``schema`` tables so SQL Server can follow. ``open_engine``
gives an embedded dossier an engine whose transactions are real ``BEGIN`` (or ``BEGIN
IMMEDIATE``: the write lock from the first statement, so what is read inside the transaction
is what gets changed).
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import event

from msde_tui.engine.accounting import schema
from msde_tui.engine.errors import BadInput, Busy, DiskFull, DossierDamaged

P = ParamSpec("P")
T = TypeVar("T")
BalanceKey = tuple[int, int | None]  # (account id, third party id on collective accounts)


@dataclass(frozen=True)
class FiscalYear:
    id: int
    code: str
    start: date
    end: date
    status: str

    def ended_years_ago(self, today: date) -> int:
        """Whole years between the year's end and ``today`` (0 while not yet 1 year ago)."""
        years = today.year - self.end.year
        if (today.month, today.day) < (self.end.month, self.end.day):
            years -= 1
        return max(years, 0)


@dataclass(frozen=True)
class BalanceLine:
    """One line of a trial balance."""

    account_id: int
    account_number: str
    account_label: str
    class_no: int
    third_party_id: int | None
    third_party_code: str | None
    debit: int
    credit: int

    @property
    def key(self) -> BalanceKey:
        return (self.account_id, self.third_party_id)

    @property
    def balance(self) -> int:
        return self.debit - self.credit


# --------------------------------------------------------------------------- engines


def _connect_events(
    exclusive: bool,
) -> tuple[Callable[[sqlite3.Connection, object], None], Callable[[sa.Connection], None]]:
    def on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    def on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if exclusive else "BEGIN")

    return on_connect, on_begin


def open_engine(path: Path, *, exclusive: bool = False) -> sa.Engine:
    """An engine on an embedded dossier file; ``exclusive`` transactions take the write lock
    at ``BEGIN`` so no other writer can slip in between what is read and what is written."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"The dossier file {path} does not exist.", "Check the dossier list.")
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)
    on_connect, on_begin = _connect_events(exclusive)
    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)
    return engine


def check_engine(path: Path) -> sa.Engine:
    """An engine that only reads the dossier at ``path`` for a form's check and changes no
    file: read-only, so closing it never checkpoints nor removes a ``-wal``/``-shm`` another
    connection left; without a ``-wal`` the file is complete and is read as immutable, so none
    is created either. The run checks again under its own lock."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"The dossier file {path} does not exist.", "Check the dossier list.")
    mode = "mode=ro" if os.path.exists(f"{path}-wal") else "mode=ro&immutable=1"
    uri = f"file:{quote(str(path.resolve()))}?{mode}"
    engine = sa.create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False),
                              poolclass=sa.pool.NullPool)
    on_connect, on_begin = _connect_events(False)
    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)
    return engine


@contextmanager
def db_errors(path: Path) -> Iterator[None]:
    """Turn database errors into plain-words ``MsdeError``s (locked, not a dossier, damaged)."""
    try:
        yield
    except sa.exc.DBAPIError as exc:
        text = str(exc.orig) if exc.orig is not None else str(exc)
        name = Path(path).name
        if "locked" in text or "busy" in text:
            raise Busy(
                f"{name} is being changed by another program (the database is locked).",
                "Wait until the other work is finished, then run it again; nothing was changed.",
            ) from exc
        if "no such table" in text or "no such column" in text:
            raise BadInput(
                f"{name} is not an accounting dossier of this tool ({text}).",
                "Archive, cut and audit need the accounting tables; nothing was changed.",
            ) from exc
        if "disk" in text and "full" in text:
            raise DiskFull(f"No space left while changing {name}.", "Free some space; nothing was changed.") from exc
        raise DossierDamaged(
            f"{name} cannot be read or changed: {text}.",
            "Run 'msde check' on it or restore a backup; nothing was changed.",
        ) from exc
    except UnicodeDecodeError as exc:  # SQLite quoted damaged, non-UTF-8 text in its message
        raise DossierDamaged(
            f"{Path(path).name} is damaged: its database structure holds text that is not UTF-8.",
            "Restore the dossier from a backup; nothing was changed.",
        ) from exc


def translate_db_errors(func: Callable[P, T]) -> Callable[P, T]:
    """Decorator: ``db_errors`` around a function whose first argument is the dossier path."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        with db_errors(Path(str(args[0]))):
            return func(*args, **kwargs)

    return wrapper


# --------------------------------------------------------------------------- fiscal years


def fiscal_years(conn: sa.Connection) -> list[FiscalYear]:
    """Every fiscal year of the dossier, oldest first."""
    fy = schema.fiscal_year
    rows = conn.execute(
        sa.select(fy.c.id, fy.c.code, fy.c.start_date, fy.c.end_date, fy.c.status).order_by(
            fy.c.start_date, fy.c.id
        )
    ).all()
    return [FiscalYear(r.id, r.code, r.start_date, r.end_date, r.status) for r in rows]


@translate_db_errors
def years_of(path: Path) -> list[FiscalYear]:
    """Every fiscal year of the dossier file at ``path``, oldest first (errors in plain words)."""
    engine = open_engine(path)
    try:
        with engine.connect() as conn:
            return fiscal_years(conn)
    finally:
        engine.dispose()


def find_years(conn: sa.Connection, wanted: Iterable[str]) -> list[FiscalYear]:
    """Resolve year names (the year's code, or the calendar year it ends in) to fiscal years.

    Raises ``BadInput`` naming the years that exist when one is unknown. Oldest first.
    """
    years = fiscal_years(conn)
    found: dict[int, FiscalYear] = {}
    for raw in wanted:
        text = str(raw).strip()
        if not text:
            continue
        match = [y for y in years if y.code == text] or [
            y for y in years if str(y.end.year) == text
        ]
        if len(match) != 1:
            known = ", ".join(y.code for y in years) or "none"
            raise BadInput(
                f"No single fiscal year '{text}' in this dossier.",
                f"Name one of its fiscal years: {known}.",
            )
        found[match[0].id] = match[0]
    return sorted(found.values(), key=lambda y: (y.start, y.id))


def parse_years(text: str | None) -> list[str]:
    """``"2018, 2019"`` -> ``["2018", "2019"]``."""
    if not text:
        return []
    return [part.strip() for part in text.split(",") if part.strip()]


# --------------------------------------------------------------------------- balances


def trial_balance(
    conn: sa.Connection, year_id: int, *, include_simulation: bool = False
) -> list[BalanceLine]:
    """The trial balance of one fiscal year: per account, per third party on collective
    accounts, the sums of debits and credits of the year's REAL entries (all entries with
    ``include_simulation``). Ordered by account number, then third party code."""
    return trial_balances(conn, [year_id], include_simulation=include_simulation).get(year_id, [])


def trial_balances(
    conn: sa.Connection, year_ids: list[int] | None = None, *, include_simulation: bool = False
) -> dict[int, list[BalanceLine]]:
    """Trial balances of several fiscal years (all by default) in one pass, by year id."""
    e, el = schema.entry, schema.entry_line
    query = (
        sa.select(
            e.c.fiscal_year_id,
            el.c.account_id,
            el.c.third_party_id,
            sa.func.sum(el.c.debit).label("debit"),
            sa.func.sum(el.c.credit).label("credit"),
        )
        .select_from(el.join(e, el.c.entry_id == e.c.id))
        .group_by(e.c.fiscal_year_id, el.c.account_id, el.c.third_party_id)
    )
    if year_ids is not None:
        query = query.where(e.c.fiscal_year_id.in_(year_ids))
    if not include_simulation:
        query = query.where(e.c.kind == "REAL")
    return balances_from_sums(conn, conn.execute(query).all())


def balances_from_sums(
    conn: sa.Connection, sums: Iterable[Sequence[Any]]
) -> dict[int, list[BalanceLine]]:
    """``trial_balances`` from the sums of debits and credits per (fiscal year id, account id,
    third party id) of the lines to count, however they were summed."""
    a, tp = schema.account, schema.third_party
    accounts = {
        r.id: r for r in conn.execute(sa.select(a.c.id, a.c.number, a.c.label, a.c.class_no))
    }
    parties = {r.id: r.code for r in conn.execute(sa.select(tp.c.id, tp.c.code))}
    folded: dict[int, dict[BalanceKey, list[int]]] = {}
    for fiscal_year_id, account_id, third_party_id, debit, credit in sums:
        acc = accounts.get(account_id)
        if acc is None:
            raise DossierDamaged(
                f"An entry line refers to account id {account_id}, which does not exist.",
                "Run 'msde check' on the dossier.",
            )
        party = third_party_id if schema.is_collective(acc.number) else None
        totals = folded.setdefault(fiscal_year_id, {}).setdefault((account_id, party), [0, 0])
        totals[0] += int(debit or 0)
        totals[1] += int(credit or 0)
    result: dict[int, list[BalanceLine]] = {}
    for year_id, keys in folded.items():
        lines = []
        for (account_id, party), (debit, credit) in keys.items():
            acc = accounts[account_id]
            lines.append(
                BalanceLine(
                    account_id=account_id,
                    account_number=acc.number,
                    account_label=acc.label,
                    class_no=acc.class_no,
                    third_party_id=party,
                    third_party_code=parties.get(party) if party is not None else None,
                    debit=debit,
                    credit=credit,
                )
            )
        lines.sort(key=lambda b: (b.account_number, b.third_party_code or "", b.third_party_id or 0))
        result[year_id] = lines
    return result


def year_balances(conn: sa.Connection, year_id: int) -> dict[BalanceKey, int]:
    """Net balance (debit − credit) per balance key for one year, non-zero keys only."""
    return {b.key: b.balance for b in trial_balance(conn, year_id) if b.balance != 0}


def comparable(lines: list[BalanceLine]) -> list[tuple[str, str | None, int, int]]:
    """A trial balance as plain tuples (account number, third party, debit, credit)."""
    return [(b.account_number, b.third_party_code, b.debit, b.credit) for b in lines]


def all_trial_balances(conn: sa.Connection) -> dict[str, list[tuple[str, str | None, int, int]]]:
    """Every year's trial balance by year code (for before/after comparisons)."""
    every = trial_balances(conn)
    return {y.code: comparable(every.get(y.id, [])) for y in fiscal_years(conn)}


def misc_journal(conn: sa.Connection) -> tuple[int, str]:
    """The miscellaneous-operations journal (kind MISC; code ``OD`` preferred): (id, code)."""
    j = schema.journal
    rows = conn.execute(
        sa.select(j.c.id, j.c.code).where(j.c.kind == "MISC").order_by(j.c.id)
    ).all()
    if not rows:
        raise DossierDamaged(
            "This dossier has no miscellaneous-operations (OD) journal.",
            "Create a journal of kind MISC (e.g. code OD) in the dossier first.",
        )
    for row in rows:
        if row.code.upper() == "OD":
            return row.id, row.code
    return rows[0].id, rows[0].code


def next_number(conn: sa.Connection, year_id: int, journal_id: int) -> int:
    """The next free entry number in (fiscal year, journal): highest used + 1."""
    e = schema.entry
    top = conn.execute(
        sa.select(sa.func.max(e.c.number)).where(
            e.c.fiscal_year_id == year_id, e.c.journal_id == journal_id
        )
    ).scalar()
    return int(top or 0) + 1
