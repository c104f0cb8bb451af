"""Writing a PBF or a PTF of a dossier (docs/FORMAT.md).

Schema-agnostic: every table of the dossier database goes through ``engine.tables`` (reflection +
Arrow batches), whatever its tables. A PTF holds the rows changed since the last package, found
with the writer state of ``packs.packstate``.
"""

from __future__ import annotations

import collections
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from msde_tui.engine import identity, naming
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import BadInput
from msde_tui.engine.events import Emit, Step
from msde_tui.engine.packs.dossierdb import (
    dossier_guid,
    open_dossier,
    pack_identity,
    source_of,
)
from msde_tui.engine.packs.packstate import (
    StateBuilder,
    join_columns,
    load_state,
    state_batch,
    state_dir,
    state_key_names,
)
from msde_tui.engine.reporting import Reporter, ignore
from msde_tui.engine.tables.database import Database
from msde_tui.packfmt import names
from msde_tui.packfmt.digest import ROW_HASH, Digest, key_bytes, row_hashes
from msde_tui.packfmt.schema import TableSpec
from msde_tui.packfmt.writer import PackWriter

PIPELINE_DEPTH = 2  # batches read ahead of the Parquet writer thread (memory stays bounded)


@dataclass
class PackResult:
    path: Path
    kind: str
    package_id: str
    size: int
    tables: dict[str, dict[str, int]]
    warning: str | None = None
    encrypted: bool = False


def _out_path(out_dir: Path, dossier: Dossier, kind: str, now: datetime | None) -> Path:
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise BadInput(f"The directory {out_dir} does not exist.", "Create it or choose another one.")
    return out_dir / naming.packed_file_name(dossier.number, dossier.short, kind, now or datetime.now())


def export_package(
    dossier: Dossier,
    home: Path,
    out_dir: Path,
    *,
    partial: bool = False,
    passphrase: str | None = None,
    now: datetime | None = None,
    password: str | None = None,
    emit: Emit = ignore,
) -> PackResult:
    """Write a PBF (or, with ``partial``, a PTF when a previous package state exists).

    ``emit`` gets a ``pack`` step per table and the rows read (``Progress``), then ``verify``."""
    dossier = identity.settle(home, dossier)  # a copy listed before identities: its own GUID first
    with open_dossier(dossier, home, readonly=True, password=password) as db:
        db.begin()  # schema, identity and rows: one state of the dossier
        schema = db.reflect()
        who = pack_identity(db, dossier)
        key = who["guid"] or dossier.code
        previous = load_state(home, key) if partial else None
        warning = None
        if partial and previous is None:
            warning = (
                f"No previous PBF/PTF of {dossier.code} is known here: a full PBF is written instead."
            )
        elif partial and previous is not None and previous.get("schema_digest") != schema.digest():
            warning = f"The tables of {dossier.code} changed since its last package: a full PBF is written instead."
            previous = None
        kind = "PTF" if previous is not None else "PBF"
        path = _out_path(out_dir, dossier, kind, now)
        builder = StateBuilder(home, key)
        try:
            with PackWriter(path, kind, passphrase=passphrase) as writer:
                if writer.encrypted:
                    for index, table in enumerate(schema.tables):
                        table.dir = names.table_dir(index, table.name, encrypted=True)
                writer.write_schema(schema)
                tables: dict[str, dict[str, int]] = {}
                digests: dict[str, Digest] = {}
                modes: dict[str, str] = {}
                counts = {table.name: db.count(table) for table in schema.tables}  # same snapshot as the reads
                rows = Reporter(emit, dossier.code)
                rows.tables("pack", sum(counts.values()))
                closing: dict[str, Future[dict[str, int]]] = {}
                # one writer thread for every table: a table's last chunk is closed (and decoded
                # back, packfmt.writer) while the next table is read
                with ThreadPoolExecutor(max_workers=1, thread_name_prefix="msde-pack-write") as pool:
                    for table in schema.tables:
                        for done in closing.values():
                            if done.done():
                                done.result()  # a table that could not be closed stops the pack here
                        rows.table(table.name, counts[table.name])
                        if previous is None:
                            closing[table.name], digests[table.name] = _full_table(db, builder, writer, table,
                                                                                   rows, pool)
                        else:
                            info, digest, mode = _changed_table(db, writer, builder, table, previous, home, key,
                                                                rows)
                            tables[table.name], digests[table.name], modes[table.name] = info, digest, mode
                    tables.update({name: done.result() for name, done in closing.items()})
                tables = {table.name: tables[table.name] for table in schema.tables}
                state = {
                    "row_hash": ROW_HASH,
                    "schema_digest": schema.digest(),
                    "tables": {n: d.as_json() for n, d in digests.items()},
                }
                content: dict[str, Any] = {
                    "dossier": who,
                    "source": source_of(db, dossier),
                    "tables": tables,
                    "state": state,
                    "ptf": None,
                    "paf": None,
                }
                if previous is not None:
                    content["ptf"] = {
                        "base": {
                            "package_id": previous.get("package_id"),
                            "schema_digest": previous.get("schema_digest"),
                            "tables": previous.get("tables"),
                        },
                        "mode": modes,
                    }
                emit(Step(dossier.code, "verify", path.name))
                final = writer.finish(content)
                package_id = writer.package_id
            builder.commit(
                {
                    "package_id": package_id,
                    "file": final.name,
                    "kind": kind,
                    "created_at": datetime.now().isoformat(timespec="seconds"),
                    "dossier": who,
                    **state,
                }
            )
        except BaseException:
            builder.discard()
            raise
        finally:
            db.rollback()
    return PackResult(final, kind, package_id, final.stat().st_size, tables, warning, bool(passphrase))


