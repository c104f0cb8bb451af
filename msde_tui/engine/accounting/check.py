"""Integrity checks of an accounting dossier: ``check_dossier(conn) -> list[Problem]``.

Works on an embedded dossier (``sqlite3.Connection``) or on any SQLAlchemy connection/engine
(SQL Server included): every query is SQLAlchemy Core over ``schema`` tables and aggregates
in SQL, so 2 million lines are checked without looping over them in Python.

Kinds of problems (``Problem.kind``):

    bad_amount          a line with a negative amount or both debit and credit set
    unbalanced          an entry whose debits and credits differ
    empty_entry         an entry without lines
    outside_year        an entry dated outside its fiscal year
    dangling_reference  a row pointing at a row that does not exist (any foreign key)
    duplicate_number    two entries with the same number in one (fiscal year, journal, kind)
    number_gap          REAL numbers of a (fiscal year, journal) not 1..N: the missing ones are
                        named (ARCHIVED years skipped; simulations have their own numbers)
    unvalidated         a REAL entry without validation date (a draft: the FEC refuses it;
                        ARCHIVED years skipped: their entries are in the PAF)
    missing_opening     a year without opening entry while the previous year left balances
    opening_mismatch    the opening entry differs from the previous year's closing balances

The opening rule (the demo generator and archiving follow it): the opening entries (origin
OPENING) of year Y hold, per account of classes 0-5 and per third party on the collective
accounts 400/440, the closing balance of the previous year P over P's REAL entries; the net of
classes 6-7 of P goes to 140 (profit, credit) or 141 (loss, debit). An ARCHIVED year P keeps
one balance OD (origin ARCHIVE_BALANCE) carrying those balances, so the rule still holds for
the year after it. An ARCHIVED year's own opening is not checked (it was folded into its OD).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite as sqlite_dialect

from msde_tui.engine.accounting import schema
from msde_tui.engine.errors import ConnectionFailed, DossierDamaged

if TYPE_CHECKING:
    from pathlib import Path

    from msde_tui.engine.catalog import Dossier

# Reported by ``check``, but no damage: an entry not validated yet is a draft (operations that
# refuse a damaged dossier, like the cut, go on; its year's FEC can only be provisional).
NOT_DAMAGE = frozenset({"unvalidated"})

MAX_PER_KIND = 200  # problems listed per kind; one more Problem says how many were left out

PROFIT_CARRIED = "140"
LOSS_CARRIED = "141"


@dataclass(frozen=True)
class Problem:
    kind: str
    message: str
    table: str | None = None
    row_id: int | None = None
    entry_id: int | None = None
    fiscal_year: str | None = None
    journal: str | None = None
    number: int | None = None


# ---------------------------------------------------------------------------- running queries


class _Runner:
    """Runs Core statements on a SQLAlchemy connection or directly on a sqlite3 connection.

    A sqlite3 connection is used as is (statements compiled for SQLite): no transaction is
    begun or rolled back on it, so the caller's pending work is left alone.
    """

    def __init__(self, conn: sqlite3.Connection | sa.Connection) -> None:
        self.conn = conn
        self.dialect = sqlite_dialect.dialect(paramstyle="qmark")

    def rows(self, stmt: sa.Select[Any]) -> list[tuple[Any, ...]]:
        if isinstance(self.conn, sa.Connection):
            return [tuple(r) for r in self.conn.execute(stmt)]
        compiled = stmt.compile(dialect=self.dialect, compile_kwargs={"render_postcompile": True})
        params = compiled.construct_params()
        positional = [params[name] for name in compiled.positiontup or ()]
        return self.conn.execute(str(compiled), positional).fetchall()


@contextmanager
def _runner(conn: sqlite3.Connection | sa.Connection | sa.Engine) -> Iterator[_Runner]:
    if isinstance(conn, sa.Engine):
        with conn.connect() as sa_conn:
            yield _Runner(sa_conn)
    elif isinstance(conn, sa.Connection | sqlite3.Connection):
        yield _Runner(conn)
    else:
        raise TypeError(f"check_dossier needs a database connection, not {type(conn).__name__}")


# ---------------------------------------------------------------------------- the checks

_e, _l, _a, _f, _j = schema.entry, schema.entry_line, schema.account, schema.fiscal_year, schema.journal


def _entry_context(run: _Runner, ids: Sequence[int]) -> dict[int, tuple[str | None, str | None, int]]:
    """entry id -> (fiscal year code, journal code, number) for the given entries."""
    if not ids:
        return {}
    stmt = (
        sa.select(_e.c.id, _f.c.code, _j.c.code, _e.c.number)
        .select_from(
            _e.outerjoin(_f, _f.c.id == _e.c.fiscal_year_id).outerjoin(_j, _j.c.id == _e.c.journal_id)
        )
        .where(_e.c.id.in_(list(ids)))
    )
    return {r[0]: (r[1], r[2], r[3]) for r in run.rows(stmt)}


def _where(fy: str | None, journal: str | None, number: int | None) -> str:
    if fy is None and journal is None:
        return ""
    return f" ({journal or '?'} {number} of {fy or '?'})"


def _limited(run: _Runner, stmt: sa.Select) -> tuple[list[tuple[Any, ...]], int]:
    """Up to MAX_PER_KIND rows, and how many more there are."""
    rows = run.rows(stmt.limit(MAX_PER_KIND + 1))
    if len(rows) <= MAX_PER_KIND:
        return rows, 0
    total = run.rows(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))[0][0]
    return rows[:MAX_PER_KIND], int(total) - MAX_PER_KIND


def _more(kind: str, more: int) -> list[Problem]:
    if not more:
        return []
    return [Problem(kind, f"... and {more} more problem(s) of this kind not listed.")]


def _entry_problems(run: _Runner, kind: str, stmt: sa.Select, text: str) -> list[Problem]:
    """Problems about entries: ``stmt`` selects the entry id first, then values for ``text``."""
    rows, more = _limited(run, stmt)
    context = _entry_context(run, [r[0] for r in rows])
    out = []
    for row in rows:
        fy, journal, number = context.get(row[0], (None, None, None))
        message = f"Entry {row[0]}{_where(fy, journal, number)} " + text.format(*row[1:])
        out.append(Problem(kind, message, "entry", row[0], row[0], fy, journal, number))
    return out + _more(kind, more)


def _bad_amounts(run: _Runner) -> list[Problem]:
    stmt = (
        sa.select(_l.c.id, _l.c.entry_id, _l.c.debit, _l.c.credit)
        .where(sa.or_(_l.c.debit < 0, _l.c.credit < 0, sa.and_(_l.c.debit != 0, _l.c.credit != 0)))
        .order_by(_l.c.id)
    )
    rows, more = _limited(run, stmt)
    out = [
        Problem(
            "bad_amount",
            f"Line {lid} of entry {eid} has debit {debit} and credit {credit} "
            "(amounts must be >= 0 and on one side only).",
            "entry_line", lid, eid,
        )
        for lid, eid, debit, credit in rows
    ]
    return out + _more("bad_amount", more)


def _unbalanced(run: _Runner) -> list[Problem]:
    debit, credit = sa.func.sum(_l.c.debit), sa.func.sum(_l.c.credit)
    stmt = (
        sa.select(_l.c.entry_id, debit, credit)
        .group_by(_l.c.entry_id)
        .having(debit != credit)
        .order_by(_l.c.entry_id)
    )
    return _entry_problems(run, "unbalanced", stmt,
                           "is unbalanced: debit {0} != credit {1} (cents).")


def _empty_entries(run: _Runner) -> list[Problem]:
    has_line = sa.exists().where(_l.c.entry_id == _e.c.id)
    stmt = sa.select(_e.c.id).where(~has_line).order_by(_e.c.id)
    return _entry_problems(run, "empty_entry", stmt, "has no lines.")


def _outside_year(run: _Runner) -> list[Problem]:
    stmt = (
        sa.select(_e.c.id, sa.func.count(_l.c.id))
        .select_from(_e.join(_f, _f.c.id == _e.c.fiscal_year_id).outerjoin(_l, _l.c.entry_id == _e.c.id))
        .where(sa.or_(_e.c.entry_date < _f.c.start_date, _e.c.entry_date > _f.c.end_date))
        .group_by(_e.c.id)
        .order_by(_e.c.id)
    )
    return _entry_problems(run, "outside_year", stmt,
                           "is dated outside its fiscal year ({0} line(s)).")


def _dangling(run: _Runner) -> list[Problem]:
    out: list[Problem] = []
    for table in schema.TABLES:
        fks = sorted(table.foreign_keys, key=lambda f: f.parent.name)
        if not fks or not _any_dangling(run, table, fks):
            continue  # one pass over the table said every reference is fine
        for fk in fks:
            child = fk.parent
            parent_col = fk.column
            parent = parent_col.table.alias("parent_row")
            target = parent.c[parent_col.name]
            owner = table.c.id if table is _e else table.c.get("entry_id", sa.null())
            stmt = (
                sa.select(table.c.id, child, owner)
                .select_from(table.outerjoin(parent, target == child))
                .where(child.is_not(None), target.is_(None))
                .order_by(table.c.id)
            )
            rows, more = _limited(run, stmt)
            for row_id, value, entry_id in rows:
                out.append(Problem(
                    "dangling_reference",
                    f"{table.name} {row_id}: {child.name} = {value} points at no "
                    f"{parent_col.table.name} row.",
                    table.name, row_id, entry_id,
                ))
            out += _more("dangling_reference", more)
    return out


def _any_dangling(run: _Runner, table: sa.Table, fks: list[sa.ForeignKey]) -> bool:
    """True when some row of ``table`` points at no parent row, for any of ``fks``.

    One scan of the table with a NOT IN per reference (SQLite answers each from the
    parent's key), instead of one outer join per reference.
    """
    tests = []
    for fk in fks:
        target = fk.column
        parents = sa.select(target)
        if target.nullable:
            parents = parents.where(target.is_not(None))
        tests.append(sa.and_(fk.parent.is_not(None), fk.parent.not_in(parents)))
    return bool(run.rows(sa.select(sa.literal(1)).where(sa.or_(*tests)).limit(1)))


def _numbering(run: _Runner) -> list[Problem]:
    out: list[Problem] = []
    names = sa.select(_e.c.fiscal_year_id, _e.c.journal_id, _f.c.code, _j.c.code).select_from(
        _e.outerjoin(_f, _f.c.id == _e.c.fiscal_year_id).outerjoin(_j, _j.c.id == _e.c.journal_id)
    )
    count = sa.func.count()
    dup = (
        sa.select(_e.c.fiscal_year_id, _e.c.journal_id, _e.c.number, _e.c.kind, count)
        .group_by(_e.c.fiscal_year_id, _e.c.journal_id, _e.c.kind, _e.c.number)
        .having(count > 1)
        .order_by(_e.c.fiscal_year_id, _e.c.journal_id, _e.c.number)
    )
    rows, more = _limited(run, dup)
    label = {(r[0], r[1]): (r[2], r[3]) for r in run.rows(names.distinct())} if rows else {}
    for fy_id, jid, number, kind, times in rows:
        fy, journal = label.get((fy_id, jid), (None, None))
        which = "" if kind == "REAL" else f" ({str(kind).lower()} entries)"
        out.append(Problem(
            "duplicate_number",
            f"Number {number} is used {times} times in journal {journal or jid}{which} of "
            f"{fy or fy_id}.",
            "entry", None, None, fy, journal, number,
        ))
    out += _more("duplicate_number", more)

    distinct = sa.func.count(sa.distinct(_e.c.number))
    low, high = sa.func.min(_e.c.number), sa.func.max(_e.c.number)
    gaps = (
        sa.select(_f.c.id, _j.c.id, _f.c.code, _j.c.code, low, high, distinct)
        .select_from(_e.join(_f, _f.c.id == _e.c.fiscal_year_id).join(_j, _j.c.id == _e.c.journal_id))
        .where(_f.c.status != "ARCHIVED", _e.c.kind == "REAL")
        .group_by(_f.c.id, _j.c.id, _f.c.code, _j.c.code)
        .having(sa.or_(low != 1, high != distinct))
        .order_by(_f.c.code, _j.c.code)
    )
    rows, more = _limited(run, gaps)
    for fy_id, jid, fy, journal, first, last, n in rows:
        missing, n_missing = _missing_numbers(run, fy_id, jid, int(last))
        shown = ", ".join(str(m) for m in missing) + (
            f", … (+{n_missing - len(missing)})" if n_missing > len(missing) else "")  # no words:
        # the message is translated where shown (engine.words), its values as they are
        out.append(Problem(
            "number_gap",
            f"Journal {journal} of {fy} has {n} real entries numbered {first} to {last}: "
            f"number(s) {shown or 'below 1'} missing (numbering must run 1..N without gaps).",
            "entry", None, None, fy, journal, missing[0] if missing else None,
        ))
    return out + _more("number_gap", more)


def _missing_numbers(run: _Runner, fy_id: int, journal_id: int, last: int) -> tuple[list[int], int]:
    """The first ten of the numbers 1..last no REAL entry of (fiscal year, journal) holds,
    and how many there are."""
    used = {
        int(r[0]) for r in run.rows(
            sa.select(_e.c.number).where(
                _e.c.fiscal_year_id == fy_id, _e.c.journal_id == journal_id, _e.c.kind == "REAL"
            )
        )
    }
    count = max(last, 0) - len({u for u in used if 1 <= u <= last})
    shown: list[int] = []
    for number in range(1, max(last, 0) + 1):
        if len(shown) == 10:
            break
        if number not in used:
            shown.append(number)
    return shown, count


def _unvalidated(run: _Runner) -> list[Problem]:
    archived = sa.select(_f.c.id).where(_f.c.status == "ARCHIVED")
    stmt = (
        sa.select(_e.c.id, _e.c.entry_date)
        .where(_e.c.kind == "REAL", _e.c.valid_date.is_(None), _e.c.fiscal_year_id.not_in(archived))
        .order_by(_e.c.id)
    )
    return _entry_problems(
        run, "unvalidated", stmt,
        "dated {0} was never validated (a draft): validate it, or the FEC of its year can "
        "only be provisional.",
    )


# ---------------------------------------------------------------------------- opening rule

Key = tuple[int, int | None]  # (account id, third party id on collective accounts)


@dataclass
class YearBalances:
    """Per fiscal year: closing balances of classes 0-5, result of 6-7, opening entry nets."""

    closing: dict[Key, int]
    result: int
    opening: dict[Key, int]
    has_opening: bool


def year_balances(conn: sqlite3.Connection | sa.Connection | sa.Engine) -> dict[int, YearBalances]:
    """Balances of every fiscal year (REAL entries), keyed by fiscal year id, in one query."""
    with _runner(conn) as run:
        return _year_balances(run)


def _year_balances(run: _Runner) -> dict[int, YearBalances]:
    # One lean grouped pass over the REAL lines (no account join, no per-row CASE); the
    # class and collective account rules are applied to the ~10^4 groups in Python, and the
    # opening entries' own nets come from a second query that only reads their few lines.
    accounts = {
        account_id: (number, class_no)
        for account_id, number, class_no in run.rows(sa.select(_a.c.id, _a.c.number, _a.c.class_no))
    }
    net = sa.func.sum(_l.c.debit - _l.c.credit)
    keys = (_e.c.fiscal_year_id, _l.c.account_id, _l.c.third_party_id)
    lines = _l.join(_e, _e.c.id == _l.c.entry_id)
    real = sa.select(*keys, net).select_from(lines).where(_e.c.kind == "REAL").group_by(*keys)
    opening = real.where(_e.c.origin == "OPENING")

    def key(account_id: int, number: str, tp: int | None) -> Key:
        return (account_id, tp if schema.is_collective(number) else None)

    years: dict[int, YearBalances] = defaultdict(lambda: YearBalances({}, 0, {}, False))
    for fy_id, account_id, tp, total in run.rows(real):
        if account_id not in accounts:
            continue  # a dangling account: reported by _dangling
        number, class_no = accounts[account_id]
        year = years[fy_id]
        total = int(total or 0)
        if class_no is not None and class_no >= 6:
            year.result += total
        elif total:
            k = key(account_id, number, tp)
            year.closing[k] = year.closing.get(k, 0) + total
    for fy_id, account_id, tp, total in run.rows(opening):
        if account_id not in accounts:
            continue
        total = int(total or 0)
        if total:
            year = years[fy_id]
            k = key(account_id, accounts[account_id][0], tp)
            year.opening[k] = year.opening.get(k, 0) + total
    # an opening entry (even one whose lines all net to zero) marks the year as opened
    present = sa.select(_e.c.fiscal_year_id).where(_e.c.origin == "OPENING", _e.c.kind == "REAL")
    for (fy_id,) in run.rows(present.distinct()):
        years[fy_id].has_opening = True
    return dict(years)


def expected_opening(previous: YearBalances, carry_accounts: tuple[int | None, int | None]
                     ) -> dict[Key, int]:
    """The opening nets a year must have after ``previous``: classes 0-5 + result to 140/141."""
    expected = dict(previous.closing)
    profit_id, loss_id = carry_accounts
    if previous.result:
        carry = profit_id if previous.result < 0 else loss_id
        key = (carry if carry is not None else -1, None)
        expected[key] = expected.get(key, 0) + previous.result
    return {k: v for k, v in expected.items() if v}


def _opening(run: _Runner) -> list[Problem]:
    years = run.rows(sa.select(_f.c.id, _f.c.code, _f.c.status).order_by(_f.c.start_date, _f.c.id))
    if len(years) < 2:
        return []
    balances = _year_balances(run)
    numbers = dict(run.rows(sa.select(_a.c.id, _a.c.number)))
    by_number = {v: k for k, v in numbers.items()}
    carry = (by_number.get(PROFIT_CARRIED), by_number.get(LOSS_CARRIED))
    tp_codes = dict(run.rows(sa.select(schema.third_party.c.id, schema.third_party.c.code)))
    empty = YearBalances({}, 0, {}, False)
    out: list[Problem] = []
    for (_pid, _pcode, _pstatus), (fy_id, code, status) in zip(years, years[1:], strict=False):
        if status == "ARCHIVED":
            continue
        previous = balances.get(_pid, empty)
        current = balances.get(fy_id, empty)
        expected = expected_opening(previous, carry)
        actual = {k: v for k, v in current.opening.items() if v}
        if not current.has_opening:
            if expected:
                out.append(Problem(
                    "missing_opening",
                    f"Fiscal year {code} has no opening entry, but {_pcode} left "
                    f"{len(expected)} non-zero balance(s) to carry forward.",
                    "fiscal_year", fy_id, None, code,
                ))
            continue
        if expected == actual:
            continue
        diffs = []
        for key in sorted(set(expected) | set(actual), key=lambda k: (k[0], k[1] or 0)):
            want, have = expected.get(key, 0), actual.get(key, 0)
            if want != have:
                account = numbers.get(key[0], "140/141 (missing account)")
                who = f"/{tp_codes.get(key[1], key[1])}" if key[1] is not None else ""
                diffs.append(f"{account}{who}: expected {want}, found {have}")
        shown = "; ".join(diffs[:5]) + (f"; ... {len(diffs) - 5} more" if len(diffs) > 5 else "")
        out.append(Problem(
            "opening_mismatch",
            f"The opening of {code} does not match the closing balances of {_pcode} "
            f"({len(diffs)} difference(s), in cents: {shown}).",
            "fiscal_year", fy_id, None, code,
        ))
    return out


# ---------------------------------------------------------------------------- entry point


def check_dossier(conn: sqlite3.Connection | sa.Connection | sa.Engine) -> list[Problem]:
    """Every integrity problem found in the dossier; an empty list means healthy."""
    with _runner(conn) as run:
        problems: list[Problem] = []
        for step in (_bad_amounts, _unbalanced, _empty_entries, _outside_year, _dangling,
                     _numbering, _unvalidated, _opening):
            problems += step(run)
        return problems


def check_listed(home: Path, record: Dossier, password: str | None = None) -> list[Problem]:
    """``check_dossier`` on a dossier of the list: its embedded file opened read-only, or its
    SQL Server database through its connection profile (``password`` given by the caller).

    A file or database that is no accounting dossier (or is damaged): ``DossierDamaged``; a
    server that cannot be reached: ``ConnectionFailed``."""
    if record.is_embedded:
        from msde_tui.engine.backends.embedded import dossier as embedded

        conn = embedded.connect(record.path(home), readonly=True)
        try:
            return check_dossier(conn)
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:  # non-UTF-8: a damaged schema
            raise DossierDamaged(
                f"{record.code} cannot be checked: {exc}.",
                "It is not an accounting dossier or its file is damaged; restore a backup.",
            ) from exc
        finally:
            conn.close()
    from msde_tui.engine.backends.mssql.database import mssql_engine

    engine = mssql_engine(record.profile or "", record.location, home, password)
    try:
        return check_dossier(engine)
    except sa.exc.OperationalError as exc:
        raise ConnectionFailed(
            f"Cannot check {record.location} on {record.profile}: {str(exc).splitlines()[0]}",
            "Check the server, the profile and the password.",
        ) from exc
    except sa.exc.SQLAlchemyError as exc:
        raise DossierDamaged(
            f"{record.code} cannot be checked: {str(exc).splitlines()[0]}",
            "It is not an accounting dossier or a table is damaged.",
        ) from exc
    finally:
        engine.dispose()
