"""The Arrow-native SQLite reader gives exactly the DB-API path's batches, or is not used."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pyarrow as pa
import pytest

from msde_tui.engine.errors import DossierChanged, PackError
from msde_tui.engine.tables.database import Database


def _read_all(path: Path, monkeypatch: pytest.MonkeyPatch, *, adbc: bool) -> dict[str, pa.Table]:
    if adbc:
        monkeypatch.delenv("MSDE_NO_ADBC", raising=False)
    else:
        monkeypatch.setenv("MSDE_NO_ADBC", "1")
    with Database.open_sqlite(path) as db:
        schema = db.reflect()
        db.begin()
        out = {t.name: pa.Table.from_batches(list(db.read(t, batch_rows=3)), schema=t.arrow_schema())
               for t in schema.tables}
        used = {t.name: db.adbc_safe.get(t.name, False) for t in schema.tables}
        db.rollback()
    if adbc:
        out["__used__"] = pa.table({"name": list(used), "adbc": list(used.values())})
    return out


def test_adbc_reader_equals_dbapi_reader_and_skips_mixed_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "d.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE clean (id INTEGER PRIMARY KEY, t TEXT, r REAL, d DATE, ts DATETIME, "
                 "b BLOB, f BOOLEAN, n BIGINT)")
    conn.executemany("INSERT INTO clean VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
        (1, "é€", 1.5, "2024-02-29", "2024-02-29 23:59:59.123456", b"\x00\xff", 1, 2**62),
        (2, None, None, None, None, None, None, None),
        (3, "", -0.0, "1999-12-31", "2000-01-01 00:00:00", b"", 0, -(2**63)),
        (4, "x", 1e300, "2024-01-01", "2024-01-01 10:00:00", b"a", 1, 0),
    ])
    # an untyped column holding every storage class: ADBC would turn 1.5 into "1.500000e+00"
    conn.execute("CREATE TABLE mixed (id INTEGER PRIMARY KEY, v)")
    conn.execute("CREATE TABLE mixed_real (id INTEGER PRIMARY KEY, r REAL, t TEXT)")
    conn.executemany("INSERT INTO mixed VALUES (?, ?)", [(1, 1.5), (2, "a"), (3, 7), (4, b"z")])
    conn.executemany("INSERT INTO mixed_real VALUES (?, ?, ?)", [(1, 1.5, "a"), (2, 2, "b")])
    conn.commit()
    conn.close()
    fast = _read_all(path, monkeypatch, adbc=True)
    slow = _read_all(path, monkeypatch, adbc=False)
    used = dict(zip(fast["__used__"]["name"].to_pylist(), fast["__used__"]["adbc"].to_pylist(), strict=True))
    assert used == {"clean": True, "mixed": False, "mixed_real": True}  # REAL affinity stores 2 as 2.0
    for name in ("clean", "mixed", "mixed_real"):
        assert fast[name].equals(slow[name]), name
    assert fast["mixed_real"]["r"].to_pylist() == [1.5, 2.0]


def test_adbc_reader_refuses_a_bad_date_like_the_dbapi_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "d.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, d DATE)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(1, "2024-01-01"), (2, "not a date")])
    conn.commit()
    conn.close()
    for adbc in (True, False):
        with pytest.raises(PackError, match="not a date"):
            _read_all(path, monkeypatch, adbc=adbc)


def test_text_in_an_integer_column_is_refused_not_turned_into_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "d.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(1, 5), (2, "abc")])
    conn.commit()
    conn.close()
    for adbc in (True, False):
        with pytest.raises(PackError, match="abc"):
            _read_all(path, monkeypatch, adbc=adbc)


def test_column_null_throughout_the_first_batch_reads_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ADBC types a column from its first batch: all NULL there means int64, and 'a' later fails
    path = tmp_path / "d.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, b BLOB, r REAL, n INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)",
                     [(i, None, None, None, None) for i in range(1, 8)] + [(8, "a", b"x", 1.5, 3)])
    conn.commit()
    conn.close()
    fast = _read_all(path, monkeypatch, adbc=True)
    slow = _read_all(path, monkeypatch, adbc=False)
    assert fast["t"].equals(slow["t"])
    assert fast["t"]["s"].to_pylist()[-1] == "a"


def test_other_storage_class_after_the_first_batch_is_refused_in_the_dbapi_words(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "d.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, s TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, i, "x") for i in range(1, 8)] + [(8, 1, b"blob!")])
    conn.commit()
    conn.close()
    for adbc in (True, False):
        with pytest.raises(PackError, match="blob!"):
            _read_all(path, monkeypatch, adbc=adbc)


def _assert_fast_reads_as_slow_or_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, declared: str,
                                          values: list[object]) -> None:
    """One column declared ``declared`` holding ``values`` (read 3 rows a batch): the ADBC
    reader gives exactly the DB-API reader's rows, or refuses when that one refuses."""
    path = tmp_path / "d.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, v {declared})")
    conn.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values, 1)))
    conn.commit()
    conn.close()
    results: list[pa.Table | str] = []
    for adbc in (True, False):
        try:
            results.append(_read_all(path, monkeypatch, adbc=adbc)["t"])
        except PackError as exc:
            results.append(str(exc))
    fast, slow = results
    if isinstance(slow, str):
        assert isinstance(fast, str) and fast.startswith("Table t, column v")  # refused too
    else:
        assert isinstance(fast, pa.Table) and fast.equals(slow)


