"""PBF and PTF: export a dossier to a packed file, import a PBF as a new dossier, apply a PTF.

Schema-agnostic: every table of the dossier database goes through ``tableio`` (reflection +
Arrow batches), whatever its tables. The writer state that makes a PTF possible is kept
outside the dossier, in ``<home>/packstate/<guid>/`` (docs/FORMAT.md section 7).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import errno
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa

from msde_tui.engine import identity, naming, paths
from msde_tui.engine.atomic import aside, publish_file, remove_sqlite, write_atomic
from msde_tui.engine.backends.access.guard import refuse_access
from msde_tui.engine.backends.mssql import database as serverdb
from msde_tui.engine.backends.mssql.database import mssql_engine
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.errors import (
    BadInput,
    DiskFull,
    DossierExists,
    MsdeError,
    PackError,
    WrongDossier,
)
from msde_tui.engine.tables.tableio import Database
from msde_tui.packfmt import names
from msde_tui.packfmt.digest import ROW_HASH, Digest, key_bytes, row_hashes
from msde_tui.packfmt.reader import PackReader
from msde_tui.packfmt.schema import PackSchema, TableSpec
from msde_tui.packfmt.writer import PackWriter

STATE_DIR = "packstate"
PIPELINE_DEPTH = 2  # batches read ahead of the Parquet writer thread (memory stays bounded)
Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


@dataclass
class PackResult:
    path: Path
    kind: str
    package_id: str
    size: int
    tables: dict[str, dict[str, int]]
    warning: str | None = None
    encrypted: bool = False


@dataclass
class ApplyResult:
    dossier: Dossier
    package_id: str
    upserted: int = 0
    deleted: int = 0
    replaced_tables: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------- opening dossiers


def open_dossier(dossier: Dossier, home: Path, *, readonly: bool, password: str | None = None) -> Database:
    if dossier.is_embedded:
        return Database.open_sqlite(dossier.path(home), readonly=readonly)
    refuse_access(dossier, "a packed file or an export copy")
    if not dossier.profile:
        raise BadInput(f"Dossier {dossier.code} has no connection profile.", "Fix the dossier list.")
    engine = mssql_engine(dossier.profile, dossier.location, home, password)
    try:
        return Database.open_engine(engine, label=dossier.location)
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        raise PackError(f"Cannot open {dossier.location} on {dossier.profile} ({str(exc).splitlines()[0]}).") from exc
    except Exception as exc:  # the DB-API driver's own error types
        engine.dispose()
        raise PackError(f"Cannot open {dossier.location} on {dossier.profile} ({exc}).") from exc


def _dossier_guid(db: Database, dossier: Dossier) -> str | None:
    try:
        cursor = db.execute(f"SELECT guid FROM {db.q('dossier_info')}")  # noqa: S608
        row = cursor.fetchone()
        cursor.close()
        if row and row[0]:
            return str(row[0])
    except (PackError, BadInput):
        if db.dialect == "mssql":
            db.rollback()
    return dossier.guid


def _db_identity(db: Database) -> tuple[str | None, str | None]:
    """(guid, code) of the database's dossier_info; (None, None) without one."""
    try:
        return identity.read_db(db)
    except (PackError, BadInput):
        if db.dialect == "mssql":
            db.rollback()
        return None, None


def _identity(db: Database, dossier: Dossier) -> dict[str, Any]:
    guid = _dossier_guid(db, dossier)
    return {
        "guid": guid,
        "code": dossier.code,
        "number": dossier.number,
        "short": dossier.short,
        "name": dossier.short,
        "company": dossier.company,
    }


def _source(db: Database, dossier: Dossier) -> dict[str, Any]:
    return {
        "backend": dossier.backend,
        "dialect": db.dialect,
        "server_version": db.server_version(),
        "database": dossier.location,
        "profile": dossier.profile,
    }


# ---------------------------------------------------------------------- writer state


def state_dir(home: Path, key: str) -> Path:
    safe = "".join(ch for ch in key if ch.isalnum() or ch in "-_")
    return Path(home) / STATE_DIR / (safe or "unknown")


def load_state(home: Path, key: str) -> dict[str, Any] | None:
    path = state_dir(home, key) / "state.json"
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(state, dict) or "tables" not in state:
            return None
        if state.get("row_hash") != ROW_HASH:  # kept by an earlier build: its hashes mean nothing here
            return None
        return state
    except (OSError, ValueError):
        return None


