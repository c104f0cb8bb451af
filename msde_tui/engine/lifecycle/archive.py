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

Import reverses it: same dossier only (GUID), the OD in the dossier must be the one the PAF
describes; delete it, put every row back with its ids, restore the year's status, check the
year's balances equal the OD's, COMMIT; then optionally delete the PAF.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from msde_tui.engine import naming
from msde_tui.engine.accounting import ledger, schema
from msde_tui.engine.accounting.ledger import FiscalYear
from msde_tui.engine.errors import (
    BackupInvalid,
    BadInput,
    DossierDamaged,
    PackError,
    WrongDossier,
)
from msde_tui.engine.events import Event, Step
from msde_tui.packfmt import (
    ColumnSpec,
    Digest,
    PackReader,
    PackSchema,
    PackWriter,
    TableSpec,
    row_hashes,
)
from msde_tui.packfmt import names as pack_names

ARCHIVE_TABLES: tuple[sa.Table, ...] = (schema.entry, schema.entry_line, schema.attachment)
DEFAULT_AGE = 7
# Fields of a balance entry line in the PAF's content.paf.balance_entries[].lines
LINE_FIELDS = ("id", "line_no", "account_id", "account", "third_party_id", "third_party", "debit", "credit")
BATCH = 5_000
OnEvent = Callable[[Event], None]


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


@dataclass(frozen=True)
class UnarchiveResult:
    dossier: str
    paf: Path
    years: tuple[str, ...]
    entries: int
    lines: int
    attachments: int
    paf_deleted: bool
    seconds: float


@dataclass
class _Plan:
    code: str
    guid: str
    years: list[FiscalYear]
    journal_id: int
    journal_code: str
    od: dict[int, dict[str, Any]] = field(default_factory=dict)  # year id -> balance OD spec
    counts: dict[int, dict[str, int]] = field(default_factory=dict)


# --------------------------------------------------------------------------- PAF container
# The container is packfmt's (docs/FORMAT.md), kind PAF: schema.json describes the three
# tables, their rows are Parquet chunks, ``content.paf`` holds the fiscal years and the
# balance entries, ``content.tables[t].rows_digest`` the FORMAT §7 digest of the rows.


def _portable(column: sa.Column[Any]) -> ColumnSpec:
    kind = column.type
    length = getattr(kind, "length", None)
    if isinstance(kind, sa.LargeBinary):
        name = "blob"
    elif isinstance(kind, sa.DateTime):
        name = "datetime"
    elif isinstance(kind, sa.Date):
        name = "date"
    elif isinstance(kind, sa.BigInteger):
        name = "bigint"
    elif isinstance(kind, sa.Integer):
        name = "integer"
    else:
        name = "text"
    return ColumnSpec(
        name=column.name,
        type=name,
        nullable=bool(column.nullable),
        length=length if name in ("text", "blob") else None,
        identity=bool(column.primary_key),
    )


def _spec(index: int, table: sa.Table) -> TableSpec:
    return TableSpec(
        name=table.name,
        dir=pack_names.table_dir(index, table.name),
        columns=[_portable(c) for c in table.columns],
        primary_key=[c.name for c in table.primary_key.columns],
        foreign_keys=[
            {
                "name": None,
                "columns": [fk.parent.name],
                "ref_table": fk.column.table.name,
                "ref_columns": [fk.column.name],
                "on_delete": None,
            }
            for fk in table.foreign_keys
        ],
    )


PAF_SCHEMA = PackSchema([_spec(i, t) for i, t in enumerate(ARCHIVE_TABLES)])


def _array(values: tuple[Any, ...], kind: pa.DataType) -> pa.Array:
    if pa.types.is_date(kind) or pa.types.is_timestamp(kind):
        if any(isinstance(v, str) for v in values):  # SQLite text dates: parsed by Arrow
            try:
                return pa.array(values, pa.string()).cast(kind)
            except pa.ArrowInvalid as exc:
                raise DossierDamaged(f"A date in the dossier cannot be read ({exc}).", "Run 'msde check'.") from exc
    return pa.array(values, type=kind)


def _batch(rows: list[tuple[Any, ...]], spec: TableSpec) -> pa.RecordBatch:
    arrow = spec.arrow_schema()
    columns = list(zip(*rows, strict=True))
    return pa.record_batch(
        [_array(col, f.type) for col, f in zip(columns, arrow, strict=True)], schema=arrow
    )


