"""What SQLite's stored CREATE TABLE text tells beyond its PRAGMAs: IDENTITY and constraint names.

SQLite has no IDENTITY property, so :func:`tests.tdsdouble.sql.to_sqlite` keeps
``IDENTITY(seed, increment)`` as a comment in the DDL it runs (``/*tds:IDENTITY(1,1)*/``);
SQLite stores the CREATE TABLE text with its comments in ``sqlite_master.sql``, so the
property survives BACKUP/RESTORE and file copies. PRAGMAs (table_info, index_list,
foreign_key_list) describe columns, keys and references but not the names given to table
constraints (``CONSTRAINT uq_x UNIQUE (a, b)``); :func:`read_table_sql` reads both back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tests.tdsdouble.messages import SqlError
from tests.tdsdouble.sql import IDENTITY_COMMENT_RE, Tok, tokenize

_SENTINEL = "\x00tds-identity"


@dataclass(frozen=True)
class Constraint:
    """A PRIMARY KEY, UNIQUE or FOREIGN KEY clause of a CREATE TABLE (column or table level)."""

    kind: str  # "PRIMARY KEY" | "UNIQUE" | "FOREIGN KEY"
    name: str | None
    columns: tuple[str, ...]
    ref_table: str | None = None


@dataclass
class TableText:
    identity: dict[str, tuple[int, int]] = field(
        default_factory=dict
    )  # lower(column) -> (seed, inc)
    constraints: list[Constraint] = field(default_factory=list)

    def name_of(self, kind: str, columns: list[str], ref_table: str | None = None) -> str | None:
        """The name the DDL gave to the constraint of ``kind`` over ``columns`` (None if unnamed)."""
        want = [c.lower() for c in columns]
        for c in self.constraints:
            if c.kind != kind or [x.lower() for x in c.columns] != want:
                continue
            if ref_table is not None and (c.ref_table or "").lower() != ref_table.lower():
                continue
            return c.name
        return None


def read_table_sql(sql: str | None) -> TableText:
    """Identity columns and named constraints of one ``CREATE TABLE`` text (empty if unreadable)."""
    if not sql:
        return TableText()
    marked = IDENTITY_COMMENT_RE.sub(lambda m: f" [{_SENTINEL} {m.group(1)} {m.group(2)}] ", sql)
    try:
        toks = tokenize(marked)
    except SqlError:  # e.g. `backquoted` names: SQLite accepts them, the T-SQL lexer does not
        return TableText()
    start = next((i for i, t in enumerate(toks) if t.text == "("), None)
    if start is None:  # CREATE TABLE ... AS SELECT
        return TableText()
    text = TableText()
    for item in _items(toks, start):
        _read_item(item, text)
    return text


def _items(toks: list[Tok], start: int) -> list[list[Tok]]:
    """Comma-separated definitions inside the parentheses opened at ``start``."""
    items: list[list[Tok]] = [[]]
    depth = 0
    for tok in toks[start + 1 :]:
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            if depth == 0:
                break
            depth -= 1
        if tok.text == "," and depth == 0:
            items.append([])
            continue
        items[-1].append(tok)
    return [i for i in items if i]


def _names_in_parens(toks: list[Tok], i: int) -> tuple[tuple[str, ...], int]:
    """Column names of ``( a [ASC], b COLLATE x ... )`` starting at ``toks[i] == '('``."""
    names: list[str] = []
    expect_name = True
    depth = 0
    j = i
    while j < len(toks):
        tok = toks[j]
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            depth -= 1
            if depth == 0:
                return tuple(names), j + 1
        elif tok.text == "," and depth == 1:
            expect_name = True
        elif expect_name and depth == 1 and tok.name is not None:
            names.append(tok.name)
            expect_name = False
        j += 1
    return tuple(names), j


def _read_item(item: list[Tok], text: TableText) -> None:
    name: str | None = None
    rest = item
    if item[0].is_word("CONSTRAINT") and len(item) > 2:
        name, rest = item[1].name, item[2:]
    head = rest[0]
    if head.is_word("PRIMARY", "UNIQUE", "FOREIGN"):
        kind = {"PRIMARY": "PRIMARY KEY", "UNIQUE": "UNIQUE", "FOREIGN": "FOREIGN KEY"}[head.value]
        open_at = next((k for k, t in enumerate(rest) if t.text == "("), None)
        if open_at is None:
            return
        columns, after = _names_in_parens(rest, open_at)
        ref = None
        if kind == "FOREIGN KEY":
            ref = next(
                (
                    rest[k + 1].name
                    for k in range(after, len(rest) - 1)
                    if rest[k].is_word("REFERENCES")
                ),
                None,
            )
        text.constraints.append(Constraint(kind, name, columns, ref))
        return
    if head.is_word("CHECK") or name is not None:
        return
    _read_column(item, text)


def _read_column(item: list[Tok], text: TableText) -> None:
    column = item[0].name
    if column is None:
        return
    pending: str | None = None  # the name of the next column constraint (CONSTRAINT x ...)
    k = 1
    while k < len(item):
        tok = item[k]
        following = item[k + 1].name if k + 1 < len(item) else None
        if tok.kind == "ident" and tok.value.startswith(_SENTINEL):
            seed, increment = tok.value.split()[1:3]
            text.identity[column.lower()] = (int(seed), int(increment))
        elif tok.is_word("CONSTRAINT"):
            pending = following
            k += 2
            continue
        elif tok.is_word("PRIMARY", "UNIQUE", "REFERENCES"):
            kind = {"PRIMARY": "PRIMARY KEY", "UNIQUE": "UNIQUE", "REFERENCES": "FOREIGN KEY"}[
                tok.value
            ]
            ref = following if kind == "FOREIGN KEY" else None
            text.constraints.append(Constraint(kind, pending, (column,), ref))
            pending = None
        elif tok.is_word("DEFAULT", "CHECK", "NOT", "NULL", "COLLATE"):
            pending = None
        k += 1


def filter_of(index_sql: str | None) -> str | None:
    """The WHERE clause of a partial index, as SQL Server shows filter_definition: ``(...)``."""
    if not index_sql:
        return None
    m = re.search(r"\bWHERE\b(.*)$", index_sql, re.IGNORECASE | re.DOTALL)
    return f"({m.group(1).strip()})" if m else None
