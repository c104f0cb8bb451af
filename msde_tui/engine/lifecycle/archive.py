"""Archiving fiscal years into a PAF, and importing them back (SPEC 5.5, ACCOUNTING.md).

Archive, per dossier, all inside ONE exclusive transaction (``BEGIN IMMEDIATE``: nobody
writes between what is read and what is changed):

1. read the years' rows (``entry``, ``entry_line``, ``attachment``; exact rows, original ids)
   and compute each year's balance OD: per balance key (account; account + third party on
   400/440) the net of the year's REAL entries. Classes 0–5 thus carry the cumulative closing
   balance (the year's opening entry is inside), classes 6–7 the year's movements. The OD sums
   to zero by construction (every entry balances), so no 140/141 line is needed: carrying
   classes 6–7 keeps the archived year's own balances — and with them the next year's
   opening-entry check — exactly as they were;
2. write the PAF (packfmt container, kind PAF, docs/FORMAT.md: written as ``.partial``, read
   back, renamed) and READ IT BACK again here: every member's SHA-256, every chunk decoded, and
   the FORMAT §7 digest of every table's decoded rows equal to the digest of the rows taken
   from the dossier; ``content.paf`` holds the years (original status, row counts) and each
   year's balance entry (id, number, lines);
3. delete the years' attachments, lines and entries; insert one OD per year (journal MISC,
   origin ARCHIVE_BALANCE, dated the year's last day, number = next free number in (year, OD
   journal), id above every id ever used so no archived id can be reused); mark the year
   ARCHIVED. Nothing is renumbered;
4. check every kept year's trial balance is identical and every archived year's net balances
   too; then COMMIT. Any failure or kill before COMMIT leaves the dossier as it was (a PAF
   written before the kill is harmless: importing it is refused, its years not being archived).

Import (``lifecycle.unarchive``) reverses it.

The parts live by what they do: ``years`` plans (which years, their rows, their balance
entries), ``paf`` writes, reads and checks the file, ``balance`` writes and checks the balance
entries in the dossier; this module runs them in that order in one transaction.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from msde_tui.engine import naming
from msde_tui.engine.accounting import ledger, schema
from msde_tui.engine.errors import BackupInvalid, BadInput, DossierDamaged, PackError
from msde_tui.engine.events import Emit
from msde_tui.engine.lifecycle import balance
from msde_tui.engine.lifecycle.paf import ARCHIVE_TABLES, LINE_FIELDS, verify_paf, write_paf
from msde_tui.engine.lifecycle.report import Reporter
from msde_tui.engine.lifecycle.years import YearsPlan, dossier_info, plan_years

BATCH = 5_000


@dataclass(frozen=True)
class ArchivedYear:
    code: str
    year_id: int
    start: date
    end: date
    status: str  # status before archiving (restored on import)
    entries: int
    lines: int
    attachments: int
    balance_entry_id: int | None  # None when every balance of the year was zero
    balance_number: int | None
    balance_lines: int


@dataclass(frozen=True)
class ArchiveResult:
    dossier: str
    paf: Path
    years: tuple[ArchivedYear, ...]
    verified: bool
    size: int
    seconds: float


def year_rows(conn: sa.Connection, table: sa.Table, year_ids: list[int]) -> sa.Select[Any]:
    """SELECT every row of ``table`` (entry, entry_line or attachment) of those years, by id."""
    e = schema.entry
    if table is schema.entry:
        return sa.select(e).where(e.c.fiscal_year_id.in_(year_ids)).order_by(e.c.id)
    in_years = sa.select(e.c.id).where(e.c.fiscal_year_id.in_(year_ids))
    return sa.select(table).where(table.c.entry_id.in_(in_years)).order_by(table.c.id)


def _stream(
    conn: sa.Connection, query: sa.Select[Any], counter: list[int], on_rows: Callable[[int], None]
) -> Iterator[list[tuple[Any, ...]]]:
    """The query's rows in batches, counted in ``counter`` and told to ``on_rows``. On SQLite straight from the driver's cursor (same
    connection, same transaction): dates stay ISO text and Arrow parses them (``_batch``)."""
    if conn.dialect.name == "sqlite":
        sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql)
            while batch := cursor.fetchmany(BATCH):
                counter[0] += len(batch)
                yield batch
                on_rows(len(batch))
        finally:
            cursor.close()
        return
    result = conn.execute(query)
    while rows := result.fetchmany(BATCH):
        counter[0] += len(rows)
        yield [tuple(r) for r in rows]
        on_rows(len(rows))


def _content(plan: YearsPlan, info: sa.Row[Any], number: str, short: str, path: Path) -> dict[str, Any]:
    """The PAF's ``content`` block (docs/FORMAT.md §3); ``tables`` is added by the writer."""
    return {
        "dossier": {
            "guid": info.guid,
            "code": info.code,
            "number": number,
            "short": short,
            "name": info.name,
            "company": info.company,
        },
        "source": {"backend": "embedded", "dialect": "sqlite", "database": Path(path).name},
        "state": None,
        "ptf": None,
        "paf": {
            "fiscal_years": [
                {
                    "id": y.id,
                    "code": y.code,
                    "start": y.start.isoformat(),
                    "end": y.end.isoformat(),
                    "status": y.status,
                    "rows": plan.counts[y.id],
                }
                for y in plan.years
            ],
            "balance_entries": [
                {"fiscal_year_id": y.id, "fiscal_year": y.code}
                | plan.od[y.id]
                | {
                    "line_fields": list(LINE_FIELDS),
                    "lines": [[line[f] for f in LINE_FIELDS] for line in plan.od[y.id]["lines"]],
                }
                for y in plan.years
            ],
        },
    }