class _StateBuilder:
    """Writes the (key columns, k, h) files of the new state into a temporary directory."""

    def __init__(self, home: Path, key: str) -> None:
        root = Path(home) / STATE_DIR
        root.mkdir(parents=True, exist_ok=True)
        self.key = key
        self.dir = Path(tempfile.mkdtemp(prefix=".new-", dir=root))

    def file(self, table: TableSpec) -> Path:
        return self.dir / f"{table.dir.split('-')[0]}.parquet"

    def writer(self, table: TableSpec) -> pq.ParquetWriter:
        names = join_columns(table)
        key_schema = table.arrow_schema(table.key)
        fields = [pa.field(n, f.type) for n, f in zip(state_key_names(table), key_schema, strict=True)]
        fields += [pa.field("k", pa.binary())] if names == ["k"] else []
        schema = pa.schema([*fields, pa.field("h", pa.uint64())])
        # keys and hashes are near unique: a dictionary would only cost time
        return pq.ParquetWriter(self.file(table), schema, compression="zstd", compression_level=1,
                                use_dictionary=False, write_statistics=False)

    def commit(self, state: dict[str, Any]) -> None:
        (self.dir / "state.json").write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
        final = state_dir(self.dir.parent.parent, self.key)
        old = final.with_name(final.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            os.replace(final, old)
        os.replace(self.dir, final)
        shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


# key types joined and compared as they are; others (real, boolean, untyped) by their encoding
_JOINABLE = ("integer", "bigint", "text", "blob", "date", "datetime", "decimal")


def state_key_names(table: TableSpec) -> list[str]:
    """The key columns' names in a state file: their own, or ``key0``, ``key1``... when one of
    them is named like a column of the state's own (``k``, ``h``)."""
    if any(name in ("k", "h") for name in table.key):
        return [f"key{i}" for i in range(len(table.key))]
    return list(table.key)


def join_columns(table: TableSpec) -> list[str]:
    """The state columns rows are matched on: the key columns themselves, or ``k`` (the key's
    canonical encoding, FORMAT.md section 7) when a key column's type compares inexactly."""
    if all(table.column(name).type in _JOINABLE for name in table.key):
        return state_key_names(table)
    return ["k"]


def _state_batch(batch: pa.RecordBatch, table: TableSpec, hashes: pa.Array) -> pa.RecordBatch:
    arrays = [batch.column(k) for k in table.key]
    names = state_key_names(table)
    if join_columns(table) == ["k"]:
        arrays.append(key_bytes(batch, table))
        names.append("k")
    return pa.record_batch([*arrays, hashes], names=[*names, "h"])


# ---------------------------------------------------------------------- export


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
    progress: Progress = _quiet,
) -> PackResult:
    """Write a PBF (or, with ``partial``, a PTF when a previous package state exists)."""
    dossier = identity.settle(home, dossier)  # a copy listed before identities: its own GUID first
    with open_dossier(dossier, home, readonly=True, password=password) as db:
        db.begin()  # schema, identity and rows: one state of the dossier
        schema = db.reflect()
        who = _identity(db, dossier)
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
        builder = _StateBuilder(home, key)
        try:
            with PackWriter(path, kind, passphrase=passphrase) as writer:
                if writer.encrypted:
                    for index, table in enumerate(schema.tables):
                        table.dir = names.table_dir(index, table.name, encrypted=True)
                writer.write_schema(schema)
                tables: dict[str, dict[str, int]] = {}
                digests: dict[str, Digest] = {}
                modes: dict[str, str] = {}
                for table in schema.tables:
                    progress(f"{table.name}")
                    if previous is None:
                        tables[table.name], digests[table.name] = _full_table(db, writer, builder, table)
                    else:
                        info, digest, mode = _changed_table(db, writer, builder, table, previous, home, key)
                        tables[table.name], digests[table.name], modes[table.name] = info, digest, mode
                state = {
                    "row_hash": ROW_HASH,
                    "schema_digest": schema.digest(),
                    "tables": {n: d.as_json() for n, d in digests.items()},
                }
                content: dict[str, Any] = {
                    "dossier": who,
                    "source": _source(db, dossier),
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
    db: Database, writer: PackWriter, builder: _StateBuilder, table: TableSpec
) -> tuple[dict[str, int], Digest]:
    """Every row of ``table`` into the package, its digest, and its state file.

    Two stages overlap (both cores): this thread reads a batch and computes its row hashes
    and digest while a writer thread compresses the previous batches into Parquet (Arrow
    releases the GIL). Batches reach the writer in order; at most ``PIPELINE_DEPTH`` wait.
    """
    digest = Digest()
    data = writer.table(table)
    state = builder.writer(table) if table.key else None
    null_key = False
    pending: collections.deque[Future[None]] = collections.deque()

    def put(batch: pa.RecordBatch, hashes: pa.Array) -> None:
        data.write(batch)
        if state is not None:
            state.write_batch(_state_batch(batch, table, hashes))

    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="msde-pack-write") as pool:
            try:
                for batch in db.read(table):
                    hashes = row_hashes(batch, table)
                    digest.add(hashes)
                    if state is not None:
                        null_key = null_key or any(batch.column(k).null_count for k in table.key)
                    pending.append(pool.submit(put, batch, hashes))
                    while len(pending) > PIPELINE_DEPTH:
                        pending.popleft().result()  # a writer's error is raised here
                while pending:
                    pending.popleft().result()
            finally:
                for job in pending:
                    job.cancel()
        data.close()
    finally:
        if state is not None:
            state.close()
    if null_key:  # rows that no key tells apart: no state, the next PTF replaces the table whole
        builder.file(table).unlink()
    return {"rows": data.rows, "chunks": data.chunks}, digest


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
    builder: _StateBuilder,
    table: TableSpec,
    previous: dict[str, Any],
    home: Path,
    key: str,
) -> tuple[dict[str, int], Digest, str]:
    before = (previous.get("tables") or {}).get(table.name)
    old_file = state_dir(home, key) / builder.file(table).name
    if table.key and (before is None or not _state_fits(old_file, table) or _null_key(db, table)):
        # no state to match rows on (none is kept when a key held NULL), or a NULL key now
        info, digest = _full_table(db, writer, builder, table)
        return {**info, "deleted": 0}, digest, "replace"
    if len(table.key) == 1 and table.column(table.key[0]).type in ("integer", "bigint"):
        return _changed_by_integer_key(db, writer, builder, table, before, old_file)
    # pass 1: the new state of the table
    digest = Digest()
    state = builder.writer(table) if table.key else None
    try:
        for batch in db.read(table):
            hashes = row_hashes(batch, table)
            digest.add(hashes)
            if state is not None:
                state.write_batch(_state_batch(batch, table, hashes))
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
    builder: _StateBuilder,
    table: TableSpec,
    before: dict[str, Any] | None,
    old_file: Path,
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
        for batch in db.read(table):
            hashes = row_hashes(batch, table)
            digest.add(hashes)
            state.write_batch(_state_batch(batch, table, hashes))
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


