"""Row hashes, keys and table digests (docs/FORMAT.md section 7).

The row hash is defined over 64-bit words so that a whole record batch is hashed by a few
vectorised numpy passes (no Python call per row):

* each value of column ``c`` (schema order) is written as words ``w[c, 0], w[c, 1], ...``:
  ``w[c, 0]`` is a header (0 for NULL, else ``byte length << 8 | tag``), the value's bytes
  follow, zero-padded to whole little-endian words;
* ``H = sum of fmix64(w[c, j] XOR key(c, j))`` over every word of the row, modulo 2^64, with
  ``key(c, j) = K0 + (c << 32 | j) * K1``;
* the row hash is ``fmix64(H)`` (fmix64: MurmurHash3's 64-bit finaliser, a bijection).

A change confined to one word of a row always changes its hash; any other change does with
probability 1 - 2^-64. The table digest is the sum of the row hashes modulo 2^64.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from msde_tui.packfmt.errors import PackError
from msde_tui.packfmt.schema import TableSpec

ROW_HASH = "msde-words-fmix64"  # the algorithm's name, kept beside every digest
MASK = (1 << 64) - 1
K0 = 0x6D73_6465_2D72_6F77  # "msde-row"
K1 = 0x9E37_79B9_7F4A_7C15  # 2^64 / golden ratio (odd)
M1 = np.uint64(0xFF51_AFD7_ED55_8CCD)
M2 = np.uint64(0xC4CE_B9FE_1A85_EC53)
S33 = np.uint64(33)
_BIN = pa.binary()
_U64 = np.uint64

# header tags
FIXED, REAL, TEXT, BLOB, DECIMAL = 1, 2, 3, 4, 5
_TAG = {"integer": FIXED, "bigint": FIXED, "boolean": FIXED, "date": FIXED, "datetime": FIXED,
        "real": REAL, "text": TEXT, "blob": BLOB, "decimal": DECIMAL}
_BYTES = {"integer": 8, "bigint": 8, "boolean": 8, "date": 8, "datetime": 8, "real": 8, "decimal": 16}
_CHUNK_BYTES = 1 << 22  # text/blob bytes hashed at once: memory stays a few times this
_ALL = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


def fmix64(words: np.ndarray) -> np.ndarray:
    """MurmurHash3's finaliser on a uint64 array, in place (returns it)."""
    words ^= words >> S33
    words *= M1
    words ^= words >> S33
    words *= M2
    words ^= words >> S33
    return words


def key(column: int, word: int) -> int:
    return (K0 + ((column << 32) | word) * K1) & MASK


def _mixed(word: int, column: int, index: int) -> int:
    """fmix64(word XOR key) for one word, as a Python int."""
    return int(fmix64(np.array([(word ^ key(column, index)) & MASK], dtype=_U64))[0])


def _valid(array: pa.Array) -> np.ndarray | None:
    """Boolean mask of non-null slots, or None when there is no null."""
    if array.null_count == 0:
        return None
    return np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _fixed_words(array: pa.Array, kind: str) -> np.ndarray:
    """The 64-bit value word(s) of a fixed-width column (nulls: whatever; masked later).
    Shape (n,) for 8-byte kinds, (n, 2) for decimals."""
    n, offset = len(array), array.offset
    if kind == "boolean":
        return np.asarray(pc.fill_null(array, False).cast(pa.uint8()).to_numpy(), dtype=_U64)
    data = array.buffers()[1]
    if kind == "date":
        return np.frombuffer(data, np.int32, n, offset * 4).astype(np.int64).view(_U64)
    if kind == "decimal":
        return np.frombuffer(data, _U64, 2 * n, offset * 16).reshape(n, 2)
    return np.frombuffer(data, _U64, n, offset * 8)  # int64, float64 bits, timestamp(us)


def _fixed_terms(array: pa.Array, kind: str, column: int) -> np.ndarray:
    words = _fixed_words(array, kind)
    valid = _valid(array)
    header = (_BYTES[kind] << 8) | _TAG[kind]
    if words.ndim == 1:
        terms = fmix64(words ^ _U64(key(column, 1)))
    else:
        terms = fmix64(words[:, 0] ^ _U64(key(column, 1)))
        terms += fmix64(words[:, 1] ^ _U64(key(column, 2)))
    terms += _U64(_mixed(header, column, 0))
    if valid is not None:
        terms[~valid] = _U64(_mixed(0, column, 0))
    return terms


