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
   back, renamed); the read-back before the rename is ``paf.verify_paf``'s: every member's
   SHA-256, every chunk decoded, and the FORMAT §7 digest of every table's decoded rows equal
   to the digest of the rows taken from the dossier (the writer digests the rows it decodes
   from the bytes it stores; the read-back checks those bytes' SHA-256 in the file);
   ``content.paf`` holds the years (original status, row counts) and each year's balance
   entry (id, number, lines);
3. delete the years' attachments, lines and entries; insert one OD per year (journal MISC,
   origin ARCHIVE_BALANCE, dated the year's last day, number = next free number in (year, OD
   journal), id above every id ever used so no archived id can be reused); mark the year
   ARCHIVED. Nothing is renumbered;
4. check every kept year's trial balance is identical and every archived year's net balances
   too; then COMMIT. Any failure or kill before COMMIT leaves the dossier as it was (a PAF
   written before the kill is harmless: importing it is refused, its years not being archived).

Import (``lifecycle.unarchive``) reverses it.

The parts live by what they do: ``years`` plans (which years, their rows, their balance
entries), ``paf`` writes, reads and checks the file, ``trialsums`` sums every year's trial
balance from the rows read for it, ``balance`` writes and checks the balance entries in the
dossier; this module runs them in one transaction. Steps 1–2 run in a thread of their own
(``_PafWriter``) from a read-only snapshot; on a WAL dossier the delete of step 3, and the kept
years' side of step 4, run meanwhile in the transaction, which nothing commits before the PAF
is published (docs/OPERATIONS.md, Archive).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from msde_tui.engine import naming
from msde_tui.engine.accounting import ledger, schema
from msde_tui.engine.accounting.ledger import BalanceLine
from msde_tui.engine.errors import BackupInvalid, BadInput, DossierDamaged, PackError
from msde_tui.engine.events import Emit
from msde_tui.engine.lifecycle import balance
from msde_tui.engine.lifecycle.paf import ARCHIVE_TABLES, LINE_FIELDS, PAF_SCHEMA, write_paf
from msde_tui.engine.lifecycle.trialsums import TrialSums
from msde_tui.engine.lifecycle.years import (
    YearsPlan,
    dossier_info,
    plan_balance_entries,
    plan_years,
)
from msde_tui.engine.reporting import Reporter
from msde_tui.engine.tables.database import Database

BATCH = 5_000
# the detail of the replace and check steps of a WAL dossier, reported once the PAF is published
WHILE_WRITTEN = "done while the PAF was written"


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