def _free_name(directory: Path, number: str, short: str, when: datetime) -> Path:
    """``001-SOC_<stamp>.paf``; a second later when a file of that name exists already."""
    for _ in range(120):
        target = directory / naming.packed_file_name(number, short, "paf", when)
        if not os.path.lexists(target):
            return target
        when += timedelta(seconds=1)
    raise BadInput(f"Too many archives of {number}{short} in {directory} at this time.", "Run it again later.")


@ledger.translate_db_errors
def archive_dossier(
    path: Path,
    years: list[str],
    directory: Path,
    *,
    number: str | None = None,
    short: str | None = None,
    emit: Emit | None = None,
    label: str | None = None,
    now: datetime | None = None,
) -> ArchiveResult:
    """Archive ``years`` of the embedded dossier at ``path`` into a PAF in ``directory``.

    ``number`` and ``short``: the dossier's in the list (they name the PAF), by default those of
    its internal code. Reports through ``emit`` (``lifecycle.report``), its events named
    ``label`` (by default ``number + short``): read, write and verify (rows counted), replace, check, commit, done."""
    started = time.monotonic()
    directory = Path(directory)
    if not directory.is_dir():
        raise BadInput(f"The directory {directory} does not exist.", "Create it or choose another one.")
    engine = ledger.open_engine(path, exclusive=True)
    written: Path | None = None  # the PAF, once published: removed again unless the dossier commits
    committed = False
    try:
        with engine.connect() as conn:
            info = dossier_info(conn)
            code = info.code
            if number is None or short is None:
                parsed = naming.parse_code(code)
                number, short = parsed.number, parsed.short
            report = Reporter(emit, label or f"{number}{short}")
            step = report.step

            conn.rollback()  # end the autobegun read; the real transaction starts here
            with conn.begin():
                step("read")
                plan = plan_years(conn, code, years)
                before = ledger.all_trial_balances(conn)
                content = _content(plan, info, number, short, path)
                target = _free_name(directory, number, short, (now or datetime.now()).replace(microsecond=0))
                year_ids = [y.id for y in plan.years]
                expected = {t.name: sum(plan.counts[y][t.name] for y in year_ids) for t in ARCHIVE_TABLES}
                step("write", str(target), rows=sum(expected.values()))
                counts: dict[str, list[int]] = {t.name: [0] for t in ARCHIVE_TABLES}
                tables = (
                    (t, _stream(conn, year_rows(conn, t, year_ids), counts[t.name], report.rows))
                    for t in ARCHIVE_TABLES
                )
                try:
                    size, digests = write_paf(target, content, tables)
                except PackError as exc:
                    raise BackupInvalid(exc.message, exc.hint) from exc
                written = target
                if {name: c[0] for name, c in counts.items()} != expected:
                    target.unlink(missing_ok=True)
                    raise DossierDamaged("The dossier changed while the PAF was written; nothing changed.")
                step("verify", str(target), rows=sum(expected.values()))
                verify_paf(target, expect_guid=info.guid, expect_digests=digests, on_rows=report.rows)
                step("replace")
                balance.replace_years(conn, plan.years, plan.od, plan.journal_id, target.name)
                step("check")
                after = ledger.all_trial_balances(conn)
                balance.check_balances(before, after, {y.code for y in plan.years}, "archive")
                step("commit")
            committed = True
            step("done", str(target))
    finally:
        engine.dispose()
        if written is not None and not committed:
            # the dossier kept its years: a PAF that verifies would claim an archive never made
            written.unlink(missing_ok=True)
    archived = tuple(
        ArchivedYear(
            code=y.code,
            year_id=y.id,
            start=y.start,
            end=y.end,
            status=y.status,
            entries=plan.counts[y.id]["entry"],
            lines=plan.counts[y.id]["entry_line"],
            attachments=plan.counts[y.id]["attachment"],
            balance_entry_id=plan.od[y.id]["id"],
            balance_number=plan.od[y.id]["number"],
            balance_lines=len(plan.od[y.id]["lines"]),
        )
        for y in plan.years
    )
    return ArchiveResult(code, target, archived, True, size, time.monotonic() - started)