# ---------------------------------------------------------------------- reading packages


def package_header(path: Path) -> dict[str, Any]:
    """What a packed file's manifest says, read without a passphrase through the one reader
    (container, size limits and manifest schema checked): the CLI and the wizard ask this
    whether a file is encrypted and what to list it as. An encrypted file's ``dossier`` is None
    (its content is encrypted; the clear fields are authenticated only once the key is known)."""
    with PackReader(path, header_only=True) as reader:
        return {
            "file": str(path),
            "kind": reader.kind,
            "package_id": reader.manifest.get("package_id"),
            "created_at": reader.manifest.get("created_at"),
            "encrypted": reader.encrypted,
            "dossier": reader.content.get("dossier"),
            "source": reader.content.get("source"),
            "base_package": _base_package(reader.content),
            "tables": reader.content.get("tables"),
        }


def package_info(path: Path, *, passphrase: str | None = None, verify: bool = True) -> dict[str, Any]:
    """Open a packed file, check every member (``verify``) and return what it holds."""
    with PackReader(path, passphrase=passphrase) as reader:
        if verify:
            reader.verify()
            if reader.kind == "PBF":
                _check_pbf_digests(reader)
        return {
            "file": str(path),
            "kind": reader.kind,
            "package_id": reader.manifest.get("package_id"),
            "created_at": reader.manifest.get("created_at"),
            "encrypted": reader.encrypted,
            "dossier": reader.content.get("dossier"),
            "source": reader.content.get("source"),
            "base_package": _base_package(reader.content),
            "tables": reader.content.get("tables"),
            "verified": verify,
        }


