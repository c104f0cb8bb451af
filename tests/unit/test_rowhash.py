"""The vectorised row hash equals a plain reading of docs/FORMAT.md section 7, value by value."""

from __future__ import annotations

import struct
from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from msde_tui.packfmt.digest import Digest, row_hashes
from msde_tui.packfmt.schema import ColumnSpec, TableSpec

MASK = (1 << 64) - 1
K0, K1 = 0x6D736465_2D726F77, 0x9E3779B9_7F4A7C15
TAGS = {"integer": 1, "bigint": 1, "boolean": 1, "date": 1, "datetime": 1, "real": 2, "text": 3, "blob": 4,
        "decimal": 5}


def fmix64(k: int) -> int:
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & MASK
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & MASK
    return k ^ (k >> 33)


def words_of(value: object, col: ColumnSpec) -> list[int]:
    """The words of one value, written straight from the specification."""
    if value is None:
        return [0]
    kind = col.type
    if kind == "any":
        assert isinstance(value, dict)
        held = {k: v for k, v in value.items() if v is not None}
        (sub, inner), = held.items()
        return words_of(inner, ColumnSpec("x", {"int": "bigint", "real": "real", "text": "text", "blob": "blob"}[sub]))
    if kind in ("text", "blob"):
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)  # type: ignore[arg-type]
        raw_padded = raw + b"\0" * (-len(raw) % 8)
        return [(len(raw) << 8) | TAGS[kind], *struct.unpack(f"<{len(raw_padded) // 8}Q", raw_padded)]
    if kind == "decimal":
        assert isinstance(value, Decimal)
        unscaled = int(value.scaleb(col.scale or 0)) & ((1 << 128) - 1)
        return [(16 << 8) | 5, unscaled & MASK, unscaled >> 64]
    if kind == "real":
        (bits,) = struct.unpack("<Q", struct.pack("<d", value))  # type: ignore[arg-type]
        return [(8 << 8) | 2, bits]
    if kind == "date":
        number = (value - date(1970, 1, 1)).days  # type: ignore[operator]
    elif kind == "datetime":
        delta = value - datetime(1970, 1, 1)  # type: ignore[operator]
        number = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    else:
        number = int(value)  # type: ignore[call-overload]
    return [(8 << 8) | 1, number & MASK]


def reference_hash(row: list[object], table: TableSpec) -> int:
    total = 0
    for c, col in enumerate(table.columns):
        for j, word in enumerate(words_of(row[c], col)):
            total += fmix64(word ^ ((K0 + ((c << 32) | j) * K1) & MASK))
    return fmix64(total & MASK)


COLUMNS = [
    ColumnSpec("i", "integer"), ColumnSpec("b", "bigint"), ColumnSpec("r", "real"),
    ColumnSpec("d", "decimal", precision=18, scale=2), ColumnSpec("t", "text"), ColumnSpec("x", "blob"),
    ColumnSpec("dt", "date"), ColumnSpec("ts", "datetime"), ColumnSpec("f", "boolean"), ColumnSpec("a", "any"),
]
TABLE = TableSpec("t", "0000-t", COLUMNS, primary_key=["i"])

values = {
    "integer": st.integers(-(2**63), 2**63 - 1),
    "bigint": st.integers(-(2**63), 2**63 - 1),
    "real": st.floats(allow_nan=False),
    "decimal": st.decimals(min_value=Decimal("-9999999999999999.99"), max_value=Decimal("9999999999999999.99"),
                           places=2, allow_nan=False, allow_infinity=False),
    "text": st.text(max_size=40),
    "blob": st.binary(max_size=40),
    "date": st.dates(),
    "datetime": st.datetimes(),
    "boolean": st.booleans(),
    "any": st.one_of(st.builds(lambda v: {"int": v, "real": None, "text": None, "blob": None}, st.integers(-(2**63), 2**63 - 1)),
                     st.builds(lambda v: {"int": None, "real": v, "text": None, "blob": None}, st.floats(allow_nan=False)),
                     st.builds(lambda v: {"int": None, "real": None, "text": v, "blob": None}, st.text(max_size=20)),
                     st.builds(lambda v: {"int": None, "real": None, "text": None, "blob": v}, st.binary(max_size=20))),
}
rows = st.lists(st.tuples(*[st.one_of(st.none(), values[c.type]) for c in COLUMNS]), max_size=30)


