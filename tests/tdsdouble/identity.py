"""IDENTITY columns: generated values, SET IDENTITY_INSERT and the checks SQL Server makes.

A column declared ``IDENTITY(seed, increment)`` keeps that property in the stored DDL
(ddl.py). SQLite knows nothing of it, so the double handles INSERTs into such a table:

- IDENTITY_INSERT OFF (the default): the column must be left out (else 544); the statement
  is rewritten to add it, numbered from the current identity value —
  ``INSERT INTO t (a, [id]) SELECT *, base + inc * ROW_NUMBER() OVER () FROM (<VALUES or
  SELECT>)``. The current value is ``MAX(id)`` (``MIN`` for a negative increment), or
  ``seed - increment`` in an empty table: like SQL Server, except that SQL Server also
  remembers values of rows deleted or rolled back since.
- ``SET IDENTITY_INSERT t ON`` (one table per session, 8107; only a table with an identity
  column, 8106): the column must be given (545) with a column list (8101).

``@@IDENTITY`` and ``SCOPE_IDENTITY()`` give the last value generated in the session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.tdsdouble import schemaviews
from tests.tdsdouble.messages import SqlError, msg
from tests.tdsdouble.sql import Cursor, Tok, quote_sqlite, source, syntax_error, tokenize

if TYPE_CHECKING:
    from tests.tdsdouble.schemaviews import ColumnInfo, TableInfo
    from tests.tdsdouble.session import Session


def _bracket(name: str) -> str:
    return "[" + name.replace("]", "]]") + "]"


def _table(session: Session, parts: list[str]) -> TableInfo | None:
    """The current database's table named by ``parts`` (None for another database's)."""
    if len(parts) >= 3 and parts[-3].lower() != session.database.name.lower():
        return None
    return schemaviews.model(session).by_name(parts[-1])


def _identity_column(table: TableInfo | None) -> ColumnInfo | None:
    if table is None:
        return None
    return next((c for c in table.columns if c.identity is not None), None)


def set_identity_insert(session: Session, cur: Cursor) -> None:
    """``SET IDENTITY_INSERT [db.][schema.]table ON | OFF`` (after ``SET IDENTITY_INSERT``)."""
    parts = cur.dotted()
    switch = cur.next()
    if not switch.is_word("ON", "OFF"):
        raise syntax_error(switch)
    name = ".".join(parts)
    table = schemaviews.model(session).by_name(parts[-1])
    if table is None or table.type != "U":
        raise SqlError(msg(1088, name))
    if _identity_column(table) is None:
        raise SqlError(msg(8106, parts[-1]))
    key = (session.database.name.lower(), table.name.lower())
    if switch.value == "OFF":
        if session.identity_insert == key:
            session.identity_insert = None
        return
    if session.identity_insert not in (None, key):
        db, other = session.identity_insert  # type: ignore[misc]
        raise SqlError(msg(8107, f"{db}.dbo.{other}", parts[-1]))
    session.identity_insert = key


def prepare_insert(session: Session, toks: list[Tok]) -> tuple[list[Tok], tuple[int, int] | None]:
    """An INSERT as it must run on SQLite, and (current identity, increment) if values are made."""
    i = 1
    if i < len(toks) and toks[i].is_word("INTO"):
        i += 1
    parts: list[str] = []
    while i < len(toks) and toks[i].name is not None:
        parts.append(toks[i].name or "")
        i += 1
        if i < len(toks) and toks[i].text == ".":
            i += 1
        else:
            break
    table = _table(session, parts) if parts else None
    ident = _identity_column(table)
    if table is None or ident is None or ident.identity is None:
        return toks, None
    target = source(toks[:i])
    columns: list[str] | None = None
    if i < len(toks) and toks[i].text == "(" and i + 1 < len(toks) and toks[i + 1].name is not None:
        if not toks[i + 1].is_word("SELECT", "WITH", "VALUES"):
            cur = Cursor(toks[i + 1 :])
            columns = [cur.name()]
            while cur.accept(","):
                columns.append(cur.name())
            cur.expect(")")
            i += 1 + cur.i
    rest = toks[i:]
    named = [c.lower() for c in columns or []]
    if session.identity_insert == (session.database.name.lower(), table.name.lower()):
        if columns is None:
            raise SqlError(msg(8101, table.name))
        if ident.name.lower() not in named:
            raise SqlError(msg(545, table.name))
        return toks, None
    if ident.name.lower() in named:
        raise SqlError(msg(544, table.name))
    if columns is None and _counts_identity(table, rest):
        raise SqlError(msg(8101, table.name))
    seed, increment = ident.identity
    base = _current(session, table, ident, seed, increment)
    if rest and rest[0].is_word("DEFAULT"):  # DEFAULT VALUES
        sql = f"{target} ({_bracket(ident.name)}) VALUES ({base + increment})"
        return tokenize(sql), (base, increment)
    if columns is None:
        columns = [c.name for c in table.columns if c is not ident]
    listed = ", ".join(_bracket(c) for c in [*columns, ident.name])
    sql = (
        f"{target} ({listed}) SELECT *, {base} + {increment} * (ROW_NUMBER() OVER ()) "
        f"FROM ({source(rest)}) AS tds_rows"
    )
    return tokenize(sql), (base, increment)


def _counts_identity(table: TableInfo, rest: list[Tok]) -> bool:
    """INSERT without a column list whose rows have a value for every column (identity too)."""
    if not rest or not rest[0].is_word("VALUES") or len(rest) < 2 or rest[1].text != "(":
        return False
    depth = 0
    values = 1
    for tok in rest[2:]:
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            if depth == 0:
                break
            depth -= 1
        elif tok.text == "," and depth == 0:
            values += 1
    return values == len(table.columns)


def _current(
    session: Session, table: TableInfo, ident: ColumnInfo, seed: int, increment: int
) -> int:
    pick = "MAX" if increment > 0 else "MIN"
    sql = f"SELECT {pick}({quote_sqlite(ident.name)}) FROM main.{quote_sqlite(table.name)}"  # noqa: S608
    value = session.sqlite.execute(sql).fetchone()[0]
    return int(value) if value is not None else seed - increment