def _full_table(
    db: Database, builder: StateBuilder, writer: PackWriter, table: TableSpec, rows: Reporter,
    pool: ThreadPoolExecutor,
) -> tuple[Future[dict[str, int]], Digest]:
    """Every row of ``table`` into the package, its digest, and its state file; the future of
    its counts is done once the table's files are closed.

    Two stages overlap (both cores): this thread reads a batch and computes its row hashes
    and digest while the writer thread of ``pool`` (one worker: jobs run in order) compresses
    the previous batches into Parquet (Arrow releases the GIL), then closes the table's files.
    At most ``PIPELINE_DEPTH`` batches wait.
    """
    digest = Digest()
    data = writer.table(table)
    state = builder.writer(table) if table.key else None
    null_key = False
    pending: collections.deque[Future[None]] = collections.deque()

    def put(batch: pa.RecordBatch, hashes: pa.Array) -> None:
        data.write(batch)
        if state is not None:
            state.write_batch(state_batch(batch, table, hashes))

    def close(null_key: bool) -> dict[str, int]:
        try:
            data.close()
        finally:
            if state is not None:
                state.close()
        if null_key:  # rows that no key tells apart: no state, the next PTF replaces the table whole
            builder.file(table).unlink()
        return {"rows": data.rows, "chunks": data.chunks}

    try:
        for batch in rows.counted(db.read(table)):
            hashes = row_hashes(batch, table)
            digest.add(hashes)
            if state is not None:
                null_key = null_key or any(batch.column(k).null_count for k in table.key)
            pending.append(pool.submit(put, batch, hashes))
            while len(pending) > PIPELINE_DEPTH:
                pending.popleft().result()  # a writer's error is raised here
    except BaseException:
        for job in pending:
            job.cancel()
        wait(pending)  # the writer thread is done with this table's files: close them here
        if state is not None:
            state.close()
        raise
    return pool.submit(close, null_key), digest


def _state_fits(path: Path, table: TableSpec) -> bool:
    """Whether the state file of ``table`` exists and has the columns read here, each once (an
    earlier build stored a key column named k or h beside its own k and h)."""
    try:
        have = pq.read_schema(path).names
    except (OSError, pa.ArrowInvalid):
        return False
    want = [*state_key_names(table), *(["k"] if join_columns(table) == ["k"] else []), "h"]
    return len(set(have)) == len(have) and set(want) <= set(have)


def _null_key(db: Database, table: TableSpec) -> bool:
    """Whether a row's primary key holds a NULL: SQLite lets a PRIMARY KEY other than INTEGER
    PRIMARY KEY hold NULLs (several of them), and such rows cannot be matched by their key."""
    if db.dialect != "sqlite" or not table.primary_key:
        return False  # a unique constraint is a key only when its columns are NOT NULL
    where = " OR ".join(f"{db.q(name)} IS NULL" for name in table.primary_key)
    cursor = db.execute(f"SELECT 1 FROM {db.q(table.name)} WHERE {where} LIMIT 1")  # noqa: S608
    try:
        return cursor.fetchone() is not None
    finally:
        cursor.close()