@pytest.mark.parametrize(("declared", "first", "later"), [
    ("INTEGER", 5, "abc"),       # ADBC raises by itself after the first batch
    ("INTEGER", 5, 2.5),
    ("REAL", 1.5, b"raw"),
    ("BLOB", b"x", "some text"),  # ADBC would give the text as bytes
    ("TEXT", "x", b"\x01bytes"),  # ADBC would give the bytes as text
    ("STRING", "x", 42),          # NUMERIC affinity: 42 stays an integer, ADBC would say '42'
    ("DATE", "2024-01-01", 20240101),
])
def test_later_value_of_another_class_is_never_changed_silently(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, declared: str, first: object, later: object) -> None:
    _assert_fast_reads_as_slow_or_refuses(tmp_path, monkeypatch, declared, [first] * 7 + [later])


@pytest.mark.parametrize(("declared", "values"), [
    ("BLOB", [b"x", 5, b"y"]),    # ADBC types the first batch binary and gives 5 as b'5'
    ("BLOB", [1.5, b"x"]),        # ... and 1.5 as b'1.5'
    ("BLOB", [None, 7, b"\x00"]),
    ("TEXT", ["x", b"\xff", "y"]),
    ("STRING", ["x", 42, "y"]),
    ("DATE", ["2024-01-01", 20240101]),
    ("REAL", [1.5, "abc", 2.5]),
])
def test_first_batch_of_mixed_classes_is_never_changed_silently(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, declared: str, values: list[object]) -> None:
    """Within its first batch ADBC widens a column to the class that holds them all, converting
    the other values; the reader must then leave the table to the DB-API path."""
    _assert_fast_reads_as_slow_or_refuses(tmp_path, monkeypatch, declared, values)


def test_ctrl_c_while_the_reading_thread_stops_still_releases_the_adbc_reader(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer's ADBC snapshot is closed after a read even when Ctrl-C comes while the reading
    thread is being stopped (prefetch raises it once the thread has ended)."""
    from collections.abc import Iterator

    from msde_tui.engine.tables import reads

    path = tmp_path / "d.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, "x") for i in range(20)])
    conn.commit()
    conn.close()
    real = reads.prefetch

    def interrupted(items: Iterator[object]) -> Iterator[object]:
        inner = real(items)
        try:
            yield from inner
        finally:
            inner.close()
            raise KeyboardInterrupt

    monkeypatch.setattr(reads, "prefetch", interrupted)
    monkeypatch.delenv("MSDE_NO_ADBC", raising=False)
    with Database.open_sqlite(path, readonly=False) as db:
        [table] = db.reflect().tables
        batches = db.read(table, batch_rows=3)
        next(batches)
        assert db._adbc is not None
        with pytest.raises(KeyboardInterrupt):
            batches.close()
        assert db._adbc is None  # a writer's changes come next: no ADBC snapshot left open


def test_a_commit_by_another_program_before_the_rows_are_read_is_refused(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Schema, sqlite3 and ADBC reads are one state of the file, or the read is refused."""
    monkeypatch.delenv("MSDE_NO_ADBC", raising=False)
    path = tmp_path / "d.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(1, "a"), (2, "b")])
    conn.commit()
    with Database.open_sqlite(path) as db:
        db.begin()
        [table] = db.reflect().tables
        conn.execute("INSERT INTO t VALUES (3, 'c')")  # another program, between schema and rows
        conn.commit()
        with pytest.raises(DossierChanged, match="changed while msde was reading it"):
            list(db.read(table))
        db.rollback()
        db.begin()  # no commit this time: the rows are read, all of them
        conn.execute("INSERT INTO t VALUES (4, 'd')")  # after the rows' snapshot began: not seen
        rows = pa.Table.from_batches(list(db.read(table)))
        assert rows["id"].to_pylist() == [1, 2, 3]
        conn.commit()
        assert pa.Table.from_batches(list(db.read(table)))["id"].to_pylist() == [1, 2, 3]
        db.rollback()
    conn.close()