def _cursor_rows(
    dbapi: Any, sql: str, counter: list[int], on_rows: Callable[[int], None]
) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of ``sql`` in batches from a SQLite DB-API connection, counted in ``counter``
    and told to ``on_rows`` (dates stay ISO text: Arrow parses them, ``paf.write_paf``)."""
    cursor = dbapi.cursor()
    try:
        cursor.execute(sql)
        while batch := cursor.fetchmany(BATCH):
            counter[0] += len(batch)
            yield batch
            on_rows(len(batch))
    finally:
        cursor.close()


def _arrow_rows(
    db: Database,
    table: sa.Table,
    column: str,
    wanted: Callable[[], pa.Array],
    counter: list[int],
    on_rows: Callable[[int], None],
    every: Callable[[pa.RecordBatch], None],
    seen: list[pa.Array] | None = None,
) -> Iterator[pa.RecordBatch]:
    """The rows of ``table`` whose ``column`` is one of ``wanted()``, in id order, as Arrow
    batches: the whole table read the Arrow-native way (``tables.reads``: every value's
    storage class checked, no Python row), each batch given to ``every``, the years' rows kept
    by Arrow. ``seen`` collects the ids kept. A value the reader refuses is the dossier's
    damage, said so."""
    batches = db.read(PAF_SCHEMA.table(table.name))
    keep: pa.Array | None = None
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except PackError as exc:  # raised by the reading only, never by the writer's side
            raise DossierDamaged(exc.message, "Run 'msde check' on the dossier; nothing was changed.") from exc
        every(batch)
        if keep is None:
            keep = wanted()
        mask = pc.is_in(batch.column(column), value_set=keep)
        kept = pc.sum(mask).as_py() or 0
        # the years' rows mostly come as whole batches (ids grow with time): kept as they are,
        # not copied by a filter
        part = batch if kept == batch.num_rows else batch.filter(mask) if kept else batch.slice(0, 0)
        if part.num_rows:
            counter[0] += part.num_rows
            if seen is not None:  # a copy: the batch's own column would keep the whole batch alive
                seen.append(pa.array(np.array(part.column("id").to_numpy(), copy=True)))
            yield part
            on_rows(part.num_rows)


class _PafWriter:
    """Writes the PAF in a thread of its own (``run``), from a read-only connection whose
    snapshot is taken first (``ready``): entries and lines the Arrow-native way (every value's
    storage class checked, every row summed into ``sums``), attachments filtered by
    ``attachments`` (SQL). Once the rows are written (``rows_written``, ``counts`` final) it
    waits for its description (``described``, set by the archive's thread, or failed to stop
    it), then reads the file back, checks it and publishes it. The write lock held by the
    archive's transaction means no one can commit meanwhile (and ``tables`` refuses a dossier
    changed under it)."""

    def __init__(self, path: Path, target: Path, guid: str, year_ids: list[int], attachments: str,
                 counts: dict[str, list[int]], sums: TrialSums, report: Reporter, rows: int) -> None:
        self.path, self.target, self.guid, self.year_ids = path, target, guid, year_ids
        self.attachments, self.counts, self.sums, self.report, self.rows = attachments, counts, sums, report, rows
        self.ready, self.rows_written = threading.Event(), threading.Event()
        self.described: Future[dict[str, Any]] = Future()

    @staticmethod
    def wait(event: threading.Event, future: Future[int]) -> None:
        """Until ``event`` is set, or the writer failed (its error raised here)."""
        while not event.wait(0.05):
            if future.done():
                future.result()
                raise RuntimeError("The PAF writer ended before its time.")

    def content(self) -> dict[str, Any]:
        self.rows_written.set()
        return self.described.result()

    def run(self) -> int:
        report, counts = self.report, self.counts
        with Database.open_sqlite(self.path, readonly=True) as db:
            db.begin()
            db.adbc_connection()  # both connections' snapshot taken here, before any change
            db.execute("SELECT count(*) FROM sqlite_master").close()
            self.ready.set()
            entry_ids: list[pa.Array] = []
            year_ids = pa.array(self.year_ids, pa.int64())
            tables: list[tuple[sa.Table, Iterable[Any]]] = [
                (schema.entry, _arrow_rows(db, schema.entry, "fiscal_year_id", lambda: year_ids,
                                           counts["entry"], report.rows, self.sums.entries, entry_ids)),
                (schema.entry_line, _arrow_rows(
                    db, schema.entry_line, "entry_id",
                    lambda: pa.concat_arrays(entry_ids) if entry_ids else pa.array([], pa.int64()),
                    counts["entry_line"], report.rows, self.sums.lines)),
                (schema.attachment, _cursor_rows(db.dbapi, self.attachments, counts["attachment"], report.rows)),
            ]
            size, _digests = write_paf(
                self.target, self.content, tables, expect_guid=self.guid, on_rows=report.rows,
                on_verify=lambda: report.step("verify", str(self.target), rows=self.rows),
            )
            return size


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

def _check_after(conn: sa.Connection, before: dict[str, list[tuple[str, str | None, int, int]]],
                 kept: dict[int, list[BalanceLine]] | None, year_ids: list[int], plan: YearsPlan) -> None:
    """Step 4: the trial balances read from the dossier once changed against ``before`` — the
    kept years' already read (``kept``) or, when None, every year's read now."""
    if kept is None:
        after = ledger.all_trial_balances(conn)
    else:
        now_archived = ledger.trial_balances(conn, year_ids)
        after = {y.code: ledger.comparable((now_archived if y.id in year_ids else kept).get(y.id, []))
                 for y in ledger.fiscal_years(conn)}
    balance.check_balances(before, after, {y.code for y in plan.years}, "archive")


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
    its internal code. Reports through ``emit`` (``engine.reporting``), its events named
    ``label`` (by default ``number + short``): read, write and verify (rows counted), replace, check, commit, done."""
    started = time.monotonic()
    directory = Path(directory)
    if not directory.is_dir():
        raise BadInput(f"The directory {directory} does not exist.", "Create it or choose another one.")
    engine = ledger.open_engine(path, exclusive=True)
    # the PAF writer's future: done without error means our PAF is published, and it is removed
    # again unless the dossier commits (decided once the writer has stopped, whatever stopped us)
    published: Future[int] | None = None
    committed = False
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="msde-paf")
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
                # Every year's trial balance (the balance entries, and the "before" of the check)
                # is summed from the entries and lines as they are read below, all years' (the
                # "after" is summed by SQLite from the dossier once changed)
                sums = TrialSums()
                year_ids = [y.id for y in plan.years]
                expected = {t.name: sum(plan.counts[y][t.name] for y in year_ids) for t in ARCHIVE_TABLES}
                counts: dict[str, list[int]] = {t.name: [0] for t in ARCHIVE_TABLES}  # rows read
                rows = sum(expected.values())
                target = _free_name(directory, number, short, (now or datetime.now()).replace(microsecond=0))
                attachments = str(year_rows(conn, schema.attachment, year_ids).compile(
                    dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
                # WAL: the writer's changes are invisible to a reader until COMMIT (SQLite's wal
                # section 2.2), so the details may be deleted while the PAF is being written
                early = str(conn.exec_driver_sql("PRAGMA journal_mode").scalar()).lower() == "wal"
                paf = _PafWriter(Path(path), target, info.guid, year_ids, attachments, counts, sums, report, rows)
                step("write", str(target), rows=rows)
                future = published = pool.submit(paf.run)
                try:
                    paf.wait(paf.ready, future)  # its snapshot is taken: this transaction may change
                    kept: dict[int, list[BalanceLine]] = {}
                    if early:
                        balance.delete_years(conn, plan.years, lines=expected["entry_line"])
                        # the kept years' side of the check's "after", read from the dossier once
                        # changed (the balance entries inserted later go to the archived years:
                        # one put elsewhere would change an archived year's balances, checked)
                        kept = ledger.trial_balances(conn, [y.id for y in ledger.fiscal_years(conn)
                                                            if y.id not in year_ids])
                    paf.wait(paf.rows_written, future)
                    if {name: c[0] for name, c in counts.items()} != expected:
                        raise DossierDamaged("The dossier changed while the PAF was written; nothing changed.")
                    every = sums.balances(conn)
                    plan_balance_entries(plan, every)
                    before = {y.code: ledger.comparable(every.get(y.id, [])) for y in ledger.fiscal_years(conn)}
                    paf.described.set_result(_content(plan, info, number, short, path))
                    if early:  # while the PAF is read back: nothing commits before it is published
                        balance.insert_balances(conn, plan.years, plan.od, plan.journal_id, target.name)
                        _check_after(conn, before, kept, year_ids, plan)
                except BaseException as exc:
                    if not paf.described.done():
                        paf.described.set_exception(exc)  # the writer stops, its PAF unpublished
                    wait([future])
                    raise
                try:
                    size = future.result()  # read back and checked once, published
                except PackError as exc:
                    raise BackupInvalid(exc.message, exc.hint) from exc
                if early:  # said now, done while the PAF was written and read back
                    step("replace", WHILE_WRITTEN)
                    step("check", WHILE_WRITTEN)
                else:
                    step("replace")
                    balance.delete_years(conn, plan.years, lines=expected["entry_line"])
                    balance.insert_balances(conn, plan.years, plan.od, plan.journal_id, target.name)
                    step("check")
                    _check_after(conn, before, None, year_ids, plan)
                step("commit")
            committed = True
            step("done", str(target))
    finally:
        pool.shutdown(wait=True)  # the writer's connections closed before this one's is
        engine.dispose()
        if (not committed and published is not None and published.done() and not published.cancelled()
                and published.exception() is None):
            # the dossier kept its years: a PAF that verifies would claim an archive never made
            target.unlink(missing_ok=True)
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