def _base_package(content: dict[str, Any]) -> str | None:
    """The package id a PTF follows (``content.ptf.base.package_id``), None for other kinds."""
    ptf = content.get("ptf")
    base = ptf.get("base") if isinstance(ptf, dict) else None
    value = base.get("package_id") if isinstance(base, dict) else None
    return value if isinstance(value, str) else None


def _check_pbf_digests(reader: PackReader) -> None:
    """A PBF's rows against the digests its state records (FORMAT §7), as an import checks
    them once loaded: verify and import accept the same files."""
    tables = (reader.content.get("state") or {}).get("tables") or {}
    for table in reader.schema.tables:
        digest = Digest()
        for batch in reader.batches(table):
            digest.add(row_hashes(batch, table))
        if tables.get(table.name) != digest.as_json():
            raise PackError(f"{reader.where}: the rows of table {table.name} do not match their digest.",
                            "Use another copy of the packed file; this one is damaged.")


def _check_digests(db: Database, schema: PackSchema, expected: dict[str, Any], what: str) -> list[str]:
    """Names of tables whose digest in ``db`` differs from ``expected``."""
    differ = []
    for table in schema.tables:
        want = (expected.get("tables") or {}).get(table.name)
        got = db.digest(table).as_json()
        if want != got:
            differ.append(table.name)
    return differ


# ---------------------------------------------------------------------- import (PBF)


def import_package(
    path: Path,
    home: Path,
    *,
    number: str | None = None,
    to_profile: str | None = None,
    passphrase: str | None = None,
    password: str | None = None,
    progress: Progress = _quiet,
) -> Dossier:
    """Import a PBF as a new dossier (embedded, or SQL Server with ``to_profile``)."""
    recover_imports(home)
    catalog = Catalog(home)
    with PackReader(path, kind="PBF", passphrase=passphrase) as reader:
        ident = reader.content.get("dossier") or {}
        short = naming.check_short(str(ident.get("short") or "IMP"))
        number = catalog.free_number(number)
        code = f"{number}{short}"
        schema = reader.schema
        state = reader.content.get("state") or {}
        company = str(ident.get("company") or code)
        guid = ident.get("guid")
        package = str(reader.manifest.get("package_id") or "") or None

        def decide(file_guid: str | None, file_code: str | None) -> identity.Identity:
            # a copy under another number gets its own identity (docs/OPERATIONS.md "Dossier identity")
            return identity.for_copy(Catalog(home), number, short, file_guid, file_code)

        if to_profile is None:
            record = Dossier(number=number, short=short, company=company, backend="embedded",
                             location=naming.embedded_file_name(code), status="imported", guid=guid,
                             package=package)
            target = Path(home) / record.location
            if os.path.lexists(target):
                raise DossierExists(f"{target} already exists.", "Choose another number or move that file.")
            intent = _intent_path(home, record.location)
            intent.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(intent, json.dumps(dataclasses.asdict(record)).encode("utf-8"))
            try:
                ident_ = _import_embedded(reader, schema, state, target, progress, decide)
            except BaseException:
                _drop_intent(intent)
                raise
        else:
            database = naming.database_name(number, short)
            record = Dossier(number=number, short=short, company=company, backend="mssql",
                             location=database, profile=to_profile, status="imported", guid=guid,
                             package=package)
            ident_ = _import_mssql(reader, schema, state, home, to_profile, database, password, progress, decide)
        record = identity.record(record, ident_) if ident_.guid else record
    added = catalog.add(record)
    if to_profile is None:
        _drop_intent(_intent_path(home, record.location))
    return added


IMPORT_PENDING = paths.IMPORT_PENDING_DIR  # one intent per embedded import between its rename and its listing


def _intent_path(home: Path, location: str) -> Path:
    return Path(home) / IMPORT_PENDING / f"{location}.json"


def _drop_intent(intent: Path) -> None:
    intent.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        intent.parent.rmdir()  # only when no other import is pending