def _paf_write(
    path: Path, content: dict[str, Any], tables: Iterable[tuple[sa.Table, Iterable[list[tuple[Any, ...]]]]]
) -> tuple[int, dict[str, str]]:
    """Write the PAF (packfmt verifies it before giving it its final name); return its size
    and the FORMAT §7 digest of each table's rows as they came from the dossier."""
    digests: dict[str, str] = {}
    content = dict(content, tables={})
    with PackWriter(path, "PAF") as writer:
        writer.write_schema(PAF_SCHEMA)
        for table, batches in tables:
            spec = PAF_SCHEMA.table(table.name)
            out = writer.table(spec)
            digest = Digest()
            for rows in batches:
                batch = _batch(rows, spec)
                digest.add(row_hashes(batch, spec))
                out.write(batch)
            out.close()
            digests[table.name] = digest.hex
            content["tables"][table.name] = {"rows": out.rows, "chunks": out.chunks, "rows_digest": digest.hex}
        writer.finish(content)
    return path.stat().st_size, digests


def _paf_content(path: Path) -> dict[str, Any]:
    with PackReader(path, kind="PAF") as reader:
        return dict(reader.content)


def _paf_batches(reader: PackReader, table: sa.Table) -> Iterator[pa.RecordBatch]:
    spec = reader.schema.table(table.name)
    if spec.column_names != [c.name for c in table.columns]:
        raise PackError(f"{reader.where}: the columns of {table.name} are not the dossier's.")
    yield from reader.batches(spec)


def _paf_rows(path: Path, table: sa.Table) -> Iterator[list[tuple[Any, ...]]]:
    with PackReader(path, kind="PAF") as reader:
        for batch in _paf_batches(reader, table):
            columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            yield list(zip(*columns, strict=True))


# --------------------------------------------------------------------------- selection


def default_years(years: Iterable[FiscalYear], today: date, older_than: int = DEFAULT_AGE) -> list[FiscalYear]:
    """The years proposed for archiving: closed and ended at least ``older_than`` years ago."""
    return [y for y in years if y.status == "CLOSED" and y.ended_years_ago(today) >= older_than]


def archivable(years: Iterable[FiscalYear]) -> list[FiscalYear]:
    """Years "Select" ticks: every closed year (open ones cannot be archived)."""
    return [y for y in years if y.status == "CLOSED"]


def _check_selection(years: list[FiscalYear]) -> None:
    for y in years:
        if y.status == "ARCHIVED":
            raise BadInput(
                f"Fiscal year {y.code} is already archived.",
                "Import its PAF first (msde unarchive) if you want to archive it again.",
            )
        if y.status != "CLOSED":
            raise BadInput(
                f"Fiscal year {y.code} is still open; an open year cannot be archived.",
                "Close the fiscal year first, or leave it out of --years.",
            )


# --------------------------------------------------------------------------- row digests


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


def year_rows(conn: sa.Connection, table: sa.Table, year_ids: list[int]) -> sa.Select[Any]:
    """SELECT every row of ``table`` (entry, entry_line or attachment) of those years, by id."""
    e = schema.entry
    if table is schema.entry:
        return sa.select(e).where(e.c.fiscal_year_id.in_(year_ids)).order_by(e.c.id)
    in_years = sa.select(e.c.id).where(e.c.fiscal_year_id.in_(year_ids))
    return sa.select(table).where(table.c.entry_id.in_(in_years)).order_by(table.c.id)


def _stream(conn: sa.Connection, query: sa.Select[Any], counter: list[int]) -> Iterator[list[tuple[Any, ...]]]:
    """The query's rows in batches. On SQLite straight from the driver's cursor (same
    connection, same transaction): dates stay ISO text and Arrow parses them (``_batch``)."""
    if conn.dialect.name == "sqlite":
        sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql)
            while batch := cursor.fetchmany(BATCH):
                counter[0] += len(batch)
                yield batch
        finally:
            cursor.close()
        return
    result = conn.execute(query)
    while rows := result.fetchmany(BATCH):
        counter[0] += len(rows)
        yield [tuple(r) for r in rows]


# --------------------------------------------------------------------------- archive


