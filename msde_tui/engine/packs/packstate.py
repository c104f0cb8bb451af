"""The writer state that makes a PTF possible: per table, the key and row hash of every row of
the last package, kept outside the dossier in ``<home>/packstate/<guid>/`` (docs/FORMAT.md
section 7)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from msde_tui.packfmt.digest import ROW_HASH, key_bytes
from msde_tui.packfmt.schema import TableSpec

STATE_DIR = "packstate"


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


class StateBuilder:
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


# key types joined and compared as they are; others (real, boolean, untyped) by their encoding
JOINABLE = ("integer", "bigint", "text", "blob", "date", "datetime", "decimal")


def state_key_names(table: TableSpec) -> list[str]:
    """The key columns' names in a state file: their own, or ``key0``, ``key1``... when one of
    them is named like a column of the state's own (``k``, ``h``)."""
    if any(name in ("k", "h") for name in table.key):
        return [f"key{i}" for i in range(len(table.key))]
    return list(table.key)


def join_columns(table: TableSpec) -> list[str]:
    """The state columns rows are matched on: the key columns themselves, or ``k`` (the key's
    canonical encoding, FORMAT.md section 7) when a key column's type compares inexactly."""
    if all(table.column(name).type in JOINABLE for name in table.key):
        return state_key_names(table)
    return ["k"]


def state_batch(batch: pa.RecordBatch, table: TableSpec, hashes: pa.Array) -> pa.RecordBatch:
    arrays = [batch.column(k) for k in table.key]
    names = state_key_names(table)
    if join_columns(table) == ["k"]:
        arrays.append(key_bytes(batch, table))
        names.append("k")
    return pa.record_batch([*arrays, hashes], names=[*names, "h"])