def batch_of(data: list[tuple[object, ...]]) -> pa.RecordBatch:
    arrays = [pa.array([r[i] for r in data], c.arrow_type()) for i, c in enumerate(COLUMNS)]
    return pa.record_batch(arrays, names=[c.name for c in COLUMNS])


@given(rows, st.integers(0, 5))
def test_vectorised_hash_equals_the_specification(data: list[tuple[object, ...]], cut: int) -> None:
    batch = batch_of(data)
    want = [reference_hash(list(r), TABLE) for r in data]
    assert row_hashes(batch, TABLE).to_pylist() == want
    # a slice (non-zero offsets in every buffer) hashes the same rows the same way
    assert row_hashes(batch.slice(min(cut, len(data))), TABLE).to_pylist() == want[min(cut, len(data)):]


def test_known_answer() -> None:
    """Pins the definition: a change here breaks every stored digest (a new format version)."""
    row = (7, -1, 0.5, Decimal("12.30"), "é€", b"\x00\xff", date(2024, 2, 29), datetime(2024, 2, 29, 23, 59, 59, 123456),
           True, {"int": None, "real": None, "text": "a", "blob": None})
    hashes = row_hashes(batch_of([row, tuple([None] * len(COLUMNS))]), TABLE).to_pylist()
    assert hashes == [reference_hash(list(row), TABLE), reference_hash([None] * len(COLUMNS), TABLE)]
    assert [f"{h:016x}" for h in hashes] == ["9234200d8ee65792", "35266280b78e8d08"]


@pytest.mark.parametrize("column", range(len(COLUMNS)))
def test_one_changed_value_changes_the_row_hash_and_the_digest(column: int) -> None:
    base = [1, 2, 1.5, Decimal("1.00"), "abc", b"abc", date(2024, 1, 1), datetime(2024, 1, 1), False,
            {"int": 1, "real": None, "text": None, "blob": None}]
    changed = {0: 2, 1: 3, 2: -1.5, 3: Decimal("1.01"), 4: "abd", 5: b"abc\0", 6: date(2024, 1, 2),
               7: datetime(2024, 1, 1, 0, 0, 0, 1), 8: True, 9: {"int": None, "real": 1.0, "text": None, "blob": None}}
    other = list(base)
    other[column] = changed[column]
    nulled = list(base)
    nulled[column] = None
    hashes = row_hashes(batch_of([tuple(base), tuple(other), tuple(nulled)]), TABLE).to_pylist()
    assert len(set(hashes)) == 3
    digests = []
    for data in ([base], [other]):
        d = Digest()
        d.add(row_hashes(batch_of([tuple(x) for x in data]), TABLE))
        digests.append(d.hex)
    assert digests[0] != digests[1]


def test_empty_text_differs_from_null_and_padding_is_not_a_value() -> None:
    table = TableSpec("t", "0000-t", [ColumnSpec("t", "blob")])
    batch = pa.record_batch([pa.array([None, b"", b"\0", b"\0" * 8, b"a", b"a\0"], pa.binary())], names=["t"])
    assert len(set(row_hashes(batch, table).to_pylist())) == 6