def _dossier_info(conn: sa.Connection) -> sa.Row[Any]:
    row = conn.execute(sa.select(schema.dossier_info)).first()
    if row is None:
        raise DossierDamaged("The dossier has no dossier_info row.", "Run 'msde check' on it.")
    return row


def _counts(conn: sa.Connection, year_ids: list[int]) -> dict[int, dict[str, int]]:
    """Rows per table per year (entry, entry_line, attachment), three grouped queries."""
    e = schema.entry
    counts = {y: {t.name: 0 for t in ARCHIVE_TABLES} for y in year_ids}
    for table in ARCHIVE_TABLES:
        query = sa.select(e.c.fiscal_year_id, sa.func.count()).where(e.c.fiscal_year_id.in_(year_ids))
        if table is e:
            query = query.select_from(e)
        else:
            query = query.select_from(table.join(e, table.c.entry_id == e.c.id))
        for year_id, count in conn.execute(query.group_by(e.c.fiscal_year_id)):
            counts[year_id][table.name] = int(count)
    return counts


def _plan(conn: sa.Connection, code: str, wanted: list[str]) -> _Plan:
    info = _dossier_info(conn)
    years = ledger.find_years(conn, wanted)
    if not years:
        raise BadInput("No fiscal year to archive was given.", "Name the years with --years.")
    _check_selection(years)
    journal_id, journal_code = ledger.misc_journal(conn)
    plan = _Plan(code, info.guid, years, journal_id, journal_code)
    e, el = schema.entry, schema.entry_line
    next_entry = int(conn.execute(sa.select(sa.func.max(e.c.id))).scalar() or 0) + 1
    next_line = int(conn.execute(sa.select(sa.func.max(el.c.id))).scalar() or 0) + 1
    every = ledger.trial_balances(conn, [y.id for y in years])
    counts = _counts(conn, [y.id for y in years])
    for y in years:
        balances = [b for b in every.get(y.id, []) if b.balance != 0]
        if sum(b.balance for b in balances) != 0:
            raise DossierDamaged(
                f"The entries of fiscal year {y.code} do not balance; archiving stopped, nothing changed.",
                "Run 'msde check' on the dossier and correct it first.",
            )
        plan.counts[y.id] = counts[y.id]
        if not balances:
            plan.od[y.id] = {"id": None, "number": None, "lines": []}
            continue
        lines = []
        for no, b in enumerate(balances, start=1):
            lines.append(
                {
                    "id": next_line,
                    "line_no": no,
                    "account_id": b.account_id,
                    "account": b.account_number,
                    "third_party_id": b.third_party_id,
                    "third_party": b.third_party_code,
                    "debit": max(b.balance, 0),
                    "credit": max(-b.balance, 0),
                }
            )
            next_line += 1
        plan.od[y.id] = {
            "id": next_entry,
            "number": ledger.next_number(conn, y.id, journal_id),
            "journal": journal_code,
            "date": y.end.isoformat(),
            "lines": lines,
        }
        next_entry += 1
    return plan


def _content(plan: _Plan, info: sa.Row[Any], number: str, short: str, path: Path) -> dict[str, Any]:
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


def _od_label(code: str) -> str:
    return f"Soldes de l'exercice archivé {code}"


def _replace_years(conn: sa.Connection, plan: _Plan, paf_name: str) -> None:
    year_ids = [y.id for y in plan.years]
    e, el, att, fy = schema.entry, schema.entry_line, schema.attachment, schema.fiscal_year
    in_years = sa.select(e.c.id).where(e.c.fiscal_year_id.in_(year_ids))
    conn.execute(att.delete().where(att.c.entry_id.in_(in_years)))
    conn.execute(el.delete().where(el.c.entry_id.in_(in_years)))
    conn.execute(e.delete().where(e.c.fiscal_year_id.in_(year_ids)))
    for y in plan.years:
        od = plan.od[y.id]
        if od["id"] is not None:
            conn.execute(
                e.insert().values(
                    id=od["id"],
                    fiscal_year_id=y.id,
                    journal_id=plan.journal_id,
                    number=od["number"],
                    entry_date=y.end,
                    label=_od_label(y.code),
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
                        "entry_id": od["id"],
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
                    for line in od["lines"]
                ],
            )
        conn.execute(fy.update().where(fy.c.id == y.id).values(status="ARCHIVED"))