def _variable_terms(array: pa.Array, kind: str, column: int) -> np.ndarray:
    """Header and zero-padded data words of a text/blob column, summed per row."""
    n = len(array)
    valid = _valid(array)
    if valid is not None:
        array = pc.fill_null(array, "" if kind == "text" else b"")
    offsets = np.frombuffer(array.buffers()[1], np.int32, n + 1, array.offset * 4).astype(np.int64)
    lengths = np.diff(offsets)
    terms = np.zeros(n, _U64)
    data = array.buffers()[2]
    low = 0
    while low < n:  # rows in runs of about _CHUNK_BYTES of data (or one longer value): bounded memory
        high = int(np.searchsorted(offsets, offsets[low] + _CHUNK_BYTES, side="right")) - 1
        high = min(max(high, low + 1), n)
        terms[low:high] = _data_sums(data, offsets[low:high + 1], column)
        low = high
    headers = (lengths.view(_U64) << _U64(8)) | _U64(_TAG[kind])
    headers ^= _U64(key(column, 0))
    terms += fmix64(headers)
    if valid is not None:
        terms[~valid] = _U64(_mixed(0, column, 0))
    return terms


def _data_sums(data: pa.Buffer | None, offsets: np.ndarray, column: int) -> np.ndarray:
    """Per value (bytes offsets[i]..offsets[i+1] of data), the sum of fmix64(w ^ key(column, j))
    over its zero-padded little-endian words w (j from 1)."""
    start, size = int(offsets[0]), int(offsets[-1] - offsets[0])
    lengths = np.diff(offsets)
    nwords = (lengths + 7) >> 3
    first = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(nwords, out=first[1:])
    total = int(first[-1])
    if total == 0:
        return np.zeros(len(lengths), _U64)
    padded = np.zeros(size + 8, np.uint8)
    padded[:size] = np.frombuffer(data, np.uint8, size, start)  # type: ignore[arg-type]
    # the 8 bytes from each byte on, read little-endian (unaligned; the 8 zero bytes end the last)
    sliding = np.ndarray((size + 1,), dtype="<u8", buffer=padded, strides=(1,))
    index = np.arange(total, dtype=np.int64)  # word j - 1 of its value
    index -= np.repeat(first[:-1], nwords)
    words = sliding[np.repeat(offsets[:-1] - start, nwords) + 8 * index].astype(_U64, copy=False)
    del padded, sliding
    # a value's last word: only its own bytes (the following value's are masked off)
    last = nwords > 0
    tail = (lengths[last] - 8 * (nwords[last] - 1)).view(_U64)
    words[first[1:][last] - 1] &= _ALL >> (_U64(64) - _U64(8) * tail)
    index += 1
    keys = index.view(_U64)
    keys *= _U64(K1)
    keys += _U64(key(column, 0))
    words ^= keys
    del keys, index
    fmix64(words)
    sums = np.zeros(total + 1, _U64)
    np.cumsum(words, out=sums[1:])
    return sums[first[1:]] - sums[first[:-1]]


def _any_terms(array: pa.Array, column: int) -> np.ndarray:
    """An untyped column, a field at a time: each value is hashed as the kind of its first
    non-null field (int, real, text, blob; the writer sets one), none as an empty blob, as
    FORMAT.md section 7 says (``tests/unit/test_rowhash.py`` spells it out value by value)."""
    terms = np.full(len(array), _U64(_mixed(BLOB, column, 0)))
    for field, kind in reversed((("int", "integer"), ("real", "real"), ("text", "text"), ("blob", "blob"))):
        child = array.field(field)  # sliced like the struct; NULL structs are set below
        held = _valid(child)
        if held is not None and not held.any():
            continue
        words = _variable_terms(child, kind, column) if kind in ("text", "blob") else _fixed_terms(child, kind, column)
        if held is None:
            terms = words
        else:
            terms[held] = words[held]
    valid = _valid(array)
    if valid is not None:
        terms[~valid] = _U64(_mixed(0, column, 0))
    return terms


def row_hashes(batch: pa.RecordBatch, table: TableSpec) -> pa.Array:
    """uint64 row hash of every row of ``batch`` (FORMAT.md section 7)."""
    total = np.zeros(batch.num_rows, _U64)
    for index, name in enumerate(table.column_names):
        array = batch.column(name)
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        kind = table.column(name).type
        expected = table.column(name).arrow_type()
        if array.type != expected:
            raise PackError(f"Column {table.name}.{name} is {array.type}, not {expected}, in a batch to hash.")
        if kind == "any":
            total += _any_terms(array, index)
        elif kind in ("text", "blob"):
            total += _variable_terms(array, kind, index)
        else:
            total += _fixed_terms(array, kind, index)
    return pa.array(fmix64(total), pa.uint64())


# ---------------------------------------------------------------------- keys


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
        return b"b" + bytes(value["blob"])  # type: ignore[call-overload]  # a Parquet blob field: bytes-like
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


def key_bytes(batch: pa.RecordBatch, table: TableSpec) -> pa.Array:
    """The key of every row: the canonical encoding of its primary-key columns."""
    return encode_rows(batch, table, table.key)


# ---------------------------------------------------------------------- digests


def sum_hashes(hashes: pa.Array) -> int:
    if len(hashes) == 0:
        return 0
    return int(np.add.reduce(np.asarray(hashes.to_numpy(), dtype=_U64), dtype=_U64))


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