def _changed_table(
    db: Database,
    writer: PackWriter,
    builder: StateBuilder,
    table: TableSpec,
    previous: dict[str, Any],
    home: Path,
    key: str,
    rows: Reporter,
) -> tuple[dict[str, int], Digest, str]:
    before = (previous.get("tables") or {}).get(table.name)
    old_file = state_dir(home, key) / builder.file(table).name
    if table.key and (before is None or not _state_fits(old_file, table) or _null_key(db, table)):
        # no state to match rows on (none is kept when a key held NULL), or a NULL key now
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="msde-pack-write") as pool:
            closed, digest = _full_table(db, builder, writer, table, rows, pool)
            info = closed.result()
        return {**info, "deleted": 0}, digest, "replace"
    if len(table.key) == 1 and table.column(table.key[0]).type in ("integer", "bigint"):
        return _changed_by_integer_key(db, writer, builder, table, before, old_file, rows)
    # pass 1: the new state of the table
    digest = Digest()
    state = builder.writer(table) if table.key else None
    try:
        for batch in rows.counted(db.read(table)):
            hashes = row_hashes(batch, table)
            digest.add(hashes)
            if state is not None:
                state.write_batch(state_batch(batch, table, hashes))
    finally:
        if state is not None:
            state.close()
    if before == digest.as_json():
        return {"rows": 0, "chunks": 0, "deleted": 0}, digest, "same"
    if not table.key:
        data = writer.write_table(table, db.read(table, ordered=False))
        return {"rows": data.rows, "chunks": data.chunks, "deleted": 0}, digest, "replace"
    on = join_columns(table)
    stored = state_key_names(table)
    new = pq.read_table(builder.file(table), columns=[*on, "h"])
    old = pq.read_table(old_file, columns=list(dict.fromkeys([*stored, *on, "h"])))  # it fits (above)
    joined = new.join(old.select([*on, "h"]).rename_columns([*on, "h_old"]), keys=on, join_type="left outer")
    changed_mask = pc.or_kleene(pc.is_null(joined["h_old"]), pc.not_equal(joined["h"], joined["h_old"]))
    changed = joined.filter(changed_mask).select(on).combine_chunks()
    del joined, new
    gone = old.join(pq.read_table(builder.file(table), columns=on), keys=on, join_type="left anti")
    deleted_writer = writer.table(table, area=names.DELETED, columns=table.key)
    if gone.num_rows:
        deleted_writer.write(gone.select(stored).rename_columns(table.key))
    deleted_writer.close()
    del gone, old
    data = writer.table(table)
    if changed.num_rows:
        for batch in db.read(table):
            picked = _rows_with_keys(batch, table, on, changed)
            if picked.num_rows:
                data.write(picked)
    data.close()
    info = {"rows": data.rows, "chunks": data.chunks, "deleted": deleted_writer.rows}
    return info, digest, "upsert"


def _changed_by_integer_key(
    db: Database,
    writer: PackWriter,
    builder: StateBuilder,
    table: TableSpec,
    before: dict[str, Any] | None,
    old_file: Path,
    rows: Reporter,
) -> tuple[dict[str, int], Digest, str]:
    """One pass for a table keyed by one integer column (every accounting table): the old
    keys and hashes are held as two sorted arrays (16 bytes a row); each batch read is hashed,
    matched by binary search, and its new or changed rows written at once."""
    import numpy as np

    name, stored = table.key[0], state_key_names(table)[0]
    old = pq.read_table(old_file, columns=[stored, "h"])
    old_keys = old[stored].to_numpy()
    old_hashes = old["h"].to_numpy()
    del old
    if len(old_keys) > 1 and not bool(np.all(old_keys[1:] > old_keys[:-1])):
        order = np.argsort(old_keys, kind="stable")
        old_keys, old_hashes = old_keys[order], old_hashes[order]
    seen = np.zeros(len(old_keys), bool)
    digest = Digest()
    data = writer.table(table)
    state = builder.writer(table)
    try:
        for batch in rows.counted(db.read(table)):
            hashes = row_hashes(batch, table)
            digest.add(hashes)
            state.write_batch(state_batch(batch, table, hashes))
            keys = batch.column(name).to_numpy()
            at = np.minimum(np.searchsorted(old_keys, keys), max(len(old_keys) - 1, 0))
            found = old_keys[at] == keys if len(old_keys) else np.zeros(len(keys), bool)
            seen[at[found]] = True
            changed = ~found
            if len(old_keys):
                changed |= old_hashes[at] != hashes.to_numpy()
            if changed.any():
                data.write(batch.filter(pa.array(changed)))
    finally:
        state.close()
    data.close()
    gone = old_keys[~seen]
    deleted = writer.table(table, area=names.DELETED, columns=table.key)
    if len(gone):
        deleted.write(pa.table({name: pa.array(gone, table.column(name).arrow_type())}))
    deleted.close()
    if before == digest.as_json() and data.rows == 0 and deleted.rows == 0:
        return {"rows": 0, "chunks": 0, "deleted": 0}, digest, "same"
    return {"rows": data.rows, "chunks": data.chunks, "deleted": deleted.rows}, digest, "upsert"


def _rows_with_keys(batch: pa.RecordBatch, table: TableSpec, on: list[str], keys: pa.Table) -> pa.Table:
    """The rows of ``batch`` whose key is one of ``keys`` (columns ``on``)."""
    if on == ["k"]:
        return pa.Table.from_batches([batch.filter(pc.is_in(key_bytes(batch, table), value_set=keys["k"]))])
    if len(on) == 1:
        return pa.Table.from_batches([batch.filter(pc.is_in(batch.column(table.key[0]), value_set=keys[on[0]]))])
    return pa.Table.from_batches([batch]).join(keys.rename_columns(table.key), keys=table.key, join_type="left semi")


def previous_package(dossier: Dossier, home: Path, *, password: str | None = None) -> dict[str, Any] | None:
    """The writer state of the dossier's last PBF/PTF, or None: a partial export then writes a PBF.

    Uses the same key as ``export_package`` (the dossier's GUID, else its code).
    """
    with open_dossier(dossier, home, readonly=True, password=password) as db:
        key = dossier_guid(db, dossier) or dossier.code
    return load_state(home, key)