def _nets(balances: list[tuple[str, str | None, int, int]]) -> dict[tuple[str, str | None], int]:
    return {(a, t): d - c for a, t, d, c in balances if d != c}


def _check_balances(
    before: dict[str, list[tuple[str, str | None, int, int]]],
    after: dict[str, list[tuple[str, str | None, int, int]]],
    changed: set[str],
    what: str,
) -> None:
    """Kept years: identical trial balances; changed years: identical net balances."""
    if set(before) != set(after):
        raise DossierDamaged(f"The fiscal years changed during the {what}; nothing was changed.")
    for code, lines in before.items():
        same = _nets(lines) == _nets(after[code]) if code in changed else lines == after[code]
        if not same:
            raise DossierDamaged(
                f"The trial balance of fiscal year {code} would change; the {what} was undone.",
                "Run 'msde check' on the dossier; nothing was changed.",
            )


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
    on_event: OnEvent | None = None,
    now: datetime | None = None,
) -> ArchiveResult:
    """Archive ``years`` of the embedded dossier at ``path`` into a PAF in ``directory``."""
    started = time.monotonic()
    directory = Path(directory)
    if not directory.is_dir():
        raise BadInput(f"The directory {directory} does not exist.", "Create it or choose another one.")
    engine = ledger.open_engine(path, exclusive=True)
    written: Path | None = None  # the PAF, once published: removed again unless the dossier commits
    committed = False
    try:
        with engine.connect() as conn:
            info = _dossier_info(conn)
            code = info.code
            if number is None or short is None:
                parsed = naming.parse_code(code)
                number, short = parsed.number, parsed.short

            def step(name: str, detail: str = "") -> None:
                if on_event:
                    on_event(Step(dossier=code, step=name, detail=detail))

            conn.rollback()  # end the autobegun read; the real transaction starts here
            with conn.begin():
                step("read")
                plan = _plan(conn, code, years)
                before = ledger.all_trial_balances(conn)
                content = _content(plan, info, number, short, path)
                target = _free_name(directory, number, short, (now or datetime.now()).replace(microsecond=0))
                step("write", str(target))
                year_ids = [y.id for y in plan.years]
                counts: dict[str, list[int]] = {t.name: [0] for t in ARCHIVE_TABLES}
                tables = (
                    (t, _stream(conn, year_rows(conn, t, year_ids), counts[t.name])) for t in ARCHIVE_TABLES
                )
                try:
                    size, digests = _paf_write(target, content, tables)
                except PackError as exc:
                    raise BackupInvalid(exc.message, exc.hint) from exc
                written = target
                expected = {t.name: sum(plan.counts[y][t.name] for y in year_ids) for t in ARCHIVE_TABLES}
                if {name: c[0] for name, c in counts.items()} != expected:
                    target.unlink(missing_ok=True)
                    raise DossierDamaged("The dossier changed while the PAF was written; nothing changed.")
                step("verify", str(target))
                verify_paf(target, expect_guid=info.guid, expect_digests=digests)
                step("replace")
                _replace_years(conn, plan, target.name)
                step("check")
                after = ledger.all_trial_balances(conn)
                _check_balances(before, after, {y.code for y in plan.years}, "archive")
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


# --------------------------------------------------------------------------- PAF reading


@dataclass(frozen=True)
class PafInfo:
    path: Path
    content: dict[str, Any]

    @property
    def guid(self) -> str:
        return str(self.content["dossier"]["guid"])

    @property
    def code(self) -> str:
        return str(self.content["dossier"]["code"])

    @property
    def years(self) -> list[dict[str, Any]]:
        """The archived fiscal years, each with its ``balance_entry``."""
        paf = self.content["paf"]
        entries = {}
        for entry in paf["balance_entries"]:
            fields = entry["line_fields"]
            lines = [dict(zip(fields, line, strict=True)) for line in entry["lines"]]
            entries[int(entry["fiscal_year_id"])] = dict(entry, lines=lines)
        return [dict(y, balance_entry=entries[int(y["id"])]) for y in paf["fiscal_years"]]


