"""The PAF file: what an archive holds and how it is written, read and checked (docs/FORMAT.md).

The container is packfmt's, kind PAF: ``schema.json`` describes the three archived tables
(``ARCHIVE_TABLES``), their rows are Parquet chunks, ``content.paf`` holds the fiscal years and
their balance entries, ``content.tables[t].rows_digest`` the FORMAT §7 digest of the rows.
``verify_paf`` reads a PAF back completely; ``read_paf_info`` reads what it says it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from msde_tui.engine.accounting import schema
from msde_tui.engine.errors import BackupInvalid, BadInput, DossierDamaged, PackError
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
# Fields of a balance entry line in the PAF's content.paf.balance_entries[].lines
LINE_FIELDS = ("id", "line_no", "account_id", "account", "third_party_id", "third_party", "debit", "credit")

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


def write_paf(
    path: Path,
    content: dict[str, Any] | Callable[[], dict[str, Any]],
    tables: Iterable[tuple[sa.Table, Iterable[pa.RecordBatch | list[tuple[Any, ...]]]]],
    *,
    expect_guid: str,
    on_verify: Callable[[], None] | None = None,
    on_rows: Callable[[int], None] | None = None,
) -> tuple[int, dict[str, str]]:
    """Write the PAF; before it gets its final name, read it back ONCE and check it as
    ``verify_paf`` does, against the GUID and the FORMAT §7 digests of the rows as they came from
    the dossier (``on_verify`` is called when that reading starts, ``on_rows`` with the rows it
    checks). ``content`` may be given as a function, called once the rows are written. Return
    its size and those digests."""
    digests: dict[str, str] = {}
    written: dict[str, Any] = {}
    back: dict[str, Digest] = {}  # FORMAT §7 digests of the rows decoded from the bytes stored
    name = Path(path).name
    with PackWriter(path, "PAF") as writer:
        writer.write_schema(PAF_SCHEMA)
        for table, batches in tables:
            spec = PAF_SCHEMA.table(table.name)
            decoded = back[table.name] = Digest()
            out = writer.table(spec, on_decoded=lambda rows, d=decoded, s=spec: d.add(row_hashes(rows, s)))
            digest = Digest()
            for rows in batches:  # Arrow batches typed as the spec, or rows from the driver
                batch = rows if isinstance(rows, pa.RecordBatch) else _batch(rows, spec)
                digest.add(row_hashes(batch, spec))
                out.write(batch)
            out.close()
            digests[table.name] = digest.hex
            written[table.name] = {"rows": out.rows, "chunks": out.chunks, "rows_digest": digest.hex}

        def check(reader: PackReader) -> None:
            if on_verify is not None:
                on_verify()
            # each chunk was decoded, and its rows digested, from the very bytes stored
            # (``PackWriter.decode_chunk``): here its member's SHA-256 is checked against
            # those bytes' instead of decoding it a second time (docs/FORMAT.md section 9)
            _check(reader, name, expect_guid=expect_guid, expect_digests=digests, on_rows=on_rows,
                   decoded=(writer.decoded, back))

        writer.finish(dict(content() if callable(content) else content, tables=written), check=check)
    return path.stat().st_size, digests


def paf_content(path: Path) -> dict[str, Any]:
    with PackReader(path, kind="PAF") as reader:
        return dict(reader.content)


def _spec_of(reader: PackReader, table: sa.Table) -> TableSpec:
    spec = reader.schema.table(table.name)
    if spec.column_names != [c.name for c in table.columns]:
        raise PackError(f"{reader.where}: the columns of {table.name} are not the dossier's.")
    return spec


def paf_batches(reader: PackReader, table: sa.Table) -> Iterator[pa.RecordBatch]:
    yield from reader.batches(_spec_of(reader, table))


def paf_rows(path: Path, table: sa.Table) -> Iterator[list[tuple[Any, ...]]]:
    with PackReader(path, kind="PAF") as reader:
        for batch in paf_batches(reader, table):
            columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            yield list(zip(*columns, strict=True))


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
    path: Path,
    *,
    expect_guid: str | None = None,
    expect_digests: dict[str, str] | None = None,
    on_rows: Callable[[int], None] | None = None,
) -> PafInfo:
    """Read a PAF back completely: every member's SHA-256, every chunk decoded, row counts and
    row digests (FORMAT §7) equal to what the file claims — and, when given, to the GUID and
    digests of the dossier it was written from. ``on_rows`` is told each chunk's rows as they
    are checked. Raises ``BackupInvalid``."""
    path = Path(path)
    try:
        with PackReader(path, kind="PAF") as reader:
            return _check(reader, path.name, expect_guid=expect_guid, expect_digests=expect_digests,
                          on_rows=on_rows)
    except PackError as exc:
        raise BackupInvalid(exc.message, exc.hint or "The archive file is damaged.") from exc


def _check(
    reader: PackReader,
    name: str,
    *,
    expect_guid: str | None,
    expect_digests: dict[str, str] | None,
    on_rows: Callable[[int], None] | None,
    decoded: tuple[dict[str, str], dict[str, Digest]] | None = None,
) -> PafInfo:
    """``verify_paf`` on an open PAF (named ``name``): each member's bytes are hashed once —
    the data chunks as they are opened to be decoded, every other member before.

    ``decoded`` (the writer's own read-back): the SHA-256 of each chunk's bytes it decoded as
    it stored them, and the digest of each table's rows so decoded; a table all of whose
    chunks have, here, that SHA-256 is not decoded again (those very bytes were)."""
    try:
        info = PafInfo(reader.path, dict(reader.content))
        if expect_guid is not None and info.guid != expect_guid:
            raise BackupInvalid(f"{name} does not hold the dossier it was written for.")
        years = info.years
        tables = reader.content["tables"]
        chunks_of = {c for t in ARCHIVE_TABLES for c in reader.chunks(reader.schema.table(t.name))}
        for member in sorted(set(reader.members) - chunks_of):  # every other member's size and SHA-256
            reader.check_member(member)
        for table in ARCHIVE_TABLES:
            spec = _spec_of(reader, table)
            chunks = reader.chunks(spec)
            if decoded is not None and table.name in decoded[1] and all(
                decoded[0].get(c) == reader.members[c]["sha256"] for c in chunks
            ):
                for chunk in chunks:
                    reader.check_member(chunk)  # the file holds the very bytes decoded
                digest = decoded[1][table.name]
                if on_rows is not None:
                    on_rows(digest.rows)
            else:
                digest = Digest()
                for batch in paf_batches(reader, table):  # each chunk's SHA-256 checked as it is opened
                    digest.add(row_hashes(batch, spec))
                    if on_rows is not None:
                        on_rows(batch.num_rows)
            claimed = sum(int(y["rows"][table.name]) for y in years)
            if digest.rows != claimed or digest.rows != int(tables[table.name]["rows"]):
                raise BackupInvalid(
                    f"{name}: table {table.name} holds {digest.rows} rows, the archive says {claimed}.",
                    "The archive is damaged; keep the dossier as it is.",
                )
            wanted = expect_digests[table.name] if expect_digests else tables[table.name]["rows_digest"]
            if digest.hex != wanted:
                raise BackupInvalid(
                    f"{name}: the {table.name} rows read back differ from "
                    + ("the dossier's." if expect_digests else "the digest the archive records."),
                    "The archive is damaged or was not written correctly.",
                )
    except (KeyError, TypeError, ValueError) as exc:
        raise BackupInvalid(f"{name}: the archive's description is not valid ({exc}).") from exc
    return info


def read_paf_info(path: Path) -> PafInfo:
    """What a PAF says it holds (its members are checked as they are read; rows are not)."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"The file {path} does not exist.", "Give the path of a .paf file.")
    try:
        info = PafInfo(path, paf_content(path))
        info.years  # noqa: B018 - validates the paf block
    except PackError as exc:
        raise BackupInvalid(exc.message, exc.hint or "The archive file is damaged.") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise BackupInvalid(f"{path.name}: the archive's description is not valid ({exc}).") from exc
    return info