def _dirty(array: pa.Array) -> pa.Array:
    """``array`` rebuilt with garbage where its NULL slots are: data bytes, true bits, text bytes."""
    valid = array.is_valid().to_pylist()
    bitmap = array.buffers()[0]
    if pa.types.is_boolean(array.type):
        return pa.Array.from_buffers(array.type, len(array), [bitmap, pa.py_buffer(b"\xff" * (len(array) // 8 + 1))])
    if pa.types.is_string(array.type) or pa.types.is_binary(array.type):
        offsets, data = [0], b""
        for ok, value in zip(valid, array.cast(pa.binary()).to_pylist(), strict=True):
            data += value if ok else b"\xff\xfe\x00junk"[: len(offsets) % 7]
            offsets.append(len(data))
        return pa.Array.from_buffers(array.type, len(array), [bitmap, pa.py_buffer(struct.pack(f"<{len(offsets)}i", *offsets)),
                                                              pa.py_buffer(data)])
    width = array.type.bit_width // 8
    data = bytearray(array.buffers()[1].to_pybytes()[: len(array) * width])
    for i, ok in enumerate(valid):
        if not ok:
            data[i * width:(i + 1) * width] = bytes([0xA5 ^ i]) * width
    return pa.Array.from_buffers(array.type, len(array), [bitmap, pa.py_buffer(bytes(data))])


@pytest.mark.parametrize("column", [c for c in COLUMNS if c.type != "any"], ids=lambda c: c.type)
def test_null_slots_holding_garbage_hash_as_null(column: ColumnSpec) -> None:
    """Arrow leaves what a NULL slot holds undefined (ADBC, Parquet and kernels leave bytes there)."""
    base = [1, 2, 1.5, Decimal("1.00"), "abcdefghij", b"abc", date(2024, 1, 1), datetime(2024, 1, 1), True]
    value = base[[c.type for c in COLUMNS].index(column.type)]
    clean = pa.array([value, None, value, None, None, value, None], column.arrow_type())
    dirty = _dirty(clean)
    assert dirty.to_pylist() == clean.to_pylist()
    table = TableSpec("t", "0000-t", [column])
    for start in range(4):  # offsets in every buffer
        want = [reference_hash([v], table) for v in clean.slice(start).to_pylist()]
        assert row_hashes(pa.record_batch([dirty.slice(start)], names=[column.name]), table).to_pylist() == want


def test_chunked_columns_hash_like_one_array() -> None:
    data = [(i, -i, i / 3, Decimal(i), "é" * i, bytes(i), date(2000, 1, 1 + i), datetime(2000, 1, 1, i), i % 2 == 0,
             {"int": None, "real": None, "text": str(i), "blob": None}) for i in range(9)]
    batch = batch_of([tuple(None if (i + j) % 4 == 0 else v for j, v in enumerate(row)) for i, row in enumerate(data)])
    table = pa.Table.from_batches([batch.slice(0, 2), batch.slice(2, 0), batch.slice(2, 7)])
    assert table.column(0).num_chunks == 3
    assert row_hashes(table, TABLE).to_pylist() == row_hashes(batch, TABLE).to_pylist()  # type: ignore[arg-type]


def test_hashing_large_blobs_takes_bounded_memory() -> None:
    """Attachments: a batch may hold hundreds of MB of blobs; hashing must not take many times that."""
    import tracemalloc

    import numpy as np

    table = TableSpec("t", "0000-t", [ColumnSpec("x", "blob")])
    values = [np.random.default_rng(i).bytes(256 * 1024 + i) for i in range(64)]  # 16 MB
    batch = pa.record_batch([pa.array(values, pa.binary())], names=["x"])
    tracemalloc.start()
    try:
        hashes = row_hashes(batch, table)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 48 << 20, f"{peak >> 20} MB to hash 16 MB"
    assert hashes.to_pylist()[:3] == [reference_hash([v], table) for v in values[:3]]


@given(st.lists(st.one_of(st.none(), st.binary(max_size=40)), max_size=40), st.integers(1, 24))
def test_text_and_blob_hashed_in_runs_of_rows_hash_the_same(data: list[bytes | None], chunk: int) -> None:
    """Long columns are hashed a run of rows at a time (a few MB each; here a few bytes)."""
    from msde_tui.packfmt import digest

    table = TableSpec("t", "0000-t", [ColumnSpec("x", "blob")])
    batch = pa.record_batch([pa.array(data, pa.binary())], names=["x"])
    saved = digest._CHUNK_BYTES
    digest._CHUNK_BYTES = chunk
    try:
        got = row_hashes(batch, table).to_pylist()
    finally:
        digest._CHUNK_BYTES = saved
    assert got == [reference_hash([v], table) for v in data]


def test_untyped_columns_hash_a_column_at_a_time() -> None:
    """SQLite columns declared NUMERIC, MONEY or without a type are 'any': hashed per value in
    Python they took ~50 us a value (a minute per million rows) and seconds per MB of blob."""
    import time

    column = ColumnSpec("a", "any")
    table = TableSpec("t", "0000-t", [column])
    kinds = ("int", "real", "text", "blob")
    sample = [7, 0.25, "é", b"\x00"]
    values: list[dict[str, object] | None] = [
        {k: (sample[i % 5] if k == kinds[i % 5] else None) for k in kinds} if i % 5 < 4 else None for i in range(100_000)]
    values += [{"int": None, "real": None, "text": None, "blob": b"\x01" * (4 << 20)}]
    batch = pa.record_batch([pa.array(values, column.arrow_type())], names=["a"])
    started = time.perf_counter()
    hashes = row_hashes(batch, table).to_pylist()
    assert time.perf_counter() - started < 1.5
    assert hashes[:5] == [reference_hash([values[i]], table) for i in range(5)]
    assert hashes[-1] == reference_hash([values[-1]], table)


def test_untyped_column_with_garbage_under_null_values_and_offsets() -> None:
    column = ColumnSpec("a", "any")
    table = TableSpec("t", "0000-t", [column])
    children = [pa.array([1, 2, None, None, None, 6]), pa.array([None, 9.5, 2.5, None, None, None]),
                pa.array(["x", "junk", None, "t", None, "y"]), pa.array([b"b", None, b"j", b"", None, None])]
    validity = pa.array([True, False, True, True, True, True]).buffers()[1]
    struct = pa.StructArray.from_buffers(column.arrow_type(), 6, [validity], children=children)
    want = [{"int": 1, "real": None, "text": "x", "blob": b"b"}, None, {"int": None, "real": 2.5, "text": None, "blob": b"j"},
            {"int": None, "real": None, "text": "t", "blob": b""}, {"int": None, "real": None, "text": None, "blob": None},
            {"int": 6, "real": None, "text": "y", "blob": None}]
    assert struct.to_pylist() == want
    # the writer holds one field per value; with several, the first of int, real, text, blob counts,
    # and none at all counts as an empty blob (as the first 2.0 build hashed them)
    expected = [sum(_mixed_reference(w, 0, j) for j, w in enumerate(_any_words(v))) for v in want]
    for start in range(3):
        got = row_hashes(pa.record_batch([struct.slice(start)], names=["a"]), table).to_pylist()
        assert got == [fmix64(e & MASK) for e in expected[start:]]


def _any_words(value: dict[str, object] | None) -> list[int]:
    """Words of one value of an untyped column: the first field set of int, real, text, blob;
    none at all counts as an empty blob."""
    if value is None:
        return [0]
    if value.get("int") is not None:
        return [(8 << 8) | 1, int(value["int"]) & MASK]  # type: ignore[call-overload]
    if value.get("real") is not None:
        (bits,) = struct.unpack("<Q", struct.pack("<d", float(value["real"])))  # type: ignore[arg-type]
        return [(8 << 8) | 2, bits]
    raw = str(value["text"]).encode("utf-8") if value.get("text") is not None else bytes(value.get("blob") or b"")  # type: ignore[arg-type]
    tag = 3 if value.get("text") is not None else 4
    padded = raw + b"\0" * (-len(raw) % 8)
    return [(len(raw) << 8) | tag, *struct.unpack(f"<{len(padded) // 8}Q", padded)]


def _mixed_reference(word: int, column: int, index: int) -> int:
    return fmix64(word ^ ((K0 + ((column << 32) | index) * K1) & MASK))