def recover_imports(home: Path) -> list[Dossier]:
    """List the imported dossiers a kill left unlisted between their rename and their listing.

    The file only gets its final name once every row was loaded and checked, so a file named
    by an intent is complete: it is listed (roll forward). An intent without its file (the
    kill came earlier) is dropped. Returns the dossiers listed.
    """
    folder = Path(home) / IMPORT_PENDING
    if not folder.is_dir():
        return []
    added = []
    for intent in sorted(folder.glob("*.json")):
        try:
            record = Dossier(**json.loads(intent.read_text(encoding="utf-8")))
            file_guid, _code = identity.read_sqlite(record.path(home))
            if file_guid and file_guid != record.guid:  # the copy got its own identity before the kill
                record = replace(record, guid=file_guid, origin=record.guid)
            catalog = Catalog(home)
            listed = {d.location for d in catalog.dossiers() if d.is_embedded}
            if record.path(home).is_file() and record.location not in listed and record.number not in catalog.numbers():
                added.append(catalog.add(record))
        except (OSError, ValueError, TypeError):
            continue  # unreadable: keep it for a later run
        _drop_intent(intent)
    return added


def load_into(db: Database, reader: PackReader, schema: PackSchema, progress: Progress) -> None:
    """Create the tables of ``schema`` in an empty database and load every row."""
    db.create_tables(schema)
    if db.dialect == "sqlite" and db.ingest_new(
        (table, _announced(table, reader.batches(table), progress)) for table in schema.tables
    ):
        db.finish_schema(schema)
        return
    db.begin(write=True)
    try:
        for table in schema.tables:
            progress(table.name)
            for batch in reader.batches(table):
                db.insert(table, batch)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    db.finish_schema(schema)
    if db.dialect == "mssql":
        db.commit()


def _announced(table: TableSpec, batches: Iterator[pa.RecordBatch], progress: Progress) -> Iterator[pa.RecordBatch]:
    progress(table.name)
    yield from batches


