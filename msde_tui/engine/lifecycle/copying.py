"""Copying a dossier's rows aside, for the cut and the tax-audit transfer.

``year_filters`` selects the rows of some fiscal years and the reference rows they use;
``copy_rows`` copies them (ids kept) while computing their digest, ``table_digest`` reads a
table back for the same digest; ``publish`` gives a finished copy its final name (fsync'd,
never over an existing name).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from msde_tui.engine.accounting import schema
from msde_tui.engine.atomic import publish_file, remove_sqlite
from msde_tui.engine.errors import DossierDamaged, DossierExists

BATCH = 5_000


def feed(digest: Any, row: Iterable[Any]) -> None:
    """Add one row to ``digest`` with a type-tagged, unambiguous encoding."""
    for value in row:
        if value is None:
            digest.update(b"N;")
        elif isinstance(value, bytes | bytearray | memoryview):
            data = bytes(value)
            digest.update(b"B%d:" % len(data))
            digest.update(data)
        elif isinstance(value, bool):
            digest.update(b"T;" if value else b"F;")
        elif isinstance(value, int):
            digest.update(b"I%d;" % value)
        elif isinstance(value, datetime | date):
            digest.update(b"D" + value.isoformat().encode() + b";")
        else:
            text = str(value).encode()
            digest.update(b"S%d:" % len(text))
            digest.update(text)
    digest.update(b"|")


def select_rows(table: sa.Table, where: Any | None) -> sa.Select[Any]:
    query = sa.select(table).order_by(table.c.id)
    return query if where is None else query.where(where)


def count_rows(conn: sa.Connection, table: sa.Table, where: Any | None = None) -> int:
    """How many rows of ``table`` match ``where`` (what a copy's progress counts up to)."""
    query = sa.select(sa.func.count()).select_from(table)
    return int(conn.execute(query if where is None else query.where(where)).scalar() or 0)


def copy_rows(
    src: sa.Connection,
    dst: sa.Connection,
    table: sa.Table,
    where: Any | None,
    on_rows: Callable[[int], None] | None = None,
) -> tuple[str, int]:
    """Copy the rows of ``table`` matching ``where`` (ids kept); return (digest, count).
    ``on_rows`` is told each batch's size as it is written."""
    digest = hashlib.sha256()
    names = [c.name for c in table.columns]
    count = 0
    result = src.execute(select_rows(table, where))
    while batch := result.fetchmany(BATCH):
        rows = [tuple(r) for r in batch]
        for row in rows:
            feed(digest, row)
        dst.execute(table.insert(), [dict(zip(names, row, strict=True)) for row in rows])
        count += len(rows)
        if on_rows is not None:
            on_rows(len(rows))
    return digest.hexdigest(), count


def table_digest(
    conn: sa.Connection, table: sa.Table, where: Any | None = None, on_rows: Callable[[int], None] | None = None
) -> tuple[str, int]:
    """The digest and count of the rows of ``table`` matching ``where``, as ``copy_rows`` gives."""
    digest = hashlib.sha256()
    count = 0
    result = conn.execute(select_rows(table, where))
    while batch := result.fetchmany(BATCH):
        for row in batch:
            feed(digest, tuple(row))
        count += len(batch)
        if on_rows is not None:
            on_rows(len(batch))
    return digest.hexdigest(), count


def year_filters(year_ids: list[int], *, real_only: bool = False) -> dict[str, Any]:
    """WHERE clauses selecting the rows of those years and the reference rows they use."""
    e, el, att = schema.entry, schema.entry_line, schema.attachment
    a, tp, j, v = schema.account, schema.third_party, schema.journal, schema.vat_code
    entry_where: sa.ColumnElement[bool] = e.c.fiscal_year_id.in_(year_ids)
    if real_only:
        entry_where = sa.and_(entry_where, e.c.kind == "REAL")
    entries = sa.select(e.c.id).where(entry_where)
    lines_where = el.c.entry_id.in_(entries)
    used_vat = sa.select(el.c.vat_code_id).where(lines_where, el.c.vat_code_id.is_not(None))
    return {
        "fiscal_year": schema.fiscal_year.c.id.in_(year_ids),
        "account": sa.or_(
            a.c.id.in_(sa.select(el.c.account_id).where(lines_where)),
            a.c.id.in_(sa.select(v.c.account_id).where(v.c.id.in_(used_vat))),
        ),
        "third_party": tp.c.id.in_(
            sa.select(el.c.third_party_id).where(lines_where, el.c.third_party_id.is_not(None))
        ),
        "journal": j.c.id.in_(sa.select(e.c.journal_id).where(entry_where)),
        "vat_code": v.c.id.in_(used_vat),
        "entry": entry_where,
        "entry_line": lines_where,
        "attachment": att.c.entry_id.in_(entries),
    }


def remove_partial(path: Path) -> None:
    remove_sqlite(path)


def publish(tmp: Path, final: Path) -> None:
    """Fold ``tmp``'s WAL into it, fsync it and rename it to ``final`` (which must not exist).

    Every connection to ``tmp`` must be closed: only the main file is renamed."""
    if os.path.lexists(final):
        raise DossierExists(f"{final} already exists.", "Remove it or choose another name.")
    raw = sqlite3.connect(tmp)
    try:
        busy, _log, _done = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        raw.close()
    wal = Path(f"{tmp}-wal")
    if busy or (wal.exists() and wal.stat().st_size):
        raise DossierDamaged(f"{tmp.name} is still in use; nothing was changed.", "Run it again.")
    publish_file(tmp, final)


