"""Canonical row encoding, row hashes, keys and table digests (docs/FORMAT.md section 7).

Everything but the final per-row BLAKE2b runs in Arrow compute kernels.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from msde_tui.packfmt.schema import TableSpec

MASK = (1 << 64) - 1
_BIN = pa.binary()


def _canonical_any(value: dict[str, object] | None) -> bytes | None:
    if value is None:
        return None
    if value.get("int") is not None:
        return b"i" + str(value["int"]).encode()
    if value.get("real") is not None:
        (bits,) = struct.unpack("<q", struct.pack("<d", float(value["real"])))  # type: ignore[arg-type]
        return b"r" + str(bits).encode()
    if value.get("text") is not None:
        return b"t" + str(value["text"]).encode("utf-8")
    if value.get("blob") is not None:
        return b"b" + bytes(value["blob"])  # type: ignore[arg-type]
    return b"t"  # struct present but every field null cannot be produced by the writer


def canonical_text(array: pa.Array, kind: str) -> pa.Array:
    """The canonical text of every value as a binary array (nulls stay null)."""
    if kind == "real":
        array = array.view(pa.int64())
    if kind == "any":
        return pa.array([_canonical_any(v) for v in array.to_pylist()], _BIN)
    if kind in ("text", "blob"):
        return array.cast(_BIN)
    return pc.cast(pc.cast(array, pa.string()), _BIN)


def encode_rows(batch: pa.RecordBatch, table: TableSpec, columns: list[str] | None = None) -> pa.Array:
    """Canonical encoding of each row over ``columns`` (default: every column)."""
    names = columns if columns is not None else table.column_names
    pieces = []
    for name in names:
        text = canonical_text(batch.column(name), table.column(name).type)
        length = pc.cast(pc.cast(pc.binary_length(text), pa.string()), _BIN)
        piece = pc.binary_join_element_wise(b"V", length, b":", text, b"")
        pieces.append(pc.fill_null(piece, b"N"))
    if not pieces:
        return pa.array([b""] * batch.num_rows, _BIN)
    if len(pieces) == 1:
        return pieces[0]
    return pc.binary_join_element_wise(*pieces, b"")


def row_hashes(batch: pa.RecordBatch, table: TableSpec) -> pa.Array:
    """uint64 BLAKE2b-64 (little-endian) of each row's canonical encoding."""
    encoded = encode_rows(batch, table).to_pylist()
    blake = hashlib.blake2b
    out = b"".join(blake(row, digest_size=8).digest() for row in encoded)
    return pa.Array.from_buffers(pa.uint64(), len(encoded), [None, pa.py_buffer(out)])


def key_bytes(batch: pa.RecordBatch, table: TableSpec) -> pa.Array:
    return encode_rows(batch, table, table.key)


def sum_hashes(hashes: pa.Array) -> int:
    if len(hashes) == 0:
        return 0
    return sum(hashes.to_pylist()) & MASK


class Digest:
    """Order-independent digest of a table: row count + sum of row hashes mod 2^64."""

    def __init__(self) -> None:
        self.rows = 0
        self.total = 0

    def add(self, hashes: pa.Array) -> None:
        self.rows += len(hashes)
        self.total = (self.total + sum_hashes(hashes)) & MASK

    def add_all(self, many: Iterable[pa.Array]) -> None:
        for hashes in many:
            self.add(hashes)

    @property
    def hex(self) -> str:
        return f"{self.total:016x}"

    def as_json(self) -> dict[str, object]:
        return {"rows": self.rows, "digest": self.hex}