def _is_disk_full(exc: BaseException | None) -> bool:
    """An error (or the database error behind it) that says the disk or the quota is full."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "database or disk is full" in str(exc):  # SQLite's words, through sqlite3 or the ADBC driver
            return True
        exc = exc.__cause__
    return False


def _disk_full(directory: Path, what: str) -> DiskFull:
    return DiskFull(
        f"There is not enough free space in {directory} to {what}.",
        "Free some space there, or move the data directory to a larger disk; nothing was changed.",
    )


Decide = Callable[[str | None, str | None], identity.Identity]


def _import_embedded(reader: PackReader, schema: PackSchema, state: dict[str, Any], target: Path,
                     progress: Progress, decide: Decide) -> identity.Identity:
    try:
        return _import_embedded_file(reader, schema, state, target, progress, decide)
    except Exception as exc:  # noqa: BLE001 - the drivers' own error types (sqlite3, ADBC)
        if _is_disk_full(exc):
            raise _disk_full(target.parent, f"import {reader.where}") from exc
        if isinstance(exc, MsdeError):
            raise
        raise PackError(f"The dossier {target.name} cannot be written ({exc}).",
                        "Nothing was added to the dossier list; check the data directory.") from exc


def _import_embedded_file(reader: PackReader, schema: PackSchema, state: dict[str, Any], target: Path,
                          progress: Progress, decide: Decide) -> identity.Identity:
    with aside(target, create=False) as tmp:  # a private directory: no planted name is followed
        with Database.open_sqlite(tmp, readonly=False, create=True) as db:
            for pragma in ("journal_mode=OFF", "synchronous=OFF", "foreign_keys=OFF", "cache_size=-32000"):
                db.dbapi.execute(f"PRAGMA {pragma}")
            load_into(db, reader, schema, progress)
            progress("checking")
            _verify_loaded(db, schema, state)
            db.dbapi.execute("PRAGMA journal_mode=WAL")
        ident = decide(*identity.read_sqlite(tmp))
        identity.stamp_sqlite(tmp, ident)  # checked rows first, then the copy's own identity
        with sqlite3.connect(tmp) as check:
            problems = check.execute("PRAGMA foreign_key_check").fetchmany(5)
        if problems:
            raise PackError(f"The imported rows break foreign keys (e.g. table {problems[0][0]}).",
                            "The packed file is inconsistent; nothing was added to the dossier list.")
        if os.path.lexists(target):
            raise DossierExists(f"{target} appeared during the import.", "Choose another number.")
        publish_file(tmp, target)  # written without syncing: on the disk before its name says it is done
    return ident


def _verify_loaded(db: Database, schema: PackSchema, state: dict[str, Any]) -> None:
    differ = _check_digests(db, schema, state, "import")
    if differ:
        raise PackError(
            f"After the import, the rows of {', '.join(differ[:5])} differ from the packed file.",
            "The target cannot hold these values exactly; nothing was added to the dossier list.",
        )


def _import_mssql(reader: PackReader, schema: PackSchema, state: dict[str, Any], home: Path, profile: str,
                  database: str, password: str | None, progress: Progress, decide: Decide) -> identity.Identity:
    serverdb.create_database(home, profile, database, password, hint="Choose another number.")
    try:
        engine = mssql_engine(profile, database, home, password)
        with Database.open_engine(engine, label=database) as db:
            load_into(db, reader, schema, progress)
            _verify_loaded(db, schema, state)
            ident = decide(*_db_identity(db))
            identity.stamp_db(db, ident)
            db.commit()
            return ident
    except BaseException:
        serverdb.drop_database(home, profile, database, password)  # nothing left half-made
        raise


# ---------------------------------------------------------------------- apply (PTF)


def _in_line(catalog: Catalog, guid: str | None) -> list[Dossier]:
    """The dossiers a PTF of dossier ``guid`` may be aimed at: that dossier and its copies."""
    return [d for d in catalog.dossiers() if guid and guid in identity.line(d)]


def apply_candidates(catalog: Catalog, guid: str | None, base_package: str | None) -> list[Dossier]:
    """The dossiers of the PTF's line whose last imported PBF or applied PTF is the PTF's base
    (what the wizard may pre-select; the digests decide when it is applied)."""
    return [d for d in _in_line(catalog, guid) if base_package and d.package == base_package]


def _find_target(catalog: Catalog, guid: str | None, ref: str | None, source: dict[str, Any],
                 base_package: str | None = None, owner: str = "") -> Dossier:
    if ref:
        dossier = identity.settle(catalog.home, catalog.get(ref))
        identity.check_line(dossier, guid, "This PTF", owner or str(guid))
        return dossier
    for dossier in catalog.dossiers():
        identity.settle(catalog.home, dossier)
    catalog = Catalog(catalog.home)
    matches = _in_line(catalog, guid)
    if not matches:
        raise WrongDossier(
            "No dossier in the list is the one this PTF was made from.",
            "Import that dossier's PBF first (msde import), or name the dossier with --dossier.",
        )
    if len(matches) > 1:  # the one whose base is this PTF's, else leave out the dossier it was made from
        matches = [d for d in matches if base_package and d.package == base_package] or [
            d for d in matches
            if not (d.backend == source.get("backend") and d.location == source.get("database")
                    and d.profile == source.get("profile"))
        ] or matches
    if len(matches) > 1:
        raise BadInput(
            f"Several dossiers come from the same original: {', '.join(d.code for d in matches)}.",
            "Name the one to update with --dossier.",
        )
    return matches[0]


def apply_package(
    path: Path,
    home: Path,
    *,
    dossier_ref: str | None = None,
    passphrase: str | None = None,
    password: str | None = None,
    progress: Progress = _quiet,
) -> ApplyResult:
    """Apply a PTF, in one transaction, to the dossier whose state it follows."""
    catalog = Catalog(home)
    with PackReader(path, kind="PTF", passphrase=passphrase) as reader:
        progress("checking the package")
        reader.verify()
        content = reader.content
        ident = content.get("dossier") or {}
        ptf = content.get("ptf") or {}
        base = ptf.get("base") or {}
        modes: dict[str, str] = ptf.get("mode") or {}
        dossier = _find_target(catalog, ident.get("guid"), dossier_ref, content.get("source") or {},
                               base.get("package_id"), str(ident.get("code") or ""))
        schema = reader.schema
        result = ApplyResult(dossier, str(reader.manifest.get("package_id")))
        with open_dossier(dossier, home, readonly=False, password=password) as db:
            own_guid, own_code = _db_identity(db)
            ptf_guid = ident.get("guid")
            # A copy (a PBF imported under its own identity) looks like its origin while the PTF
            # is checked and applied, and gets its own identity back before the commit.
            as_origin: identity.Identity | None = None
            if ptf_guid and own_guid and own_guid != ptf_guid:
                if ptf_guid != dossier.origin or not dossier.origin_code or own_guid != dossier.guid:
                    raise WrongDossier(
                        f"This PTF belongs to dossier {ident.get('code') or ptf_guid}, not to {dossier.code}; "
                        f"{dossier.code} was not touched.",
                        "Apply it to the dossier it was made from, or to a copy imported from its PBF.",
                    )
                as_origin = identity.Identity(ptf_guid, dossier.origin_code)
            if db.reflect().digest() != base.get("schema_digest"):
                raise PackError(
                    f"The tables of {dossier.code} are not those this PTF was made for.",
                    "Import the matching PBF instead.",
                )
            if db.dialect == "sqlite":
                db.dbapi.execute("PRAGMA foreign_keys=ON")
            db.begin(write=True)
            try:
                if db.dialect == "sqlite":
                    db.dbapi.execute("PRAGMA defer_foreign_keys=ON")
                if as_origin is not None:
                    identity.stamp_db(db, as_origin)
                progress("comparing the dossier with the package's base")
                differ = _check_digests(db, schema, base, "base")
                if differ:
                    raise PackError(
                        f"{dossier.code} is not in the state this PTF follows "
                        f"(tables {', '.join(differ[:5])} differ; base package {base.get('package_id')}).",
                        "Apply the earlier PTFs first, or import a fresh PBF of the dossier.",
                    )
                _apply_rows(db, reader, schema, modes, result, progress)
                progress("checking the result")
                differ = _check_digests(db, schema, content.get("state") or {}, "after")
                if differ:
                    raise PackError(
                        f"After applying, tables {', '.join(differ[:5])} of {dossier.code} do not match the package.",
                        "Nothing was changed (the transaction was rolled back).",
                    )
                if as_origin is not None:
                    identity.stamp_db(db, identity.Identity(own_guid, own_code or dossier.code))
                db.commit()
            except BaseException as exc:
                db.rollback()
                if _is_disk_full(exc):
                    raise _disk_full(dossier.path(home).parent if dossier.is_embedded else Path(home),
                                     f"apply {reader.where} to {dossier.code}") from exc
                cause = exc if isinstance(exc, sqlite3.IntegrityError) else exc.__cause__
                if isinstance(cause, sqlite3.IntegrityError) or "constraint" in str(cause).lower():
                    raise PackError(
                        f"Applying {reader.where} to {dossier.code} breaks a constraint ({cause}).",
                        "Nothing was changed. This happens when a unique value moved from a deleted row "
                        "to another one; import the dossier's PBF instead (msde import).",
                    ) from exc
                raise
    with contextlib.suppress(MsdeError):  # the base a next PTF follows (the wizard proposes by it)
        result.dossier = Catalog(home).change(dossier.number, package=result.package_id)
    return result


def _apply_rows(db: Database, reader: PackReader, schema: PackSchema, modes: dict[str, str],
                result: ApplyResult, progress: Progress) -> None:
    for table in reversed(schema.tables):
        if modes.get(table.name) == "replace":
            db.delete_all(table)
            result.replaced_tables.append(table.name)
    for table in schema.tables:
        mode = modes.get(table.name, "same")
        if mode == "same":
            continue
        progress(table.name)
        for batch in reader.batches(table):
            if mode == "replace":
                db.insert(table, batch)
            else:
                db.upsert(table, batch)
            result.upserted += batch.num_rows
    for table in reversed(schema.tables):
        if modes.get(table.name) != "upsert":
            continue
        for keys in reader.batches(table, names.DELETED):
            result.deleted += db.delete_keys(table, keys)


def register_catalog_guid(catalog: Catalog, dossier: Dossier, guid: str | None) -> Dossier:
    if guid and dossier.guid != guid:
        return catalog.update(replace(dossier, guid=guid))
    return dossier


# ---------------------------------------------------------------------- wizard helpers (issue 5 screens)


def previous_package(dossier: Dossier, home: Path, *, password: str | None = None) -> dict[str, Any] | None:
    """The writer state of the dossier's last PBF/PTF, or None: a partial export then writes a PBF.

    Uses the same key as ``export_package`` (the dossier's GUID, else its code).
    """
    with open_dossier(dossier, home, readonly=True, password=password) as db:
        key = _dossier_guid(db, dossier) or dossier.code
    return load_state(home, key)


def is_cut_file(path: Path) -> bool:
    """``001SOC_CUT001.sqlite``: the file a fiscal-year cut writes."""
    name = Path(path).name
    return name.endswith(".sqlite") and naming.CUT_RE.match(name.removesuffix(".sqlite")) is not None


def _cut_short(stem: str) -> str:
    match = naming.CUT_RE.match(stem)
    base = match["base"] if match else ""
    parsed = naming.parse_database_name(base)
    if parsed is not None:
        return parsed.short
    try:
        return naming.parse_code(base).short
    except BadInput:
        raise BadInput(
            f"{stem}.sqlite is not named like a cut file (001SOC_CUT001.sqlite).",
            "Give the file a fiscal-year cut wrote, unrenamed.",
        ) from None


def _sqlite_identity(conn: sqlite3.Connection) -> tuple[str | None, str | None]:
    try:
        row = conn.execute("SELECT guid, company FROM dossier_info").fetchone()
    except sqlite3.DatabaseError:
        return None, None
    return (str(row[0]) if row[0] else None, str(row[1]) if row[1] else None) if row else (None, None)


def import_cut_file(path: Path, home: Path, *, number: str | None = None) -> Dossier:
    """Put a cut file (``001SOC_CUT001.sqlite``) in the dossier list (Import/Complet, cut files).

    A cut file already in the data directory is registered where it is; one elsewhere is first
    checked (``PRAGMA quick_check``), copied in with SQLite's backup API under its own name and
    checked again. ``number``: typed, or the first free one; a taken number is refused. The
    dossier keeps the cut's short name and gets the status ``cut``, as ``cut.cut`` registers it.
    """
    path = Path(path)
    if not is_cut_file(path):
        raise BadInput(
            f"{path.name} is not named like a cut file (001SOC_CUT001.sqlite).",
            "Give the file a fiscal-year cut wrote, unrenamed.",
        )
    if not path.is_file():
        raise BadInput(f"{path} does not exist.", "Check the file name.")
    stem = path.name.removesuffix(".sqlite")
    short = _cut_short(stem)
    catalog = Catalog(home)
    wanted = catalog.free_number(number)
    for other in catalog.dossiers():
        if other.is_embedded and other.location == path.name:
            raise DossierExists(
                f"{path.name} is already in the dossier list as {other.code}.",
                "A dossier can appear only once in the list.",
            )
    target = Path(home) / path.name
    in_place = target.exists() and target.resolve() == path.resolve()
    if target.exists() and not in_place:
        raise DossierExists(
            f"{target} already exists in the data directory.",
            "Import that file instead, or move it aside first.",
        )

    def checked(file: Path) -> tuple[str | None, str | None]:
        try:
            conn = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
            try:
                problem = conn.execute("PRAGMA quick_check").fetchone()[0]
                if problem != "ok":
                    raise PackError(f"{path.name} is damaged ({problem}).", "Use another copy of the cut file.")
                return _sqlite_identity(conn)
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise PackError(f"{path.name} cannot be read as a dossier ({exc}).", "Use another copy.") from exc

    guid, company = checked(path)
    # a cut file becomes the dossier of its number: its own identity, the cut as its origin
    ident = identity.for_copy(catalog, wanted, short, guid, identity.read_sqlite(path)[1])
    if guid:
        same = [d for d in catalog.dossiers() if d.guid == guid or d.origin == guid]
        if same:
            raise DossierExists(
                f"This cut dossier is already in the list as {same[0].code}.",
                "A dossier can appear only once in the list.",
            )
    if not in_place:
        with aside(target, create=False) as tmp:  # a private directory: no planted name is followed
            try:
                source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
                try:
                    dest = sqlite3.connect(tmp)
                    try:
                        source.backup(dest)
                    finally:
                        dest.close()
                finally:
                    source.close()
            except sqlite3.DatabaseError as exc:
                raise PackError(f"{path.name} cannot be copied ({exc}).", "Use another copy.") from exc
            if checked(tmp) != (guid, company):
                raise PackError(f"The copy of {path.name} differs from the file.", "Nothing was added to the list.")
            identity.stamp_sqlite(tmp, ident)
            if os.path.lexists(target):
                raise DossierExists(f"{target} appeared during the import.", "Choose another number.")
            publish_file(tmp, target)
    if in_place:
        identity.stamp_sqlite(target, ident)
    record = Dossier(number=wanted, short=short, company=company or stem, backend="embedded",
                     location=target.name, status="cut", **ident.fields())
    try:
        return Catalog(home).add(record)
    except BaseException:
        if not in_place:
            remove_sqlite(target)
        raise


__all__ = [
    "ApplyResult",
    "PackResult",
    "apply_package",
    "export_package",
    "import_cut_file",
    "import_package",
    "is_cut_file",
    "package_info",
    "previous_package",
]