def verify_paf(
    path: Path, *, expect_guid: str | None = None, expect_digests: dict[str, str] | None = None
) -> PafInfo:
    """Read a PAF back completely: every member's SHA-256, every chunk decoded, row counts and
    row digests (FORMAT §7) equal to what the file claims — and, when given, to the GUID and
    digests of the dossier it was written from. Raises ``BackupInvalid``."""
    path = Path(path)
    try:
        with PackReader(path, kind="PAF") as reader:
            for name in sorted(reader.members):  # every member's size and SHA-256
                reader.check_member(name)
            info = PafInfo(path, dict(reader.content))
            if expect_guid is not None and info.guid != expect_guid:
                raise BackupInvalid(f"{path.name} does not hold the dossier it was written for.")
            years = info.years
            tables = reader.content["tables"]
            for table in ARCHIVE_TABLES:
                digest = Digest()
                spec = reader.schema.table(table.name)
                for batch in _paf_batches(reader, table):
                    digest.add(row_hashes(batch, spec))
                claimed = sum(int(y["rows"][table.name]) for y in years)
                if digest.rows != claimed or digest.rows != int(tables[table.name]["rows"]):
                    raise BackupInvalid(
                        f"{path.name}: table {table.name} holds {digest.rows} rows, the archive says {claimed}.",
                        "The archive is damaged; keep the dossier as it is.",
                    )
                wanted = expect_digests[table.name] if expect_digests else tables[table.name]["rows_digest"]
                if digest.hex != wanted:
                    raise BackupInvalid(
                        f"{path.name}: the {table.name} rows read back differ from "
                        + ("the dossier's." if expect_digests else "the digest the archive records."),
                        "The archive is damaged or was not written correctly.",
                    )
    except PackError as exc:
        raise BackupInvalid(exc.message, exc.hint or "The archive file is damaged.") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise BackupInvalid(f"{path.name}: the archive's description is not valid ({exc}).") from exc
    return info


def read_paf_info(path: Path) -> PafInfo:
    """What a PAF says it holds (its members are checked as they are read; rows are not)."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"The file {path} does not exist.", "Give the path of a .paf file.")
    try:
        info = PafInfo(path, _paf_content(path))
        info.years  # noqa: B018 - validates the paf block
    except PackError as exc:
        raise BackupInvalid(exc.message, exc.hint or "The archive file is damaged.") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise BackupInvalid(f"{path.name}: the archive's description is not valid ({exc}).") from exc
    return info


# --------------------------------------------------------------------------- import


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


def _insert_rows(conn: sa.Connection, table: sa.Table, batches: Iterable[list[tuple[Any, ...]]], year_ids: set[int], keep_entry_ids: set[int]) -> int:
    names = [c.name for c in table.columns]
    count = 0
    for batch in batches:
        rows = [dict(zip(names, row, strict=True)) for row in batch]
        if table is schema.entry:
            rows = [r for r in rows if r["fiscal_year_id"] in year_ids]
            keep_entry_ids.update(r["id"] for r in rows)
        else:
            rows = [r for r in rows if r["entry_id"] in keep_entry_ids]
        if rows:
            conn.execute(table.insert(), rows)
            count += len(rows)
    return count


def restore_years(
    conn: sa.Connection,
    info: PafInfo,
    chosen: list[dict[str, Any]],
    code: str,
    on_step: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Inside the caller's transaction: put the archived years ``chosen`` of the PAF back in
    the dossier ``conn`` (the dossier's balance OD must be the one the PAF describes), restore
    their status; check the row counts, that every other year's trial balance is unchanged and
    the restored years' balances equal their ODs. Returns the rows put back per table.
    Used by ``unarchive`` and by the tax-audit transfer on its copy (engine.audit)."""
    current = {y.id: y for y in ledger.fiscal_years(conn)}
    for y in chosen:
        here = current.get(y["id"])
        if here is None or here.code != y["code"]:
            raise WrongDossier(f"Fiscal year {y['code']} of the archive is not in dossier {code}.")
        if here.status != "ARCHIVED":
            raise BadInput(
                f"Fiscal year {y['code']} is not archived in {code}; nothing to import.",
                "It was imported already, or the archiving of this PAF did not complete.",
            )
        if not od_matches(conn, y):
            raise DossierDamaged(
                f"The balance entry of archived year {y['code']} is not the one {info.path.name} describes.",
                "It was changed after archiving; nothing was imported.",
            )
    before = ledger.all_trial_balances(conn)
    e, el, fy = schema.entry, schema.entry_line, schema.fiscal_year
    for y in chosen:
        od_id = y["balance_entry"]["id"]
        if od_id is not None:
            conn.execute(el.delete().where(el.c.entry_id == od_id))
            conn.execute(e.delete().where(e.c.id == od_id))
    year_ids = {int(y["id"]) for y in chosen}
    entry_ids: set[int] = set()
    counts = {
        t.name: _insert_rows(conn, t, _paf_rows(info.path, t), year_ids, entry_ids)
        for t in ARCHIVE_TABLES
    }
    for y in chosen:
        conn.execute(fy.update().where(fy.c.id == y["id"]).values(status=y["status"]))
    if on_step:
        on_step("check")
    expected = {t.name: sum(int(y["rows"][t.name]) for y in chosen) for t in ARCHIVE_TABLES}
    if counts != expected:
        raise BackupInvalid(
            f"{info.path.name} gave {counts} rows, its manifest says {expected}; nothing was imported."
        )
    after = ledger.all_trial_balances(conn)
    _check_balances(before, after, {y["code"] for y in chosen}, "archive import")
    return counts


@ledger.translate_db_errors
def unarchive(
    path: Path,
    paf_path: Path,
    *,
    years: list[str] | None = None,
    delete: bool = False,
    on_event: OnEvent | None = None,
    accept: Collection[str] = (),
) -> UnarchiveResult:
    """Put the archived years of ``paf_path`` back into the dossier at ``path``.

    The PAF must carry the dossier's own GUID, or one of ``accept`` (the GUIDs of the dossier's
    line: ``identity.line``, e.g. the original a restored copy came from)."""
    started = time.monotonic()
    info = read_paf_info(paf_path)
    engine = ledger.open_engine(path, exclusive=True)
    try:
        with engine.connect() as conn:
            dossier = _dossier_info(conn)
            code = dossier.code

            def step(name: str, detail: str = "") -> None:
                if on_event:
                    on_event(Step(dossier=code, step=name, detail=detail))

            if dossier.guid != info.guid and info.guid not in accept:
                raise WrongDossier(
                    f"{info.path.name} is an archive of dossier {info.code}, not of {code}; {code} was not touched.",
                    f"Import it into {info.code} (the dossier it came from).",
                )
            step("verify", str(info.path))
            verify_paf(info.path, expect_guid=info.guid)
            chosen = _choose_years(info, years)
            conn.rollback()  # end the autobegun read; the real transaction starts here
            with conn.begin():
                step("read")
                current = {y.id: y for y in ledger.fiscal_years(conn)}
                if not years:  # all of them: those still archived here
                    waiting = [
                        y for y in chosen if y["id"] in current and current[y["id"]].status == "ARCHIVED"
                    ]
                    chosen = waiting or chosen
                step("restore")
                counts = restore_years(conn, info, chosen, code, step)
                step("commit")
            step("done")
    finally:
        engine.dispose()
    deleted = False
    if delete and not _still_archived(path, info):
        info.path.unlink()
        deleted = True
        step("delete", str(info.path))
    return UnarchiveResult(
        dossier=code,
        paf=info.path,
        years=tuple(y["code"] for y in chosen),
        entries=counts["entry"],
        lines=counts["entry_line"],
        attachments=counts["attachment"],
        paf_deleted=deleted,
        seconds=time.monotonic() - started,
    )


def _still_archived(path: Path, info: PafInfo) -> list[str]:
    """The PAF's years still archived in the dossier (the PAF stays needed for them)."""
    engine = ledger.open_engine(path)
    try:
        with engine.connect() as conn:
            status = {y.id: y.status for y in ledger.fiscal_years(conn)}
    finally:
        engine.dispose()
    return [y["code"] for y in info.years if status.get(y["id"]) == "ARCHIVED"]


def _choose_years(info: PafInfo, years: list[str] | None) -> list[dict[str, Any]]:
    if not years:
        return info.years
    chosen = []
    for name in years:
        match = [y for y in info.years if y["code"] == name or y["end"][:4] == name]
        if len(match) != 1:
            known = ", ".join(y["code"] for y in info.years)
            raise BadInput(f"The archive holds no fiscal year '{name}'.", f"It holds: {known}.")
        if match[0] not in chosen:
            chosen.append(match[0])
    return chosen
